"""Values stamped with the time they were set: the most recent non-empty one wins, deterministically. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stamped:
    """A value and when it was set (ISO-8601 UTC with milliseconds: lexicographic order is time order)."""

    value: Any
    at: str

    def to_json(self) -> dict[str, Any]:
        return {"v": self.value, "at": self.at}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Stamped:
        return cls(raw.get("v"), str(raw.get("at", "")))


def is_empty(value: Any) -> bool:
    """None, "", [] and {} never win a conflict and are never stored."""
    return value is None or (isinstance(value, str | list | dict | tuple) and len(value) == 0)


def canonical(value: Any) -> str:
    """A total order over JSON-ish values, used only to break ties between values set at the same instant."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def same(a: Stamped | None, b: Stamped | None) -> bool:
    """Equal as stored: Python's `==` takes 0, 0.0 and False for one value, JSON does not."""
    if a is None or b is None:
        return a is b
    return a.at == b.at and canonical(a.value) == canonical(b.value)


def later(a: Stamped | None, b: Stamped | None) -> Stamped | None:
    """The more recent of two stamped values; a tie goes to the canonically greater value, so the choice does not
    depend on which side is `a` (merging is commutative)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if (a.at, canonical(a.value)) >= (b.at, canonical(b.value)) else b


def merge_stamped(a: Mapping[str, Stamped], b: Mapping[str, Stamped]) -> dict[str, Stamped]:
    """Per key, the more recent value: commutative, associative, idempotent."""
    out = dict(a)
    for key, value in b.items():
        winner = later(out.get(key), value)
        if winner is not None:
            out[key] = winner
    return out


def unmerge_stamped(
    now: Mapping[str, Stamped], before: Mapping[str, Stamped], after: Mapping[str, Stamped]
) -> dict[str, Stamped]:
    """Undo a merge per key: a value the merge set and nobody changed since goes back to what it was before."""
    out: dict[str, Stamped] = {}
    for key in now.keys() | before.keys():
        current = now.get(key)
        chosen = before.get(key) if same(current, after.get(key)) else current
        if chosen is not None:
            out[key] = chosen
    return out


def stamped_to_json(values: Mapping[str, Stamped]) -> dict[str, Any]:
    return {k: v.to_json() for k, v in values.items()}


def stamped_from_json(raw: Mapping[str, Any] | None) -> dict[str, Stamped]:
    return {str(k): Stamped.from_json(v) for k, v in (raw or {}).items() if isinstance(v, Mapping)}
