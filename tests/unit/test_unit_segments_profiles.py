"""A profile's segmentation in real time: only the segments an activity can change are evaluated, memberships
cascade through `inSegment`, time alone enters and exits profiles at known moments, statistics count each
change once."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from typing import Any

from services.common.conditions.activities import ActivityView, activity_view
from services.segments.domain.catalog import build
from services.segments.domain.profiles import (
    Activity,
    ProfileState,
    Reevaluate,
    Tick,
    TraitsChanged,
    Transition,
    apply,
)
from services.segments.domain.statistics import deltas, sizes_by_day, snapshot, tiers_by_day

T0 = int(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC).timestamp() * 1000)
HOUR = 3_600_000
DAY = 24 * HOUR
RECIPES = {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]}


def segment(segment_id: str, condition: dict[str, Any]) -> dict[str, Any]:
    return {"segmentId": segment_id, "version": 1, "name": segment_id, "condition": condition}


def page(at: int, path: str = "/recipes/soup", index: int = 0, **enrichment: Any) -> Activity:
    return Activity(
        activity_view(
            {
                "messageId": f"m{index}",
                "type": "page",
                "properties": {"path": path},
                "timestamp": dt.datetime.fromtimestamp(at / 1000, dt.UTC).isoformat(),
                "enrichment": enrichment,
            }
        )
    )


def track(event: str, at: int, index: int = 0) -> Activity:
    return Activity(ActivityView(f"t{index}", "track", event, at))


def entered(transitions: list[Transition]) -> list[str]:
    return [t.segment_id for t in transitions if t.entered]


def exited(transitions: list[Transition]) -> list[str]:
    return [t.segment_id for t in transitions if not t.entered]


def test_the_activity_path_may_come_from_the_page_context() -> None:
    catalog = build([segment("r", {"behaviour": RECIPES, "op": "atLeast", "value": 1})], [], [])
    view = activity_view(
        {
            "messageId": "m",
            "type": "page",
            "context": {"page": {"path": "/recipes/x"}},
            "timestamp": "2026-03-02T09:00:00Z",
        }
    )
    assert entered(apply(catalog, ProfileState(), Activity(view), T0).transitions) == ["r"]


def test_only_the_segments_an_activity_can_change_are_evaluated() -> None:
    # Given 20 segments on 20 different events, and a profile that has been seen before
    catalog = build(
        [
            segment(f"s{i}", {"behaviour": {"event": f"E{i}"}, "op": "atLeast", "value": 1, "withinDays": 7})
            for i in range(20)
        ],
        [],
        [],
    )
    state = apply(catalog, ProfileState(), track("E0", T0), T0).state
    assert state.members.keys() == {"s0"}

    # When an E7 happens
    outcome = apply(catalog, state, track("E7", T0 + 1, 1), T0 + 1)

    # Then one segment was evaluated, and the profile entered it
    assert outcome.evaluated == 1
    assert entered(outcome.transitions) == ["s7"]

    # And an event no segment names evaluates none and changes nothing (no write)
    idle = apply(catalog, outcome.state, track("Unrelated", T0 + 2, 2), T0 + 2)
    assert (idle.evaluated, idle.changed) == (0, False)


def test_a_first_seen_profile_is_evaluated_against_every_segment_once() -> None:
    # Given "never viewed a recipe in 30 days": true for a profile we see for the first time with a track event
    catalog = build([segment("lapsed", {"behaviour": RECIPES, "op": "never", "withinDays": 30})], [], [])
    outcome = apply(catalog, ProfileState(), track("Signed Up", T0), T0)
    assert entered(outcome.transitions) == ["lapsed"]


def test_membership_cascades_through_in_segment_in_both_directions() -> None:
    catalog = build(
        [
            segment(
                "buyers", {"behaviour": {"event": "Order Completed"}, "op": "atLeast", "value": 1, "withinDays": 30}
            ),
            segment("readers", {"behaviour": RECIPES, "op": "atLeast", "value": 1, "withinDays": 7}),
            segment("both", {"all": [{"inSegment": "buyers"}, {"inSegment": "readers"}]}),
            segment("not-both", {"not": {"inSegment": "both"}}),
        ],
        [],
        [],
    )
    state = apply(catalog, ProfileState(), page(T0), T0).state
    assert state.members.keys() == {"readers", "not-both"}
    outcome = apply(catalog, state, track("Order Completed", T0 + HOUR), T0 + HOUR)
    assert entered(outcome.transitions) == ["buyers", "both"]
    assert exited(outcome.transitions) == ["not-both"]

    # When the 7-day reading window passes, the cascade runs backwards with no event
    ticked = apply(catalog, outcome.state, Tick(), T0 + 7 * DAY)
    assert exited(ticked.transitions) == ["readers", "both"]
    assert entered(ticked.transitions) == ["not-both"]


def test_time_alone_makes_a_lapsed_visitor_and_the_due_time_is_exact() -> None:
    # Given "no recipe view for 30 days" and a view at T0
    catalog = build([segment("lapsed", {"behaviour": RECIPES, "op": "never", "withinDays": 30})], [], [])
    state = apply(catalog, ProfileState(), page(T0), T0).state

    # Then the profile is due exactly 30 days later, is not lapsed a millisecond before, and is at that instant
    assert state.due == T0 + 30 * DAY
    assert apply(catalog, state, Tick(), T0 + 30 * DAY - 1).transitions == []
    ticked = apply(catalog, state, Tick(), T0 + 30 * DAY)
    assert entered(ticked.transitions) == ["lapsed"]
    assert ticked.state.due is None  # nothing more can change by time

    # And the next recipe view takes it out again at once
    back = apply(catalog, ticked.state, page(T0 + 31 * DAY, index=1), T0 + 31 * DAY)
    assert exited(back.transitions) == ["lapsed"]


def test_the_due_time_follows_each_segment_though_an_activity_recomputes_only_its_own() -> None:
    # Given a 1-day and a 7-day recipe segment, and a 3-day buyer segment
    catalog = build(
        [
            segment("day", {"behaviour": RECIPES, "op": "atLeast", "value": 1, "withinDays": 1}),
            segment("week", {"behaviour": RECIPES, "op": "atLeast", "value": 1, "withinDays": 7}),
            segment("buyer", {"behaviour": {"event": "Buy"}, "op": "atLeast", "value": 1, "withinDays": 3}),
        ],
        [],
        [],
    )
    state = apply(catalog, ProfileState(), page(T0), T0).state
    assert state.due == T0 + DAY

    # When a purchase happens 12 hours later, only the buyer segment's moment is recomputed
    bought = apply(catalog, state, track("Buy", T0 + 12 * HOUR), T0 + 12 * HOUR)
    assert bought.evaluated == 1
    assert bought.state.segment_dues == {"day": T0 + DAY, "week": T0 + 7 * DAY, "buyer": T0 + 3 * DAY + 12 * HOUR}
    assert bought.state.due == T0 + DAY

    # And each tick moves on to the next moment, until nothing is left to wait for
    moments = []
    current = bought.state
    while current.due is not None:
        moments.append(current.due)
        current = apply(catalog, current, Tick(), current.due).state
    assert moments == [T0 + DAY, T0 + 3 * DAY + 12 * HOUR, T0 + 7 * DAY]
    assert current.members == {}


def test_an_activity_after_the_due_time_applies_the_window_before_the_sweep_does() -> None:
    catalog = build(
        [
            segment("recent", {"behaviour": RECIPES, "op": "atLeast", "value": 1, "withinDays": 1}),
            segment("buyer", {"behaviour": {"event": "Buy"}, "op": "atLeast", "value": 1}),
        ],
        [],
        [],
    )
    state = apply(catalog, ProfileState(), page(T0), T0).state
    outcome = apply(catalog, state, track("Buy", T0 + 2 * DAY), T0 + 2 * DAY)
    assert exited(outcome.transitions) == ["recent"]
    assert entered(outcome.transitions) == ["buyer"]


def test_a_trait_date_window_ends_by_time() -> None:
    catalog = build([segment("new", {"trait": "signedUpAt", "op": "withinLastDays", "value": 7})], [], [])
    signed_up = "2026-03-02T09:00:00Z"
    outcome = apply(catalog, ProfileState(), TraitsChanged({"signedUpAt": signed_up}), T0)
    assert entered(outcome.transitions) == ["new"]
    assert outcome.state.due == T0 + 7 * DAY
    assert exited(apply(catalog, outcome.state, Tick(), T0 + 7 * DAY).transitions) == ["new"]


def test_trait_changes_reach_only_the_segments_that_read_them_and_null_removes_a_trait() -> None:
    catalog = build(
        [
            segment("dutch", {"trait": "country", "op": "equals", "value": "NL"}),
            segment("adult", {"trait": "age", "op": "gte", "value": 18}),
        ],
        [],
        [],
    )
    state = apply(catalog, ProfileState(), TraitsChanged({"country": "NL", "age": 30}), T0).state
    assert state.members.keys() == {"dutch", "adult"}
    moved = apply(catalog, state, TraitsChanged({"country": None}), T0 + 1)
    assert moved.evaluated == 1
    assert exited(moved.transitions) == ["dutch"]
    assert "country" not in moved.state.traits
    same = apply(catalog, moved.state, TraitsChanged({"age": 30}), T0 + 2)
    assert (same.changed, same.transitions) == (False, [])


def test_identify_traits_in_an_activity_update_the_snapshot() -> None:
    catalog = build([segment("dutch", {"trait": "country", "op": "equals", "value": "NL"})], [], [])
    identify = activity_view(
        {"messageId": "i", "type": "identify", "traits": {"country": "NL"}, "timestamp": "2026-03-02T09:00:00Z"}
    )
    assert entered(apply(catalog, ProfileState(), Activity(identify), T0).transitions) == ["dutch"]


def test_the_environment_is_the_latest_activitys_even_when_an_older_one_arrives_late() -> None:
    catalog = build([segment("mobile", {"environment": "deviceType", "op": "equals", "value": "mobile"})], [], [])
    state = apply(catalog, ProfileState(), page(T0, device={"type": "mobile"}), T0).state
    assert "mobile" in state.members
    late_old = apply(catalog, state, page(T0 - HOUR, index=1, device={"type": "desktop"}), T0 + 1)
    assert late_old.transitions == []
    newer = apply(catalog, late_old.state, page(T0 + HOUR, index=2, device={"type": "desktop"}), T0 + HOUR)
    assert exited(newer.transitions) == ["mobile"]


def test_a_backfill_reevaluates_the_named_segment_and_its_dependents_only() -> None:
    old = build([segment("readers", {"behaviour": RECIPES, "op": "atLeast", "value": 1})], [], [])
    state = apply(old, ProfileState(), page(T0), T0).state
    new = build(
        [
            segment("readers", {"behaviour": RECIPES, "op": "atLeast", "value": 1}),
            segment("ever-read", {"behaviour": RECIPES, "op": "atLeast", "value": 1}),
            segment("readers-too", {"inSegment": "ever-read"}),
        ],
        [],
        [],
    )
    outcome = apply(new, state, Reevaluate(frozenset({"ever-read"})), T0 + 1)
    assert entered(outcome.transitions) == ["ever-read", "readers-too"]
    assert outcome.evaluated == 2


def test_apply_leaves_the_given_state_untouched_and_state_survives_json() -> None:
    catalog = build([segment("readers", {"behaviour": RECIPES, "op": "atLeast", "value": 2, "withinDays": 7})], [], [])
    state = apply(catalog, ProfileState(), page(T0), T0).state
    before = copy.deepcopy(state)
    after = apply(catalog, state, page(T0 + 1, index=1), T0 + 1).state
    assert state == before
    assert ProfileState.from_json(after.to_json()) == after


# ---- statistics -------------------------------------------------------------------------------------------------


def test_statistics_count_entries_exits_sizes_and_overlaps_once() -> None:
    before = ProfileState(members={"a": T0, "b": T0})
    after = ProfileState(members={"b": T0, "c": T0, "d": T0})
    day, current = deltas(snapshot(before), snapshot(after))
    assert day == {"in|c": 1, "in|d": 1, "out|a": 1}
    assert current == {
        "size|a": -1,
        "size|c": 1,
        "size|d": 1,
        "pair|a|b": -1,
        "pair|b|c": 1,
        "pair|b|d": 1,
        "pair|c|d": 1,
    }
    assert deltas(snapshot(after), snapshot(after)) == ({}, {})


def test_tiers_enter_the_pyramid_on_the_first_score() -> None:
    day, current = deltas(snapshot(ProfileState()), snapshot(ProfileState(scores={"eng": {"tier": "cold"}})))
    assert (day, current) == ({"tin|eng|cold": 1}, {"tier|eng|cold": 1})
    that_day, moved = deltas(
        snapshot(ProfileState(scores={"eng": {"tier": "cold"}})),
        snapshot(ProfileState(scores={"eng": {"tier": "hot"}})),
    )
    assert moved == {"tier|eng|cold": -1, "tier|eng|hot": 1}
    assert that_day == {"tout|eng|cold": 1, "tin|eng|hot": 1}  # the day's moves: the pyramid over time


def test_the_pyramid_per_day_walks_back_from_todays_counts() -> None:
    days = ["2026-03-01", "2026-03-02", "2026-03-03"]
    moves = {"2026-03-02": {"hot": (2, 0), "cold": (1, 2)}, "2026-03-03": {"hot": (1, 0), "cold": (0, 1)}}
    series = tiers_by_day({"hot": 3, "cold": 4}, days, moves)
    assert series == [
        {"date": "2026-03-01", "tiers": {"hot": 0, "cold": 6}},  # before two moved up and one arrived
        {"date": "2026-03-02", "tiers": {"hot": 2, "cold": 5}},
        {"date": "2026-03-03", "tiers": {"hot": 3, "cold": 4}},  # today: the current counts
    ]


def test_sizes_per_day_walk_back_from_the_current_size() -> None:
    days = ["2026-03-01", "2026-03-02", "2026-03-03"]
    series = sizes_by_day(5, days, {"2026-03-02": (4, 1), "2026-03-03": (2, 0)})
    assert [(d["date"], d["size"]) for d in series] == [("2026-03-01", 0), ("2026-03-02", 3), ("2026-03-03", 5)]


def test_a_copied_state_keeps_every_field_and_changes_apart_from_the_original() -> None:
    # Given a state with every field set
    original = ProfileState.from_json(
        apply(
            build([segment("r", {"behaviour": RECIPES, "op": "atLeast", "value": 1})], [], []),
            ProfileState(),
            page(T0),
            T0,
        ).state.to_json()
    )
    original.traits = {"plan": "pro"}
    original.scores = {"eng": {"v": 5}}
    original.answers = {"q": {"a": {"1": 3}}}
    # When it is copied
    copied = original.copy()
    # Then every field carries over (a field added later cannot be dropped by the copy)
    assert dataclasses.asdict(copied) == dataclasses.asdict(original)
    # And the maps changed in place are the copy's own
    copied.members["other"] = T0
    copied.scores["new"] = {"v": 1}
    copied.answers["q2"] = {}
    copied.counters.clear()
    assert "other" not in original.members and "new" not in original.scores and "q2" not in original.answers
    assert original.counters
