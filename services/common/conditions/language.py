"""The segment condition language: a JSON tree of `all` / `any` / `not` over leaves, parsed and compiled. Pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.common.conditions.activities import EventFilter, parse_filter
from services.common.conditions.faults import Reader, is_number, join, kind
from services.common.conditions.predicates import (
    ENVIRONMENT,
    FIELD_NAME,
    NUMBER_OPS,
    STRING_OPS,
    VALUE_OPS,
    Predicate,
    compile_predicate,
    field_getter,
    next_change,
    parse_predicate,
)
from services.common.conditions.rollups import Counter, count_changes_at, count_within

# The tree is parsed and validated with the path of every fault, then compiled to closures.
#
# Leaves (see docs/segments.md for examples):
# - `{"trait": "age", "op": "gte", "value": 18}` — the profile's traits;
# - `{"behaviour": {<filter>}, "op": "atLeast", "value": 2, "withinDays": 14}` — counts of matching activities in a
#   rolling window (atLeast / atMost / exactly / never; without a window: ever), or when the first / last one happened
#   (firstWithin / firstNotWithin / lastWithin / lastNotWithin);
# - `{"environment": "deviceType", "op": "in", "value": ["mobile"]}` — the visitor's latest activity's context;
# - `{"score": "<planId>", "op": "gte", "value": 50}`, `{"tier": "<planId>", "op": "atLeast", "value": "hot"}`;
# - `{"inSegment": "<segmentId>"}`; `{"questionnaire": "<id>", "op": "equals", "value": "<segment key>"}`.
#
# A compiled condition answers `test(view)` and `changes_at(view)`: the earliest moment its answer may change by
# the passage of time alone (None: only an event can change it) — which is when the profile is due for review.

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
MAX_DEPTH = 10
MAX_CHILDREN = 50
MAX_LEAVES = 100
MAX_COUNT = 100

COMBINATORS = ("all", "any", "not")
LEAVES = ("trait", "behaviour", "environment", "score", "tier", "inSegment", "questionnaire")
COUNT_OPS = ("atLeast", "atMost", "exactly", "never")
OCCURRENCE_OPS = ("firstWithin", "firstNotWithin", "lastWithin", "lastNotWithin")
SCORE_OPS = ("equals", "gt", "gte", "lt", "lte", "between")
TIER_OPS = ("equals", "in", "atLeast")
QUESTIONNAIRE_OPS = ("equals", "in", "neutral", "answered")
LEAF_FIELDS = {
    "trait": ("trait", "op", "value"),
    "behaviour": ("behaviour", "op", "value", "withinDays", "withinHours"),
    "environment": ("environment", "op", "value"),
    "score": ("score", "op", "value"),
    "tier": ("tier", "op", "value"),
    "inSegment": ("inSegment",),
    "questionnaire": ("questionnaire", "op", "value"),
}


# ---- the tree -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class All:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class Trait:
    path: tuple[str, ...]
    test: Predicate


@dataclass(frozen=True)
class Environment:
    field: str
    test: Predicate


@dataclass(frozen=True)
class Behaviour:
    filter: EventFilter
    op: str
    count: int = 0
    window: int | None = None  # ms; None = ever (counts) — occurrence ops always have one


@dataclass(frozen=True)
class Score:
    plan: str
    test: Predicate


@dataclass(frozen=True)
class Tier:
    plan: str
    tiers: frozenset[str]


@dataclass(frozen=True)
class InSegment:
    segment: str


@dataclass(frozen=True)
class Questionnaire:
    questionnaire: str
    op: str
    keys: frozenset[str] = frozenset()


Node = All | AnyOf | Not | Trait | Environment | Behaviour | Score | Tier | InSegment | Questionnaire


@dataclass(frozen=True)
class References:
    """What a condition may name, for validation: plans (→ tier names, lowest first), questionnaires (→ their
    segment keys) and segments (→ the segments their conditions name, to refuse cycles)."""

    plans: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    questionnaires: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    segments: Mapping[str, frozenset[str]] = field(default_factory=dict)
    self_id: str | None = None
    # What the evaluating service can answer: segments every leaf over its profiles; content (targeting at decide
    # time) no `behaviour` (it keeps no activity counters: target a segment instead) but the visit's own fields.
    leaves: tuple[str, ...] = LEAVES
    environment: Mapping[str, tuple[str, tuple[Any, ...]]] = field(default_factory=lambda: ENVIRONMENT)


# ---- parsing --------------------------------------------------------------------------------------------------


def parse(raw: Any, refs: References, path: str = "condition", reader: Reader | None = None) -> Node:
    """Validate and normalise a condition tree; raises InvalidDefinition listing every fault with its path."""
    own = reader is None
    reader = reader or Reader()
    counter = [0]
    node = _parse(reader, raw, path, refs, 1, counter)
    if counter[0] > MAX_LEAVES:
        reader.fault(path, f"a condition may have at most {MAX_LEAVES} leaves, not {counter[0]}")
    if node is not None and refs.self_id is not None:
        _check_cycle(reader, node, refs, path)
    if own:
        reader.check()
    assert node is not None or reader.faults
    return node  # type: ignore[return-value]


def _parse(reader: Reader, raw: Any, path: str, refs: References, depth: int, leaves: list[int]) -> Node | None:
    if not isinstance(raw, dict):
        reader.fault(path, f"must be an object with one of {', '.join(COMBINATORS + LEAVES)}, not {kind(raw)}")
        return None
    kinds = [k for k in (*COMBINATORS, *LEAVES) if k in raw]
    if len(kinds) != 1:
        if not kinds:
            unknown = next(iter(raw), None)
            where = join(path, str(unknown)) if unknown is not None else path
            reader.fault(where, f"unknown condition; expected one of {', '.join(COMBINATORS + LEAVES)}")
        else:
            reader.fault(path, f"a condition has exactly one of {', '.join(COMBINATORS + LEAVES)}; found {kinds}")
        return None
    which = kinds[0]
    if which not in COMBINATORS and which not in refs.leaves:
        reader.fault(join(path, which), f"`{which}` is not available here; expected one of {', '.join(refs.leaves)}")
        return None
    if which in COMBINATORS:
        reader.obj(raw, path, (which,))
        if depth >= MAX_DEPTH:
            reader.fault(join(path, which), f"conditions nest at most {MAX_DEPTH} levels deep")
            return None
        if which == "not":
            child = _parse(reader, raw["not"], join(path, "not"), refs, depth + 1, leaves)
            return None if child is None else Not(child)
        items = reader.items(raw[which], join(path, which), 1, MAX_CHILDREN)
        children = [_parse(reader, c, join(join(path, which), i), refs, depth + 1, leaves) for i, c in enumerate(items)]
        if not items or any(c is None for c in children):
            return None
        return All(tuple(children)) if which == "all" else AnyOf(tuple(children))  # type: ignore[arg-type]
    leaves[0] += 1
    if reader.obj(raw, path, LEAF_FIELDS[which]) is None:
        return None
    before = len(reader.faults)
    node = _LEAF_PARSERS[which](reader, raw, path, refs)
    return node if len(reader.faults) == before else None


def _trait(reader: Reader, raw: dict[str, Any], path: str, refs: References) -> Node | None:
    name = raw["trait"]
    if not isinstance(name, str) or not FIELD_NAME.fullmatch(name):
        reader.fault(join(path, "trait"), "must be a trait name such as `country` or `address.city`")
        return None
    test = parse_predicate(reader, raw, path, VALUE_OPS, None)
    return None if test is None else Trait(tuple(name.split(".")), test)


def _environment(reader: Reader, raw: dict[str, Any], path: str, refs: References) -> Node | None:
    name = raw["environment"]
    fields = refs.environment
    if name not in fields:
        reader.fault(
            join(path, "environment"), f"unknown environment field {name!r}; expected one of {', '.join(fields)}"
        )
        return None
    shape = fields[name]
    ops = {"enum": ("equals", "in", "exists"), "int": NUMBER_OPS, "string": STRING_OPS}[shape[0]]
    test = parse_predicate(reader, raw, path, ops, shape)
    return None if test is None else Environment(name, test)


def _behaviour(reader: Reader, raw: dict[str, Any], path: str, refs: References) -> Node | None:
    flt = parse_filter(reader, raw["behaviour"], join(path, "behaviour"))
    op = raw.get("op")
    ops = COUNT_OPS + OCCURRENCE_OPS
    if not isinstance(op, str) or op not in ops:
        reader.fault(join(path, "op"), f"unknown operator {op!r}; expected one of {', '.join(ops)}")
        return None
    count = 0
    if op in ("never", *OCCURRENCE_OPS):
        if "value" in raw:
            reader.fault(join(path, "value"), f"`{op}` takes no value")
    elif "value" not in raw:
        reader.fault(join(path, "value"), f"`{op}` needs a count")
    else:
        low = 1 if op == "atLeast" else 0
        count = reader.integer(raw["value"], join(path, "value"), low, MAX_COUNT) or 0
    window = _window(reader, raw, path, required=op in OCCURRENCE_OPS)
    if flt is None:
        return None
    return Behaviour(flt, op, count, window)


def _window(reader: Reader, raw: dict[str, Any], path: str, required: bool) -> int | None:
    given = [k for k in ("withinDays", "withinHours") if k in raw]
    if len(given) > 1:
        reader.fault(join(path, "withinHours"), "give `withinDays` or `withinHours`, not both")
        return None
    if not given:
        if required:
            reader.fault(join(path, "withinDays"), "this operator needs a window: `withinDays` or `withinHours`")
        return None
    if given[0] == "withinDays":
        days = reader.integer(raw["withinDays"], join(path, "withinDays"), 1, 365)
        return None if days is None else days * DAY_MS
    hours = reader.integer(raw["withinHours"], join(path, "withinHours"), 1, 365 * 24)
    return None if hours is None else hours * HOUR_MS


def _score(reader: Reader, raw: dict[str, Any], path: str, refs: References) -> Node | None:
    plan = raw["score"]
    if plan not in refs.plans:
        reader.fault(join(path, "score"), f"no scoring plan {plan!r}")
        return None
    test = parse_predicate(reader, raw, path, SCORE_OPS, None)
    if test is not None and test.op == "equals" and not is_number(test.value):
        reader.fault(join(path, "value"), "a score is a number")
        return None
    if test is not None and test.dates:
        reader.fault(join(path, "value"), "a score is compared with numbers, not dates")
        return None
    return None if test is None else Score(plan, test)


def _tier(reader: Reader, raw: dict[str, Any], path: str, refs: References) -> Node | None:
    plan = raw["tier"]
    if plan not in refs.plans:
        reader.fault(join(path, "tier"), f"no scoring plan {plan!r}")
        return None
    tiers = refs.plans[plan]
    if not tiers:
        reader.fault(join(path, "tier"), "this scoring plan has no tiers")
        return None
    op = raw.get("op")
    if op not in TIER_OPS:
        reader.fault(join(path, "op"), f"unknown operator {op!r}; expected one of {', '.join(TIER_OPS)}")
        return None
    value = raw.get("value")
    names = _named_values(reader, value, op, path, tiers, "tier names", "a tier of this plan")
    if names is None:
        return None
    if op == "atLeast":
        return Tier(plan, frozenset(tiers[tiers.index(value) :]))
    return Tier(plan, frozenset(names))


def _in_segment(reader: Reader, raw: dict[str, Any], path: str, refs: References) -> Node | None:
    segment = raw["inSegment"]
    if segment == refs.self_id and segment is not None:
        reader.fault(join(path, "inSegment"), "a segment cannot contain itself")
        return None
    if segment not in refs.segments:
        reader.fault(join(path, "inSegment"), f"no segment {segment!r}")
        return None
    return InSegment(segment)


def _questionnaire(reader: Reader, raw: dict[str, Any], path: str, refs: References) -> Node | None:
    questionnaire = raw["questionnaire"]
    if questionnaire not in refs.questionnaires:
        reader.fault(join(path, "questionnaire"), f"no questionnaire {questionnaire!r}")
        return None
    keys = refs.questionnaires[questionnaire]
    op = raw.get("op")
    if op not in QUESTIONNAIRE_OPS:
        reader.fault(join(path, "op"), f"unknown operator {op!r}; expected one of {', '.join(QUESTIONNAIRE_OPS)}")
        return None
    if op in ("neutral", "answered"):
        if "value" in raw:
            reader.fault(join(path, "value"), f"`{op}` takes no value")
            return None
        return Questionnaire(questionnaire, op)
    names = _named_values(reader, raw.get("value"), op, path, keys, "segment keys", "a segment of this questionnaire")
    if names is None:
        return None
    return Questionnaire(questionnaire, "in", frozenset(names))


_LEAF_PARSERS: dict[str, Callable[[Reader, dict[str, Any], str, References], Node | None]] = {
    "trait": _trait,
    "behaviour": _behaviour,
    "environment": _environment,
    "score": _score,
    "tier": _tier,
    "inSegment": _in_segment,
    "questionnaire": _questionnaire,
}


def _check_cycle(reader: Reader, node: Node, refs: References, path: str) -> None:
    """Refuse `inSegment` chains that lead back to the segment being saved."""
    pending = list(segments_named(node))
    seen: set[str] = set()
    while pending:
        current = pending.pop()
        if current == refs.self_id:
            reader.fault(path, "segments would contain each other (an `inSegment` cycle)")
            return
        if current not in seen:
            seen.add(current)
            pending.extend(refs.segments.get(current, ()))


# ---- what a condition depends on ------------------------------------------------------------------------------


def walk(node: Node) -> list[Node]:
    """Every node of the tree, depth first."""
    out: list[Node] = [node]
    if isinstance(node, All | AnyOf):
        for child in node.children:
            out.extend(walk(child))
    elif isinstance(node, Not):
        out.extend(walk(node.child))
    return out


def segments_named(node: Node) -> frozenset[str]:
    return frozenset(n.segment for n in walk(node) if isinstance(n, InSegment))


@dataclass(frozen=True)
class Dependencies:
    """What can change a condition's answer: the index of real-time evaluation."""

    filters: tuple[EventFilter, ...] = ()
    traits: frozenset[str] = frozenset()
    environment: bool = False
    plans: frozenset[str] = frozenset()
    questionnaires: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()
    timed: bool = False  # may change with the passage of time alone


