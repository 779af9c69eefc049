"""Behavioural rollups: counts in rolling windows from sparse buckets, exact at bucket and window edges, the same
whatever the order of arrival, and small however many events a profile has."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.conditions.activities import ActivityView
from services.common.conditions.rollups import Counter, count_changes_at, count_within, prune, record
from services.segments.domain.catalog import build
from services.segments.domain.profiles import Activity, ProfileState, ProfileView, apply

T0 = int(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC).timestamp() * 1000)
MS = 1
HOUR = 3_600_000
DAY = 24 * HOUR


def counter_of(times: list[int], keep: int = 100, horizon: int = 365 * DAY) -> Counter:
    counter = Counter()
    for at in times:
        record(counter, at, keep, horizon, max(times))
    return counter


# ---- windows at bucket edges ---------------------------------------------------------------------------------


def test_a_hit_counts_until_exactly_one_window_after_it_and_not_at_that_instant() -> None:
    # Given hits at T0 and T0 + 1 h, and a 1-day window
    counter = counter_of([T0, T0 + HOUR])

    # Then both count until T0 + 1 day; at that instant the first leaves; an hour later both have
    assert count_within(counter, DAY, T0 + DAY - MS, 10) == 2
    assert count_within(counter, DAY, T0 + DAY, 10) == 1
    assert count_within(counter, DAY, T0 + DAY + HOUR - MS, 10) == 1
    assert count_within(counter, DAY, T0 + DAY + HOUR, 10) == 0


def test_hits_in_the_same_millisecond_share_a_bucket_and_count_each() -> None:
    counter = counter_of([T0, T0, T0 + MS])
    assert counter.buckets == [[T0 + MS, 1], [T0, 2]]
    assert count_within(counter, DAY, T0 + MS, 10) == 3
    assert counter.total == 3 and counter.first == T0 and counter.last == T0 + MS


def test_a_hit_later_than_now_does_not_count_yet() -> None:
    counter = counter_of([T0, T0 + HOUR])
    assert count_within(counter, DAY, T0 + HOUR - MS, 10) == 1


def test_counting_stops_at_the_cap() -> None:
    counter = counter_of([T0 + i for i in range(50)])
    assert count_within(counter, DAY, T0 + 100, 3) == 3


def test_the_next_change_is_when_a_count_crosses_the_threshold() -> None:
    # Given 3 hits a day apart and "at least 2 in 7 days"
    counter = counter_of([T0, T0 + DAY, T0 + 2 * DAY])
    now = T0 + 2 * DAY

    # Then it holds until the 2nd most recent hit leaves the window: T0 + 1 day + 7 days
    assert count_changes_at(counter, 7 * DAY, now, 3, lambda n: n >= 2) == T0 + 8 * DAY
    # "never in 7 days" becomes true when the newest leaves; "at most 1" when the 2nd newest does
    assert count_changes_at(counter, 7 * DAY, now, 1, lambda n: n == 0) == T0 + 9 * DAY
    assert count_changes_at(counter, 7 * DAY, now, 2, lambda n: n <= 1) == T0 + 8 * DAY
    # nothing to wait for when no hit is in the window
    assert count_changes_at(counter, 7 * DAY, T0 + 30 * DAY, 3, lambda n: n >= 2) is None
    assert count_changes_at(None, 7 * DAY, now, 3, lambda n: n >= 2) is None


def test_pruning_keeps_the_newest_bucket_and_only_what_thresholds_need() -> None:
    counter = counter_of([T0 + i * HOUR for i in range(10)], keep=3, horizon=DAY)
    assert [b[0] for b in counter.buckets] == [T0 + 9 * HOUR, T0 + 8 * HOUR, T0 + 7 * HOUR]
    assert counter.total == 10 and counter.first == T0
    prune(counter, keep=3, horizon=HOUR, now=T0 + 30 * DAY)
    assert counter.buckets == [[T0 + 9 * HOUR, 1]]  # the last occurrence is always known


def test_a_counter_survives_a_round_trip_through_json() -> None:
    counter = counter_of([T0, T0 + 5])
    assert Counter.from_json(counter.as_json()) == counter


# ---- the whole path, against a scan of every event -----------------------------------------------------------

OPS = st.sampled_from(["atLeast", "atMost", "exactly", "never"])


def page(at: int, index: int) -> ActivityView:
    return ActivityView(message_id=f"m{index}", type="page", name=None, at=at, properties={"path": "/recipes/x"})


def naive(op: str, value: int, hits: list[int], window: int, now: int) -> bool:
    n = sum(1 for h in hits if now - window < h <= now)
    return {"atLeast": n >= value, "atMost": n <= value, "exactly": n == value, "never": n == 0}[op]


@settings(max_examples=300, deadline=None)
@given(
    op=OPS,
    value=st.integers(0, 4),
    window_hours=st.sampled_from([1, 5, 24, 72]),
    offsets=st.lists(st.integers(0, 6 * 24), min_size=0, max_size=25),
    data=st.data(),
)
def test_membership_at_any_later_moment_matches_a_scan_of_every_event(
    op: str, value: int, window_hours: int, offsets: list[int], data: st.DataObject
) -> None:
    # Given "<op> <value> recipe pages within <window>" and page views arriving in a random order
    value = max(value, 1) if op == "atLeast" else value
    condition: dict[str, Any] = {"behaviour": {"type": "page"}, "op": op, "withinHours": window_hours}
    if op != "never":
        condition["value"] = value
    catalog = build([{"segmentId": "s", "name": "s", "condition": condition}], [], [])
    times = [T0 + o * HOUR // 2 for o in offsets]  # half-hour steps: many ties and exact edges
    arrival = data.draw(st.permutations(list(enumerate(times))), "arrival order")
    state = ProfileState()
    clock = T0
    for index, at in arrival:
        clock = max(clock, at)
        state = apply(catalog, state, Activity(page(at, index)), clock).state
    rule = catalog.segment("s")
    assert rule is not None and rule.condition.changes_at is not None
    window = window_hours * HOUR

    # Then at every edge (a hit leaving the window, ±1 ms) and at random later moments, the rollup answers like
    # a scan of every event would — though it keeps at most value + 1 hits
    probes = {clock} | {t + window + d for t in times for d in (-1, 0, 1) if t + window + d >= clock}
    probes |= {clock + p for p in data.draw(st.lists(st.integers(0, 8 * DAY), max_size=5), "later")}
    for now in sorted(probes):
        assert rule.condition.test(ProfileView(state, {}, now)) == naive(op, value, times, window, now), now

    # And the moment the answer next changes is exactly the first probe where the scan's answer changes
    change = rule.condition.changes_at(ProfileView(state, {}, clock))
    answer = naive(op, value, times, window, clock)
    flips = [now for now in sorted(probes) if naive(op, value, times, window, now) != answer]
    assert change == (flips[0] if flips else None)
    kept = sum(hits for counter in state.counters.values() for _, hits in counter.buckets)
    assert kept <= max(value + 1, 1) + max((times.count(t) for t in times), default=0)


@settings(max_examples=100, deadline=None)
@given(offsets=st.lists(st.integers(0, 40 * 24), min_size=1, max_size=15), data=st.data())
def test_order_of_arrival_does_not_change_the_rollup(offsets: list[int], data: st.DataObject) -> None:
    catalog = build(
        [
            {
                "segmentId": "s",
                "name": "s",
                "condition": {"behaviour": {"type": "page"}, "op": "atLeast", "value": 3, "withinDays": 7},
            }
        ],
        [],
        [],
    )
    views = [page(T0 + o * HOUR, i) for i, o in enumerate(offsets)]
    last = max(v.at for v in views)

    def fed(order: list[ActivityView]) -> ProfileState:
        state = ProfileState()
        for view in order:
            state = apply(catalog, state, Activity(view), last).state
        return state

    shuffled = data.draw(st.permutations(views))
    assert fed(sorted(views, key=lambda v: v.at)).counters == fed(shuffled).counters


def test_a_heavy_profile_keeps_a_small_rollup() -> None:
    # Given "3 recipe pages in 14 days" and a visitor who views 5,000 pages over a year
    catalog = build(
        [
            {
                "segmentId": "s",
                "name": "s",
                "condition": {"behaviour": {"type": "page"}, "op": "atLeast", "value": 3, "withinDays": 14},
            }
        ],
        [],
        [],
    )
    state = ProfileState()
    for i in range(5000):
        at = T0 + i * (365 * DAY // 5000)
        state = apply(catalog, state, Activity(page(at, i)), at).state

    # Then the rollup holds 4 buckets, a total and the first time — and the profile is a member
    (counter,) = state.counters.values()
    assert len(counter.buckets) == 4 and counter.total == 5000
    assert "s" in state.members
