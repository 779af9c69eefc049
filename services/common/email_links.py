"""Signed email links: the open/click tracking tokens and the public URLs an email carries. Pure."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlsplit

# A token says which profile, which sent message, which link, issued when. Pure (key and API URL passed in). Journeys
# signs, events verifies.
#
# A token is `<payload>.<mac>`, both base64url without padding: the payload is the compact JSON array
# `[version, kind, profileId, messageId, issuedAt (epoch seconds), url]` (url only for clicks) and the mac is
# HMAC-SHA256 over the payload text under the platform's `link-signing` secret. A click redirects only to the URL
# inside a token whose mac verifies, so the endpoint is never an open redirect.

VERSION = 1
Kind = Literal["open", "click"]
_KIND_CODES: dict[str, Kind] = {"o": "open", "c": "click"}
_CODES = {kind: code for code, kind in _KIND_CODES.items()}
MAX_TOKEN = 4096  # characters; a longer path segment is refused before any decoding
DEFAULT_MAX_AGE = dt.timedelta(days=365)
MAX_FUTURE_SKEW = dt.timedelta(minutes=5)  # a token issued "later" than now by more than this is refused


# The public routes the links point at (events' tracking routes, identity's one-click unsubscribe).
OPEN_PATH = "/v1/t/open/"
CLICK_PATH = "/v1/t/click/"
UNSUBSCRIBE_PATH = "/v1/privacy/unsubscribe"


class InvalidToken(ValueError):
    """Malformed, forged, of the wrong kind, or carrying an unsafe URL."""


class ExpiredToken(ValueError):
    """Signed by us, but older than the tokens' lifetime."""


@dataclass(frozen=True)
class TrackingToken:
    kind: Kind
    profile_id: str
    message_id: str  # the MessageSent dedupe key of the email the link is in
    issued_at: dt.datetime  # when the email was sent (second precision)
    url: str | None = None  # the link's destination (clicks only)


def safe_url(url: object) -> bool:
    """Only absolute http(s) URLs with a host: never javascript:, data:, or a scheme-relative //host."""
    if not isinstance(url, str) or len(url) > 2048 or any(c in url for c in "\r\n\t "):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def sign(token: TrackingToken, key: bytes) -> str:
    if not key:
        raise ValueError("an empty signing key")
    if (token.kind == "click") != (token.url is not None):
        raise ValueError("a click token carries its URL; an open token none")
    if token.url is not None and not safe_url(token.url):
        raise ValueError(f"not a safe link URL: {token.url!r}")
    fields: list[object] = [
        VERSION,
        _CODES[token.kind],
        token.profile_id,
        token.message_id,
        int(token.issued_at.timestamp()),
    ]
    if token.url is not None:
        fields.append(token.url)
    payload = _b64(json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode())
    return f"{payload}.{_b64(_mac(payload, key))}"


def verify(
    text: str, key: bytes, now: dt.datetime, kind: Kind, max_age: dt.timedelta = DEFAULT_MAX_AGE
) -> TrackingToken:
    """The token's content if its mac verifies and it is of `kind`; raises InvalidToken or ExpiredToken."""
    if not key:
        raise InvalidToken("no signing key")
    if not isinstance(text, str) or len(text) > MAX_TOKEN or text.count(".") != 1:
        raise InvalidToken("not a tracking token")
    payload, mac = text.split(".")
    try:
        given = _unb64(mac)
    except (binascii.Error, ValueError) as error:
        raise InvalidToken("not a tracking token") from error
    if not hmac.compare_digest(given, _mac(payload, key)):
        raise InvalidToken("the token's signature does not verify")
    try:
        fields = json.loads(_unb64(payload))
    except (binascii.Error, ValueError) as error:  # signed by us, so only a bug or an old format gets here
        raise InvalidToken("unreadable token") from error
    token = _fields(fields)
    if token.kind != kind:
        raise InvalidToken(f"this is an {token.kind} token, not an {kind} token")
    if token.issued_at > now + MAX_FUTURE_SKEW:
        raise InvalidToken("the token is issued in the future")
    if now - token.issued_at > max_age:
        raise ExpiredToken(f"the link expired {max_age.days} days after the email was sent")
    return token


def _fields(fields: object) -> TrackingToken:
    if not isinstance(fields, list) or len(fields) not in (5, 6) or fields[0] != VERSION:
        raise InvalidToken("unknown token format")
    _, code, profile_id, message_id, issued, *rest = fields
    kind = _KIND_CODES.get(code) if isinstance(code, str) else None
    if kind is None or not isinstance(profile_id, str) or not isinstance(message_id, str):
        raise InvalidToken("unknown token format")
    if not isinstance(issued, int) or isinstance(issued, bool):
        raise InvalidToken("unknown token format")
    url = rest[0] if rest else None
    if (kind == "click") != (url is not None) or (url is not None and not safe_url(url)):
        raise InvalidToken("the token's link is missing or unsafe")
    try:
        issued_at = dt.datetime.fromtimestamp(issued, dt.UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise InvalidToken("unknown token format") from error
    return TrackingToken(kind, profile_id, message_id, issued_at, url)


def _mac(payload: str, key: bytes) -> bytes:
    return hmac.new(key, b"cxm-tracking." + payload.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    """Strict: only the canonical encoding decodes, so no two token texts carry the same bytes."""
    if not text or any(c not in _ALPHABET for c in text):
        raise ValueError("not base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(raw) != text:
        raise ValueError("not canonical base64url")
    return raw


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def open_url(api_url: str, token: str) -> str:
    """The open pixel's address: `<API>/v1/t/open/<token>`."""
    return api_url.rstrip("/") + OPEN_PATH + token


def click_url(api_url: str, token: str) -> str:
    """A tracked link's address: `<API>/v1/t/click/<token>` (redirects to the URL inside the token)."""
    return api_url.rstrip("/") + CLICK_PATH + token


def unsubscribe_url(api_url: str, unsubscribe_token: str) -> str:
    """The one-click unsubscribe address (RFC 8058): a GET shows a confirmation page, a POST unsubscribes."""
    return f"{api_url.rstrip('/')}{UNSUBSCRIBE_PATH}?token={quote(unsubscribe_token, safe='')}"
