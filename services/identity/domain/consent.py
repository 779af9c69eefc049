"""Consent per purpose (with time and source) and the signed one-click unsubscribe token. Pure."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from services.common.contracts.registry import EventCollected

# Consent for a purpose is the most recent decision; two decisions at the same instant resolve to "denied". The
# unsubscribe token names a profile and is signed with the platform's `link-signing` key (HMAC-SHA256) under its own
# label, so an email open/click token can never be replayed as an unsubscribe and vice versa.

Purpose = Literal["tracking", "email_marketing", "personalisation"]
PURPOSES: tuple[Purpose, ...] = ("tracking", "email_marketing", "personalisation")

# Names a client may use for our purposes (Segment's consent object uses free-form category names).
_ALIASES: dict[str, Purpose] = {
    "tracking": "tracking",
    "analytics": "tracking",
    "email_marketing": "email_marketing",
    "emailMarketing": "email_marketing",
    "email": "email_marketing",
    "newsletter": "email_marketing",
    "personalisation": "personalisation",
    "personalization": "personalisation",
}

_TRUE = {"true", "yes", "y", "1", "granted", "opt-in", "optin", "subscribed"}
_FALSE = {"false", "no", "n", "0", "denied", "opt-out", "optout", "unsubscribed"}


@dataclass(frozen=True)
class Decision:
    granted: bool
    at: str
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"granted": self.granted, "at": self.at, "source": self.source}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Decision:
        return cls(bool(raw.get("granted")), str(raw.get("at", "")), str(raw.get("source", "")))


Consent = Mapping[str, Decision]


def purpose_of(name: str) -> Purpose | None:
    return _ALIASES.get(name.strip()) or _ALIASES.get(name.strip().lower())


def as_bool(value: Any) -> bool | None:
    """A consent value from a form, CSV cell or JSON: True/False, or None when it is not a yes or a no."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        return True if text in _TRUE else False if text in _FALSE else None
    return None


def event_consent(event: EventCollected) -> dict[str, bool]:
    """Consent an event carries: Segment's `context.consent.categoryPreferences` (purpose → bool)."""
    consent = event.context.get("consent")
    preferences = consent.get("categoryPreferences") if isinstance(consent, dict) else None
    out: dict[str, bool] = {}
    for name, value in (preferences or {}).items() if isinstance(preferences, dict) else ():
        purpose, granted = purpose_of(str(name)), as_bool(value)
        if purpose and granted is not None:
            out[purpose] = granted
    return out


def _wins(new: Decision, old: Decision | None) -> bool:
    if old is None:
        return True
    # later wins; at the same instant "denied" wins, then the source decides (any order gives the same result)
    return (new.at, not new.granted, new.source) > (old.at, not old.granted, old.source)


def apply_consent(
    current: Consent, decisions: Mapping[str, bool], at: str, source: str
) -> tuple[dict[str, Decision], dict[str, Decision]]:
    """Record decisions made at `at`; an older decision never overrides a newer one. Returns the new state and the
    purposes whose granted/denied state changed."""
    out = dict(current)
    changed: dict[str, Decision] = {}
    for purpose, granted in decisions.items():
        new = Decision(granted, at, source)
        old = out.get(purpose)
        if old != new and _wins(new, old):
            out[purpose] = new
            if old is None or old.granted != granted:
                changed[purpose] = new
    return out, changed


def merge_consent(a: Consent, b: Consent) -> dict[str, Decision]:
    out = dict(a)
    for purpose, decision in b.items():
        if _wins(decision, out.get(purpose)) and out.get(purpose) != decision:
            out[purpose] = decision
    return out


def unmerge_consent(now: Consent, before: Consent, after: Consent) -> dict[str, Decision]:
    out: dict[str, Decision] = {}
    for purpose in now.keys() | before.keys():
        current = now.get(purpose)
        chosen = before.get(purpose) if current == after.get(purpose) else current
        if chosen is not None:
            out[purpose] = chosen
    return out


def granted(consent: Consent) -> dict[str, bool | None]:
    """Each purpose → True, False, or None (never asked)."""
    return {p: (consent[p].granted if p in consent else None) for p in PURPOSES}


