"""The double opt-in confirmation email journeys sends for identity: once a day per address, only while a consent
waits for it, never to a suppressed address; its one link is identity's confirmation page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.common import clock
from services.common.contracts import Envelope, envelope
from services.common.contracts.identity import EmailConfirmationRequested
from services.journeys.adapters.memory import MemoryDirectory, MemoryJourneys, MemoryMailer
from services.journeys.domain.confirmation import confirmation_content, confirmation_url
from services.journeys.use_cases.confirmations import send_confirmation

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
API = "https://api.example.com"
NIA = {"email": "Nia@Example.net", "pendingConsent": ["email_marketing"], "emailConfirmed": False}


@pytest.fixture(autouse=True)
def _clock() -> Any:
    clock.set_source(lambda: START)
    yield
    clock.set_source(None)


def request(token: str = "c1.p-1.1772442000.sig") -> Envelope[EmailConfirmationRequested]:
    return envelope(EmailConfirmationRequested(profileId="p-1", token=token, source="website"))


def send(directory: MemoryDirectory, repo: MemoryJourneys, mailer: MemoryMailer, **kw: Any) -> dict[str, Any]:
    return send_confirmation(kw.get("incoming") or request(), repo, directory, mailer, "hello@brand.example", "", API)


def test_the_confirmation_goes_once_a_day_per_address_with_the_signed_link() -> None:
    directory, repo, mailer = MemoryDirectory({"p-1": NIA}), MemoryJourneys(), MemoryMailer()
    assert send(directory, repo, mailer)["status"] == "sent"
    (sent,) = mailer.sent
    assert sent["Destination"] == {"ToAddresses": ["Nia@Example.net"]}
    link = f"{API}/v1/consent/confirm?token=c1.p-1.1772442000.sig"
    assert link in sent["Content"]["Simple"]["Body"]["Text"]["Data"]
    assert f'href="{link}"' in sent["Content"]["Simple"]["Body"]["Html"]["Data"]
    # the form sent again, or the request redelivered, the same day: no second email
    assert send(directory, repo, mailer, incoming=request("c1.p-1.1772445600.other"))["status"] == "duplicate"
    assert len(mailer.sent) == 1
    clock.set_source(lambda: START + dt.timedelta(days=1))
    assert send(directory, repo, mailer)["status"] == "sent" and len(mailer.sent) == 2


@pytest.mark.parametrize(
    ("contact", "reason"),
    [
        ({**NIA, "pendingConsent": []}, "nothing to confirm"),
        ({**NIA, "suppressed": True}, "address suppressed (bounce or complaint)"),
        ({**NIA, "email": None}, "profile or address gone"),
    ],
)
def test_no_confirmation_when_nothing_waits_or_the_address_cannot_take_it(contact: dict[str, Any], reason: str) -> None:
    mailer = MemoryMailer()
    assert send(MemoryDirectory({"p-1": contact}), MemoryJourneys(), mailer) == {"status": "skipped", "reason": reason}
    assert send(MemoryDirectory({}), MemoryJourneys(), mailer)["reason"] == "profile or address gone"
    assert mailer.sent == []


def test_the_link_is_escaped_in_the_html_part() -> None:
    url = confirmation_url(API, 'c1.p"<x>.1.s')
    assert url == f"{API}/v1/consent/confirm?token=c1.p%22%3Cx%3E.1.s"
    html = confirmation_content('https://x.example/?a=1&b="2"')["Simple"]["Body"]["Html"]["Data"]  # type: ignore[index]
    assert 'href="https://x.example/?a=1&amp;b=&quot;2&quot;"' in html
