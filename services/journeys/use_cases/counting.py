"""A run's bookkeeping: counters per journey version and node, each transition counted once."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from services.journeys.domain.overview import sends_key
from services.journeys.ports import Counters

JOURNEY_LEVEL = "journey"


def stat_key(version: int, node: str) -> str:
    return f"v{version}#{node}"


def count(
    repo: Counters,
    journey_id: str,
    version: int,
    marker: str | None,
    changes: list[tuple[str, str]],
    now: dt.datetime,
    sent: tuple[str, str] | None = None,
) -> bool:
    """Add one to each (node, counter) of this version, once per `marker`; `sent` (channel, profile id): a send,
    also counted on its UTC day for the overview, in the same write."""
    increments: dict[str, dict[str, int]] = defaultdict(dict)
    for node, counter in changes:
        bucket = increments[stat_key(version, node)]
        bucket[counter] = bucket.get(counter, 0) + 1
    if sent is None:
        return repo.count(journey_id, marker, increments, now)
    channel, profile_id = sent
    return repo.count(journey_id, marker, increments, now, sends={sends_key(profile_id, now): {channel: 1}})


def arrival(run: dict[str, Any], node: str, via: dict[str, Any] | None, decided: bool = False) -> list[tuple[str, str]]:
    """Entering `node` completes the node the run came from, on the branch it took (unless that node counted
    its branch when it decided: splits, holdouts and conditions do, so a run stopped right after still counts)."""
    changes = [(node, "entered")]
    previous = (via or {}).get("node")
    branch = (via or {}).get("branch")
    if previous and previous != node:
        changes.append((previous, "completed"))
        if branch is not None and not decided:
            changes.append((previous, f"branch:{branch}"))
    elif previous == node:
        return []  # back from a hold or a deferral: the arrival was counted the first time
    return changes
