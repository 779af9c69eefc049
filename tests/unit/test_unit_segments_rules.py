"""Behavioural segments: rule validation, entering on the N-th event in the window, scheduled exits."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.common.clock import iso
from services.segments.domain.rules import (
    BehaviourRule,
    Rollup,
    Segment,
    SegmentDefinition,
    Transition,
    evaluate,
    is_member,
    leaves_at,
    next_review,
)

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
MS = dt.timedelta(milliseconds=1)


def rule(**fields: Any) -> BehaviourRule:
    return BehaviourRule.model_validate(fields)


def pricing_visitors(at_least: int = 3, within_days: int = 7) -> Segment:
    return Segment("seg-pricing", 4, rule(type="page", pathPrefix="/pricing", atLeast=at_least, withinDays=within_days))


def page(at: dt.datetime, message_id: str, path: str = "/pricing/teams") -> dict[str, Any]:
    return {"type": "page", "messageId": message_id, "timestamp": iso(at), "properties": {"path": path}}


def feed(
    segments: list[Segment],
    activities: list[dict[str, Any]],
    now: dt.datetime | None = None,
    rollup: Rollup | None = None,
) -> tuple[Rollup, list[list[Transition]]]:
    """Apply activities one by one; `now` is each activity's own time unless given."""
    rollup = rollup or Rollup()
    seen = []
    for activity in activities:
        moment = now or dt.datetime.fromisoformat(activity["timestamp"])
        rollup, transitions = evaluate(segments, rollup, activity, moment)
        seen.append(transitions)
    return rollup, seen


# ---- rule validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"atLeast": 0, "withinDays": 7}, id="atLeast-0"),
        pytest.param({"atLeast": 101, "withinDays": 7}, id="atLeast-101"),
        pytest.param({"atLeast": 1, "withinDays": 0}, id="withinDays-0"),
        pytest.param({"atLeast": 1, "withinDays": 366}, id="withinDays-366"),
        pytest.param({"withinDays": 7}, id="atLeast-missing"),
        pytest.param({"type": "track", "atLeast": 1, "withinDays": 7}, id="track-without-event"),
        pytest.param({"type": "identify", "atLeast": 1, "withinDays": 7}, id="identify-not-behaviour"),
        pytest.param({"atLeast": 1, "withinDays": 7, "minutes": 5}, id="unknown-field"),
    ],
)
def test_invalid_rules_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        BehaviourRule.model_validate(fields)


@pytest.mark.parametrize(("at_least", "within_days"), [(1, 1), (100, 365)])
def test_rule_bounds_are_inclusive(at_least: int, within_days: int) -> None:
    parsed = rule(type="track", event="Signed Up", atLeast=at_least, withinDays=within_days)
    assert (parsed.at_least, parsed.window) == (at_least, dt.timedelta(days=within_days))


def test_a_segment_definition_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        SegmentDefinition.model_validate({"name": "x", "rule": {"atLeast": 1, "withinDays": 1}, "owner": "me"})


# ---- entering --------------------------------------------------------------------------------------------


def test_a_profile_enters_on_the_nth_matching_event_and_not_before() -> None:
    # Given "3 pricing page views within 7 days"
    segment = pricing_visitors(at_least=3, within_days=7)
    views = [page(T0, "m1"), page(T0 + dt.timedelta(days=2), "m2"), page(T0 + dt.timedelta(days=6), "m3")]

    # When the views arrive one by one
    rollup, transitions = feed([segment], views)

    # Then the profile enters on the third, once, with the segment's version
    assert transitions == [[], [], [Transition("seg-pricing", True, 4)]]
    assert rollup.members == {"seg-pricing": iso(T0 + dt.timedelta(days=6))}

    # And a fourth view changes nothing visible
    rollup, transitions = feed([segment], [page(T0 + dt.timedelta(days=6, hours=1), "m4")], rollup=rollup)
    assert transitions == [[]]
    assert "seg-pricing" in rollup.members


def test_events_older_than_the_window_do_not_count() -> None:
    # Given 3 views where the first is already out of a 7-day window when the third arrives
    segment = pricing_visitors(at_least=3, within_days=7)
    views = [page(T0, "m1"), page(T0 + dt.timedelta(days=3), "m2"), page(T0 + dt.timedelta(days=7), "m3")]

    # Then the profile does not enter
    rollup, transitions = feed([segment], views)
    assert transitions == [[], [], []]
    assert rollup.members == {}


@pytest.mark.parametrize(
    "activity",
    [
        pytest.param({"type": "track", "event": "Viewed Pricing", "properties": {"path": "/pricing"}}, id="other-type"),
        pytest.param({"type": "page", "properties": {"path": "/blog/pricing"}}, id="other-path"),
        pytest.param({"type": "page", "properties": {"path": "/pric"}}, id="shorter-path"),
        pytest.param({"type": "page", "properties": {}}, id="no-path"),
        pytest.param({"type": "page", "context": {"page": {"path": "/about"}}}, id="other-context-path"),
    ],
)
def test_non_matching_page_activity_does_not_count(activity: dict[str, Any]) -> None:
    segment = pricing_visitors(at_least=1)
    rollup, transitions = evaluate([segment], Rollup(), {**activity, "messageId": "m", "timestamp": iso(T0)}, T0)
    assert transitions == []
    assert rollup == Rollup()


