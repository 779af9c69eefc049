"""What the segments use cases need from their table, as small protocols (adapters/dynamodb.py; adapters/memory.py
in tests), and the refusals a conditional write answers with."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from services.segments.domain.stored import CounterDeltas, RollupWrite, StoredDefinitions, StoredRollup


class StaleRollup(RuntimeError):
    """Another writer updated the rollup first; the caller re-reads and re-applies."""


class StaleDefinition(RuntimeError):
    """The definition changed (or exists) since the caller read it."""


class Definitions(Protocol):
    """Segments, scoring plans and questionnaires: the current ones, their versions and the generation."""

    def definitions(self) -> StoredDefinitions: ...
    def definition(self, kind: str, definition_id: str) -> dict[str, Any] | None: ...
    def save_definition(
        self, kind: str, definition_id: str, body: dict[str, Any], now_iso: str, previous: dict[str, Any] | None
    ) -> dict[str, Any]: ...
    def generation(self) -> int: ...
    def history(self, kind: str, definition_id: str) -> list[dict[str, Any]]: ...


class Backfills(Protocol):
    """Progress of each segment's latest backfill, each page counted once."""

    def start_backfill(self, segment_id: str, backfill_id: str, version: int, parts: int, now_iso: str) -> None: ...
    def backfill(self, segment_id: str) -> dict[str, Any] | None: ...
    def record_backfill_page(
        self, segment_id: str, backfill_id: str, mark: str, processed: int, changed: int, part_done: bool, now_iso: str
    ) -> None: ...


class Rollups(Protocol):
    """One rollup per profile, written only if unchanged since read (StaleRollup), with its outbox and due time."""

    def rollup(self, profile_id: str) -> StoredRollup: ...
    def save_rollup(
        self, profile_id: str, stored: StoredRollup, read_version: int, counters: CounterDeltas | None = None
    ) -> int: ...
    def save_rollups(self, writes: list[RollupWrite]) -> None: ...
    def delete_rollup(self, profile_id: str, read_version: int, counters: CounterDeltas) -> None: ...
    def set_outbox(self, profile_id: str, version: int, outbox: list[dict[str, Any]], due_at: str | None) -> bool: ...
    def due_profiles(self, now_iso: str, limit: int = 500) -> list[str]: ...
    def scan_rollups(
        self, part: int, parts: int, cursor: dict[str, Any] | None, limit: int
    ) -> tuple[list[tuple[str, StoredRollup]], dict[str, Any] | None]: ...


class Erasures(Protocol):
    """Tombstones of erased people, so a late message does not bring their rollup back."""

    def mark_erased(self, profile_id: str, now: dt.datetime) -> None: ...
    def is_erased(self, profile_id: str, now: dt.datetime) -> bool: ...


class Statistics(Protocol):
    """Counters over all profiles: per day (entries, exits, movements) and current (sizes, pairs, tiers)."""

    def day_counters(self, first_day: str, last_day: str) -> dict[str, dict[str, int]]: ...
    def current_counters(self) -> dict[str, int]: ...


class Profiles(Rollups, Erasures, Protocol):
    """What real-time evaluation, merges and erasure need: rollups, and who was erased."""


class SegmentStore(Definitions, Backfills, Profiles, Statistics, Protocol):
    """The segments service's table, for the use cases that need several of its parts."""
