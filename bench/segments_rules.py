"""Segment rule evaluation per core: our compiled conditions side by side with json-logic (python-jsonlogic) and
CEL (cel-python) evaluating the same 50 mixed segments on the same realistic profiles — and the whole
per-activity core (`apply`: rollup update, scores, indexed evaluation, next due time).

The peers get every windowed count, first/last time and score precomputed in their input (they have no rolling
windows); our evaluator computes windows from the rollup buckets inside the measured time. All three must agree
on every (profile, segment) pair, or the bench fails.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.table import render
from services.common.conditions.activities import ActivityView
from services.common.conditions.rollups import Counter, count_within, record
from services.segments.domain.catalog import Catalog, build
from services.segments.domain.profiles import Activity, ProfileState, ProfileView, apply
from services.segments.domain.scoring import tier_of, value_at

NOW = 1_772_442_000_000  # 2026-03-02 09:00 UTC
HOUR = 3_600_000
DAY = 24 * HOUR
SEED = 20260302
ROUNDS = 7

FILTERS: list[dict[str, Any]] = [
    {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]},
    {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/blog"}]},
    {"event": "Viewed Product", "where": [{"property": "category", "op": "in", "value": ["devices", "cleaning"]}]},
    {"event": "Added to Cart"},
    {"event": "Order Completed"},
    {"event": "Form Submitted"},
    {"event": "Email Opened"},
    {"event": "Searched"},
    {"type": "page", "where": [{"environment": "deviceType", "op": "equals", "value": "mobile"}]},
    {"event": "Signed Up"},
]
COUNTRIES = ["NL", "BE", "DE", "FR", "GB"]
CITIES = ["Amsterdam", "Antwerp", "Berlin", "Paris", "London", "Arnhem"]
PLANS_ = ["free", "plus", "pro"]
DEVICES = ["mobile", "desktop", "tablet"]
PARTS = ["night", "morning", "afternoon", "evening"]
KEYS = ["explorer", "traditionalist", "health-conscious", "time-saver", "social-host", "budget-minded"]
TIERS = ["cold", "warm", "hot", "champion"]
PLAN = {
    "planId": "eng",
    "name": "Engagement",
    "rules": [
        {"name": f"f{i}", "activity": f, "points": p}
        for i, (f, p) in enumerate(zip(FILTERS, [2, 1, 3, 5, 40, 20, 1, 1, 1, 10], strict=True))
    ],
    "tiers": [
        {"name": "cold"},
        {"name": "warm", "min": 10},
        {"name": "hot", "min": 60},
        {"name": "champion", "min": 150},
    ],
}
QUESTIONNAIRE = {
    "questionnaireId": "food",
    "name": "Food",
    "questions": [{"id": f"q{i}"} for i in range(1, 9)],
    "key": {
        "method": "centroids",
        "segments": [{"key": k, "centroid": [1 + (i + j) % 7 for j in range(8)]} for i, k in enumerate(KEYS)],
    },
}


@dataclass
class Rule:
    """One segment in the three languages."""

    ours: dict[str, Any]
    logic: dict[str, Any]
    cel: str


def _v(path: str) -> dict[str, Any]:
    """A variable (python-jsonlogic paths are JSON-pointer-like); missing traits read as null."""
    return {"var": [f"/{path}", None]} if path.startswith("traits/") else {"var": f"/{path}"}


def _count_key(f: int, days: int | None = None, hours: int | None = None) -> str:
    return f"k{f}_{days}d" if days else f"k{f}_{hours}h"


def rules(rng: random.Random) -> list[Rule]:
    """50 mixed segments from ten templates: traits, windowed counts, first/last occurrence, environment,
    scores and tiers, membership of another segment, questionnaire segment, nested all/any/not."""
    out: list[Rule] = []
    for i in range(50):
        t = i % 10
        f, g = rng.randrange(len(FILTERS)), rng.randrange(len(FILTERS))
        n, days, hours = rng.randint(1, 4), rng.choice([7, 14, 30]), rng.choice([6, 24, 48])
        country = rng.choice(COUNTRIES)
        if t == 0:
            out.append(
                Rule(
                    {
                        "all": [
                            {"trait": "country", "op": "equals", "value": country},
                            {"behaviour": FILTERS[f], "op": "atLeast", "value": n, "withinDays": days},
                        ]
                    },
                    {
                        "and": [
                            {"==": [_v("traits/country"), country]},
                            {">=": [_v(f"counts/{_count_key(f, days)}"), n]},
                        ]
                    },
                    f'traits.country == "{country}" && counts.{_count_key(f, days)} >= {n}',
                )
            )
        elif t == 1:
            plans = rng.sample(PLANS_, 2)
            out.append(
                Rule(
                    {
                        "any": [
                            {"trait": "plan", "op": "in", "value": plans},
                            {"score": "eng", "op": "gte", "value": 50},
                        ]
                    },
                    {"or": [{"in": [_v("traits/plan"), plans]}, {">=": [_v("scores/eng"), 50]}]},
                    f"traits.plan in {plans!r} || scores.eng >= 50.0".replace("'", '"'),
                )
            )
        elif t == 2:
            out.append(
                Rule(
                    {
                        "all": [
                            {"behaviour": FILTERS[f], "op": "never", "withinDays": days},
                            {"trait": "email", "op": "exists"},
                        ]
                    },
                    {"and": [{"==": [_v(f"counts/{_count_key(f, days)}"), 0]}, {"!=": [_v("traits/email"), None]}]},
                    f"counts.{_count_key(f, days)} == 0 && has(traits.email)",
                )
            )
        elif t == 3:
            devices = rng.sample(DEVICES, 2)
            out.append(
                Rule(
                    {
                        "all": [
                            {"environment": "deviceType", "op": "in", "value": devices},
                            {"environment": "partOfDay", "op": "equals", "value": "evening"},
                            {"behaviour": FILTERS[f], "op": "atLeast", "value": 1, "withinHours": hours},
                        ]
                    },
                    {
                        "and": [
                            {"in": [_v("env/deviceType"), devices]},
                            {"==": [_v("env/partOfDay"), "evening"]},
                            {">=": [_v(f"counts/{_count_key(f, hours=hours)}"), 1]},
                        ]
                    },
                    f'env.deviceType in {devices!r} && env.partOfDay == "evening" && '
                    f"counts.{_count_key(f, hours=hours)} >= 1".replace("'", '"'),
                )
            )
        elif t == 4:
            other = f"seg-{rng.randrange(max(i, 1))}"
            tier = rng.choice(TIERS[1:])
            rank = TIERS.index(tier)
            out.append(
                Rule(
                    {"all": [{"tier": "eng", "op": "atLeast", "value": tier}, {"not": {"inSegment": other}}]},
                    {"and": [{">=": [_v("tierRank/eng"), rank]}, {"!": [{"in": [other, _v("members")]}]}]},
                    f'tierRank.eng >= {rank} && !("{other}" in members)',
                )
            )
        elif t == 5:
            low = rng.randint(18, 40)
            prefix = rng.choice(["Am", "An", "Ar", "B"])
            out.append(
                Rule(
                    {
                        "all": [
                            {"trait": "age", "op": "between", "value": [low, low + 15]},
                            {"trait": "city", "op": "startsWith", "value": prefix},
                        ]
                    },
                    {
                        "and": [
                            {">=": [_v("traits/age"), low]},
                            {"<=": [_v("traits/age"), low + 15]},
                            {"startsWith": [_v("traits/city"), prefix]},
                        ]
                    },
                    f'traits.age >= {low} && traits.age <= {low + 15} && traits.city.startsWith("{prefix}")',
                )
            )
        elif t == 6:
            key = rng.choice(KEYS)
            out.append(
                Rule(
                    {
                        "all": [
                            {"questionnaire": "food", "op": "equals", "value": key},
                            {"behaviour": FILTERS[f], "op": "exactly", "value": n, "withinDays": days},
                        ]
                    },
                    {"and": [{"==": [_v("q/food"), key]}, {"==": [_v(f"counts/{_count_key(f, days)}"), n]}]},
                    f'q.food == "{key}" && counts.{_count_key(f, days)} == {n}',
                )
            )
        elif t == 7:
            out.append(
                Rule(
                    {
                        "any": [
                            {
                                "all": [
                                    {"behaviour": FILTERS[f], "op": "atMost", "value": n, "withinDays": days},
                                    {"behaviour": FILTERS[g], "op": "atLeast", "value": n, "withinDays": days},
                                ]
                            },
                            {"not": {"trait": "optIn", "op": "equals", "value": True}},
                        ]
                    },
                    {
                        "or": [
                            {
                                "and": [
                                    {"<=": [_v(f"counts/{_count_key(f, days)}"), n]},
                                    {">=": [_v(f"counts/{_count_key(g, days)}"), n]},
                                ]
                            },
                            {"!": [{"==": [_v("traits/optIn"), True]}]},
                        ]
                    },
                    f"(counts.{_count_key(f, days)} <= {n} && counts.{_count_key(g, days)} >= {n})"
                    " || !(traits.optIn == true)",
                )
            )
        elif t == 8:
            out.append(
                Rule(
                    {
                        "all": [
                            {"trait": "signedUpAt", "op": "withinLastDays", "value": days},
                            {"trait": "country", "op": "in", "value": COUNTRIES[:3]},
                        ]
                    },
                    {
                        "and": [
                            {">": [_v("traits/signedUpMs"), {"-": [_v("now"), days * DAY]}]},
                            {"<=": [_v("traits/signedUpMs"), _v("now")]},
                            {"in": [_v("traits/country"), COUNTRIES[:3]]},
                        ]
                    },
                    f"traits.signedUpMs > now - {days * DAY} && traits.signedUpMs <= now && "
                    f"traits.country in {COUNTRIES[:3]!r}".replace("'", '"'),
                )
            )
        else:
            out.append(
                Rule(
                    {"behaviour": FILTERS[f], "op": "lastNotWithin", "withinDays": days},
                    {
                        "and": [
                            {">=": [_v(f"last/k{f}"), 0]},
                            {"<=": [_v(f"last/k{f}"), {"-": [_v("now"), days * DAY]}]},
                        ]
                    },
                    f"last.k{f} >= 0 && last.k{f} <= now - {days * DAY}",
                )
            )
    return out


def catalog_for(segment_rules: list[Rule]) -> Catalog:
    segments = [{"segmentId": f"seg-{i}", "name": f"seg-{i}", "condition": r.ours} for i, r in enumerate(segment_rules)]
    catalog = build(segments, [PLAN], [QUESTIONNAIRE])
    assert not catalog.skipped, catalog.skipped
    return catalog


def profile(rng: random.Random, catalog: Catalog) -> ProfileState:
    """A realistic profile: traits, a latest environment, up to 150 activities over 90 days in rollups, a score,
    memberships and (for some) a questionnaire segment."""
    traits: dict[str, Any] = {
        "country": rng.choice(COUNTRIES),
        "city": rng.choice(CITIES),
        "age": rng.randint(16, 80),
        "plan": rng.choice(PLANS_),
        "optIn": rng.random() < 0.6,
        "signedUpAt": _iso(NOW - rng.randint(0, 400) * DAY),
    }
    if rng.random() < 0.7:
        traits["email"] = f"p{rng.random()}@example.com"
    keys = {f"k{i}": _filter_key(catalog, i) for i in range(len(FILTERS))}
    counters: dict[str, Counter] = {}
    for _ in range(rng.randint(0, 150)):
        f = min(int(rng.expovariate(0.4)), len(FILTERS) - 1)
        key = keys[f"k{f}"]
        if key in catalog.counted:
            keep, horizon = catalog.counted[key]
            at = NOW - int(rng.random() ** 2 * 90 * DAY)
            record(counters.setdefault(key, Counter()), at, keep, horizon, NOW)
    score = round(rng.expovariate(1 / 40), 2)
    state = ProfileState(
        traits=traits,
        environment={"deviceType": rng.choice(DEVICES), "partOfDay": rng.choice(PARTS), "country": traits["country"]},
        counters=counters,
        scores={"eng": {"v": score, "t": NOW, "s": score}},
        members={f"seg-{i}": NOW for i in range(50) if rng.random() < 0.2},
        first_seen=NOW - 400 * DAY,
    )
    if rng.random() < 0.5:
        state.answers["food"] = {"a": {}, "k": rng.choice([*KEYS, None]), "c": 0.5, "done": True}
    return state


def _filter_key(catalog: Catalog, index: int) -> str:
    from services.common.conditions.activities import parse_filter
    from services.common.conditions.faults import Reader

    parsed = parse_filter(Reader(), FILTERS[index], "f")
    assert parsed is not None
    return parsed.key


def _iso(ms: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat()


def peer_data(state: ProfileState, catalog: Catalog) -> dict[str, Any]:
    """The same profile flattened for json-logic and CEL, with every window precomputed."""
    counts: dict[str, int] = {}
    last: dict[str, int] = {}
    for i in range(len(FILTERS)):
        key = _filter_key(catalog, i)
        counter = state.counters.get(key)
        for days in (7, 14, 30):
            counts[_count_key(i, days)] = count_within(counter, days * DAY, NOW, 1000)
        for hours in (6, 24, 48):
            counts[_count_key(i, hours=hours)] = count_within(counter, hours * HOUR, NOW, 1000)
        last[f"k{i}"] = counter.last if counter and counter.last is not None else -1
    plan = catalog.plans["eng"]
    score = value_at(plan, state.scores["eng"], NOW)
    traits = {k: v for k, v in state.traits.items() if k != "signedUpAt"}
    traits["signedUpMs"] = _ms(state.traits["signedUpAt"])
    answer = state.answers.get("food")
    return {
        "traits": traits,
        "env": state.environment,
        "counts": counts,
        "last": last,
        "scores": {"eng": float(score)},
        "tierRank": {"eng": TIERS.index(tier_of(plan, score) or "cold")},
        "members": sorted(state.members),
        "q": {"food": answer.get("k") if answer and answer.get("done") else None},
        "now": NOW,
    }


def _ms(text: str) -> int:
    import datetime as dt

    return int(dt.datetime.fromisoformat(text).timestamp() * 1000)


# ---- the peers ----------------------------------------------------------------------------------------------------


def jsonlogic_engine(segment_rules: list[Rule]) -> Callable[[dict[str, Any]], list[bool]]:
    """python-jsonlogic, with the standard JsonLogic operators its registry lacks (and, or, !, in) and a
    startsWith; each a few lines, in the library's own Operator style."""
    from dataclasses import dataclass as operator_dataclass

    from jsonlogic import JSONLogicExpression, Operator
    from jsonlogic.evaluation import evaluate, get_value
    from jsonlogic.operators import operator_registry

    @operator_dataclass
    class Many(Operator):
        args: list[Any]

        @classmethod
        def from_expression(cls, operator: str, arguments: list[Any]) -> Any:
            return cls(operator=operator, args=arguments)

    class And(Many):
        def evaluate(self, context: Any) -> Any:
            return all(get_value(a, context) for a in self.args)

    class Or(Many):
        def evaluate(self, context: Any) -> Any:
            return any(get_value(a, context) for a in self.args)

    class NotOp(Many):
        def evaluate(self, context: Any) -> Any:
            return not get_value(self.args[0], context)

    class In(Many):
        def evaluate(self, context: Any) -> Any:
            item, container = (get_value(a, context) for a in self.args)
            return container is not None and item in container

    class StartsWith(Many):
        def evaluate(self, context: Any) -> Any:
            text, prefix = (get_value(a, context) for a in self.args)
            return isinstance(text, str) and text.startswith(prefix)

    registry = operator_registry.copy(
        extend={"and": And, "or": Or, "!": NotOp, "in": In, "startsWith": StartsWith}, force=True
    )
    trees = [JSONLogicExpression.from_json(r.logic).as_operator_tree(registry) for r in segment_rules]

    def run(data: dict[str, Any]) -> list[bool]:
        return [bool(evaluate(tree, data, data_schema=None)) for tree in trees]

    return run