def dependencies(node: Node) -> Dependencies:
    nodes = walk(node)
    behaviour = [n for n in nodes if isinstance(n, Behaviour)]
    traits = [n for n in nodes if isinstance(n, Trait)]
    plans = {n.plan for n in nodes if isinstance(n, Score | Tier)}
    timed = (
        any(b.window is not None for b in behaviour)
        or any(t.test.op == "withinLastDays" for t in traits)
        or bool(plans)  # scores may decay
    )
    return Dependencies(
        filters=tuple(dict.fromkeys(b.filter for b in behaviour)),
        traits=frozenset(t.path[0] for t in traits),
        environment=any(isinstance(n, Environment) for n in nodes),
        plans=frozenset(plans),
        questionnaires=frozenset(n.questionnaire for n in nodes if isinstance(n, Questionnaire)),
        segments=segments_named(node),
        timed=timed,
    )


def counts_needed(node: Node) -> dict[str, tuple[int, int]]:
    """Per filter key: (hits to keep, longest window in ms) so counts decide every threshold exactly."""
    out: dict[str, tuple[int, int]] = {}
    for leaf in walk(node):
        if not isinstance(leaf, Behaviour):
            continue
        keep = leaf.count + 1 if leaf.op in COUNT_OPS and leaf.window is not None else 1
        horizon = leaf.window or 0
        old = out.get(leaf.filter.key, (1, 0))
        out[leaf.filter.key] = (max(old[0], keep), max(old[1], horizon))
    return out


