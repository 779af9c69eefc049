"""A clock unit tests move by hand (services.common.clock reads it while a test runs)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from services.common import clock


class Moment:
    """The time `clock.now()` answers while a test runs; tests move it."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, by: dt.timedelta) -> None:
        self.at += by


@contextmanager
def frozen_at(at: dt.datetime) -> Iterator[Moment]:
    """`clock.now()` answers `at` (and whatever the test moves it to) until the block ends."""
    moment = Moment(at)
    clock.set_source(moment)
    try:
        yield moment
    finally:
        clock.set_source(None)