def cel_engine(segment_rules: list[Rule]) -> tuple[Callable[[Any], list[bool]], Callable[[dict[str, Any]], Any]]:
    import celpy

    env = celpy.Environment()
    programs = [env.program(env.compile(r.cel)) for r in segment_rules]

    def activation(data: dict[str, Any]) -> Any:
        return dict(celpy.json_to_cel(data).items())

    def run(bound: Any) -> list[bool]:
        return [bool(p.evaluate(bound)) for p in programs]

    return run, activation


# ---- measuring ----------------------------------------------------------------------------------------------------


def _best(work: Callable[[], object], evaluations: int, rounds: int = 3) -> float:
    """Evaluations per second, best of `rounds` (the least disturbed by the rest of the machine)."""
    seconds = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        seconds = min(seconds, time.perf_counter() - started)
    return evaluations / seconds


def run() -> str:
    rng = random.Random(SEED)
    segment_rules = rules(rng)
    catalog = catalog_for(segment_rules)
    compiled = [catalog.segment(f"seg-{i}") for i in range(50)]
    tests = [c.condition.test for c in compiled if c is not None]
    profiles = [profile(rng, catalog) for _ in range(2000)]
    views = [ProfileView(p, catalog.plans, NOW) for p in profiles]

    # the same 300 profiles for every engine (CEL, far slower, on the first 100); rounds interleaved so a busy
    # moment of the machine hits every engine alike; each engine's best round counts
    sample = profiles[:300]
    sample_views = views[:300]
    data = [peer_data(p, catalog) for p in sample]
    logic = jsonlogic_engine(segment_rules)
    cel, activation = cel_engine(segment_rules)
    bound = [activation(d) for d in data[:100]]
    cel_sample = bound
    engines = {
        "ours": (lambda: [test(view) for view in sample_views for test in tests], len(sample) * 50),
        "with view": (
            lambda: [[test(view) for test in tests] for view in (ProfileView(p, catalog.plans, NOW) for p in sample)],
            len(sample) * 50,
        ),
        "logic": (lambda: [logic(d) for d in data], len(data) * 50),
        "cel": (lambda: [cel(b) for b in bound], len(bound) * 50),
    }
    best = dict.fromkeys(engines, 0.0)
    for _ in range(ROUNDS):
        for name, (work, evaluations) in engines.items():
            best[name] = max(best[name], _best(work, evaluations, rounds=1))
    ours_rate, with_view_rate, logic_rate, cel_rate = best["ours"], best["with view"], best["logic"], best["cel"]
    logic_answers = [logic(d) for d in data]
    cel_answers = [cel(b) for b in bound]

    ours_answers = [[test(ProfileView(p, catalog.plans, NOW)) for test in tests] for p in sample]
    disagreements = sum(
        a != b for x, y in zip(ours_answers, logic_answers, strict=True) for a, b in zip(x, y, strict=True)
    )
    disagreements += sum(
        a != b for x, y in zip(ours_answers, cel_answers, strict=False) for a, b in zip(x, y, strict=True)
    )
    true_share = sum(map(sum, ours_answers)) / (len(ours_answers) * 50)
    if disagreements:
        raise AssertionError(f"the engines disagree on {disagreements} (profile, segment) pairs")
    fastest_peer = max(logic_rate, cel_rate)

    rows = [
        ["compiled closures (ours)", round(ours_rate), round(1e6 / ours_rate, 3), f"{ours_rate / fastest_peer:,.0f}×"],
        [
            "  … incl. building the profile view",
            round(with_view_rate),
            round(1e6 / with_view_rate, 3),
            f"{with_view_rate / fastest_peer:,.0f}×",
        ],
        [
            "json-logic (python-jsonlogic 0.2.0)",
            round(logic_rate),
            round(1e6 / logic_rate, 3),
            f"{logic_rate / fastest_peer:,.2f}×",
        ],
        ["CEL (cel-python 0.5.0)", round(cel_rate), round(1e6 / cel_rate, 3), f"{cel_rate / fastest_peer:,.2f}×"],
    ]
    first = render(
        "Segment rule evaluations per second, one core: 50 mixed segments over the same profiles",
        ["engine", "evaluations/s", "µs/evaluation", "vs fastest peer"],
        rows,
        note=(
            f"Best of {ROUNDS} interleaved rounds; ours and json-logic over the same {len(data)} profiles × 50 "
            f"segments, CEL over the first {len(cel_sample)}. All three agree on every pair ({true_share:.0%} "
            "true). The peers get windowed counts, last times and scores precomputed in their input; ours computes "
            "windows from rollup buckets inside the measured time."
        ),
    )
    return first + "\n" + _activity_core(catalog, rng)