# ---- compiling ------------------------------------------------------------------------------------------------


class View(Protocol):
    """A profile as conditions read it, at one moment (`now`, epoch ms)."""

    now: int
    traits: dict[str, Any]
    environment: dict[str, Any]
    counters: dict[str, Counter]
    members: dict[str, Any]
    answers: dict[str, str | None]

    def score(self, plan_id: str) -> float: ...
    def tier(self, plan_id: str) -> str | None: ...
    def score_changes_at(self, plan_id: str, thresholds: tuple[float, ...]) -> int | None: ...


Test = Callable[[View], bool]
ChangesAt = Callable[[View], int | None]


@dataclass(frozen=True)
class Compiled:
    test: Test
    changes_at: ChangesAt | None  # None: only events change the answer


def compile_condition(node: Node) -> Compiled:
    if isinstance(node, All | AnyOf):
        parts = [compile_condition(c) for c in node.children]
        tests = tuple(p.test for p in parts)
        if isinstance(node, All):
            test: Test = _all(tests)
        else:
            test = _any(tests)
        return Compiled(test, _earliest([p.changes_at for p in parts if p.changes_at is not None]))
    if isinstance(node, Not):
        inner = compile_condition(node.child)
        inner_test = inner.test
        return Compiled(lambda v: not inner_test(v), inner.changes_at)
    return _LEAF_COMPILERS[type(node)](node)


