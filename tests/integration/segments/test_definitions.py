"""The admin API for segments, scoring plans and questionnaires: versions, refusals that name the path of the
fault with nothing half-saved, and a preview over current profiles."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.bus import RecordingPublisher
from services.segments.adapters.dynamodb import DynamoSegments
from services.segments.use_cases import record_activity
from tests.conftest import Api
from tests.integration.segments.conftest import activity, catalog_of
from tests.segments_seed import questionnaire

PROBLEM = "application/problem+json"
RECIPES = {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]}
PLAN = {
    "name": "Engagement",
    "rules": [{"name": "buy", "activity": {"event": "Order Completed"}, "points": 50}],
    "tiers": [{"name": "cold"}, {"name": "warm", "min": 10}, {"name": "hot", "min": 50}],
}


def refused(reply: Any, *fields: str) -> dict[str, str]:
    assert reply.status == 400, reply.body
    assert reply.content_type.startswith(PROBLEM)
    found = {e["field"]: e["message"] for e in reply.body["errors"]}
    assert set(fields) <= set(found), found
    return found


@pytest.fixture(scope="module")
def plan_id(api: Api) -> str:
    reply = api.admin("POST", "/v1/scoring/plans", PLAN)
    assert reply.status == 201, reply.body
    return str(reply.body["planId"])


def test_a_segment_is_versioned_and_its_history_kept(api: Api) -> None:
    # Given a segment
    created = api.admin(
        "POST", "/v1/segments", {"name": "Readers", "condition": {"behaviour": RECIPES, "op": "atLeast", "value": 1}}
    )
    assert created.status == 201, created.body
    segment_id = created.body["segmentId"]
    assert created.body["version"] == 1
    assert created.body["backfill"]["status"] in ("running", "done")

    # When it is changed (knowing its version), then changed again with a stale version
    changed = api.admin(
        "PUT",
        f"/v1/segments/{segment_id}",
        {
            "name": "Keen readers",
            "expectedVersion": 1,
            "condition": {"behaviour": RECIPES, "op": "atLeast", "value": 3, "withinDays": 7},
        },
    )
    stale = api.admin(
        "PUT",
        f"/v1/segments/{segment_id}",
        {"name": "x", "expectedVersion": 1, "condition": {"behaviour": RECIPES, "op": "never"}},
    )

    # Then version 2 is current, the stale change is a 409, and both versions are in the history
    assert changed.status == 200, changed.body
    assert changed.body["version"] == 2
    assert stale.status == 409 and stale.body["errors"][0]["field"] == "expectedVersion"
    current = api.admin("GET", f"/v1/segments/{segment_id}").body
    assert (current["name"], current["version"]) == ("Keen readers", 2)
    assert current["backfill"]["segmentVersion"] == 2
    history = api.admin("GET", f"/v1/segments/{segment_id}/versions").body["versions"]
    assert [(v["version"], v["name"]) for v in history] == [(1, "Readers"), (2, "Keen readers")]
    assert segment_id in [s["segmentId"] for s in api.admin("GET", "/v1/segments").body["segments"]]


def test_invalid_definitions_are_refused_with_their_paths_and_nothing_is_saved(
    api: Api, repo: DynamoSegments, plan_id: str
) -> None:
    generation = repo.generation()
    before = api.admin("GET", "/v1/segments").body["segments"]

    refused(
        api.admin(
            "POST",
            "/v1/segments",
            {
                "name": "x",
                "condition": {
                    "all": [
                        {"trait": "age", "op": "gte", "value": 18},
                        {
                            "any": [
                                {"behaviour": RECIPES, "op": "atLeast", "value": 2, "withinDays": 400},
                                {"score": plan_id, "op": "gte", "value": "fifty"},
                            ]
                        },
                        {"tier": plan_id, "op": "atLeast", "value": "lukewarm"},
                        {"inSegment": "no-such-segment"},
                        {"environment": "deviceType", "op": "equals", "value": "phone"},
                    ]
                },
            },
        ),
        "condition.all[1].any[0].withinDays",
        "condition.all[1].any[1].value",
        "condition.all[2].value",
        "condition.all[3].inSegment",
        "condition.all[4].value",
    )
    refused(api.admin("POST", "/v1/segments", {"name": "x", "condition": "everyone"}), "condition")
    refused(
        api.admin("POST", "/v1/segments", {"name": "x", "condition": {"trait": "a", "op": "like", "value": 1}}),
        "condition.op",
    )
    refused(api.admin("POST", "/v1/segments", {"condition": {"trait": "a", "op": "exists"}}), "name")
    refused(
        api.admin(
            "POST",
            "/v1/scoring/plans",
            {**PLAN, "rules": [{"name": "buy", "activity": {"event": "X"}, "points": 5, "maxPerDay": -1}]},
        ),
        "rules[0].maxPerDay",
    )
    bad_key = questionnaire()
    bad_key["key"]["segments"][3]["centroid"][0] = 8
    refused(api.admin("POST", "/v1/questionnaires", bad_key), "key.segments[3].centroid[0]")

    # And nothing was written: same segments, same definitions generation
    assert api.admin("GET", "/v1/segments").body["segments"] == before
    assert repo.generation() == generation


def test_a_plan_cannot_drop_a_tier_a_segment_still_names(api: Api, plan_id: str) -> None:
    hot = api.admin(
        "POST", "/v1/segments", {"name": "Hot", "condition": {"tier": plan_id, "op": "equals", "value": "hot"}}
    )
    assert hot.status == 201, hot.body
    fewer_tiers = {**PLAN, "tiers": [{"name": "cold"}, {"name": "warm", "min": 10}]}
    message = refused(api.admin("PUT", f"/v1/scoring/plans/{plan_id}", fewer_tiers), "tiers")["tiers"]
    assert hot.body["segmentId"] in message
    renamed = api.admin("PUT", f"/v1/scoring/plans/{plan_id}", {**PLAN, "name": "Engagement v2"})
    assert renamed.status == 200 and renamed.body["version"] == 2
    assert api.admin("GET", f"/v1/scoring/plans/{plan_id}").body["name"] == "Engagement v2"


def test_unknown_definitions_are_404(api: Api) -> None:
    for path in ("/v1/segments/nope", "/v1/scoring/plans/nope", "/v1/questionnaires/nope", "/v1/segments/nope/sizes"):
        reply = api.admin("GET", path)
        assert reply.status == 404, (path, reply.body)


def test_a_questionnaire_is_defined_with_its_key(api: Api) -> None:
    created = api.admin("POST", "/v1/questionnaires", questionnaire())
    assert created.status == 201, created.body
    fetched = api.admin("GET", f"/v1/questionnaires/{created.body['questionnaireId']}").body
    assert len(fetched["questions"]) == 8
    assert len(fetched["key"]["segments"]) == 6


def test_a_preview_counts_and_samples_current_profiles_without_saving(
    cloud: Any, api: Api, repo: DynamoSegments
) -> None:
    # Given a recipe segment and three profiles, two of which read a recipe
    reply = api.admin(
        "POST", "/v1/segments", {"name": "Any recipe", "condition": {"behaviour": RECIPES, "op": "atLeast", "value": 1}}
    )
    assert reply.status == 201
    cloud.settle()
    catalog = catalog_of(repo)
    for profile, path in (("pv-1", "/recipes/a"), ("pv-2", "/recipes/b"), ("pv-3", "/about")):
        record_activity(activity(profile, "m1", path=path), repo, RecordingPublisher(), catalog)
    segments_before = len(api.admin("GET", "/v1/segments").body["segments"])

    # When the marketer previews "read a recipe, and visited from the Netherlands" and "read a recipe"
    preview = api.admin(
        "POST",
        "/v1/segments/preview",
        {"condition": {"behaviour": RECIPES, "op": "atLeast", "value": 1}, "sampleSize": 5},
    )
    nobody = api.admin(
        "POST",
        "/v1/segments/preview",
        {
            "condition": {
                "all": [
                    {"behaviour": RECIPES, "op": "atLeast", "value": 1},
                    {"environment": "country", "op": "equals", "value": "NL"},
                ]
            }
        },
    )

    # Then the counts and samples are over current profiles, and nothing was saved
    assert preview.status == 200, preview.body
    assert {"pv-1", "pv-2"} <= set(preview.body["sample"])
    assert "pv-3" not in preview.body["sample"]
    assert preview.body["complete"] is True and preview.body["count"] >= 2
    assert nobody.body["count"] == 0
    assert len(api.admin("GET", "/v1/segments").body["segments"]) == segments_before
    refused(
        api.admin("POST", "/v1/segments/preview", {"condition": {"all": [{"trait": "x", "op": "gte"}]}}),
        "condition.all[0].value",
    )
