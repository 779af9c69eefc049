"""Opaque, time-ordered identifiers (UUIDv7, RFC 9562) and deterministic ids for idempotent re-publishing."""

from __future__ import annotations

import os
import time
import uuid

_NAMESPACE = uuid.UUID("6f1c7c2e-8f3a-4b7e-9a54-3f6f2c1d0b7a")


def new_id() -> str:
    """A UUIDv7: 48 bits of Unix milliseconds, then random bits; sorts by creation time."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= (rand >> 68) << 64 & (0xFFF << 64)
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def derived_id(*parts: str) -> str:
    """The same inputs always give the same id: a retried consumer re-publishes an event downstream dedupes."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))
