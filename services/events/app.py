"""Composition root of the events service: builds its dependencies lazily from the environment."""

from __future__ import annotations

from services.common import settings
from services.common.bus import EventBridgePublisher, Publisher

_override: Publisher | None = None


def publisher() -> Publisher:
    return _override or EventBridgePublisher(settings.client("events"), settings.bus_name())


def override_publisher(replacement: Publisher | None) -> None:
    """For tests: collect published events in memory instead of on the bus."""
    global _override
    _override = replacement
