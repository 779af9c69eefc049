"""Scoring plans: points for activities and (once) for traits, caps per day and lifetime, decay, tiers. Pure.

A plan's state per profile is a small JSON object:
`v`/`t` the value at a moment (no decay, or a percentage per week), `d` points per award day (points that
expire after N days), `c` per-rule caps `[day, points today, points ever]`, `o` the trait rules already paid,
and `s`/`tier` — the score and tier last published, so each change is announced once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.segments.domain.activities import ActivityView, EventFilter, compile_filter, parse_filter
from services.segments.domain.conditions import (
    All,
    AnyOf,
    Compiled,
    Not,
    References,
    Trait,
    compile_condition,
    walk,
)
from services.segments.domain.conditions import parse as parse_condition
from services.segments.domain.faults import InvalidDefinition, Reader, join

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
MAX_POINTS = 100_000.0
NAME = re.compile(r"[a-z0-9][a-z0-9_\-]{0,49}")


@dataclass(frozen=True)
class ScoringRule:
    name: str
    points: float
    activity: EventFilter | None = None
    traits: Compiled | None = None
    max_per_day: float | None = None
    max_lifetime: float | None = None


@dataclass(frozen=True)
class Decay:
    expire_after_days: int | None = None  # points expire at the UTC midnight after N whole days
    keep_per_week: float | None = None  # the fraction a score keeps each week (1 − percentPerWeek / 100)


@dataclass(frozen=True)
class TierLevel:
    name: str
    min: float | None  # None: the floor tier, everyone below the next threshold


@dataclass(frozen=True)
class Plan:
    plan_id: str
    version: int
    name: str
    rules: tuple[ScoringRule, ...]
    decay: Decay | None = None
    tiers: tuple[TierLevel, ...] = ()

    @property
    def tier_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tiers)

    @property
    def thresholds(self) -> tuple[float, ...]:
        return tuple(t.min for t in self.tiers if t.min is not None)


PLAN_FIELDS = ("name", "description", "rules", "decay", "tiers")


def parse_plan(raw: Any, plan_id: str, version: int = 1) -> Plan:
    """Validate a plan body; raises InvalidDefinition naming each fault's path (`rules[2].maxPerDay`)."""
    reader = Reader()
    body = reader.obj(raw, "", PLAN_FIELDS, required=("name", "rules"))
    if body is None:
        reader.check()
        raise AssertionError  # pragma: no cover
    name = reader.string(body.get("name"), "name") if "name" in body else None
    if "description" in body:
        reader.string(body["description"], "description", max_length=2000, min_length=0)
    rules: list[ScoringRule] = []
    seen: set[str] = set()
    for index, rule in enumerate(reader.items(body.get("rules"), "rules", 1, 100)):
        parsed = _rule(reader, rule, join("rules", index))
        if parsed is None:
            continue
        if parsed.name in seen:
            reader.fault(join(join("rules", index), "name"), f"another rule is already named {parsed.name!r}")
        seen.add(parsed.name)
        rules.append(parsed)
    decay = _decay(reader, body["decay"]) if body.get("decay") is not None else None
    tiers = _tiers(reader, body.get("tiers", []))
    reader.check()
    return Plan(plan_id, version, name or "", tuple(rules), decay, tiers)


