"""The content API's refusals of slots, catalogue items and experiments on the local cloud: each names the field at
fault (a variant by its index, the window's end, the goal's click), never the whole body, and nothing of the refused
request is saved. Experiments that could never work are refused too: one on a list slot (decide never asks it), a
click goal on a slot (only emails have clicks)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api

PROBLEM = "application/problem+json"
PUBLISHED = "2026-03-01T09:00:00Z"
HERO = "refusals-hero"
FRONT = "refusals-front"  # a list slot
TEMPLATE = "refusals-note"


def refused(reply: Any, status: int = 400) -> list[str]:
    """The fields a refusal names, in order (after checking it is a problem+json of that status)."""
    assert reply.status == status, reply.body
    assert reply.content_type == PROBLEM
    return [e["field"] for e in reply.body["errors"]]


def variant(variant_id: str, **extra: Any) -> dict[str, Any]:
    return {"variantId": variant_id, "content": {"title": variant_id}, **extra}


IN_SEGMENT = {"inSegment": "nobody-in-particular"}
NL = {"environment": "country", "op": "equals", "value": "NL"}


@pytest.fixture(scope="module")
def slots(api: Api) -> None:
    hero = {"name": "Hero", "variants": [variant("dutch", when=NL), variant("default")]}
    assert api.admin("PUT", f"/v1/content/slots/{HERO}", hero).status == 200
    front = {"name": "Front page", "type": "list", "list": {"limit": 3}}
    assert api.admin("PUT", f"/v1/content/slots/{FRONT}", front).status == 200
    template = {"subject": "Hello", "html": "<p>Hello</p>"}
    assert api.admin("PUT", f"/v1/content/templates/{TEMPLATE}", template).status == 200


# ---- slots ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        pytest.param(
            {"name": "S", "variants": [variant("dutch", when=NL), variant("a"), variant("b")]},
            ["variants[2].when"],
            id="a-second-default",
        ),
        pytest.param(
            {"name": "S", "variants": [variant("dutch", when=NL), variant("a"), variant("dutch", when=NL)]},
            ["variants[2].variantId"],
            id="a-repeated-variant-id",
        ),
        pytest.param(
            {"name": "S", "variants": [variant("dutch", when=NL, segmentId="seg"), variant("a")]},
            ["variants[0].segmentId"],
            id="when-and-segmentId",
        ),
        pytest.param({"name": "S", "variants": [variant("dutch", when=NL)]}, ["variants"], id="no-default"),
        pytest.param({"name": "S", "variants": []}, ["variants"], id="no-variants"),
        pytest.param(
            {"name": "S", "type": "list", "variants": [variant("a")]}, ["variants"], id="a-list-with-variants"
        ),
        pytest.param({"name": "S", "variants": [variant("a")], "list": {"limit": 3}}, ["list"], id="list-not-a-list"),
    ],
)
def test_a_slot_refusal_names_the_field_at_fault_and_saves_nothing(
    api: Api, body: dict[str, Any], fields: list[str]
) -> None:
    assert refused(api.admin("PUT", "/v1/content/slots/refused-slot", body)) == fields
    assert api.admin("GET", "/v1/content/slots/refused-slot").status == 404


def test_a_refused_slot_keeps_the_version_saved_before(api: Api, slots: None) -> None:
    before = api.admin("GET", f"/v1/content/slots/{HERO}").body
    # a valid new name and variant alongside a repeated id: none of it is saved
    broken = {"name": "Renamed", "variants": [variant("dutch", when=NL), variant("default"), variant("default")]}
    assert refused(api.admin("PUT", f"/v1/content/slots/{HERO}", broken)) == [
        "variants[2].when",
        "variants[2].variantId",
    ]
    assert api.admin("GET", f"/v1/content/slots/{HERO}").body == before


# ---- catalogue items --------------------------------------------------------------------------------------------


def test_an_item_nowhere_is_refused_at_its_path_as_the_import_reports_it(api: Api) -> None:
    nowhere = {"title": "Nowhere", "topics": ["recipes"], "publishedAt": PUBLISHED}
    reply = api.admin("PUT", "/v1/content/items/refused-nowhere", nowhere)
    assert refused(reply) == ["path"]
    assert "a url or a path is required" in reply.body["errors"][0]["message"]
    assert api.admin("GET", "/v1/content/items/refused-nowhere").status == 404

    row = b'{"id": "refused-row", "title": "Nowhere", "publishedAt": "2026-03-01T09:00:00Z"}\n'
    imported = api.request(
        "POST",
        "/v1/content/items/import",
        raw=row,
        key=api.admin_key,
        scheme="bearer",
        headers={"content-type": "application/x-ndjson"},
    )
    assert imported.status == 200, imported.body
    assert [(e["row"], e["field"]) for e in imported.body["errors"]] == [(1, "path")]
    assert imported.body["errors"][0]["message"] == reply.body["errors"][0]["message"]


# ---- experiments ------------------------------------------------------------------------------------------------


def experiment(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Headline",
        "target": {"slotId": HERO},
        "variants": [{"id": "control", "content": {"title": "Welcome"}}, {"id": "bold", "content": {"title": "Cook"}}],
        "goal": {"event": "Order Completed"},
        **changes,
    }


TWO_BOLD = [
    {"id": "control", "content": {"title": "Welcome"}},
    {"id": "bold", "content": {"title": "Cook"}},
    {"id": "bold", "content": {"title": "Cook now"}},
]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        pytest.param(experiment(variants=TWO_BOLD), ["variants[2].id"], id="a-repeated-variant-id"),
        pytest.param(
            experiment(variants=[{"id": "control", "content": {"title": "Welcome"}}, {"id": "bold"}]),
            ["variants[1].content"],
            id="a-slot-variant-without-content",
        ),
        pytest.param(
            experiment(
                target={"templateId": TEMPLATE},
                variants=[{"id": "control", "content": {"title": "Hi"}}, {"id": "bold", "subject": "Hi!"}],
            ),
            ["variants[0].content"],
            id="a-template-variant-with-content",
        ),
        pytest.param(
            experiment(startAt="2026-04-01T00:00:00Z", stopAt="2026-03-01T00:00:00Z"),
            ["stopAt"],
            id="stop-before-start",
        ),
        pytest.param(experiment(goal={"click": True}), ["goal.click"], id="a-click-goal-on-a-slot"),
        pytest.param(experiment(target={"slotId": FRONT}), ["target.slotId"], id="a-list-slot"),
        pytest.param(experiment(target={"slotId": "no-such-slot"}), ["target.slotId"], id="no-such-slot"),
    ],
)
def test_an_experiment_refusal_names_the_field_at_fault_and_saves_nothing(
    api: Api, slots: None, body: dict[str, Any], fields: list[str]
) -> None:
    assert refused(api.admin("PUT", "/v1/experiments/refused-experiment", body)) == fields
    assert api.admin("GET", "/v1/experiments/refused-experiment").status == 404


def test_a_list_slot_is_refused_with_a_reason_and_a_click_goal_stays_for_emails(api: Api, slots: None) -> None:
    reply = api.admin("PUT", "/v1/experiments/refused-list", experiment(target={"slotId": FRONT}))
    assert refused(reply) == ["target.slotId"]
    assert "list slot" in reply.body["errors"][0]["message"]
    clicks = experiment(
        target={"templateId": TEMPLATE},
        variants=[{"id": "control"}, {"id": "bold", "subject": "Hello!"}],
        goal={"click": True, "urlContains": "/recipes"},
    )
    assert api.admin("PUT", "/v1/experiments/refusals-email-clicks", clicks).status == 200


def test_a_refused_draft_keeps_what_was_saved_before(api: Api, slots: None) -> None:
    assert api.admin("PUT", "/v1/experiments/refusals-draft", experiment()).status == 200
    before = api.admin("GET", "/v1/experiments/refusals-draft").body
    # a valid new name and coverage, with a window that ends before it starts: none of it is saved
    broken = experiment(name="Renamed", coverage=0.5, startAt="2026-04-01T00:00:00Z", stopAt="2026-04-01T00:00:00Z")
    assert refused(api.admin("PUT", "/v1/experiments/refusals-draft", broken)) == ["stopAt"]
    assert api.admin("GET", "/v1/experiments/refusals-draft").body == before


def test_a_draft_whose_slot_became_a_list_slot_cannot_start(api: Api, slots: None) -> None:
    slot = {"name": "Soon a list", "variants": [variant("default")]}
    assert api.admin("PUT", "/v1/content/slots/refusals-soon-a-list", slot).status == 200
    draft = experiment(target={"slotId": "refusals-soon-a-list"})
    assert api.admin("PUT", "/v1/experiments/refusals-on-a-list", draft).status == 200
    as_list = {"name": "Soon a list", "type": "list", "list": {"limit": 3}}
    assert api.admin("PUT", "/v1/content/slots/refusals-soon-a-list", as_list).status == 200

    reply = api.admin("POST", "/v1/experiments/refusals-on-a-list/start")
    assert refused(reply, 409) == ["target.slotId"]
    assert api.admin("GET", "/v1/experiments/refusals-on-a-list").body["status"] == "draft"


def test_stopping_names_the_winner_that_is_not_a_variant(api: Api, slots: None) -> None:
    assert api.admin("PUT", "/v1/experiments/refusals-stop", experiment(target={"slotId": HERO})).status == 200
    assert api.admin("POST", "/v1/experiments/refusals-stop/start").status == 200
    reply = api.admin("POST", "/v1/experiments/refusals-stop/stop", {"promote": True, "winner": "nobody"})
    assert refused(reply) == ["winner"]
    assert api.admin("GET", "/v1/experiments/refusals-stop").body["status"] == "running"
