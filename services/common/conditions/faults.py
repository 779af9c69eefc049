"""Path-aware validation of marketer-written definitions: every fault names where it is, e.g. `condition.all[2].op`."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from services.common.patterns import described


@dataclass(frozen=True)
class Fault:
    path: str
    message: str


class InvalidDefinition(ValueError):
    """A definition was refused; `faults` lists each problem with its path. Nothing is saved."""

    def __init__(self, faults: Iterable[Fault]) -> None:
        self.faults = list(faults)
        super().__init__("; ".join(f"{f.path}: {f.message}" for f in self.faults))


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def kind(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_moment(value: Any) -> int | None:
    """An ISO date (`2026-03-02`, midnight UTC) or date-time (naive = UTC) → epoch milliseconds; else None."""
    if not isinstance(value, str) or not 8 <= len(value) <= 40:
        return None
    return _moment(value)


@lru_cache(maxsize=8192)  # trait dates are read again and again by date conditions
def _moment(value: str) -> int | None:
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


class Reader:
    """Collects faults while reading raw JSON, so one response lists every problem at once."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []

    def fault(self, path: str, message: str) -> None:
        self.faults.append(Fault(path or "body", message))

    def check(self) -> None:
        if self.faults:
            raise InvalidDefinition(self.faults)

    def obj(self, raw: Any, path: str, allowed: Iterable[str], required: Iterable[str] = ()) -> dict[str, Any] | None:
        if not isinstance(raw, dict):
            self.fault(path, f"must be an object, not {kind(raw)}")
            return None
        allowed_set = set(allowed)
        for key in raw:
            if key not in allowed_set:
                self.fault(join(path, str(key)), f"unknown field; expected one of {', '.join(sorted(allowed_set))}")
        for key in required:
            if key not in raw:
                self.fault(join(path, key), "is required")
        return raw

    def string(
        self, raw: Any, path: str, *, max_length: int = 200, min_length: int = 1, pattern: Any = None
    ) -> str | None:
        if not isinstance(raw, str):
            self.fault(path, f"must be a string, not {kind(raw)}")
            return None
        if not min_length <= len(raw) <= max_length:
            self.fault(path, f"must be {min_length} to {max_length} characters long")
            return None
        if pattern is not None and not pattern.fullmatch(raw):
            said = described(pattern.pattern)
            self.fault(path, f"must be {said}" if said else f"must match {pattern.pattern}")
            return None
        return raw

    def integer(self, raw: Any, path: str, low: int, high: int) -> int | None:
        if (
            isinstance(raw, bool)
            or not isinstance(raw, int | float)
            or (isinstance(raw, float) and not raw.is_integer())
        ):
            self.fault(path, f"must be a whole number, not {kind(raw)}")
            return None
        if not low <= raw <= high:
            self.fault(path, f"must be between {low} and {high}, not {raw:g}")
            return None
        return int(raw)

    def number(self, raw: Any, path: str, low: float = -1e12, high: float = 1e12) -> float | None:
        if not is_number(raw):
            self.fault(path, f"must be a number, not {kind(raw)}")
            return None
        if not low <= raw <= high:
            self.fault(path, f"must be between {low:g} and {high:g}, not {raw:g}")
            return None
        return float(raw)

    def items(self, raw: Any, path: str, low: int, high: int) -> list[Any]:
        if not isinstance(raw, list):
            self.fault(path, f"must be a list, not {kind(raw)}")
            return []
        if not low <= len(raw) <= high:
            self.fault(path, f"must have {low} to {high} entries, not {len(raw)}")
            return []
        return raw
