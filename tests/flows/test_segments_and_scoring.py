"""Segments and scores in real time, over real HTTP on the local cloud with the virtual clock: a visitor enters a
segment on her second recipe view, becomes a hot lead after a form and a purchase, leaves the windowed segment
exactly when its window passes, and each transition reaches the journeys once; another's anonymous phone history
counts once she logs in."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import boto3
import pytest

from infra.catalog import manifest
from tests.conftest import START, Api

BROWSER = {
    "user-agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15"
}
RECIPES = {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]}


def send(api: Api, kind: str, message: dict[str, Any], signed_in: bool = False) -> None:
    """What a browser sends (a person, not a scanner: its activity scores); `signed_in`: a login, which the site's
    back-end reports with its server key (a verified identity: her devices join, her address may be mailed)."""
    key, scheme = (api.server_key, "bearer") if signed_in else (api.write_key, "basic")
    reply = api.request("POST", f"/v1/{kind}", message, key=key, scheme=scheme, headers=BROWSER)
    assert reply.status == 200, reply.body


@pytest.fixture(scope="module")
def marketing(cloud: Any, api: Api) -> dict[str, str]:
    """Given an engagement plan with tiers, a windowed recipe segment, a hot-leads segment on the plan's tier, and a
    journey on each segment."""
    plan = api.admin(
        "POST",
        "/v1/scoring/plans",
        {
            "name": "Engagement",
            "rules": [
                {"name": "recipe-view", "activity": RECIPES, "points": 5, "maxPerDay": 10},
                {"name": "form", "activity": {"event": "Form Submitted"}, "points": 30},
                {"name": "purchase", "activity": {"event": "Order Completed"}, "points": 40},
            ],
            "tiers": [
                {"name": "cold"},
                {"name": "warm", "min": 10},
                {"name": "hot", "min": 60},
                {"name": "champion", "min": 150},
            ],
        },
    )
    assert plan.status == 201, plan.body
    fans = api.admin(
        "POST",
        "/v1/segments",
        {"name": "Recipe fans", "condition": {"behaviour": RECIPES, "op": "atLeast", "value": 2, "withinDays": 14}},
    )
    hot = api.admin(
        "POST",
        "/v1/segments",
        {"name": "Hot leads", "condition": {"tier": plan.body["planId"], "op": "atLeast", "value": "hot"}},
    )
    assert fans.status == hot.status == 201, (fans.body, hot.body)
    journeys = {}
    for name, segment in (("recipes", fans.body["segmentId"]), ("sales", hot.body["segmentId"])):
        journey = api.admin(
            "POST",
            "/v1/journeys",
            {
                "name": name,
                "trigger": {"segmentEntered": segment},
                "waitSeconds": 0,
                "email": {"subject": f"{name} for {{{{firstName}}}}", "html": f"<p>{name}</p>"},
            },
        )
        assert journey.status == 201, journey.body
        journeys[name] = journey.body["journeyId"]
    cloud.settle()
    return {"plan": plan.body["planId"], "fans": fans.body["segmentId"], "hot": hot.body["segmentId"], **journeys}


def memberships(api: Api, profile_id: str) -> dict[str, Any]:
    reply = api.admin("GET", f"/v1/segments/memberships/{profile_id}")
    assert reply.status == 200, reply.body
    return dict(reply.body)


def journey_runs(api: Api, profile_id: str) -> list[dict[str, Any]]:
    """The profile's journey runs, as the admin API lists them."""
    return list(api.admin("GET", f"/v1/journeys/runs/{profile_id}").body["runs"])


def triggers_seen(cloud: Any, profile_id: str) -> list[str]:
    """The segments of every SegmentEntered the journeys' trigger (the function subscribed to it) was handed."""
    trigger = next(
        f.name
        for f in manifest("journeys").functions
        if any("SegmentEntered" in s.detail_types for s in f.subscriptions)
    )
    seen: list[str] = []
    for call in cloud.runtime.calls_to(cloud.names.function_name("journeys", trigger)):
        for record in call.event.get("Records", []):
            body = json.loads(record["body"])
            if body["detail-type"] == "SegmentEntered" and body["detail"]["data"]["profileId"] == profile_id:
                seen.append(body["detail"]["data"]["segmentId"])
    return seen


