"""Email tracking core: signed tokens (no open redirect, no forgery) and the machine-made verdict."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.email_links import ExpiredToken, InvalidToken, TrackingToken, safe_url, sign, verify
from services.events.domain.scanners import Thresholds, judge, scanner_agent

KEY = b"k" * 48
SENT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
LATER = SENT + dt.timedelta(hours=3)
HUMAN = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari"


def click(url: str = "https://shop.example/p?x=1", issued: dt.datetime = SENT) -> TrackingToken:
    return TrackingToken("click", "p-1", "msg-1", issued, url)


# ---- tokens ----------------------------------------------------------------------------------------------


_ids = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60)
_urls = st.builds(
    lambda host, path: f"https://{host}.example/{path}",
    st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9/_?=&%.-]{0,60}", fullmatch=True),
)


@settings(max_examples=100)
@given(profile=_ids, message=_ids, url=st.one_of(st.none(), _urls), seconds=st.integers(0, 10**9))
def test_a_signed_token_verifies_to_exactly_what_was_signed(
    profile: str, message: str, url: str | None, seconds: int
) -> None:
    issued = dt.datetime.fromtimestamp(1_600_000_000 + seconds % 10**8, dt.UTC)
    token = TrackingToken("click" if url else "open", profile, message, issued, url)
    text = sign(token, KEY)
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")  # URL-safe
    assert verify(text, KEY, issued + dt.timedelta(days=1), token.kind) == token


def test_a_token_signed_with_another_key_is_invalid() -> None:
    with pytest.raises(InvalidToken, match="signature"):
        verify(sign(click(), b"another key"), KEY, LATER, "click")


def test_changing_any_byte_of_the_payload_or_the_mac_invalidates_the_token() -> None:
    text = sign(click(), KEY)
    for position in range(len(text)):
        if text[position] == ".":
            continue
        replacement = "A" if text[position] != "A" else "B"
        tampered = text[:position] + replacement + text[position + 1 :]
        with pytest.raises(InvalidToken):
            verify(tampered, KEY, LATER, "click")


def test_a_non_canonical_spelling_of_the_same_mac_is_refused() -> None:
    # The last base64 character of a 32-byte mac carries 2 unused bits: flipping them keeps the decoded bytes
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    payload, mac = sign(click(), KEY).split(".")
    respelled = mac[:-1] + alphabet[alphabet.index(mac[-1]) ^ 1]
    assert base64.urlsafe_b64decode(respelled + "=") == base64.urlsafe_b64decode(mac + "=")
    with pytest.raises(InvalidToken):
        verify(f"{payload}.{respelled}", KEY, LATER, "click")


def test_a_payload_re_signed_without_the_key_cannot_point_elsewhere() -> None:
    # Given an attacker who rewrites the URL in a genuine token's payload and keeps the genuine mac
    genuine = sign(click(), KEY)
    payload, mac = genuine.split(".")
    fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    fields[-1] = "https://evil.example/phish"
    forged = base64.urlsafe_b64encode(json.dumps(fields).encode()).rstrip(b"=").decode() + "." + mac
    with pytest.raises(InvalidToken):
        verify(forged, KEY, LATER, "click")


def test_an_open_token_is_not_a_click_token_and_vice_versa() -> None:
    opened = sign(TrackingToken("open", "p-1", "msg-1", SENT), KEY)
    with pytest.raises(InvalidToken, match="open token"):
        verify(opened, KEY, LATER, "click")
    with pytest.raises(InvalidToken, match="click token"):
        verify(sign(click(), KEY), KEY, LATER, "open")


def test_an_old_token_is_expired_and_one_from_the_future_invalid() -> None:
    text = sign(click(), KEY)
    assert verify(text, KEY, SENT + dt.timedelta(days=365), "click").url == click().url
    with pytest.raises(ExpiredToken):
        verify(text, KEY, SENT + dt.timedelta(days=366), "click")
    with pytest.raises(ExpiredToken):
        verify(text, KEY, SENT + dt.timedelta(days=8), "click", max_age=dt.timedelta(days=7))
    with pytest.raises(InvalidToken, match="future"):
        verify(text, KEY, SENT - dt.timedelta(hours=1), "click")


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<script>",
        "//evil.example/",
        "/relative/path",
        "ftp://files.example/",
        "https://",
        "https://ok.example/\r\nSet-Cookie: x=1",
        "https://ok.example/" + "a" * 3000,
    ],
)
def test_only_absolute_http_urls_can_be_signed(url: str) -> None:
    assert not safe_url(url)
    with pytest.raises(ValueError):
        sign(click(url), KEY)


def test_open_tokens_carry_no_url_and_click_tokens_must() -> None:
    with pytest.raises(ValueError):
        sign(TrackingToken("open", "p", "m", SENT, "https://x.example/"), KEY)
    with pytest.raises(ValueError):
        sign(TrackingToken("click", "p", "m", SENT), KEY)
    with pytest.raises(ValueError):
        sign(click(), b"")


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_no_text_verifies_without_the_key_and_nothing_but_token_errors_are_raised(text: str) -> None:
    with pytest.raises((InvalidToken, ExpiredToken)):
        verify(text, KEY, LATER, "click")


# ---- machine-made ----------------------------------------------------------------------------------------


def test_a_person_opening_an_hour_later_in_a_browser_is_human() -> None:
    assert judge(at=LATER, issued_at=SENT, user_agent=HUMAN).machine is False


@pytest.mark.parametrize(("seconds", "machine"), [(0, True), (5, True), (9.9, True), (10, False), (600, False)])
def test_within_seconds_of_delivery_is_machine_made(seconds: float, machine: bool) -> None:
    verdict = judge(at=SENT + dt.timedelta(seconds=seconds), issued_at=SENT, user_agent=HUMAN)
    assert (verdict.machine, verdict.reason) == (machine, "after-delivery" if machine else None)


def test_the_delivery_threshold_is_configurable() -> None:
    thresholds = Thresholds(after_delivery=dt.timedelta(minutes=2))
    assert judge(at=SENT + dt.timedelta(seconds=60), issued_at=SENT, user_agent=HUMAN, thresholds=thresholds).machine


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
        "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0",
        "python-requests/2.31.0",
        "Barracuda Sentinel (EE)",
        "",
        None,
    ],
)
def test_known_scanner_and_proxy_agents_are_machine_made(agent: str | None) -> None:
    assert scanner_agent(agent)
    assert judge(at=LATER, issued_at=SENT, user_agent=agent).reason == "scanner-agent"


def test_two_different_links_of_one_email_within_a_second_are_a_scanner() -> None:
    other = {"link-a": LATER - dt.timedelta(milliseconds=400)}
    assert judge(at=LATER, issued_at=SENT, user_agent=HUMAN, link="link-b", other_clicks=other).reason == "link-burst"
    # the same link twice (a double click) or another link minutes later is a person
    assert not judge(at=LATER, issued_at=SENT, user_agent=HUMAN, link="link-a", other_clicks=other).machine
    later = {"link-a": LATER - dt.timedelta(minutes=2)}
    assert not judge(at=LATER, issued_at=SENT, user_agent=HUMAN, link="link-b", other_clicks=later).machine
