"""The e-shop programmes on the local cloud: device registration over HTTP (refusals, rate limit, the race for
one serial), what identity records of it, and referral codes (validation, redemption exactly once, the cap)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from typing import Any

import boto3
import pytest

from services.common.bus import EventBridgePublisher, RecordingPublisher
from services.common.contracts import envelope
from services.common.contracts.identity import ActivityRecorded
from services.journeys.adapters.programmes import DynamoProgrammes
from services.journeys.use_cases import referrals
from tests.conftest import Api, Reply


@pytest.fixture(scope="module")
def table(cloud: Any) -> Any:
    return boto3.resource("dynamodb", region_name=cloud.region).Table(cloud.table_name("journeys", "programmes"))


@pytest.fixture(scope="module")
def bus(cloud: Any) -> EventBridgePublisher:
    return EventBridgePublisher(boto3.client("events", region_name=cloud.region), cloud.names.bus())


@pytest.fixture(autouse=True)
def fresh_window(cloud: Any) -> None:
    """Every test starts in a new rate-limit window (all tests call from 127.0.0.1)."""
    cloud.advance(dt.timedelta(minutes=10))


def a_serial(api: Api, model: str = "Aero 5", category: str = "main") -> str:
    """Given a device in the product registry (added through the admin API)."""
    serial = "AE" + uuid.uuid4().hex[:10].upper()
    reply = api.admin("PUT", f"/v1/products/serials/{serial[:4]}-{serial[4:]}", {"model": model, "category": category})
    assert reply.status == 200, reply.body
    assert reply.body["serial"] == serial and reply.body["registered"] is False
    return serial


def register(api: Api, serial: str, email: str, anonymous_id: str, **more: Any) -> Reply:
    body = {"serial": serial, "email": email, "anonymousId": anonymous_id, **more}
    return api.request("POST", "/v1/devices/register", body, key=api.write_key)


def owner(cloud: Any, api: Api, who: str) -> tuple[str, str, str]:
    """Given an owner who registered a device; identity recorded it: (serial, email, referral code)."""
    serial, email = a_serial(api), f"{who}@example.com"
    reply = register(api, serial, email, f"{who}-device", firstName=who.title())
    assert reply.status == 200, reply.body
    cloud.settle()
    return serial, email, str(reply.body["referralCode"])


def profile_of(api: Api, email: str) -> dict[str, Any]:
    reply = api.admin("GET", f"/v1/profiles?email={email}")
    assert reply.status == 200, reply.body
    return dict(reply.body)


def friend(cloud: Any, api: Api, who: str) -> str:
    """Given a friend known to identity by a device: their profile id."""
    assert (
        api.send("identify", {"anonymousId": f"{who}-device", "traits": {"email": f"{who}@example.com"}}).status == 200
    )
    cloud.settle()
    return str(profile_of(api, f"{who}@example.com")["profileId"])


def completed_order(profile_id: str, who: str, code: str, order_id: str) -> Any:
    """What identity publishes for the friend's `Order Completed` carrying the code."""
    data = ActivityRecorded.model_validate(
        {
            "profileId": profile_id,
            "messageId": f"msg-{order_id}",
            "type": "track",
            "event": "Order Completed",
            "anonymousId": f"{who}-device",
            "properties": {"orderId": order_id, "referralCode": code, "total": 199},
            "timestamp": dt.datetime.now(dt.UTC),
        }
    )
    return envelope(data)


def validate(api: Api, code: str, **who: Any) -> str:
    reply = api.admin("POST", "/v1/referrals/validate", {"code": code, **who})
    assert reply.status == 200, reply.body
    return str(reply.body["status"])


def events_of(api: Api, email: str, name: str) -> list[dict[str, Any]]:
    return [a for a in profile_of(api, email)["activity"] if a.get("event") == name]


# ---- the registry -----------------------------------------------------------------------------------------------


def test_a_bulk_import_keeps_good_rows_and_reports_bad_ones(api: Api) -> None:
    csv = "serial,model,category\nim-000001,Aero 5,main\n12,Aero 5,main\nIM000003,,accessory\n"
    reply = api.request(
        "POST",
        "/v1/products/serials/import",
        raw=csv.encode(),
        key=api.admin_key,
        scheme="bearer",
        headers={"content-type": "text/csv"},
    )
    assert reply.status == 200, reply.body
    assert reply.body["saved"] == 1 and reply.body["failed"] == 2
    assert [(e["row"], e["field"]) for e in reply.body["errors"]] == [(2, "serial"), (3, "model")]
    assert api.admin("GET", "/v1/products/serials/IM000001").body["model"] == "Aero 5"


# ---- registration -----------------------------------------------------------------------------------------------


