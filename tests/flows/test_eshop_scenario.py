"""The device e-shop scenario over real HTTP on the local cloud with the virtual clock: journey templates installed
with one call each, then customers walking every branch — cart abandonment (bought before the first reminder,
after it, never: the second email carries a code of its own), registration thank-you with a sign-up bonus and a
referral code, a friend redeeming it (the referrer's reward, the friend's thank-you), self-referral refused."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

from services.journeys.domain.webhooks import verify
from tests.conftest import START, Api, BusTap
from tests.integration.journeys.test_engine import Receiver

BROWSER = {
    "User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15"
}
CODE = re.compile(r"\b(?:CART|BONUS|THANKS)-[0-9A-Z]{6}\b")


def send(api: Api, kind: str, message: dict[str, Any], signed_in: bool = False) -> None:
    """From the shop's pages (write key); `signed_in`: a login the shop's back-end reports (server key: verified)."""
    key, scheme = (api.server_key, "bearer") if signed_in else (api.write_key, "basic")
    reply = api.request("POST", f"/v1/{kind}", message, key=key, scheme=scheme, headers=BROWSER)
    assert reply.status == 200, reply.body


def pool(api: Api, name: str, prefix: str) -> str:
    pool_id = f"{name}-{uuid.uuid4().hex[:6]}"
    body = {"name": name, "lowWatermark": 2, "generate": {"pattern": prefix + "-{XXXXXX}", "count": 20}}
    reply = api.admin("PUT", f"/v1/coupons/pools/{pool_id}", body)
    assert reply.status == 200, reply.body
    return pool_id


def install(api: Api, name: str, **parameters: Any) -> list[str]:
    reply = api.admin("POST", f"/v1/journeys/templates/{name}/install", {"parameters": parameters, "publish": True})
    assert reply.status == 201, reply.body
    return [j["journeyId"] for j in reply.body["journeys"]]


def shopper(cloud: Any, api: Api, name: str) -> dict[str, str]:
    """A signed-in shopper of the web shop: a device id, a user id and an email."""
    user = f"{name}-{uuid.uuid4().hex[:6]}"
    person = {"anonymousId": f"{user}-device", "userId": user, "email": f"{user}@shop.example", "name": name}
    login = {"anonymousId": person["anonymousId"], "userId": user,
             "traits": {"email": person["email"], "firstName": name.title()}}  # fmt: skip
    send(api, "identify", login, signed_in=True)
    cloud.settle()
    return person


def mails(cloud: Any, person: dict[str, str]) -> list[Any]:
    return [m for m in cloud.sent_emails() if m.destinations["ToAddresses"] == [person["email"]]]


def settle(cloud: Any, by: str | None = None) -> None:
    cloud.settle()
    cloud.settle_runs()
    if by:
        cloud.advance(by)
        cloud.settle()
        cloud.settle_runs()


@pytest.fixture(scope="module")
def shop(cloud: Any, api: Api) -> dict[str, Any]:
    """The marketer's one-call setup: three pools, the templates installed and published, and serials imported;
    and taps on what identity, segments and journeys publish from now on (replayed at the end)."""
    taps = [BusTap(cloud, "cxm.identity"), BusTap(cloud, "cxm.segments"), BusTap(cloud, "cxm.journeys")]
    pools = {
        "cart": pool(api, "cart", "CART"),
        "bonus": pool(api, "bonus", "BONUS"),
        "reward": pool(api, "reward", "THANKS"),
    }
    journeys = {
        "cart": install(api, "cart-abandonment", couponPool=pools["cart"]),
        "referral": install(api, "registration-referral", bonusPool=pools["bonus"]),
        "reward": install(api, "referral-reward", rewardPool=pools["reward"]),
        "welcome": install(api, "welcome-registration"),
        "post": install(api, "post-purchase"),
        "permission": install(api, "re-permission"),
    }
    serials = [f"DEV{uuid.uuid4().hex[:8].upper()}" for _ in range(5)]
    rows = "serial,model,category\n" + "".join(f"{s},Brewer 3000,main\n" for s in serials)
    reply = api.request("POST", "/v1/products/serials/import", raw=rows.encode(), key=api.admin_key, scheme="bearer",
                        headers={"content-type": "text/csv"})  # fmt: skip
    assert reply.status == 200 and reply.body["saved"] == len(serials), reply.body
    return {"pools": pools, "journeys": journeys, "serials": serials, "taps": taps}


@pytest.fixture(scope="module")
def cloud() -> Iterator[Any]:
    """A local cloud whose journeys may call webhooks on this machine (the test's CRM)."""
    from infra.local.cloud import LocalCloud

    settings = {"JOURNEY_WEBHOOKS_ALLOW_PRIVATE": "true"}
    with LocalCloud(start=START, stage=f"t{uuid.uuid4().hex[:6]}", function_settings=settings) as running:
        yield running


@pytest.fixture(scope="module")
def crm() -> Iterator[str]:
    """The company's CRM: an HTTP endpoint that records every hand-off it gets."""
    Receiver.script, Receiver.received = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/leads"
    server.shutdown()
    server.server_close()


def add_to_cart(api: Api, person: dict[str, str]) -> None:
    send(api, "track", {"anonymousId": person["anonymousId"], "userId": person["userId"], "event": "Product Added",
                        "properties": {"product_id": "brewer-3000", "name": "Brewer 3000", "price": 199,
                                       "products": [{"name": "Brewer 3000"}, {"name": "Descaler"}]}})  # fmt: skip


def order(api: Api, person: dict[str, str], **properties: Any) -> None:
    details = {"orderId": f"o-{uuid.uuid4().hex[:8]}", "total": 199, **properties}
    send(api, "track", {"anonymousId": person["anonymousId"], "userId": person["userId"], "event": "Order Completed",
                        "properties": details})  # fmt: skip


def test_cart_abandonment_reminds_then_gives_a_code_and_an_order_ends_it_at_any_point(
    cloud: Any, api: Api, shop: dict[str, Any]
) -> None:
    early, late, never = (shopper(cloud, api, n) for n in ("early", "late", "never"))
    for person in (early, late, never):
        add_to_cart(api, person)
    settle(cloud)
    # the early one orders within the 4 hours
    order(api, early)
    settle(cloud, "4h")
    settle(cloud, "1m")
    # after 4 hours: a reminder with the cart's products, to the two who did not order
    assert mails(cloud, early) == []
    for person in (late, never):
        (reminder,) = mails(cloud, person)
        assert "Brewer 3000" in reminder.body and "Descaler" in reminder.body
    # the late one orders after the reminder; two days later only the one who never ordered gets a code
    order(api, late)
    settle(cloud, "2d")
    settle(cloud, "1m")
    assert len(mails(cloud, late)) == 1
    reminder, incentive = mails(cloud, never)
    (code,) = set(CODE.findall(incentive.body))
    assert code.startswith("CART-")
    pool = api.admin("GET", f"/v1/coupons/pools/{shop['pools']['cart']}").body
    assert pool["claimed"] == 1


def register(api: Api, person: dict[str, str], serial: str) -> Any:
    body = {
        "serial": serial,
        "email": person["email"],
        "anonymousId": person["anonymousId"],
        "firstName": person["name"],
    }
    return api.request("POST", "/v1/devices/register", body, key=api.write_key, headers=BROWSER)


def test_registration_brings_a_bonus_and_a_referral_code_a_friend_redeems_it_and_the_referrer_is_rewarded(
    cloud: Any, api: Api, shop: dict[str, Any]
) -> None:
    owner, friend = shopper(cloud, api, "owner"), shopper(cloud, api, "friend")
    reply = register(api, owner, shop["serials"][0])
    assert reply.status == 200, reply.body
    referral = reply.body["referralCode"]
    settle(cloud, "1m")
    # the owner's thank-you carries a sign-up bonus code and the referral code with its share link
    (welcome,) = mails(cloud, owner)
    assert referral in welcome.body and any(c.startswith("BONUS-") for c in CODE.findall(welcome.body))

    # the shop's checkout validates the friend's code with its server credential, then the order carries it
    check = api.admin("POST", "/v1/referrals/validate", {"code": referral, "email": friend["email"]})
    assert check.body["status"] == "valid"
    order(api, friend, referralCode=referral)
    settle(cloud, "1m")
    # the referrer gets a bonus code by email; the friend a thank-you
    reward = [m for m in mails(cloud, owner) if m is not welcome]
    assert len(reward) == 1 and any(c.startswith("THANKS-") for c in CODE.findall(reward[0].body))
    assert len(mails(cloud, friend)) == 1
    # the friend's discount was used: a second one is refused
    who = {"email": friend["email"], "userId": friend["userId"], "anonymousId": friend["anonymousId"]}
    again = api.admin("POST", "/v1/referrals/validate", {"code": referral, **who})
    assert again.body["status"] == "already-used"

    # the marketer caps the code at the one redemption made: the next friend is told it is exhausted, and an order
    # carrying it anyway rewards nobody
    capped = api.admin("PATCH", f"/v1/referrals/codes/{referral}", {"cap": 1})
    assert capped.status == 200 and (capped.body["cap"], capped.body["redeemed"]) == (1, 1), capped.body
    late = shopper(cloud, api, "latecomer")
    check = api.admin("POST", "/v1/referrals/validate", {"code": referral, "email": late["email"]})
    assert check.body["status"] == "exhausted"
    rewarded = len(mails(cloud, owner))
    order(api, late, referralCode=referral)
    settle(cloud, "1m")
    assert len(mails(cloud, owner)) == rewarded and mails(cloud, late) == []
    view = api.admin("GET", f"/v1/referrals/codes/{referral}").body
    assert (view["redeemed"], view["refused"]) == (1, 1)
    assert [r["status"] for r in view["redemptions"]].count("refused") == 1


def test_an_owners_export_holds_the_device_the_referral_code_and_the_codes_they_were_given(
    cloud: Any, api: Api, shop: dict[str, Any]
) -> None:
    owner = shopper(cloud, api, "exporter")
    referral = register(api, owner, shop["serials"][4]).body["referralCode"]
    settle(cloud, "1m")
    (welcome,) = mails(cloud, owner)
    (bonus,) = [c for c in CODE.findall(welcome.body) if c.startswith("BONUS-")]
    exported = api.admin("POST", "/v1/privacy/export", {"email": owner["email"]})
    assert exported.status == 200, exported.body
    part = exported.body["journeys"]
    (device,) = part["devices"]
    assert (device["serial"], device["model"], device["category"]) == (shop["serials"][4], "Brewer 3000", "main")
    assert device["referralCode"]["code"] == referral
    assert [(c["poolId"], c["code"]) for c in part["couponCodes"]] == [(shop["pools"]["bonus"], bonus)]


def test_self_referral_is_refused_and_rewards_nobody(cloud: Any, api: Api, shop: dict[str, Any]) -> None:
    owner = shopper(cloud, api, "selfish")
    reply = register(api, owner, shop["serials"][1])
    assert reply.status == 200, reply.body
    settle(cloud, "1m")
    before = len(mails(cloud, owner))
    check = api.admin("POST", "/v1/referrals/validate", {"code": reply.body["referralCode"], "email": owner["email"]})
    assert check.body["status"] == "self-referral"
    order(api, owner, referralCode=reply.body["referralCode"])
    settle(cloud, "1m")
    assert len(mails(cloud, owner)) == before  # no reward


def test_welcome_reminds_only_those_who_have_not_registered_within_14_days(
    cloud: Any, api: Api, shop: dict[str, Any]
) -> None:
    journey_ids = shop["journeys"]["welcome"]
    prompt, slow, never = (shopper(cloud, api, n) for n in ("prompt", "slow", "lazy"))
    for person in (prompt, slow, never):
        order(api, person, channel="webshop")
    settle(cloud, "1m")
    assert all(len(mails(cloud, p)) >= 1 for p in (prompt, slow, never))  # the thank-you (and any other journey)
    before = {p["name"]: len(mails(cloud, p)) for p in (prompt, slow, never)}
    # the prompt one registers within the 14 days; the others do not
    assert register(api, prompt, shop["serials"][2]).status == 200
    settle(cloud, "14d")
    settle(cloud, "1m")
    # the ones who did not register got the reminder; the one who registered did not
    reminders = {
        p["name"]: [m for m in mails(cloud, p) if "advanced tips" in m.subject.lower()] for p in (prompt, slow, never)
    }
    assert (len(reminders["prompt"]), len(reminders["slow"]), len(reminders["lazy"])) == (0, 1, 1)
    # registering after the reminder ends it: nothing more comes
    assert register(api, slow, shop["serials"][3]).status == 200
    settle(cloud, "1d")
    analytics = api.admin("GET", f"/v1/journeys/{journey_ids[0]}/analytics").body["versions"][0]
    assert analytics["journey"]["entered"] >= 3 and analytics["nodes"]["reminder"]["sent"] == 2
    assert before["prompt"] >= 1


def test_post_purchase_reminders_skip_what_was_bought_already(cloud: Any, api: Api, shop: dict[str, Any]) -> None:
    plain, keen = shopper(cloud, api, "plain"), shopper(cloud, api, "keen")
    for person in (plain, keen):
        order(api, person, category="device")
    settle(cloud, "1d")
    order(api, keen, category="additional")  # the keen one buys the additional product within two weeks
    settle(cloud, "14d")
    settle(cloud, "1m")

    def about(person: dict[str, str], word: str) -> int:
        return len([m for m in mails(cloud, person) if word in m.subject.lower()])

    assert (about(plain, "get more"), about(keen, "get more")) == (1, 0)
    settle(cloud, "42d")
    settle(cloud, "1m")
    assert (about(plain, "clean"), about(keen, "clean")) == (1, 1)


def test_re_permission_asks_reminds_once_and_marks_the_silent_as_lapsed(
    cloud: Any, api: Api, shop: dict[str, Any]
) -> None:
    (journey_id,) = shop["journeys"]["permission"]
    keen, silent = shopper(cloud, api, "confirms"), shopper(cloud, api, "silent")
    ids = [api.admin("GET", f"/v1/profiles?userId={p['userId']}").body["profileId"] for p in (keen, silent)]
    reply = api.admin("POST", f"/v1/journeys/{journey_id}/enrol", {"profileIds": ids, "key": "old-list-1"})
    assert reply.status == 200 and reply.body["entered"] == 2, reply.body
    settle(cloud, "1m")
    assert [len(mails(cloud, p)) for p in (keen, silent)] == [1, 1]
    send(api, "track", {"anonymousId": keen["anonymousId"], "userId": keen["userId"], "event": "Interest Confirmed"})
    settle(cloud, "10d")
    settle(cloud, "1m")
    assert [len(mails(cloud, p)) for p in (keen, silent)] == [1, 2]  # one reminder, only to the silent one
    settle(cloud, "14d")
    settle(cloud, "1m")
    lapsed, kept = (api.admin("GET", f"/v1/profiles/{i}").body for i in (ids[1], ids[0]))
    assert lapsed["traits"].get("emailMarketingLapsed") is True and "lapsed" in lapsed["traits"].get("tags", [])
    assert lapsed["consent"]["email_marketing"]["granted"] is False
    assert lapsed["consent"]["email_marketing"]["source"] == f"journey:{journey_id}"
    assert "emailMarketingLapsed" not in kept["traits"] and "email_marketing" not in kept["consent"]
    seen = [e for tap in shop["taps"] for e in tap.drain()]
    refused = [e["data"] for e in seen if e["type"] == "ConsentChanged" and e["data"]["profileId"] in ids]
    assert refused == [{**refused[0], "profileId": ids[1], "purpose": "email_marketing", "granted": False}]
    reported = [e["data"]["profileId"] for e in seen if e["type"] == "JourneyEventPublished"
                and e["data"]["event"] == "Contact Lapsed" and e["data"]["profileId"] in ids]  # fmt: skip
    assert reported == [ids[1]]


def test_a_lead_turning_hot_is_handed_to_the_crm_once_by_a_signed_webhook(
    cloud: Any, api: Api, shop: dict[str, Any], crm: str
) -> None:
    plan = api.admin("POST", "/v1/scoring/plans", {
        "name": "Shop leads",
        "rules": [{"name": "demo", "activity": {"event": "Demo Requested"}, "points": 40}],
        "tiers": [{"name": "cold"}, {"name": "warm", "min": 30}, {"name": "hot", "min": 70}],
    })  # fmt: skip
    assert plan.status == 201, plan.body
    (journey_id,) = install(api, "hot-lead-crm", planId=plan.body["planId"], crmUrl=crm)
    (node,) = api.admin("GET", f"/v1/journeys/{journey_id}").body["definition"]["nodes"]
    keen, browsing = shopper(cloud, api, "keen"), shopper(cloud, api, "browsing")
    for person, demos in ((keen, 3), (browsing, 1)):
        for _ in range(demos):
            send(api, "track", {"anonymousId": person["anonymousId"], "userId": person["userId"],
                                "event": "Demo Requested"})  # fmt: skip
    settle(cloud, "1m")
    settle(cloud, "1m")
    # one delivery, for the one who crossed into "hot" (a third demo keeps them hot: no second hand-off)
    (delivery,) = Receiver.received
    assert verify(node["secret"].encode(), delivery["body"], delivery["headers"], int(cloud.clock.now().timestamp()))
    lead = json.loads(delivery["body"])
    assert lead["profile"]["email"] == keen["email"] and lead["profile"]["traits"]["firstName"] == "Keen"
    assert {k: lead["journey"]["context"][k] for k in ("planId", "tier", "previousTier", "direction")} == {
        "planId": plan.body["planId"], "tier": "hot", "previousTier": "warm", "direction": "up"
    }  # fmt: skip
    assert lead["journey"]["context"]["score"] >= 70


def test_replaying_every_bus_message_sends_no_email_twice(cloud: Any, api: Api, shop: dict[str, Any]) -> None:
    import boto3

    sent, handed_off = len(cloud.sent_emails()), len(Receiver.received)
    events = [e for tap in shop["taps"] for e in tap.drain()]
    assert len(events) > 20
    client = boto3.client("events", region_name=cloud.region)
    for start in range(0, len(events), 10):
        entries = [
            {"Source": e["source"], "DetailType": e["type"], "Detail": json.dumps(e["detail"]),
             "EventBusName": cloud.names.bus()}
            for e in events[start : start + 10]
        ]  # fmt: skip
        assert client.put_events(Entries=entries)["FailedEntryCount"] == 0
    cloud.settle(timeout=120)  # several hundred redelivered messages: on a loaded machine, more than the default 10 s
    settle(cloud, "1m")
    settle(cloud, "3d")
    extra = [(m.destinations["ToAddresses"], m.subject) for m in cloud.sent_emails()[sent:]]
    assert extra == []
    assert len(Receiver.received) == handed_off  # no lead handed to the CRM twice either
    assert cloud.dead_letters() == {}
