"""Personalised content: which variant of a slot a visitor sees."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.content.domain.decisions import SlotDefinition, decide


def slot(*variants: dict[str, Any]) -> SlotDefinition:
    return SlotDefinition.model_validate({"name": "hero", "variants": list(variants)})


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
    "variants",
    [
        pytest.param([PRICING], id="no-default"),
        pytest.param([DEFAULT, {**DEFAULT, "variantId": "v-other"}], id="two-defaults"),
        pytest.param([DEFAULT, {**PRICING, "variantId": "v-default"}], id="duplicate-variant-id"),
        pytest.param([], id="no-variant"),
        pytest.param([DEFAULT, {**PRICING, "weight": 2}], id="unknown-field"),
    ],
)
def test_invalid_slots_are_refused(variants: list[dict[str, Any]]) -> None:
    with pytest.raises(ValidationError):
        slot(*variants)
