"""Activities as the segments core sees them, and event filters ("which activities count"): parse, key, match."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.common.conditions.faults import Reader, join
from services.common.conditions.predicates import (
    ENUM_OPS,
    ENVIRONMENT,
    FIELD_NAME,
    NUMBER_OPS,
    STRING_OPS,
    VALUE_OPS,
    Predicate,
    compile_predicate,
    field_getter,
    parse_predicate,
)

ACTIVITY_TYPES = ("track", "page", "screen", "identify", "group", "alias")
PAGE_FIELDS = ("path", "url", "title", "referrer", "search")  # may come from context.page instead of properties
MAX_WHERE = 20


@dataclass(frozen=True)
class ActivityView:
    """One recorded activity: `name` is the track event or the page/screen name; `at` is epoch ms."""

    message_id: str
    type: str
    name: str | None
    at: int
    properties: dict[str, Any] = field(default_factory=dict)
    page: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    traits: dict[str, Any] = field(default_factory=dict)
    machine: bool = False


def to_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def activity_view(raw: dict[str, Any]) -> ActivityView:
    """From an ActivityRecorded payload (camelCase JSON)."""
    kind = str(raw.get("type") or "track")
    name = raw.get("event") if kind == "track" else raw.get("name")
    stamp = raw.get("timestamp")
    at = to_ms(dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))) if isinstance(stamp, str) else int(stamp or 0)
    enrichment = raw.get("enrichment") or {}
    context = raw.get("context") or {}
    page = context.get("page") if isinstance(context.get("page"), dict) else {}
    return ActivityView(
        message_id=str(raw.get("messageId") or ""),
        type=kind,
        name=name if isinstance(name, str) else None,
        at=at,
        properties=raw.get("properties") or {},
        page=page or {},
        environment=environment_of(enrichment),
        traits=(raw.get("traits") or {}) if kind == "identify" else {},
        machine=bool(enrichment.get("machine")),
    )


def environment_of(enrichment: dict[str, Any]) -> dict[str, Any]:
    """The enrichment's parts flattened to the environment fields conditions name (missing parts left out)."""
    device = enrichment.get("device") or {}
    geo = enrichment.get("geo") or {}
    referrer = enrichment.get("referrer") or {}
    campaign = enrichment.get("campaign") or {}
    local = enrichment.get("local") or {}
    values = {
        "deviceType": device.get("type"),
        "country": geo.get("country"),
        "region": geo.get("region"),
        "city": geo.get("city"),
        "referrerType": referrer.get("type"),
        "referrerSource": referrer.get("source"),
        "campaign": campaign.get("name"),
        "campaignSource": campaign.get("source"),
        "campaignMedium": campaign.get("medium"),
        "searchTerms": enrichment.get("searchTerms"),
        "partOfDay": local.get("partOfDay"),
        "weekday": local.get("weekday"),
        "hour": local.get("hour"),
    }
    return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class Where:
    """One filter clause: a property of the event, or its environment."""

    source: str  # "property" | "environment"
    path: tuple[str, ...]
    test: Predicate


@dataclass(frozen=True)
class EventFilter:
    """Which activities count: by type, by name (track event or page/screen name), and by clauses."""

    type: str | None
    name: str | None
    where: tuple[Where, ...] = ()

    @property
    def key(self) -> str:
        """A short stable id of the filter, shared by every condition and rule that uses the same one."""
        return _filter_key(self)

    def canonical(self) -> str:
        clauses = sorted(
            json.dumps([w.source, list(w.path), w.test.as_json()], sort_keys=True, default=list) for w in self.where
        )
        return json.dumps([self.type, self.name, clauses], sort_keys=True)

    @property
    def index_key(self) -> tuple[str, str]:
        return (self.type or "*", self.name or "*")


_KEYS: dict[EventFilter, str] = {}


def _filter_key(flt: EventFilter) -> str:
    key = _KEYS.get(flt)
    if key is None:
        key = _KEYS[flt] = hashlib.sha1(flt.canonical().encode()).hexdigest()[:12]  # an id, not a secret
    return key


