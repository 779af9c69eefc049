"""The journey engine end to end, over real HTTP on the local cloud and the virtual clock: a cart-rescue journey
with a holdout, a 50/50 split, a condition on a human open, a wait for a visit with a timeout and a purchase goal,
counted exactly by the analytics API; a frequency cap that holds a third email; quiet hours in two time zones."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.request import Request, urlopen
from zoneinfo import ZoneInfo

import pytest

from services.common.experiments import statistics
from services.journeys.domain.runs import bucket, split_branch
from tests.conftest import START, Api

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4"
SCANNER = "Mimecast Web Security/1.0"
HOLDOUT_PERCENT = 20


@pytest.fixture(scope="module")
def cloud() -> Iterator[Any]:
    """The platform with a frequency cap of two marketing emails per seven days."""
    from infra.local.cloud import LocalCloud

    settings = {"JOURNEY_EMAIL_FREQUENCY_CAP": "2/7d"}
    with LocalCloud(start=START, stage=f"t{uuid.uuid4().hex[:6]}", function_settings=settings) as running:
        yield running


def email(node_id: str, subject: str, next_node: str | None = None) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "email",
        "subject": subject,
        "next": next_node,
        "html": f"<html><body><p>{{{{firstName}}}}: {subject}</p>"
        '<p><a href="https://shop.example/cart">Back to the cart</a></p></body></html>',
    }


CART_RESCUE = {
    "name": "Cart rescue",
    "entry": {
        "trigger": {"event": {"event": "Cart Updated", "where": [{"property": "value", "op": "gte", "value": 10}]}},
        "reentry": "whenNotInside",
    },
    "goal": {"event": "Order Completed"},
    "start": "control",
    "nodes": [
        {"id": "control", "type": "holdout", "percent": HOLDOUT_PERCENT, "next": "ab"},
        {
            "id": "ab",
            "type": "split",
            "branches": [{"percent": 50, "next": "remindA"}, {"percent": 50, "next": "remindB"}],
        },
        email("remindA", "Your cart is waiting", "nextDay"),
        email("remindB", "Still thinking it over?", "nextDay"),
        {"id": "nextDay", "type": "wait", "seconds": 86400, "next": "opened"},
        {
            "id": "opened",
            "type": "condition",
            "branches": [
                {
                    "condition": {
                        "any": [
                            {"happened": "opened", "message": "remindA"},
                            {"happened": "opened", "message": "remindB"},
                        ]
                    },
                    "next": "reward",
                }
            ],
            "elseNext": "visit",
        },
        email("reward", "A little thank-you"),
        {
            "id": "visit",
            "type": "waitForEvent",
            "branches": [{"event": "page", "next": "welcomeBack"}],
            "timeoutSeconds": 2 * 86400,
            "timeoutNext": "lastCall",
        },
        email("welcomeBack", "Welcome back"),
        email("lastCall", "Last call for your cart"),
    ],
}


class Shopper:
    def __init__(self, user: str, profile_id: str) -> None:
        self.user = user
        self.profile_id = profile_id
        self.email = f"{user}@example.com"


def shopper(cloud: Any, api: Api, prefix: str, **traits: Any) -> Shopper:
    user = f"{prefix}-{uuid.uuid4().hex[:8]}"
    sent = api.backend(  # a signed-in shopper: the shop's back-end identifies them (a verified address)
        "identify", {"userId": user, "traits": {"email": f"{user}@example.com", "firstName": prefix, **traits}}
    )
    assert sent.status == 200
    cloud.settle()
    return Shopper(user, str(api.admin("GET", f"/v1/profiles?userId={user}").body["profileId"]))


def mails(cloud: Any, who: Shopper) -> list[Any]:
    return [m for m in cloud.sent_emails() if who.email in m.destinations["ToAddresses"]]


def open_email(cloud: Any, message: Any, user_agent: str) -> None:
    """A mail client (or a scanner) loads the email's open pixel."""
    (pixel,) = re.findall(rf'src="({re.escape(cloud.url)}/v1/t/open/[^"]+)"', message.html)
    with urlopen(Request(pixel, headers={"User-Agent": user_agent}), timeout=30) as reply:
        assert reply.status == 200


