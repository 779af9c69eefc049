"""Merges on the local cloud: when identity folds an anonymous profile into a known one, its history counts for the
survivor — announced exactly once, redeliveries and racing activity included — the folded profile leaves its
segments and the sizes stay right; an un-merge gives the history back; erasing the survivor leaves nothing of
either."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from services.common.bus import PublishFailed, RecordingPublisher
from services.common.contracts import envelope
from services.common.contracts.identity import ProfilesUnmerged
from services.common.contracts.registry import ProfileErased, ProfilesMerged, ProfileUpdated
from services.segments.adapters.dynamodb import DynamoSegments
from services.segments.domain.profiles import ProfileState
from services.segments.use_cases import fold_profiles, record_activity, record_profile_update, unfold_profiles
from services.segments.use_cases.privacy import export
from tests.conftest import Api
from tests.integration.segments.conftest import Tap, activity, catalog_of
from tests.integration.segments.test_real_time import DiesAfterTheWrite, entries

RECIPES = {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]}


@pytest.fixture(scope="module")
def definitions(cloud: Any, api: Api) -> dict[str, str]:
    """Given a recipe segment (2 views in 14 days), a visitors segment (any page) and an engagement plan."""
    recipes = api.admin(
        "POST",
        "/v1/segments",
        {"name": "Recipe readers", "condition": {"behaviour": RECIPES, "op": "atLeast", "value": 2, "withinDays": 14}},
    )
    visitors = api.admin(
        "POST",
        "/v1/segments",
        {"name": "Visitors", "condition": {"behaviour": {"type": "page"}, "op": "atLeast", "value": 1}},
    )
    plan = api.admin(
        "POST",
        "/v1/scoring/plans",
        {
            "name": "Engagement",
            "rules": [{"name": "recipe-view", "activity": RECIPES, "points": 5, "maxPerDay": 10}],
            "tiers": [{"name": "cold"}, {"name": "warm", "min": 10}],
        },
    )
    assert recipes.status == visitors.status == plan.status == 201, (recipes.body, visitors.body, plan.body)
    cloud.settle()
    return {
        "recipes": recipes.body["segmentId"],
        "visitors": visitors.body["segmentId"],
        "plan": plan.body["planId"],
    }


def merged(survivor: str, folded: str, merge_id: str) -> Any:
    """ProfilesMerged as identity publishes it (its id derived from the merge)."""
    return envelope(
        ProfilesMerged(survivingProfileId=survivor, mergedProfileId=folded, reason="identify", mergeId=merge_id),
        id=f"merged-{merge_id}",
    )


def unmerged(survivor: str, restored: str, merge_id: str) -> Any:
    return envelope(
        ProfilesUnmerged(survivingProfileId=survivor, restoredProfileId=restored, mergeId=merge_id),
        id=f"unmerged-{merge_id}",
    )


def sizes(repo: DynamoSegments, definitions: dict[str, str]) -> dict[str, int]:
    counters = repo.current_counters()
    return {name: counters.get(f"size|{definitions[name]}", 0) for name in ("recipes", "visitors")}


def transitions(tap: Tap, profile_id: str) -> list[tuple[str, str]]:
    return [(e["type"], e["data"]["segmentId"]) for e in tap.of(profile_id, "SegmentEntered", "SegmentExited")]


def recipe_views(repo: DynamoSegments, profile_id: str) -> int:
    counters = ProfileState.from_json(repo.rollup(profile_id).state).counters
    return max((c.total for c in counters.values()), default=0)


def test_a_merge_brings_the_anonymous_history_to_the_known_profile_exactly_once(
    cloud: Any, bus: Any, repo: DynamoSegments, definitions: dict[str, str], tap: Tap
) -> None:
    # Given a recipe read anonymously on the phone, and one read by the known profile on the laptop
    now = cloud.clock.now()
    bus.publish(
        [activity("bus-phone", "p1", at=now, path="/recipes/a"), activity("bus-ana", "l1", at=now, path="/recipes/b")]
    )
    cloud.settle()
    before = sizes(repo, definitions)
    assert transitions(tap, "bus-ana") == [("SegmentEntered", definitions["visitors"])]

    # When identity folds the phone's profile into hers — and the queue delivers that twice, then once more later
    bus.publish([merged("bus-ana", "bus-phone", "merge-1"), merged("bus-ana", "bus-phone", "merge-1")])
    cloud.settle()
    bus.publish([merged("bus-ana", "bus-phone", "merge-1")])
    cloud.settle()

    # Then she read two recipes: she entered the recipe segment once, and the phone's profile left its segment once
    assert transitions(tap, "bus-ana") == [
        ("SegmentEntered", definitions["visitors"]),
        ("SegmentEntered", definitions["recipes"]),
    ]
    assert transitions(tap, "bus-phone") == [
        ("SegmentEntered", definitions["visitors"]),
        ("SegmentExited", definitions["visitors"]),
    ]
    assert recipe_views(repo, "bus-ana") == 2
    scores = {e["data"]["score"] for e in tap.of("bus-ana", "ScoreChanged")}
    assert 10.0 in scores
    [crossing] = tap.of("bus-ana", "ScoreThresholdCrossed")
    assert crossing["data"]["tier"] == "warm"
    # and the sizes count one person: one more recipe reader, one visitor fewer
    assert sizes(repo, definitions) == {"recipes": before["recipes"] + 1, "visitors": before["visitors"] - 1}
    folded = repo.rollup("bus-phone")
    assert folded.folded is not None and folded.folded.into == "bus-ana" and folded.state == {}
    assert repo.rollup("bus-ana").outbox == []
    assert cloud.dead_letters() == {}


def test_an_activity_in_flight_for_the_folded_profile_counts_for_the_survivor_once(
    repo: DynamoSegments, definitions: dict[str, str]
) -> None:
    # Given the phone's first recipe view, folded into Ana's profile
    catalog = catalog_of(repo)
    publisher = RecordingPublisher()
    first = activity("fly-phone", "p1", path="/recipes/a")
    record_activity(first, repo, publisher, catalog)
    record_profile_update(
        envelope(ProfileUpdated(profileId="fly-ana", changed={"country": "NL"})), repo, publisher, catalog
    )
    fold_profiles(merged("fly-ana", "fly-phone", "merge-fly"), repo, publisher, catalog)

    # When a second view, recorded on the phone's profile just before the merge, arrives after it — twice — and
    # the first one is redelivered too
    second = activity("fly-phone", "p2", path="/recipes/b")
    record_activity(second, repo, publisher, catalog)
    record_activity(second, repo, publisher, catalog)
    record_activity(first, repo, publisher, catalog)

    # Then Ana read two recipes and entered the segment once; the phone's profile was not brought back
    assert recipe_views(repo, "fly-ana") == 2
    assert entries([e for e in publisher.published if e.data.profile_id == "fly-ana"]) == [
        definitions["visitors"],
        definitions["recipes"],
    ]
    assert repo.rollup("fly-phone").folded is not None
    assert repo.rollup("fly-phone").state == {}


@pytest.mark.usefixtures("definitions")  # the segments and plan its counts come from
def test_a_fold_racing_activity_on_either_profile_loses_nothing(repo: DynamoSegments) -> None:
    # Given a recipe view on each profile
    catalog = catalog_of(repo)
    publisher = RecordingPublisher()
    record_activity(activity("race-phone", "p1", path="/recipes/a"), repo, publisher, catalog)
    record_activity(activity("race-ana", "l1", path="/recipes/b"), repo, publisher, catalog)

    class Racing:
        """The real adapter; just before the fold's first write, another consumer records an activity on the
        phone's profile and one on Ana's."""

        def __init__(self) -> None:
            self.raced = False

        def __getattr__(self, name: str) -> Any:
            return getattr(repo, name)

        def save_rollups(self, writes: Any) -> None:
            if not self.raced:
                self.raced = True
                record_activity(activity("race-phone", "p2", path="/recipes/c"), repo, publisher, catalog)
                record_activity(activity("race-ana", "l2", path="/recipes/d"), repo, publisher, catalog)
            repo.save_rollups(writes)

    # When the fold's write loses to them
    fold_profiles(merged("race-ana", "race-phone", "merge-race"), Racing(), publisher, catalog)  # type: ignore[arg-type]

    # Then it read both again: all four views count for Ana
    assert recipe_views(repo, "race-ana") == 4
    assert repo.rollup("race-phone").folded is not None


def test_a_fold_written_but_not_published_is_published_once_by_the_redelivery(
    repo: DynamoSegments, definitions: dict[str, str]
) -> None:
    catalog = catalog_of(repo)
    publisher = RecordingPublisher()
    record_activity(activity("dead-phone", "p1", path="/recipes/a"), repo, publisher, catalog)
    record_activity(activity("dead-ana", "l1", path="/recipes/b"), repo, publisher, catalog)
    publisher.published.clear()

    # When the consumer writes the fold and dies before publishing
    with pytest.raises(PublishFailed):
        fold_profiles(merged("dead-ana", "dead-phone", "merge-dead"), repo, DiesAfterTheWrite(), catalog)
    assert len(repo.rollup("dead-ana").outbox) == 3  # her entry and tier crossing, the phone's exit

    # Then the redelivery publishes both, once; a further one nothing
    fold_profiles(merged("dead-ana", "dead-phone", "merge-dead"), repo, publisher, catalog)
    fold_profiles(merged("dead-ana", "dead-phone", "merge-dead"), repo, publisher, catalog)
    moves = [(e.detail_type, e.data.profile_id) for e in publisher.published if "Segment" in e.detail_type]
    assert moves == [("SegmentEntered", "dead-ana"), ("SegmentExited", "dead-phone")]
    assert repo.rollup("dead-ana").outbox == []


def test_an_unmerge_gives_the_phone_its_history_back(
    cloud: Any, bus: Any, repo: DynamoSegments, definitions: dict[str, str], tap: Tap
) -> None:
    # Given the phone's recipe folded into Ana's profile, which made her a recipe reader
    now = cloud.clock.now()
    bus.publish(
        [activity("un-phone", "p1", at=now, path="/recipes/a"), activity("un-ana", "l1", at=now, path="/recipes/b")]
    )
    cloud.settle()
    before = sizes(repo, definitions)
    bus.publish([merged("un-ana", "un-phone", "merge-un")])
    cloud.settle()
    assert recipe_views(repo, "un-ana") == 2

    # When an admin undoes the merge (delivered twice), and the merge itself is delivered late once more
    bus.publish([unmerged("un-ana", "un-phone", "merge-un"), unmerged("un-ana", "un-phone", "merge-un")])
    cloud.settle()
    bus.publish([merged("un-ana", "un-phone", "merge-un")])
    cloud.settle()

    # Then each is on its own again: Ana left the recipe segment, the phone's profile is a visitor again
    assert recipe_views(repo, "un-ana") == 1
    assert recipe_views(repo, "un-phone") == 1
    assert transitions(tap, "un-ana") == [
        ("SegmentEntered", definitions["visitors"]),
        ("SegmentEntered", definitions["recipes"]),
        ("SegmentExited", definitions["recipes"]),
    ]
    assert transitions(tap, "un-phone") == [
        ("SegmentEntered", definitions["visitors"]),
        ("SegmentExited", definitions["visitors"]),
        ("SegmentEntered", definitions["visitors"]),
    ]
    assert sizes(repo, definitions) == before
    assert cloud.dead_letters() == {}


@pytest.mark.usefixtures("definitions")  # the segments and plan its counts come from
def test_an_unmerge_before_its_merge_arrived_keeps_the_merge_from_folding_later(repo: DynamoSegments) -> None:
    catalog = catalog_of(repo)
    publisher = RecordingPublisher()
    record_activity(activity("late-phone", "p1", path="/recipes/a"), repo, publisher, catalog)
    unfold_profiles(unmerged("late-ana", "late-phone", "merge-late"), repo, publisher, catalog)
    fold_profiles(merged("late-ana", "late-phone", "merge-late"), repo, publisher, catalog)
    assert repo.rollup("late-phone").folded is None
    assert recipe_views(repo, "late-phone") == 1
    assert repo.rollup("late-ana").version == 0


@pytest.mark.usefixtures("definitions")  # the segments and plan its counts come from
def test_a_folded_profile_is_exported_with_the_share_kept_for_an_unmerge(repo: DynamoSegments) -> None:
    catalog = catalog_of(repo)
    publisher = RecordingPublisher()
    record_activity(activity("exp-phone", "p1", path="/recipes/a"), repo, publisher, catalog)
    fold_profiles(merged("exp-ana", "exp-phone", "merge-exp"), repo, publisher, catalog)
    parts = {p["profileId"]: p for p in export(repo, catalog, ["exp-ana", "exp-phone"])["profiles"]}
    phone = parts["exp-phone"]
    assert (phone["foldedInto"], phone["mergeId"]) == ("exp-ana", "merge-exp")
    assert [
        b["total"] for b in phone["asFolded"]["behaviour"] if b["filter"]["type"] == "page" and b["filter"].get("where")
    ] == [1]
    assert phone["keptUntil"] > phone["foldedAt"]
    assert [b["total"] for b in parts["exp-ana"]["behaviour"] if b["filter"].get("where")] == [1]


def test_erasing_the_survivor_after_a_merge_leaves_nothing_of_either(
    cloud: Any, bus: Any, repo: DynamoSegments, definitions: dict[str, str]
) -> None:
    # Given the phone's profile folded into Ana's
    now = cloud.clock.now()
    before = sizes(repo, definitions)
    bus.publish(
        [activity("gone-phone", "p1", at=now, path="/recipes/a"), activity("gone-ana", "l1", at=now, path="/recipes/b")]
    )
    cloud.settle()
    bus.publish([merged("gone-ana", "gone-phone", "merge-gone")])
    cloud.settle()
    assert recipe_views(repo, "gone-ana") == 2

    # When Ana asks for erasure (identity names every profile merged into hers), and then the merge and an
    # activity of the phone's come late
    bus.publish([envelope(ProfileErased(profileId="gone-ana", profileIds=["gone-ana", "gone-phone"]))])
    cloud.settle()
    bus.publish(
        [merged("gone-ana", "gone-phone", "merge-gone"), activity("gone-phone", "p2", at=now, path="/recipes/c")]
    )
    cloud.settle()

    # Then no item of the table mentions either profile, and the sizes are as before them
    client = boto3.client("dynamodb", region_name=cloud.region)
    table = cloud.table_name("segments", "segments")
    items = [i for page in client.get_paginator("scan").paginate(TableName=table) for i in page["Items"]]
    assert [i["pk"] for i in items if "gone-ana" in json.dumps(i) or "gone-phone" in json.dumps(i)] == []
    assert sizes(repo, definitions) == before
    assert cloud.dead_letters() == {}