def test_the_page_path_may_come_from_the_page_context() -> None:
    segment = pricing_visitors(at_least=1)
    activity = {"type": "page", "messageId": "m", "timestamp": iso(T0), "context": {"page": {"path": "/pricing"}}}
    _, transitions = evaluate([segment], Rollup(), activity, T0)
    assert transitions == [Transition("seg-pricing", True, 4)]


def test_a_track_rule_counts_only_its_event() -> None:
    # Given "signed up at least once in 30 days"
    signed_up = Segment("seg-signup", 1, rule(type="track", event="Signed Up", atLeast=1, withinDays=30))
    base = {"messageId": "m", "timestamp": iso(T0)}

    # Then another track event, or a page, does not count; the named event does
    assert evaluate([signed_up], Rollup(), {**base, "type": "track", "event": "Logged In"}, T0)[1] == []
    assert evaluate([signed_up], Rollup(), {**base, "type": "page", "event": "Signed Up"}, T0)[1] == []
    assert evaluate([signed_up], Rollup(), {**base, "type": "track", "event": "Signed Up"}, T0)[1] == [
        Transition("seg-signup", True, 1)
    ]


def test_two_events_in_the_same_millisecond_count_twice() -> None:
    segment = pricing_visitors(at_least=2)
    _, transitions = feed([segment], [page(T0, "m1"), page(T0, "m2")])
    assert transitions == [[], [Transition("seg-pricing", True, 4)]]


def test_a_redelivered_event_counts_once() -> None:
    segment = pricing_visitors(at_least=2)
    rollup, transitions = feed([segment], [page(T0, "m1"), page(T0, "m1")])
    assert transitions == [[], []]
    assert rollup.members == {}


def test_one_activity_can_move_a_profile_into_several_segments() -> None:
    broad = Segment("seg-any-page", 1, rule(type="page", atLeast=1, withinDays=1))
    narrow = pricing_visitors(at_least=1)
    blog = Segment("seg-blog", 1, rule(type="page", pathPrefix="/blog", atLeast=1, withinDays=1))
    _, transitions = feed([broad, narrow, blog], [page(T0, "m1")])
    assert transitions == [[Transition("seg-any-page", True, 1), Transition("seg-pricing", True, 4)]]


def test_evaluate_does_not_modify_the_rollup_it_was_given() -> None:
    segment = pricing_visitors(at_least=1)
    before, _ = feed([segment], [page(T0, "m1")])
    snapshot = Rollup.from_dict(before.as_dict())
    evaluate([segment], before, page(T0 + MS, "m2"), T0 + dt.timedelta(days=30))
    assert before == snapshot


def test_a_rollup_survives_a_round_trip_through_storage() -> None:
    segment = pricing_visitors(at_least=2)
    rollup, _ = feed([segment], [page(T0, "m1"), page(T0 + MS, "m2")])
    assert Rollup.from_dict(rollup.as_dict()) == rollup
    assert Rollup.from_dict(None) == Rollup()


# ---- leaving ---------------------------------------------------------------------------------------------


def test_membership_ends_exactly_at_the_nth_most_recent_hit_plus_the_window() -> None:
    # Given a member of "2 views within 7 days" with views at T0, T0+1d and T0+2d
    segment = pricing_visitors(at_least=2, within_days=7)
    rollup, _ = feed(
        [segment], [page(T0, "m1"), page(T0 + dt.timedelta(days=1), "m2"), page(T0 + dt.timedelta(days=2), "m3")]
    )
    hits = rollup.hits["seg-pricing"]

    # When we ask when membership ends
    end = leaves_at(segment.rule, hits)

    # Then it is the 2nd most recent view plus 7 days: a member 1 ms before, not at that instant
    assert end == T0 + dt.timedelta(days=8)
    assert is_member(segment.rule, hits, end - MS)
    assert not is_member(segment.rule, hits, end)


def test_leaves_at_is_none_without_enough_hits() -> None:
    segment = pricing_visitors(at_least=2)
    rollup, _ = feed([segment], [page(T0, "m1")])
    assert leaves_at(segment.rule, rollup.hits["seg-pricing"]) is None
    assert leaves_at(segment.rule, []) is None


def test_the_passage_of_time_produces_one_exit_exactly_once() -> None:
    # Given a member of "1 view within 7 days"
    segment = pricing_visitors(at_least=1, within_days=7)
    rollup, _ = feed([segment], [page(T0, "m1")])
    end = T0 + dt.timedelta(days=7)

    # When time passes without activity: just before the end nothing happens
    rollup, transitions = evaluate([segment], rollup, None, end - MS)
    assert transitions == []
    assert "seg-pricing" in rollup.members

    # At the end the profile exits
    rollup, transitions = evaluate([segment], rollup, None, end)
    assert transitions == [Transition("seg-pricing", False, 4)]
    assert rollup.members == {}

    # And a later sweep does not exit it again
    rollup, transitions = evaluate([segment], rollup, None, end + dt.timedelta(days=1))
    assert transitions == []