def settle(cloud: Any, by: str | None = None) -> None:
    cloud.settle_runs()
    if by:
        cloud.advance(by)
        cloud.settle_runs()


@pytest.fixture(scope="module")
def rescue(cloud: Any, api: Api) -> dict[str, Any]:
    """Given the cart-rescue journey and shoppers in both halves of the split and in the holdout; then a week of
    their behaviour: a human open, a scanner's open, a return visit, two purchases, silence."""
    created = api.admin("POST", "/v1/journeys?publish=true", CART_RESCUE)
    assert created.status == 201, created.body
    journey_id = created.body["journeyId"]

    def place(who: Shopper) -> str:
        if bucket(journey_id, "control", who.profile_id) < HOLDOUT_PERCENT:
            return "holdout"
        return str(split_branch([50, 50], bucket(journey_id, "ab", who.profile_id)))

    shoppers: list[Shopper] = []
    while len(shoppers) < 60 and (
        len([s for s in shoppers if place(s) != "holdout"]) < 8 or not any(place(s) == "holdout" for s in shoppers)
    ):
        shoppers.append(shopper(cloud, api, f"s{len(shoppers)}"))
    inside = [s for s in shoppers if place(s) != "holdout"]
    roles = {"human": inside[0], "machine": inside[1], "visitor": inside[2], "buyer": inside[3]}
    held_out = next(s for s in shoppers if place(s) == "holdout")
    cheap = shopper(cloud, api, "cheap")

    # Everyone updates a cart worth 25; one shopper a cart worth 5 (under the entry filter). Messages naming a
    # signed-in shopper by user id alone come from the shop's back-end (a public page's would be only a claim).
    for who in shoppers:
        assert (
            api.backend("track", {"userId": who.user, "event": "Cart Updated", "properties": {"value": 25}}).status
            == 200
        )
    api.backend("track", {"userId": cheap.user, "event": "Cart Updated", "properties": {"value": 5}})
    settle(cloud, "1m")

    # A minute later: a human opens, a mail scanner opens another's email, a shopper and a held-out one buy
    open_email(cloud, mails(cloud, roles["human"])[0], BROWSER)
    open_email(cloud, mails(cloud, roles["machine"])[0], SCANNER)
    for buyer in (roles["buyer"], held_out):
        api.backend("track", {"userId": buyer.user, "event": "Order Completed", "properties": {"total": 80}})
    settle(cloud, "1d")
    # The next day, one shopper comes back to the site while the journey waits for a visit
    api.backend("page", {"userId": roles["visitor"].user, "properties": {"path": "/cart"}})
    settle(cloud, "2d")
    settle(cloud, "5d")  # the holdout's conversion window closes
    return {
        "journeyId": journey_id,
        "shoppers": shoppers,
        "roles": roles,
        "place": place,
        "cheap": cheap,
        "heldOut": held_out,
    }


def subjects(cloud: Any, who: Shopper) -> list[str]:
    return [m.subject for m in mails(cloud, who)]


def test_each_shopper_gets_the_messages_of_their_branch(cloud: Any, rescue: dict[str, Any]) -> None:
    roles, place = rescue["roles"], rescue["place"]
    first = {"0": "Your cart is waiting", "1": "Still thinking it over?"}
    # the human who opened gets the thank-you; the scanner's open did not count, so that shopper got the last call
    assert subjects(cloud, roles["human"]) == [first[place(roles["human"])], "A little thank-you"]
    assert subjects(cloud, roles["machine"]) == [first[place(roles["machine"])], "Last call for your cart"]
    # the shopper who came back during the wait took the event branch, the silent ones the timeout branch
    assert subjects(cloud, roles["visitor"]) == [first[place(roles["visitor"])], "Welcome back"]
    # the buyer's run ended at the purchase: no second email
    assert subjects(cloud, roles["buyer"]) == [first[place(roles["buyer"])]]
    # the holdout got nothing, nor did the cart under the entry filter
    assert subjects(cloud, rescue["heldOut"]) == [] and subjects(cloud, rescue["cheap"]) == []