def _all(tests: tuple[Test, ...]) -> Test:
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        a, b = tests
        return lambda v: a(v) and b(v)

    def every(v: View) -> bool:
        for t in tests:  # noqa: SIM110 - a plain loop is faster than all() over a generator
            if not t(v):
                return False
        return True

    return every


def _any(tests: tuple[Test, ...]) -> Test:
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        a, b = tests
        return lambda v: a(v) or b(v)

    def some(v: View) -> bool:
        for t in tests:  # noqa: SIM110 - a plain loop is faster than any() over a generator
            if t(v):
                return True
        return False

    return some


def _earliest(parts: list[ChangesAt]) -> ChangesAt | None:
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]

    def earliest(v: View) -> int | None:
        found = [m for m in (p(v) for p in parts) if m is not None]
        return min(found) if found else None

    return earliest


def _compile_trait(node: Trait) -> Compiled:
    get = field_getter(node.path)
    changes: ChangesAt | None = None
    if node.test.op == "withinLastDays":
        predicate = node.test
        changes = lambda v: next_change(predicate, get(v.traits), v.now)  # noqa: E731
    if len(node.path) == 1:
        return Compiled(_on_traits(node.path[0], node.test), changes)
    test = compile_predicate(node.test)
    return Compiled(lambda v: test(get(v.traits), v.now), changes)


