"""Composition root of the segments service: the table adapter, the bus publisher and the definitions cache."""

from __future__ import annotations

import time

from services.common import settings
from services.common.bus import EventBridgePublisher, Publisher
from services.common.observability import CountingPublisher
from services.segments.adapters.dynamodb import DynamoSegments
from services.segments.domain.catalog import Catalog, build
from services.segments.manifest import SEGMENTS
from services.segments.ports import Definitions

CATALOG_TTL_SECONDS = 30.0


def segments() -> DynamoSegments:
    return DynamoSegments(settings.table(SEGMENTS.env))


def publisher() -> Publisher:
    return CountingPublisher(EventBridgePublisher(settings.client("events"), settings.bus_name()), "segments")


class CatalogCache:
    """Compiled definitions per container, so an activity costs no definitions read: reloaded after a TTL, when
    a message needs a newer generation (a backfill page), or when this container saved a definition itself."""

    def __init__(self, ttl_seconds: float = CATALOG_TTL_SECONDS) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[str, tuple[float, Catalog]] = {}

    def get(self, repo: Definitions, table_name: str, min_generation: int = 0) -> Catalog:
        entry = self._entries.get(table_name)
        if entry is not None and entry[0] > time.monotonic() and entry[1].generation >= min_generation:
            return entry[1]
        found = repo.definitions()
        catalog = build(found.segments, found.plans, found.questionnaires, found.generation)
        self._entries[table_name] = (time.monotonic() + self._ttl, catalog)
        return catalog

    def invalidate(self) -> None:
        self._entries.clear()


_CATALOGS = CatalogCache()


def catalog(repo: Definitions | None = None, min_generation: int = 0) -> Catalog:
    return _CATALOGS.get(repo or segments(), settings.setting(SEGMENTS.env), min_generation)


def definitions_changed() -> None:
    """This container saved a definition: its own cache must not serve the old ones."""
    _CATALOGS.invalidate()
