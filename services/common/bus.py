"""Publishes events to the EventBridge bus in PutEvents-sized batches; failed entries raise, never vanish."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from services.common.contracts.envelope import Envelope

MAX_ENTRIES = 10  # PutEvents limit per call
MAX_REQUEST_BYTES = 240 * 1024  # PutEvents allows 256 KB per call; keep headroom for the entry overhead


class PublishFailed(RuntimeError):
    """Some entries were refused by the bus; the caller's message must be retried."""

    def __init__(self, failures: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(failures)} event(s) not published: {failures[:3]}")
        self.failures = failures


class Publisher(Protocol):
    def publish(self, events: Sequence[Envelope[Any]]) -> None: ...


class Serialised(Protocol):
    """An event whose envelope is already JSON (`detail`), as PutEvents takes it."""

    @property
    def source(self) -> str: ...
    @property
    def detail_type(self) -> str: ...
    @property
    def detail(self) -> str: ...
    @property
    def occurred_at(self) -> dt.datetime: ...
    def names(self) -> dict[str, str]:
        """What identifies the event in a failure report: its envelope `id`, and any other id worth logging."""
        ...


@dataclass(frozen=True, slots=True)
class _Serialised:
    source: str
    detail_type: str
    detail: str
    occurred_at: dt.datetime
    id: str

    def names(self) -> dict[str, str]:
        return {"id": self.id}


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    def publish(self, events: Sequence[Envelope[Any]]) -> None:
        self.publish_serialised(
            [_Serialised(e.source, e.detail_type, e.to_detail(), e.occurred_at, e.id) for e in events]
        )

    def publish_serialised(self, events: Sequence[Serialised]) -> None:
        """Events serialised by the caller (the events service serialises once, on its hot path)."""
        failures: list[dict[str, Any]] = []
        for chunk in _chunks(events):
            entries = [
                {
                    "EventBusName": self._bus_name,
                    "Source": e.source,
                    "DetailType": e.detail_type,
                    "Detail": e.detail,
                    "Time": e.occurred_at,
                }
                for e in chunk
            ]
            response = self._client.put_events(Entries=entries)
            if response.get("FailedEntryCount"):
                for event, result in zip(chunk, response["Entries"], strict=True):
                    if result.get("ErrorCode"):
                        failures.append(
                            {
                                **event.names(),
                                "detailType": event.detail_type,
                                "error": result["ErrorCode"],
                                "message": result.get("ErrorMessage"),
                            }
                        )
        if failures:
            raise PublishFailed(failures)


class RecordingPublisher:
    """In-memory publisher for unit tests of handlers' cores."""

    def __init__(self) -> None:
        self.published: list[Envelope[Any]] = []

    def publish(self, events: Sequence[Envelope[Any]]) -> None:
        self.published.extend(events)


def _chunks(events: Sequence[Serialised]) -> Iterator[list[Serialised]]:
    """Groups of at most 10 entries and 240 KB, in order."""
    group: list[Serialised] = []
    size = 0
    for event in events:
        entry_size = len(event.detail.encode()) + len(event.detail_type) + len(event.source) + 64
        if group and (len(group) == MAX_ENTRIES or size + entry_size > MAX_REQUEST_BYTES):
            yield group
            group, size = [], 0
        group.append(event)
        size += entry_size
    if group:
        yield group