def _compile_environment(node: Environment) -> Compiled:
    name = node.field
    test = compile_predicate(node.test)
    return Compiled(lambda v: test(v.environment.get(name), v.now), None)


def _on_traits(name: str, predicate: Predicate) -> Test:
    """A test of one top-level trait with the read inlined: the most common leaf, so the fewest calls. The
    general closures of `compile_predicate` stay the reference (the unit tests hold both to one interpreter)."""
    op, value = predicate.op, predicate.value
    if op == "equals" and isinstance(value, str):
        return lambda v: v.traits.get(name) == value  # only a string equals a string
    if op == "exists":
        return lambda v: v.traits.get(name) is not None
    if op in ("gt", "gte", "lt", "lte"):
        compare = {"gt": float.__gt__, "gte": float.__ge__, "lt": float.__lt__, "lte": float.__le__}[op]
        bound = float(value)

        def numeric(v: View) -> bool:
            x = v.traits.get(name)
            return (type(x) is int or type(x) is float) and compare(float(x), bound)

        return numeric
    if op == "in" and all(isinstance(item, str) for item in value):
        strings = frozenset(value)

        def member(v: View) -> bool:
            x = v.traits.get(name)
            return type(x) is str and x in strings

        return member
    test = compile_predicate(predicate)
    return lambda v: test(v.traits.get(name), v.now)


