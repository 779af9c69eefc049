"""The visitor's local hour, weekday and part of day at the time of an event, from `context.timezone` (IANA)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_TIMEZONE = 64


def part_of_day(hour: int) -> str:
    """night 0–5, morning 6–11, afternoon 12–17, evening 18–23."""
    if hour < 6:
        return "night"
    if hour < 12:
        return "morning"
    if hour < 18:
        return "afternoon"
    return "evening"


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo | None:
    """The IANA zone of that name, or None for anything else (including paths: zoneinfo refuses them)."""
    if not name or len(name) > MAX_TIMEZONE:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def local_time(moment: dt.datetime, timezone: object) -> dict[str, object] | None:
    """`{"hour", "weekday" (Monday = 0), "partOfDay", "timezone"}`, or None when the zone is absent or unknown."""
    if not isinstance(timezone, str):
        return None
    tz = zone(timezone)
    if tz is None:
        return None
    local = moment.astimezone(tz)
    return {"hour": local.hour, "weekday": local.weekday(), "partOfDay": part_of_day(local.hour), "timezone": timezone}
