"""Device registration and the product registry: rate limits, the serial check, one owner per serial, the owner's
referral code, and the events identity records (identify with the answers, `Device Registered`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.common.bus import Publisher
from services.common.clock import iso
from services.common.contracts import envelope
from services.common.contracts.journeys import ActivityReported, DeviceRegistered
from services.common.ids import derived_id
from services.journeys.domain.referrals import DEFAULT_CAP, expiry, new_code, unique
from services.journeys.domain.registry import (
    IP_ATTEMPTS,
    RATE_WINDOW_SECONDS,
    VISITOR_ATTEMPTS,
    Product,
    RateLimited,
    RowFault,
    SerialTaken,
    SerialUnknown,
    email_digest,
    identity_digest,
    normalise_serial,
    rate_window,
    registration_traits,
)
from services.journeys.ports import ProgrammeStore

DEVICE_REGISTERED = "Device Registered"
PROGRAMMES_SOURCE = "programmes"  # the sourceId of what the programmes report to identity
CODE_ATTEMPTS = 5  # fresh codes tried before giving up (a collision among 30^8 is already rare)


@dataclass(frozen=True)
class Registration:
    """One submission of the shop's registration form (already validated at the edge)."""

    serial: str
    email: str
    source_id: str
    anonymous_id: str | None = None
    user_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    preferences: Mapping[str, Any] = field(default_factory=dict)
    demographics: Mapping[str, Any] = field(default_factory=dict)
    ip: str | None = None

    @property
    def owner(self) -> str:
        return email_digest(self.email)

    def devices(self) -> list[str]:
        """Digests of the visitor's client ids: a friend showing one of them is the owner (self-referral)."""
        return unique(
            [
                identity_digest("anon", self.anonymous_id) if self.anonymous_id else None,
                identity_digest("user", self.user_id) if self.user_id else None,
            ]
        )


def check_rate(store: ProgrammeStore, registration: Registration, now: dt.datetime) -> None:
    """Count this attempt against the visitor and the client IP; raises RateLimited past either limit."""
    window = rate_window(now)
    visitor = f"anon:{registration.anonymous_id}" if registration.anonymous_id else f"email:{registration.owner}"
    keys = [(identity_digest("visitor", visitor), VISITOR_ATTEMPTS)]
    if registration.ip:
        keys.append((identity_digest("ip", registration.ip), IP_ATTEMPTS))
    ttl = window.start + RATE_WINDOW_SECONDS + 60
    for key, limit in keys:
        if not store.take_rate_slot(key, window.start, limit, ttl):
            raise RateLimited(window.retry_after)


def register(
    store: ProgrammeStore,
    publisher: Publisher,
    registration: Registration,
    now: dt.datetime,
    make_code: Callable[[], str] = new_code,
) -> dict[str, Any]:
    """Register a serial to the visitor; the same owner registering again gets the same answer (idempotent)."""
    check_rate(store, registration, now)
    serial = normalise_serial(registration.serial)
    found = store.serial(serial)
    if found is None:
        raise SerialUnknown()
    owner = registration.owner
    if found.get("ownerEmail") not in (None, owner):
        raise SerialTaken()
    claim = {"registeredAt": iso(now), "ownerDevices": registration.devices()}
    if not store.claim_serial(serial, owner, claim):
        # somebody else's claim won between the read and the write (or the serial vanished)
        raise SerialUnknown() if store.serial(serial, consistent=True) is None else SerialTaken()
    code = owner_code(store, owner, serial, registration.devices(), now, make_code)
    store.set_serial(serial, {"referralCode": code})
    _publish(publisher, registration, serial, found, owner, code, now)
    return {"registered": True, "serial": serial, "model": found.get("model"), "referralCode": code}


def owner_code(
    store: ProgrammeStore,
    owner: str,
    serial: str,
    devices: Iterable[str],
    now: dt.datetime,
    make_code: Callable[[], str] = new_code,
) -> str:
    """The owner's one referral code: theirs if they have one, else a fresh unique code bound to them."""
    existing = (store.owner(owner) or {}).get("code")
    if existing:
        store.bind_owner_code(owner, existing, serial, now)
        code = str(existing)
    else:
        code = _issue(store, owner, now, make_code)
        if not store.bind_owner_code(owner, code, serial, now):  # a concurrent registration of theirs won
            store.drop_code(code)
            code = str((store.owner(owner) or {})["code"])
    store.add_code_owner(code, devices=devices)
    return code


