"""Who a journey email may go to: the send step's pure decision."""

from __future__ import annotations

import pytest

from services.journeys.use_cases.sending import message_blocked


def why_not_send(contact: dict[str, object]) -> str | None:
    return message_blocked(contact, "email", transactional=False)


ANA = {"profileId": "p-1", "email": "ana@example.com"}


def test_a_reachable_contact_gets_the_email() -> None:
    assert why_not_send(ANA) is None
    assert why_not_send({**ANA, "consent": {"emailMarketing": True}}) is None


@pytest.mark.parametrize(
    ("contact", "reason"),
    [
        ({"profileId": None}, "profile not found (erased?)"),
        ({"profileId": "p-1"}, "no email address"),
        ({**ANA, "suppressed": True}, "address suppressed (bounce or complaint)"),
        ({**ANA, "consent": {"emailMarketing": False}}, "no email marketing consent"),
        ({**ANA, "consent": {"emailMarketing": {"granted": False, "at": "2026-01-01"}}}, "no email marketing consent"),
    ],
)
def test_an_unreachable_contact_is_skipped_with_the_reason(contact: dict[str, object], reason: str) -> None:
    assert why_not_send(contact) == reason


def test_unknown_consent_does_not_block_a_send() -> None:
    assert why_not_send({**ANA, "consent": {}}) is None
