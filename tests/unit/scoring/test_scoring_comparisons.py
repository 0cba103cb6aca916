"""Two-proportion, Mann-Whitney, Kruskal-Wallis with Dunn and Holm, period comparisons, funnel limits."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from scoring import (
    SmallSampleRule,
    compare_periods,
    dunn_test,
    funnel_limits,
    holm_adjust,
    kruskal_wallis,
    mann_kendall,
    mann_whitney,
    two_proportion_test,
)


def test_two_proportion_z_squared_is_the_uncorrected_chi_square() -> None:
    result = two_proportion_test(k1=42, n1=60, k2=610, n2=1000)
    table = np.array([[42, 18], [610, 390]])
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    assert result.statistic is not None and result.pvalue is not None
    assert result.statistic**2 == pytest.approx(chi2)
    assert result.pvalue == pytest.approx(p)
    assert result.effect_size == pytest.approx(2 * math.asin(math.sqrt(0.7)) - 2 * math.asin(math.sqrt(0.61)))
    assert result.risk_difference == pytest.approx(0.09)
    ci = result.ci()
    assert ci is not None and ci.low < 0.09 < ci.high
    json.dumps(result.to_dict())


def test_two_proportion_test_of_identical_extremes_is_not_significant() -> None:
    result = two_proportion_test(50, 50, 80, 80)
    assert result.statistic == 0.0 and result.pvalue == 1.0


def test_mann_whitney_on_tied_likert_answers_uses_the_asymptotic_method() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(1, 6, 2000).astype(float)
    b = np.clip(rng.integers(1, 6, 3000) + (rng.random(3000) < 0.2), 1, 5).astype(float)
    result = mann_whitney(a, b)
    reference = stats.mannwhitneyu(a, b, method="asymptotic", use_continuity=True)
    assert result.statistic == reference.statistic and result.pvalue == pytest.approx(reference.pvalue)
    assert result.effect_size == pytest.approx(2 * reference.statistic / (2000 * 3000) - 1)
    assert result.effect_size is not None and result.effect_size < 0


def test_holm_adjustment_step_down_by_hand() -> None:
    # Sorted 0.005, 0.01, 0.03, 0.04 -> 4·0.005, 3·0.01, 2·0.03, max(1·0.04, 0.06) (monotone).
    np.testing.assert_allclose(holm_adjust([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm_adjust([0.5, 0.9]), [1.0, 1.0])


def test_dunn_z_uses_the_tie_corrected_variance() -> None:
    values = np.array([1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5, 5], dtype=float)
    groups = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    ranks = stats.rankdata(values)
    n = 12
    ties = np.unique(values, return_counts=True)[1]
    base = n * (n + 1) / 12 - np.sum(ties**3 - ties) / (12 * (n - 1))
    z01 = (ranks[:4].mean() - ranks[4:8].mean()) / math.sqrt(base * (1 / 4 + 1 / 4))
    pairs = dunn_test(values, groups)
    assert [(p.group1, p.group2) for p in pairs] == [(0, 1), (0, 2), (1, 2)]
    assert pairs[0].statistic == pytest.approx(z01)
    assert pairs[0].pvalue == pytest.approx(2 * stats.norm.sf(abs(z01)))
    np.testing.assert_allclose([p.pvalue_adjusted for p in pairs], holm_adjust([p.pvalue for p in pairs]))


def test_kruskal_wallis_leaves_out_small_units_and_reports_effect_size() -> None:
    rng = np.random.default_rng(3)
    values = np.r_[rng.integers(3, 6, 80), rng.integers(1, 4, 80), rng.integers(2, 6, 80), [5] * 12].astype(float)
    groups = np.repeat([10, 20, 30, 40], [80, 80, 80, 12])
    result = kruskal_wallis(values, groups)
    assert result.groups == (10, 20, 30) and result.excluded == ((40, "n=12 < 30"),)
    reference = stats.kruskal(values[:80], values[80:160], values[160:240])
    assert result.statistic == pytest.approx(reference.statistic)
    assert result.effect_size == pytest.approx(reference.statistic / 239)
    assert len(result.pairwise) == 3 and result.pairwise[0].group1 == 10
    assert result.pairwise[0].pvalue_adjusted < 0.05  # unit 10 answers higher than unit 20
    json.dumps(result.to_dict())


def test_compare_periods_runs_both_tests_and_is_json_ready() -> None:
    now = np.r_[[5.0] * 70, [2.0] * 30]
    last_year = np.r_[[5.0] * 50, [2.0] * 50, [np.nan] * 5]
    result = compare_periods(now, last_year, 4, label="same_period_last_year")
    assert result.proportions.n2 == 100 and result.proportions.risk_difference == pytest.approx(0.2)
    assert result.proportions.pvalue is not None and result.proportions.pvalue < 0.01
    assert result.scores.pvalue is not None and result.scores.pvalue < 0.01
    assert json.loads(json.dumps(result.to_dict()))["label"] == "same_period_last_year"


def test_mann_kendall_skips_suppressed_months_and_needs_enough_periods() -> None:
    flat = mann_kendall([0.8, 0.8, 0.8, 0.8, 0.8])
    assert flat.s == 0 and flat.pvalue == 1.0
    short = mann_kendall([0.7, np.nan, 0.8, np.nan, 0.9])
    assert short.suppressed and short.suppression_reason == "periods=3 < 4" and short.slope_ci() is None
    rising = mann_kendall(np.linspace(0.6, 0.9, 12) + np.tile([0.01, -0.01], 6))
    assert rising.pvalue is not None and rising.pvalue < 0.001 and rising.tau is not None and rising.tau > 0.8
    json.dumps(rising.to_dict())


def test_funnel_limits_follow_spiegelhalter_interpolated_binomial() -> None:
    target, n = 0.8, 150
    result = funnel_limits([120], [n], target=target, min_units=1)  # one unit on target: no over-dispersion
    point = result.points[0]
    # Spiegelhalter (2005), appendix A.1.1: r_p = binom.ppf, alpha interpolates between r_p − 1 and r_p.
    r = stats.binom.ppf(0.975, n, target)
    alpha = (stats.binom.cdf(r, n, target) - 0.975) / (stats.binom.pmf(r, n, target))
    assert point.upper_95 == pytest.approx((r - alpha) / n)
    # For large n the exact limits approach the normal approximation target ± z·sqrt(θ(1−θ)/n).
    big = funnel_limits([8000], [10_000], target=target, min_units=1).points[0]
    assert big.upper_998 == pytest.approx(target + 3.090232 * math.sqrt(0.16 / 10_000), abs=2e-4)
    assert big.lower_95 == pytest.approx(target - 1.959964 * math.sqrt(0.16 / 10_000), abs=2e-4)


def test_funnel_classifies_units_and_pools_the_target_of_the_shown_units() -> None:
    # The unit of 12 answers is suppressed and leaves the pooled target alone: θ = 600/750, not 610/762.
    result = funnel_limits([95, 80, 400, 25, 10], [100, 100, 500, 50, 12], min_units=4, overdispersion=False)
    assert result.target == pytest.approx(600 / 750) and result.target_source == "pooled"
    positions = [p.position for p in result.points]
    assert positions == ["above_998", "within", "within", "below_998", "suppressed"]
    assert result.points[4].suppression_reason == "n=12 < 30"
    assert [p.unit for p in result.outside()] == [0, 3]
    json.dumps(result.to_dict())


def test_small_units_can_be_shown_with_an_explicit_rule() -> None:
    result = funnel_limits([10], [12], target=0.8, rule=SmallSampleRule(min_n=10), min_units=1)
    assert result.points[0].position == "within"
