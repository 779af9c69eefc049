"""Publishes prepared (already serialised) EventCollected envelopes to EventBridge, 10 entries / 240 KB a call."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from services.common.bus import MAX_ENTRIES, MAX_REQUEST_BYTES, PublishFailed
from services.events.domain.ingestion import Prepared


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    def publish(self, events: Sequence[Prepared]) -> None:
        failures: list[dict[str, Any]] = []
        for chunk in _chunks(events):
            entries = [
                {
                    "EventBusName": self._bus_name,
                    "Source": e.SOURCE,
                    "DetailType": e.DETAIL_TYPE,
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
                                "id": event.id,
                                "messageId": event.message_id,
                                "detailType": event.DETAIL_TYPE,
                                "error": result["ErrorCode"],
                                "message": result.get("ErrorMessage"),
                            }
                        )
        if failures:
            raise PublishFailed(failures)


def _chunks(events: Sequence[Prepared]) -> Iterator[list[Prepared]]:
    """Groups of at most 10 entries and 240 KB, in order."""
    group: list[Prepared] = []
    size = 0
    for event in events:
        entry_size = len(event.detail.encode()) + len(event.DETAIL_TYPE) + len(event.SOURCE) + 64
        if group and (len(group) == MAX_ENTRIES or size + entry_size > MAX_REQUEST_BYTES):
            yield group
            group, size = [], 0
        group.append(event)
        size += entry_size
    if group:
        yield group