def _issue(store: ProgrammeStore, owner: str, now: dt.datetime, make_code: Callable[[], str]) -> str:
    for _ in range(CODE_ATTEMPTS):
        code = make_code()
        record = {
            "code": code,
            "ownerEmail": owner,
            "issuedAt": iso(now),
            "expiresOn": iso(expiry(now)),
            "cap": DEFAULT_CAP,
            "redeemed": 0,
            "refused": 0,
        }
        if store.issue_code(record):
            return code
    raise RuntimeError(f"no free referral code after {CODE_ATTEMPTS} attempts")


def registration_message_id(serial: str, owner: str, kind: str) -> str:
    """The message ids of a registration's events: the same registration reports the same messages (identity
    dedupes them), and the consumer recognises its own `Device Registered` by it."""
    return derived_id("device-registration", serial, owner, kind)


def _publish(
    publisher: Publisher,
    registration: Registration,
    serial: str,
    product: Mapping[str, Any],
    owner: str,
    code: str,
    now: dt.datetime,
) -> None:
    # Without a client id the two messages still need one identity in common: a device id of the registration.
    anonymous_id = registration.anonymous_id
    if not anonymous_id and not registration.user_id:
        anonymous_id = "registration-" + derived_id("registration", serial, owner)
    common = {
        "anonymousId": anonymous_id,
        "userId": registration.user_id,
        "timestamp": now,
        "receivedAt": now,
        "sourceId": registration.source_id,
        "context": {"programme": "device-registration"},
    }
    traits = registration_traits(
        registration.email,
        {"firstName": registration.first_name, "lastName": registration.last_name, "phone": registration.phone},
        registration.preferences,
        registration.demographics,
    )
    properties = {
        "serial": serial,
        "model": product.get("model"),
        "category": product.get("category"),
        "referralCode": code,
    }
    identify_id = registration_message_id(serial, owner, "identify")
    track_id = registration_message_id(serial, owner, "track")
    publisher.publish(
        [
            envelope(
                ActivityReported.model_validate(
                    {**common, "messageId": identify_id, "type": "identify", "traits": traits}
                ),
                id=derived_id("programmes", identify_id),
                occurred_at=now,
            ),
            envelope(
                ActivityReported.model_validate(
                    {
                        **common,
                        "messageId": track_id,
                        "type": "track",
                        "event": DEVICE_REGISTERED,
                        "properties": properties,
                    }
                ),
                id=derived_id("programmes", track_id),
                occurred_at=now,
            ),
            envelope(
                DeviceRegistered(
                    serial=serial,
                    model=product.get("model"),
                    category=product.get("category"),
                    owner=owner,
                    referralCode=code,
                ),
                id=derived_id("programmes", "device-registered", serial, owner),
                occurred_at=now,
            ),
        ]
    )


# ---- the registry (admin) ---------------------------------------------------------------------------------------


def save_products(store: ProgrammeStore, products: Iterable[Product], now: dt.datetime) -> int:
    saved = 0
    for product in products:
        store.save_product(product.serial, product.model, product.category, now)
        saved += 1
    return saved


def import_report(saved: int, faults: list[RowFault], limit: int = 1000) -> dict[str, Any]:
    return {"saved": saved, "failed": len({f.row for f in faults}), "errors": [f.as_json() for f in faults[:limit]]}


def serial_view(found: Mapping[str, Any]) -> dict[str, Any]:
    """What the admin sees of a serial: whether and when it is registered, the owner's profile — never who by email."""
    return {
        "serial": found["serial"],
        "model": found.get("model"),
        "category": found.get("category"),
        "registered": bool(found.get("ownerEmail")),
        "registeredAt": found.get("registeredAt"),
        "ownerProfileId": found.get("ownerProfileId"),
        "referralCode": found.get("referralCode"),
        "registrations": int(found.get("registrations", 0)),
    }
