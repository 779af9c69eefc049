"""Composition root of the identity service."""

from __future__ import annotations

from services.common import settings
from services.common.bus import EventBridgePublisher, Publisher
from services.identity.adapters.dynamodb import DynamoProfiles
from services.identity.manifest import PROFILES


def profiles() -> DynamoProfiles:
    return DynamoProfiles(settings.table(PROFILES.env))


def publisher() -> Publisher:
    return EventBridgePublisher(settings.client("events"), settings.bus_name())
