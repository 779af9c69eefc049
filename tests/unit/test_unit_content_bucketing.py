"""Bucketing: our assignment is GrowthBook's, checked id by id against the growthbook SDK (a dev dependency)."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Sequence

import pytest
from growthbook import Experiment, GrowthBook
from hypothesis import given
from hypothesis import strategies as st

from services.common.experiments.bucketing import assign, bucket_ranges, choose_variant, fnv1a32, hash_v1, hash_v2


def _unit_ids() -> list[str]:
    # 9,000 sequential visitor ids (the worst case for a weak hash) and 1,000 random v4 uuids, seeded to stay stable
    rng = random.Random(20261203)
    uuids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(1_000)]
    return [f"visitor-{i}" for i in range(9_000)] + uuids


UNIT_IDS = _unit_ids()

EXPERIMENTS = [
    # (experiment id, weights, coverage)
    ("exp-hero-banner", [0.3, 0.7], 0.8),
    ("exp-checkout-copy", [0.5, 0.25, 0.25], 0.6),
    ("exp-recipes-slot", [0.1, 0.2, 0.3, 0.4], 0.95),
    ("exp-full-coverage", [0.34, 0.33, 0.33], 1.0),
    ("exp-sum-slightly-off", [0.5, 0.505], 0.9),  # within GrowthBook's ±0.01: used as given, not rescaled
    ("exp-percent-weights", [60.0, 40.0], 0.7),  # sums to 100: GrowthBook falls back to equal weights
    ("exp-negative-weight", [1.2, -0.2], 1.0),  # invalid: equal weights
    ("exp-coverage-above-one", [0.2, 0.8], 1.5),  # clamped to 1
]


def growthbook_assignment(experiment_id: str, unit_id: str, weights: Sequence[float], coverage: float) -> int | None:
    experiment = Experiment(
        key=experiment_id,
        variations=list(range(len(weights))),
        weights=list(weights),
        coverage=coverage,
        hashVersion=2,
    )
    result = GrowthBook(attributes={"id": unit_id}).run(experiment)
    return result.variationId if result.inExperiment else None


@pytest.mark.parametrize(("experiment_id", "weights", "coverage"), EXPERIMENTS)
def test_every_unit_gets_the_variant_the_growthbook_sdk_gives(
    experiment_id: str, weights: list[float], coverage: float
) -> None:
    # Given 10,000 unit ids and an experiment GrowthBook would run with hash version 2
    # When both assign every id
    ours = [assign(experiment_id, unit_id, weights, coverage) for unit_id in UNIT_IDS]
    theirs = [growthbook_assignment(experiment_id, unit_id, weights, coverage) for unit_id in UNIT_IDS]
    # Then the variant (and whether the unit is in the experiment at all) agrees for every single id
    mismatches = [(u, o, t) for u, o, t in zip(UNIT_IDS, ours, theirs, strict=True) if o != t]
    assert mismatches == []
    assert any(o is None for o in ours) == (coverage < 1)


def test_non_ascii_ids_are_hashed_as_utf16_code_units_like_the_sdk() -> None:
    # Given ids with accents, CJK and an emoji (a surrogate pair in UTF-16)
    ids = ["visitör-1", "見込み客-42", "😀-fan", "ÅÄÖ", "a\u0301"]
    for unit_id in ids:
        # Then the SDK and we agree on the hash and the variant
        assert assign("exp-intl", unit_id, [0.25, 0.25, 0.5], 0.9) == growthbook_assignment(
            "exp-intl", unit_id, [0.25, 0.25, 0.5], 0.9
        )


@pytest.mark.parametrize("weights", [[0.3, 0.7], [0.5, 0.25, 0.25], [0.1, 0.2, 0.3, 0.4]])
def test_the_split_follows_the_weights_within_the_covered_share(weights: list[float]) -> None:
    # Given 10,000 ids and 80 % coverage
    coverage = 0.8
    counts = Counter(assign("exp-distribution", unit_id, weights, coverage) for unit_id in UNIT_IDS)
    # Then about 20 % are left out and each variant gets about coverage × weight of the ids
    # (±1.5 points: ~3.7 standard deviations of a binomial share at n = 10,000)
    total = len(UNIT_IDS)
    assert abs(counts[None] / total - (1 - coverage)) < 0.015
    for index, weight in enumerate(weights):
        assert abs(counts[index] / total - coverage * weight) < 0.015


def test_fnv1a32_matches_the_published_fnv_test_vectors() -> None:
    # Reference values from the FNV test suite (Fowler/Noll/Vo), 32-bit FNV-1a
    assert fnv1a32("") == 0x811C9DC5
    assert fnv1a32("a") == 0xE40C292C
    assert fnv1a32("foobar") == 0xBF9CF968


def test_hash_v2_and_v1_match_the_sdk_on_plain_ids() -> None:
    # Given an experiment run by the SDK with its default legacy hash (version 1) and with version 2
    for unit_id in UNIT_IDS[:2_000]:
        n2 = (
            GrowthBook(attributes={"id": unit_id})
            .run(Experiment(key="exp-hash", variations=[0, 1], hashVersion=2))
            .bucket
        )
        n1 = GrowthBook(attributes={"id": unit_id}).run(Experiment(key="exp-hash", variations=[0, 1])).bucket
        # Then the hash the SDK reports as the bucket is ours
        assert hash_v2("exp-hash", unit_id) == n2
        assert hash_v1("exp-hash", unit_id) == n1


def test_bucket_ranges_give_each_variant_its_weight_scaled_by_coverage() -> None:
    assert bucket_ranges([0.5, 0.5], 0.5) == [(0.0, 0.25), (0.5, 0.75)]
    assert bucket_ranges([0.25, 0.75]) == [(0.0, 0.25), (0.25, 1.0)]


def test_unusable_weights_fall_back_to_an_equal_split() -> None:
    assert bucket_ranges([70, 30]) == bucket_ranges([0.5, 0.5])
    assert bucket_ranges([float("nan"), 1.0]) == bucket_ranges([0.5, 0.5])
    assert bucket_ranges([]) == []


def test_coverage_outside_zero_to_one_is_clamped() -> None:
    assert bucket_ranges([0.5, 0.5], -0.2) == [(0.0, 0.0), (0.5, 0.5)]
    assert bucket_ranges([0.5, 0.5], 3.0) == [(0.0, 0.5), (0.5, 1.0)]


def test_a_hash_in_an_uncovered_gap_or_past_the_end_is_in_no_variant() -> None:
    ranges = bucket_ranges([0.5, 0.5], 0.5)
    assert choose_variant(0.3, ranges) == -1
    assert choose_variant(0.5, ranges) == 1
    assert choose_variant(1.0, [(0.0, 0.5), (0.5, 1.0)]) == -1


def test_an_empty_unit_id_or_zero_coverage_is_never_in_the_experiment() -> None:
    assert assign("exp-hero-banner", "", [0.5, 0.5]) is None
    assert assign("exp-hero-banner", "visitor-1", [0.5, 0.5], coverage=0.0) is None
    assert assign("exp-hero-banner", "visitor-1", []) is None


def test_a_single_variant_is_no_experiment() -> None:
    # GrowthBook skips experiments with fewer than two variations, so nobody is enrolled
    assert assign("exp-hero-banner", "visitor-1", [1.0]) is None


@given(
    seed=st.text(min_size=1, max_size=30),
    unit_id=st.text(min_size=1, max_size=40),
    weights=st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=6),
    coverage=st.floats(min_value=0, max_value=1),
)
def test_any_text_and_weights_give_the_sdk_answer(
    seed: str, unit_id: str, weights: list[float], coverage: float
) -> None:
    # Whatever the ids and (valid or not) weights, the answer is the SDK's and a valid index or None
    ours = assign(seed, unit_id, weights, coverage)
    assert ours == growthbook_assignment(seed, unit_id, weights, coverage)
    assert ours is None or 0 <= ours < len(weights)