def test_a_visitor_is_segmented_and_scored_in_real_time_and_leaves_when_the_window_passes(
    cloud: Any, api: Api, marketing: dict[str, str]
) -> None:
    # Given Ana, who tells us who she is, then reads a first recipe
    send(
        api,
        "identify",
        {"anonymousId": "ana", "userId": "ana-1", "traits": {"email": "ana@example.com", "firstName": "Ana"}},
        signed_in=True,
    )
    send(api, "page", {"anonymousId": "ana", "properties": {"path": "/recipes/pancakes"}})
    cloud.settle()
    profile_id = api.admin("GET", "/v1/profiles?anonymousId=ana").body["profileId"]
    assert memberships(api, profile_id)["segments"] == []

    # When she reads a second recipe two hours later
    cloud.advance("2h")
    send(api, "page", {"anonymousId": "ana", "properties": {"path": "/recipes/risotto"}})
    cloud.settle()

    # Then she is a recipe fan at once, warm (10 points), not yet a hot lead
    mine = memberships(api, profile_id)
    assert [s["segmentId"] for s in mine["segments"]] == [marketing["fans"]]
    assert mine["scores"][marketing["plan"]] == {"score": 10.0, "tier": "warm"}

    # When she sends the contact form (40: still warm), then buys (80: hot)
    send(api, "track", {"anonymousId": "ana", "event": "Form Submitted", "properties": {"form": "contact"}})
    cloud.settle()
    assert memberships(api, profile_id)["scores"][marketing["plan"]]["tier"] == "warm"
    send(api, "track", {"anonymousId": "ana", "event": "Order Completed", "properties": {"total": 49.5}})
    cloud.settle()

    # Then she is a hot lead, and each journey started once for her
    mine = memberships(api, profile_id)
    assert {s["segmentId"] for s in mine["segments"]} == {marketing["fans"], marketing["hot"]}
    assert mine["scores"][marketing["plan"]] == {"score": 80.0, "tier": "hot"}
    runs = cloud.wait_for(lambda: [e for e in cloud.executions() if e["name"].endswith(profile_id)] or None)
    assert len(runs) == 2
    assert sorted(r["journeyId"] for r in journey_runs(api, profile_id)) == sorted(
        (marketing["recipes"], marketing["sales"])
    )
    subjects = sorted(m.subject for m in cloud.wait_for(lambda: len(cloud.sent_emails()) == 2 and cloud.sent_emails()))
    assert subjects == ["recipes for Ana", "sales for Ana"]

    # When the purchase is delivered to the segments service again (an SQS redelivery)
    consumer = cloud.names.function_name("segments", "on_activity_recorded")
    deliveries = len(cloud.runtime.calls_to(consumer))
    redeliver_last_activity(cloud, profile_id)
    cloud.settle()
    assert len(cloud.runtime.calls_to(consumer)) == deliveries + 1

    # Then it is not counted twice, and the journeys' trigger has still seen each entry exactly once
    assert memberships(api, profile_id)["scores"][marketing["plan"]]["score"] == 80.0
    assert sorted(triggers_seen(cloud, profile_id)) == sorted((marketing["fans"], marketing["hot"]))

    # When the virtual clock reaches one minute before the first recipe view is 14 days old: still a fan
    first_view = START
    cloud.advance(first_view + dt.timedelta(days=14, minutes=-1) - cloud.clock.now())
    assert marketing["fans"] in {s["segmentId"] for s in memberships(api, profile_id)["segments"]}

    # Then at the minute the window passes — with no event from her — she leaves, and stays a hot lead
    cloud.advance("1m")
    cloud.settle()
    assert cloud.clock.now() == first_view + dt.timedelta(days=14)
    assert {s["segmentId"] for s in memberships(api, profile_id)["segments"]} == {marketing["hot"]}
    assert len(cloud.sent_emails()) == 2
    assert sorted(triggers_seen(cloud, profile_id)) == sorted((marketing["fans"], marketing["hot"]))
    assert cloud.dead_letters() == {}


