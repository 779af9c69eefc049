"""The e-shop programmes' core: serials, rate windows, referral codes and their fraud rules, and the use cases
on the in-memory table (registration, redemption exactly once, erasure)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.bus import RecordingPublisher
from services.common.contracts import envelope
from services.common.contracts.identity import ActivityRecorded, ProfileErased
from services.journeys.adapters.programmes_memory import MemoryProgrammes
from services.journeys.domain import referrals as codes
from services.journeys.domain.referrals import ALPHABET, Friend, ReferralCode, new_code, normalise_code, verdict
from services.journeys.domain.registry import (
    RateLimited,
    SerialMalformed,
    SerialTaken,
    SerialUnknown,
    email_digest,
    identity_digest,
    normalise_serial,
    parse_import,
    rate_window,
    registration_traits,
)
from services.journeys.use_cases import referrals, registrations
from services.journeys.use_cases.registrations import Registration, registration_message_id

NOW = dt.datetime(2026, 3, 2, 9, 0, 7, tzinfo=dt.UTC)


# ---- serials and rate windows -----------------------------------------------------------------------------------


def test_a_serial_is_upper_case_without_spaces_or_dashes() -> None:
    assert normalise_serial(" ab12-cd34 ef56 ") == "AB12CD34EF56"


@pytest.mark.parametrize("raw", ["", "AB12", "AB12CD34EF56GH78IJ90KL12M", "AB12_CD34", "ÄB12CD34"])
def test_a_serial_outside_the_pattern_is_malformed(raw: str) -> None:
    with pytest.raises(SerialMalformed):
        normalise_serial(raw)


@given(st.text(alphabet="ABCDEFGHJK0123456789 -abc", min_size=0, max_size=30))
def test_normalising_is_idempotent(raw: str) -> None:
    try:
        once = normalise_serial(raw)
    except SerialMalformed:
        return
    assert normalise_serial(once) == once


def test_a_rate_window_is_fixed_and_says_when_the_next_starts() -> None:
    window = rate_window(NOW, 600)
    assert window.start == int(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC).timestamp())
    assert window.retry_after == 593
    assert rate_window(NOW + dt.timedelta(minutes=9), 600).start == window.start
    assert rate_window(NOW + dt.timedelta(minutes=10), 600).start == window.start + 600


def test_an_import_keeps_good_rows_and_names_each_bad_field() -> None:
    csv = ["serial,model,category", "ab-123456,Aero 5,main", "12,Aero 5,main", "CD123456,,accessory"]
    products, faults = parse_import(csv, "csv")
    assert [p.serial for p in products] == ["AB123456"]
    assert [(f.row, f.field) for f in faults] == [(2, "serial"), (3, "model")]

    lines = ['{"serial":"EF123456","model":"Brush","category":"accessory"}', "not json", "[1]"]
    products, faults = parse_import(lines, "jsonl")
    assert [p.serial for p in products] == ["EF123456"]
    assert [(f.row, f.field) for f in faults] == [(2, "row"), (3, "row")]


def test_a_csv_without_the_header_is_refused_as_a_whole() -> None:
    products, faults = parse_import(["AB123456,Aero,main"], "csv")
    assert products == [] and faults[0].row == 0


def test_answers_become_prefixed_traits() -> None:
    traits = registration_traits(
        "ana@example.com", {"firstName": "Ana", "lastName": None}, {"colour": "red"}, {"age": 30}
    )
    assert traits == {"email": "ana@example.com", "firstName": "Ana", "preference_colour": "red", "demographic_age": 30}


# ---- referral codes and fraud rules -----------------------------------------------------------------------------


def test_a_code_has_eight_unambiguous_characters() -> None:
    assert not set("0O1ILU") & set(ALPHABET)
    for _ in range(200):
        code = new_code()
        assert len(code) == 8 and set(code) <= set(ALPHABET)
        assert normalise_code(code) == code


def test_a_typed_code_is_normalised_and_an_impossible_one_refused() -> None:
    assert normalise_code(" abcd-efgh ") == "ABCDEFGH"
    assert normalise_code("ABCDEFG0") is None  # 0 is never in a code
    assert normalise_code("ABC") is None


def code_of(**changes: Any) -> ReferralCode:
    fields: dict[str, Any] = {
        "code": "ABCDEFGH",
        "owner_email": email_digest("owner@example.com"),
        "owner_profiles": frozenset({"p-owner"}),
        "owner_devices": frozenset({identity_digest("anon", "owner-device")}),
        "issued_at": NOW,
        "expires_at": NOW + dt.timedelta(days=365),
        "cap": 10,
        "redeemed": 0,
    }
    return ReferralCode(**{**fields, **changes})


FRIEND = Friend(email=email_digest("friend@example.com"), profile="p-friend")


@pytest.mark.parametrize(
    ("friend", "status"),
    [
        (FRIEND, "valid"),
        (Friend(email=email_digest(" Owner@Example.com ")), "self-referral"),
        (Friend(devices=frozenset({identity_digest("anon", "owner-device")})), "self-referral"),
        (Friend(profile="p-owner"), "self-referral"),  # also a friend's profile merged into the owner's
    ],
)
def test_the_owner_cannot_refer_themselves(friend: Friend, status: str) -> None:
    assert verdict(code_of(), friend, NOW, friend_used=False) == status


def test_expiry_cap_and_one_discount_per_friend() -> None:
    assert verdict(None, FRIEND, NOW, False) == "unknown"
    assert verdict(code_of(retired=True), FRIEND, NOW, False) == "unknown"
    assert verdict(code_of(), FRIEND, NOW + dt.timedelta(days=365), False) == "expired"
    assert verdict(code_of(redeemed=10), FRIEND, NOW, False) == "exhausted"
    assert verdict(code_of(), FRIEND, NOW, friend_used=True) == "already-used"


# ---- registration on the memory table ---------------------------------------------------------------------------


@pytest.fixture
def store() -> MemoryProgrammes:
    """Given a registry with two devices."""
    store = MemoryProgrammes()
    store.save_product("AERO000001", "Aero 5", "main", NOW)
    store.save_product("AERO000002", "Aero 5", "main", NOW)
    return store


def form(serial: str = "aero-000001", email: str = "ana@example.com", **more: Any) -> Registration:
    return Registration(
        serial=serial, email=email, source_id="shop", anonymous_id=more.pop("anon", "ana-device"), **more
    )


def test_registration_claims_the_serial_issues_a_code_and_reports_the_facts(store: MemoryProgrammes) -> None:
    bus = RecordingPublisher()
    answer = registrations.register(store, bus, form(first_name="Ana", preferences={"coffee": "espresso"}), NOW)

    assert answer["registered"] and answer["serial"] == "AERO000001" and answer["model"] == "Aero 5"
    assert normalise_code(answer["referralCode"]) == answer["referralCode"]
    kinds = [(e.detail_type, getattr(e.data, "type", None), getattr(e.data, "event", None)) for e in bus.published]
    assert kinds == [
        ("ActivityReported", "identify", None),
        ("ActivityReported", "track", "Device Registered"),
        ("DeviceRegistered", None, None),
    ]
    identify, track, registered = (e.data for e in bus.published)
    assert identify.traits == {"email": "ana@example.com", "firstName": "Ana", "preference_coffee": "espresso"}
    assert track.properties["referralCode"] == answer["referralCode"]
    assert registered.owner == email_digest("ana@example.com")  # type: ignore[attr-defined]
    assert "ana@" not in str(store.serial("AERO000001"))


def test_the_same_owner_again_gets_the_same_answer_and_messages(store: MemoryProgrammes) -> None:
    bus = RecordingPublisher()
    first = registrations.register(store, bus, form(), NOW)
    again = registrations.register(store, bus, form(email="ANA@example.com"), NOW)
    assert again == first
    assert [e.id for e in bus.published[:3]] == [e.id for e in bus.published[3:]]


def test_a_second_device_of_the_owner_shares_the_code(store: MemoryProgrammes) -> None:
    first = registrations.register(store, RecordingPublisher(), form(), NOW)
    second = registrations.register(store, RecordingPublisher(), form(serial="AERO000002"), NOW)
    assert second["referralCode"] == first["referralCode"]
    assert len(store.codes_) == 1


def test_the_three_refusals_are_distinct(store: MemoryProgrammes) -> None:
    registrations.register(store, RecordingPublisher(), form(), NOW)
    with pytest.raises(SerialMalformed):
        registrations.register(store, RecordingPublisher(), form(serial="12", anon="b"), NOW)
    with pytest.raises(SerialUnknown):
        registrations.register(store, RecordingPublisher(), form(serial="ZZZZ999999", anon="b"), NOW)
    with pytest.raises(SerialTaken):
        registrations.register(store, RecordingPublisher(), form(email="bo@example.com", anon="b"), NOW)


def test_the_eleventh_attempt_in_a_window_is_refused_before_any_lookup(store: MemoryProgrammes) -> None:
    for _ in range(10):
        with pytest.raises(SerialUnknown):
            registrations.register(store, RecordingPublisher(), form(serial="NOPE000000"), NOW)
    with pytest.raises(RateLimited) as refused:
        registrations.register(store, RecordingPublisher(), form(), NOW)
    assert refused.value.retry_after == 593
    assert "ownerEmail" not in store.serials["AERO000001"]
    # the next window lets the visitor try again
    registrations.register(store, RecordingPublisher(), form(), NOW + dt.timedelta(minutes=10))


def test_a_colliding_code_is_drawn_again(store: MemoryProgrammes) -> None:
    store.issue_code({"code": "AAAAAAAA"})
    draws = iter(["AAAAAAAA", "BBBBBBBB"])
    answer = registrations.register(store, RecordingPublisher(), form(), NOW, make_code=lambda: next(draws))
    assert answer["referralCode"] == "BBBBBBBB"


# ---- redemption on the memory table -----------------------------------------------------------------------------


def activity(event: str, profile_id: str, message_id: str, **fields: Any) -> Any:
    data = ActivityRecorded.model_validate(
        {"profileId": profile_id, "messageId": message_id, "type": "track", "event": event, "timestamp": NOW, **fields}
    )
    return envelope(data)


@pytest.fixture
def owned(store: MemoryProgrammes) -> str:
    """Given Ana registered a device and identity attributed it to her profile p-ana."""
    code = str(registrations.register(store, RecordingPublisher(), form(), NOW)["referralCode"])
    track_id = registration_message_id("AERO000001", email_digest("ana@example.com"), "track")
    incoming = activity("Device Registered", "p-ana", track_id, properties={"serial": "AERO000001"})
    referrals.on_activity(incoming, store, RecordingPublisher(), NOW)
    assert store.serials["AERO000001"]["ownerProfileId"] == "p-ana"
    return code


def order(code: str, profile_id: str, order_id: str | None = "o-1", message_id: str = "m-1", **more: Any) -> Any:
    properties = {"referralCode": code.lower(), **({"orderId": order_id} if order_id else {})}
    return activity("Order Completed", profile_id, message_id, properties=properties, **more)


def test_a_forged_device_registered_links_nobody(store: MemoryProgrammes, owned: str) -> None:
    forged = activity("Device Registered", "p-mallory", "m-forged", properties={"serial": "AERO000001"})
    referrals.on_activity(forged, store, RecordingPublisher(), NOW)
    assert store.serials["AERO000001"]["ownerProfileId"] == "p-ana"
    assert "p-mallory" not in store.codes_[owned]["ownerProfiles"]


def test_an_order_redeems_once_even_when_delivered_twice(store: MemoryProgrammes, owned: str) -> None:
    bus = RecordingPublisher()
    incoming = order(owned, "p-bo", anonymousId="bo-device")
    referrals.on_activity(incoming, store, bus, NOW)
    referrals.on_activity(incoming, store, bus, NOW)

    assert store.codes_[owned]["redeemed"] == 1
    published = [(e.data.event, e.data.profile_id, e.id) for e in bus.published]  # type: ignore[attr-defined]
    assert published[:2] == published[2:]  # the redelivery re-publishes the same ids (deduped downstream)
    assert [p[:2] for p in published[:2]] == [("Referral Redeemed", "p-ana"), ("Referral Discount Used", "p-bo")]
    assert referrals.validate(store, referrals.Check(owned, anonymous_id="bo-device"), NOW) == "already-used"


def test_refusals_publish_nothing_and_are_listed_with_their_reason(store: MemoryProgrammes, owned: str) -> None:
    bus = RecordingPublisher()
    referrals.on_activity(order(owned, "p-ana", "o-self"), store, bus, NOW)
    store.codes_[owned]["cap"] = 1
    referrals.on_activity(order(owned, "p-bo", "o-bo"), store, bus, NOW)
    referrals.on_activity(order(owned, "p-cy", "o-cy"), store, bus, NOW)
    referrals.on_activity(order(owned, "p-bo", "o-late"), store, bus, NOW + dt.timedelta(days=366))

    view = referrals.code_view(store, owned)
    assert view is not None
    assert {r["orderId"]: r.get("reason", r["status"]) for r in view["redemptions"]} == {
        "o-self": "self-referral",
        "o-bo": "redeemed",
        "o-cy": "exhausted",
        "o-late": "expired",
    }
    assert (view["redeemed"], view["refused"], view["ownerProfileIds"]) == (1, 3, ["p-ana"])
    assert len(bus.published) == 2  # only o-bo's two events


def test_an_order_without_an_order_id_is_keyed_by_its_message(store: MemoryProgrammes, owned: str) -> None:
    referrals.on_activity(order(owned, "p-bo", None, "m-77"), store, RecordingPublisher(), NOW)
    assert [o["orderId"] for o in store.orders(owned)] == ["m-77"]


def test_validation_answers_each_status(store: MemoryProgrammes, owned: str) -> None:
    def check(**who: Any) -> str:
        return referrals.validate(store, referrals.Check(**{"code": owned, **who}), NOW)

    assert check(email="bo@example.com") == "valid"
    assert check(email="ana@example.com") == "self-referral"
    assert check(anonymous_id="ana-device") == "self-referral"
    assert referrals.validate(store, referrals.Check("ZZZZZZZZ"), NOW) == "unknown"
    assert referrals.validate(store, referrals.Check("nonsense!"), NOW) == "unknown"
    assert referrals.validate(store, referrals.Check(owned), NOW + dt.timedelta(days=400)) == "expired"


def test_erasing_the_owner_frees_the_serial_retires_the_code_and_keeps_counts(
    store: MemoryProgrammes, owned: str
) -> None:
    referrals.on_activity(order(owned, "p-bo"), store, RecordingPublisher(), NOW)
    erased = ProfileErased(profileId="p-ana", identifiers=["email:ana@example.com", "anon:ana-device"])
    referrals.erase(envelope(erased), store, NOW)

    serial = store.serials["AERO000001"]
    assert "ownerEmail" not in serial and "ownerProfileId" not in serial and serial["registrations"] == 1
    view = referrals.code_view(store, owned)
    assert view is not None and view["retired"] and view["redeemed"] == 1 and view["ownerProfileIds"] == []
    assert referrals.validate(store, referrals.Check(owned), NOW) == "unknown"
    # the serial can be registered again, by its next owner
    assert registrations.register(store, RecordingPublisher(), form(email="bo@example.com", anon="b"), NOW)


def test_erasing_a_friend_forgets_their_discount(store: MemoryProgrammes, owned: str) -> None:
    referrals.on_activity(order(owned, "p-bo", anonymousId="bo-device"), store, RecordingPublisher(), NOW)
    referrals.erase(envelope(ProfileErased(profileId="p-bo", identifiers=["anon:bo-device"])), store, NOW)
    assert store.friends == {}
    assert "friendProfileId" not in store.orders(owned)[0]


def test_concurrent_redemptions_of_a_single_use_code_give_one(store: MemoryProgrammes, owned: str) -> None:
    import threading

    store.codes_[owned]["cap"] = 1
    friends = [f"p-{i}" for i in range(8)]
    random.shuffle(friends)
    threads = [
        threading.Thread(
            target=referrals.on_activity, args=(order(owned, f, f"o-{f}"), store, RecordingPublisher(), NOW)
        )
        for f in friends
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(o.get("reason", o["status"]) for o in store.orders(owned))
    assert statuses == ["exhausted"] * 7 + ["redeemed"]
    assert codes.DEFAULT_CAP == 10