def test_a_new_event_postpones_the_exit() -> None:
    segment = pricing_visitors(at_least=1, within_days=7)
    rollup, _ = feed([segment], [page(T0, "m1"), page(T0 + dt.timedelta(days=5), "m2")])
    rollup, transitions = evaluate([segment], rollup, None, T0 + dt.timedelta(days=7))
    assert transitions == []
    assert next_review([segment], rollup) == T0 + dt.timedelta(days=12)


def test_next_review_is_the_earliest_exit_among_memberships() -> None:
    # Given one view that puts the profile in a 1-day and a 7-day segment, and hits towards a third it is not in
    day = Segment("seg-day", 1, rule(type="page", atLeast=1, withinDays=1))
    week = Segment("seg-week", 1, rule(type="page", atLeast=1, withinDays=7))
    pending = Segment("seg-pending", 1, rule(type="page", atLeast=5, withinDays=1))
    segments = [week, pending, day]
    rollup, _ = feed(segments, [page(T0, "m1")])

    # Then the next review is when the 1-day membership ends
    assert next_review(segments, rollup) == T0 + dt.timedelta(days=1)

    # And after that exit, when the 7-day one ends
    rollup, transitions = evaluate(segments, rollup, None, T0 + dt.timedelta(days=1))
    assert transitions == [Transition("seg-day", False, 1)]
    assert next_review(segments, rollup) == T0 + dt.timedelta(days=7)

    # And with no membership left, nothing to review
    rollup, _ = evaluate(segments, rollup, None, T0 + dt.timedelta(days=7))
    assert rollup.members == {}
    assert next_review(segments, rollup) is None


def test_next_review_ignores_memberships_of_deleted_segments() -> None:
    segment = pricing_visitors(at_least=1)
    rollup, _ = feed([segment], [page(T0, "m1")])
    assert next_review([], rollup) is None


# ---- invariants ------------------------------------------------------------------------------------------

WINDOW_SPAN_MS = 60 * 86_400_000


@settings(max_examples=150, deadline=None)
@given(
    at_least=st.integers(1, 5),
    within_days=st.integers(1, 30),
    offsets=st.lists(st.integers(0, WINDOW_SPAN_MS), min_size=0, max_size=12),
    data=st.data(),
)
def test_order_of_arrival_does_not_matter_and_membership_matches_a_naive_count(
    at_least: int, within_days: int, offsets: list[int], data: st.DataObject
) -> None:
    # Given matching events at random times (some may share a millisecond) and a moment after all of them
    segment = pricing_visitors(at_least=at_least, within_days=within_days)
    events = [page(T0 + dt.timedelta(milliseconds=o), f"m{i}") for i, o in enumerate(offsets)]
    now = T0 + dt.timedelta(milliseconds=WINDOW_SPAN_MS + data.draw(st.integers(0, 40 * 86_400_000), "later"))
    shuffled = data.draw(st.permutations(events), "arrival order")

    # When they are fed in time order and in an arbitrary order
    in_order, _ = feed([segment], sorted(events, key=lambda e: e["timestamp"]), now=now)
    any_order, _ = feed([segment], shuffled, now=now)

    # Then the rollups are the same
    assert any_order == in_order

    # And membership is "at least N events in (now − window, now]" computed from the full list
    window = dt.timedelta(days=within_days)
    naive = sum(1 for o in offsets if now - window < T0 + dt.timedelta(milliseconds=o) <= now) >= at_least
    assert ("seg-pricing" in in_order.members) == naive
    assert is_member(segment.rule, in_order.hits.get("seg-pricing", []), now) == naive


@settings(max_examples=100, deadline=None)
@given(
    at_least=st.integers(1, 4),
    within_days=st.integers(1, 10),
    offsets=st.lists(st.integers(0, 20 * 86_400_000), min_size=1, max_size=10),
    probes=st.lists(st.integers(0, 40 * 86_400_000), min_size=1, max_size=5),
)
def test_after_the_last_event_membership_at_any_later_moment_matches_a_naive_count(
    at_least: int, within_days: int, offsets: list[int], probes: list[int]
) -> None:
    # Given events fed as they happen (now = each event's time)
    segment = pricing_visitors(at_least=at_least, within_days=within_days)
    times = sorted(T0 + dt.timedelta(milliseconds=o) for o in offsets)
    rollup, _ = feed([segment], [page(t, f"m{i}") for i, t in enumerate(times)])
    hits = rollup.hits.get("seg-pricing", [])
    window = dt.timedelta(days=within_days)

    # Then at any later moment, the kept hits answer like a scan of every event would
    for probe in probes:
        now = times[-1] + dt.timedelta(milliseconds=probe)
        naive = sum(1 for t in times if now - window < t <= now) >= at_least
        assert is_member(segment.rule, hits, now) == naive
        end = leaves_at(segment.rule, hits)
        assert (end is not None and now < end) == naive
