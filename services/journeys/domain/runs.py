"""Decisions inside a journey run: who enters, which branch, how long to wait, which events matter. Pure."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.journeys.domain import delivery
from services.journeys.domain.definition import (
    WEEKDAYS,
    AfterDays,
    AllOf,
    AnyOf,
    EventMatch,
    HasConsent,
    InSegment,
    NotOf,
    PropertyFilter,
    RunHappened,
    ScoreIs,
    TraitIs,
    WaitNode,
)

EMAIL_OPENED = "Email Opened"
EMAIL_LINK_CLICKED = "Email Link Clicked"
ORDER_COMPLETED = "Order Completed"
PAGE = "page"  # the name a page view goes by in journeys (its `event` is empty)


def bucket(journey_id: str, node_id: str, profile_id: str) -> float:
    """A profile's fixed place in [0, 100) for one node of one journey: the same on every retry and version."""
    digest = hashlib.sha256(f"{journey_id}\x1f{node_id}\x1f{profile_id}".encode()).digest()
    return int.from_bytes(digest[:7], "big") / 2**56 * 100  # 56 bits: exactly representable, so < 100


def split_branch(percents: Sequence[float], place: float) -> int:
    """The branch whose cumulative share holds `place`."""
    edge = 0.0
    for index, percent in enumerate(percents):
        edge += percent
        if place < edge:
            return index
    return len(percents) - 1


@dataclass(frozen=True)
class ProfileFacts:
    """What a condition can look at: the profile (identity and segments) and this run."""

    traits: Mapping[str, Any] = field(default_factory=dict)
    segments: frozenset[str] = frozenset()
    scores: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # plan → {score, tier}
    consent: Mapping[str, bool | None] = field(default_factory=dict)
    opened: frozenset[str] = frozenset()  # email node ids whose message a human opened in this run
    clicked: frozenset[str] = frozenset()
    returned: bool = False
    purchased: bool = False


