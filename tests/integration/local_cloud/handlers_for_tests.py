"""Small Lambda handlers the moto-patch tests deploy by Handler string (``<this module>.<function>``)."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger


def _wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# Clock seam: tests point this at VirtualClock.now so handlers record virtual time.
clock_now: Callable[[], dt.datetime] = _wall_clock

_lock = threading.Lock()
received: list[Any] = []  # events seen by `record`
flaky_calls: list[str] = []  # virtual times of `flaky` calls (ISO)

logger = Logger(service="moto-patch-tests")


class InvalidScore(ValueError):
    """Raised by `fail`; Step Functions sees the class name as the error name."""


def echo_env(event: Any, context: Any) -> dict[str, Any]:
    """Returns what the handler can see: its event, env vars and context."""
    return {
        "event": event,
        "table": os.environ.get("TABLE_NAME"),
        "env_function_name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
        "function_name": context.function_name,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }


def fail(event: Any, context: Any) -> None:
    raise InvalidScore(f"bad input {event.get('id')}")


def record(event: Any, context: Any) -> dict[str, bool]:
    with _lock:
        received.append(event)
    return {"ok": True}


def flaky(event: Any, context: Any) -> dict[str, int]:
    """Fails with `Flaky` until its third call; records the virtual time of each call."""
    with _lock:
        flaky_calls.append(clock_now().isoformat())
        attempt = len(flaky_calls)
    if attempt < 3:
        raise Flaky(f"attempt {attempt}")
    return {"ok": attempt}


class Flaky(RuntimeError):
    pass


@logger.inject_lambda_context
def powertools(event: Any, context: Any) -> dict[str, Any]:
    """Proves the fake context satisfies aws-lambda-powertools' Logger.inject_lambda_context."""
    logger.info("handled")
    return {
        "cold_start": logger.get_current_keys().get("cold_start"),
        "fn": context.function_name,
    }
