"""The overview's counting rules: a profile's class, its moves between classes, the day an event counts on."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from services.identity.domain.computed import Computed
from services.identity.domain.records import Entry, Profile
from services.identity.domain.stats import class_change, event_day, last_days, per_day, profile_class

CLASSES = st.sampled_from(["known", "anonymous", None])


def test_a_profile_is_known_by_an_email_or_user_id_and_counts_nowhere_once_merged() -> None:
    assert profile_class(Profile("p", "t", identities=("anon:a1",))) == "anonymous"
    assert profile_class(Profile("p", "t", identities=("anon:a1", "email:ana@example.com"))) == "known"
    assert profile_class(Profile("p", "t", identities=("user:ana",))) == "known"
    assert profile_class(Profile("p", "t", identities=("user:ana",), merged_into="q")) is None
    assert profile_class(None) is None


@given(st.lists(CLASSES, min_size=1, max_size=20))
def test_the_deltas_of_any_history_sum_to_its_last_class(history: list[str | None]) -> None:
    # Whatever a profile goes through (created, identified, merged away, restored, erased), the sum of its
    # deltas is exactly one count in its present class, or none
    totals: dict[str, int] = {}
    before = None
    for after in history:
        for name, delta in class_change(before, after).items():  # type: ignore[arg-type]
            totals[name] = totals.get(name, 0) + delta
        before = after
    expected = {history[-1]: 1} if history[-1] else {}
    assert {k: v for k, v in totals.items() if v} == expected


def test_an_event_counts_on_its_own_utc_day_and_other_entries_do_not_count() -> None:
    activity = Entry(
        1, "activity", "2026-03-02T09:00:00.000Z", Computed(), activity={"timestamp": "2026-03-01T23:30:00-02:00"}
    )
    assert event_day(activity) == "2026-03-02"
    assert event_day(Entry(2, "merge", "2026-03-02T09:00:00.000Z", Computed())) is None


def test_days_are_listed_oldest_first_with_zeros() -> None:
    days = last_days(dt.date(2026, 3, 2), 3)
    assert days == ["2026-02-28", "2026-03-01", "2026-03-02"]
    assert per_day({"2026-03-01": 4}, days, "events") == [
        {"day": "2026-02-28", "events": 0},
        {"day": "2026-03-01", "events": 4},
        {"day": "2026-03-02", "events": 0},
    ]
