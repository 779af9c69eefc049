"""Composition root of the segments service."""

from __future__ import annotations

from services.common import settings
from services.common.bus import EventBridgePublisher, Publisher
from services.segments.adapters.dynamodb import DynamoSegments
from services.segments.manifest import SEGMENTS


def segments() -> DynamoSegments:
    return DynamoSegments(settings.table(SEGMENTS.env))


def publisher() -> Publisher:
    return EventBridgePublisher(settings.client("events"), settings.bus_name())
