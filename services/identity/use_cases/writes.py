"""How identity use cases write: conditional writes retried in one loop, Conflict when they keep losing, the outbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from services.common.bus import Publisher
from services.common.contracts import Envelope, envelope
from services.common.contracts.envelope import Contract
from services.common.ids import derived_id

MAX_ATTEMPTS = 10


class ProfileNotFound(LookupError):
    pass


class Conflict(RuntimeError):
    """Concurrent writers kept winning, or the state does not allow the operation; the caller retries or refuses."""


def attempts(give_up: Callable[[], Conflict] | None) -> Iterator[int]:
    """The one retry loop of conditional writes: attempt numbers, 0 first (later attempts read consistently).

    Leave the loop once the write succeeded or is not needed. When every attempt lost its race the loop raises
    `give_up()`, or just ends when that is None (a best-effort write).
    """
    yield from range(MAX_ATTEMPTS)
    if give_up is not None:
        raise give_up()


@dataclass
class Outbox:
    """Events to publish once the writes are done, with ids derived from the input (a retry publishes the same)."""

    origin: str
    correlation_id: str | None = None
    events: list[Envelope[Any]] = field(default_factory=list)

    def add(self, data: Contract, *parts: str) -> None:
        self.events.append(
            envelope(data, id=derived_id(self.origin, data.DETAIL_TYPE, *parts), correlation_id=self.correlation_id)
        )

    def publish(self, publisher: Publisher) -> None:
        if self.events:
            publisher.publish(self.events)
