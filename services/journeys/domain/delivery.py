"""Journey delivery rules (quiet hours, frequency caps, local send times, rate windows) as pure time arithmetic."""

from __future__ import annotations

import datetime as dt
import heapq
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "UTC"
TIMEZONE_TRAIT = "timezone"
WEEKDAYS = range(7)
# A release only ever moves later and, once past a rule, stays past it, so two rounds settle every real zone; the
# bound guards against a rule table we did not foresee rather than against a case we expect.
_MAX_ROUNDS = 16

DeferReason = Literal["frequencyCap", "quietHours"]


@dataclass(frozen=True)
class QuietHours:
    start: dt.time
    end: dt.time

    def __post_init__(self) -> None:
        # An aware `time` would suggest an offset we silently ignore: the window is the profile's wall clock.
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("quiet hours are local wall times; pass naive dt.time values")

    def covers(self, wall: dt.time) -> bool:
        """Whether a local wall-clock time falls inside the window [start, end), wrapping midnight if needed."""
        wall = wall.replace(tzinfo=None, fold=0)
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end


@dataclass(frozen=True)
class FrequencyCap:
    limit: int
    per: dt.timedelta

    def __post_init__(self) -> None:
        # A zero limit or window has no release time to compute; "never send" belongs to consent, not to a cap.
        if self.limit < 1:
            raise ValueError("a frequency cap allows at least one message")
        if self.per <= dt.timedelta(0):
            raise ValueError("a frequency cap window must be positive")


def profile_zone(traits: Mapping[str, Any], default: str = DEFAULT_ZONE) -> ZoneInfo:
    """The profile's own time zone: trait `timezone` (IANA name, e.g. 'Pacific/Auckland'), else `default`; an unknown
    or malformed name falls back to default (never raises for bad trait data; raises ValueError only if `default`
    itself is not a valid zone)."""
    fallback = _zone(default)
    if fallback is None:
        raise ValueError(f"default time zone {default!r} is not a known IANA zone")
    name = traits.get(TIMEZONE_TRAIT)
    if not isinstance(name, str):
        return fallback
    return _zone(name.strip()) or fallback


def quiet_until(now: dt.datetime, quiet: QuietHours, zone: ZoneInfo) -> dt.datetime | None:
    """None when `now` (aware UTC) is outside the quiet window in `zone`; otherwise the UTC instant the window ends
    (the next local `end` wall time). DST-correct: an `end` that does not exist that day (spring-forward gap) ends
    the window at the first instant after the gap; an ambiguous one (fall-back) at its first occurrence still ahead
    of `now`. Aware UTC result."""
    _require_aware(now)
    if not quiet.covers(_wall(now, zone).time()):
        return None
    end = next_local_time(now, quiet.end, zone)
    # A gap can jump the clock from before `end` straight back into a window that wraps almost the whole day; the
    # window has only ended once the wall clock is outside it.
    for _ in range(_MAX_ROUNDS):
        if not quiet.covers(_wall(end, zone).time()):
            return end
        end = next_local_time(end, quiet.end, zone)
    raise RuntimeError(f"quiet hours {quiet} never end in {zone.key}")


def next_local_time(
    now: dt.datetime, at: dt.time, zone: ZoneInfo, weekdays: Collection[int] | None = None
) -> dt.datetime:
    """The first instant strictly after `now` when the local wall clock in `zone` shows `at` on one of `weekdays`
    (Monday=0 … Sunday=6; None = any day). A wall time skipped by a spring-forward gap maps to the first instant
    after the gap; a repeated one (fall-back) to its first occurrence, or the second if the first is not after
    `now`. Aware UTC result."""
    _require_aware(now)
    if at.tzinfo is not None:
        raise ValueError("`at` is a local wall time; pass a naive dt.time")
    days = set(WEEKDAYS if weekdays is None else weekdays)
    if not days or not days <= set(WEEKDAYS):
        raise ValueError(f"weekdays must be a non-empty subset of 0..6, got {sorted(days)}")
    # Starting a day early covers a gap-shifted instant that lands on today's date from yesterday's wall time.
    today = _wall(now, zone).date()
    for offset in range(-1, 9):
        day = today + dt.timedelta(days=offset)
        if day.weekday() not in days:
            continue
        for instant in _occurrences(day, at, zone):
            if instant > now:
                return instant
    raise RuntimeError(f"no {at} on weekdays {sorted(days)} within a week in {zone.key}")


