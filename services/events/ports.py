"""What the events core needs from the outside world."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Protocol

from services.events.domain.archive import ArchiveKey
from services.events.domain.ingestion import Prepared


class LedgerUnavailable(RuntimeError):
    """The ledger could not answer (throttled, unavailable); nothing was claimed. The request may be retried."""


class MessageLedger(Protocol):
    """The messageIds a source sent within the dedupe window."""

    def claim(self, source_id: str, message_ids: Sequence[str], now: dt.datetime, until: dt.datetime) -> set[str]:
        """Record each id as seen until `until`; returns those already seen (and not yet expired): duplicates."""
        ...

    def release(self, source_id: str, message_ids: Sequence[str]) -> None:
        """Forget claims whose events could not be published, so the client's retry is not taken for a duplicate."""
        ...


class ClickLog(Protocol):
    """The recent link clicks of each sent email (for the machine-made burst test)."""

    def record(self, message_id: str, link: str, at: dt.datetime, until: dt.datetime) -> dict[str, dt.datetime]:
        """Record a click; returns the last click time of each link of that email as it was before this one."""
        ...


class EventPublisher(Protocol):
    """Puts prepared (already serialised) events on the bus; raises `PublishFailed` naming the refused ones.
    `services.common.bus.EventBridgePublisher` is the real one."""

    def publish_serialised(self, events: Sequence[Prepared]) -> None: ...


class KeyRing(Protocol):
    """The raw event archive's keys: one per person, destroyed when the person is erased (crypto-shredding)."""

    def key_for(self, profile_id: str, now: dt.datetime) -> ArchiveKey | None:
        """The profile's key, made on first use; None once the profile has been erased."""
        ...

    def key(self, key_id: str) -> ArchiveKey | None:
        """A key by its id; None when it was destroyed (the records it sealed are unreadable for good)."""
        ...

    def shred(self, profile_id: str, now: dt.datetime) -> bool:
        """Destroy the profile's key and leave a tombstone so late events are not archived under a new key; True
        when there was a key to destroy."""
        ...


class ArchiveStore(Protocol):
    """Where sealed batches are kept (write-once objects)."""

    def put(self, name: str, body: bytes) -> None: ...
    def names(self, prefix: str) -> Iterator[str]: ...
    def get(self, name: str) -> bytes: ...
