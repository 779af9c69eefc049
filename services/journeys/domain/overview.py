"""The console overview's journeys figures: sends counted per UTC day and channel (sharded by profile), the active
journeys. Pure."""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

SENDS_SHARDS = 8  # so no counter item runs hot on a big campaign day
MAX_DAYS = 90


def sends_key(profile_id: str, sent_at: dt.datetime) -> tuple[str, str]:
    """The counter item (pk, sk) a send to this profile at this time counts in."""
    return f"SENDS#{zlib.crc32(profile_id.encode()) % SENDS_SHARDS}", sent_at.astimezone(dt.UTC).date().isoformat()


def last_days(today: dt.date, days: int) -> list[str]:
    """The `days` UTC days ending today, oldest first."""
    return [(today - dt.timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]


def journeys_overview(
    journeys: Iterable[Mapping[str, Any]], sends: Mapping[str, Mapping[str, int]], days: list[str]
) -> dict[str, Any]:
    """Active journeys; sends per day (every day asked, zeros included) and per channel over those days."""
    by_channel: dict[str, int] = {}
    per_day = []
    for day in days:
        counted = sends.get(day) or {}
        per_day.append({"day": day, "sends": sum(counted.values()), "byChannel": dict(sorted(counted.items()))})
        for channel, n in counted.items():
            by_channel[channel] = by_channel.get(channel, 0) + n
    return {
        "active": sum(1 for j in journeys if j.get("status") == "active"),
        "sendsPerDay": per_day,
        "sendsByChannel": dict(sorted(by_channel.items())),
    }
