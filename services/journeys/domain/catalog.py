"""The live journeys as the consumer sees them: which triggers enter whom, which events matter inside runs. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.journeys.domain.definition import JourneyDefinition, interesting_events

LIVE = ("active", "paused")  # paused journeys take no new entries, but their runs still react (goals, waits)


@dataclass(frozen=True)
class LiveJourney:
    journey_id: str
    status: str
    version: int
    machine_arn: str
    definition: JourneyDefinition


@dataclass
class Catalog:
    journeys: dict[str, LiveJourney] = field(default_factory=dict)
    by_trigger: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    in_run_events: set[str] = field(default_factory=set)
    exit_segments: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def triggered(self, kind: str, key: str) -> list[LiveJourney]:
        """Active journeys a trigger enters profiles into."""
        return [self.journeys[j] for j in self.by_trigger.get((kind, key), []) if self.journeys[j].status == "active"]

    def trigger_events(self) -> set[str]:
        return {key for kind, key in self.by_trigger if kind == "event"}


def trigger_key(definition: JourneyDefinition) -> tuple[str, str] | None:
    trigger = definition.entry.trigger
    if trigger.event is not None:
        return "event", trigger.event.event
    if trigger.segment_entered:
        return "segmentEntered", trigger.segment_entered
    if trigger.segment_exited:
        return "segmentExited", trigger.segment_exited
    if trigger.score_threshold_crossed is not None:
        return "scoreThresholdCrossed", trigger.score_threshold_crossed.plan_id
    if trigger.trait_changed is not None:
        return "traitChanged", trigger.trait_changed.trait
    if trigger.trait_date is not None:
        return "traitChanged", trigger.trait_date.trait
    return None  # API enrolment only


def load(items: Iterable[Mapping[str, Any]]) -> Catalog:
    """From the stored journeys (`current` is the published version's record)."""
    catalog = Catalog()
    for item in items:
        current = item.get("current")
        if item.get("status") not in LIVE or not current:
            continue
        definition = JourneyDefinition.model_validate(current["definition"])
        journey = LiveJourney(
            item["journeyId"], item["status"], int(item["version"]), current["machineArn"], definition
        )
        catalog.journeys[journey.journey_id] = journey
        key = trigger_key(definition)
        if key:
            catalog.by_trigger[key].append(journey.journey_id)
        catalog.in_run_events |= interesting_events(definition)
        for segment in definition.exit_on_segment_exit:
            catalog.exit_segments[segment].append(journey.journey_id)
    return catalog
