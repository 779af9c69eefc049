"""The overview's identity figures (`GET /v1/profiles/stats`) are exact: after anonymous visits, an identification,
a redelivered event, merges and an erasure, each profile counts once in its class and each event once on its day."""

from __future__ import annotations

import json
from typing import Any

import boto3

from tests.conftest import Api, BusTap
from tests.integration.identity.conftest import visit


def stats(api: Api, days: int = 3) -> dict[str, Any]:
    reply = api.admin("GET", f"/v1/profiles/stats?days={days}")
    assert reply.status == 200, reply.body
    return dict(reply.body)


def events(api: Api) -> list[int]:
    return [d["events"] for d in stats(api)["eventsPerDay"]]


def profile_id(api: Api, **query: str) -> str:
    (name, value), *_ = query.items()
    return str(api.admin("GET", f"/v1/profiles?{name}={value}").body["profileId"])


def test_the_figures_stay_exact_through_identification_redelivery_merges_and_erasure(cloud: Any, api: Api) -> None:
    collected = BusTap(cloud, "cxm.events")
    # Given two anonymous visitors, each viewing a page
    visit(api, "page", {"anonymousId": "ov-dev-1", "properties": {"path": "/a"}})
    visit(api, "page", {"anonymousId": "ov-dev-2", "properties": {"path": "/b"}})
    cloud.settle()
    assert stats(api)["profiles"] == {"known": 0, "anonymous": 2}
    assert events(api) == [0, 0, 2]

    # When the first signs in (her back-end identifies her)
    identify = {"anonymousId": "ov-dev-1", "userId": "ov-ana", "traits": {"email": "ana@ov.example"}}
    visit(api, "identify", identify, signed_in=True)
    cloud.settle()
    # Then she is known, the other still anonymous
    assert stats(api)["profiles"] == {"known": 1, "anonymous": 1}
    assert events(api) == [0, 0, 3]

    # When identity receives a collected event again (the bus redelivers it, same envelope id)
    page = next(e for e in collected.drain() if e["type"] == "EventCollected")
    boto3.client("events", region_name=cloud.region).put_events(
        Entries=[
            {
                "Source": "cxm.events",
                "DetailType": "EventCollected",
                "Detail": json.dumps(page["detail"]),
                "EventBusName": cloud.names.bus(),
            }
        ]
    )
    cloud.settle()
    # Then nothing is counted twice
    assert stats(api)["profiles"] == {"known": 1, "anonymous": 1}
    assert events(api) == [0, 0, 3]

    # When an admin merges the anonymous visitor into Ana, and a second known person arrives and is merged too
    ana = profile_id(api, userId="ov-ana")
    merged = api.admin(
        "POST",
        "/v1/profiles/merge",
        {"survivingProfileId": ana, "mergedProfileId": profile_id(api, anonymousId="ov-dev-2")},
    )
    assert merged.status == 200, merged.body
    assert stats(api)["profiles"] == {"known": 1, "anonymous": 0}
    visit(
        api,
        "identify",
        {"anonymousId": "ov-dev-3", "userId": "ov-bob", "traits": {"email": "bob@ov.example"}},
        signed_in=True,
    )
    cloud.settle()
    assert stats(api)["profiles"] == {"known": 2, "anonymous": 0}
    bob = profile_id(api, userId="ov-bob")
    assert api.admin("POST", "/v1/profiles/merge", {"survivingProfileId": ana, "mergedProfileId": bob}).status == 200
    assert stats(api)["profiles"] == {"known": 1, "anonymous": 0}

    # When the merge is undone, Bob counts again
    (log,) = [m for m in api.admin("GET", f"/v1/profiles/{ana}/merges").body["merges"] if m["mergedProfileId"] == bob]
    undone = api.admin("POST", f"/v1/profiles/{ana}/merges/{log['mergeId']}/undo")
    assert undone.status == 200, undone.body
    assert stats(api)["profiles"] == {"known": 2, "anonymous": 0}

    # When a day passes and a new anonymous visitor comes, then Bob is erased
    cloud.advance("1d")
    visit(api, "page", {"anonymousId": "ov-dev-4", "properties": {"path": "/c"}})
    cloud.settle()
    assert api.admin("POST", "/v1/privacy/erase", {"profileId": bob}).status == 200
    cloud.settle()

    # Then the figures hold one known and one anonymous profile, and the events on their days
    figures = stats(api)
    assert figures["profiles"] == {"known": 1, "anonymous": 1}
    assert figures["eventsPerDay"] == [
        {"day": "2026-03-01", "events": 0},
        {"day": "2026-03-02", "events": 4},
        {"day": "2026-03-03", "events": 1},
    ]


def test_days_are_bounded_and_named_when_wrong(api: Api) -> None:
    assert len(stats(api, 14)["eventsPerDay"]) == 14
    for query in ("days=0", "days=91", "days=x"):
        bad = api.admin("GET", f"/v1/profiles/stats?{query}")
        assert bad.status == 400 and bad.content_type == "application/problem+json"
        assert bad.body["errors"][0]["field"].endswith("days")


def test_journeys_stats_count_active_journeys_and_each_send_once_on_its_day(cloud: Any, api: Api) -> None:
    # Given a published journey mailing kettle lookers a day after they qualify, and Ana qualifying
    segment = api.admin(
        "POST",
        "/v1/segments",
        {
            "name": "Kettle lookers",
            "condition": {
                "behaviour": {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/k"}]},
                "op": "atLeast",
                "value": 2,
                "withinDays": 7,
            },
        },
    )
    journey = api.admin(
        "POST",
        "/v1/journeys",
        {
            "name": "Kettle reminder",
            "trigger": {"segmentEntered": segment.body["segmentId"]},
            "waitSeconds": 86400,
            "email": {"subject": "Still thinking?", "html": "<p>The kettle</p>"},
        },
    )
    assert journey.status == 201, journey.body
    identify = {"anonymousId": "ov-kettle", "userId": "ov-kim", "traits": {"email": "kim@ov.example"}}
    visit(api, "identify", identify, signed_in=True)
    for _ in range(2):
        visit(api, "page", {"anonymousId": "ov-kettle", "properties": {"path": "/k/kettle"}})
    cloud.settle()
    cloud.wait_for(lambda: cloud.executions("RUNNING"))

    # When a day passes and the reminder goes
    cloud.advance("1d")
    cloud.wait_for(lambda: cloud.mailbox(to="kim@ov.example"))
    cloud.wait_for(lambda: cloud.executions("SUCCEEDED"))
    cloud.settle()

    # Then the overview shows the active journey and the one email, on the day it went
    reply = api.admin("GET", "/v1/journeys/stats?days=2")
    assert reply.status == 200, reply.body
    today = cloud.clock.now().date().isoformat()
    assert reply.body["active"] == 1
    assert reply.body["sendsPerDay"][-1] == {"day": today, "sends": 1, "byChannel": {"email": 1}}
    assert reply.body["sendsByChannel"] == {"email": 1}
    bad = api.admin("GET", "/v1/journeys/stats?days=0")
    assert bad.status == 400 and bad.body["errors"][0]["field"].endswith("days")
