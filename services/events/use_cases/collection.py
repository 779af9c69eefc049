"""Collection use cases: claim each message for the dedupe window, publish the new ones as `EventCollected`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from services.common.bus import PublishFailed
from services.events.domain.ingestion import Prepared
from services.events.domain.messages import Request
from services.events.ports import EventPublisher, MessageLedger


@dataclass
class Collection:
    published: list[Prepared] = field(default_factory=list)
    duplicates: list[Prepared] = field(default_factory=list)  # seen from this source within the window


def collect(
    events: list[Prepared],
    request: Request,
    window: dt.timedelta,
    ledger: MessageLedger,
    publisher: EventPublisher,
) -> Collection:
    """Claim each messageId for the window, publish only the new ones. If the bus refuses, the claims are
    released so the client's retry (Segment clients retry on 5xx) is collected rather than taken for a duplicate.

    A zero window turns the claims off (no DynamoDB write here): a re-sent message is published again with the same
    envelope id (derived from source and messageId), which every consumer already dedupes on."""
    if not events:
        return Collection()
    if window <= dt.timedelta(0):
        publisher.publish_serialised(events)
        return Collection(list(events))
    now = request.received_at
    seen = ledger.claim(request.source_id, [e.message_id for e in events], now, now + window)
    fresh = [e for e in events if e.message_id not in seen]
    if fresh:
        try:
            publisher.publish_serialised(fresh)
        except PublishFailed:
            ledger.release(request.source_id, [e.message_id for e in fresh])
            raise
    return Collection(fresh, [e for e in events if e.message_id in seen])
