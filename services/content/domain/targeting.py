"""Slots and their targeting: which variant, or which list of catalogue items, a visitor is shown. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.common.conditions.faults import Reader
from services.common.conditions.language import (
    ENVIRONMENT,
    LEAVES,
    Compiled,
    References,
    compile_condition,
    parse,
)
from services.common.conditions.rollups import Counter
from services.common.enrichment.local_time import local_time
from services.content.domain.faults import Fault, refuse
from services.content.domain.visitors import VISIT_GAP_MS

# One condition language with segments (services/common/conditions): a variant's `when` is a condition tree over
# the visitor's segments, questionnaire answers, scores and tiers, traits and this visit's environment. Content
# adds two environment fields of its own, and cannot answer `behaviour` leaves at decide time (it keeps no
# activity counters; a behavioural audience is a segment, named with `inSegment`).

CONTENT_ENVIRONMENT: dict[str, tuple[str, tuple[Any, ...]]] = {
    **ENVIRONMENT,
    "visitor": ("enum", ("new", "returning")),
    "identity": ("enum", ("known", "anonymous")),
}
CONTENT_LEAVES = tuple(leaf for leaf in LEAVES if leaf != "behaviour")
SLOT_ID = r"^[A-Za-z0-9_-]{1,100}$"


def content_references(definitions: Mapping[str, Any] | None) -> References:
    """What a condition may name, from segments' `definitions` lookup (segments, plans with tiers, questionnaires
    with their keys)."""
    found = definitions or {}
    return References(
        plans={p: tuple(found.get("tiers", {}).get(p, ())) for p in found.get("plans", ())},
        questionnaires={q: tuple(keys) for q, keys in (found.get("questionnaires") or {}).items()},
        segments={s: frozenset() for s in found.get("segments", ())},
        leaves=CONTENT_LEAVES,
        environment=CONTENT_ENVIRONMENT,
    )


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    variant_id: str = Field(alias="variantId", min_length=1, max_length=100, pattern=SLOT_ID)
    when: dict[str, Any] | None = Field(
        default=None,
        description="Who sees this variant: a condition (docs/content.md). None: the default variant.",
    )
    segment_id: str | None = Field(
        default=None,
        alias="segmentId",
        max_length=100,
        description="Shorthand for `when: {inSegment: <id>}` (the first slot format).",
    )
    content: dict[str, Any] = Field(description="What the front-end renders (title, image, link, ...).")

    @property
    def condition(self) -> dict[str, Any] | None:
        if self.when is not None:
            return self.when
        return {"inSegment": self.segment_id} if self.segment_id else None


class ListSpec(BaseModel):
    """A list slot: `limit` catalogue items ranked for the visitor."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    limit: int = Field(default=6, ge=1, le=50)
    types: list[str] = Field(default_factory=list, max_length=20, description="Item types shown; empty: all.")
    topics_by_audience: dict[str, list[str]] = Field(
        default_factory=dict,
        alias="topicsByAudience",
        description="Per audience (segment id or questionnaire segment key), the topics its list is drawn from.",
    )


class SlotDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=200)
    type: Literal["variants", "list"] = "variants"
    variants: list[Variant] = Field(default_factory=list, max_length=50)
    list_spec: ListSpec | None = Field(default=None, alias="list")

    @model_validator(mode="after")
    def _shape(self) -> SlotDefinition:
        refuse("SlotDefinition", slot_faults(self))
        if self.type == "list" and self.list_spec is None:
            self.list_spec = ListSpec()
        return self


def slot_faults(slot: SlotDefinition) -> list[Fault]:
    """What makes a slot unusable, each at the field at fault: a list slot's variants, a variants slot's `list`, no
    default or a second one, a repeated variant id, `when` with `segmentId`."""
    if slot.type == "list":
        if slot.variants:
            return [Fault(("variants",), "a list slot shows catalogue items (`list`): it has no variants")]
        return []
    if slot.list_spec is not None:
        return [Fault(("list",), "`list` is for list slots (type: list)")]
    if not slot.variants:
        return [Fault(("variants",), "a slot needs variants, one of them the default (no `when` or `segmentId`)")]
    faults: list[Fault] = []
    defaults = [i for i, v in enumerate(slot.variants) if v.condition is None]
    if not defaults:
        faults.append(
            Fault(("variants",), "a slot needs a default variant: one without `when` or `segmentId`, for everyone else")
        )
    for index in defaults[1:]:
        faults.append(
            Fault(
                ("variants", index, "when"),
                f"a second default variant (variants[{defaults[0]}] is the default): "
                "give it `when` or `segmentId`, or remove it",
            )
        )
    first: dict[str, int] = {}
    for index, variant in enumerate(slot.variants):
        earlier = first.setdefault(variant.variant_id, index)
        if earlier != index:
            faults.append(
                Fault(
                    ("variants", index, "variantId"),
                    f"an earlier variant (variants[{earlier}]) has this id already: ids are unique within a slot",
                    variant.variant_id,
                )
            )
        if variant.when is not None and variant.segment_id is not None:
            faults.append(
                Fault(("variants", index, "segmentId"), "`when` or `segmentId`, not both", variant.segment_id)
            )
    return faults


def check_conditions(slot: SlotDefinition, refs: References) -> list[tuple[str, str]]:
    """Every fault of every variant's condition, with its path (`variants[1].when.op`)."""
    out: list[tuple[str, str]] = []
    for index, variant in enumerate(slot.variants):
        condition = variant.condition
        if condition is None:
            continue
        reader = Reader()
        parse(condition, refs, f"variants[{index}].when", reader)
        for fault in reader.faults:
            path = fault.path
            if variant.when is None:  # the segmentId shorthand: name the field the marketer wrote
                path = f"variants[{index}].segmentId"
            out.append((path, fault.message))
    return out


