"""Exposures: which serves of a slot are worth a write (at most one per profile, slot and clock hour)."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import given
from hypothesis import strategies as st

from services.content.domain.exposures import Exposure, Serve, serve_to_record
from services.content.domain.targeting import Variant

NINE = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DEFAULT = Variant.model_validate({"variantId": "generic", "content": {}})
RECIPES = Variant.model_validate({"variantId": "recipes", "segmentId": "seg-recipes", "content": {}})


def shown(variant: Variant, first: dt.datetime, last: dt.datetime, hours: int = 1) -> Exposure:
    return Exposure("hero", variant.variant_id, variant.segment_id, first, last, hours)


def test_the_first_serve_of_a_slot_is_recorded_and_counts_an_hour() -> None:
    serve = serve_to_record(None, "hero", RECIPES.variant_id, RECIPES.segment_id, NINE)
    assert serve == Serve("hero", "recipes", "seg-recipes", NINE, new_hour=True)


def test_the_same_variant_again_within_the_clock_hour_needs_no_write() -> None:
    # Given the recipe hero was served at 9:05
    before = shown(RECIPES, NINE, NINE + dt.timedelta(minutes=5))
    # Then serving it again at 9:59 changes nothing worth a write
    assert (
        serve_to_record(before, "hero", RECIPES.variant_id, RECIPES.segment_id, NINE + dt.timedelta(minutes=59)) is None
    )


def test_the_same_variant_in_the_next_clock_hour_is_recorded_and_counted() -> None:
    # Given the recipe hero was served at 9:59; at 10:01 a new hour begins, though only 2 minutes passed
    before = shown(RECIPES, NINE, NINE + dt.timedelta(minutes=59))
    serve = serve_to_record(before, "hero", RECIPES.variant_id, RECIPES.segment_id, NINE + dt.timedelta(minutes=61))
    assert serve is not None and serve.new_hour


def test_another_variant_within_the_hour_is_recorded_without_counting_the_hour_twice() -> None:
    # Given Ana saw the generic hero at 9:05 and entered the recipe segment at 9:10
    before = shown(DEFAULT, NINE, NINE + dt.timedelta(minutes=5))
    serve = serve_to_record(before, "hero", RECIPES.variant_id, RECIPES.segment_id, NINE + dt.timedelta(minutes=10))
    # Then the new variant (and the segment it targets) is written, and the hour is not counted again
    assert serve == Serve("hero", "recipes", "seg-recipes", NINE + dt.timedelta(minutes=10), new_hour=False)


def test_a_serve_that_arrives_with_an_earlier_clock_is_not_counted() -> None:
    before = shown(RECIPES, NINE, NINE + dt.timedelta(hours=2))
    assert serve_to_record(before, "hero", RECIPES.variant_id, RECIPES.segment_id, NINE + dt.timedelta(hours=1)) is None


minutes = st.lists(st.integers(0, 3 * 24 * 60), min_size=1, max_size=40).map(sorted)


@given(offsets=minutes, variants=st.lists(st.sampled_from([DEFAULT, RECIPES]), min_size=40, max_size=40))
def test_writes_are_one_per_variant_change_or_new_hour_and_the_count_is_the_hours_served(
    offsets: list[int], variants: list[Variant]
) -> None:
    # Given a sequence of serves in time order, each applied to the stored exposure as the adapter would
    stored: Exposure | None = None
    writes = 0
    served = list(zip((NINE + dt.timedelta(minutes=m) for m in offsets), variants, strict=False))
    for at, variant in served:
        serve = serve_to_record(stored, "hero", variant.variant_id, variant.segment_id, at)
        if serve is None:
            continue
        writes += 1
        stored = Exposure(
            "hero",
            serve.variant_id,
            serve.segment_id,
            stored.first_served_at if stored else serve.at,
            serve.at,
            (stored.served_hours if stored else 0) + int(serve.new_hour),
        )

    # Then the count is the number of distinct clock hours with a serve, the exposure names the last variant
    hours = {at.replace(minute=0) for at, _ in served}
    changes = sum(1 for (_, a), (_, b) in itertools.pairwise(served) if a != b)
    assert stored is not None
    assert stored.served_hours == len(hours)
    assert stored.variant_id == served[-1][1].variant_id
    assert stored.first_served_at == served[0][0]
    # last served is exact to the hour: later serves of the same variant within it are not written
    assert stored.last_served_at.replace(minute=0) == served[-1][0].replace(minute=0)
    # And no write happens beyond one per new hour or variant change
    assert writes <= len(hours) + changes
