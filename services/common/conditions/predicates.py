"""Value tests shared by traits, event properties, the visitor's environment and scores: parse, then compile."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.common.conditions.faults import Reader, is_number, join, kind, parse_moment

# A predicate is `{"op": ..., "value": ...}` against one field. Parsing checks the value's type for the operator
# (and, for known fields, the allowed values) and normalises it; compiling gives a closure `test(x, now)` plus,
# for the one time-relative operator (`withinLastDays`), the moment its answer changes by time alone.

DAY_MS = 86_400_000
MAX_LIST = 500

Scalar = str | int | float | bool

VALUE_OPS = (
    "equals",
    "in",
    "contains",
    "startsWith",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "before",
    "after",
    "exists",
    "withinLastDays",
)
NUMBER_OPS = ("equals", "in", "gt", "gte", "lt", "lte", "between", "exists")
STRING_OPS = ("equals", "in", "contains", "startsWith", "exists")
ENUM_OPS = ("equals", "in", "exists")

# The visitor's environment, from the events service's enrichment of each activity.
ENVIRONMENT: dict[str, tuple[str, tuple[Any, ...]]] = {
    "deviceType": ("enum", ("desktop", "mobile", "tablet", "bot", "other")),
    "country": ("string", ()),
    "region": ("string", ()),
    "city": ("string", ()),
    "referrerType": ("enum", ("search", "social", "email", "paid", "internal", "direct", "other")),
    "referrerSource": ("string", ()),
    "campaign": ("string", ()),
    "campaignSource": ("string", ()),
    "campaignMedium": ("string", ()),
    "searchTerms": ("string", ()),
    "partOfDay": ("enum", ("night", "morning", "afternoon", "evening")),
    "weekday": ("int", (0, 6)),
    "hour": ("int", (0, 23)),
}
FIELD_NAME = re.compile(r"[A-Za-z0-9_$@\-]{1,100}(\.[A-Za-z0-9_$@\-]{1,100}){0,4}")


@dataclass(frozen=True)
class Predicate:
    """A normalised test: `value` is a tuple for `in`, a (low, high) pair for `between`, epoch ms for dates and
    milliseconds for `withinLastDays`; `dates` says `between` compares moments."""

    op: str
    value: Any = None
    dates: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"op": self.op, "value": self.value, "dates": self.dates}


def parse_predicate(
    reader: Reader,
    node: dict[str, Any],
    path: str,
    ops: tuple[str, ...],
    field_kind: tuple[str, tuple[Any, ...]] | None,
) -> Predicate | None:
    """Read `op` and `value` of `node` (at `path`); `field_kind` constrains values of a known field."""
    op = node.get("op")
    if not isinstance(op, str) or op not in ops:
        shown = f"unknown operator {op!r}" if isinstance(op, str) else f"`op` must be a string, not {kind(op)}"
        reader.fault(join(path, "op"), f"{shown}; expected one of {', '.join(ops)}")
        return None
    value_path = join(path, "value")
    if op == "exists":
        if "value" in node:
            reader.fault(value_path, "`exists` takes no value")
            return None
        return Predicate("exists")
    if "value" not in node:
        reader.fault(value_path, f"`{op}` needs a value")
        return None
    value = node["value"]
    before = len(reader.faults)
    parsed = _parse_value(reader, op, value, value_path)
    if parsed is None or len(reader.faults) > before:
        return None
    if field_kind is not None:
        _check_field_values(reader, op, parsed, value_path, field_kind)
        if len(reader.faults) > before:
            return None
    return parsed


def _parse_value(reader: Reader, op: str, value: Any, path: str) -> Predicate | None:
    if op == "equals":
        if not _is_scalar(value):
            reader.fault(path, f"`equals` needs a string, number or boolean, not {kind(value)}")
            return None
        return Predicate(op, value)
    if op == "in":
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST:
            reader.fault(path, f"`in` needs a list of 1 to {MAX_LIST} values, not {kind(value)}")
            return None
        for index, item in enumerate(value):
            if not _is_scalar(item):
                reader.fault(join(path, index), f"must be a string, number or boolean, not {kind(item)}")
        return Predicate(op, tuple(value))
    if op == "contains":
        if not _is_scalar(value) or value == "":
            reader.fault(path, f"`contains` needs a non-empty string, a number or a boolean, not {kind(value)}")
            return None
        return Predicate(op, value)
    if op == "startsWith":
        if not isinstance(value, str) or not 1 <= len(value) <= 500:
            reader.fault(path, f"`startsWith` needs a string of 1 to 500 characters, not {kind(value)}")
            return None
        return Predicate(op, value)
    if op in ("gt", "gte", "lt", "lte"):
        if not is_number(value):
            reader.fault(path, f"`{op}` compares numbers; the value must be a number, not {kind(value)}")
            return None
        return Predicate(op, value)
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            reader.fault(path, f"`between` needs [low, high], not {kind(value)}")
            return None
        if all(is_number(v) for v in value):
            low, high = value
            dates = False
        elif all(parse_moment(v) is not None for v in value):
            low, high = parse_moment(value[0]), parse_moment(value[1])
            dates = True
        else:
            reader.fault(path, "`between` needs two numbers or two ISO dates")
            return None
        if low > high:  # type: ignore[operator]
            reader.fault(path, "the low end must not be above the high end")
            return None
        return Predicate(op, (low, high), dates)
    if op in ("before", "after"):
        moment = parse_moment(value)
        if moment is None:
            reader.fault(path, f"`{op}` needs an ISO date such as 2026-03-02, not {value!r}")
            return None
        return Predicate(op, moment, True)
    if op == "withinLastDays":
        days = reader.integer(value, path, 1, 3650)
        return None if days is None else Predicate(op, days * DAY_MS, True)
    raise AssertionError(op)  # pragma: no cover - ops are checked by the caller


def _check_field_values(
    reader: Reader, op: str, predicate: Predicate, path: str, field_kind: tuple[str, tuple[Any, ...]]
) -> None:
    shape, allowed = field_kind
    values = list(predicate.value) if op in ("in", "between") else [predicate.value]
    for index, value in enumerate(values):
        where = join(path, index) if op in ("in", "between") else path
        if shape == "enum" and value not in allowed:
            reader.fault(where, f"{value!r} is not one of {', '.join(map(str, allowed))}")
        elif shape == "int" and (not is_number(value) or not allowed[0] <= value <= allowed[1]):
            reader.fault(where, f"must be a number from {allowed[0]} to {allowed[1]}")
        elif shape == "string" and not isinstance(value, str):
            reader.fault(where, f"must be a string, not {kind(value)}")


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | bool) or is_number(value)


# ---- compiled form ------------------------------------------------------------------------------------------

Test = Callable[[Any, int], bool]


def same(x: Any, value: Any) -> bool:
    """JSON equality without Python's `True == 1`: booleans equal only booleans."""
    if isinstance(value, bool) or isinstance(x, bool):
        return x is value
    if isinstance(value, str):
        return isinstance(x, str) and x == value
    return isinstance(x, int | float) and x == value


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def compile_predicate(predicate: Predicate) -> Test:
    """The test as a closure of (field value, now in epoch ms); a missing field (None) fails every op."""
    op, value = predicate.op, predicate.value
    if op == "exists":
        return lambda x, now: x is not None
    if op == "equals":
        if isinstance(value, str):
            return lambda x, now: x == value and isinstance(x, str)
        return lambda x, now: same(x, value)
    if op == "in":
        strings = frozenset(v for v in value if isinstance(v, str))
        numbers = frozenset(v for v in value if _number(v))
        booleans = frozenset(v for v in value if isinstance(v, bool))

        def member(x: Any, now: int) -> bool:
            if isinstance(x, str):
                return x in strings
            if isinstance(x, bool):
                return x in booleans
            return _number(x) and x in numbers

        return member
    if op == "contains":

        def contains(x: Any, now: int) -> bool:
            if isinstance(x, str):
                return isinstance(value, str) and value in x
            if isinstance(x, list):
                return any(same(item, value) for item in x)
            return False

        return contains
    if op == "startsWith":
        return lambda x, now: isinstance(x, str) and x.startswith(value)
    if op == "gt":
        return lambda x, now: _number(x) and x > value
    if op == "gte":
        return lambda x, now: _number(x) and x >= value
    if op == "lt":
        return lambda x, now: _number(x) and x < value
    if op == "lte":
        return lambda x, now: _number(x) and x <= value
    if op == "between":
        low, high = value
        if predicate.dates:

            def between_dates(x: Any, now: int) -> bool:
                moment = parse_moment(x)
                return moment is not None and low <= moment <= high

            return between_dates
        return lambda x, now: _number(x) and low <= x <= high
    if op == "before":

        def before(x: Any, now: int) -> bool:
            moment = parse_moment(x)
            return moment is not None and moment < value

        return before
    if op == "after":

        def after(x: Any, now: int) -> bool:
            moment = parse_moment(x)
            return moment is not None and moment > value

        return after
    if op == "withinLastDays":

        def within(x: Any, now: int) -> bool:
            moment = parse_moment(x)
            return moment is not None and now - value < moment <= now

        return within
    raise AssertionError(op)  # pragma: no cover


def next_change(predicate: Predicate, x: Any, now: int) -> int | None:
    """When the answer for field value `x` changes by time alone (only `withinLastDays` depends on now)."""
    if predicate.op != "withinLastDays":
        return None
    moment = parse_moment(x)
    if moment is None:
        return None
    if moment > now:
        return moment
    if moment > now - predicate.value:
        return int(moment + predicate.value)
    return None


def field_getter(path: tuple[str, ...]) -> Callable[[dict[str, Any]], Any]:
    """A fast reader of a (dotted) field in a dict of JSON values."""
    if len(path) == 1:
        name = path[0]
        return lambda values: values.get(name)

    def nested(values: dict[str, Any]) -> Any:
        current: Any = values
        for part in path:
            if not isinstance(current, dict):
                return None
            current = current.get(part)
        return current

    return nested
