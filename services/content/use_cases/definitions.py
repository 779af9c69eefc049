"""Saving what marketers define: slots (checked against segments' definitions), catalogue items, experiments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from services.common.clock import iso
from services.content.domain.catalogue import ContentItem, Format, RowFault, parse_rows
from services.content.domain.experiments import ExperimentDefinition
from services.content.domain.targeting import (
    SlotDefinition,
    check_audience,
    check_conditions,
    content_references,
    references_json,
)
from services.content.ports import ContentStore


class InvalidDefinition(ValueError):
    """A definition that names what does not exist, or breaks a rule pydantic cannot see; each fault has a path."""

    def __init__(self, faults: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {m}" for p, m in faults))
        self.faults = faults


class NotFound(LookupError):
    def __init__(self, kind: str, definition_id: str) -> None:
        super().__init__(f"No {kind} {definition_id}.")
        self.kind = kind
        self.definition_id = definition_id


class Conflict(ValueError):
    def __init__(self, detail: str, field: str) -> None:
        super().__init__(detail)
        self.field = field


SegmentDefinitions = Callable[[], Mapping[str, Any]]  # segments' lookup {op: definitions}, asked when a slot is saved


def save_slot(
    store: ContentStore, slot_id: str, definition: SlotDefinition, segments: SegmentDefinitions, now: dt.datetime
) -> dict[str, Any]:
    refs = content_references(segments()) if any(v.condition for v in definition.variants) else content_references({})
    faults = check_conditions(definition, refs)
    if faults:
        raise InvalidDefinition(faults)
    body = {"definition": definition.model_dump(by_alias=True, exclude_none=True), "references": references_json(refs)}
    saved = store.save_definition("slot", slot_id, body, now)
    return slot_view(saved)


def slot_view(stored: dict[str, Any]) -> dict[str, Any]:
    return {"slotId": stored["id"], **stored["definition"], "updatedAt": stored.get("updatedAt")}


def save_items(store: ContentStore, items: Iterable[ContentItem], now: dt.datetime) -> int:
    bodies = [i.as_json() for i in items]
    store.save_items(bodies, now)
    return len(bodies)


def import_items(
    store: ContentStore, lines: Iterable[str], format: Format, now: dt.datetime
) -> tuple[int, list[RowFault]]:
    """Bulk: valid rows are saved, every bad row is reported with its number and field."""
    items, faults = parse_rows(lines, format)
    return save_items(store, items, now), faults


def save_experiment(
    store: ContentStore,
    experiment_id: str,
    definition: ExperimentDefinition,
    now: dt.datetime,
    segments: SegmentDefinitions | None = None,
) -> dict[str, Any]:
    """A new experiment is a draft; a running or stopped one cannot be redefined (its counts would mix). Its
    audience is checked against segments' definitions (`segments`), as a slot's conditions are."""
    before = store.definition("experiment", experiment_id)
    if before is not None and before.get("status") != "draft":
        raise Conflict(f"Experiment {experiment_id} is {before['status']}; define a new one.", "experimentId")
    target = definition.target
    if target.slot_id:
        fault = _slot_target_fault(store, target.slot_id)
        if fault:
            raise InvalidDefinition([("target.slotId", fault)])
    if target.template_id:
        template = store.definition("template", target.template_id)
        if template is None:
            raise InvalidDefinition([("target.templateId", f"no template {target.template_id!r}")])
        _check_template_variants(definition, template["source"])
    body = {**definition.model_dump(by_alias=True, exclude_none=True, mode="json"), "status": "draft"}
    if definition.audience is not None:
        refs = content_references(segments() if segments else {})
        faults = check_audience(definition.audience, refs)
        if faults:
            raise InvalidDefinition(faults)
        body["references"] = references_json(refs)
    return store.save_definition("experiment", experiment_id, body, now)


def _slot_target_fault(store: ContentStore, slot_id: str) -> str | None:
    """Why a slot experiment could never be shown on this slot (None: it can): no such slot, or a list slot (decide
    answers a list slot with its items and never asks its experiment)."""
    slot = store.definition("slot", slot_id)
    if slot is None:
        return f"no slot {slot_id!r}"
    if slot["definition"].get("type") == "list":
        return f"{slot_id!r} is a list slot: an experiment tests a variants slot's content (a list is never tested)"
    return None


def _check_template_variants(definition: ExperimentDefinition, source: dict[str, Any]) -> None:
    """Each variant's subject and body must compile as the template does (refused now, not at send time)."""
    from services.content.domain.templates import TemplateErrors, TemplateSource, compile_template

    faults: list[tuple[str, str]] = []
    for index, variant in enumerate(definition.variants):
        parts = {k: v for k, v in (("subject", variant.subject), ("html", variant.html)) if v}
        try:
            compile_template(TemplateSource.model_validate({**source, **parts}))
        except TemplateErrors as error:
            faults += [
                (f"variants[{index}].{f.field}", f"line {f.line}, column {f.column}: {f.message}")
                for f in error.faults
                if f.field in parts
            ]
    if faults:
        raise InvalidDefinition(faults)


def set_experiment_status(
    store: ContentStore, experiment_id: str, status: str, now: dt.datetime, winner: str | None = None
) -> dict[str, Any]:
    stored = store.definition("experiment", experiment_id)
    if stored is None:
        raise NotFound("experiment", experiment_id)
    allowed = {"running": ("draft",), "stopped": ("running",)}[status]
    if stored.get("status") not in allowed:
        raise Conflict(f"Experiment {experiment_id} is {stored.get('status')}; it cannot become {status}.", "status")
    if status == "running":
        target = stored["target"]
        kind, target_id = ("slot", target["slotId"]) if target.get("slotId") else ("template", target["templateId"])
        fault = _slot_target_fault(store, target_id) if kind == "slot" else None
        if fault:  # the slot was deleted, or made a list slot, since the draft was saved
            raise Conflict(f"Experiment {experiment_id} cannot start: {fault}.", "target.slotId")
        for other in store.definitions("experiment"):
            if other["id"] != experiment_id and other.get("status") == "running" and other["target"] == target:
                raise Conflict(f"Experiment {other['id']} already runs on {kind} {target_id}.", "target")
    body = {k: v for k, v in stored.items() if k not in ("id", "updatedAt")}
    body["status"] = status
    body[f"{'started' if status == 'running' else 'stopped'}At"] = iso(now)
    if winner:
        body["winner"] = winner
    return store.save_definition("experiment", experiment_id, body, now)
