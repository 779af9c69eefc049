"""The compiled catalog of definitions (segments, scoring plans, questionnaires) and its indexes. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from services.common.conditions.activities import ActivityView, EventFilter, compile_filter
from services.common.conditions.faults import InvalidDefinition
from services.common.conditions.language import (
    Compiled,
    Dependencies,
    References,
    compile_condition,
    counts_needed,
    dependencies,
    parse,
)
from services.segments.domain.questionnaires import FIELDS as QUESTIONNAIRE_FIELDS
from services.segments.domain.questionnaires import Questionnaire, parse_questionnaire
from services.segments.domain.scoring import PLAN_FIELDS, Plan, parse_plan

# The indexes let one activity touch only the segments it can change: by event filter, by trait, by environment, by
# plan, by questionnaire and by `inSegment` dependency. Segments are kept in dependency order.


@dataclass(frozen=True)
class SegmentRule:
    segment_id: str
    version: int
    name: str
    condition: Compiled
    needs: Dependencies


@dataclass
class Catalog:
    generation: int = 0
    segments: tuple[SegmentRule, ...] = ()
    plans: dict[str, Plan] = field(default_factory=dict)
    questionnaires: dict[str, Questionnaire] = field(default_factory=dict)
    filters: dict[str, Callable[[ActivityView], bool]] = field(default_factory=dict)
    filter_index: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    counted: dict[str, tuple[int, int]] = field(default_factory=dict)  # filter → (hits to keep, horizon ms)
    by_filter: dict[str, tuple[int, ...]] = field(default_factory=dict)
    by_trait: dict[str, tuple[int, ...]] = field(default_factory=dict)
    by_environment: tuple[int, ...] = ()
    by_plan: dict[str, tuple[int, ...]] = field(default_factory=dict)
    by_questionnaire: dict[str, tuple[int, ...]] = field(default_factory=dict)
    dependents: dict[str, tuple[int, ...]] = field(default_factory=dict)
    timed: tuple[int, ...] = ()
    questionnaires_by_event: dict[str, tuple[Questionnaire, ...]] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()  # stored definitions that no longer parse (reported, not evaluated)

    def segment(self, segment_id: str) -> SegmentRule | None:
        for rule in self.segments:
            if rule.segment_id == segment_id:
                return rule
        return None

    def position(self, segment_id: str) -> int | None:
        for index, rule in enumerate(self.segments):
            if rule.segment_id == segment_id:
                return index
        return None


def references(
    segments: Iterable[dict[str, Any]],
    plans: Iterable[dict[str, Any]],
    questionnaires: Iterable[dict[str, Any]],
    self_id: str | None = None,
) -> References:
    """What a new or changed definition may name, from the stored definitions."""
    plan_tiers: dict[str, tuple[str, ...]] = {}
    for stored in plans:
        try:
            plan_tiers[stored["planId"]] = parse_plan(definition_body(stored), stored["planId"]).tier_names
        except InvalidDefinition:
            continue
    keys: dict[str, tuple[str, ...]] = {}
    for stored in questionnaires:
        try:
            keys[stored["questionnaireId"]] = parse_questionnaire(
                definition_body(stored), stored["questionnaireId"]
            ).keys
        except InvalidDefinition:
            continue
    named = {s["segmentId"]: _named_segments(s.get("condition")) for s in segments}
    return References(plans=plan_tiers, questionnaires=keys, segments=named, self_id=self_id)


def _named_segments(raw: Any) -> frozenset[str]:
    """Segment ids named by `inSegment` anywhere in a stored (already valid) condition."""
    found: set[str] = set()
    pending = [raw]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if isinstance(node.get("inSegment"), str):
                found.add(node["inSegment"])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return frozenset(found)


def definition_body(stored: dict[str, Any]) -> dict[str, Any]:
    """The marketer's fields of a stored plan or questionnaire (without ids, versions and timestamps)."""
    allowed = set(PLAN_FIELDS) if "planId" in stored else set(QUESTIONNAIRE_FIELDS)
    return {k: v for k, v in stored.items() if k in allowed}


