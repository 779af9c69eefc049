"""The overview's figures, as exact counters: which profiles count as known or anonymous, and on which UTC day a
recorded event counts. Pure."""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Mapping
from typing import Literal

from services.identity.domain.records import Entry, Profile

ProfileClass = Literal["known", "anonymous"]
PROFILE_CLASSES: tuple[ProfileClass, ...] = ("known", "anonymous")
STATS_SHARDS = 8  # counters are sharded by profile, so no counter item runs hot
MAX_DAYS = 90


def profile_class(profile: Profile | None) -> ProfileClass | None:
    """What a stored profile counts as: known (an email or a user id points at it), anonymous (only devices and
    anonymous ids), or nothing (merged into another: the survivor counts for both; erased: gone)."""
    if profile is None or profile.merged_into:
        return None
    return "known" if profile.known else "anonymous"


def class_change(before: ProfileClass | None, after: ProfileClass | None) -> dict[str, int]:
    """The counter deltas of a profile moving from one class to another (empty when it stays)."""
    if before == after:
        return {}
    deltas: dict[str, int] = {}
    if before:
        deltas[before] = -1
    if after:
        deltas[after] = 1
    return deltas


def stats_shard(profile_id: str) -> int:
    return zlib.crc32(profile_id.encode()) % STATS_SHARDS


def event_day(entry: Entry) -> str | None:
    """The UTC day an appended timeline entry counts on: its event's own time (an activity), else nothing."""
    if entry.kind != "activity" or not entry.activity:
        return None
    stamp = str(entry.activity.get("timestamp") or "")
    try:
        return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(dt.UTC).date().isoformat()
    except ValueError:
        return None


def last_days(today: dt.date, days: int) -> list[str]:
    """The `days` UTC days ending today, oldest first."""
    return [(today - dt.timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]


def per_day(counts: Mapping[str, int], days: list[str], name: str) -> list[dict[str, int | str]]:
    """`[{"day": ..., name: n}]` for every day asked, zero where nothing was counted."""
    return [{"day": day, name: int(counts.get(day, 0))} for day in days]