def test_registration_links_the_device_and_identity_records_the_answers(cloud: Any, api: Api) -> None:
    serial = a_serial(api)
    reply = register(
        api,
        serial.lower(),
        "ana@example.com",
        "ana-device",
        firstName="Ana",
        lastName="Silva",
        preferences={"coffee": "espresso"},
        demographics={"household": 2},
    )
    assert reply.status == 200, reply.body
    code = reply.body["referralCode"]
    assert reply.body == {"registered": True, "serial": serial, "model": "Aero 5", "referralCode": code}

    cloud.settle()
    profile = profile_of(api, "ana@example.com")
    assert profile["traits"]["firstName"] == "Ana"
    assert profile["traits"]["preference_coffee"] == "espresso" and profile["traits"]["demographic_household"] == 2
    [registered] = events_of(api, "ana@example.com", "Device Registered")
    assert registered["properties"] == {"serial": serial, "model": "Aero 5", "category": "main", "referralCode": code}

    # the registry knows the owner's profile (from the consumer), never her email
    seen = api.admin("GET", f"/v1/products/serials/{serial}").body
    assert seen["registered"] and seen["ownerProfileId"] == profile["profileId"] and seen["referralCode"] == code
    assert "ana@" not in str(seen)
    assert api.admin("GET", f"/v1/referrals/codes/{code}").body["ownerProfileIds"] == [profile["profileId"]]

    # the same owner again: the same answer; a second device of hers: the same code
    assert register(api, serial, "Ana@Example.com", "ana-device").body == reply.body
    assert register(api, a_serial(api), "ana@example.com", "ana-device").body["referralCode"] == code


def test_the_three_refusals_are_distinct_and_never_name_the_owner(cloud: Any, api: Api) -> None:
    serial, _, _ = owner(cloud, api, "cleo")

    malformed = register(api, "12-34", "dan@example.com", "dan-device")
    unknown = register(api, "ZZ9999999999", "dan@example.com", "dan-device")
    taken = register(api, serial, "dan@example.com", "dan-device")

    assert (malformed.status, unknown.status, taken.status) == (400, 404, 409)
    assert [r.body["type"].rsplit("/", 1)[1] for r in (malformed, unknown, taken)] == [
        "serial-malformed",
        "serial-unknown",
        "serial-taken",
    ]
    assert all(r.content_type == "application/problem+json" for r in (malformed, unknown, taken))
    assert "cleo" not in str(taken.body)
    invalid = register(api, serial, "not-an-email", "dan-device")
    assert invalid.status == 400 and invalid.body["errors"][0]["field"] == "email"


def test_the_eleventh_attempt_is_refused_before_any_serial_lookup(api: Api) -> None:
    free = a_serial(api)
    for _ in range(10):
        assert register(api, "ZZ0000000000", "eve@example.com", "eve-device").status == 404
    refused = register(api, free, "eve@example.com", "eve-device")
    assert refused.status == 429, refused.body
    assert refused.body["type"].endswith("rate-limited") and 0 < int(refused.headers["retry-after"]) <= 600
    assert api.admin("GET", f"/v1/products/serials/{free}").body["registered"] is False


def test_two_registrations_of_one_serial_at_once_give_one_owner(api: Api) -> None:
    serial = a_serial(api)
    replies: list[Reply] = []
    start = threading.Barrier(2)

    def claim(who: str) -> None:
        start.wait()
        replies.append(register(api, serial, f"{who}@example.com", f"{who}-device"))

    threads = [threading.Thread(target=claim, args=(who,)) for who in ("fay", "gus")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in replies) == [200, 409], [r.body for r in replies]


# ---- referral codes ---------------------------------------------------------------------------------------------


def test_validation_answers(cloud: Any, api: Api) -> None:
    _, email, code = owner(cloud, api, "hal")
    assert validate(api, code, email="ivy@example.com") == "valid"
    assert validate(api, code.lower(), email="ivy@example.com") == "valid"
    assert validate(api, "ZZZZZZZZ") == "unknown"
    assert validate(api, code, email=email) == "self-referral"
    assert validate(api, code, anonymousId="hal-device") == "self-referral"


def test_a_marketer_changes_a_codes_expiry_and_retires_it(cloud: Any, api: Api) -> None:
    _, _, code = owner(cloud, api, "jo")
    past = api.admin("PATCH", f"/v1/referrals/codes/{code.lower()}", {"expiresOn": "2020-01-01T00:00:00Z"})
    assert past.status == 200 and past.body["expiresOn"] == "2020-01-01T00:00:00.000Z", past.body
    assert validate(api, code, email="kim@example.com") == "expired"
    assert api.admin("PATCH", f"/v1/referrals/codes/{code}", {"expiresOn": "2099-01-01T00:00:00Z"}).status == 200
    assert validate(api, code, email="kim@example.com") == "valid"
    assert api.admin("PATCH", f"/v1/referrals/codes/{code}", {"retired": True}).body["retired"] is True
    assert validate(api, code, email="kim@example.com") == "unknown"
    # refusals: no such code, a cap below one, a field that cannot be changed (nothing is written)
    missing = api.admin("PATCH", "/v1/referrals/codes/ZZZZZZZZ", {"cap": 5})
    assert missing.status == 404 and missing.body["errors"][0]["field"] == "code"
    for body, field in (({"cap": 0}, "cap"), ({"redeemed": 0}, "redeemed")):
        refused = api.admin("PATCH", f"/v1/referrals/codes/{code}", body)
        assert refused.status == 400 and field in refused.body["errors"][0]["field"], refused.body
    assert api.admin("GET", f"/v1/referrals/codes/{code}").body["cap"] == 10


