"""Journey delivery rules: quiet hours and local send times in the profile's zone (DST included), frequency caps."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.journeys.domain.delivery import (
    FrequencyCap,
    QuietHours,
    cap_allows_at,
    delivery_time,
    next_local_time,
    profile_zone,
    quiet_until,
    rate_window,
)

UTC_ZONE = ZoneInfo("UTC")
AUCKLAND = ZoneInfo("Pacific/Auckland")
NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
NIGHT = QuietHours(start=dt.time(21), end=dt.time(9))
WEEKLY_THREE = FrequencyCap(limit=3, per=dt.timedelta(days=7))
TUESDAY = 1


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=dt.UTC)


# --- profile_zone ---------------------------------------------------------------------------------------------------


def test_the_profile_zone_comes_from_the_timezone_trait() -> None:
    # Given a profile that told us where it lives
    traits = {"timezone": "Pacific/Auckland"}
    # When / Then
    assert profile_zone(traits) == AUCKLAND
    assert profile_zone({"timezone": "  Europe/London "}) == LONDON


@pytest.mark.parametrize(
    "traits",
    [
        {},
        {"timezone": None},
        {"timezone": 42},
        {"timezone": ""},
        {"timezone": "Mars/Olympus_Mons"},
        {"timezone": "America"},
        {"timezone": "/etc/passwd"},
        {"timezone": "../../etc/passwd"},
        {"timezone": "zone.tab"},
        {"timezone": "a\x00b"},
        {"timezone": "x" * 5000},
    ],
)
def test_missing_or_bad_timezone_traits_fall_back_to_the_default(traits: dict[str, object]) -> None:
    # Given trait data we cannot use, When we resolve the zone, Then the default applies and nothing raises
    assert profile_zone(traits) == UTC_ZONE
    assert profile_zone(traits, default="America/New_York") == NEW_YORK


def test_an_invalid_default_zone_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="Nowhere/Land"):
        profile_zone({"timezone": "Pacific/Auckland"}, default="Nowhere/Land")


# --- quiet_until ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 3, 2, 20, 59), None),
        (utc(2026, 3, 2, 21, 0), utc(2026, 3, 3, 9, 0)),
        (utc(2026, 3, 2, 23, 30), utc(2026, 3, 3, 9, 0)),
        (utc(2026, 3, 3, 0, 0), utc(2026, 3, 3, 9, 0)),
        (utc(2026, 3, 3, 8, 59, 59), utc(2026, 3, 3, 9, 0)),
        (utc(2026, 3, 3, 9, 0), None),
        (utc(2026, 3, 3, 12, 0), None),
    ],
)
def test_quiet_hours_wrap_midnight(now: dt.datetime, expected: dt.datetime | None) -> None:
    # Given quiet hours 21:00-09:00 in UTC, When we ask at `now`, Then the window holds until the next 09:00
    assert quiet_until(now, NIGHT, UTC_ZONE) == expected


def test_quiet_hours_within_one_day() -> None:
    # Given a lunchtime quiet window that does not wrap
    lunch = QuietHours(start=dt.time(12), end=dt.time(13, 30))
    # When / Then
    assert quiet_until(utc(2026, 3, 2, 11, 59), lunch, UTC_ZONE) is None
    assert quiet_until(utc(2026, 3, 2, 12, 0), lunch, UTC_ZONE) == utc(2026, 3, 2, 13, 30)
    assert quiet_until(utc(2026, 3, 2, 13, 30), lunch, UTC_ZONE) is None


def test_equal_start_and_end_means_no_quiet_hours() -> None:
    never = QuietHours(start=dt.time(9), end=dt.time(9))
    assert quiet_until(utc(2026, 3, 2, 9, 0), never, NEW_YORK) is None
    assert quiet_until(utc(2026, 3, 2, 3, 0), never, AUCKLAND) is None


def test_the_same_instant_is_quiet_in_auckland_and_not_in_new_york() -> None:
    # Given 15:00 UTC on 2 March 2026: 04:00 on 3 March in Auckland (NZDT, +13), 10:00 on 2 March in New York (EST)
    now = utc(2026, 3, 2, 15, 0)
    # When / Then: Auckland is asleep until its 09:00 (20:00 UTC), New York is awake
    assert quiet_until(now, NIGHT, AUCKLAND) == utc(2026, 3, 2, 20, 0)
    assert quiet_until(now, NIGHT, NEW_YORK) is None


def test_the_same_quiet_instant_ends_at_different_times_per_zone() -> None:
    # Given 09:30 UTC: 22:30 in Auckland, 04:30 in New York, both inside 21:00-09:00
    now = utc(2026, 3, 2, 9, 30)
    # When / Then: each window ends at its own local 09:00
    assert quiet_until(now, NIGHT, AUCKLAND) == utc(2026, 3, 2, 20, 0)
    assert quiet_until(now, NIGHT, NEW_YORK) == utc(2026, 3, 2, 14, 0)


def test_a_quiet_end_skipped_by_spring_forward_ends_when_the_gap_ends() -> None:
    # Given New York springs forward at 02:00 EST on 8 March 2026 (07:00 UTC), so 02:30 never happens
    quiet = QuietHours(start=dt.time(22), end=dt.time(2, 30))
    # When it is 01:15 EST
    until = quiet_until(utc(2026, 3, 8, 6, 15), quiet, NEW_YORK)
    # Then the window ends at the first instant after the gap: 03:00 EDT
    assert until == utc(2026, 3, 8, 7, 0)
    assert until is not None and until.astimezone(NEW_YORK).time() == dt.time(3, 0)
    # And on the next night 02:30 EDT exists again
    assert quiet_until(utc(2026, 3, 9, 5, 0), quiet, NEW_YORK) == utc(2026, 3, 9, 6, 30)


def test_a_gap_that_lands_back_inside_a_long_quiet_window_keeps_it_quiet() -> None:
    # Given a window 02:45-02:30 (quiet all day but a quarter hour) on the New York spring-forward night
    quiet = QuietHours(start=dt.time(2, 45), end=dt.time(2, 30))
    # When it is 01:00 EST, the clock jumps from 02:00 to 03:00, past the end but into the window again
    until = quiet_until(utc(2026, 3, 8, 6, 0), quiet, NEW_YORK)
    # Then the window only ends at the next real 02:30, on 9 March (EDT)
    assert until == utc(2026, 3, 9, 6, 30)


def test_an_ambiguous_quiet_end_on_fall_back_uses_its_first_occurrence() -> None:
    # Given New York falls back at 02:00 EDT on 1 November 2026, so 01:30 happens twice (05:30 and 06:30 UTC)
    quiet = QuietHours(start=dt.time(22), end=dt.time(1, 30))
    # When it is 00:30 EDT, Then the window ends at the first 01:30 (EDT)
    assert quiet_until(utc(2026, 11, 1, 4, 30), quiet, NEW_YORK) == utc(2026, 11, 1, 5, 30)
    # When it is 01:45 EDT, Then the clock is past the end
    assert quiet_until(utc(2026, 11, 1, 5, 45), quiet, NEW_YORK) is None
    # When the clock has gone back to 01:10 EST, Then it shows quiet time again, until the second 01:30
    assert quiet_until(utc(2026, 11, 1, 6, 10), quiet, NEW_YORK) == utc(2026, 11, 1, 6, 30)


def test_london_quiet_hours_across_both_transitions() -> None:
    quiet = QuietHours(start=dt.time(23), end=dt.time(1, 30))
    # Given London springs forward at 01:00 GMT on 29 March 2026: 01:30 does not exist, the gap ends at 02:00 BST
    assert quiet_until(utc(2026, 3, 29, 0, 30), quiet, LONDON) == utc(2026, 3, 29, 1, 0)
    # Given London falls back at 02:00 BST on 25 October 2026: 01:30 BST (00:30 UTC) comes first
    assert quiet_until(utc(2026, 10, 24, 23, 0), quiet, LONDON) == utc(2026, 10, 25, 0, 30)
    # Given a summer evening, 21:30 BST, in 21:00-09:00, Then it ends at 09:00 BST (08:00 UTC)
    assert quiet_until(utc(2026, 7, 1, 20, 30), NIGHT, LONDON) == utc(2026, 7, 2, 8, 0)
    # And 20:30 BST (19:30 UTC) is not quiet even though 19:30 would be in a UTC reading of the same rule
    assert quiet_until(utc(2026, 7, 1, 19, 30), NIGHT, LONDON) is None


def test_quiet_hours_are_wall_times_not_aware_times() -> None:
    with pytest.raises(ValueError, match="wall times"):
        QuietHours(start=dt.time(21, tzinfo=dt.UTC), end=dt.time(9))


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        quiet_until(dt.datetime(2026, 3, 2, 23, 0), NIGHT, UTC_ZONE)


# --- next_local_time ------------------------------------------------------------------------------------------------


def test_next_tuesday_nine_from_a_minute_before_is_the_same_morning() -> None:
    # Given Tuesday 3 March 2026, 08:59 EST in New York
    now = utc(2026, 3, 3, 13, 59)
    # When we wait until Tuesday 09:00 local
    when = next_local_time(now, dt.time(9), NEW_YORK, weekdays={TUESDAY})
    # Then it is one minute later
    assert when == utc(2026, 3, 3, 14, 0)


def test_next_tuesday_nine_at_exactly_nine_is_a_week_later_across_dst() -> None:
    # Given Tuesday 3 March 2026, 09:00 EST exactly
    now = utc(2026, 3, 3, 14, 0)
    # When we wait until Tuesday 09:00 local (strictly after now)
    when = next_local_time(now, dt.time(9), NEW_YORK, weekdays=[TUESDAY])
    # Then it is 10 March 09:00, which is EDT by then (13:00 UTC), not 14:00 UTC
    assert when == utc(2026, 3, 10, 13, 0)


def test_next_local_time_on_any_day_is_tomorrow_once_today_has_passed() -> None:
    assert next_local_time(utc(2026, 3, 2, 23, 0), dt.time(9), AUCKLAND) == utc(2026, 3, 3, 20, 0)
    assert next_local_time(utc(2026, 3, 2, 19, 0), dt.time(9), AUCKLAND) == utc(2026, 3, 2, 20, 0)
    assert next_local_time(utc(2026, 3, 2, 19, 0), dt.time(9), NEW_YORK).tzinfo == dt.UTC


def test_next_local_time_through_the_spring_forward_gap_and_the_fall_back_fold() -> None:
    # Given 02:30 does not exist in New York on 8 March 2026: the first instant after the gap
    assert next_local_time(utc(2026, 3, 7, 12, 0), dt.time(2, 30), NEW_YORK) == utc(2026, 3, 8, 7, 0)
    # Given 01:30 happens twice on 1 November 2026: the first (EDT), then the second (EST), then the next day
    assert next_local_time(utc(2026, 10, 31, 12, 0), dt.time(1, 30), NEW_YORK) == utc(2026, 11, 1, 5, 30)
    assert next_local_time(utc(2026, 11, 1, 5, 30), dt.time(1, 30), NEW_YORK) == utc(2026, 11, 1, 6, 30)
    assert next_local_time(utc(2026, 11, 1, 6, 30), dt.time(1, 30), NEW_YORK) == utc(2026, 11, 2, 6, 30)


@pytest.mark.parametrize("weekdays", [set(), {7}, {-1, 2}])
def test_next_local_time_refuses_weekdays_that_never_come(weekdays: set[int]) -> None:
    with pytest.raises(ValueError, match="weekdays"):
        next_local_time(utc(2026, 3, 3, 13, 59), dt.time(9), NEW_YORK, weekdays=weekdays)


# --- cap_allows_at --------------------------------------------------------------------------------------------------


def test_the_third_send_in_a_week_is_allowed() -> None:
    # Given two sends this week under a cap of 3 per 7 days
    sent = [utc(2026, 3, 1, 10, 0), utc(2026, 3, 3, 10, 0)]
    # When / Then the third may go now
    assert cap_allows_at(sent, utc(2026, 3, 5, 12, 0), WEEKLY_THREE) is None


def test_the_fourth_send_waits_until_the_oldest_ages_out() -> None:
    # Given three sends this week, out of order, and one older send already outside the window
    sent = [utc(2026, 3, 5, 10, 0), utc(2026, 2, 20, 10, 0), utc(2026, 3, 1, 10, 0), utc(2026, 3, 3, 10, 0)]
    now = utc(2026, 3, 5, 12, 0)
    # When we ask about a fourth
    release = cap_allows_at(sent, now, WEEKLY_THREE)
    # Then it is held until the 1 March send leaves the window (now - 7 days, now]
    assert release == utc(2026, 3, 8, 10, 0)
    # And at that instant it may go, a microsecond earlier it may not
    assert cap_allows_at(sent, utc(2026, 3, 8, 10, 0), WEEKLY_THREE) is None
    assert cap_allows_at(sent, utc(2026, 3, 8, 9, 59, 59, 999999), WEEKLY_THREE) == release


def test_sends_after_now_count_against_the_cap() -> None:
    # Given two past sends and one stamped slightly in the future (clock skew or an already scheduled send)
    sent = [utc(2026, 3, 4, 10, 0), utc(2026, 3, 5, 10, 0), utc(2026, 3, 5, 12, 5)]
    # When we ask at 12:00, Then all three count and the oldest decides
    assert cap_allows_at(sent, utc(2026, 3, 5, 12, 0), WEEKLY_THREE) == utc(2026, 3, 11, 10, 0)


def test_a_cap_of_one_releases_after_the_latest_send() -> None:
    daily = FrequencyCap(limit=1, per=dt.timedelta(days=1))
    sent = [utc(2026, 3, 1, 8, 0), utc(2026, 3, 2, 8, 0)]
    assert cap_allows_at(sent, utc(2026, 3, 2, 20, 0), daily) == utc(2026, 3, 3, 8, 0)
    assert cap_allows_at([], utc(2026, 3, 2, 20, 0), daily) is None


@pytest.mark.parametrize(("limit", "per"), [(0, dt.timedelta(days=1)), (1, dt.timedelta(0))])
def test_a_cap_that_can_never_release_is_refused(limit: int, per: dt.timedelta) -> None:
    with pytest.raises(ValueError, match="frequency cap"):
        FrequencyCap(limit=limit, per=per)


# --- delivery_time --------------------------------------------------------------------------------------------------


def test_nothing_in_the_way_means_send_now() -> None:
    now = utc(2026, 3, 2, 15, 0)  # 10:00 EST
    assert delivery_time(now, sent_at=[], cap=WEEKLY_THREE, quiet=NIGHT, zone=NEW_YORK) == (None, None)
    assert delivery_time(now, sent_at=[], cap=None, quiet=None, zone=NEW_YORK) == (None, None)


def test_quiet_hours_alone_hold_the_message() -> None:
    # Given 04:00 in Auckland, When we would send, Then it waits for 09:00 there
    now = utc(2026, 3, 2, 15, 0)
    assert delivery_time(now, sent_at=[], cap=None, quiet=NIGHT, zone=AUCKLAND) == (
        utc(2026, 3, 2, 20, 0),
        "quietHours",
    )


def test_a_cap_release_that_falls_in_quiet_hours_moves_to_the_end_of_the_window() -> None:
    # Given a daily cap whose last send was 22:00 EST on 1 March, and quiet hours 21:00-08:00 in New York
    daily = FrequencyCap(limit=1, per=dt.timedelta(days=1))
    quiet = QuietHours(start=dt.time(21), end=dt.time(8))
    sent = [utc(2026, 3, 2, 3, 0)]
    # When we would send at 10:00 EST on 2 March
    when, reason = delivery_time(utc(2026, 3, 2, 15, 0), sent_at=sent, cap=daily, quiet=quiet, zone=NEW_YORK)
    # Then the cap releases at 22:00 EST, inside quiet hours, so it goes at 08:00 EST on 3 March
    assert (when, reason) == (utc(2026, 3, 3, 13, 0), "quietHours")


def test_a_cap_that_outlasts_the_quiet_window_decides() -> None:
    # Given 03:00 EST (quiet until 08:00) and a cap that releases at 10:00 EST the same morning
    daily = FrequencyCap(limit=1, per=dt.timedelta(days=1))
    quiet = QuietHours(start=dt.time(21), end=dt.time(8))
    sent = [utc(2026, 3, 1, 15, 0)]
    # When / Then
    when, reason = delivery_time(utc(2026, 3, 2, 8, 0), sent_at=sent, cap=daily, quiet=quiet, zone=NEW_YORK)
    assert (when, reason) == (utc(2026, 3, 2, 15, 0), "frequencyCap")


def test_a_cap_release_outside_quiet_hours_is_kept() -> None:
    sent = [utc(2026, 3, 1, 15, 0), utc(2026, 3, 3, 15, 0), utc(2026, 3, 4, 15, 0)]
    when, reason = delivery_time(utc(2026, 3, 5, 15, 0), sent_at=sent, cap=WEEKLY_THREE, quiet=NIGHT, zone=NEW_YORK)
    assert (when, reason) == (utc(2026, 3, 8, 15, 0), "frequencyCap")


# --- rate_window ----------------------------------------------------------------------------------------------------


def test_the_rate_window_is_the_current_utc_second() -> None:
    assert rate_window(utc(2026, 3, 2, 9, 0, 1, 999999), 14) == ("2026-03-02T09:00:01Z", 14)
    auckland_moment = dt.datetime(2026, 3, 2, 22, 0, 1, tzinfo=AUCKLAND)
    assert rate_window(auckland_moment, 1) == ("2026-03-02T09:00:01Z", 1)
    with pytest.raises(ValueError, match="at least one"):
        rate_window(utc(2026, 3, 2, 9, 0, 1), 0)


# --- properties -----------------------------------------------------------------------------------------------------

ZONES = st.sampled_from(
    [UTC_ZONE, AUCKLAND, NEW_YORK, LONDON, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("Asia/Kathmandu")]
)
# DST transitions of the sampled zones, so hypothesis lands near the awkward nights often, not by luck
TRANSITIONS = [
    utc(2026, 3, 8, 7, 0),
    utc(2026, 11, 1, 6, 0),
    utc(2026, 3, 29, 1, 0),
    utc(2026, 10, 25, 1, 0),
    utc(2026, 4, 4, 14, 0),
    utc(2026, 9, 26, 14, 0),
    utc(2026, 4, 4, 15, 0),
    utc(2026, 10, 3, 15, 30),
]
NOWS = st.one_of(
    st.datetimes(dt.datetime(2025, 1, 1), dt.datetime(2028, 1, 1)).map(lambda moment: moment.replace(tzinfo=dt.UTC)),
    st.tuples(st.sampled_from(TRANSITIONS), st.integers(-26 * 3600, 26 * 3600)).map(
        lambda pair: pair[0] + dt.timedelta(seconds=pair[1])
    ),
)
WALL_TIMES = st.builds(dt.time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 59]))
QUIETS = st.builds(QuietHours, WALL_TIMES, WALL_TIMES)
CAPS = st.builds(FrequencyCap, st.integers(1, 4), st.integers(1, 240).map(lambda hours: dt.timedelta(hours=hours)))


def in_quiet(moment: dt.datetime, quiet: QuietHours, zone: ZoneInfo) -> bool:
    wall = moment.astimezone(zone).time().replace(fold=0)
    if quiet.start == quiet.end:
        return False
    if quiet.start < quiet.end:
        return quiet.start <= wall < quiet.end
    return wall >= quiet.start or wall < quiet.end


def sends_in_window(sent: list[dt.datetime], moment: dt.datetime, cap: FrequencyCap) -> int:
    return sum(1 for send in sent if send > moment - cap.per)


@settings(max_examples=400, deadline=None)
@given(
    now=NOWS,
    zone=ZONES,
    quiet=st.none() | QUIETS,
    cap=st.none() | CAPS,
    offsets=st.lists(st.integers(-20 * 24 * 60, 6 * 60), max_size=8),
)
def test_delivery_time_is_never_early_never_quiet_and_within_the_cap(
    now: dt.datetime,
    zone: ZoneInfo,
    quiet: QuietHours | None,
    cap: FrequencyCap | None,
    offsets: list[int],
) -> None:
    # Given sends scattered around now (some in the future)
    sent = [now + dt.timedelta(minutes=minutes) for minutes in offsets]
    # When the rules are combined
    when, reason = delivery_time(now, sent_at=sent, cap=cap, quiet=quiet, zone=zone)
    # Then the chosen instant is now or later, outside quiet hours and under the cap
    moment = now if when is None else when
    assert (when is None) == (reason is None)
    assert when is None or (when > now and when.tzinfo == dt.UTC)
    assert quiet is None or not in_quiet(moment, quiet, zone)
    assert cap is None or sends_in_window(sent, moment, cap) < cap.limit


@settings(max_examples=300, deadline=None)
@given(now=NOWS, cap=CAPS, offsets=st.lists(st.integers(-20 * 24 * 60, 6 * 60), max_size=8))
def test_a_cap_release_is_the_earliest_instant_under_the_cap(
    now: dt.datetime, cap: FrequencyCap, offsets: list[int]
) -> None:
    sent = [now + dt.timedelta(minutes=minutes) for minutes in offsets]
    release = cap_allows_at(sent, now, cap)
    if release is None:
        assert sends_in_window(sent, now, cap) < cap.limit
    else:
        assert release > now
        assert sends_in_window(sent, release, cap) < cap.limit
        assert sends_in_window(sent, release - dt.timedelta(microseconds=1), cap) >= cap.limit


@settings(max_examples=300, deadline=None)
@given(
    now=NOWS,
    zone=ZONES,
    at=WALL_TIMES,
    weekdays=st.none() | st.frozensets(st.integers(0, 6), min_size=1),
)
def test_next_local_time_shows_the_wall_time_on_an_allowed_day(
    now: dt.datetime, zone: ZoneInfo, at: dt.time, weekdays: frozenset[int] | None
) -> None:
    when = next_local_time(now, at, zone, weekdays)
    assert now < when <= now + dt.timedelta(days=8)
    local = when.astimezone(zone)
    if local.time() == at:
        assert weekdays is None or local.weekday() in weekdays
    else:
        # `at` was skipped by a gap: `when` is the transition, the clock just before it was short of `at`
        before = (when - dt.timedelta(seconds=1)).astimezone(zone)
        assert before.time() < at < local.time()
        assert weekdays is None or before.weekday() in weekdays


def test_time_zones_resolve_from_the_tzdata_package_without_a_system_database() -> None:
    # Given a machine with no system zone database (the Lambda runtime on Amazon Linux 2023)
    zoneinfo.reset_tzpath(to=[])
    zoneinfo.ZoneInfo.clear_cache()
    try:
        # Then the profile's zone still resolves, from the tzdata package the Dependencies layer ships
        assert profile_zone({"timezone": "Pacific/Auckland"}).key == "Pacific/Auckland"
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache()
