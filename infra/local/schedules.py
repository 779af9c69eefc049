"""Fires scheduled rules from the (virtual) clock, since moto stores schedules but never runs them."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable

from infra.local.resources import ScheduledTarget
from services.common.clock import iso

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def period(expression: str) -> dt.timedelta:
    """`rate(5 minutes)` → 5 minutes. Cron expressions are refused: the local cloud does not play them yet."""
    match = _RATE.match(expression.strip())
    if not match:
        raise ValueError(f"the local cloud plays rate(...) schedules only, not {expression!r}")
    return dt.timedelta(seconds=int(match.group(1)) * _UNIT[match.group(2)])


def ticks_between(start: dt.datetime, end: dt.datetime, every: dt.timedelta) -> int:
    """How many schedule ticks (aligned to the epoch) fall in (start, end]."""
    step = every.total_seconds()
    return int(end.timestamp() // step) - int(start.timestamp() // step)


def scheduled_event(target: ScheduledTarget, when: dt.datetime, region: str, account: str) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": account,
            "time": iso(when).replace(".000", ""),
            "region": region,
            "resources": [f"arn:aws:events:{region}:{account}:rule/{target.name}"],
            "detail": {},
        }
    )


class Scheduler:
    """On every clock move, invokes each scheduled function once if at least one of its ticks passed.

    Missed ticks are coalesced into one run (a sweep that was asleep for a week runs once, at the new time),
    which is what a catch-up job like the segment sweep needs and keeps a 14-day fast-forward cheap.
    """

    def __init__(
        self, targets: list[ScheduledTarget], invoke: Callable[[ScheduledTarget, str], None], region: str, account: str
    ) -> None:
        self._targets = [(t, period(t.expression)) for t in targets]
        self._invoke = invoke
        self._region = region
        self._account = account
        self.runs: list[tuple[str, dt.datetime]] = []

    def on_advance(self, old: dt.datetime, new: dt.datetime) -> None:
        for target, every in self._targets:
            if ticks_between(old, new, every) > 0:
                self.runs.append((target.function_name, new))
                self._invoke(target, scheduled_event(target, new, self._region, self._account))
