"""Segments use cases over the in-memory table (no moto, no sockets): definitions saved by the admin use case,
profiles entering and leaving segments on activity, trait changes and the passage of time, each change announced
once, no view lost between concurrent consumers, erasure, and a backfill over the profiles that exist already."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from services.common.bus import RecordingPublisher
from services.common.conditions.faults import InvalidDefinition
from services.common.contracts import Envelope, envelope
from services.common.contracts.registry import ActivityRecorded, ProfileErased, ProfileUpdated
from services.segments.adapters.memory import MemorySegments
from services.segments.domain.catalog import Catalog, build
from services.segments.domain.profiles import ProfileState
from services.segments.use_cases import (
    erase_profile,
    record_activity,
    record_profile_update,
    run_backfill_page,
    sweep,
)
from services.segments.use_cases.analytics import memberships
from services.segments.use_cases.definitions import VersionConflict, save, segment_view
from tests.unit.clocks import Moment, frozen_at

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
RECIPES = {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]}
RECIPE_READERS: dict[str, Any] = {
    "name": "Recipe readers",
    "condition": {"behaviour": RECIPES, "op": "atLeast", "value": 2, "withinDays": 14},
}
DUTCH = {"name": "Dutch", "condition": {"trait": "country", "op": "equals", "value": "NL"}}
ENGAGEMENT = {
    "name": "Engagement",
    "rules": [{"name": "buy", "activity": {"event": "Order Completed"}, "points": 50}],
    "tiers": [{"name": "cold"}, {"name": "warm", "min": 10}, {"name": "hot", "min": 50}],
}


# ---- the world: a clock, the memory table, the bus, saved definitions ---------------------------------------


@pytest.fixture
def moment() -> Iterator[Moment]:
    with frozen_at(NOW) as now:
        yield now


@dataclass
class World:
    repo: MemorySegments = field(default_factory=MemorySegments)
    bus: RecordingPublisher = field(default_factory=RecordingPublisher)
    ids: dict[str, str] = field(default_factory=dict)

    def define(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """A marketer saves a definition through the admin use case."""
        saved = save(kind, body, self.repo, self.bus)
        self.ids[body["name"]] = saved[f"{kind}Id"]
        return saved

    def catalog(self) -> Catalog:
        found = self.repo.definitions()
        return build(found.segments, found.plans, found.questionnaires, found.generation)

    def views(self, profile_id: str, *paths: str, at: dt.datetime = NOW) -> None:
        for path in paths:
            record_activity(page_view(profile_id, path, at), self.repo, self.bus, self.catalog())

    def announced(self, *types: str) -> list[tuple[str, str]]:
        """(type, segment name) of the membership changes published, in order."""
        names = {v: k for k, v in self.ids.items()}
        return [(e.detail_type, names[e.data.segment_id]) for e in self.bus.published if e.detail_type in types]

    def segments_of(self, profile_id: str) -> list[str]:
        names = {v: k for k, v in self.ids.items()}
        found = memberships(self.repo, self.catalog(), profile_id)["segments"]
        return [names[s["segmentId"]] for s in found]

    def size(self, name: str) -> int:
        return int(segment_view(self.repo, self.ids[name])["size"])


@pytest.fixture
def world(moment: Moment) -> World:
    """Given the recipe readers (2 recipe views within 14 days), the Dutch, and an engagement plan."""
    found = World()
    found.define("segment", RECIPE_READERS)
    found.define("segment", DUTCH)
    found.define("plan", ENGAGEMENT)
    found.bus.published.clear()  # the backfill requests of the saves
    return found


def page_view(profile_id: str, path: str, at: dt.datetime = NOW) -> Envelope[ActivityRecorded]:
    """A page view as identity announces it; the same path is the same message (a redelivery)."""
    message_id = f"m-{path}"
    return envelope(
        ActivityRecorded(
            profileId=profile_id, messageId=message_id, type="page", properties={"path": path}, timestamp=at
        ),
        id=f"activity-{profile_id}-{message_id}",
    )


def order(profile_id: str) -> Envelope[ActivityRecorded]:
    return envelope(
        ActivityRecorded(profileId=profile_id, messageId="o-1", type="track", event="Order Completed", timestamp=NOW),
        id=f"activity-{profile_id}-o-1",
    )


def traits(profile_id: str, **changed: Any) -> Envelope[ProfileUpdated]:
    return envelope(ProfileUpdated(profileId=profile_id, changed=changed))


# ---- definitions ---------------------------------------------------------------------------------------------


def test_a_saved_segment_is_versioned_and_backfilled_at_once(moment: Moment) -> None:
    world = World()
    created = world.define("segment", RECIPE_READERS)
    assert created["version"] == 1
    assert created["backfill"]["status"] == "running"
    requested = [e for e in world.bus.published if e.detail_type == "SegmentBackfillRequested"]
    assert {e.data.part for e in requested} == set(range(created["backfill"]["parts"]))

    # When the marketer widens it, from the version they read
    wider = {**RECIPE_READERS, "condition": {**RECIPE_READERS["condition"], "withinDays": 30}}
    changed = save("segment", wider, world.repo, world.bus, created["segmentId"], expected_version=1)

    # Then it is version 2, the history keeps both, and an edit of version 1 is refused
    assert changed["version"] == 2
    assert [v["version"] for v in world.repo.history("segment", created["segmentId"])] == [1, 2]
    with pytest.raises(VersionConflict):
        save("segment", RECIPE_READERS, world.repo, world.bus, created["segmentId"], expected_version=1)
    assert world.catalog().generation == 2


def test_an_invalid_segment_is_refused_and_nothing_is_saved(world: World) -> None:
    before = world.repo.definitions()
    with pytest.raises(InvalidDefinition) as refused:
        world.define("segment", {"name": "x", "condition": {"trait": "a", "op": "like", "value": 1}})
    assert [f.path for f in refused.value.faults] == ["condition.op"]
    assert world.repo.definitions() == before
    assert world.bus.published == []


# ---- real time -----------------------------------------------------------------------------------------------


def test_a_second_recipe_view_enters_the_segment_and_announces_it_once(world: World) -> None:
    world.views("p-ana", "/recipes/pancakes")
    assert world.announced("SegmentEntered") == []

    world.views("p-ana", "/recipes/waffles", "/about")

    assert world.announced("SegmentEntered") == [("SegmentEntered", "Recipe readers")]
    assert world.segments_of("p-ana") == ["Recipe readers"]
    assert world.size("Recipe readers") == 1


def test_a_redelivered_view_changes_nothing(world: World) -> None:
    world.views("p-ana", "/recipes/pancakes", "/recipes/waffles")
    version = world.repo.rollup("p-ana").version

    # When the queue delivers the second view again
    world.views("p-ana", "/recipes/waffles")

    # Then the entry is not announced again, and the views are counted once
    assert world.announced("SegmentEntered") == [("SegmentEntered", "Recipe readers")]
    assert world.repo.rollup("p-ana").version == version
    state = ProfileState.from_json(world.repo.rollup("p-ana").state)
    assert [c.total for c in state.counters.values()] == [2]
    assert world.size("Recipe readers") == 1


def test_a_redelivered_purchase_announces_the_same_score_again_and_counts_once(world: World) -> None:
    record_activity(order("p-bo"), world.repo, world.bus, world.catalog())
    record_activity(order("p-bo"), world.repo, world.bus, world.catalog())

    changes = [e for e in world.bus.published if e.detail_type == "ScoreChanged"]
    assert len(changes) == 2
    assert changes[0].id == changes[1].id  # the same event: consumers drop the second
    assert changes[0].data.score == 50
    score = memberships(world.repo, world.catalog(), "p-bo")["scores"][world.ids["Engagement"]]
    assert score == {"score": 50, "tier": "hot"}


def test_a_trait_change_moves_the_profile_in_and_out(world: World) -> None:
    record_profile_update(traits("p-cas", country="NL", firstName="Cas"), world.repo, world.bus, world.catalog())
    assert world.segments_of("p-cas") == ["Dutch"]

    record_profile_update(traits("p-cas", country="BE"), world.repo, world.bus, world.catalog())

    assert world.announced("SegmentEntered", "SegmentExited") == [
        ("SegmentEntered", "Dutch"),
        ("SegmentExited", "Dutch"),
    ]
    assert world.segments_of("p-cas") == []
    assert memberships(world.repo, world.catalog(), "p-cas")["traits"] == {"country": "BE", "firstName": "Cas"}
    assert world.size("Dutch") == 0


def test_two_consumers_of_one_profile_lose_no_view(world: World) -> None:
    # Given a consumer that reads the profile, and another that records a view before the first one writes
    class ReadsBeforeTheOther(MemorySegments):
        meanwhile: Callable[[], Any] | None = None

        def rollup(self, profile_id: str) -> Any:
            stored = super().rollup(profile_id)
            if self.meanwhile is not None:
                other, self.meanwhile = self.meanwhile, None
                other()
            return stored

    repo = ReadsBeforeTheOther()
    for body in (RECIPE_READERS, DUTCH):
        save("segment", body, repo, RecordingPublisher())
    found = repo.definitions()
    catalog = build(found.segments, found.plans, found.questionnaires, found.generation)
    repo.meanwhile = lambda: record_activity(page_view("p-dee", "/recipes/a"), repo, world.bus, catalog)

    # When the first consumer applies its own view
    record_activity(page_view("p-dee", "/recipes/b"), repo, world.bus, catalog)

    # Then both views count (the stale write was refused and re-applied), and the entry is announced once
    state = ProfileState.from_json(repo.rollup("p-dee").state)
    assert [c.total for c in state.counters.values()] == [2]
    assert [e.detail_type for e in world.bus.published] == ["SegmentEntered"]


# ---- time ----------------------------------------------------------------------------------------------------


def test_the_sweep_exits_a_reader_once_the_window_passes(world: World, moment: Moment) -> None:
    world.views("p-eva", "/recipes/a", "/recipes/b")

    # When 13 days pass, the sweep leaves her in; a day later, out, announced once
    moment.advance(13 * DAY)
    sweep(world.repo, world.bus, world.catalog())
    assert world.segments_of("p-eva") == ["Recipe readers"]

    moment.advance(DAY + dt.timedelta(minutes=1))
    figures = sweep(world.repo, world.bus, world.catalog())
    sweep(world.repo, world.bus, world.catalog())

    assert figures["transitions"] == 1
    assert world.announced("SegmentEntered", "SegmentExited") == [
        ("SegmentEntered", "Recipe readers"),
        ("SegmentExited", "Recipe readers"),
    ]
    assert world.segments_of("p-eva") == []
    assert world.size("Recipe readers") == 0


# ---- erasure -------------------------------------------------------------------------------------------------


def test_an_erased_profile_leaves_no_membership_and_no_count_behind(world: World) -> None:
    world.views("p-fay", "/recipes/a", "/recipes/b")
    erased = envelope(ProfileErased(profileId="p-fay", identifiers=["email:fay@example.com"]))

    assert erase_profile(erased, world.repo) is True
    assert erase_profile(erased, world.repo) is False  # a redelivery finds nothing

    assert world.repo.rollup("p-fay").version == 0
    assert world.segments_of("p-fay") == []
    assert world.size("Recipe readers") == 0


def test_a_late_view_of_an_erased_profile_brings_nothing_back(world: World) -> None:
    erase_profile(envelope(ProfileErased(profileId="p-gus")), world.repo)

    world.views("p-gus", "/recipes/a", "/recipes/b")

    assert world.repo.rollup("p-gus").version == 0
    assert world.bus.published == []


# ---- backfill ------------------------------------------------------------------------------------------------


def test_a_new_segment_includes_the_profiles_that_qualified_before_it_existed(world: World) -> None:
    # Given three Belgian profiles and a Dutch one, before any segment names Belgium
    for profile_id, country in (("p-1", "BE"), ("p-2", "BE"), ("p-3", "NL"), ("p-4", "BE")):
        record_profile_update(traits(profile_id, country=country), world.repo, world.bus, world.catalog())
    belgians = world.define(
        "segment", {"name": "Belgians", "condition": {"trait": "country", "op": "equals", "value": "BE"}}
    )

    # When the backfill requests are delivered, page after page (two items a page)
    delivered = 0
    while delivered < len(world.bus.published):
        request = world.bus.published[delivered]
        delivered += 1
        if request.detail_type == "SegmentBackfillRequested":
            run_backfill_page(request, world.repo, world.bus, lambda _: world.catalog(), page_size=2)

    # Then the Belgians entered (announced once each), and the backfill is done
    assert world.announced("SegmentEntered").count(("SegmentEntered", "Belgians")) == 3
    assert [world.segments_of(p) for p in ("p-1", "p-2", "p-3", "p-4")] == [
        ["Belgians"],
        ["Belgians"],
        ["Dutch"],
        ["Belgians"],
    ]
    assert world.size("Belgians") == 3
    progress = segment_view(world.repo, belgians["segmentId"])["backfill"]
    assert (progress["status"], progress["processed"], progress["changed"]) == ("done", 4, 3)