def _compile_behaviour(node: Behaviour) -> Compiled:
    key, op, count, window = node.filter.key, node.op, node.count, node.window
    if op in COUNT_OPS:
        holds: Callable[[int], bool] = {
            "atLeast": lambda n: n >= count,
            "atMost": lambda n: n <= count,
            "exactly": lambda n: n == count,
            "never": lambda n: n == 0,
        }[op]
        cap = count + 1
        if window is None:

            def lifetime(v: View) -> bool:
                counter = v.counters.get(key)
                return holds(counter.total if counter is not None else 0)

            return Compiled(lifetime, None)
        span = window
        if op == "atLeast":

            def at_least(v: View) -> bool:
                counter = v.counters.get(key)
                return counter is not None and count_within(counter, span, v.now, cap) >= count

            test: Test = at_least
        else:
            test = lambda v: holds(count_within(v.counters.get(key), span, v.now, cap))  # noqa: E731
        return Compiled(test, lambda v: count_changes_at(v.counters.get(key), span, v.now, cap, holds))
    span = window or 0
    first = op.startswith("first")
    inside = op.endswith("Within") and not op.endswith("NotWithin")

    def moment(v: View) -> int | None:
        counter = v.counters.get(key)
        if counter is None:
            return None
        return counter.first if first else counter.last

    def occurred(v: View) -> bool:
        at = moment(v)
        if at is None:
            return False
        return (at > v.now - span) == inside

    def occurrence_changes(v: View) -> int | None:
        at = moment(v)
        return at + span if at is not None and at + span > v.now else None

    return Compiled(occurred, occurrence_changes)


def _compile_score(node: Score) -> Compiled:
    plan = node.plan
    test = compile_predicate(node.test)
    value = node.test.value
    thresholds = tuple(float(x) for x in (value if isinstance(value, tuple) else (value,)))
    return Compiled(lambda v: test(v.score(plan), v.now), lambda v: v.score_changes_at(plan, thresholds))


def _compile_tier(node: Tier) -> Compiled:
    plan, tiers = node.plan, node.tiers
    return Compiled(lambda v: v.tier(plan) in tiers, lambda v: v.score_changes_at(plan, ()))


def _compile_in_segment(node: InSegment) -> Compiled:
    segment = node.segment
    return Compiled(lambda v: segment in v.members, None)


def _compile_questionnaire(node: Questionnaire) -> Compiled:
    questionnaire, op, keys = node.questionnaire, node.op, node.keys
    if op == "answered":
        return Compiled(lambda v: questionnaire in v.answers, None)
    if op == "neutral":
        return Compiled(lambda v: v.answers.get(questionnaire) is None, None)
    return Compiled(lambda v: v.answers.get(questionnaire) in keys, None)


_LEAF_COMPILERS: dict[type, Callable[[Any], Compiled]] = {
    Trait: _compile_trait,
    Environment: _compile_environment,
    Behaviour: _compile_behaviour,
    Score: _compile_score,
    Tier: _compile_tier,
    InSegment: _compile_in_segment,
    Questionnaire: _compile_questionnaire,
}


def _named_values(
    reader: Reader, value: Any, op: str, path: str, allowed: Sequence[str], plural: str, member: str
) -> list[Any] | None:
    """`value` is one name, or a non-empty list of names for `in`; every name must be in `allowed`."""
    names: list[Any] = value if isinstance(value, list) and op == "in" else [value]
    if op == "in" and (not isinstance(value, list) or not value):
        reader.fault(join(path, "value"), f"`in` needs a list of {plural}")
        return None
    for index, name in enumerate(names):
        if name not in allowed:
            where = join(join(path, "value"), index) if op == "in" else join(path, "value")
            reader.fault(where, f"{name!r} is not {member}; expected one of {', '.join(allowed)}")
            return None
    return names
