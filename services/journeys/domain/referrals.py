"""Referral codes' pure rules: the code format, and the verdict on a friend using a code (fraud rules, cap, expiry)."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from services.journeys.domain.registry import identity_digest

# No 0/O, 1/I/L and no U (which reads as V): a code read aloud or typed from a phone screen arrives intact.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8  # 30^8 ≈ 6.6e11 codes: unguessable within the registration rate limits
CODE_PATTERN = re.compile(f"^[{ALPHABET}]{{{CODE_LENGTH}}}$")
_SEPARATORS = re.compile(r"[\s\-]+")

DEFAULT_CAP = 10  # redemptions per code; the `cap` attribute of a code item overrides it
DEFAULT_VALID_DAYS = 365

Status = Literal["valid", "unknown", "expired", "exhausted", "self-referral", "already-used"]
REFUSALS: tuple[Status, ...] = ("unknown", "expired", "self-referral", "exhausted", "already-used")


def new_code(choice: Callable[[str], str] = secrets.choice) -> str:
    """A fresh random code (uniqueness is the store's conditional put; the caller retries on a collision)."""
    return "".join(choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str | None:
    """What a person typed (any case, spaces or dashes) → the code, or None when it cannot be one."""
    code = _SEPARATORS.sub("", raw or "").upper()
    return code if CODE_PATTERN.match(code) else None


@dataclass(frozen=True)
class ReferralCode:
    """A code as the verdict needs it: its owner's digests (email, devices) and profiles, its limits and use."""

    code: str
    owner_email: str | None
    owner_profiles: frozenset[str]
    owner_devices: frozenset[str]
    issued_at: dt.datetime
    expires_at: dt.datetime
    cap: int
    redeemed: int
    retired: bool = False

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ReferralCode:
        return cls(
            code=record["code"],
            owner_email=record.get("ownerEmail"),
            owner_profiles=frozenset(record.get("ownerProfiles") or ()),
            owner_devices=frozenset(record.get("ownerDevices") or ()),
            issued_at=dt.datetime.fromisoformat(record["issuedAt"]),
            expires_at=dt.datetime.fromisoformat(record["expiresOn"]),
            cap=int(record.get("cap", DEFAULT_CAP)),
            redeemed=int(record.get("redeemed", 0)),
            retired=bool(record.get("retired", False)),
        )


@dataclass(frozen=True)
class Friend:
    """Who wants the discount: digests of the email and devices (anonymousId, userId) the request or the order
    carries; `profile` is the profile id identity resolved the order to (a profile merged into the owner's
    resolves to the owner's, which is how a merged profile counts as the owner)."""

    email: str | None = None
    devices: frozenset[str] = field(default_factory=frozenset)
    profile: str | None = None

    def markers(self) -> list[str]:
        """The keys a redemption marks as "had a friend discount": each identity the friend showed."""
        keys = [self.email, identity_digest("profile", self.profile) if self.profile else None]
        return unique([*keys, *sorted(self.devices)])

    def names_anyone(self) -> bool:
        return bool(self.markers())


def is_self_referral(code: ReferralCode, friend: Friend) -> bool:
    """The friend is the owner: same email, a device that registered, the same (or a merged-in) profile."""
    if friend.email and friend.email == code.owner_email:
        return True
    if friend.devices & code.owner_devices:
        return True
    return bool(friend.profile and friend.profile in code.owner_profiles)


def verdict(code: ReferralCode | None, friend: Friend, now: dt.datetime, friend_used: bool) -> Status:
    """The answer to "may this friend use this code now?": fraud before capacity, so a self-referral is named."""
    if code is None or code.retired:
        return "unknown"
    if now >= code.expires_at:
        return "expired"
    if is_self_referral(code, friend):
        return "self-referral"
    if code.redeemed >= code.cap:
        return "exhausted"
    if friend_used:
        return "already-used"
    return "valid"


def expiry(issued: dt.datetime, days: int = DEFAULT_VALID_DAYS) -> dt.datetime:
    return issued + dt.timedelta(days=days)


def unique(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))
