"""Events use cases: orchestrate the pure core over the ledger, click log and publisher ports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from services.common import email_links
from services.common.bus import PublishFailed
from services.events.domain import machine
from services.events.domain.email_tracking import email_activity, link_key
from services.events.domain.ingestion import Config, Prepared
from services.events.domain.messages import Request
from services.events.ports import ClickLog, EventPublisher, MessageLedger

CLICK_MEMORY = dt.timedelta(days=1)  # how long an email's recent clicks are kept for the burst test


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
        publisher.publish(events)
        return Collection(list(events))
    now = request.received_at
    seen = ledger.claim(request.source_id, [e.message_id for e in events], now, now + window)
    fresh = [e for e in events if e.message_id not in seen]
    if fresh:
        try:
            publisher.publish(fresh)
        except PublishFailed:
            ledger.release(request.source_id, [e.message_id for e in fresh])
            raise
    return Collection(fresh, [e for e in events if e.message_id in seen])


@dataclass(frozen=True)
class Tracking:
    key: bytes
    max_age: dt.timedelta
    thresholds: machine.Thresholds
    enrichment: Config


def verified(text: str, kind: email_links.Kind, request: Request, tracking: Tracking) -> email_links.TrackingToken:
    """The token's content; raises InvalidToken or ExpiredToken."""
    return email_links.verify(text, tracking.key, request.received_at, kind, tracking.max_age)


def record_open(
    token: email_links.TrackingToken, request: Request, tracking: Tracking, publisher: EventPublisher
) -> Prepared:
    verdict = machine.judge(
        at=request.received_at,
        issued_at=token.issued_at,
        user_agent=request.user_agent,
        thresholds=tracking.thresholds,
    )
    event = email_activity(token, request, verdict, tracking.enrichment)
    publisher.publish([event])
    return event


def record_click(
    token: email_links.TrackingToken, request: Request, tracking: Tracking, clicks: ClickLog, publisher: EventPublisher
) -> Prepared:
    """Record a click with the machine-made verdict, which needs the email's other recent clicks."""
    assert token.url is not None  # verify() guarantees a safe URL in every click token
    link = link_key(token.url)
    others = clicks.record(token.message_id, link, request.received_at, request.received_at + CLICK_MEMORY)
    verdict = machine.judge(
        at=request.received_at,
        issued_at=token.issued_at,
        user_agent=request.user_agent,
        link=link,
        other_clicks=others,
        thresholds=tracking.thresholds,
    )
    event = email_activity(token, request, verdict, tracking.enrichment)
    publisher.publish([event])
    return event