def _get(container: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    current: Any = container
    for part in dotted.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return False, None
        current = current[part]
    return True, current


def compare(present: bool, actual: Any, op: str, expected: Any) -> bool:
    """One comparison of the condition language; a type mismatch is simply false."""
    if op == "exists":
        return present and actual is not None
    if op == "notExists":
        return not present or actual is None
    if not present:
        return op == "notEquals"
    try:
        if op == "equals":
            return bool(_norm(actual) == _norm(expected))
        if op == "notEquals":
            return bool(_norm(actual) != _norm(expected))
        if op == "in":
            return isinstance(expected, list) and _norm(actual) in [_norm(e) for e in expected]
        if op == "contains":
            if isinstance(actual, list):
                return _norm(expected) in [_norm(a) for a in actual]
            return isinstance(actual, str) and str(expected).lower() in actual.lower()
        if op == "startsWith":
            return isinstance(actual, str) and actual.lower().startswith(str(expected).lower())
        if isinstance(actual, bool) or isinstance(expected, bool):
            return False
        left, right = (float(actual), float(expected)) if _numeric(actual, expected) else (str(actual), str(expected))
        return {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[op]  # type: ignore[operator]
    except (TypeError, ValueError, KeyError):
        return False


def _numeric(*values: Any) -> bool:
    for value in values:
        if isinstance(value, int | float):
            continue
        try:
            float(value)
        except (TypeError, ValueError):
            return False
    return True


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def holds(condition: Any, facts: ProfileFacts) -> bool:
    """Evaluate one condition of the journey condition language."""
    if isinstance(condition, AllOf):
        return all(holds(c, facts) for c in condition.all)
    if isinstance(condition, AnyOf):
        return any(holds(c, facts) for c in condition.any)
    if isinstance(condition, NotOf):
        return not holds(condition.not_, facts)
    if isinstance(condition, TraitIs):
        present, value = _get(facts.traits, condition.trait)
        return compare(present, value, condition.op, condition.value)
    if isinstance(condition, InSegment):
        return (condition.segment in facts.segments) == condition.member
    if isinstance(condition, ScoreIs):
        plan = facts.scores.get(condition.plan)
        if condition.tier is not None:
            return plan is not None and compare(True, plan.get("tier"), "equals", condition.tier)
        score = plan.get("score", 0) if plan else 0
        return compare(True, score, condition.op, condition.value)
    if isinstance(condition, HasConsent):
        return (facts.consent.get(condition.consent) is True) == condition.granted
    if isinstance(condition, RunHappened):
        if condition.happened == "opened":
            return condition.message in facts.opened or condition.message in facts.clicked  # a click implies an open
        if condition.happened == "clicked":
            return condition.message in facts.clicked
        return facts.returned if condition.happened == "returned" else facts.purchased
    raise TypeError(f"unknown condition {type(condition).__name__}")


def event_name(activity: Mapping[str, Any]) -> str | None:
    """The name journeys know an activity by: a track's event, or `page` for page views."""
    if activity.get("type") == "track":
        return activity.get("event") or None
    if activity.get("type") == "page":
        return PAGE
    return None


def is_machine(activity: Mapping[str, Any]) -> bool:
    """An email open or click that events flagged as machine-made (a scanner, a mail proxy): it never counts.
    Other events are not judged here: a purchase sent by a shop's back-end has no browser and still counts."""
    if activity.get("event") not in (EMAIL_OPENED, EMAIL_LINK_CLICKED):
        return False
    return bool((activity.get("enrichment") or {}).get("machine"))


def matches(match: EventMatch, name: str | None, properties: Mapping[str, Any]) -> bool:
    if name != match.event:
        return False
    return all(property_matches(f, properties) for f in match.where)


def property_matches(where: PropertyFilter, properties: Mapping[str, Any]) -> bool:
    present, value = _get(properties, where.property)
    return compare(present, value, where.op, where.value)


def run_facts(
    name: str | None, properties: Mapping[str, Any], machine: bool, messages: Mapping[str, str]
) -> dict[str, Any]:
    """What one activity adds to a run's facts. `messages` maps this run's email message ids to node ids."""
    if name in (EMAIL_OPENED, EMAIL_LINK_CLICKED):
        node = messages.get(str(properties.get("emailMessageId")))
        if machine or node is None:
            return {}
        return {"opened" if name == EMAIL_OPENED else "clicked": node}
    if name == PAGE:
        return {"returned": True}
    if name == ORDER_COMPLETED:
        return {"purchased": True}
    return {}


def may_enter(policy: Any, last_entered_at: dt.datetime | None, inside: bool, now: dt.datetime) -> str | None:
    """None when the profile may enter now; else why not. Never two runs of one journey at once."""
    if inside:
        return "already inside"
    if last_entered_at is None:
        return None
    if policy == "once":
        return "entered before (re-entry: once)"
    if isinstance(policy, AfterDays) and now - last_entered_at < dt.timedelta(days=policy.after_days):
        return f"entered less than {policy.after_days} days ago"
    return None


def wait_until(node: WaitNode, now: dt.datetime, traits: Mapping[str, Any], default_zone: str) -> dt.datetime:
    """When a wait node lets the run go on (never before now, at most a year ahead)."""
    if node.seconds is not None:
        return now + dt.timedelta(seconds=node.seconds)
    if node.until is not None:
        return max(now, node.until.astimezone(dt.UTC))
    if node.until_trait is not None:
        present, raw = _get(traits, node.until_trait.trait)
        moment = parse_moment(raw) if present else None
        if moment is None:
            return now  # no date to wait for: go on at once (the node's counters show it)
        return max(now, moment + dt.timedelta(seconds=node.until_trait.offset_seconds))
    assert node.local_time is not None
    zone = delivery.profile_zone(traits, default_zone)
    weekdays = [WEEKDAYS.index(d) for d in node.local_time.weekdays] or None
    return delivery.next_local_time(now, node.local_time.time, zone, weekdays)


def parse_moment(raw: Any) -> dt.datetime | None:
    """An ISO date or date-time trait as an aware UTC instant (a date is midnight UTC)."""
    if not isinstance(raw, str):
        return None
    try:
        if len(raw) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(raw), dt.time(), dt.UTC)
        moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def trait_date_start(moment: dt.datetime, offset_days: int, yearly: bool, now: dt.datetime) -> dt.datetime:
    """When a trait-date run begins: the date + offset (at once if that has passed); for a yearly date (a
    birthday), its next anniversary + offset at or after `now` (29 February is kept on 28 February in other
    years)."""
    offset = dt.timedelta(days=offset_days)
    if not yearly:
        return max(moment + offset, now)
    for year in range(now.year - 1, now.year + 3):
        day = moment.day if (moment.month, moment.day) != (2, 29) or _leap(year) else 28
        candidate = moment.replace(year=year, day=day) + offset
        if candidate >= now:
            return candidate
    raise AssertionError("an anniversary is always within two years")  # pragma: no cover


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
