"""A/B/n experiments on a slot or an email template: variants with weights, a goal, a window. Pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from services.common.conditions.language import Compiled
from services.common.experiments.bucketing import assign
from services.content.domain.faults import Fault, refuse
from services.content.domain.targeting import VisitorView, compile_audience

# Assignment is GrowthBook's (FNV-1a 32-bit, hash v2, seed = the experiment id; bucketing.py): the unit is the
# visitor's profile when content knows it, else their anonymous id, so a person sees one variant on every device
# once known. An exposure is counted once per unit and experiment (decide: when a slot is served; email: when
# the message is rendered for sending); a conversion once per exposed unit, when a goal event of that unit
# arrives after its exposure.

STATUSES = ("draft", "running", "stopped")


class ExperimentVariant(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
    weight: float = Field(default=1.0, gt=0, le=1000)
    content: dict[str, Any] | None = Field(default=None, description="Slot experiments: what this variant shows.")
    subject: str | None = Field(default=None, max_length=998, description="Template experiments: the subject.")
    html: str | None = Field(default=None, max_length=200_000, description="Template experiments: the HTML body.")


class Goal(BaseModel):
    """A conversion: an event (with property filters, all equal), or a click in an email (any link, or links
    whose URL contains `urlContains`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    event: str | None = Field(default=None, min_length=1, max_length=200)
    where: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=20)
    click: bool = False
    url_contains: str | None = Field(default=None, alias="urlContains", max_length=500)

    @model_validator(mode="after")
    def _one(self) -> Goal:
        if (self.event is None) == (not self.click):
            raise ValueError("a goal is an `event` or a `click`, exactly one")
        return self


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    slot_id: str | None = Field(default=None, alias="slotId", max_length=100)
    template_id: str | None = Field(default=None, alias="templateId", max_length=100)

    @model_validator(mode="after")
    def _one(self) -> Target:
        if (self.slot_id is None) == (self.template_id is None):
            raise ValueError("an experiment targets a `slotId` or a `templateId`, exactly one")
        return self


class ExperimentDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=200)
    hypothesis: str = Field(default="", max_length=2000)
    target: Target
    variants: list[ExperimentVariant] = Field(min_length=2, max_length=10)
    goal: Goal
    coverage: float = Field(default=1.0, gt=0, le=1, description="Share of visitors in the experiment.")
    audience: dict[str, Any] | None = Field(
        default=None,
        description="Who may take part: a condition in the slots' targeting language (segments, questionnaire "
        "answers, scores, tiers, traits, the visit). Everyone else is shown what they would be shown without the "
        "experiment and is not counted. None: everyone the slot or email reaches.",
    )
    start_at: AwareDatetime | None = Field(default=None, alias="startAt")
    stop_at: AwareDatetime | None = Field(default=None, alias="stopAt")

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentDefinition:
        refuse("ExperimentDefinition", experiment_faults(self))
        return self


def experiment_faults(experiment: ExperimentDefinition) -> list[Fault]:
    """What makes an experiment unusable, each at the field at fault: a repeated variant id, a window that ends
    before it starts, a variant without what its target shows (or with what it cannot), a goal that never converts
    for its target. (A slot experiment's slot must exist and not be a list slot: checked when saved.)"""
    faults: list[Fault] = []
    first: dict[str, int] = {}
    for index, variant in enumerate(experiment.variants):
        earlier = first.setdefault(variant.id, index)
        if earlier != index:
            faults.append(
                Fault(
                    ("variants", index, "id"),
                    f"an earlier variant (variants[{earlier}]) has this id already: ids are unique",
                    variant.id,
                )
            )
    on_slot = experiment.target.slot_id is not None
    for index, variant in enumerate(experiment.variants):
        if on_slot and variant.content is None:
            faults.append(
                Fault(("variants", index, "content"), "a slot experiment's variant has `content`: what the slot shows")
            )
        if not on_slot and variant.content is not None:
            faults.append(
                Fault(
                    ("variants", index, "content"),
                    "a template experiment's variant changes `subject` and/or `html`, not `content`",
                )
            )
    if on_slot and experiment.goal.click:
        faults.append(
            Fault(
                ("goal", "click"),
                "a click goal counts clicks in emails, which a slot experiment never sends: "
                "make the goal an `event` (e.g. Order Completed)",
                True,
            )
        )
    start, stop = experiment.start_at, experiment.stop_at
    if start and stop and stop <= start:
        faults.append(Fault(("stopAt",), "must be after startAt", stop.isoformat()))
    return faults


@dataclass(frozen=True)
class LiveExperiment:
    """A running experiment with its window and audience compiled once, when the definitions are loaded (not per
    decision)."""

    definition: dict[str, Any]
    start: dt.datetime | None
    stop: dt.datetime | None
    audience: Compiled | None = None

    def running_at(self, now: dt.datetime) -> bool:
        return (self.start is None or self.start <= now) and (self.stop is None or now < self.stop)

    def admits(self, view: VisitorView | None) -> bool:
        """Whether this visitor may take part: everyone without an audience; with one, only a visitor content
        knows (a view) who meets it."""
        if self.audience is None:
            return True
        return view is not None and bool(self.audience.test(view))  # type: ignore[arg-type]


def live(stored: dict[str, Any]) -> LiveExperiment | None:
    """The experiment as decisions see it, or None unless it was started."""
    if stored.get("status") != "running":
        return None
    start, stop = stored.get("startAt"), stored.get("stopAt")
    audience = stored.get("audience")
    return LiveExperiment(
        stored,
        dt.datetime.fromisoformat(start) if start else None,
        dt.datetime.fromisoformat(stop) if stop else None,
        compile_audience(audience, stored.get("references")) if audience else None,
    )


def variant_for(stored: dict[str, Any], unit_id: str) -> dict[str, Any] | None:
    """The unit's variant (GrowthBook's assignment), or None when coverage leaves the unit out."""
    variants = stored["variants"]
    index = assign(
        stored["id"], unit_id, [float(v.get("weight", 1)) for v in variants], float(stored.get("coverage", 1))
    )
    return None if index is None or index < 0 else dict(variants[index])


def goal_reached(goal: dict[str, Any], event: str | None, properties: dict[str, Any]) -> bool:
    if goal.get("click"):
        if event != "Email Link Clicked":
            return False
        needle = goal.get("urlContains")
        return not needle or needle in str(properties.get("url") or "")
    if event != goal.get("event"):
        return False
    return all(properties.get(k) == v for k, v in (goal.get("where") or {}).items())


Status = Literal["draft", "running", "stopped"]
