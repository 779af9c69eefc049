"""Composition root of the identity service: builds the adapters lazily from the function's environment."""

from __future__ import annotations

import os
import time

from services.common import secrets, settings
from services.common.bus import EventBridgePublisher, Publisher
from services.common.observability import CountingPublisher
from services.identity.adapters.dynamodb import DynamoImports, DynamoProfiles
from services.identity.adapters.internal import export_part
from services.identity.domain.records import IdentitySettings
from services.identity.manifest import IMPORTS, MANIFEST, PROFILES, TIMELINE
from services.identity.ports import ExportPart

SETTINGS_CACHE_SECONDS = 60.0
_settings: dict[str, tuple[float, IdentitySettings]] = {}


def profiles() -> DynamoProfiles:
    """The profile store; functions not granted the timeline table (lookup, SES feedback) get none."""
    timeline = settings.table(TIMELINE.env) if os.environ.get(TIMELINE.env) else None
    return DynamoProfiles(settings.table(PROFILES.env), timeline)


def imports() -> DynamoImports:
    return DynamoImports(settings.table(IMPORTS.env))


def publisher() -> Publisher:
    return CountingPublisher(EventBridgePublisher(settings.client("events"), settings.bus_name()), "identity")


def export_parts() -> dict[str, ExportPart]:
    """The other services' parts of a person's export, by service: the internal `privacy` functions the API
    function is declared to invoke (so this list and the IAM grants cannot differ)."""
    targets = MANIFEST.function("api").invokes
    return {t.partition(".")[0]: export_part(t) for t in targets if t.partition(".")[2] == "privacy"}


def identity_settings() -> IdentitySettings:
    """The installation's identity settings, read at most once a minute per container (not once per event)."""
    table = settings.setting(PROFILES.env)
    cached = _settings.get(table)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    current = profiles().settings()
    _settings[table] = (time.monotonic() + SETTINGS_CACHE_SECONDS, current)
    return current


def forget_settings() -> None:
    """After a settings change, this container sees it at once (others within the cache minute)."""
    _settings.clear()


def signing_key() -> bytes:
    """The platform's `link-signing` HMAC key (unsubscribe tokens)."""
    return secrets.secret("link-signing")