def test_the_anonymous_history_counts_once_the_visitor_logs_in(cloud: Any, api: Api, marketing: dict[str, str]) -> None:
    # Given Lea, known on her laptop, who reads a recipe on her phone before logging in there
    send(
        api,
        "identify",
        {"anonymousId": "lea-laptop", "userId": "lea-1", "traits": {"email": "lea@example.com"}},
        signed_in=True,
    )
    send(api, "identify", {"anonymousId": "lea-laptop", "traits": {"firstName": "Lea"}})
    cloud.settle()
    lea = api.admin("GET", "/v1/profiles?email=lea@example.com").body["profileId"]
    send(api, "page", {"anonymousId": "lea-phone", "properties": {"path": "/recipes/shakshuka"}})
    cloud.settle()
    phone = api.admin("GET", "/v1/profiles?anonymousId=lea-phone").body["profileId"]
    assert phone != lea
    assert memberships(api, phone)["scores"][marketing["plan"]] == {"score": 5.0, "tier": "cold"}

    # When she logs in on the phone (its history joins her profile), then reads a recipe on the laptop
    cloud.advance("1h")
    send(api, "identify", {"anonymousId": "lea-phone", "traits": {"email": "lea@example.com"}}, signed_in=True)
    cloud.settle()
    assert api.admin("GET", "/v1/profiles?anonymousId=lea-phone").body["profileId"] == lea
    cloud.advance("1h")
    send(api, "page", {"anonymousId": "lea-laptop", "properties": {"path": "/recipes/dal"}})
    cloud.settle()

    # Then she read two recipes: she is a recipe fan and warm, the phone's profile holds nothing any more
    mine = memberships(api, lea)
    assert [s["segmentId"] for s in mine["segments"]] == [marketing["fans"]]
    assert mine["scores"][marketing["plan"]] == {"score": 10.0, "tier": "warm"}
    assert memberships(api, phone)["segments"] == [] and memberships(api, phone)["scores"] == {}
    fans = api.admin("GET", f"/v1/segments/{marketing['fans']}").body
    assert fans["size"] == 1  # Lea alone (Ana's window passed)

    # And the recipes journey started once, for her, and mailed her once
    runs = cloud.wait_for(lambda: [e for e in cloud.executions() if e["name"].endswith(lea)] or None)
    assert len(runs) == 1
    assert [r["journeyId"] for r in journey_runs(api, lea)] == [marketing["recipes"]]
    assert triggers_seen(cloud, lea) == [marketing["fans"]] and triggers_seen(cloud, phone) == []
    mails = cloud.wait_for(lambda: [m for m in cloud.sent_emails() if m.subject == "recipes for Lea"] or None)
    assert len(mails) == 1
    assert cloud.dead_letters() == {}


def redeliver_last_activity(cloud: Any, profile_id: str) -> None:
    """Put the last ActivityRecorded the segments consumer received for this profile back on its queue."""
    for call in reversed(cloud.runtime.calls_to(cloud.names.function_name("segments", "on_activity_recorded"))):
        for record in call.event.get("Records", []):
            body = json.loads(record["body"])
            if body["detail-type"] == "ActivityRecorded" and body["detail"]["data"]["profileId"] == profile_id:
                queue = next(c for c in cloud.provisioned.consumers if c.function_name == call.function_name)
                boto3.client("sqs", region_name=cloud.region).send_message(
                    QueueUrl=queue.queue_url, MessageBody=record["body"]
                )
                return
    raise AssertionError("no activity was delivered for the profile")