def test_the_analytics_count_every_transition_exactly(cloud: Any, api: Api, rescue: dict[str, Any]) -> None:
    shoppers, roles, place = rescue["shoppers"], rescue["roles"], rescue["place"]
    body = api.admin("GET", f"/v1/journeys/{rescue['journeyId']}/analytics").body
    (version,) = body["versions"]
    nodes, summary = version["nodes"], version["journey"]
    places = Counter(place(s) for s in shoppers)
    inside = len(shoppers) - places["holdout"]
    silent = inside - 4  # neither opened, visited nor bought (the scanner's shopper is silent too)

    # Then every shopper entered once; one conversion inside, one in the holdout; nobody is left running
    assert summary["entered"] == len(shoppers)
    assert (summary["converted"], summary["active"], summary["failed"]) == (2, 0, 0)
    assert summary["holdout"] == places["holdout"] - 1
    assert summary["completed"] == inside - 1
    # And the holdout and the split counted each branch, with the conversions per branch
    assert nodes["control"]["branches"]["holdout"] == {
        "taken": places["holdout"],
        "converted": 1,
        "conversionRate": round(1 / places["holdout"], 4),
    }
    assert nodes["control"]["branches"]["continue"]["taken"] == inside
    buyer_branch = place(roles["buyer"])
    for branch in ("0", "1"):  # a branch nobody took has no counters (the ids are random: it can happen)
        counted = nodes["ab"]["branches"].get(branch, {"taken": 0, "converted": 0})
        assert counted["taken"] == places[branch]
        assert counted["converted"] == (1 if branch == buyer_branch else 0)
    # And the split reads as an A/B test (branch 0 the control) and the holdout as the journey's test against
    # doing nothing, with content's experiment statistics on the same counts
    ab = nodes["ab"]["experiment"]
    assert [(v["branch"], v["users"]) for v in ab["variants"]] == [("0", places["0"]), ("1", places["1"])]
    expected = statistics.results(
        [statistics.VariantCounts(places[b], 1 if b == buyer_branch else 0) for b in ("0", "1")], [50, 50]
    ).as_json()
    assert ab["srmPValue"] == expected["srmPValue"] and ab["variants"][1]["pValue"] == expected["variants"][1]["pValue"]
    holdout = nodes["control"]["experiment"]
    assert [(v["branch"], v["users"]) for v in holdout["variants"]] == [
        ("holdout", places["holdout"]),
        ("continue", inside),
    ]
    # And the sends, human opens (the scanner's open is not one), the condition and the wait for a visit
    assert nodes["remindA"]["sent"] + nodes["remindB"]["sent"] == inside
    assert nodes["remindA"]["opened"] + nodes["remindB"]["opened"] == 1
    assert nodes["nextDay"]["entered"] == inside and nodes["nextDay"]["exited"] == 1  # the buyer left there
    assert nodes["opened"]["branches"] == {
        "0": {"taken": 1, "converted": 0, "conversionRate": 0.0},
        "else": {"taken": inside - 2, "converted": 0, "conversionRate": 0.0},
    }
    assert nodes["visit"]["branches"]["0"]["taken"] == 1
    assert nodes["visit"]["branches"]["timeout"]["taken"] == silent + 1  # + the scanner's shopper
    assert (nodes["reward"]["sent"], nodes["welcomeBack"]["sent"], nodes["lastCall"]["sent"]) == (1, 1, silent + 1)
    assert all(node["waitingNow"] == 0 for node in nodes.values())
    assert cloud.dead_letters() == {}


def test_runs_end_in_the_state_their_story_says(api: Api, rescue: dict[str, Any]) -> None:
    runs = api.admin("GET", f"/v1/journeys/{rescue['journeyId']}/runs?state=converted").body["runs"]
    assert {r["profileId"] for r in runs} == {rescue["roles"]["buyer"].profile_id, rescue["heldOut"].profile_id}
    assert api.admin("GET", f"/v1/journeys/{rescue['journeyId']}/runs?state=running").body["runs"] == []