def cap_allows_at(sent_at: Sequence[dt.datetime], now: dt.datetime, cap: FrequencyCap) -> dt.datetime | None:
    """None when one more message may go now (fewer than `limit` sends in the window (now - per, now]); otherwise
    the earliest instant at which it may go (when enough of the sends in the window have aged out). Unordered
    input; sends in the future relative to now count as in the window."""
    _require_aware(now)
    recent = heapq.nlargest(cap.limit, sent_at)
    if len(recent) < cap.limit:
        return None
    # Only the limit-th most recent send matters: once it leaves the window, at most limit - 1 remain.
    release = recent[-1] + cap.per
    if release <= now:
        return None
    return release.astimezone(dt.UTC)


def delivery_time(
    now: dt.datetime,
    *,
    sent_at: Sequence[dt.datetime],
    cap: FrequencyCap | None,
    quiet: QuietHours | None,
    zone: ZoneInfo,
) -> tuple[dt.datetime | None, DeferReason | None]:
    """Combine the rules: (None, None) = send now; else (when, reason) with reason 'frequencyCap' or 'quietHours':
    the earliest instant that satisfies both the cap and the quiet window. The reason names the rule that set
    `when`, i.e. the last one that pushed it later (a cap release that lands in quiet hours reports
    'quietHours')."""
    _require_aware(now)
    when = now
    reason: DeferReason | None = None
    held = False
    for _ in range(_MAX_ROUNDS):
        moved = False
        if cap is not None and (release := cap_allows_at(sent_at, when, cap)) is not None:
            when, reason, moved = release, "frequencyCap", True
        if quiet is not None and (end := quiet_until(when, quiet, zone)) is not None:
            when, reason, moved = end, "quietHours", True
        if not moved:
            return (when, reason) if held else (None, None)
        held = True
    raise RuntimeError(f"delivery rules did not settle after {_MAX_ROUNDS} rounds from {now.isoformat()}")


def rate_window(now: dt.datetime, per_second: int) -> tuple[str, int]:
    """For a global send-rate limit per channel: the key of the current one-second window (e.g.
    '2026-03-02T09:00:01Z') and the limit; trivial but keeps the format in one place."""
    _require_aware(now)
    if per_second < 1:
        raise ValueError("a send-rate limit allows at least one message per second")
    return now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), per_second


def _zone(name: str) -> ZoneInfo | None:
    # Trait data is user input: besides unknown keys, ZoneInfo raises ValueError for absolute or non-normalised paths
    # and non-TZif files (zone.tab), and OSError for directories (America) or over-long names.
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _require_aware(moment: dt.datetime) -> None:
    # A naive datetime would be read as the host's local time by astimezone, which is the bug this module prevents.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got {moment!r}")


def _wall(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    # Via UTC: astimezone to the datetime's own tzinfo is a no-op, which would hide a non-existent wall time.
    return moment.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)


def _occurrences(day: dt.date, at: dt.time, zone: ZoneInfo) -> list[dt.datetime]:
    """The UTC instants, in order, at which the wall clock in `zone` shows `at` on `day`: one, two on a fall-back
    night, or for a spring-forward gap the single instant the gap ends."""
    wall = dt.datetime.combine(day, at.replace(fold=0))
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    if _wall(first, zone) != wall:
        return [_gap_end(first, second, wall, zone)]
    if first.utcoffset() == second.utcoffset():
        return [first.astimezone(dt.UTC)]
    return [first.astimezone(dt.UTC), second.astimezone(dt.UTC)]


def _gap_end(first: dt.datetime, second: dt.datetime, wall: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The transition instant that skips over `wall`: the first instant whose wall clock is past it."""
    # Read with the offsets before and after the gap, `wall` brackets the transition: the clock shows less than `wall`
    # at the earlier reading and more at the later. zoneinfo does not expose its transitions, so bisect on whole
    # seconds, the resolution of the tz database.
    # (Timestamps, not the datetimes: two datetimes sharing a tzinfo compare by wall time and ignore fold.)
    readings = sorted((first.timestamp(), second.timestamp()))
    low, high = math.floor(readings[0]), math.floor(readings[1]) + 1
    while high - low > 1:
        middle = (low + high) // 2
        if _wall(dt.datetime.fromtimestamp(middle, dt.UTC), zone) > wall:
            high = middle
        else:
            low = middle
    return dt.datetime.fromtimestamp(high, dt.UTC)
