"""Composition root of the content service: its table, the definitions cached per container, segments' lookup."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from services.common import internal, settings
from services.common.manifest import EMAIL_FROM_ENV
from services.content.adapters.dynamodb import DynamoContent
from services.content.adapters.email import SesTestMailer
from services.content.manifest import CONTENT
from services.content.use_cases import published

# Slots, the catalogue and experiments are read once per container and kept CONTENT_CACHE_SECONDS (30 s by
# default): a change reaches every warm container within that time, and at once in the container that made it.
# List slots' popularity (views per item per audience) is kept as long.

_cache: dict[str, tuple[float, Any]] = {}


def content() -> DynamoContent:
    return DynamoContent(settings.table(CONTENT.env))


def _ttl() -> float:
    return float(os.environ.get("CONTENT_CACHE_SECONDS", "30"))


def _cached(key: str, load: Any) -> Any:
    hit = _cache.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < _ttl():
        return hit[1]
    value = load()
    _cache[key] = (now, value)
    return value


def definitions() -> published.Published:
    return _cached("definitions", lambda: published.load(content()))  # type: ignore[no-any-return]


def popular(audience: str) -> Mapping[str, int]:
    return _cached(f"popular:{audience}", lambda: content().popular(audience))  # type: ignore[no-any-return]


def definitions_changed() -> None:
    """A definition was saved here: this container sees it at once."""
    _cache.pop("definitions", None)


def mailer() -> SesTestMailer:
    return SesTestMailer(settings.client("sesv2"), settings.setting(EMAIL_FROM_ENV))


def segment_definitions() -> Mapping[str, Any]:
    """Which segments, plans (with tiers) and questionnaires (with keys) exist: asked of segments when a slot is
    saved, never when one is decided."""
    return internal.invoke("segments.lookup", {"op": "definitions"})