def test_a_frequency_cap_holds_the_third_email_until_the_first_ages_out(cloud: Any, api: Api) -> None:
    # Given a daily series of three emails, and a cap of two marketing emails per seven days
    series = {
        "name": "Daily tips",
        "entry": {"trigger": {"api": True}},
        "start": "tip1",
        "nodes": [
            email("tip1", "Tip one", "day1"),
            {"id": "day1", "type": "wait", "seconds": 86400, "next": "tip2"},
            email("tip2", "Tip two", "day2"),
            {"id": "day2", "type": "wait", "seconds": 86400, "next": "tip3"},
            email("tip3", "Tip three"),
        ],
    }
    created = api.admin("POST", "/v1/journeys?publish=true", series)
    assert created.status == 201, created.body
    kim = shopper(cloud, api, "kim")
    started = cloud.clock.now()

    # When Kim enters and two days pass
    assert (
        api.admin("POST", f"/v1/journeys/{created.body['journeyId']}/enrol", {"profileIds": [kim.profile_id]}).status
        == 200
    )
    settle(cloud, "1d")
    settle(cloud, "1d")

    # Then the third tip waits: two went out this week
    assert subjects(cloud, kim) == ["Tip one", "Tip two"]
    settle(cloud, "4d")
    assert subjects(cloud, kim) == ["Tip one", "Tip two"]
    # And it goes out when the first one is seven days old
    cloud.advance(started + dt.timedelta(days=7) - cloud.clock.now())
    settle(cloud)
    assert subjects(cloud, kim) == ["Tip one", "Tip two", "Tip three"]
    tip3 = api.admin("GET", f"/v1/journeys/{created.body['journeyId']}/analytics").body["versions"][0]["nodes"]["tip3"]
    assert (tip3["deferred"], tip3["sent"]) == (1, 1)


def test_quiet_hours_move_a_send_to_nine_in_the_morning_in_each_persons_time_zone(cloud: Any, api: Api) -> None:
    # Given a welcome email with quiet hours 21:00-09:00, and Mia in Auckland and Noa in New York
    welcome = {
        "name": "Welcome",
        "entry": {"trigger": {"api": True}},
        "start": "hello",
        "nodes": [email("hello", "Welcome aboard")],
        "delivery": {"quietHours": {"start": "21:00", "end": "09:00"}, "defaultTimeZone": "Europe/London"},
    }
    created = api.admin("POST", "/v1/journeys?publish=true", welcome)
    assert created.status == 201, created.body
    mia = shopper(cloud, api, "mia", timezone="Pacific/Auckland")
    noa = shopper(cloud, api, "noa", timezone="America/New_York")
    now = cloud.clock.now()
    # (the clock is at 09:00 UTC: late evening in Auckland and early morning in New York, both quiet)
    local = {
        who.user: now.astimezone(ZoneInfo(zone)) for who, zone in ((mia, "Pacific/Auckland"), (noa, "America/New_York"))
    }
    assert all(t.hour >= 21 or t.hour < 9 for t in local.values()), local

    # When both enter at that moment
    enrolled = api.admin(
        "POST", f"/v1/journeys/{created.body['journeyId']}/enrol", {"profileIds": [mia.profile_id, noa.profile_id]}
    )
    assert enrolled.status == 200
    settle(cloud)
    assert subjects(cloud, mia) == [] and subjects(cloud, noa) == []

    # Then each email goes at 09:00 in its reader's own time zone, not a minute before
    def nine_local(who: Shopper) -> dt.datetime:
        there = local[who.user]
        nine = there.replace(hour=9, minute=0, second=0, microsecond=0)
        return (nine if nine > there else nine + dt.timedelta(days=1)).astimezone(dt.UTC)

    first, second = sorted((noa, mia), key=nine_local)
    assert nine_local(noa) != nine_local(mia)
    for who, other in ((first, second), (second, None)):
        cloud.advance(nine_local(who) - dt.timedelta(minutes=1) - cloud.clock.now())
        settle(cloud)
        assert subjects(cloud, who) == []
        cloud.advance(nine_local(who) - cloud.clock.now())
        settle(cloud)
        assert subjects(cloud, who) == ["Welcome aboard"]
        if other is not None:
            assert subjects(cloud, other) == []