def parse_filter(reader: Reader, raw: Any, path: str) -> EventFilter | None:
    """`{"type": "page", "event": "...", "where": [{"property": "path", "op": "startsWith", "value": "/r"}]}`."""
    node = reader.obj(raw, path, ("type", "event", "where"))
    if node is None:
        return None
    before = len(reader.faults)
    kind = node.get("type")
    if kind is not None and kind not in ACTIVITY_TYPES:
        reader.fault(join(path, "type"), f"unknown activity type {kind!r}; expected one of {', '.join(ACTIVITY_TYPES)}")
    name = None
    if "event" in node:
        name = reader.string(node["event"], join(path, "event"))
        if kind is None:
            kind = "track"
    clauses: list[Where] = []
    for index, clause in enumerate(reader.items(node.get("where", []), join(path, "where"), 0, MAX_WHERE)):
        parsed = _parse_where(reader, clause, join(join(path, "where"), index))
        if parsed is not None:
            clauses.append(parsed)
    if len(reader.faults) > before:
        return None
    return EventFilter(kind, name, tuple(clauses))


def _parse_where(reader: Reader, raw: Any, path: str) -> Where | None:
    node = reader.obj(raw, path, ("property", "environment", "op", "value"))
    if node is None:
        return None
    sources = [s for s in ("property", "environment") if s in node]
    if len(sources) != 1:
        reader.fault(path, "a clause names exactly one of `property` or `environment`")
        return None
    source = sources[0]
    name = node[source]
    if source == "environment":
        if name not in ENVIRONMENT:
            reader.fault(
                join(path, source), f"unknown environment field {name!r}; expected one of {', '.join(ENVIRONMENT)}"
            )
            return None
        field_kind = ENVIRONMENT[name]
        test = parse_predicate(reader, node, path, _ops_for(field_kind[0]), field_kind)
        return None if test is None else Where(source, (name,), test)
    if not isinstance(name, str) or not FIELD_NAME.fullmatch(name):
        reader.fault(join(path, source), "must be a property name such as `path` or `product.category`")
        return None
    ops = tuple(op for op in VALUE_OPS if op != "withinLastDays")
    test = parse_predicate(reader, node, path, ops, None)
    return None if test is None else Where(source, tuple(name.split(".")), test)


def _ops_for(shape: str) -> tuple[str, ...]:
    return {"enum": ENUM_OPS, "int": NUMBER_OPS, "string": STRING_OPS}[shape]


def compile_filter(flt: EventFilter) -> Callable[[ActivityView], bool]:
    """The filter's clauses as one closure (type and name are matched by the index before this is called)."""
    tests: list[Callable[[ActivityView], bool]] = []
    for clause in flt.where:
        test = compile_predicate(clause.test)
        if clause.source == "environment":
            field = clause.path[0]
            tests.append(lambda a, f=field, t=test: t(a.environment.get(f), a.at))  # type: ignore[misc]
        else:
            get = field_getter(clause.path)
            fallback = clause.path[0] if len(clause.path) == 1 and clause.path[0] in PAGE_FIELDS else None
            tests.append(_property_test(get, fallback, test))
    if not tests:
        return lambda activity: True
    if len(tests) == 1:
        return tests[0]
    return lambda activity: all(t(activity) for t in tests)


def _property_test(
    get: Callable[[dict[str, Any]], Any], fallback: str | None, test: Callable[[Any, int], bool]
) -> Callable[[ActivityView], bool]:
    if fallback is None:
        return lambda a: test(get(a.properties), a.at)

    def with_page_context(activity: ActivityView) -> bool:
        value = get(activity.properties)
        if value is None:
            value = activity.page.get(fallback)
        return test(value, activity.at)

    return with_page_context


def index_keys(activity: ActivityView) -> tuple[tuple[str, str], ...]:
    """The filter index entries an activity can match: exact type and name, any name of its type, anything."""
    if activity.name:
        return ((activity.type, activity.name), (activity.type, "*"), ("*", "*"))
    return ((activity.type, "*"), ("*", "*"))
