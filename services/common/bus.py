"""Publishes contract events to the EventBridge bus in batches of 10; failed entries raise, never vanish."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    def publish(self, events: Sequence[Envelope[Any]]) -> None:
        failures: list[dict[str, Any]] = []
        entries = [
            {
                "EventBusName": self._bus_name,
                "Source": e.source,
                "DetailType": e.detail_type,
                "Detail": e.to_detail(),
                "Time": e.occurred_at,
            }
            for e in events
        ]
        for chunk, sent in _chunks(list(events), entries):
            response = self._client.put_events(Entries=sent)
            if response.get("FailedEntryCount"):
                for event, result in zip(chunk, response["Entries"], strict=True):
                    if result.get("ErrorCode"):
                        failures.append(
                            {
                                "id": event.id,
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


def _chunks(
    events: list[Envelope[Any]], entries: list[dict[str, Any]]
) -> Iterable[tuple[list[Envelope[Any]], list[dict[str, Any]]]]:
    """Groups of at most 10 entries and 240 KB, in order."""
    group: list[int] = []
    size = 0
    for index, entry in enumerate(entries):
        entry_size = len(entry["Detail"].encode()) + len(entry["DetailType"]) + len(entry["Source"]) + 64
        if group and (len(group) == MAX_ENTRIES or size + entry_size > MAX_REQUEST_BYTES):
            yield [events[i] for i in group], [entries[i] for i in group]
            group, size = [], 0
        group.append(index)
        size += entry_size
    if group:
        yield [events[i] for i in group], [entries[i] for i in group]
