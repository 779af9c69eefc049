"""Experiment definitions refused at the field at fault (a variant by its index, the window's end, the goal's click),
and rules that could never work: a click goal on a slot, a slot experiment on a list slot."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from services.common.problems import from_pydantic
from services.content.adapters.memory import MemoryContent
from services.content.domain.catalogue import ContentItem, parse_rows
from services.content.domain.experiments import ExperimentDefinition
from services.content.domain.faults import Fault, refuse
from services.content.domain.targeting import SlotDefinition
from services.content.use_cases import definitions

NOW = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
CONTROL = {"id": "control", "content": {"title": "Welcome"}}
BOLD = {"id": "bold", "content": {"title": "Cook something bold"}}


def experiment(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Hero headline",
        "target": {"slotId": "hero"},
        "variants": [CONTROL, BOLD],
        "goal": {"event": "Order Completed"},
        **changes,
    }


def faults(raw: dict[str, Any]) -> list[tuple[Any, ...]]:
    with pytest.raises(ValidationError) as refused:
        ExperimentDefinition.model_validate(raw)
    return [e["loc"] for e in refused.value.errors()]


@pytest.mark.parametrize(
    ("raw", "locs"),
    [
        pytest.param(experiment(variants=[CONTROL, BOLD, {**BOLD}]), [("variants", 2, "id")], id="repeated-id"),
        pytest.param(experiment(variants=[CONTROL, {"id": "bold"}]), [("variants", 1, "content")], id="no-content"),
        pytest.param(
            experiment(target={"templateId": "digest"}, variants=[{"id": "control"}, BOLD], goal={"click": True}),
            [("variants", 1, "content")],
            id="content-on-a-template",
        ),
        pytest.param(
            experiment(startAt="2026-06-01T00:00:00Z", stopAt="2026-06-01T00:00:00Z"), [("stopAt",)], id="empty-window"
        ),
        pytest.param(experiment(goal={"click": True}), [("goal", "click")], id="click-goal-on-a-slot"),
        pytest.param(
            experiment(variants=[CONTROL, {"id": "control"}], goal={"click": True}),
            [("variants", 1, "id"), ("variants", 1, "content"), ("goal", "click")],
            id="every-fault-at-once",
        ),
    ],
)
def test_an_experiment_is_refused_at_the_field_at_fault(raw: dict[str, Any], locs: list[tuple[Any, ...]]) -> None:
    assert faults(raw) == locs


def test_a_click_goal_is_for_template_experiments() -> None:
    email = experiment(target={"templateId": "digest"}, variants=[{"id": "control"}, {"id": "b", "subject": "Hi!"}])
    assert ExperimentDefinition.model_validate({**email, "goal": {"click": True}}).goal.click


def test_a_refusal_is_named_under_the_model_s_own_location() -> None:
    # Given the definition inside a request body, as the API validates it
    class Request(BaseModel):
        body: ExperimentDefinition

    with pytest.raises(ValidationError) as refused:
        Request.model_validate({"body": experiment(variants=[CONTROL, {**BOLD, "id": "control"}])})

    # Then the fault is named by its path in the body, with the message as written (no "Value error, ")
    [fault] = from_pydantic(refused.value.errors())
    assert fault.field == "variants[1].id"
    assert fault.message == "an earlier variant (variants[0]) has this id already: ids are unique"


def test_refuse_keeps_braces_in_a_message_and_raises_nothing_without_faults() -> None:
    refuse("Nothing", [])
    with pytest.raises(ValidationError) as refused:
        refuse("Braces", [Fault(("a", 0), "{not a placeholder}")])
    assert [(e["loc"], e["msg"]) for e in refused.value.errors()] == [(("a", 0), "{not a placeholder}")]


def test_an_item_nowhere_is_named_at_its_path_in_a_request_and_in_an_import_row() -> None:
    nowhere = {"id": "x", "title": "X", "publishedAt": "2026-11-01T09:00:00Z"}
    with pytest.raises(ValidationError) as refused:
        ContentItem.model_validate(nowhere)
    assert [e["loc"] for e in refused.value.errors()] == [("path",)]
    _, import_faults = parse_rows(['{"id": "x", "title": "X", "publishedAt": "2026-11-01T09:00:00Z"}'], "jsonl")
    assert [(f.row, f.field) for f in import_faults] == [(1, "path")]


# ---- rules that need the slot ------------------------------------------------------------------------------------


@pytest.fixture
def store() -> MemoryContent:
    store = MemoryContent()
    for slot_id, body in (
        ("hero", {"name": "Hero", "variants": [{"variantId": "generic", "content": {"title": "Welcome"}}]}),
        ("front", {"name": "Front page", "type": "list"}),
    ):
        definitions.save_slot(store, slot_id, SlotDefinition.model_validate(body), lambda: {}, NOW)
    return store


def test_an_experiment_on_a_list_slot_is_refused_naming_the_slot(store: MemoryContent) -> None:
    on_list = ExperimentDefinition.model_validate(experiment(target={"slotId": "front"}))
    with pytest.raises(definitions.InvalidDefinition) as refused:
        definitions.save_experiment(store, "on-list", on_list, NOW)
    [(field, message)] = refused.value.faults
    assert field == "target.slotId" and "list slot" in message
    assert store.definition("experiment", "on-list") is None


def test_a_draft_whose_slot_became_a_list_does_not_start(store: MemoryContent) -> None:
    definitions.save_experiment(store, "headline", ExperimentDefinition.model_validate(experiment()), NOW)
    definitions.save_slot(
        store, "hero", SlotDefinition.model_validate({"name": "Hero", "type": "list"}), lambda: {}, NOW
    )
    with pytest.raises(definitions.Conflict) as refused:
        definitions.set_experiment_status(store, "headline", "running", NOW)
    assert refused.value.field == "target.slotId"
    assert store.definition("experiment", "headline")["status"] == "draft"  # type: ignore[index]
