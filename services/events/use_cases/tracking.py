"""Email tracking use cases: verify a signed open or click token, judge it, publish the email activity."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.common import email_links
from services.events.domain import scanners
from services.events.domain.email_tracking import email_activity, link_key
from services.events.domain.ingestion import Config, Prepared
from services.events.domain.messages import Request
from services.events.ports import ClickLog, EventPublisher

CLICK_MEMORY = dt.timedelta(days=1)  # how long an email's recent clicks are kept for the burst test


@dataclass(frozen=True)
class Tracking:
    key: bytes
    max_age: dt.timedelta
    thresholds: scanners.Thresholds
    enrichment: Config


def verified(text: str, kind: email_links.Kind, request: Request, tracking: Tracking) -> email_links.TrackingToken:
    """The token's content; raises InvalidToken or ExpiredToken."""
    return email_links.verify(text, tracking.key, request.received_at, kind, tracking.max_age)


def record_open(
    token: email_links.TrackingToken, request: Request, tracking: Tracking, publisher: EventPublisher
) -> Prepared:
    verdict = scanners.judge(
        at=request.received_at,
        issued_at=token.issued_at,
        user_agent=request.user_agent,
        thresholds=tracking.thresholds,
    )
    event = email_activity(token, request, verdict, tracking.enrichment)
    publisher.publish_serialised([event])
    return event


def record_click(
    token: email_links.TrackingToken, request: Request, tracking: Tracking, clicks: ClickLog, publisher: EventPublisher
) -> Prepared:
    """Record a click with the machine-made verdict, which needs the email's other recent clicks."""
    assert token.url is not None  # verify() guarantees a safe URL in every click token
    link = link_key(token.url)
    others = clicks.record(token.message_id, link, request.received_at, request.received_at + CLICK_MEMORY)
    verdict = scanners.judge(
        at=request.received_at,
        issued_at=token.issued_at,
        user_agent=request.user_agent,
        link=link,
        other_clicks=others,
        thresholds=tracking.thresholds,
    )
    event = email_activity(token, request, verdict, tracking.enrichment)
    publisher.publish_serialised([event])
    return event
