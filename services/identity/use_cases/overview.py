"""The console overview's identity figures: profiles known and anonymous, recorded events per UTC day."""

from __future__ import annotations

from typing import Any

from services.common import clock
from services.identity.domain.stats import last_days, per_day
from services.identity.ports import Overview


def profile_stats(store: Overview, days: int) -> dict[str, Any]:
    """Exact counters, kept by the writes themselves: a redelivered event or a merge never counts twice."""
    wanted = last_days(clock.now().date(), days)
    counts = store.profile_counts()
    return {
        "profiles": {"known": counts.get("known", 0), "anonymous": counts.get("anonymous", 0)},
        "eventsPerDay": per_day(store.events_per_day(wanted[0], wanted[-1]), wanted, "events"),
    }
