"""What the content use cases need from their table, as small protocols (adapters/dynamodb.py; adapters/memory.py
in tests), and the refusal an optimistic write answers with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.content.domain.visitors import VisitorState


class StaleState(RuntimeError):
    """Another consumer wrote the profile's state first; the caller re-reads and re-applies."""


class RecipientRefused(ValueError):
    """The mail service refused to send this test (the address, or the account's sandbox); `reason` is its message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Definitions(Protocol):
    """Slots, catalogue items, email templates and experiments: admin-written, read whole by each container."""

    def save_definition(
        self, kind: str, definition_id: str, body: dict[str, Any], now: dt.datetime
    ) -> dict[str, Any]: ...
    def definition(self, kind: str, definition_id: str) -> dict[str, Any] | None: ...
    def definitions(self, kind: str) -> list[dict[str, Any]]: ...
    def delete_definition(self, kind: str, definition_id: str) -> bool: ...
    def save_items(self, items: Sequence[dict[str, Any]], now: dt.datetime) -> None: ...


class Visitors(Protocol):
    """The per-profile state and its per-identifier projections (what a decision reads in one GetItem)."""

    def state(self, profile_id: str) -> VisitorState | None: ...
    def save_state(self, state: VisitorState, read_version: int, now: dt.datetime) -> None: ...
    def project(self, key: str, state: VisitorState, now: dt.datetime) -> None: ...
    def visitor(self, key: str) -> dict[str, Any] | None: ...
    def visitors(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]: ...


@dataclass(frozen=True)
class DecisionWrite:
    """What one decision records, in one write to the visitor's item: the slots whose exposure changed and the
    experiments the visitor was first exposed to (each counted once per unit: profile, or anonymous visitor)."""

    key: str
    serves: tuple[Any, ...] = ()  # exposures.Serve
    experiments: tuple[tuple[str, str, str], ...] = ()  # (experiment id, variant id, unit key)
    profile_id: str | None = None


class Decisions(Protocol):
    def record_decision(self, write: DecisionWrite) -> None: ...


@dataclass(frozen=True)
class ViewCount:
    """One activity's contribution to the content analytics, counted once by its message id."""

    profile_id: str
    message_id: str
    day: str
    audiences: tuple[str, ...]
    item_id: str | None
    topics: tuple[str, ...]
    kind: str  # view or click
    link: str | None = None
    reader_keys: tuple[str, ...] = field(default_factory=tuple)


class Analytics(Protocol):
    def count_activity(self, count: ViewCount, now: dt.datetime) -> bool: ...
    def stats(self, days: Sequence[str]) -> list[dict[str, Any]]: ...
    def popular(self, audience: str) -> dict[str, int]: ...


class Experiments(Protocol):
    def exposure_marks(self, experiment_id: str, units: Sequence[str]) -> dict[str, str]: ...
    def record_exposure(self, experiment_id: str, variant_id: str, unit: str, now: dt.datetime) -> bool: ...
    def record_conversion(self, experiment_id: str, unit: str, variant_id: str, now: dt.datetime) -> bool: ...
    def experiment_counts(self, experiment_id: str) -> dict[str, dict[str, int]]: ...


class Erasures(Protocol):
    def mark_erased(self, profile_id: str, now: dt.datetime) -> None: ...
    def is_erased(self, profile_id: str, now: dt.datetime) -> bool: ...
    def erase(self, profile_id: str, keys: Iterable[str]) -> None: ...


class ContentStore(Definitions, Visitors, Decisions, Analytics, Experiments, Erasures, Protocol):
    """Everything the content service keeps, in its one table."""
