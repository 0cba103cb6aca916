"""Inference in ``scoring``: the inference minimum, Fisher's exact test for small expected counts, the
Cochran–Armitage trend test, Benjamini–Hochberg q-values and the CES interval within its scale.

Each published example cites its source and the values it prints."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from scoring import (
    SmallSampleRule,
    bh_q_values,
    ces_score,
    cochran_armitage,
    cochran_armitage_groups,
    compare_periods,
    kruskal_wallis,
    mann_whitney,
    satisfied_share,
    t_interval,
    two_proportion_test,
)
from scoring.grouped import fisher_exact_pvalues, kruskal_wallis_counts, mann_whitney_counts, two_proportion_tests

EVERY_SAMPLE = SmallSampleRule(min_n=1, min_n_comments=1, min_n_inference=1)

# --- 1. the inference minimum -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "test_min_n"),
    [
        (SmallSampleRule(), 30),  # the defaults: nothing changes, a test needs what a measure needs
        (SmallSampleRule(min_n=1), 10),  # every share shown, no test below 10
        (SmallSampleRule(min_n=5, min_n_inference=20), 20),
        (SmallSampleRule(min_n=50, min_n_inference=10), 50),  # never a test on a group that is not shown
        (SmallSampleRule(min_n=1, min_n_inference=1), 1),
    ],
)
def test_a_test_needs_the_larger_of_the_two_minimums(rule: SmallSampleRule, test_min_n: int) -> None:
    assert rule.test_min_n == test_min_n
    assert rule.test_reason(test_min_n) is None
    if test_min_n > 1:
        assert rule.test_reason(test_min_n - 1, label="n2") == f"n2={test_min_n - 1} < {test_min_n}"


@pytest.mark.parametrize("value", [0, -1, 2.5, True, "10"])
def test_the_inference_minimum_is_validated_like_the_others(value: object) -> None:
    with pytest.raises(ValueError, match="min_n_inference must be a whole number of at least 1"):
        SmallSampleRule(min_n_inference=value)  # type: ignore[arg-type]


def test_a_share_of_one_answer_may_be_shown_but_is_never_tested() -> None:
    rule = SmallSampleRule(min_n=1)
    share = satisfied_share([5.0], 4, rule)
    assert not share.suppressed and share.statistic == 1.0
    result = two_proportion_test(1, 1, 4, 31, rule)
    assert result.suppressed and result.pvalue is None and result.suppression_reason == "n1=1 < 10"
    grouped = two_proportion_tests([1], [1], [4], [31], rule)
    assert grouped.suppressed.tolist() == [True] and grouped.result(0) == result
    ranks = mann_whitney([5.0], [4.0, 3.0] * 20, rule)
    assert ranks.suppressed and ranks.suppression_reason == "n1=1 < 10"
    counted = mann_whitney_counts([[0, 0, 1]], [[0, 20, 20]], rule)
    assert counted.result(0) == mann_whitney([3.0], [2.0, 3.0] * 20, rule)
    periods = compare_periods([5.0] * 5, [4.0, 2.0] * 20, threshold=4, rule=rule)
    assert periods.proportions.suppression_reason == "n1=5 < 10" and periods.scores.suppressed


def test_kruskal_wallis_leaves_out_groups_below_the_inference_minimum() -> None:
    rule = SmallSampleRule(min_n=5)  # every group shown, the group of 6 not tested
    values = np.r_[[5.0, 4.0] * 10, [3.0, 2.0] * 10, [5.0] * 6]
    groups = np.repeat([0, 1, 2], [20, 20, 6])
    result = kruskal_wallis(values, groups, rule)
    assert result.groups == (0, 1) and result.excluded == ((2, "n=6 < 10"),)
    counted = kruskal_wallis_counts([[0, 0, 10, 10], [10, 10, 0, 0], [0, 0, 0, 6]], [0, 1, 2], rule)
    assert counted.groups == (0, 1) and counted.excluded == ((2, "n=6 < 10"),)
    alone = kruskal_wallis(values[20:], groups[20:], rule)
    assert alone.suppressed and alone.suppression_reason == "1 group(s) with n >= 10; at least 2 needed"


# --- 2. Fisher's exact test when an expected count is below 5 -------------------------------------------


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2", "printed", "places"),
    [
        # Fisher RA (1935), The Design of Experiments, §2 (the lady tasting tea), as Agresti A (2002),
        # Categorical Data Analysis, 2nd ed., Table 3.8: [[3, 1], [1, 3]], two-sided P = 0.486 (= 0.4857)
        (3, 4, 1, 4, 0.4857, 4),
        # scipy.stats.fisher_exact documentation example (whales and sharks, [[8, 2], [1, 5]]):
        # pvalue 0.034965034965034975
        (8, 10, 1, 6, 0.034965034965034975, 15),
        # the issue's case: 1/1 satisfied against 4/31; the z test would say p = 0.018
        (1, 1, 4, 31, 0.15625, 12),
    ],
)
def test_fisher_exact_p_value_when_an_expected_count_is_below_five(
    k1: int, n1: int, k2: int, n2: int, printed: float, places: int
) -> None:
    result = two_proportion_test(k1, n1, k2, n2, EVERY_SAMPLE)
    assert result.method == "fisher_exact" and result.to_dict()["method"] == "fisher_exact"
    assert result.pvalue == pytest.approx(printed, abs=0.5 * 10**-places)
    grouped = two_proportion_tests([k1], [n1], [k2], [n2], EVERY_SAMPLE)
    assert grouped.fisher.tolist() == [True]
    vectorised = grouped.result(0)
    assert vectorised.method == result.method and vectorised.pvalue == result.pvalue
    assert vectorised.effect_size == pytest.approx(result.effect_size, rel=1e-12)


def test_the_issues_one_of_one_keeps_its_z_statistic_but_not_its_z_p_value() -> None:
    result = two_proportion_test(1, 1, 4, 31, EVERY_SAMPLE)
    z_p = 2.0 * stats.norm.sf(abs(result.statistic or 0.0))
    assert round(z_p, 3) == 0.018 and result.pvalue == stats.fisher_exact([[1, 0], [4, 27]]).pvalue
    assert result.statistic == pytest.approx(2.3610, abs=5e-5) and result.risk_difference == pytest.approx(27 / 31)


def test_fisher_exact_p_values_match_the_printed_convictions_of_twins() -> None:
    # R's ?fisher.test example (Fisher 1962: convictions of like-sex twins of criminals, dizygotic 2 of 17,
    # monozygotic 10 of 13): fisher.test(Convictions, conf.int = FALSE) prints p-value = 0.0005367. Its
    # smallest expected count is 12·13/30 = 5.2, so two_proportion_test keeps the z test there.
    assert fisher_exact_pvalues([2], [15], [10], [3])[0] == pytest.approx(0.0005367, abs=5e-8)
    result = two_proportion_test(2, 17, 10, 13, EVERY_SAMPLE)
    assert result.method == "z"
    chi2 = stats.chi2_contingency([[2, 15], [10, 3]], correction=False)
    assert result.pvalue == pytest.approx(chi2.pvalue, rel=1e-12)


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2", "method"),
    [
        (25, 30, 600, 1000, "z"),  # smallest expected count 30·425/1030 = 12.4
        (29, 30, 950, 1000, "fisher_exact"),  # 30·51/1030 = 1.49
        (5, 10, 5, 10, "z"),  # exactly 5 is not below 5
        (30, 30, 1000, 1000, "fisher_exact"),  # everyone satisfied: an expected count of 0, p = 1
    ],
)
def test_the_method_follows_the_smallest_expected_count(k1: int, n1: int, k2: int, n2: int, method: str) -> None:
    result = two_proportion_test(k1, n1, k2, n2, EVERY_SAMPLE)
    assert result.method == method
    if k1 + k2 in (0, n1 + n2):
        assert result.statistic == 0.0 and result.pvalue == 1.0


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), small=st.integers(1, 12), large=st.integers(1, 400))
def test_vectorised_fisher_equals_scipy_on_random_tables(seed: int, small: int, large: int) -> None:
    rng = np.random.default_rng(seed)
    size = 40
    table = np.column_stack([rng.integers(0, small + 1, size), rng.integers(0, large + 1, size),
                             rng.integers(0, small + 1, size), rng.integers(0, large + 1, size)])
    same = rng.random(size) < 0.2
    table[same, 2:] = table[same, :2]  # both rows alike: the observed table is at the mode
    got = fisher_exact_pvalues(*table.T)
    want = [stats.fisher_exact(row.reshape(2, 2), alternative="two-sided").pvalue for row in table]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


# --- 3. Cochran–Armitage test for trend in proportions -------------------------------------------------


def test_cochran_armitage_matches_rs_prop_trend_test_example() -> None:
    # R's ?prop.trend.test: smokers c(83, 90, 129, 70) of patients c(86, 93, 136, 82) print
    # "X-squared = 8.2249, df = 1, p-value = 0.004132" (scores 1..4; a shift of the scores changes nothing)
    result = cochran_armitage([83, 90, 129, 70], [86, 93, 136, 82])
    assert (result.statistic or 0.0) ** 2 == pytest.approx(8.2249, abs=0.5e-4)
    assert result.pvalue == pytest.approx(0.004132, abs=0.5e-6)
    assert (result.statistic or 0.0) < 0 and (result.effect_size or 0.0) < 0  # the share falls
    assert result.n_periods == 4 and result.n_total == 397 and result.scores == (0.0, 1.0, 2.0, 3.0)
    shifted = cochran_armitage([83, 90, 129, 70], [86, 93, 136, 82], scores=[1, 2, 3, 4])
    assert shifted.statistic == pytest.approx(result.statistic, rel=1e-12)


@pytest.mark.parametrize(
    ("k", "n", "scores", "statistic", "places"),
    [
        # SAS/STAT User's Guide, PROC FREQ, "Cochran-Armitage Trend Test" example (the Pain data: adverse
        # responses 6, 7, 9, 14, 23 of 32, 33, 32, 32, 32 at doses 0..4): Statistic (Z) 4.7918
        ([6, 7, 9, 14, 23], [32, 33, 32, 32, 32], None, 4.7918, 4),
        # Fagerland MW, Lydersen S, Laake P (2017), Statistical Analysis of Contingency Tables, ch. 5
        # (Indredavik et al. 2008, elevated troponin T by Rankin score 1..5; R package contingencytables,
        # tests/testthat/test-ch5.R): the Mantel-Haenszel test T = -1.790 is sqrt(N/(N-1)) times z (N = 489)
        ([8, 10, 11, 22, 6], [61, 58, 111, 124, 135], [1, 2, 3, 4, 5], -1.790 / np.sqrt(489 / 488), 3),
    ],
)
def test_cochran_armitage_matches_printed_z(
    k: list[int], n: list[int], scores: list[float] | None, statistic: float, places: int
) -> None:
    result = cochran_armitage(k, n, scores)
    assert result.statistic == pytest.approx(statistic, abs=0.5 * 10**-places)


def test_cochran_armitage_slope_matches_fagerland_2017_betahat() -> None:
    # Fagerland, Lydersen & Laake (2017), ch. 5, the same troponin data: CochranArmitage_CI_rx2 prints
    # "betahat = -0.0194 (95% CI -0.0395 to 0.0007)", the least-squares slope of the proportion on the score
    result = cochran_armitage([8, 10, 11, 22, 6], [61, 58, 111, 124, 135], [1, 2, 3, 4, 5])
    assert result.effect_size == pytest.approx(-0.0194, abs=0.5e-4)
    assert result.effect_size_name == "slope_per_period"
    fitted = np.polyfit([1, 2, 3, 4, 5], np.divide([8, 10, 11, 22, 6], [61, 58, 111, 124, 135]), 1,
                        w=np.sqrt([61, 58, 111, 124, 135]))
    assert result.effect_size == pytest.approx(fitted[0], rel=1e-9)


def test_cochran_armitage_matches_agresti_2002_alcohol_and_malformation() -> None:
    # Agresti A (2002), Categorical Data Analysis, 2nd ed., §3.4.5-3.4.6, Table 3.7 (Graubard & Korn 1987):
    # malformation present 48, 38, 5, 1, 1 of 17,114, 14,502, 793, 127, 38 by alcohol scores 0, 0.5, 1.5, 4, 7;
    # M² = (n − 1) r² = 6.57 (P = 0.01), and z² = n/(n − 1) · M²
    k, n = [48, 38, 5, 1, 1], [17114, 14502, 793, 127, 38]
    result = cochran_armitage(k, n, [0.0, 0.5, 1.5, 4.0, 7.0])
    total = sum(n)
    assert (result.statistic or 0.0) ** 2 * (total - 1) / total == pytest.approx(6.57, abs=0.005)
    assert round(result.pvalue or 1.0, 2) == 0.01


def test_cochran_armitage_leaves_out_periods_without_answers() -> None:
    result = cochran_armitage([40, 0, 42, 45], [60, 0, 60, 60])
    assert result.k == (40, 42, 45) and result.n == (60, 60, 60) and result.scores == (0.0, 2.0, 3.0)
    assert result.to_dict()["n_periods"] == 3
    short = cochran_armitage([40, 0, 42, 0], [60, 0, 60, 0])
    assert short.suppressed and short.statistic is None and short.suppression_reason == "periods=2 < 3"
    assert short.to_dict()["pvalue"] is None
    flat = cochran_armitage([60, 60, 60], [60, 60, 60])
    assert (flat.statistic, flat.pvalue, flat.effect_size) == (0.0, 1.0, 0.0)


@pytest.mark.parametrize(
    ("k", "n", "scores", "message"),
    [
        ([5, 6], [4, 6], None, "0 <= k <= n"),
        ([1, 2, 3], [5, 5], None, "one k per n"),
        ([1.5, 2, 3], [5, 5, 5], None, "whole-number"),
        ([1, 2, 3], [5, 5, 5], [1, 1, 1], "scores must differ"),
        ([1, 2, 3], [5, 5, 5], [1, 2], "one finite number per period"),
    ],
)
def test_cochran_armitage_refuses_bad_input(
    k: list[float], n: list[int], scores: list[float] | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        cochran_armitage(k, n, scores)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), months=st.integers(1, 13))
def test_cochran_armitage_per_row_equals_the_scalar_test(seed: int, months: int) -> None:
    rng = np.random.default_rng(seed)
    n = rng.integers(0, 60, (25, months))
    n[rng.random((25, months)) < 0.25] = 0  # months without answers
    share = rng.uniform(0.5, 1.0, (25, 1)) + rng.normal(0, 0.02, (25, 1)) * np.arange(months)
    k = rng.binomial(n, np.clip(share, 0.0, 1.0))
    k[:2] = n[:2]  # everyone satisfied
    tests = cochran_armitage_groups(k, n)
    for g in range(25):
        expected = cochran_armitage(k[g], n[g])
        got = tests.result(g)
        assert (got.k, got.n, got.scores, got.n_periods, got.n_total, got.suppressed, got.suppression_reason) == (
            expected.k, expected.n, expected.scores, expected.n_periods, expected.n_total, expected.suppressed,
            expected.suppression_reason)
        for name in ("statistic", "pvalue", "effect_size"):
            if expected.suppressed:
                assert getattr(got, name) is None and getattr(expected, name) is None, name
            else:
                assert getattr(got, name) == pytest.approx(getattr(expected, name), rel=1e-9, abs=1e-12), name


# --- 4. Benjamini–Hochberg q-values -----------------------------------------------------------------------

# Benjamini Y, Hochberg Y (1995), JRSS B 57:289–300, §4: the 15 p-values of Neuhaus et al. (1992)
BH_1995 = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262, 0.5719,
           0.6528, 0.7590, 1.000]
# what R's p.adjust(p, method = "BH") prints for them (min over j >= i of 15 p_(j) / j)
BH_1995_Q = [0.0015, 0.0030, 0.0095, 0.035625, 0.0603, 0.06385714, 0.06385714, 0.0645, 0.0765, 0.486,
             0.5811818, 0.714875, 0.7532308, 0.8132143, 1.0]


def test_bh_q_values_of_the_benjamini_hochberg_1995_example() -> None:
    q = bh_q_values(BH_1995)
    np.testing.assert_allclose(q, BH_1995_Q, rtol=0, atol=0.5e-7)
    # at q* = 0.05 the procedure rejects the four smallest; Bonferroni (0.05/15) only the three smallest
    assert int(np.count_nonzero(q <= 0.05)) == 4
    assert int(np.count_nonzero(np.asarray(BH_1995) <= 0.05 / 15)) == 3


def test_bh_q_values_keep_the_input_order_and_skip_tests_that_did_not_run() -> None:
    order = np.random.default_rng(5).permutation(15)
    shuffled = np.asarray(BH_1995)[order]
    np.testing.assert_allclose(bh_q_values(shuffled), np.asarray(BH_1995_Q)[order], atol=0.5e-7)
    with_gaps = np.insert(shuffled, [0, 7, 15], np.nan)  # three suppressed tests: still a family of 15
    q = bh_q_values(with_gaps)
    assert np.isnan(q[[0, 8, 17]]).all()
    np.testing.assert_allclose(q[~np.isnan(with_gaps)], np.asarray(BH_1995_Q)[order], atol=0.5e-7)


@pytest.mark.parametrize(
    ("pvalues", "expected"),
    [
        # stdlib.io's padjust documentation: padjust([0.008, 0.03, 0.123, 0.6, 0.2], 'bh')
        # returns [0.04, 0.075, ~0.205, 0.6, 0.25]
        ([0.008, 0.03, 0.123, 0.6, 0.2], [0.04, 0.075, 0.205, 0.6, 0.25]),
        ([], []),
        ([float("nan"), float("nan")], [float("nan"), float("nan")]),
        ([0.03], [0.03]),
    ],
)
def test_bh_q_values_small_families(pvalues: list[float], expected: list[float]) -> None:
    np.testing.assert_allclose(bh_q_values(pvalues), expected, rtol=1e-12)


def test_bh_q_values_equal_scipys_false_discovery_control() -> None:
    p = np.random.default_rng(11).uniform(0, 1, 200) ** 3
    np.testing.assert_array_equal(bh_q_values(p), stats.false_discovery_control(p, method="bh"))


# --- 5. the CES interval within its scale -------------------------------------------------------------------


def test_a_ces_interval_never_leaves_its_scale() -> None:
    unbounded = ces_score([1, 7], EVERY_SAMPLE).ci()
    assert unbounded is not None and (round(unbounded.low, 1), round(unbounded.high, 1)) == (-34.1, 42.1)
    bounded = ces_score([1, 7], EVERY_SAMPLE, scale=(1, 7))
    interval = bounded.ci()
    assert interval is not None and (interval.low, interval.high) == (1.0, 7.0)
    assert bounded.to_dict()["scale"] == [1, 7] and bounded.to_dict()["ci"]["low"] == 1.0


def test_a_ces_interval_inside_its_scale_is_the_plain_t_interval() -> None:
    values = [3, 4, 4, 5, 3, 4] * 6
    plain, bounded = ces_score(values).ci(), ces_score(values, scale=(1, 7)).ci()
    assert plain is not None and bounded is not None and (bounded.low, bounded.high) == (plain.low, plain.high)
    mean, sd = float(np.mean(values)), float(np.std(values, ddof=1))
    assert (bounded.low, bounded.high) == pytest.approx(stats.t.interval(0.95, 35, mean, sd / 6), rel=1e-12)


@pytest.mark.parametrize(
    ("mean", "sd", "n", "bounds", "expected"),
    [
        (6.8, 1.0, 10, (1.0, 7.0), (6.8 - 0.715356, 7.0)),  # only the upper limit reaches past the scale
        (1.1, 0.5, 5, (1.0, 5.0), (1.0, 1.1 + 0.620832)),
        (4.0, 0.5, 30, None, (4.0 - 0.186703, 4.0 + 0.186703)),
    ],
)
def test_t_interval_truncates_to_its_bounds(
    mean: float, sd: float, n: int, bounds: tuple[float, float] | None, expected: tuple[float, float]
) -> None:
    assert t_interval(mean, sd, n, bounds=bounds) == pytest.approx(expected, abs=1e-6)


def test_scales_and_bounds_are_validated() -> None:
    with pytest.raises(ValueError, match="low < high"):
        t_interval(4.0, 1.0, 10, bounds=(7.0, 1.0))
    with pytest.raises(ValueError, match="outside the scale 1..5"):
        ces_score([1, 6], scale=(1, 5))
    suppressed = ces_score([2, 3], scale=(1, 5))
    assert suppressed.suppressed and suppressed.ci() is None and suppressed.scale == (1, 5)
