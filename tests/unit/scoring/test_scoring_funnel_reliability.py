"""Funnel plots with over-dispersion (Spiegelhalter 2005a, b) and the reliability of two-item scales
(Pearson r and Spearman–Brown, Eisinga, Te Grotenhuis & Pelzer 2013).

Each expected value is worked out here from the published formulas, written out step by step, rather
than taken from the code under test.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from scoring import SmallSampleRule, cronbach_alpha, funnel_limits, spearman_brown
from scoring.grouped import spearman_brown_moments
from scoring.patterns import answer_codes, answer_patterns

# --- funnel plots -----------------------------------------------------------------------------------------

# Ten units of a satisfaction criterion, shares 0.95 … 0.77, all with n ≥ 30 (shown).
TEN_K = [38, 36, 68, 70, 108, 102, 164, 185, 240, 308]
TEN_N = [40, 60, 80, 100, 120, 150, 200, 250, 300, 400]
Z95, Z998 = 1.959964, 3.090232  # two-sided 95% and 99.8% standard normal points


def _percentile(values: list[float], p: float) -> float:
    """The p-th quantile with linear interpolation between order statistics (R's type 7, FunnelPlotR's)."""
    ordered = sorted(values)
    h = (len(ordered) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])


def _spiegelhalter(k: list[int], n: list[int], theta: float, df: int) -> dict[str, object]:
    """Spiegelhalter (2005a, §5; 2005b, 'additive random effects') one step at a time, in plain Python."""
    units = len(k)
    y = [ki / ni for ki, ni in zip(k, n, strict=True)]
    s2 = [theta * (1 - theta) / ni for ni in n]  # within-unit variance under the target
    z = [(yi - theta) / math.sqrt(v) for yi, v in zip(y, s2, strict=True)]
    low, high = _percentile(z, 0.1), _percentile(z, 0.9)  # winsorise at the 10th and 90th percentiles
    zw = [min(max(zi, low), high) for zi in z]
    phi = sum(v * v for v in zw) / units
    pvalue = stats.chi2.sf(units * phi, df)
    w = [1 / v for v in s2]
    tau2 = max(0.0, (units * phi - (units - 1)) / (sum(w) - sum(v * v for v in w) / sum(w)))
    se = [math.sqrt(v + tau2) for v in s2]
    return {
        "phi": phi,
        "pvalue": pvalue,
        "tau2": tau2,
        "lower_95": [max(0.0, theta - Z95 * e) for e in se],
        "upper_95": [min(1.0, theta + Z95 * e) for e in se],
        "lower_998": [max(0.0, theta - Z998 * e) for e in se],
        "upper_998": [min(1.0, theta + Z998 * e) for e in se],
        "z": [(yi - theta) / e for yi, e in zip(y, se, strict=True)],
    }


# The ten units once with the pooled share as target (θ estimated: χ² with I − 1 = 9 df) and once
# against a declared target of 0.8 (nothing estimated: I = 10 df). Printed values rounded from the
# written-out computation above: φ, τ², θ and the χ² p-value.
@pytest.mark.parametrize(
    ("target", "source", "df", "theta", "phi", "tau2"),
    [
        (None, "pooled", 9, 1319 / 1700, 4.1407, 0.0038644),
        (0.8, "declared", 10, 0.8, 5.4447, 0.0049865),
    ],
)
def test_ten_units_follow_spiegelhalters_formulas_written_out(
    target: float | None, source: str, df: int, theta: float, phi: float, tau2: float
) -> None:
    result = funnel_limits(TEN_K, TEN_N, target=target)
    expected = _spiegelhalter(TEN_K, TEN_N, theta, df)
    assert result.target == pytest.approx(theta) and result.target_source == source and result.n_units == 10
    assert result.phi == pytest.approx(expected["phi"], rel=1e-12)
    assert result.phi == pytest.approx(phi, abs=0.5e-4)
    assert result.overdispersion_pvalue == pytest.approx(expected["pvalue"], rel=1e-9)
    # I·φ beyond the 95% point of χ² (16.919 for 9 df, 18.307 for 10 df; any printed χ² table)
    assert 10 * phi > {9: 16.919, 10: 18.307}[df]
    assert result.widened and result.method == "random_effects_normal"
    assert result.tau2 == pytest.approx(expected["tau2"], rel=1e-12)
    assert result.tau2 == pytest.approx(tau2, abs=0.5e-7)
    for name in ("lower_95", "upper_95", "lower_998", "upper_998", "z"):
        got = [getattr(p, name) for p in result.points]
        assert got == pytest.approx(expected[name], rel=1e-6), name  # z_p to 7 digits above
    assert [p.pvalue for p in result.points] == pytest.approx(
        [2 * stats.norm.sf(abs(z)) for z in expected["z"]], rel=1e-9)  # type: ignore[union-attr]
    # the widened limits leave only unit 1 (36/60 = 0.60) outside its 95% limits
    assert [p.position for p in result.points] == ["within", "below_95"] + ["within"] * 8


def test_winsorising_pulls_the_extreme_z_scores_to_the_10th_and_90th_percentiles() -> None:
    raw = funnel_limits(TEN_K, TEN_N, winsorize=0.0)
    trimmed = funnel_limits(TEN_K, TEN_N)
    z = [p.z for p in funnel_limits(TEN_K, TEN_N, overdispersion=False).points]
    assert raw.phi == pytest.approx(sum(v * v for v in z) / 10)  # type: ignore[operator]
    assert trimmed.phi is not None and raw.phi is not None and trimmed.phi < raw.phi


def test_binomial_data_show_no_overdispersion_and_keep_the_exact_binomial_limits() -> None:
    # 200 units whose satisfied counts are binomial around 0.8: z ~ N(0, 1), so the unwinsorised φ is
    # about 1 (sd sqrt(2/I) = 0.1) and the 10%-winsorised one about E[min(max(z, −c), c)²] = 0.679
    # (c = 1.2816); I·φ is far below the 95% point of χ², so the limits stay exact binomial.
    rng = np.random.default_rng(0)
    n = rng.integers(30, 400, 200)
    k = rng.binomial(n, 0.8)
    result = funnel_limits(k, n, target=0.8)
    unwinsorised = funnel_limits(k, n, target=0.8, winsorize=0.0)
    assert unwinsorised.phi == pytest.approx(1.0, abs=0.3)
    c = stats.norm.ppf(0.9)
    assert result.phi == pytest.approx(0.8 - 2 * c * stats.norm.pdf(c) + 0.2 * c * c, abs=0.15)
    assert result.overdispersion_pvalue is not None and result.overdispersion_pvalue > 0.05
    assert not result.widened and result.tau2 == 0.0 and result.method == "exact_binomial_interpolated"
    # Spiegelhalter (2005a, appendix A.1.1): r_p = binom.ppf(p), α = (F(r_p) − p)/(F(r_p) − F(r_p − 1)).
    for p, name in ((0.025, "lower_95"), (0.975, "upper_95"), (0.001, "lower_998"), (0.999, "upper_998")):
        r = stats.binom.ppf(p, n, 0.8)
        alpha = (stats.binom.cdf(r, n, 0.8) - p) / stats.binom.pmf(r, n, 0.8)
        assert [getattr(pt, name) for pt in result.points] == pytest.approx(list((r - alpha) / n), rel=1e-12)
    z = (k / n - 0.8) / np.sqrt(0.16 / n)
    assert [p.z for p in result.points] == pytest.approx(list(z))


def test_overdispersion_can_be_reported_without_widening_the_limits() -> None:
    result = funnel_limits(TEN_K, TEN_N, overdispersion=False)
    assert result.phi == pytest.approx(4.1407, abs=0.5e-4) and result.overdispersion_pvalue < 0.05
    assert not result.widened and result.tau2 == 0.0 and result.method == "exact_binomial_interpolated"
    assert [p.position for p in result.points].count("within") < 10  # the narrow limits flag more units


@pytest.mark.parametrize(
    ("k", "n", "min_units", "reason"),
    [
        ([45, 80, 300, 20], [50, 100, 400, 40], 5, "too few units to compare: 4 < 5"),
        ([45, 80, 300, 20, 5], [50, 100, 400, 40, 12], 5, "too few units to compare: 4 < 5"),  # one too small
        ([45, 80], [50, 100], 3, "too few units to compare: 2 < 3"),
        ([5], [12], 5, "too few units to compare: 0 < 5"),
    ],
)
def test_a_family_of_too_few_units_gets_no_funnel(k: list[int], n: list[int], min_units: int, reason: str) -> None:
    result = funnel_limits(k, n, min_units=min_units)
    assert result.suppressed and result.suppression_reason == reason
    assert result.phi is None and result.tau2 == 0.0 and not result.widened and result.overdispersion_pvalue is None
    for point in result.points:
        assert point.position == "suppressed"
        assert (point.lower_95, point.upper_95, point.lower_998, point.upper_998, point.z, point.pvalue) == (None,) * 6
        assert point.suppression_reason == ("n=12 < 30" if point.n == 12 else reason)
    assert result.outside() == ()
    json.dumps(result.to_dict())


def test_min_units_sets_how_many_units_a_funnel_needs() -> None:
    result = funnel_limits([45, 80, 300, 20], [50, 100, 400, 40], min_units=4)
    assert not result.suppressed and result.n_units == 4
    assert all(p.position != "suppressed" for p in result.points)


def test_a_declared_target_keeps_an_outlying_large_unit_from_moving_theta() -> None:
    # Nine units at 0.8 and one large unit (n = 2000) at 0.4: pooled, the large unit drags θ to 0.526 and
    # every unit sits "within" ever wider limits; against the declared 0.8 the nine are on target and the
    # large unit alone falls below the 99.8% limit.
    k = [80, 40, 120, 64, 96, 48, 160, 72, 56, 800]
    n = [100, 50, 150, 80, 120, 60, 200, 90, 70, 2000]
    pooled = funnel_limits(k, n)
    declared = funnel_limits(k, n, target=0.8)
    assert pooled.target == pytest.approx(1536 / 2920) and pooled.target_source == "pooled"
    assert [p.position for p in pooled.points] == ["within"] * 10
    assert declared.target == 0.8 and declared.target_source == "declared"
    assert [p.position for p in declared.points] == ["within"] * 9 + ["below_998"]
    assert [p.unit for p in declared.outside()] == [9]
    assert declared.tau2 < pooled.tau2  # the outlier no longer inflates the between-unit variance


def test_small_units_are_left_out_of_theta_and_phi() -> None:
    with_small = funnel_limits([*TEN_K, 2], [*TEN_N, 20])
    alone = funnel_limits(TEN_K, TEN_N)
    assert with_small.target == alone.target and with_small.phi == alone.phi and with_small.n_units == 10
    small = with_small.points[10]
    assert small.position == "suppressed" and small.share is None and small.z is None and small.pvalue is None
    assert small.suppression_reason == "n=20 < 30"


def test_the_target_source_can_be_named_and_sets_the_degrees_of_freedom() -> None:
    theta = 1319 / 1700
    as_pooled = funnel_limits(TEN_K, TEN_N, target=theta, target_source="pooled")
    assert as_pooled.target_source == "pooled"
    assert as_pooled.overdispersion_pvalue == pytest.approx(stats.chi2.sf(10 * as_pooled.phi, 9))  # type: ignore[operator]
    as_declared = funnel_limits(TEN_K, TEN_N, target=theta)
    assert as_declared.overdispersion_pvalue == pytest.approx(stats.chi2.sf(10 * as_declared.phi, 10))  # type: ignore[operator]


def test_funnel_result_to_dict_carries_every_field() -> None:
    data = funnel_limits(TEN_K, TEN_N, rule=SmallSampleRule(min_n=30)).to_dict()
    assert set(data) == {"target", "target_source", "method", "n_units", "phi", "tau2", "widened",
                         "overdispersion_pvalue", "suppressed", "suppression_reason", "points"}
    assert set(data["points"][0]) == {"unit", "k", "n", "share", "lower_95", "upper_95", "lower_998", "upper_998",
                                      "position", "suppression_reason", "z", "pvalue"}
    json.dumps(data)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_units": 0}, "min_units must be a whole number of at least 1, got 0"),
        ({"winsorize": 0.5}, "winsorize must lie in [0, 0.5), got 0.5"),
        ({"target_source": "guessed"}, "target_source must be 'declared' or 'pooled', got 'guessed'"),
    ],
)
def test_bad_funnel_options_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as error:
        funnel_limits(TEN_K, TEN_N, **kwargs)  # type: ignore[arg-type]
    assert str(error.value) == message


# --- two-item scales: Pearson r and Spearman-Brown -------------------------------------------------------

NO_MINIMUM = SmallSampleRule(min_n=1, min_n_comments=1)

# Anscombe FJ (1973). Graphs in statistical analysis. The American Statistician 27(1):17-21, Table 1: four
# data sets with the same summary statistics, among them the correlation coefficient, printed as 0.82
# (0.816 to three decimals, as usually reprinted).
ANSCOMBE_X = [10, 8, 13, 9, 11, 14, 6, 4, 12, 7, 5]
ANSCOMBE = [
    (ANSCOMBE_X, [8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68]),
    (ANSCOMBE_X, [9.14, 8.14, 8.74, 8.77, 9.26, 8.10, 6.13, 3.10, 9.13, 7.26, 4.74]),
    (ANSCOMBE_X, [7.46, 6.77, 12.74, 7.11, 7.81, 8.84, 6.08, 5.39, 8.15, 6.42, 5.73]),
    ([8, 8, 8, 8, 8, 8, 8, 19, 8, 8, 8], [6.58, 5.76, 7.71, 8.84, 8.47, 7.04, 5.25, 12.50, 5.56, 7.91, 6.89]),
]


@pytest.mark.parametrize(("x", "y"), ANSCOMBE, ids=["I", "II", "III", "IV"])
def test_pearson_r_matches_anscombes_printed_correlation(x: list[float], y: list[float]) -> None:
    result = spearman_brown(np.c_[x, y], NO_MINIMUM)
    assert result.n == 11 and result.r == pytest.approx(0.82, abs=0.5e-2)  # Anscombe's printed precision
    assert result.r == pytest.approx(0.816, abs=1e-3)  # the reprinted 0.816 (set IV: 0.8165)
    assert result.coefficient == pytest.approx(2 * result.r / (1 + result.r))  # type: ignore[operator]


# Spearman-Brown for two items, 2r/(1 + r): the values the step-up formula gives (Eisinga, Te Grotenhuis &
# Pelzer 2013, eq. 4). Each r is made exact by answers (1, 1), (2, a), (3, b) repeated ten times.
@pytest.mark.parametrize(
    ("pairs", "r", "coefficient"),
    [
        ([(1, 1), (2, 3), (3, 2)], 0.5, 0.6667),
        ([(1, 1), (2, 2), (3, 3)], 1.0, 1.0),
        ([(1, 2), (2, 1), (3, 2)], 0.0, 0.0),
        ([(1, 3), (2, 1), (3, 2)], -0.5, -2.0),
    ],
)
def test_spearman_brown_steps_r_up_to_a_two_item_scale(pairs: list[tuple[int, int]], r: float,
                                                        coefficient: float) -> None:
    result = spearman_brown(pairs * 10)
    assert result.n == 30 and result.n_items == 2 and not result.suppressed
    assert result.r == pytest.approx(r, abs=1e-12)
    assert result.coefficient == pytest.approx(coefficient, abs=0.5e-4) and result.statistic == result.coefficient


def test_spearman_brown_is_alpha_of_standardised_items_and_never_below_alpha() -> None:
    # Eisinga, Te Grotenhuis & Pelzer (2013): for two items Spearman-Brown equals coefficient alpha of
    # the standardised items and is at least the raw alpha, equal only when the items' variances are equal
    # (parallel measures); so alpha understates a two-item scale whose items spread differently.
    rng = np.random.default_rng(7)
    true = rng.normal(size=400)
    items = np.c_[true + rng.normal(scale=0.8, size=400), 3 * true + rng.normal(scale=1.5, size=400)]
    result = spearman_brown(items)
    standardised = (items - items.mean(axis=0)) / items.std(axis=0, ddof=1)
    assert result.coefficient == pytest.approx(cronbach_alpha(standardised).alpha, rel=1e-12)
    raw = cronbach_alpha(items).alpha
    assert raw is not None and result.coefficient is not None and raw < result.coefficient - 0.05
    equal_spread = np.c_[items[:, 0], items[:, 0][::-1]]  # same values, so the same variance
    assert spearman_brown(equal_spread).coefficient == pytest.approx(cronbach_alpha(equal_spread).alpha, rel=1e-12)


@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_spearman_brown_interval_is_fishers_interval_of_r_stepped_up(level: float) -> None:
    # Fisher's z: atanh(r) ± z_{1−γ/2}/sqrt(n − 3), back with tanh; the same as scipy's
    # PearsonRResult.confidence_interval; the step-up 2r/(1 + r) rises with r, so it maps the ends.
    x, y = ANSCOMBE[0]
    result = spearman_brown(np.c_[x, y], NO_MINIMUM)
    ci = result.ci(level)
    r = stats.pearsonr(x, y)
    fisher = r.confidence_interval(confidence_level=level)
    half = stats.norm.ppf(0.5 + level / 2) / math.sqrt(11 - 3)
    by_hand = (math.tanh(math.atanh(r.statistic) - half), math.tanh(math.atanh(r.statistic) + half))
    assert (fisher.low, fisher.high) == pytest.approx(by_hand, rel=1e-12)
    assert ci is not None and ci.confidence_level == level
    assert (ci.low, ci.high) == pytest.approx([2 * v / (1 + v) for v in by_hand], rel=1e-12)
    assert ci.low < result.coefficient < ci.high  # type: ignore[operator]


def test_spearman_brown_suppression_and_undefined_r() -> None:
    small = spearman_brown([[4, 5], [3, 3], [5, 4]] * 4)
    assert small.suppressed and small.suppression_reason == "n=12 < 30" and small.r is None and small.ci() is None
    missing = spearman_brown([[4, 5], [3, float("nan")], [5, 4], [2, 3]] * 10)
    assert missing.n == 30 and not missing.suppressed  # only respondents who answered both items count
    flat = spearman_brown([[4, 5], [4, 3], [4, 4]] * 10)  # nobody varies on the first item
    assert not flat.suppressed and flat.r is None and flat.coefficient is None and flat.ci() is None
    two = spearman_brown([[1, 2], [2, 1]], NO_MINIMUM)
    assert two.suppressed and two.suppression_reason == "n=2 < 3"
    assert set(small.to_dict()) == {"r", "coefficient", "n", "n_items", "ci", "suppressed", "suppression_reason"}
    json.dumps(spearman_brown(np.c_[ANSCOMBE[0][0], ANSCOMBE[0][1]], NO_MINIMUM).to_dict())
    with pytest.raises(ValueError, match="exactly 2 items"):
        spearman_brown(np.ones((40, 3)))


def test_pattern_counts_refuse_spearman_brown_for_other_than_two_items() -> None:
    codes = [answer_codes(np.array([1.0, 2.0, 3.0]), 1, 5) for _ in range(3)]
    counted = answer_patterns(codes, 1, 5).count(np.zeros(3, dtype=np.intp), 1)
    with pytest.raises(ValueError) as error:
        counted.spearman_brown()
    assert str(error.value) == "spearman_brown needs a criterion of exactly 2 items, got 3"


def _likert_pairs(rng: np.random.Generator, n: int) -> np.ndarray:
    x = np.clip(np.rint(rng.normal(3.6, 1.1, (n, 1)) + rng.normal(0, rng.uniform(0.2, 1.5), (n, 2))), 1, 5)
    x[rng.random((n, 2)) < 0.1] = np.nan
    return x


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_spearman_brown_per_group_equals_the_scalar(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, groups, rule = int(rng.integers(0, 300)), 8, SmallSampleRule(min_n=5)
    items = _likert_pairs(rng, n)
    code = rng.integers(0, groups, n)
    sentinel = np.where(rng.random(n) < 0.1, groups, code)  # rows outside every group are left out
    patterns = answer_patterns([answer_codes(items[:, j], 1, 5) for j in range(2)], 1, 5)
    counted = patterns.count(sentinel.astype(np.intp), groups).spearman_brown(rule)
    complete = ~np.isnan(items).any(axis=1)
    g, x, y = code[complete], items[complete, 0], items[complete, 1]
    sums = [np.bincount(g, weights=v, minlength=groups) for v in (x, y, x * x, y * y, x * y)]
    direct = spearman_brown_moments(np.bincount(g, minlength=groups), *sums, rule=rule)
    for grouped, members in ((direct, code), (counted, sentinel)):
        low, high = grouped.ci(0.9)
        for i in range(groups):
            expected = spearman_brown(items[members == i], rule)
            got = grouped.result(i)
            assert (got.n, got.suppressed, got.suppression_reason) == (expected.n, expected.suppressed,
                                                                       expected.suppression_reason)
            for name in ("r", "coefficient"):
                want = getattr(expected, name)
                assert getattr(got, name) == (None if want is None else pytest.approx(want, rel=1e-9, abs=1e-12))
            ci = expected.ci(0.9)
            if ci is None:
                assert np.isnan(low[i]) and np.isnan(high[i])
            else:
                assert (low[i], high[i]) == pytest.approx((ci.low, ci.high), rel=1e-9, abs=1e-12)