def _activity_core(catalog: Catalog, rng: random.Random) -> str:
    """The whole per-activity core: rollup update, scoring, indexed evaluation, next due time."""
    profiles = [profile(rng, catalog) for _ in range(1000)]
    events = []
    for i in range(20_000):
        f = min(int(rng.expovariate(0.4)), len(FILTERS) - 1)
        spec = FILTERS[f]
        kind = spec.get("type", "track")
        path = {"0": "/recipes/soup", "1": "/blog/news"}.get(str(f), "/home")
        props = {"path": path, "category": rng.choice(["devices", "cleaning", "toys"])}
        events.append(
            ActivityView(
                f"m{i}",
                kind,
                spec.get("event"),
                NOW + i,
                properties=props,
                environment={"deviceType": rng.choice(DEVICES), "partOfDay": "evening"},
            )
        )
    started = time.perf_counter()
    evaluated = changed = 0
    for i, event in enumerate(events):
        state = profiles[i % len(profiles)]
        outcome = apply(catalog, state, Activity(event), NOW + i)
        profiles[i % len(profiles)] = outcome.state
        evaluated += outcome.evaluated
        changed += outcome.changed
    seconds = time.perf_counter() - started
    rows = [
        ["activities/s (apply: rollups, scores, indexed segments, due time)", round(len(events) / seconds)],
        ["segments evaluated per activity (of 50), thanks to the index", round(evaluated / len(events), 2)],
        ["activities that needed a write", f"{changed / len(events):.0%}"],
    ]
    return render(
        "The per-activity core, one core (1,000 profiles, 20,000 activities, 50 segments, 1 plan)",
        ["figure", "value"],
        rows,
    )
