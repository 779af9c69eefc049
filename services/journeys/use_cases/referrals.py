"""Referral codes: the checkout's validation, redemption by an `Order Completed` (exactly once per order),
linking a registration to the owner's profile, erasure, and the admin views."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.common.bus import Publisher
from services.common.clock import iso
from services.common.contracts import Envelope, envelope
from services.common.contracts.identity import ActivityRecorded, ProfileErased
from services.common.contracts.journeys import ActivityReported
from services.common.erasure import erased_profile_ids
from services.common.ids import derived_id
from services.journeys.domain.referrals import Friend, ReferralCode, Status, normalise_code, unique, verdict
from services.journeys.domain.registry import email_digest, identity_digest
from services.journeys.ports import ProgrammeStore
from services.journeys.use_cases.registrations import (
    DEVICE_REGISTERED,
    PROGRAMMES_SOURCE,
    registration_message_id,
)

ORDER_COMPLETED = "Order Completed"
REFERRAL_REDEEMED = "Referral Redeemed"
DISCOUNT_USED = "Referral Discount Used"
MAX_CODES = 1000


class RedemptionRace(Exception):
    """A redemption lost a transaction for a reason a re-read does not explain: the message is retried."""


class OwnerUnknown(Exception):
    """The code was redeemed but its owner's profile is not linked yet: the message is retried until it is."""


@dataclass(frozen=True)
class Check:
    code: str
    email: str | None = None
    anonymous_id: str | None = None
    user_id: str | None = None


def friend_of(
    email: str | None, anonymous_id: str | None, user_id: str | None, profile_id: str | None = None
) -> Friend:
    devices = unique(
        [
            identity_digest("anon", anonymous_id) if anonymous_id else None,
            identity_digest("user", user_id) if user_id else None,
        ]
    )
    return Friend(email=email_digest(email) if email else None, devices=frozenset(devices), profile=profile_id)


def validate(store: ProgrammeStore, check: Check, now: dt.datetime) -> Status:
    """The checkout's question before applying a friend's discount (no state changes)."""
    code = normalise_code(check.code)
    record = store.code(code) if code else None
    friend = friend_of(check.email, check.anonymous_id, check.user_id)
    if record is None:
        return "unknown"
    return verdict(ReferralCode.from_record(record), friend, now, store.friend_used(friend.markers()))


# ---- the consumer -----------------------------------------------------------------------------------------------


def on_activity(
    incoming: Envelope[ActivityRecorded], store: ProgrammeStore, publisher: Publisher, now: dt.datetime
) -> None:
    data = incoming.data
    if data.event == DEVICE_REGISTERED:
        link_owner(data, store)
    elif data.event == ORDER_COMPLETED and data.properties.get("referralCode"):
        redeem(data, store, publisher, now)


def link_owner(data: ActivityRecorded, store: ProgrammeStore) -> bool:
    """Our own `Device Registered`, now attributed: the serial and the owner's code learn the owner's profile.
    Only the message this service reported counts (its id is derived from the serial and the owner), so a
    visitor's own track call named "Device Registered" cannot claim somebody's device."""
    serial = str(data.properties.get("serial") or "")
    found = store.serial(serial, consistent=True) if serial else None
    owner = (found or {}).get("ownerEmail")
    if not found or not owner or data.message_id != registration_message_id(serial, owner, "track"):
        return False
    store.set_serial(serial, {"ownerProfileId": data.profile_id})
    store.point_profile(data.profile_id, owner)
    if found.get("referralCode"):
        store.add_code_owner(found["referralCode"], profile_id=data.profile_id)
    return True


def redeem(
    data: ActivityRecorded, store: ProgrammeStore, publisher: Publisher, now: dt.datetime, attempts: int = 3
) -> str:
    """Redeem the order's code once per order; a refusal is recorded with its reason and publishes nothing.
    Returns what happened: redeemed, duplicate, ignored or the refusal's reason. A transaction that lost to a
    concurrent one without a reason a re-read explains is tried again, then left to the queue's retry."""
    for attempt in range(1, attempts + 1):
        try:
            return _redeem_once(data, store, publisher, now)
        except RedemptionRace:
            if attempt == attempts:
                raise
            time.sleep(0.02 * attempt)
    raise AssertionError("unreachable")


