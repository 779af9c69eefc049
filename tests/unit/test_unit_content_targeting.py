"""Personalised content: which variant of a slot a visitor sees, by one condition language with segments."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.content.domain.targeting import (
    SlotDefinition,
    Variant,
    check_conditions,
    choose_variant,
    compile_slot,
    content_references,
    references_json,
    visitor_view,
)

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
NOW_MS = int(NOW.timestamp() * 1000)
MINUTE = 60_000


def slot(*variants: dict[str, Any]) -> SlotDefinition:
    return SlotDefinition.model_validate({"name": "hero", "variants": list(variants)})


def decide(definition: SlotDefinition, segments: Any) -> Variant:
    compiled = compile_slot("hero", definition, {"segments": sorted({"s1", "s2", "s3", "s4", *_named(definition)})})
    return choose_variant(compiled, visitor_view({"segments": sorted(segments)}, {}, NOW))


def _named(definition: SlotDefinition) -> set[str]:
    return {v.segment_id for v in definition.variants if v.segment_id}


DEFAULT = {"variantId": "v-default", "content": {"title": "Welcome"}}
PRICING = {"variantId": "v-pricing", "segmentId": "seg-pricing", "content": {"title": "Talk to sales"}}
LOYAL = {"variantId": "v-loyal", "segmentId": "seg-loyal", "content": {"title": "Thanks for coming back"}}


def test_a_visitor_in_no_targeted_segment_sees_the_default() -> None:
    hero = slot(PRICING, DEFAULT, LOYAL)
    assert decide(hero, set()).variant_id == "v-default"
    assert decide(hero, {"seg-other"}).variant_id == "v-default"


def test_a_visitor_in_a_targeted_segment_sees_that_variant_even_if_the_default_is_listed_first() -> None:
    hero = slot(DEFAULT, PRICING, LOYAL)
    assert decide(hero, {"seg-loyal"}).variant_id == "v-loyal"
    assert decide(hero, {"seg-loyal"}).content == {"title": "Thanks for coming back"}


def test_when_several_variants_match_the_one_listed_first_wins() -> None:
    # Given a visitor in both targeted segments
    segments = ["seg-loyal", "seg-pricing"]

    # Then the marketer's listed order decides, not the order of the visitor's segments
    assert decide(slot(DEFAULT, PRICING, LOYAL), segments).variant_id == "v-pricing"
    assert decide(slot(LOYAL, DEFAULT, PRICING), segments).variant_id == "v-loyal"


segment_ids = st.sampled_from(["s1", "s2", "s3", "s4"])


@given(targets=st.lists(segment_ids, max_size=6), default_at=st.integers(0, 6), member_of=st.sets(segment_ids))
def test_decide_picks_the_first_listed_variant_the_visitor_qualifies_for(
    targets: list[str], default_at: int, member_of: set[str]
) -> None:
    variants: list[dict[str, Any]] = [
        {"variantId": f"v{i}", "segmentId": s, "content": {}} for i, s in enumerate(targets)
    ]
    variants.insert(min(default_at, len(variants)), {"variantId": "default", "content": {}})
    chosen = decide(slot(*variants), member_of)

    qualifying = [v["variantId"] for v in variants if v.get("segmentId") in member_of]
    assert chosen.variant_id == (qualifying[0] if qualifying else "default")


@pytest.mark.parametrize(
    ("variants", "loc"),
    [
        pytest.param([PRICING], ("variants",), id="no-default"),
        pytest.param([DEFAULT, {**DEFAULT, "variantId": "v-other"}], ("variants", 1, "when"), id="two-defaults"),
        pytest.param(
            [DEFAULT, {**PRICING, "variantId": "v-default"}], ("variants", 1, "variantId"), id="duplicate-variant-id"
        ),
        pytest.param(
            [DEFAULT, {**PRICING, "when": {"inSegment": "s1"}}], ("variants", 1, "segmentId"), id="when-and-segmentId"
        ),
        pytest.param([], ("variants",), id="no-variant"),
        pytest.param([DEFAULT, {**PRICING, "weight": 2}], ("variants", 1, "weight"), id="unknown-field"),
    ],
)
def test_invalid_slots_are_refused_at_the_field_at_fault(variants: list[dict[str, Any]], loc: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as refused:
        slot(*variants)
    assert [e["loc"] for e in refused.value.errors()] == [loc]


def test_every_fault_of_a_slot_is_named_at_once_by_the_variant_at_fault() -> None:
    variants = [PRICING, DEFAULT, {**DEFAULT, "variantId": "v-pricing"}, {**LOYAL, "when": {"inSegment": "s1"}}]
    with pytest.raises(ValidationError) as refused:
        slot(*variants)
    assert [(e["loc"], e["msg"]) for e in refused.value.errors()] == [
        (
            ("variants", 2, "when"),
            "a second default variant (variants[1] is the default): give it `when` or `segmentId`, or remove it",
        ),
        (
            ("variants", 2, "variantId"),
            "an earlier variant (variants[0]) has this id already: ids are unique within a slot",
        ),
        (("variants", 3, "segmentId"), "`when` or `segmentId`, not both"),
    ]


@pytest.mark.parametrize(
    ("definition", "loc"),
    [
        pytest.param({"type": "list", "variants": [DEFAULT]}, ("variants",), id="a-list-with-variants"),
        pytest.param({"variants": [DEFAULT], "list": {"limit": 3}}, ("list",), id="a-list-spec-on-variants"),
    ],
)
def test_a_slot_is_a_list_or_has_variants_not_both(definition: dict[str, Any], loc: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as refused:
        SlotDefinition.model_validate({"name": "front", **definition})
    assert [e["loc"] for e in refused.value.errors()] == [loc]


def test_a_list_slot_gets_the_default_list() -> None:
    front = SlotDefinition.model_validate({"name": "front", "type": "list"})
    assert front.list_spec is not None and front.list_spec.limit == 6


# ---- conditions beyond segment membership ----------------------------------------------------------------------

REFS = content_references(
    {
        "segments": ["seg-foodies"],
        "plans": ["engagement"],
        "tiers": {"engagement": ["cold", "warm", "hot"]},
        "questionnaires": {"taste": ["explorer", "homecook", "classic"]},
    }
)


def targeted(when: dict[str, Any]) -> SlotDefinition:
    return slot({"variantId": "targeted", "when": when, "content": {}}, DEFAULT)


def shown(when: dict[str, Any], projection: dict[str, Any] | None, request: dict[str, Any] | None = None) -> str:
    definition = targeted(when)
    assert check_conditions(definition, REFS) == []
    compiled = compile_slot("hero", definition, references_json(REFS))
    return choose_variant(compiled, visitor_view(projection, request or {}, NOW)).variant_id


@pytest.mark.parametrize(
    ("when", "projection", "request_env", "expected"),
    [
        ({"environment": "country", "op": "equals", "value": "NL"}, None, {"country": "NL"}, "targeted"),
        ({"environment": "country", "op": "equals", "value": "NL"}, None, {"country": "DE"}, "v-default"),
        ({"environment": "identity", "op": "equals", "value": "known"}, {"known": True}, {}, "targeted"),
        ({"environment": "identity", "op": "equals", "value": "known"}, None, {}, "v-default"),
        ({"tier": "engagement", "op": "atLeast", "value": "warm"}, {"tiers": {"engagement": "hot"}}, {}, "targeted"),
        ({"tier": "engagement", "op": "atLeast", "value": "warm"}, {"tiers": {"engagement": "cold"}}, {}, "v-default"),
        ({"score": "engagement", "op": "gte", "value": 50}, {"scores": {"engagement": 70}}, {}, "targeted"),
        ({"trait": "plan", "op": "equals", "value": "pro"}, {"traits": {"plan": "pro"}}, {}, "targeted"),
        (
            {"questionnaire": "taste", "op": "equals", "value": "explorer"},
            {"answers": {"taste": "explorer"}},
            {},
            "targeted",
        ),
        ({"questionnaire": "taste", "op": "neutral"}, {"answers": {"taste": None}}, {}, "targeted"),
        ({"questionnaire": "taste", "op": "neutral"}, None, {}, "targeted"),
        ({"questionnaire": "taste", "op": "neutral"}, {"answers": {"taste": "classic"}}, {}, "v-default"),
        ({"environment": "deviceType", "op": "in", "value": ["mobile"]}, None, {"deviceType": "mobile"}, "targeted"),
        ({"environment": "partOfDay", "op": "equals", "value": "morning"}, None, {"partOfDay": "morning"}, "targeted"),
    ],
)
def test_variants_target_tiers_scores_traits_answers_and_the_request(
    when: dict[str, Any], projection: dict[str, Any] | None, request_env: dict[str, Any], expected: str
) -> None:
    assert shown(when, projection, request_env) == expected


def test_a_returning_visitor_is_one_whose_earlier_visit_ended() -> None:
    returning = {"environment": "visitor", "op": "equals", "value": "returning"}
    # Given a visitor seen 10 minutes ago, in their first visit: still new
    assert shown(returning, {"visits": 1, "lastSeen": NOW_MS - 10 * MINUTE}) == "v-default"
    # When they come back after a 2-hour break: returning
    assert shown(returning, {"visits": 1, "lastSeen": NOW_MS - 120 * MINUTE}) == "targeted"
    # And a second visit recorded already: returning
    assert shown(returning, {"visits": 2, "lastSeen": NOW_MS - MINUTE}) == "targeted"


def test_this_visits_campaign_counts_only_while_the_visit_lasts() -> None:
    spring = {"environment": "campaign", "op": "equals", "value": "spring"}
    in_visit = {"visits": 1, "lastSeen": NOW_MS - 5 * MINUTE, "visit": {"campaign": "spring"}}
    assert shown(spring, in_visit) == "targeted"
    assert shown(spring, {**in_visit, "lastSeen": NOW_MS - 60 * MINUTE}) == "v-default"
    # the request's own campaign wins
    assert shown(spring, None, {"campaign": "spring"}) == "targeted"


def test_a_visitor_who_refused_personalisation_gets_the_default() -> None:
    definition = slot(PRICING, DEFAULT)
    compiled = compile_slot("hero", definition, {"segments": ["seg-pricing"]})
    assert choose_variant(compiled, None).variant_id == "v-default"


@pytest.mark.parametrize(
    ("when", "path"),
    [
        ({"behaviour": {"event": "Order Completed"}, "op": "atLeast", "value": 1}, "variants[0].when.behaviour"),
        ({"inSegment": "seg-unknown"}, "variants[0].when.inSegment"),
        ({"tier": "engagement", "op": "equals", "value": "scorching"}, "variants[0].when.value"),
        ({"questionnaire": "taste", "op": "equals", "value": "gourmet"}, "variants[0].when.value"),
        ({"environment": "visitor", "op": "equals", "value": "regular"}, "variants[0].when.value"),
        ({"all": [{"environment": "weather", "op": "equals", "value": "rain"}]}, "variants[0].when.all[0].environment"),
    ],
)
def test_conditions_content_cannot_answer_or_that_name_nothing_are_refused_with_their_path(
    when: dict[str, Any], path: str
) -> None:
    faults = check_conditions(targeted(when), REFS)
    assert [p for p, _ in faults] == [path]


def test_part_of_day_is_the_visitors_own_when_the_request_names_no_zone() -> None:
    evening = {"environment": "partOfDay", "op": "equals", "value": "evening"}
    # 09:00 UTC is 18:00 in Tokyo: the visitor's zone, kept from their activity, decides
    assert shown(evening, {"device": {"timezone": "Asia/Tokyo"}}) == "targeted"
    assert shown(evening, {"device": {"timezone": "Europe/London"}}) == "v-default"
    # a trait names it too; the request's own zone wins over both
    assert shown(evening, {"traits": {"timezone": "Asia/Tokyo"}}) == "targeted"
    assert shown(evening, {"device": {"timezone": "Asia/Tokyo"}}, {"partOfDay": "morning"}) == "v-default"