def consent_to_json(consent: Consent) -> dict[str, Any]:
    return {p: d.to_json() for p, d in consent.items()}


def consent_from_json(raw: Mapping[str, Any] | None) -> dict[str, Decision]:
    return {str(p): Decision.from_json(d) for p, d in (raw or {}).items() if isinstance(d, Mapping)}


# ---- one-click unsubscribe (RFC 8058) ------------------------------------------------------------------------

_UNSUBSCRIBE_LABEL = b"cxm/unsubscribe/v1\x1f"
_TOKEN_VERSION = "u1"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _signature(profile_id: str, key: bytes) -> str:
    return _b64(hmac.new(key, _UNSUBSCRIBE_LABEL + profile_id.encode(), hashlib.sha256).digest()[:16])


def unsubscribe_token(profile_id: str, key: bytes) -> str:
    """`u1.<profileId>.<signature>`: safe in a URL query, no personal data (the profile id is random)."""
    return f"{_TOKEN_VERSION}.{profile_id}.{_signature(profile_id, key)}"


def verify_unsubscribe_token(token: str, key: bytes) -> str | None:
    """The profile id a token names, or None when it is malformed or not signed with `key`."""
    version, _, rest = token.strip().partition(".")
    profile_id, _, signature = rest.rpartition(".")
    if version != _TOKEN_VERSION or not profile_id or not signature or len(profile_id) > 100:
        return None
    if not hmac.compare_digest(_signature(profile_id, key), signature):
        return None
    return profile_id


def as_purpose(name: str) -> Purpose:
    found = purpose_of(name)
    if found is None:
        raise ValueError(f"unknown consent purpose {name!r}; use one of {', '.join(PURPOSES)}")
    return cast(Purpose, found)


# ---- double opt-in -------------------------------------------------------------------------------------------

# A confirmation token names the profile and when it was issued, and is signed over the address it was sent to:
# `c1.<profileId>.<issued, epoch seconds>.<signature>`. An address changed since, a forged or an old token confirms
# nothing. Its own label, so neither an unsubscribe nor a tracking token can be replayed as a confirmation.
_CONFIRM_LABEL = b"cxm/confirm/v1\x1f"
_CONFIRM_VERSION = "c1"
CONFIRMATION_MAX_AGE_SECONDS = 7 * 86400
DOUBLE_OPT_IN = "double-opt-in"  # the source of a consent a person confirmed from the link


def _confirm_signature(profile_id: str, issued: int, email: str, key: bytes) -> str:
    message = _CONFIRM_LABEL + f"{profile_id}\x1f{issued}\x1f{email}".encode()
    return _b64(hmac.new(key, message, hashlib.sha256).digest()[:16])


def confirmation_token(profile_id: str, email: str, issued: int, key: bytes) -> str:
    """The token of a confirmation link for `email` (normalised), issued at `issued` (epoch seconds)."""
    if not key:
        raise ValueError("an empty signing key")
    return f"{_CONFIRM_VERSION}.{profile_id}.{issued}.{_confirm_signature(profile_id, issued, email, key)}"


def confirmation_profile(token: str) -> str | None:
    """The profile a confirmation token names (unverified: check it with `confirmation_valid`), or None."""
    parts = token.strip().split(".")
    if len(parts) != 4 or parts[0] != _CONFIRM_VERSION or not parts[1] or len(parts[1]) > 100:
        return None
    return parts[1] if parts[2].isdigit() and len(parts[2]) <= 12 else None


def confirmation_valid(token: str, profile_id: str, email: str, key: bytes, now: int) -> bool:
    """Whether the token was signed by us for this profile and address, and is at most a week old."""
    parts = token.strip().split(".")
    if len(parts) != 4 or parts[0] != _CONFIRM_VERSION or parts[1] != profile_id or not parts[2].isdigit():
        return False
    issued = int(parts[2])
    if not key or not -300 <= now - issued <= CONFIRMATION_MAX_AGE_SECONDS:  # 5 minutes of clock skew
        return False
    return hmac.compare_digest(_confirm_signature(profile_id, issued, email, key), parts[3])