def _rule(reader: Reader, raw: Any, path: str) -> ScoringRule | None:
    node = reader.obj(
        raw, path, ("name", "activity", "traits", "points", "maxPerDay", "maxLifetime"), ("name", "points")
    )
    if node is None:
        return None
    before = len(reader.faults)
    name = reader.string(node.get("name"), join(path, "name"), pattern=NAME) if "name" in node else None
    points = (
        reader.number(node.get("points"), join(path, "points"), -MAX_POINTS, MAX_POINTS) if "points" in node else None
    )
    if points == 0:
        reader.fault(join(path, "points"), "a rule must add or remove points")
    sources = [k for k in ("activity", "traits") if k in node]
    if len(sources) != 1:
        reader.fault(path, "a rule scores exactly one of `activity` (an event filter) or `traits` (a trait condition)")
        return None
    activity = None
    traits = None
    if sources[0] == "activity":
        activity = parse_filter(reader, node["activity"], join(path, "activity"))
    else:
        traits = _trait_condition(reader, node["traits"], join(path, "traits"))
        for cap in ("maxPerDay", "maxLifetime"):
            if cap in node:
                reader.fault(join(path, cap), "a trait rule scores once; it has no caps")
    caps: dict[str, float | None] = {}
    for cap in ("maxPerDay", "maxLifetime"):
        caps[cap] = reader.number(node[cap], join(path, cap), 1, MAX_POINTS * 100) if cap in node else None
    if len(reader.faults) > before or name is None or points is None:
        return None
    return ScoringRule(name, points, activity, traits, caps["maxPerDay"], caps["maxLifetime"])


def _trait_condition(reader: Reader, raw: Any, path: str) -> Compiled | None:
    sub = Reader()
    try:
        node = parse_condition(raw, References(), path, sub)
    finally:
        reader.faults.extend(sub.faults)
    if sub.faults:
        return None
    if not all(isinstance(n, All | AnyOf | Not | Trait) for n in walk(node)):
        reader.fault(path, "a trait rule's condition may use only traits (and all / any / not)")
        return None
    return compile_condition(node)


def _decay(reader: Reader, raw: Any) -> Decay | None:
    node = reader.obj(raw, "decay", ("expireAfterDays", "percentPerWeek"))
    if node is None:
        return None
    if len(node) != 1:
        reader.fault("decay", "give exactly one of `expireAfterDays` or `percentPerWeek`")
        return None
    if "expireAfterDays" in node:
        days = reader.integer(node["expireAfterDays"], "decay.expireAfterDays", 1, 3650)
        return None if days is None else Decay(expire_after_days=days)
    percent = reader.number(node["percentPerWeek"], "decay.percentPerWeek", 0.1, 99.9)
    return None if percent is None else Decay(keep_per_week=1 - percent / 100)


def _tiers(reader: Reader, raw: Any) -> tuple[TierLevel, ...]:
    out: list[TierLevel] = []
    for index, tier in enumerate(reader.items(raw, "tiers", 0, 10)):
        path = join("tiers", index)
        node = reader.obj(tier, path, ("name", "min"), ("name",))
        if node is None:
            continue
        name = reader.string(node.get("name"), join(path, "name"), pattern=NAME) if "name" in node else None
        low = None
        if index == 0:
            if node.get("min") is not None:
                reader.fault(join(path, "min"), "the first tier is the floor: it has no `min`")
        elif "min" not in node:
            reader.fault(join(path, "min"), "is required (the score from which this tier starts)")
        else:
            low = reader.number(node["min"], join(path, "min"), -MAX_POINTS * 100, MAX_POINTS * 100)
            previous = out[-1].min if out else None
            if low is not None and previous is not None and low <= previous:
                reader.fault(join(path, "min"), f"must be above the previous tier's min ({previous:g})")
        if name is not None and name in {t.name for t in out}:
            reader.fault(join(path, "name"), f"another tier is already named {name!r}")
        if name is not None:
            out.append(TierLevel(name, low))
    return tuple(out)


# ---- values over time -----------------------------------------------------------------------------------------


def value_at(plan: Plan, state: dict[str, Any], now: int) -> float:
    decay = plan.decay
    if decay is not None and decay.expire_after_days is not None:
        return float(sum(points for day, points in state.get("d", ()) if _expires(day, decay) > now))
    value = float(state.get("v", 0.0))
    if decay is not None and decay.keep_per_week is not None and value:
        value *= decay.keep_per_week ** (max(0, now - int(state.get("t", now))) / WEEK_MS)
    return value


def _expires(day: int, decay: Decay) -> int:
    return (day + int(decay.expire_after_days or 0) + 1) * DAY_MS


