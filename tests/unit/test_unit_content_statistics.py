"""Experiment statistics: every figure checked against gbstats 0.8.0 (a dev dependency) on the same counts."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from gbstats.bayesian.tests import BayesianTestResult, EffectBayesianABTest, EffectBayesianConfig
from gbstats.frequentist.tests import FrequentistConfig, FrequentistTestResult, TwoSidedTTest
from gbstats.models.statistics import ProportionStatistic
from gbstats.utils import check_srm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2, t

from services.common.experiments.statistics import (
    ExperimentResults,
    VariantCounts,
    VariantResult,
    chi_square_sf,
    results,
    sample_ratio_mismatch,
    student_t_quantile,
    student_t_sf,
)

# Tolerances, relative, with an absolute floor of 1e-12 for figures at or near 0 (a p-value of 1e-40, an interval
# endpoint of 1e-4). Identical float formulas (rate, uplift, the normal-based Bayesian figures) agree to a few
# ulps. The Student t and chi-square are our own series and continued fractions against scipy's (Boost/Cephes);
# measured agreement is ~1e-13, asserted at 1e-10. gbstats' p-value is 2·(1 − cdf), which cannot resolve below
# ~1e-16 (ours can), hence the floor.
SAME_FORMULA = 1e-12
OWN_SPECIAL_FUNCTIONS = 1e-10
ABSOLUTE_FLOOR = 1e-12


def agrees(ours: float | None, theirs: float, rel: float) -> bool:
    return ours is not None and math.isclose(ours, theirs, rel_tol=rel, abs_tol=ABSOLUTE_FLOOR)


@dataclass(frozen=True)
class GbstatsFigures:
    frequentist: FrequentistTestResult
    bayesian: BayesianTestResult


def gbstats_figures(control: VariantCounts, variant: VariantCounts) -> GbstatsFigures:
    # As gbstats' runner builds a binomial metric (base_statistic_from_metric_row): n = users, sum = conversions;
    # the default configs are a two-sided 95 % test on the relative difference and a flat (improper) prior
    stat_a = ProportionStatistic(n=control.users, sum=control.conversions)
    stat_b = ProportionStatistic(n=variant.users, sum=variant.conversions)
    return GbstatsFigures(
        TwoSidedTTest(stat_a, stat_b, FrequentistConfig()).compute_result(),
        EffectBayesianABTest(stat_a, stat_b, EffectBayesianConfig()).compute_result(),
    )


def assert_matches_gbstats(control: VariantCounts, ours: VariantResult) -> None:
    variant = VariantCounts(ours.users, ours.conversions)
    theirs = gbstats_figures(control, variant)
    assert theirs.frequentist.error_message is None and theirs.bayesian.error_message is None
    assert agrees(ours.rate, variant.conversions / variant.users, SAME_FORMULA)
    assert agrees(ours.uplift, theirs.frequentist.expected, SAME_FORMULA)
    assert agrees(ours.uplift, theirs.bayesian.expected, SAME_FORMULA)
    assert agrees(ours.p_value, theirs.frequentist.p_value, OWN_SPECIAL_FUNCTIONS)
    assert ours.uplift_interval is not None and ours.credible_interval is not None
    for mine, gb in zip(ours.uplift_interval, theirs.frequentist.ci, strict=True):
        assert agrees(mine, gb, OWN_SPECIAL_FUNCTIONS)
    for mine, gb in zip(ours.credible_interval, theirs.bayesian.ci, strict=True):
        assert agrees(mine, gb, SAME_FORMULA)
    assert agrees(ours.chance_to_win, theirs.bayesian.chance_to_win, SAME_FORMULA)
    # gbstats' risk is [of keeping the control, of shipping the variant]
    assert agrees(ours.control_risk, theirs.bayesian.risk[0], SAME_FORMULA)
    assert agrees(ours.risk, theirs.bayesian.risk[1], SAME_FORMULA)


COUNT_SETS = {
    "small": ([VariantCounts(120, 12), VariantCounts(118, 19)], [0.5, 0.5]),
    "tiny, few degrees of freedom": ([VariantCounts(4, 1), VariantCounts(3, 2)], [0.5, 0.5]),
    "large": ([VariantCounts(1_000_000, 52_000), VariantCounts(1_000_500, 53_100)], [0.5, 0.5]),
    "no difference": ([VariantCounts(50_000, 2_500), VariantCounts(50_000, 2_500)], [0.5, 0.5]),
    "big difference": ([VariantCounts(20_000, 400), VariantCounts(20_000, 900)], [0.5, 0.5]),
    "worse variant": ([VariantCounts(40_000, 3_200), VariantCounts(40_100, 2_950)], [0.5, 0.5]),
    "three variants": (
        [VariantCounts(30_000, 1_500), VariantCounts(30_100, 1_620), VariantCounts(29_900, 1_480)],
        [1 / 3, 1 / 3, 1 / 3],
    ),
    "unbalanced split": ([VariantCounts(80_000, 4_000), VariantCounts(20_000, 1_090)], [0.8, 0.2]),
    "four variants, unequal weights": (
        [
            VariantCounts(50_200, 6_000),
            VariantCounts(9_950, 1_250),
            VariantCounts(20_100, 2_300),
            VariantCounts(19_800, 2_500),
        ],
        [0.5, 0.1, 0.2, 0.2],
    ),
    "high conversion": ([VariantCounts(1_000, 950), VariantCounts(1_000, 970)], [0.5, 0.5]),
}


@pytest.mark.parametrize("name", COUNT_SETS)
def test_every_figure_matches_gbstats(name: str) -> None:
    # Given the counts of an experiment
    variants, weights = COUNT_SETS[name]
    # When we compute its results
    computed = results(variants, weights)
    # Then each variant's figures against the control are gbstats' within the stated tolerances
    assert computed.variants[0].rate == variants[0].conversions / variants[0].users
    for figures in computed.variants[1:]:
        assert_matches_gbstats(variants[0], figures)
    assert agrees(computed.srm_p_value, check_srm([v.users for v in variants], weights), OWN_SPECIAL_FUNCTIONS)


@pytest.mark.filterwarnings("ignore:invalid value encountered in power:RuntimeWarning")  # scipy's truncnorm skew
@settings(max_examples=300, deadline=None)
@given(
    control_users=st.integers(min_value=0, max_value=2_000_000),
    variant_users=st.integers(min_value=0, max_value=2_000_000),
    control_share=st.floats(min_value=0, max_value=1),
    variant_share=st.floats(min_value=0, max_value=1),
)
def test_any_counts_match_gbstats_or_are_none_exactly_where_gbstats_declines(
    control_users: int, variant_users: int, control_share: float, variant_share: float
) -> None:
    control = VariantCounts(control_users, round(control_users * control_share))
    variant = VariantCounts(variant_users, round(variant_users * variant_share))
    ours = results([control, variant]).variants[1]
    theirs = gbstats_figures(control, variant)
    if theirs.frequentist.error_message is not None:
        # gbstats returns placeholders here (p = 1, chance 0.5); we say "undefined"
        assert ours.p_value is None and ours.chance_to_win is None and ours.uplift_interval is None
    else:
        assert_matches_gbstats(control, ours)


def test_no_difference_reads_as_no_evidence_either_way() -> None:
    ours = results([VariantCounts(50_000, 2_500), VariantCounts(50_000, 2_500)]).variants[1]
    assert ours.uplift == 0 and ours.p_value == 1.0 and ours.chance_to_win == 0.5
    assert ours.risk == ours.control_risk


def test_a_big_difference_is_significant_and_a_near_certain_win() -> None:
    ours = results([VariantCounts(20_000, 400), VariantCounts(20_000, 900)]).variants[1]
    assert ours.p_value is not None and ours.p_value < 1e-20
    assert ours.chance_to_win is not None and ours.chance_to_win > 0.999999
    assert ours.uplift_interval is not None and ours.uplift_interval[0] > 0


EDGE_CASES = {
    "control without users": [VariantCounts(0, 0), VariantCounts(100, 10)],
    "variant without users": [VariantCounts(100, 10), VariantCounts(0, 0)],
    "control without conversions": [VariantCounts(100, 0), VariantCounts(100, 10)],
    "variant without conversions": [VariantCounts(100, 10), VariantCounts(100, 0)],
    "variant all converted": [VariantCounts(100, 10), VariantCounts(50, 50)],
    "control all converted": [VariantCounts(50, 50), VariantCounts(100, 90)],
    "one user each": [VariantCounts(1, 1), VariantCounts(1, 0)],
    "nothing yet": [VariantCounts(0, 0), VariantCounts(0, 0)],
}


@pytest.mark.parametrize("name", EDGE_CASES)
def test_undefined_figures_are_none_where_gbstats_declines_and_nothing_raises(name: str) -> None:
    # Given counts that leave the comparison undefined
    variants = EDGE_CASES[name]
    # When we compute the results, nothing raises
    ours = results(variants).variants[1]
    # Then the comparison figures are None where gbstats returns its placeholder output
    theirs = gbstats_figures(variants[0], variants[1])
    assert theirs.frequentist.error_message is not None and theirs.bayesian.error_message is not None
    assert (ours.p_value, ours.uplift_interval, ours.credible_interval) == (None, None, None)
    assert (ours.chance_to_win, ours.risk, ours.control_risk) == (None, None, None)


def test_rate_and_uplift_stay_defined_whenever_the_counts_define_them() -> None:
    # A variant with no conversion against a converting control: -100 %, though no variance to test it with
    lost = results([VariantCounts(100, 10), VariantCounts(100, 0)]).variants[1]
    assert (lost.rate, lost.uplift) == (0.0, -1.0)
    # No users: no rate; a control rate of 0: no uplift
    assert results([VariantCounts(100, 10), VariantCounts(0, 0)]).variants[1].rate is None
    assert results([VariantCounts(100, 0), VariantCounts(100, 10)]).variants[1].uplift is None


def test_counts_that_cannot_be_are_refused() -> None:
    with pytest.raises(ValueError):
        VariantCounts(10, 11)
    with pytest.raises(ValueError):
        VariantCounts(-1, 0)


SRM_CASES = [
    ([50_000, 50_000], [0.5, 0.5]),
    ([50_000, 48_500], [0.5, 0.5]),  # a 1.5 % shortfall at this size is a broken split
    ([80_300, 19_700], [0.8, 0.2]),
    ([70_000, 30_000], [70, 30]),  # weights need not sum to 1
    ([1_000, 1_010, 990, 1_050], [0.25, 0.25, 0.25, 0.25]),
    ([1_000, 1_400, 990], [1 / 3, 1 / 3, 1 / 3]),
    ([500, 480, 37], [0.5, 0.5, 0.0]),  # a zero-weight variant adds nothing but keeps its degree of freedom
    ([10, 2], [0.5, 0.5]),
    ([100_000, 10_000], [0.5, 0.5]),  # p far below 1e-100
]


@pytest.mark.parametrize(("users", "weights"), SRM_CASES)
def test_sample_ratio_mismatch_matches_gbstats_check_srm(users: list[int], weights: list[float]) -> None:
    assert agrees(sample_ratio_mismatch(users, weights), check_srm(users, weights), OWN_SPECIAL_FUNCTIONS)


def test_srm_is_detected_below_one_in_a_thousand() -> None:
    broken = results([VariantCounts(50_000, 2_500), VariantCounts(48_500, 2_400)], [0.5, 0.5])
    healthy = results([VariantCounts(50_000, 2_500), VariantCounts(49_900, 2_400)], [0.5, 0.5])
    assert broken.srm_p_value < 0.001 and broken.srm_detected
    assert healthy.srm_p_value > 0.001 and not healthy.srm_detected


def test_srm_without_users_or_with_one_variant_is_no_mismatch() -> None:
    assert sample_ratio_mismatch([0, 0], [0.5, 0.5]) == 1.0 == check_srm([0, 0], [0.5, 0.5])
    # gbstats returns NaN for a single variant (zero degrees of freedom); there is no split to mismatch
    assert sample_ratio_mismatch([1_000], [1.0]) == 1.0


def test_srm_refuses_weights_that_do_not_match_the_variants() -> None:
    with pytest.raises(ValueError):
        sample_ratio_mismatch([10, 10], [1.0])


@pytest.mark.parametrize("dof", [1, 1.5, 2, 3.7, 10, 29.5, 30, 250, 5_000, 1e5, 1e6, 1e8])
def test_student_t_matches_scipy(dof: float) -> None:
    for x in [0.0, 0.1, 0.7, 1.0, 1.96, 2.5, 4.0, 9.0, 30.0]:
        assert math.isclose(student_t_sf(x, dof), t.sf(x, dof), rel_tol=OWN_SPECIAL_FUNCTIONS, abs_tol=1e-300)
        assert math.isclose(student_t_sf(-x, dof), t.sf(-x, dof), rel_tol=OWN_SPECIAL_FUNCTIONS)
    for p in [0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.995, 0.99999]:
        assert math.isclose(student_t_quantile(p, dof), t.ppf(p, dof), rel_tol=OWN_SPECIAL_FUNCTIONS, abs_tol=1e-15)


@pytest.mark.parametrize("dof", [1, 2, 3, 5, 9, 20])
def test_chi_square_matches_scipy(dof: int) -> None:
    for x in [0.0, 0.01, 0.5, 1.0, 3.0, dof + 0.5, 10.0, 40.0, 300.0]:
        assert math.isclose(chi_square_sf(x, dof), chi2.sf(x, dof), rel_tol=OWN_SPECIAL_FUNCTIONS, abs_tol=1e-300)


def test_results_serialise_with_camel_case_keys_and_none_for_the_control() -> None:
    computed = results([VariantCounts(1_000, 100), VariantCounts(1_000, 120)], [0.5, 0.5])
    document = computed.as_json()
    assert set(document) == {"variants", "srmPValue", "srmDetected"}
    control, variant = document["variants"]
    assert set(variant) == {
        "users",
        "conversions",
        "rate",
        "uplift",
        "upliftInterval",
        "pValue",
        "credibleInterval",
        "chanceToWin",
        "risk",
        "controlRisk",
    }
    assert control["rate"] == 0.1 and control["uplift"] is None and control["pValue"] is None
    assert variant["upliftInterval"][0] < variant["uplift"] < variant["upliftInterval"][1]
    assert document["srmPValue"] == 1.0 and document["srmDetected"] is False


def test_no_variants_give_empty_results() -> None:
    assert results([]) == ExperimentResults((), 1.0, srm_detected=False)
