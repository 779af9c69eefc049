"""Scoring plans: points for activities and (once) for traits, caps per day and lifetime, decay, tiers. Pure."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.common.conditions.activities import ActivityView, EventFilter, compile_filter, parse_filter
from services.common.conditions.faults import InvalidDefinition, Reader, join
from services.common.conditions.language import (
    All,
    AnyOf,
    Compiled,
    Not,
    References,
    Trait,
    compile_condition,
    walk,
)
from services.common.conditions.language import parse as parse_condition

# A plan's state per profile is a small JSON object:
# `v`/`t` the value at a moment (no decay, or a percentage per week), `d` points per award day (points that
# expire after N days), `c` per-rule caps `[day, points today, points ever]`, `o` the trait rules already paid,
# and `s`/`tier` — the score and tier last published, so each change is announced once.

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
    # counted among the known keys: an unknown one is a fault of its own, and `{"x": 1}` is not a decay
    if sum(key in node for key in ("expireAfterDays", "percentPerWeek")) != 1:
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


def add_points(plan: Plan, state: dict[str, Any], points: float, now: int) -> float:
    """Points given from outside the plan's rules (a journey step), now; mutates `state` (a copy)."""
    _add(plan, state, points, now, now)
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


# ---- two profiles become one -----------------------------------------------------------------------------------