def tier_of(plan: Plan, value: float) -> str | None:
    if not plan.tiers:
        return None
    found = plan.tiers[0].name
    for tier in plan.tiers[1:]:
        if tier.min is not None and value >= tier.min:
            found = tier.name
    return found


def changes_at(plan: Plan, state: dict[str, Any] | None, now: int, thresholds: tuple[float, ...]) -> int | None:
    """The first moment after `now` at which decay moves the score across one of `thresholds` (the tier
    thresholds when empty), or None."""
    decay = plan.decay
    if decay is None or not state:
        return None
    marks = thresholds or plan.thresholds
    if not marks:
        return None
    current = value_at(plan, state, now)
    if decay.expire_after_days is not None:
        buckets = sorted((_expires(day, decay), points) for day, points in state.get("d", ()))
        value = current
        for expiry, points in buckets:
            if expiry <= now:
                continue
            after = value - points
            if any((value >= m) != (after >= m) or (value > m) != (after > m) for m in marks):
                return expiry
            value = after
        return None
    keep = decay.keep_per_week or 1.0
    found: list[int] = []
    for mark in marks:
        ratio = mark / current if current else 0.0
        if 0 < ratio < 1:
            found.append(now + int(WEEK_MS * math.log(ratio) / math.log(keep)) + 1)
    return min(found) if found else None


# ---- awarding -------------------------------------------------------------------------------------------------


def award(plan: Plan, state: dict[str, Any], rule: ScoringRule, at: int, now: int) -> float:
    """Pay `rule` for an activity at `at` within its caps; mutates `state` (a copy) and returns the points."""
    day = at // DAY_MS
    caps = state.setdefault("c", {})
    spent = caps.get(rule.name) or [day, 0, 0]
    if spent[0] != day:
        spent = [day, 0, spent[2]]
    size = abs(rule.points)
    if rule.max_per_day is not None:
        size = min(size, max(0.0, rule.max_per_day - spent[1]))
    if rule.max_lifetime is not None:
        size = min(size, max(0.0, rule.max_lifetime - spent[2]))
    if size <= 0:
        return 0.0
    caps[rule.name] = [day, spent[1] + size, spent[2] + size]
    points = math.copysign(size, rule.points)
    _add(plan, state, points, at, now)
    return points


def award_once(plan: Plan, state: dict[str, Any], rule: ScoringRule, now: int) -> float:
    paid = state.setdefault("o", [])
    if rule.name in paid:
        return 0.0
    paid.append(rule.name)
    _add(plan, state, rule.points, now, now)
    return rule.points


def _add(plan: Plan, state: dict[str, Any], points: float, at: int, now: int) -> None:
    decay = plan.decay
    if decay is not None and decay.expire_after_days is not None:
        day = at // DAY_MS
        kept = [[d, p] for d, p in state.get("d", ()) if _expires(d, decay) > now]
        for bucket in kept:
            if bucket[0] == day:
                bucket[1] = round(bucket[1] + points, 4)
                break
        else:
            kept.append([day, points])
        state["d"] = sorted(kept, key=lambda b: b[0])
        return
    state["v"] = round(value_at(plan, state, now) + points, 4)
    state["t"] = now


def matching_rules(plan: Plan, matched: set[str]) -> list[ScoringRule]:
    """The activity rules whose filter matched (by filter key)."""
    return [r for r in plan.rules if r.activity is not None and r.activity.key in matched]


def compiled_filters(plans: list[Plan]) -> dict[str, Callable[[ActivityView], bool]]:
    return {r.activity.key: compile_filter(r.activity) for p in plans for r in p.rules if r.activity is not None}


__all__ = [
    "Decay",
    "InvalidDefinition",
    "Plan",
    "ScoringRule",
    "TierLevel",
    "award",
    "award_once",
    "changes_at",
    "parse_plan",
    "tier_of",
    "value_at",
]