def test_an_order_redeems_once_even_when_the_bus_delivers_it_twice(
    cloud: Any, api: Api, bus: EventBridgePublisher
) -> None:
    _, email, code = owner(cloud, api, "jon")
    kim = friend(cloud, api, "kim")
    order = completed_order(kim, "kim", code, "order-kim-1")

    bus.publish([order])
    bus.publish([order])
    cloud.settle()

    view = api.admin("GET", f"/v1/referrals/codes/{code}").body
    assert view["redeemed"] == 1 and view["refused"] == 0, view
    assert [(r["orderId"], r["status"], r["friendProfileId"]) for r in view["redemptions"]] == [
        ("order-kim-1", "redeemed", kim)
    ]
    [redeemed] = events_of(api, email, "Referral Redeemed")
    assert redeemed["properties"] == {"code": code, "friendOrderId": "order-kim-1"}
    assert len(events_of(api, "kim@example.com", "Referral Discount Used")) == 1
    assert validate(api, code, anonymousId="kim-device") == "already-used"
    assert any(c["code"] == code and c["redeemed"] == 1 for c in api.admin("GET", "/v1/referrals/codes").body["codes"])


def test_self_referral_is_refused_and_recorded(cloud: Any, api: Api, bus: EventBridgePublisher) -> None:
    _, email, code = owner(cloud, api, "lea")
    lea = str(profile_of(api, email)["profileId"])
    bus.publish([completed_order(lea, "lea", code, "order-lea-1")])
    cloud.settle()
    view = api.admin("GET", f"/v1/referrals/codes/{code}").body
    assert [(r["orderId"], r["reason"]) for r in view["redemptions"]] == [("order-lea-1", "self-referral")]
    assert view["redeemed"] == 0 and events_of(api, email, "Referral Redeemed") == []


def test_two_redemptions_of_a_single_use_code_at_once_give_one(cloud: Any, api: Api, table: Any) -> None:
    _, _, code = owner(cloud, api, "max")
    table.update_item(
        Key={"pk": "CODES", "sk": code}, UpdateExpression="SET cap = :one", ExpressionAttributeValues={":one": 1}
    )
    store = DynamoProgrammes(table)
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def redeem(who: str) -> None:
        data = completed_order(f"p-{who}", who, code, f"order-{who}").data
        start.wait()
        outcomes.append(referrals.redeem(data, store, RecordingPublisher(), dt.datetime.now(dt.UTC)))

    threads = [threading.Thread(target=redeem, args=(who,)) for who in ("ned", "ola")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["exhausted", "redeemed"]
    view = api.admin("GET", f"/v1/referrals/codes/{code}").body
    assert (view["redeemed"], view["refused"]) == (1, 1)
    assert validate(api, code, email="pat@example.com") == "exhausted"


def test_erasing_the_owner_frees_the_serial_and_retires_the_code(
    cloud: Any, api: Api, bus: EventBridgePublisher, table: Any
) -> None:
    # Given an owner whose code a friend redeemed
    serial, email, code = owner(cloud, api, "quinn")
    quinn = str(profile_of(api, email)["profileId"])
    rex = friend(cloud, api, "rex")
    bus.publish([completed_order(rex, "rex", code, "order-rex-1")])
    cloud.settle()

    # When the owner is erased
    reply = api.admin("POST", "/v1/privacy/erase", {"email": email})
    assert reply.status in (200, 202), reply.body
    cloud.settle()

    # Then nothing in the table names her; the serial is free again, the code retired with its counts
    left = [i for i in table.scan()["Items"] if "quinn" in str(i) or quinn in str(i)]
    assert left == []
    seen = api.admin("GET", f"/v1/products/serials/{serial}").body
    assert (seen["registered"], seen["ownerProfileId"], seen["registrations"]) == (False, None, 1)
    view = api.admin("GET", f"/v1/referrals/codes/{code}").body
    assert (view["retired"], view["redeemed"], view["ownerProfileIds"]) == (True, 1, [])
    assert validate(api, code, email="sam@example.com") == "unknown"
    assert register(api, serial, "sam@example.com", "sam-device").status == 200
    assert cloud.dead_letters() == {}
