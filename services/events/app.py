"""Composition root of the events service: typed settings from the environment, dependencies built lazily."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from functools import cache

from services.common import secrets, settings
from services.common.bus import EventBridgePublisher
from services.common.enrichment import referrers
from services.common.manifest import PUBLIC_API_URL_ENV
from services.common.observability import CountingPublisher
from services.events.adapters.archive import DynamoKeyRing, S3Archive
from services.events.adapters.dynamodb import DynamoClickLog, DynamoLedger
from services.events.domain.ingestion import Config
from services.events.domain.scanners import Thresholds
from services.events.manifest import ARCHIVE, ARCHIVE_KEYS, MESSAGES
from services.events.ports import ArchiveStore, ClickLog, EventPublisher, KeyRing, MessageLedger

# Optional environment variables (all have defaults); see docs/collection.md.
DEDUPE_WINDOW_HOURS = "DEDUPE_WINDOW_HOURS"
GEOIP_DATABASE = "GEOIP_DATABASE"
IP_ANONYMISATION = "IP_ANONYMISATION"
SEARCH_QUERY_PARAMETERS = "SEARCH_QUERY_PARAMETERS"
INTERNAL_DOMAINS = "INTERNAL_DOMAINS"
TRACKING_TOKEN_DAYS = "TRACKING_TOKEN_DAYS"
MACHINE_AFTER_DELIVERY_SECONDS = "MACHINE_AFTER_DELIVERY_SECONDS"
_OPTIONAL = (
    DEDUPE_WINDOW_HOURS,
    GEOIP_DATABASE,
    IP_ANONYMISATION,
    SEARCH_QUERY_PARAMETERS,
    INTERNAL_DOMAINS,
    TRACKING_TOKEN_DAYS,
    MACHINE_AFTER_DELIVERY_SECONDS,
)


@dataclass(frozen=True)
class Settings:
    dedupe_window: dt.timedelta
    enrichment: Config
    token_max_age: dt.timedelta
    machine: Thresholds


def current() -> Settings:
    """The settings of this invocation (read at call time, parsed once per distinct environment)."""
    return _parse(tuple(os.environ.get(name) for name in _OPTIONAL))


@cache
def _parse(values: tuple[str | None, ...]) -> Settings:
    raw = dict(zip(_OPTIONAL, values, strict=True))
    locate = None
    database = raw[GEOIP_DATABASE]
    if database:
        from services.events.adapters.geoip import locator

        locate = locator(database)
    search = raw[SEARCH_QUERY_PARAMETERS]
    return Settings(
        dedupe_window=dt.timedelta(hours=_positive(raw, DEDUPE_WINDOW_HOURS, 24, zero=True)),
        enrichment=Config(
            anonymise_ip=(raw[IP_ANONYMISATION] or "on").strip().lower() not in ("off", "false", "0", "no"),
            search_parameters=referrers.DEFAULT_SEARCH_PARAMETERS if search is None else _names(search),
            internal_domains=_names(raw[INTERNAL_DOMAINS] or ""),
            locate=locate,
        ),
        token_max_age=dt.timedelta(days=_positive(raw, TRACKING_TOKEN_DAYS, 365)),
        machine=Thresholds(after_delivery=dt.timedelta(seconds=_positive(raw, MACHINE_AFTER_DELIVERY_SECONDS, 10))),
    )


def _positive(raw: dict[str, str | None], name: str, default: float, zero: bool = False) -> float:
    text = raw[name]
    if not text:
        return default
    value = float(text)
    if value < 0 or (value == 0 and not zero):
        raise settings.MissingSetting(f"{name} must be a positive number, not {text!r}")
    return value


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in text.split(",") if part.strip())


def public_api_url() -> str:
    """The platform's public base URL (what SDK settings documents point browsers at)."""
    return settings.setting(PUBLIC_API_URL_ENV).rstrip("/")


# ---- dependencies (tests use the in-memory adapters of services/events/adapters/memory.py directly) ----
def publisher() -> EventPublisher:
    return CountingPublisher(EventBridgePublisher(settings.client("events"), settings.bus_name()), "events")


def ledger() -> MessageLedger:
    return _dynamo_ledger(settings.setting(MESSAGES.env))


def clicks() -> ClickLog:
    return DynamoClickLog(settings.client("dynamodb"), settings.setting(MESSAGES.env))


def signing_key() -> bytes:
    return secrets.secret("link-signing")


@cache
def _dynamo_ledger(table_name: str) -> DynamoLedger:
    return DynamoLedger(settings.client("dynamodb"), table_name)  # one per container: it keeps a thread pool


def key_ring() -> KeyRing:
    return _key_ring(settings.setting(ARCHIVE_KEYS.env))


def archive_store() -> ArchiveStore:
    return S3Archive(settings.client("s3"), settings.setting(ARCHIVE.env))


@cache
def _key_ring(table_name: str) -> DynamoKeyRing:
    return DynamoKeyRing(settings.client("dynamodb"), table_name)  # one per container: it caches people's keys
