"""What the segments store keeps and hands back, as plain data: the definitions it holds, a profile's rollup (or
the stub of a profile folded into another) and one rollup write of a transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CounterDeltas = tuple[str, dict[str, int], dict[str, int]]
"""The statistics a rollup write brings: its day, the per-day deltas and the current deltas."""


@dataclass
class StoredDefinitions:
    """Every current definition (stored dicts, with ids and versions) and their generation."""

    segments: list[dict[str, Any]] = field(default_factory=list)
    plans: list[dict[str, Any]] = field(default_factory=list)
    questionnaires: list[dict[str, Any]] = field(default_factory=list)
    generation: int = 0


@dataclass
class StoredRollup:
    """A rollup item: `state` is ProfileState JSON; `seen` maps applied causes to the messages they replay;
    `outbox` holds messages written but not yet confirmed published."""

    state: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    seen: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    due_at: str | None = None
    folded: Folded | None = None  # set on the rollup of a profile folded into another


@dataclass
class Folded:
    """A folded profile's rollup: which profile it went into, by which merge and when, the share the survivor took
    (the folded state included) and until when it is kept (epoch seconds)."""

    into: str
    merge_id: str
    at: str
    share: dict[str, Any]
    expires_at: int


@dataclass
class RollupWrite:
    """One conditional rollup write of a transaction: the new item (`stored`), the version it was read at (0: none)
    and the statistics deltas (day, per-day, current) it brings."""

    profile_id: str
    stored: StoredRollup
    read_version: int
    counters: CounterDeltas


def new_backfill(backfill_id: str, version: int, parts: int, requested_at: str) -> dict[str, Any]:
    """A segment's backfill progress as it starts: every part still to do."""
    return {
        "backfillId": backfill_id,
        "segmentVersion": version,
        "status": "running",
        "parts": parts,
        "partsDone": 0,
        "pages": 0,
        "processed": 0,
        "changed": 0,
        "requestedAt": requested_at,
    }
