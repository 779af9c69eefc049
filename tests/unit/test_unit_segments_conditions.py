"""The condition language: refusals name the path of the fault; the compiled evaluator agrees with a
straightforward reference interpreter on random trees and profiles, now and at any later moment."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.conditions.activities import ActivityView
from services.common.conditions.faults import InvalidDefinition
from services.common.conditions.language import References, compile_condition, parse
from services.segments.domain.catalog import build
from services.segments.domain.profiles import Activity, ProfileState, ProfileView, TraitsChanged, apply

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
T0_MS = int(T0.timestamp() * 1000)
MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

PLAN = {
    "planId": "p1",
    "name": "Engagement",
    "rules": [{"name": "buy", "activity": {"event": "Buy"}, "points": 10}],
    "tiers": [{"name": "cold"}, {"name": "warm", "min": 20}, {"name": "hot", "min": 40}],
}
FLAG_SEGMENTS = [
    {"segmentId": "s-a", "name": "A", "condition": {"trait": "flagA", "op": "equals", "value": True}},
    {"segmentId": "s-b", "name": "B", "condition": {"trait": "flagB", "op": "equals", "value": True}},
]
REFS = References(
    plans={"p1": ("cold", "warm", "hot")},
    questionnaires={"q1": ("explorer", "classic")},
    segments={"s-a": frozenset(), "s-b": frozenset()},
)


def faults(raw: Any, refs: References = REFS) -> dict[str, str]:
    with pytest.raises(InvalidDefinition) as refused:
        parse(raw, refs)
    return {f.path: f.message for f in refused.value.faults}


# ---- refusals name the path --------------------------------------------------------------------------------------

RECIPES = {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]}


@pytest.mark.parametrize(
    ("raw", "path", "says"),
    [
        pytest.param("everyone", "condition", "must be an object", id="not-an-object"),
        pytest.param({}, "condition", "unknown condition", id="empty"),
        pytest.param({"every": []}, "condition.every", "unknown condition", id="unknown-combinator"),
        pytest.param({"all": []}, "condition.all", "1 to 50", id="empty-all"),
        pytest.param({"all": [{"trait": "a", "op": "exists"}], "any": []}, "condition", "exactly one", id="two-kinds"),
        pytest.param({"not": "x"}, "condition.not", "must be an object", id="not-of-string"),
        pytest.param(
            {"all": [{"trait": "age", "op": "gte", "value": 1}, {"any": [{"trait": "age", "op": "older"}]}]},
            "condition.all[1].any[0].op",
            "unknown operator 'older'",
            id="unknown-trait-op",
        ),
        pytest.param(
            {"trait": "age", "op": "gt", "value": "18"}, "condition.value", "compares numbers", id="gt-string"
        ),
        pytest.param({"trait": "age", "op": "in", "value": 3}, "condition.value", "list", id="in-scalar"),
        pytest.param({"trait": "c", "op": "in", "value": ["a", {"b": 1}]}, "condition.value[1]", "string", id="in-obj"),
        pytest.param({"trait": "a", "op": "between", "value": [5, 1]}, "condition.value", "low end", id="between-rev"),
        pytest.param({"trait": "a", "op": "before", "value": "last week"}, "condition.value", "ISO date", id="date"),
        pytest.param({"trait": "a", "op": "exists", "value": True}, "condition.value", "no value", id="exists-value"),
        pytest.param({"trait": "a", "op": "withinLastDays", "value": 0}, "condition.value", "between 1", id="days-0"),
        pytest.param({"trait": "a b", "op": "exists"}, "condition.trait", "trait name", id="trait-name"),
        pytest.param({"trait": "a", "op": "exists", "extra": 1}, "condition.extra", "unknown field", id="extra-field"),
        pytest.param(
            {"behaviour": RECIPES, "op": "atLeast", "value": 2, "withinDays": 366},
            "condition.withinDays",
            "between 1 and 365",
            id="window-too-long",
        ),
        pytest.param(
            {"behaviour": RECIPES, "op": "atLeast", "value": 2, "withinHours": 0},
            "condition.withinHours",
            "between 1 and 8760",
            id="window-zero-hours",
        ),
        pytest.param(
            {"behaviour": RECIPES, "op": "atLeast", "value": 2, "withinDays": 3, "withinHours": 3},
            "condition.withinHours",
            "not both",
            id="two-windows",
        ),
        pytest.param({"behaviour": RECIPES, "op": "atLeast", "value": 0}, "condition.value", "between 1", id="least-0"),
        pytest.param({"behaviour": RECIPES, "op": "atMost", "value": 101}, "condition.value", "and 100", id="most-101"),
        pytest.param({"behaviour": RECIPES, "op": "exactly", "value": 1.5}, "condition.value", "whole", id="count-1.5"),
        pytest.param({"behaviour": RECIPES, "op": "never", "value": 1}, "condition.value", "no value", id="never-val"),
        pytest.param({"behaviour": RECIPES, "op": "lastWithin"}, "condition.withinDays", "needs a window", id="last"),
        pytest.param({"behaviour": RECIPES, "op": "atleast", "value": 1}, "condition.op", "unknown", id="count-op"),
        pytest.param(
            {"behaviour": {"type": "click"}, "op": "never"}, "condition.behaviour.type", "activity type", id="type"
        ),
        pytest.param(
            {"behaviour": {"where": [{"property": "path", "op": "startsWith", "value": 3}]}, "op": "never"},
            "condition.behaviour.where[0].value",
            "string",
            id="where-value",
        ),
        pytest.param(
            {"behaviour": {"where": [{"property": "p", "environment": "hour", "op": "exists"}]}, "op": "never"},
            "condition.behaviour.where[0]",
            "exactly one",
            id="where-two-sources",
        ),
        pytest.param(
            {"environment": "deviceType", "op": "in", "value": ["mobile", "phone"]},
            "condition.value[1]",
            "not one of",
            id="env-enum",
        ),
        pytest.param({"environment": "hour", "op": "gt", "value": 24}, "condition.value", "0 to 23", id="env-hour"),
        pytest.param({"environment": "mood", "op": "exists"}, "condition.environment", "unknown", id="env-field"),
        pytest.param(
            {"environment": "deviceType", "op": "startsWith", "value": "m"}, "condition.op", "unknown", id="env-op"
        ),
        pytest.param({"score": "nope", "op": "gte", "value": 1}, "condition.score", "no scoring plan", id="plan"),
        pytest.param({"score": "p1", "op": "gte", "value": "1"}, "condition.value", "number", id="score-type"),
        pytest.param({"score": "p1", "op": "equals", "value": True}, "condition.value", "number", id="score-bool"),
        pytest.param({"tier": "p1", "op": "atLeast", "value": "lukewarm"}, "condition.value", "not a tier", id="tier"),
        pytest.param({"tier": "p1", "op": "in", "value": ["hot", "x"]}, "condition.value[1]", "not a tier", id="tiers"),
        pytest.param({"inSegment": "s-zzz"}, "condition.inSegment", "no segment", id="unknown-segment"),
        pytest.param({"questionnaire": "q1", "op": "equals", "value": "x"}, "condition.value", "not a segment", id="q"),
        pytest.param({"questionnaire": "q9", "op": "neutral"}, "condition.questionnaire", "no questionnaire", id="q9"),
    ],
)
def test_an_invalid_condition_is_refused_with_the_path_of_the_fault(raw: Any, path: str, says: str) -> None:
    found = faults(raw)
    assert path in found, found
    assert says in found[path]


def test_every_fault_of_a_tree_is_reported_at_once() -> None:
    found = faults(
        {
            "all": [
                {"trait": "age", "op": "gte", "value": "x"},
                {"any": [{"behaviour": RECIPES, "op": "atLeast", "value": 2, "withinDays": 999}]},
                {"not": {"environment": "weekday", "op": "equals", "value": 9}},
            ]
        }
    )
    assert set(found) == {"condition.all[0].value", "condition.all[1].any[0].withinDays", "condition.all[2].not.value"}


def test_depth_and_size_are_bounded() -> None:
    deep: dict[str, Any] = {"trait": "a", "op": "exists"}
    for _ in range(10):
        deep = {"not": deep}
    assert "conditions nest at most 10" in " ".join(faults(deep).values())
    wide = {"any": [{"all": [{"trait": f"t{i}{j}", "op": "exists"} for j in range(11)]} for i in range(10)]}
    assert "at most 100 leaves" in faults(wide)["condition"]


def test_a_segment_cannot_name_itself_or_close_a_cycle() -> None:
    refs = References(segments={"s-a": frozenset({"s-b"}), "s-b": frozenset()}, self_id="s-b")
    assert "cycle" in faults({"inSegment": "s-a"}, refs)["condition"]
    assert "itself" in faults({"inSegment": "s-b"}, refs)["condition.inSegment"]


def test_valid_leaves_of_every_kind_parse() -> None:
    parse(
        {
            "all": [
                {"trait": "signup", "op": "withinLastDays", "value": 30},
                {"trait": "birthday", "op": "between", "value": ["1990-01-01", "1999-12-31"]},
                {"behaviour": {"event": "Order Completed"}, "op": "never", "withinHours": 48},
                {"behaviour": RECIPES, "op": "lastNotWithin", "withinDays": 30},
                {"environment": "partOfDay", "op": "in", "value": ["evening", "night"]},
                {"score": "p1", "op": "between", "value": [10, 50]},
                {"tier": "p1", "op": "atLeast", "value": "warm"},
                {"inSegment": "s-a"},
                {"questionnaire": "q1", "op": "in", "value": ["explorer"]},
                {"not": {"questionnaire": "q1", "op": "neutral"}},
            ]
        },
        REFS,
    )


# ---- the reference interpreter -----------------------------------------------------------------------------------


@dataclass
class Event:
    type: str
    name: str | None
    at: int
    path: str | None = None
    page_path: str | None = None  # in context.page instead of properties
    device: str | None = None
    machine: bool = False


@dataclass
class Profile:
    traits: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)  # in arrival order


def moment(text: Any) -> int | None:
    if not isinstance(text, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp() * 1000)


def is_num(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def equal(x: Any, v: Any) -> bool:
    if isinstance(x, bool) or isinstance(v, bool):
        return isinstance(x, bool) and isinstance(v, bool) and x == v
    if is_num(x) and is_num(v):
        return bool(x == v)
    return isinstance(x, str) and isinstance(v, str) and x == v


def ref_value(op: str, v: Any, x: Any, now: int) -> bool:
    if op == "exists":
        return x is not None
    if op == "equals":
        return equal(x, v)
    if op == "in":
        return any(equal(x, item) for item in v)
    if op == "contains":
        if isinstance(x, str):
            return isinstance(v, str) and v in x
        return isinstance(x, list) and any(equal(item, v) for item in x)
    if op == "startsWith":
        return isinstance(x, str) and x.startswith(v)
    if op in ("gt", "gte", "lt", "lte"):
        if not is_num(x):
            return False
        return {"gt": x > v, "gte": x >= v, "lt": x < v, "lte": x <= v}[op]
    if op == "between":
        if is_num(v[0]):
            return is_num(x) and v[0] <= x <= v[1]
        m = moment(x)
        return m is not None and moment(v[0]) <= m <= moment(v[1])  # type: ignore[operator]
    if op in ("before", "after"):
        m = moment(x)
        return m is not None and (m < moment(v) if op == "before" else m > moment(v))  # type: ignore[operator]
    if op == "withinLastDays":
        m = moment(x)
        return m is not None and now - v * DAY < m <= now
    raise AssertionError(op)


def ref_matches(flt: dict[str, Any], e: Event) -> bool:
    kind = flt.get("type") or ("track" if "event" in flt else None)
    if kind is not None and e.type != kind:
        return False
    if "event" in flt and e.name != flt["event"]:
        return False
    for clause in flt.get("where", []):
        if "environment" in clause:
            value = {"deviceType": e.device}.get(clause["environment"])
        else:
            value = e.path if e.path is not None else e.page_path
        if not ref_value(clause["op"], clause.get("value"), value, e.at):
            return False
    return True


def ref(node: dict[str, Any], p: Profile, now: int) -> bool:
    if "all" in node:
        return all(ref(c, p, now) for c in node["all"])
    if "any" in node:
        return any(ref(c, p, now) for c in node["any"])
    if "not" in node:
        return not ref(node["not"], p, now)
    if "trait" in node:
        value: Any = p.traits
        for part in node["trait"].split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return ref_value(node["op"], node.get("value"), value, now)
    if "inSegment" in node:
        return p.traits.get("flagA" if node["inSegment"] == "s-a" else "flagB") is True
    if "environment" in node:
        latest = [e for e in p.events if e.device is not None]
        env = None
        if latest:
            top = max(e.at for e in latest)
            env = [e for e in latest if e.at == top][-1].device
        return ref_value(node["op"], node.get("value"), env, now)
    score = 10.0 * sum(1 for e in p.events if e.type == "track" and e.name == "Buy" and not e.machine)
    if "score" in node:
        return ref_value(node["op"], node["value"], score, now)
    if "tier" in node:
        tier = "hot" if score >= 40 else "warm" if score >= 20 else "cold"
        ranks = ["cold", "warm", "hot"]
        if node["op"] == "equals":
            return tier == node["value"]
        if node["op"] == "in":
            return tier in node["value"]
        return ranks.index(tier) >= ranks.index(node["value"])
    hits = [e.at for e in p.events if ref_matches(node["behaviour"], e) and e.at <= now]
    window = node.get("withinDays", 0) * DAY + node.get("withinHours", 0) * HOUR
    op = node["op"]
    if op in ("atLeast", "atMost", "exactly", "never"):
        n = sum(1 for h in hits if h > now - window) if window else len(hits)
        return {"atLeast": n >= node.get("value", 0), "atMost": n <= node.get("value", 0), "never": n == 0}.get(
            op, n == node.get("value")
        )
    if not hits:
        return False
    at = min(hits) if op.startswith("first") else max(hits)
    return (at > now - window) == (op.endswith("Within") and "Not" not in op)


# ---- random trees and profiles -----------------------------------------------------------------------------------

DATES = st.integers(-40, 5).map(lambda d: (T0 + dt.timedelta(days=d)).date().isoformat())
SCALARS = st.one_of(st.sampled_from(["NL", "BE", "x", "Ana", ""]), st.integers(-2, 40), st.booleans())
FILTERS = st.sampled_from(
    [
        {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]},
        {"type": "page", "where": [{"property": "path", "op": "in", "value": ["/blog/a", "/blog/b"]}]},
        {"type": "page"},
        {"event": "Buy"},
        {"event": "View", "where": [{"environment": "deviceType", "op": "equals", "value": "mobile"}]},
        {"where": [{"environment": "deviceType", "op": "in", "value": ["tablet", "mobile"]}]},
        {},
    ]
)


@st.composite
def trait_leaves(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(["country", "age", "tags", "signup", "vip", "missing", "address.city"]))
    op = draw(
        st.sampled_from(
            [
                "equals",
                "in",
                "contains",
                "startsWith",
                "gt",
                "lte",
                "between",
                "before",
                "after",
                "exists",
                "withinLastDays",
            ]
        )
    )
    value: Any
    if op in ("equals", "contains"):
        value = draw(SCALARS.filter(lambda v: v != "" or op == "equals"))
    elif op == "in":
        value = draw(st.lists(SCALARS, min_size=1, max_size=4))
    elif op == "startsWith":
        value = draw(st.sampled_from(["N", "A", "x"]))
    elif op in ("gt", "lte"):
        value = draw(st.integers(-5, 45))
    elif op == "between":
        if draw(st.booleans()):
            low = draw(st.integers(-5, 40))
            value = [low, low + draw(st.integers(0, 20))]
        else:
            value = sorted([draw(DATES), draw(DATES)])
    elif op in ("before", "after"):
        value = draw(DATES)
    elif op == "withinLastDays":
        value = draw(st.integers(1, 30))
    else:
        return {"trait": name, "op": "exists"}
    return {"trait": name, "op": op, "value": value}


@st.composite
def behaviour_leaves(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(
        st.sampled_from(
            ["atLeast", "atMost", "exactly", "never", "firstWithin", "firstNotWithin", "lastWithin", "lastNotWithin"]
        )
    )
    leaf: dict[str, Any] = {"behaviour": draw(FILTERS), "op": op}
    if op in ("atLeast", "atMost", "exactly"):
        leaf["value"] = draw(st.integers(1 if op == "atLeast" else 0, 3))
    window = draw(
        st.sampled_from(
            ["days", "hours", None] if op in ("atLeast", "atMost", "exactly", "never") else ["days", "hours"]
        )
    )
    if window == "days":
        leaf["withinDays"] = draw(st.integers(1, 10))
    elif window == "hours":
        leaf["withinHours"] = draw(st.integers(1, 72))
    return leaf


OTHER_LEAVES = st.one_of(
    st.builds(
        lambda v: {"environment": "deviceType", "op": "in", "value": v},
        st.lists(st.sampled_from(["mobile", "desktop", "tablet"]), min_size=1, max_size=2),
    ),
    st.builds(lambda v: {"score": "p1", "op": "gte", "value": v}, st.integers(0, 60)),
    st.builds(lambda v: {"score": "p1", "op": "between", "value": [v, v + 15]}, st.integers(0, 50)),
    st.builds(
        lambda o, v: {"tier": "p1", "op": o, "value": v},
        st.sampled_from(["equals", "atLeast"]),
        st.sampled_from(["cold", "warm", "hot"]),
    ),
    st.builds(lambda s: {"inSegment": s}, st.sampled_from(["s-a", "s-b"])),
)
LEAVES = st.one_of(trait_leaves(), behaviour_leaves(), behaviour_leaves(), behaviour_leaves(), OTHER_LEAVES)
TREES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.builds(lambda c: {"all": c}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"any": c}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, inner),
    ),
    max_leaves=5,
)


@st.composite
def events(draw: st.DrawFn) -> Event:
    kind = draw(st.sampled_from(["page", "track"]))
    name = draw(st.sampled_from(["Buy", "View"])) if kind == "track" else draw(st.sampled_from([None, "Home"]))
    path = draw(st.sampled_from([None, "/recipes/soup", "/recipes", "/recipes/soup", "/blog/a", "/about"]))
    in_context = kind == "page" and draw(st.booleans())
    return Event(
        type=kind,
        name=name,
        at=T0_MS + draw(st.integers(0, 4 * 24 * 60)) * MINUTE * draw(st.sampled_from([1, 5])),  # ties happen
        path=None if in_context else path,
        page_path=path if in_context else None,
        device=draw(st.sampled_from([None, "mobile", "desktop", "tablet"])),
        machine=draw(st.booleans()),
    )


PROFILES = st.builds(
    Profile,
    traits=st.fixed_dictionaries(
        {},
        optional={
            "country": st.sampled_from(["NL", "BE", "Nice"]),
            "age": st.one_of(st.integers(0, 40), st.just("30"), st.floats(0, 40, allow_nan=False)),
            "tags": st.lists(SCALARS, max_size=3),
            "signup": DATES,
            "vip": st.booleans(),
            "address": st.fixed_dictionaries({}, optional={"city": st.sampled_from(["Ana", "xyz"])}),
            "flagA": st.booleans(),
            "flagB": st.just(True),
        },
    ),
    events=st.lists(events(), max_size=16),
)


def windows(node: Any) -> set[int]:
    """Every window length (ms) in a tree."""
    if isinstance(node, list):
        return set().union(*(windows(n) for n in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = {node.get("withinDays", 0) * DAY + node.get("withinHours", 0) * HOUR} - {0}
    return found.union(*(windows(v) for v in node.values()))


def view_of(event: Event) -> ActivityView:
    properties = {"path": event.path} if event.path is not None else {}
    page = {"path": event.page_path} if event.page_path is not None else {}
    return ActivityView(
        message_id=f"m-{id(event)}",
        type=event.type,
        name=event.name,
        at=event.at,
        properties=properties,
        page=page,
        environment={"deviceType": event.device} if event.device else {},
        machine=event.machine,
    )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tree=TREES,
    profile=PROFILES,
    later=st.integers(0, 15 * 24 * 60),
    probes=st.lists(st.integers(1, 30 * 24 * 60), max_size=4),
)
def test_the_compiled_evaluator_agrees_with_the_reference_interpreter(
    tree: dict[str, Any], profile: Profile, later: int, probes: list[int]
) -> None:
    # Given a segment with a random condition, and a profile fed its traits and events as they arrive
    catalog = build([*FLAG_SEGMENTS, {"segmentId": "s-x", "name": "X", "condition": tree}], [PLAN], [])
    assert catalog.skipped == ()
    state = apply(catalog, ProfileState(), TraitsChanged(dict(profile.traits)), T0_MS).state
    arrived = T0_MS
    for event in profile.events:
        arrived = max(arrived, event.at)
        state = apply(catalog, state, Activity(view_of(event)), arrived).state
    rule = catalog.segment("s-x")
    assert rule is not None
    now = arrived + later * MINUTE

    # Then the compiled condition answers as the reference does, now and at later moments without new events —
    # including exactly at, and a millisecond either side of, the moments events leave a window
    edges = {e.at + w + d for e in profile.events for w in windows(tree) for d in (-1, 0, 1) if e.at + w + d >= now}
    for moment_ms in sorted({now, *(now + p * MINUTE for p in probes), *edges}):
        view = ProfileView(state, catalog.plans, moment_ms)
        assert rule.condition.test(view) == ref(tree, profile, moment_ms), moment_ms

    # And nothing changes before the moment the compiled condition says it may
    changes_at = rule.condition.changes_at
    first_change = changes_at(ProfileView(state, catalog.plans, now)) if changes_at else None
    answer = ref(tree, profile, now)
    for probe in probes:
        at = now + probe * MINUTE
        if first_change is None or at < first_change:
            assert ref(tree, profile, at) == answer


def test_compiled_and_parsed_trees_are_reusable() -> None:
    compiled = compile_condition(parse({"trait": "country", "op": "in", "value": ["NL", "BE"]}, REFS))
    state = ProfileState(traits={"country": "BE"})
    assert compiled.test(ProfileView(state, {}, T0_MS))
    assert not compiled.test(ProfileView(ProfileState(traits={"country": "DE"}), {}, T0_MS))
    assert compiled.changes_at is None
