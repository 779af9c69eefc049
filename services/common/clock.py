"""The injectable clock: timezone-aware UTC now, swappable so the local cloud can run on virtual time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def system_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_source: Clock = system_now


def now() -> dt.datetime:
    """The current time, always aware UTC."""
    return _source()


def set_source(source: Clock | None) -> None:
    """Point every `now()` at another source (the local cloud's virtual clock); None restores real time."""
    global _source
    _source = source or system_now


def iso(moment: dt.datetime) -> str:
    """ISO-8601 UTC with milliseconds, the storage format of every timestamp."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