def _redeem_once(data: ActivityRecorded, store: ProgrammeStore, publisher: Publisher, now: dt.datetime) -> str:
    code = normalise_code(str(data.properties.get("referralCode")))
    if code is None:
        return "ignored"
    order_key = str(data.properties.get("orderId") or data.message_id)[:200]
    done = store.order(code, order_key)
    if done is not None:  # a redelivery: re-publish what a redemption publishes (same ids), nothing else
        if done.get("status") == "redeemed":
            _publish(publisher, store, done, now)
        return "duplicate"
    record = store.code(code, consistent=True)
    if record is None:
        return "ignored"  # unknown codes are not recorded: a typo must not create a code's history
    email = data.properties.get("email") or data.traits.get("email") or (data.context.get("traits") or {}).get("email")
    friend = friend_of(email if isinstance(email, str) else None, data.anonymous_id, data.user_id, data.profile_id)
    referral = ReferralCode.from_record(record)
    status = verdict(referral, friend, now, store.friend_used(friend.markers()))
    base = {"code": code, "orderId": order_key, "friendProfileId": data.profile_id, "at": iso(now)}
    if status == "valid":
        redemption = {
            **base,
            "status": "redeemed",
            "messageId": data.message_id,
            "rewards": {"referrer": REFERRAL_REDEEMED, "friend": DISCOUNT_USED},
        }
        if store.redeem(code, order_key, redemption, friend.markers(), referral.cap):
            _publish(publisher, store, redemption, now)
            return "redeemed"
        if store.order(code, order_key) is not None:  # the same order delivered twice at once: the other won
            return "duplicate"
        fresh = store.code(code, consistent=True)
        status = verdict(
            ReferralCode.from_record(fresh) if fresh else None, friend, now, store.friend_used(friend.markers())
        )
        if status == "valid":
            raise RedemptionRace(f"code {code}, order {order_key}: the redemption did not commit")
    # a refusal names nobody (no friend marker would let erasure find it): the order and the reason only
    refusal = {"code": code, "orderId": order_key, "at": base["at"], "status": "refused", "reason": status}
    store.refuse(code, order_key, refusal)
    return status


def _publish(publisher: Publisher, store: ProgrammeStore, redemption: Mapping[str, Any], now: dt.datetime) -> None:
    code, order_key = redemption["code"], redemption["orderId"]
    owners = sorted((store.code(code, consistent=True) or {}).get("ownerProfiles") or ())
    if not owners:
        raise OwnerUnknown(f"code {code}: the owner's profile is not linked yet")
    messages = [(owners[0], REFERRAL_REDEEMED, {"code": code, "friendOrderId": order_key})]
    if redemption.get("friendProfileId"):
        messages.append((redemption["friendProfileId"], DISCOUNT_USED, {"code": code, "orderId": order_key}))
    out = []
    for profile_id, event, properties in messages:
        message_id = derived_id("referral", code, order_key, event)
        data = ActivityReported.model_validate(
            {
                "messageId": message_id,
                "type": "track",
                "event": event,
                "profileId": profile_id,
                "properties": properties,
                "timestamp": now,
                "receivedAt": now,
                "sourceId": PROGRAMMES_SOURCE,
                "context": {"programme": "referrals"},
            }
        )
        out.append(envelope(data, id=derived_id("programmes", message_id), occurred_at=now))
    publisher.publish(out)


# ---- erasure ----------------------------------------------------------------------------------------------------


def erase(incoming: Envelope[ProfileErased], store: ProgrammeStore, now: dt.datetime) -> int:
    """Forget the person: as an owner (serials registrable again, code retired, counts kept) and as a friend
    (their discount markers, their profile id on the orders they placed)."""
    data = incoming.data
    profile_ids = erased_profile_ids(data)
    owners = {store.owner_of_profile(p) for p in profile_ids}
    markers = [identity_digest("profile", p) for p in profile_ids]
    for identifier in data.identifiers:
        kind, _, value = identifier.partition(":")
        if kind == "email":
            owners.add(email_digest(value))
            markers.append(email_digest(value))
        elif kind in ("anon", "user"):
            markers.append(identity_digest(kind, value))
    changed = sum(store.erase_owner(owner, profile_ids, now) for owner in sorted(o for o in owners if o))
    return changed + store.forget_friend(markers)


# ---- admin views ------------------------------------------------------------------------------------------------


def code_summary(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "code": record["code"],
        "ownerProfileIds": sorted(record.get("ownerProfiles") or ()),
        "issuedAt": record.get("issuedAt"),
        "expiresOn": record.get("expiresOn"),
        "cap": record.get("cap"),
        "redeemed": int(record.get("redeemed", 0)),
        "refused": int(record.get("refused", 0)),
        "retired": bool(record.get("retired", False)),
    }


def codes_view(store: ProgrammeStore, limit: int = MAX_CODES) -> dict[str, Any]:
    codes = [code_summary(r) for r in store.codes(limit)]
    return {"codes": codes, "count": len(codes), "capped": len(codes) >= limit}


def code_view(store: ProgrammeStore, code: str) -> dict[str, Any] | None:
    canonical = normalise_code(code)
    record = store.code(canonical) if canonical else None
    if record is None or canonical is None:
        return None
    redemptions = [
        {k: o.get(k) for k in ("orderId", "status", "reason", "friendProfileId", "at", "rewards") if o.get(k)}
        for o in store.orders(canonical)
    ]
    return {**code_summary(record), "redemptions": redemptions}


def change_code(store: ProgrammeStore, code: str, sets: Mapping[str, Any]) -> dict[str, Any] | None:
    """A marketer's change to one code (a higher cap for an ambassador, a later expiry, retired after abuse); the
    code's view after it, or None when there is no such code. Redemptions already made stand."""
    canonical = normalise_code(code)
    if canonical is None or not store.change_code(canonical, sets):
        return None
    return code_view(store, canonical)