def build(
    segments: list[dict[str, Any]],
    plans: list[dict[str, Any]],
    questionnaires: list[dict[str, Any]],
    generation: int = 0,
) -> Catalog:
    """Compile stored definitions (each already validated when saved) into an evaluable, indexed catalog."""
    skipped: list[str] = []
    parsed_plans: dict[str, Plan] = {}
    for stored in plans:
        try:
            parsed_plans[stored["planId"]] = parse_plan(
                definition_body(stored), stored["planId"], int(stored.get("version", 1))
            )
        except InvalidDefinition:
            skipped.append(stored["planId"])
    parsed_questionnaires: dict[str, Questionnaire] = {}
    for stored in questionnaires:
        qid = stored["questionnaireId"]
        try:
            parsed_questionnaires[qid] = parse_questionnaire(
                definition_body(stored), qid, int(stored.get("version", 1))
            )
        except InvalidDefinition:
            skipped.append(qid)
    refs = References(
        plans={k: p.tier_names for k, p in parsed_plans.items()},
        questionnaires={k: q.keys for k, q in parsed_questionnaires.items()},
        segments={s["segmentId"]: frozenset() for s in segments},
    )
    rules: dict[str, tuple[SegmentRule, dict[str, tuple[int, int]]]] = {}
    for stored in segments:
        try:
            node = parse(stored.get("condition"), refs)
        except InvalidDefinition:
            skipped.append(stored["segmentId"])
            continue
        rule = SegmentRule(
            stored["segmentId"],
            int(stored.get("version", 1)),
            str(stored.get("name", "")),
            compile_condition(node),
            dependencies(node),
        )
        rules[rule.segment_id] = (rule, counts_needed(node))
    ordered = _in_dependency_order({k: v[0] for k, v in rules.items()}, skipped)
    return _index(
        ordered, [rules[r.segment_id][1] for r in ordered], parsed_plans, parsed_questionnaires, generation, skipped
    )


def _in_dependency_order(rules: dict[str, SegmentRule], skipped: list[str]) -> list[SegmentRule]:
    """Segments after the segments they name (stable by id); segments in a cycle or naming a missing one are
    skipped — saving refuses both, so this only guards against concurrent edits."""
    ordered: list[SegmentRule] = []
    placed: set[str] = set()
    pending = sorted(rules)
    while pending:
        progress = [s for s in pending if rules[s].needs.segments <= placed]
        if not progress:
            skipped.extend(pending)
            break
        for segment_id in progress:
            ordered.append(rules[segment_id])
            placed.add(segment_id)
        pending = [s for s in pending if s not in placed]
    return ordered


def _index(
    ordered: list[SegmentRule],
    needs: list[dict[str, tuple[int, int]]],
    plans: dict[str, Plan],
    questionnaires: dict[str, Questionnaire],
    generation: int,
    skipped: list[str],
) -> Catalog:
    filters: dict[str, EventFilter] = {}
    counted: dict[str, tuple[int, int]] = {}
    by_filter: dict[str, list[int]] = {}
    by_trait: dict[str, list[int]] = {}
    by_plan: dict[str, list[int]] = {}
    by_questionnaire: dict[str, list[int]] = {}
    dependents: dict[str, list[int]] = {}
    environment: list[int] = []
    timed: list[int] = []
    for position, (rule, keep) in enumerate(zip(ordered, needs, strict=True)):
        for flt in rule.needs.filters:
            filters[flt.key] = flt
            by_filter.setdefault(flt.key, []).append(position)
        for key, (hits, horizon) in keep.items():
            old = counted.get(key, (1, 0))
            counted[key] = (max(old[0], hits), max(old[1], horizon))
        for trait in rule.needs.traits:
            by_trait.setdefault(trait, []).append(position)
        for plan in rule.needs.plans:
            by_plan.setdefault(plan, []).append(position)
        for questionnaire in rule.needs.questionnaires:
            by_questionnaire.setdefault(questionnaire, []).append(position)
        for segment in rule.needs.segments:
            dependents.setdefault(segment, []).append(position)
        if rule.needs.environment:
            environment.append(position)
        if rule.needs.timed:
            timed.append(position)
    for scoring_plan in plans.values():
        for scoring_rule in scoring_plan.rules:
            if scoring_rule.activity is not None:
                filters[scoring_rule.activity.key] = scoring_rule.activity
    index: dict[tuple[str, str], list[str]] = {}
    for key, flt in filters.items():
        index.setdefault(flt.index_key, []).append(key)
    by_event: dict[str, list[Questionnaire]] = {}
    for asked in questionnaires.values():
        by_event.setdefault(asked.event, []).append(asked)
    return Catalog(
        generation=generation,
        segments=tuple(ordered),
        plans=plans,
        questionnaires=questionnaires,
        filters={key: compile_filter(flt) for key, flt in filters.items()},
        filter_index={k: tuple(v) for k, v in index.items()},
        counted=counted,
        by_filter={k: tuple(v) for k, v in by_filter.items()},
        by_trait={k: tuple(v) for k, v in by_trait.items()},
        by_environment=tuple(environment),
        by_plan={k: tuple(v) for k, v in by_plan.items()},
        by_questionnaire={k: tuple(v) for k, v in by_questionnaire.items()},
        dependents={k: tuple(v) for k, v in dependents.items()},
        timed=tuple(timed),
        questionnaires_by_event={k: tuple(v) for k, v in by_event.items()},
        skipped=tuple(skipped),
    )
