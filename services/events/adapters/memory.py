"""In-memory adapters with the same Protocols as the real ones, for unit tests of the use cases."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from services.common.contracts.collection import EventCollected
from services.common.contracts.envelope import Envelope
from services.events.domain.ingestion import Prepared


class MemoryLedger:
    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], dt.datetime] = {}

    def claim(self, source_id: str, message_ids: Sequence[str], now: dt.datetime, until: dt.datetime) -> set[str]:
        duplicates = set()
        for message_id in message_ids:
            expires = self.seen.get((source_id, message_id))
            if expires is not None and expires >= now:
                duplicates.add(message_id)
            else:
                self.seen[(source_id, message_id)] = until
        return duplicates

    def release(self, source_id: str, message_ids: Sequence[str]) -> None:
        for message_id in message_ids:
            self.seen.pop((source_id, message_id), None)


class MemoryClickLog:
    def __init__(self) -> None:
        self.clicks: dict[str, dict[str, dt.datetime]] = {}

    def record(self, message_id: str, link: str, at: dt.datetime, until: dt.datetime) -> dict[str, dt.datetime]:
        before = dict(self.clicks.get(message_id, {}))
        self.clicks.setdefault(message_id, {})[link] = at
        return before


class RecordingPublisher:
    """Keeps what would have gone on the bus; `fail` makes the next publish raise like a refusing bus."""

    def __init__(self) -> None:
        self.published: list[Prepared] = []
        self.fail: Exception | None = None

    def publish_serialised(self, events: Sequence[Prepared]) -> None:
        if self.fail is not None:
            raise self.fail
        self.published.extend(events)

    def envelopes(self) -> list[Envelope[EventCollected]]:
        return [p.envelope() for p in self.published]

    def data(self) -> list[EventCollected]:
        return [e.data for e in self.envelopes()]

    def details(self) -> list[dict[str, Any]]:
        return [json.loads(p.detail) for p in self.published]
