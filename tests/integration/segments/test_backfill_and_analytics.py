"""Backfill of a new or changed segment over existing profiles (progress through the API), and the analytics
API: sizes per day, overlap, the engagement pyramid, movements between questionnaire segments."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.common.bus import RecordingPublisher
from services.common.contracts.segments import SegmentBackfillRequested
from services.segments.adapters.dynamodb import DynamoSegments
from services.segments.domain.profiles import ProfileState
from services.segments.use_cases import run_backfill_page
from tests.conftest import Api
from tests.integration.segments.conftest import Tap, activity, catalog_of
from tests.segments_seed import answers_like, questionnaire

RECIPES = {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]}
READ_ONE = {"behaviour": RECIPES, "op": "atLeast", "value": 1, "withinDays": 30}
PLAN = {
    "name": "Engagement",
    "rules": [{"name": "buy", "activity": {"event": "Order Completed"}, "points": 60}],
    "tiers": [{"name": "cold"}, {"name": "warm", "min": 10}, {"name": "hot", "min": 50}],
}


@pytest.fixture(scope="module")
def readers(cloud: Any, api: Api, bus: Any) -> dict[str, Any]:
    """Given a recipe-readers segment and six profiles: four read recipes (two of them twice), two did not."""
    segment = api.admin("POST", "/v1/segments", {"name": "Readers", "condition": READ_ONE}).body["segmentId"]
    cloud.settle()
    now = cloud.clock.now()
    envelopes = []
    for i in range(6):
        views = 2 if i < 2 else 1 if i < 4 else 0
        envelopes += [activity(f"bf-{i}", f"r{j}", at=now, path=f"/recipes/{j}") for j in range(views)]
        envelopes.append(activity(f"bf-{i}", "home", at=now, path="/"))
    bus.publish(envelopes)
    cloud.settle()
    return {"readers": segment, "profiles": [f"bf-{i}" for i in range(6)]}


def test_a_new_segment_is_backfilled_over_existing_profiles_with_progress_visible(
    cloud: Any, api: Api, repo: DynamoSegments, readers: dict[str, Any], tap: Tap
) -> None:
    # When the marketer defines "read recipes twice" and "readers who are not keen" (on the same recipe views)
    keen = api.admin("POST", "/v1/segments", {"name": "Keen", "condition": {**READ_ONE, "value": 2}})
    assert keen.status == 201, keen.body
    keen_id = keen.body["segmentId"]
    cloud.settle()

    # Then the existing profiles were evaluated asynchronously: the two keen readers entered, once each
    progress = api.admin("GET", f"/v1/segments/{keen_id}").body["backfill"]
    assert progress["status"] == "done", progress
    assert progress["processed"] >= 6 and progress["changed"] == 2 and progress["partsDone"] == progress["parts"]
    entered = [e for e in tap.drain() if e["type"] == "SegmentEntered" and e["data"]["segmentId"] == keen_id]
    assert sorted(e["data"]["profileId"] for e in entered) == ["bf-0", "bf-1"]

    # When it is changed to "at least once": a new backfill (new version) moves the other two readers in
    changed = api.admin("PUT", f"/v1/segments/{keen_id}", {"name": "Keen", "condition": READ_ONE})
    assert changed.status == 200
    cloud.settle()
    progress = api.admin("GET", f"/v1/segments/{keen_id}").body["backfill"]
    assert (progress["segmentVersion"], progress["status"], progress["changed"]) == (2, "done", 2)
    members = {p for p in readers["profiles"] if keen_id in ProfileState.from_json(repo.rollup(p).state).members}
    assert members == {"bf-0", "bf-1", "bf-2", "bf-3"}
    assert cloud.dead_letters() == {}


def test_a_backfill_pages_through_its_part_and_a_redelivered_page_counts_once(
    cloud: Any, api: Api, repo: DynamoSegments, readers: dict[str, Any]
) -> None:
    # Given a new segment whose backfill requests are played by hand, two profiles per page
    created = api.admin("POST", "/v1/segments", {"name": "Non-readers", "condition": {"not": READ_ONE}}).body
    cloud.settle()
    backfill_id = "manual-backfill"
    repo.start_backfill(created["segmentId"], backfill_id, 1, 1, "2026-03-02T09:00:00.000Z")
    publisher = RecordingPublisher()
    request = SegmentBackfillRequested(
        segmentId=created["segmentId"], segmentVersion=1, backfillId=backfill_id, part=0, parts=1
    )
    from services.common.contracts import envelope

    pages = 0
    message = envelope(request)
    while message is not None:
        run_backfill_page(message, repo, publisher, lambda _: catalog_of(repo), page_size=2)
        if pages == 0:
            run_backfill_page(message, repo, publisher, lambda _: catalog_of(repo), page_size=2)  # redelivered
        pages += 1
        following = [e for e in publisher.published if e.detail_type == "SegmentBackfillRequested"]
        message = following[-1] if following and following[-1].data.page == pages else None

    # Then every profile was visited once, over several pages, and the progress counts each page once
    progress = repo.backfill(created["segmentId"])
    assert progress is not None
    rollups = len(repo.scan_rollups(0, 1, None, 1000)[0])
    assert progress["processed"] == rollups and progress["pages"] == pages > 2
    assert progress["status"] == "done"


def test_the_analytics_api_reports_sizes_overlap_pyramid_and_movements(
    cloud: Any, api: Api, bus: Any, readers: dict[str, Any]
) -> None:
    # Given a plan with tiers, a "hot" segment on it, and a questionnaire
    plan = api.admin("POST", "/v1/scoring/plans", PLAN).body["planId"]
    hot = api.admin(
        "POST", "/v1/segments", {"name": "Hot", "condition": {"tier": plan, "op": "atLeast", "value": "hot"}}
    ).body["segmentId"]
    food = api.admin("POST", "/v1/questionnaires", questionnaire()).body["questionnaireId"]
    cloud.settle()

    # When two readers buy, and one of them answers the questionnaire twice (explorer, then time-saver)
    now = cloud.clock.now()
    bus.publish([activity(p, "buy", at=now, kind="track", event="Order Completed") for p in ("bf-0", "bf-2")])
    cloud.settle()
    for index, key in enumerate(("explorer", "time-saver")):
        bus.publish(
            [
                activity(
                    "bf-0",
                    f"quiz{index}",
                    at=now,
                    kind="track",
                    event="Questionnaire Answered",
                    properties={"questionnaireId": food, "answers": answers_like(key)},
                )
            ]
        )
        cloud.settle()

    # Then today's size of the readers segment counts its four readers
    today = now.date().isoformat()
    sizes = api.admin("GET", f"/v1/segments/{readers['readers']}/sizes?from={today}&to={today}")
    assert sizes.status == 200, sizes.body
    assert sizes.body["days"] == [{"date": today, "size": 4, "entered": 4, "exited": 0}]

    # And the overlap of readers and hot profiles is the two buyers
    overlap = api.admin("GET", f"/v1/segments/overlap?segmentIds={readers['readers']},{hot}").body
    assert overlap["matrix"] == [[4, 2], [2, 2]]

    # And the pyramid has the two buyers at the top
    pyramid = api.admin("GET", f"/v1/scoring/plans/{plan}/pyramid").body
    assert [(t["tier"], t["profiles"]) for t in pyramid["tiers"]] == [("hot", 2), ("warm", 0), ("cold", 0)]
    yesterday = (now.date() - dt.timedelta(days=1)).isoformat()
    per_day = api.admin("GET", f"/v1/scoring/plans/{plan}/pyramid?from={yesterday}&to={today}").body["days"]
    assert per_day == [  # over time: nobody was scored yesterday, the two buyers went hot today
        {"date": yesterday, "tiers": {"hot": 0, "warm": 0, "cold": 0}},
        {"date": today, "tiers": {"hot": 2, "warm": 0, "cold": 0}},
    ]
    assert api.admin("GET", f"/v1/scoring/plans/{plan}/pyramid?days=2").body["days"] == per_day

    # And the movements show the first answer and the change of mind
    moves = api.admin("GET", f"/v1/questionnaires/{food}/movements?from={today}").body
    assert moves["movements"] == [
        {"from": "explorer", "to": "time-saver", "profiles": 1},
        {"from": "unanswered", "to": "explorer", "profiles": 1},
    ]
    assert moves["sizes"]["time-saver"] == 1 and moves["sizes"]["explorer"] == 0

    # And a profile's own view shows its segments, score and questionnaire segment
    mine = api.admin("GET", "/v1/segments/memberships/bf-0").body
    assert {readers["readers"], hot} <= {s["segmentId"] for s in mine["segments"]}
    assert mine["scores"][plan] == {"score": 60.0, "tier": "hot"}
    assert mine["questionnaires"][food]["segment"] == "time-saver"

    # And bad ranges are refused naming the parameter
    assert api.admin("GET", f"/v1/segments/{hot}/sizes?from=2026-03-10&to=2026-03-01").status == 400
    assert api.admin("GET", f"/v1/segments/{hot}/sizes?from=yesterday").body["errors"][0]["field"] == "from"
