"""One profile's segmentation state and how an activity, a trait change or the passage of time changes it. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from services.common.conditions.activities import ActivityView, index_keys
from services.common.conditions.rollups import Counter, record
from services.segments.domain.catalog import Catalog
from services.segments.domain.questionnaires import answers_in, assign
from services.segments.domain.scoring import Plan, add_points, award, award_once, changes_at, tier_of, value_at

# The state: rollups, scores, questionnaire segment, memberships — and when the profile is next due for review.
#
# `apply(catalog, state, stimulus, now)` never mutates `state`; it returns the new state, what changed (the
# transitions and score events to publish) and whether anything needs writing at all.

# ---- state ----------------------------------------------------------------------------------------------------


@dataclass
class ProfileState:
    traits: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)  # of the latest activity
    environment_at: int | None = None
    counters: dict[str, Counter] = field(default_factory=dict)  # event filter key → hits
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)  # plan id → plan state (see scoring)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # questionnaire → {a, k, c, done}
    members: dict[str, int] = field(default_factory=dict)  # segment id → entered at (epoch ms)
    due: int | None = None  # the next moment time alone may change something
    first_seen: int | None = None  # when the service first heard of the profile (epoch ms)
    segment_dues: dict[str, int] = field(default_factory=dict)  # segment → when time alone may change it

    def copy(self) -> ProfileState:
        """A state to change without changing this one: its own maps of what is changed in place (counters,
        scores, answers, members); the other fields are shared, as they are only ever replaced whole."""
        return replace(
            self,
            counters=dict(self.counters),
            scores=dict(self.scores),
            answers=dict(self.answers),
            members=dict(self.members),
        )

    def is_blank(self) -> bool:
        return self.first_seen is None and not (
            self.members or self.counters or self.traits or self.scores or self.answers
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"m": self.members}
        if self.traits:
            out["tr"] = self.traits
        if self.environment:
            out["env"] = self.environment
            out["ea"] = self.environment_at
        if self.counters:
            out["c"] = {k: c.as_json() for k, c in self.counters.items()}
        if self.scores:
            out["sc"] = self.scores
        if self.answers:
            out["q"] = self.answers
        if self.due is not None:
            out["due"] = self.due
        if self.first_seen is not None:
            out["fs"] = self.first_seen
        if self.segment_dues:
            out["sd"] = self.segment_dues
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> ProfileState:
        raw = raw or {}
        return cls(
            traits=dict(raw.get("tr") or {}),
            environment=dict(raw.get("env") or {}),
            environment_at=raw.get("ea"),
            counters={k: Counter.from_json(v) for k, v in (raw.get("c") or {}).items()},
            scores=dict(raw.get("sc") or {}),
            answers=dict(raw.get("q") or {}),
            members={k: int(v) for k, v in (raw.get("m") or {}).items()},
            due=raw.get("due"),
            first_seen=raw.get("fs"),
            segment_dues={k: int(v) for k, v in (raw.get("sd") or {}).items()},
        )


# ---- what happens to it ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Activity:
    activity: ActivityView


@dataclass(frozen=True)
class TraitsChanged:
    changed: dict[str, Any]  # trait → new value (None: removed)


@dataclass(frozen=True)
class Tick:
    """Time passed: re-evaluate everything that depends on it (the sweep)."""


@dataclass(frozen=True)
class Reevaluate:
    """A segment was defined or changed: evaluate it (and what depends on it) for this profile (backfill)."""

    segment_ids: frozenset[str]


@dataclass(frozen=True)
class Rebuilt:
    """The state was rebuilt from two profiles' (a fold, an un-merge: see merges): evaluate every segment and settle
    the scores of `plans` (announced when they differ from what was last announced)."""

    plans: frozenset[str]


@dataclass(frozen=True)
class PointsAwarded:
    """Points given in a plan from outside its rules (a journey's addScore step)."""

    plan_id: str
    points: float


Stimulus = Activity | TraitsChanged | Tick | Reevaluate | Rebuilt | PointsAwarded


@dataclass(frozen=True)
class Transition:
    segment_id: str
    entered: bool
    version: int


@dataclass(frozen=True)
class ScoreChange:
    plan_id: str
    score: float
    previous: float
    tier: str | None


@dataclass(frozen=True)
class TierCrossing:
    plan_id: str
    tier: str
    previous: str | None
    direction: str  # "up" | "down"
    score: float


@dataclass(frozen=True)
class Assignment:
    questionnaire_id: str
    segment: str | None  # None: the neutral pool
    previous: str | None
    confidence: float


@dataclass
class Outcome:
    state: ProfileState
    changed: bool = False
    transitions: list[Transition] = field(default_factory=list)
    score_changes: list[ScoreChange] = field(default_factory=list)
    crossings: list[TierCrossing] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    evaluated: int = 0  # segment conditions evaluated (for the bench and logs)


class ProfileView:
    """A profile as conditions read it at `now` (implements conditions.View)."""

    __slots__ = ("_plans", "_scores", "_values", "answers", "counters", "environment", "members", "now", "traits")

    def __init__(self, state: ProfileState, plans: dict[str, Plan], now: int) -> None:
        self.now = now
        self.traits = state.traits
        self.environment = state.environment
        self.counters = state.counters
        self.members: dict[str, Any] = state.members
        self.answers: dict[str, str | None] = {q: a.get("k") for q, a in state.answers.items() if a.get("done")}
        self._plans = plans
        self._scores = state.scores
        self._values: dict[str, float] = {}

    def score(self, plan_id: str) -> float:
        value = self._values.get(plan_id)
        if value is None:
            plan = self._plans.get(plan_id)
            state = self._scores.get(plan_id)
            value = value_at(plan, state, self.now) if plan is not None and state else 0.0
            self._values[plan_id] = value
        return value

    def tier(self, plan_id: str) -> str | None:
        plan = self._plans.get(plan_id)
        return tier_of(plan, self.score(plan_id)) if plan is not None else None

    def score_changes_at(self, plan_id: str, thresholds: tuple[float, ...]) -> int | None:
        plan = self._plans.get(plan_id)
        return changes_at(plan, self._scores.get(plan_id), self.now, thresholds) if plan is not None else None


def apply(catalog: Catalog, state: ProfileState, stimulus: Stimulus, now: int) -> Outcome:
    """The new state after `stimulus` at `now` (epoch ms), and everything to announce."""
    new = state.copy()
    out = Outcome(new)
    candidates: set[int] = set()
    scored: dict[str, bool] = {}  # plan → points were paid
    traits_changed: set[str] = set()
    due_passed = state.due is not None and state.due <= now
    # A profile seen for the first time is evaluated against every segment once, so conditions true without any
    # event ("never visited", "not ...") hold from the start; and it is written once, so backfills reach it.
    everything = isinstance(stimulus, Tick | Rebuilt) or state.is_blank()
    if state.is_blank() and isinstance(stimulus, Activity | TraitsChanged | PointsAwarded):
        new.first_seen = now
        out.changed = True

    if isinstance(stimulus, Activity):
        activity = stimulus.activity
        at = min(activity.at, now)
        if catalog.by_environment and activity.environment and (new.environment_at or 0) <= at:
            # the latest activity's environment (kept only when some segment reads it)
            if activity.environment != new.environment:
                new.environment = dict(activity.environment)
                candidates.update(catalog.by_environment)
            if at != new.environment_at or candidates:
                new.environment_at = at
                out.changed = True
        if activity.traits:
            traits_changed = _merge_traits(new, activity.traits)
        matched = _matching_filters(catalog, activity)
        for key in matched:
            needs = catalog.counted.get(key)
            if needs is None:
                continue
            counter = new.counters[key].copy() if key in new.counters else Counter()
            record(counter, at, needs[0], needs[1], now)
            new.counters[key] = counter
            candidates.update(catalog.by_filter.get(key, ()))
            out.changed = True
        if activity.type == "track" and activity.name in catalog.questionnaires_by_event:
            for questionnaire in catalog.questionnaires_by_event[activity.name]:
                if _answer(new, questionnaire, activity, at, out):
                    candidates.update(catalog.by_questionnaire.get(questionnaire.questionnaire_id, ()))
        if not activity.machine and matched:
            for plan in catalog.plans.values():
                for rule in plan.rules:
                    if rule.activity is not None and rule.activity.key in matched:
                        plan_state = _plan_state(new, plan.plan_id)
                        if award(plan, plan_state, rule, at, now):
                            scored[plan.plan_id] = True
        if not activity.machine:
            _pay_trait_rules(catalog, new, now, scored)
    elif isinstance(stimulus, TraitsChanged):
        traits_changed = _merge_traits(new, stimulus.changed)
        _pay_trait_rules(catalog, new, now, scored)
    elif isinstance(stimulus, PointsAwarded):
        points_plan = catalog.plans.get(stimulus.plan_id)
        if points_plan is not None and stimulus.points:
            add_points(points_plan, _plan_state(new, points_plan.plan_id), stimulus.points, now)
            scored[points_plan.plan_id] = True
    elif isinstance(stimulus, Rebuilt):
        out.changed = True
        scored.update((plan_id, True) for plan_id in stimulus.plans if plan_id in new.scores)
    elif isinstance(stimulus, Reevaluate):
        for segment_id in stimulus.segment_ids:
            position = catalog.position(segment_id)
            if position is not None:
                candidates.add(position)

    if traits_changed:
        out.changed = True
        for trait in traits_changed:
            candidates.update(catalog.by_trait.get(trait, ()))
    for plan_id, plan in catalog.plans.items():
        if plan_id in scored or ((everything or due_passed) and plan.decay is not None and plan_id in new.scores):
            moved = _settle(plan, new, now, plan_id in scored, out)
            if moved or plan_id in scored:
                candidates.update(catalog.by_plan.get(plan_id, ()))
                out.changed = True
    if everything:
        candidates = set(range(len(catalog.segments)))
    elif due_passed:
        candidates.update(catalog.timed)

    view = ProfileView(new, catalog.plans, now)
    if candidates:
        _evaluate(catalog, view, new, candidates, now, out)
    if out.changed or due_passed or everything or isinstance(stimulus, Reevaluate):
        every = everything or (state.due is not None and not state.segment_dues)  # (a state from before dues)
        new.due = _next_due(catalog, view, new, None if every else candidates)
        if new.due != state.due:
            out.changed = True
    return out


def _matching_filters(catalog: Catalog, activity: ActivityView) -> set[str]:
    matched: set[str] = set()
    for entry in index_keys(activity):
        for key in catalog.filter_index.get(entry, ()):
            if catalog.filters[key](activity):
                matched.add(key)
    return matched


def _merge_traits(state: ProfileState, incoming: dict[str, Any]) -> set[str]:
    changed = {k for k, v in incoming.items() if state.traits.get(k) != v or (v is None and k in state.traits)}
    if changed:
        traits = dict(state.traits)
        for name in changed:
            if incoming[name] is None:
                traits.pop(name, None)
            else:
                traits[name] = incoming[name]
        state.traits = traits
    return changed


def _plan_state(state: ProfileState, plan_id: str) -> dict[str, Any]:
    """A private copy of one plan's state, installed in `state` (copy on write)."""
    old = state.scores.get(plan_id) or {}
    copy: dict[str, Any] = dict(old)
    if "c" in old:
        copy["c"] = {k: list(v) for k, v in old["c"].items()}
    if "d" in old:
        copy["d"] = [list(b) for b in old["d"]]
    if "o" in old:
        copy["o"] = list(old["o"])
    state.scores[plan_id] = copy
    return copy


def _pay_trait_rules(catalog: Catalog, state: ProfileState, now: int, scored: dict[str, bool]) -> None:
    if not state.traits:
        return
    view = ProfileView(state, catalog.plans, now)
    for plan in catalog.plans.values():
        paid = (state.scores.get(plan.plan_id) or {}).get("o", ())
        for rule in plan.rules:
            due = rule.traits is not None and rule.name not in paid and rule.traits.test(view)
            if due and award_once(plan, _plan_state(state, plan.plan_id), rule, now):
                scored[plan.plan_id] = True


def _settle(plan: Plan, state: ProfileState, now: int, paid: bool, out: Outcome) -> bool:
    """Compare the plan's score and tier with what was last announced; returns whether either moved."""
    plan_state = _plan_state(state, plan.plan_id)
    exact = value_at(plan, plan_state, now)
    value = round(exact, 2)  # announced; the tier follows the exact value (decay crossings are solved exactly)
    previous = float(plan_state.get("s", 0.0))
    tier = tier_of(plan, exact)
    old_tier = plan_state.get("tier") or (plan.tiers[0].name if plan.tiers else None)
    crossing = tier is not None and tier != old_tier
    if crossing:
        names = plan.tier_names
        direction = "up" if old_tier is None or names.index(tier) > names.index(old_tier) else "down"  # type: ignore[arg-type]
        out.crossings.append(TierCrossing(plan.plan_id, tier, old_tier, direction, value))  # type: ignore[arg-type]
    moved = (paid or crossing) and value != previous
    if moved:
        out.score_changes.append(ScoreChange(plan.plan_id, value, previous, tier))
        plan_state["s"] = value
    if tier is not None:
        plan_state["tier"] = tier
    return moved or crossing


def _answer(state: ProfileState, questionnaire: Any, activity: ActivityView, at: int, out: Outcome) -> bool:
    answers = answers_in(questionnaire, activity)
    if not answers:
        return False
    qid = questionnaire.questionnaire_id
    old = state.answers.get(qid) or {}
    merged = {**(old.get("a") or {}), **answers}
    segment, confidence = assign(questionnaire, merged)
    done = all(q in merged for q in questionnaire.questions)
    state.answers[qid] = {"a": merged, "k": segment, "c": confidence, "done": done, "at": at}
    out.changed = True
    if done and (not old.get("done") or old.get("k") != segment):
        out.assignments.append(Assignment(qid, segment, old.get("k"), confidence))
        return True
    return False


def _evaluate(
    catalog: Catalog, view: ProfileView, state: ProfileState, candidates: set[int], now: int, out: Outcome
) -> None:
    """Evaluate candidate segments in dependency order; a transition makes its dependents candidates too."""
    segments = catalog.segments
    for position in range(min(candidates), len(segments)) if candidates else ():
        if position not in candidates:
            continue
        rule = segments[position]
        out.evaluated += 1
        member = rule.condition.test(view)
        if member == (rule.segment_id in state.members):
            continue
        if member:
            state.members[rule.segment_id] = now
        else:
            del state.members[rule.segment_id]
        out.transitions.append(Transition(rule.segment_id, member, rule.version))
        out.changed = True
        candidates.update(catalog.dependents.get(rule.segment_id, ()))


def _next_due(catalog: Catalog, view: ProfileView, state: ProfileState, touched: set[int] | None) -> int | None:
    """The earliest moment time alone may change something. Each segment's own moment is kept in the state and
    recomputed only when its inputs changed (`touched`; None: every segment), like evaluation itself."""
    dues = dict(state.segment_dues) if touched is not None else {}
    for position in catalog.timed if touched is None else sorted(touched.intersection(catalog.timed)):
        rule = catalog.segments[position]
        changes = rule.condition.changes_at
        moment = changes(view) if changes is not None else None
        if moment is None:
            dues.pop(rule.segment_id, None)
        else:
            dues[rule.segment_id] = moment
    state.segment_dues = dues
    moments = list(dues.values())
    for plan_id, plan_state in state.scores.items():
        plan = catalog.plans.get(plan_id)
        if plan is not None and plan.decay is not None and plan.tiers:
            moment = changes_at(plan, plan_state, view.now, ())
            if moment is not None:
                moments.append(moment)
    return min(moments) if moments else None