@dataclass(frozen=True)
class CompiledSlot:
    slot_id: str
    definition: SlotDefinition
    tests: tuple[Compiled | None, ...]  # per variant; None: the default
    default: Variant | None = None  # None for list slots
    targets: tuple[tuple[Variant, Compiled], ...] = ()  # the targeted variants in order, with their tests
    segments: dict[str, str] = field(default_factory=dict)  # variant id → the segment a plain inSegment targets


def references_json(refs: References) -> dict[str, Any]:
    """The references a slot was checked against, stored with it so a container compiles it without asking
    segments again (a segment deleted since then simply matches no one)."""
    return {
        "segments": sorted(refs.segments),
        "tiers": {plan: list(tiers) for plan, tiers in refs.plans.items()},
        "questionnaires": {q: list(keys) for q, keys in refs.questionnaires.items()},
    }


def _stored_references(references: Mapping[str, Any] | None) -> References:
    return content_references({**(references or {}), "plans": list((references or {}).get("tiers") or {})})


def check_audience(audience: Mapping[str, Any], refs: References) -> list[tuple[str, str]]:
    """Every fault of an experiment's audience condition, with its path (`audience.all[1].op`)."""
    reader = Reader()
    parse(audience, refs, "audience", reader)
    return [(fault.path, fault.message) for fault in reader.faults]


def compile_audience(audience: Mapping[str, Any], references: Mapping[str, Any] | None) -> Compiled:
    """An experiment's audience, compiled against the references it was checked with (as a slot's conditions)."""
    return compile_condition(parse(audience, _stored_references(references)))


def compile_slot(slot_id: str, definition: SlotDefinition, references: Mapping[str, Any] | None) -> CompiledSlot:
    refs = _stored_references(references)
    tests: list[Compiled | None] = []
    for variant in definition.variants:
        condition = variant.condition
        tests.append(None if condition is None else compile_condition(parse(condition, refs)))
    variants = definition.variants
    return CompiledSlot(
        slot_id,
        definition,
        tuple(tests),
        default=next((v for v in variants if v.condition is None), None),
        targets=tuple((v, t) for v, t in zip(variants, tests, strict=True) if t is not None),
        segments={v.variant_id: s for v in variants if (s := targeted_segment(v)) is not None},
    )


# ---- the visitor as conditions see it ----------------------------------------------------------------------------


@dataclass
class VisitorView:
    """A visitor at decide time, in the shape segments' conditions read (services/common/conditions)."""

    now: int
    traits: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    counters: dict[str, Counter] = field(default_factory=dict)
    members: dict[str, Any] = field(default_factory=dict)
    answers: dict[str, str | None] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    tiers: dict[str, str] = field(default_factory=dict)

    def score(self, plan_id: str) -> float:
        return float(self.scores.get(plan_id, 0))

    def tier(self, plan_id: str) -> str | None:
        return self.tiers.get(plan_id)

    def score_changes_at(self, plan_id: str, thresholds: tuple[float, ...]) -> int | None:
        return None


def visitor_view(
    projection: Mapping[str, Any] | None, request_environment: Mapping[str, Any], now: dt.datetime
) -> VisitorView:
    """The visitor's projection (None: content has never seen them) and this request's environment: the request
    wins over the visitor's latest visit (referrer and campaign only while that visit lasts)."""
    now_ms = int(now.timestamp() * 1000)
    seen = projection or {}
    last_seen = seen.get("lastSeen")
    in_visit = last_seen is not None and now_ms - int(last_seen) <= VISIT_GAP_MS
    visits = int(seen.get("visits") or 0)
    returning = visits >= 2 or (visits >= 1 and not in_visit)
    environment: dict[str, Any] = {**(seen.get("device") or {})}
    if in_visit:
        environment.update(seen.get("visit") or {})
    environment.update({k: v for k, v in request_environment.items() if v is not None})
    if "partOfDay" not in environment:  # the request named no zone: the visitor's own, now
        zone = environment.pop("timezone", None) or (seen.get("traits") or {}).get("timezone")
        environment.update(local_time(now, zone) or {})
    environment.pop("timezone", None)
    environment["visitor"] = "returning" if returning else "new"
    environment["identity"] = "known" if seen.get("known") else "anonymous"
    return VisitorView(
        now=now_ms,
        traits=dict(seen.get("traits") or {}),
        environment=environment,
        members={s: True for s in seen.get("segments") or ()},
        answers=dict(seen.get("answers") or {}),
        scores={k: float(v) for k, v in (seen.get("scores") or {}).items()},
        tiers=dict(seen.get("tiers") or {}),
    )


def choose_variant(slot: CompiledSlot, view: VisitorView | None) -> Variant:
    """Targeted variants are tried in the order listed; the default catches everyone else, wherever it is listed.
    No view (a visitor who refused personalisation): the default."""
    if view is not None:
        for variant, compiled in slot.targets:
            if compiled.test(view):  # type: ignore[arg-type]
                return variant
    assert slot.default is not None, "a variants slot has a default (checked when saved)"
    return slot.default


def targeted_segment(variant: Variant) -> str | None:
    """The segment a variant targets when its condition is a plain `inSegment` (for exposures and analytics)."""
    condition = variant.condition
    if isinstance(condition, dict) and set(condition) == {"inSegment"}:
        return str(condition["inSegment"])
    return None
