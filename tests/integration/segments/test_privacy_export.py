"""The segments export function on the local cloud, invoked as identity invokes it (IAM, direct Lambda invoke):
memberships, scores, behaviour counters and questionnaire answers of a person, and nothing the service keys by
their profile left out."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from services.common.contracts import envelope
from services.common.contracts.registry import ProfileUpdated
from tests.conftest import Api
from tests.integration.segments.conftest import activity
from tests.segments_seed import answers_like, questionnaire

RECIPES = {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]}
PLAN = {
    "name": "Engagement",
    "rules": [
        {"name": "recipe-view", "activity": RECIPES, "points": 5},
        {"name": "buy", "activity": {"event": "Order Completed"}, "points": 60},
    ],
    "tiers": [{"name": "cold"}, {"name": "warm", "min": 10}, {"name": "hot", "min": 50}],
}


def export_of(cloud: Any, profile_ids: list[str]) -> dict[str, Any]:
    response = boto3.client("lambda", region_name=cloud.region).invoke(
        FunctionName=cloud.names.function_name("segments", "privacy"),
        Payload=json.dumps({"profileIds": profile_ids}).encode(),
    )
    payload = json.loads(response["Payload"].read())
    assert not response.get("FunctionError"), payload
    return dict(payload)


@pytest.fixture(scope="module")
def ana(cloud: Any, api: Api, bus: Any) -> dict[str, str]:
    """Given a recipe segment, an engagement plan and the cook questionnaire; and Ana, Dutch, who read two
    recipes, bought once and answered the questionnaire like an explorer — all through the real consumer."""
    plan = api.admin("POST", "/v1/scoring/plans", PLAN).body["planId"]
    cook = api.admin("POST", "/v1/questionnaires", questionnaire()).body["questionnaireId"]
    recipes = api.admin(
        "POST",
        "/v1/segments",
        {"name": "Recipe readers", "condition": {"behaviour": RECIPES, "op": "atLeast", "value": 2, "withinDays": 14}},
    ).body["segmentId"]
    cloud.settle()
    now = cloud.clock.now()
    bus.publish(
        [
            envelope(ProfileUpdated(profileId="exp-ana", changed={"country": "NL"}), id="exp-ana-traits"),
            activity("exp-ana", "r1", at=now, path="/recipes/pancakes"),
            activity("exp-ana", "r2", at=now, path="/recipes/risotto"),
            activity("exp-ana", "o1", at=now, kind="track", event="Order Completed"),
            activity(
                "exp-ana",
                "q1",
                at=now,
                kind="track",
                event="Questionnaire Answered",
                properties={"answers": answers_like("explorer")},
            ),
        ]
    )
    cloud.settle()
    assert cloud.dead_letters() == {}
    return {"plan": plan, "cook": cook, "recipes": recipes}


def test_the_export_holds_memberships_scores_behaviour_and_answers(cloud: Any, ana: dict[str, str]) -> None:
    document = export_of(cloud, ["exp-ana", "exp-never-seen"])

    # Only the profile the service heard of has a part
    (part,) = document["profiles"]
    assert part["profileId"] == "exp-ana"
    assert [(m["segmentId"], m["name"]) for m in part["memberships"]] == [(ana["recipes"], "Recipe readers")]
    assert part["memberships"][0]["since"].startswith("2026-03-02T")
    (score,) = part["scores"]
    assert (score["planId"], score["name"], score["score"], score["tier"]) == (ana["plan"], "Engagement", 70.0, "hot")
    (recipes,) = [b for b in part["behaviour"] if b["filter"] and b["filter"]["type"] == "page"]
    assert recipes["total"] == 2
    assert {"segmentId": ana["recipes"], "name": "Recipe readers"} in recipes["usedBy"]
    (answers,) = part["questionnaires"]
    assert (answers["questionnaireId"], answers["segment"], answers["segmentName"], answers["complete"]) == (
        ana["cook"],
        "explorer",
        "Explorer",
        True,
    )
    assert answers["answers"] == answers_like("explorer")
    assert part["traits"] == {"country": "NL"}
    assert "exp-ana-traits" in part["recentInputs"]
    assert {a["type"] for a in part["announcements"]} == {"ScoreChanged"}
    assert part["pendingAnnouncements"] == []


def test_no_item_keyed_by_the_profile_is_left_out_of_the_export(cloud: Any, ana: dict[str, str]) -> None:
    # Every item of the segments table that mentions the profile is one the export reads: its rollup. An item
    # kind added later (a membership history, say) fails here until the export covers it.
    client = boto3.client("dynamodb", region_name=cloud.region)
    table = cloud.table_name("segments", "segments")
    mentioning: set[tuple[str, str]] = set()
    for page in client.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            if "exp-ana" in json.dumps(item):
                mentioning.add((item["pk"]["S"], item["sk"]["S"]))
    assert mentioning == {("PROFILE#exp-ana", "ROLLUP")}
    # and every attribute of that item shows in the document
    (item,) = [
        i
        for p in client.get_paginator("scan").paginate(TableName=table)
        for i in p["Items"]
        if i["pk"]["S"] == "PROFILE#exp-ana"
    ]
    assert set(item) <= {"pk", "sk", "profileId", "version", "state", "seen", "outbox", "dueShard", "dueAt"}
    (part,) = export_of(cloud, ["exp-ana"])["profiles"]
    assert part["nextReviewAt"] == item["dueAt"]["S"]


def test_the_export_refuses_a_request_without_profile_ids(cloud: Any) -> None:
    response = boto3.client("lambda", region_name=cloud.region).invoke(
        FunctionName=cloud.names.function_name("segments", "privacy"), Payload=json.dumps({}).encode()
    )
    assert response.get("FunctionError")