def combine(
    plan: Plan, mine: dict[str, Any] | None, theirs: dict[str, Any] | None, now: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One plan's state when the folded profile (`theirs`) joins the survivor (`mine`) at `now`, and the share the
    folded profile brought (kept to take it back out on an un-merge).

    Points add up: expiring points per award day (each keeps its expiry), otherwise the two values at `now` (decay
    applied to each). Caps count what one person could have earned: a trait rule paid on both is paid once; when
    both were paid for a rule on the same UTC day beyond `maxPerDay`, or together beyond `maxLifetime`, the excess
    is taken off the folded profile's share — from the day it was last paid for that rule (its newest day for a
    trait rule), with the decay since then. Per-rule caps keep only the last day paid, so a daily cap exceeded on an
    earlier day both profiles scored on cannot be seen. The score and tier last announced stay the survivor's, so
    what changes for it is announced. Pure: neither argument is changed."""
    mine, theirs = mine or {}, theirs or {}
    rules = {rule.name: rule for rule in plan.rules}
    combined: dict[str, Any] = {k: mine[k] for k in ("s", "tier") if k in mine}
    share: dict[str, Any] = {}
    # (when it was paid — None: the folded profile's newest points —, signed points) its share must give up
    takeoff: list[tuple[int | None, float]] = []

    mine_caps, their_caps = mine.get("c") or {}, theirs.get("c") or {}
    caps: dict[str, list[Any]] = {}
    share_caps: dict[str, list[Any]] = {}
    for name in sorted(mine_caps.keys() | their_caps.keys()):
        a, b = mine_caps.get(name), their_caps.get(name)
        if b is None or a is None:
            caps[name] = list(a or b)  # type: ignore[arg-type]
            if b is not None:
                share_caps[name] = list(b)
            continue
        day = max(a[0], b[0])
        today = (a[1] if a[0] == day else 0) + (b[1] if b[0] == day else 0)
        ever = a[2] + b[2]
        rule = rules.get(name)
        over = 0.0
        if rule is not None and rule.max_per_day is not None and a[0] == b[0]:
            over = max(over, today - rule.max_per_day)
        if rule is not None and rule.max_lifetime is not None:
            over = max(over, ever - rule.max_lifetime)
        over = min(over, b[2])  # never more than the folded profile earned on the rule
        from_today = min(over, b[1]) if b[0] == day else 0
        caps[name] = [day, today - from_today, ever - over]
        share_caps[name] = [b[0], b[1] - (min(over, b[1])), b[2] - over]
        if over > 0 and rule is not None:
            takeoff.append((b[0] * DAY_MS, math.copysign(over, rule.points)))
    if caps:
        combined["c"] = caps
    if share_caps:
        share["c"] = share_caps

    mine_paid, their_paid = list(mine.get("o") or ()), list(theirs.get("o") or ())
    if mine_paid or their_paid:
        combined["o"] = mine_paid + [r for r in their_paid if r not in mine_paid]
    added = [r for r in their_paid if r not in mine_paid]
    if added:
        share["o"] = added
    for name in their_paid:
        if name in mine_paid and name in rules:  # a trait rule pays once per person
            takeoff.append((None, rules[name].points))

    decay = plan.decay
    if decay is not None and decay.expire_after_days is not None:
        days: dict[int, float] = {}
        their_days: dict[int, float] = {}
        for source, target in ((mine, days), (theirs, their_days)):
            for day, points in source.get("d", ()):
                if _expires(day, decay) > now:
                    target[day] = target.get(day, 0.0) + points
        for moment, points in takeoff:
            day = max(their_days, default=None) if moment is None else moment // DAY_MS
            if day in their_days:  # else those points have expired already: nothing left to give up
                their_days[day] = their_days[day] - points  # type: ignore[index]
        for day, points in their_days.items():
            days[day] = days.get(day, 0.0) + points
        combined["d"] = [[day, round(points, 4)] for day, points in sorted(days.items())]
        share["d"] = [[day, round(points, 4)] for day, points in sorted(their_days.items())]
    else:
        theirs_now = value_at(plan, theirs, now)
        for moment, points in takeoff:
            theirs_now -= _decayed(plan, points, int(theirs.get("t", now)) if moment is None else moment, now)
        combined["v"] = round(value_at(plan, mine, now) + theirs_now, 4)
        combined["t"] = now
        share["v"] = round(theirs_now, 4)
        share["t"] = now
    return combined, share


def take_back(plan: Plan, state: dict[str, Any], share: dict[str, Any], now: int) -> dict[str, Any]:
    """One plan's state without the share a fold brought (`combine`'s second result): an un-merge. Points added
    since the fold stay, caps give back what the share used, trait rules only the folded profile had paid are
    unpaid (so the survivor earns them again if its own traits qualify). Pure."""
    out: dict[str, Any] = {k: v for k, v in state.items() if k in ("s", "tier")}
    decay = plan.decay
    if decay is not None and decay.expire_after_days is not None:
        days = {d: p for d, p in state.get("d", ()) if _expires(d, decay) > now}
        for day, points in share.get("d", ()):
            if day in days:
                days[day] = round(days[day] - points, 4)
        out["d"] = [[d, p] for d, p in sorted(days.items()) if abs(p) > 1e-9]
    else:
        out["v"] = round(value_at(plan, state, now) - value_at(plan, share, now), 4)
        out["t"] = now
    caps = {name: list(spent) for name, spent in (state.get("c") or {}).items()}
    for name, (day, today, ever) in (share.get("c") or {}).items():
        spent = caps.get(name)
        if spent is None:
            continue
        spent[2] = max(0.0, spent[2] - ever)
        if spent[0] == day:
            spent[1] = max(0.0, spent[1] - today)
        if spent[2] <= 0:
            del caps[name]
    if caps:
        out["c"] = caps
    paid = [r for r in state.get("o") or () if r not in (share.get("o") or ())]
    if paid:
        out["o"] = paid
    return out


def _decayed(plan: Plan, points: float, paid_at: int, now: int) -> float:
    """What `points` paid at `paid_at` are worth at `now` under a plan without expiring points."""
    decay = plan.decay
    if decay is not None and decay.keep_per_week is not None:
        return points * decay.keep_per_week ** (max(0, now - paid_at) / WEEK_MS)
    return points


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
    "combine",
    "parse_plan",
    "take_back",
    "tier_of",
    "value_at",
]
