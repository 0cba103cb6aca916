"""Every statistic checked against a published worked example, with the source and its printed values.

Tolerances follow the printed precision: a value printed to 4 decimals is compared to ±0.5e-4.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from scoring import (
    SmallSampleRule,
    cronbach_alpha,
    kruskal_wallis,
    mann_kendall,
    mann_whitney,
    nps_interval,
    nps_score,
    wilson_interval,
)
from scoring.grouped import cronbach_alpha_groups

NO_MINIMUM = SmallSampleRule(min_n=1, min_n_comments=1, min_n_inference=1)  # printed examples are small


# Newcombe RG (1998). Two-sided confidence intervals for the single proportion: comparison of seven
# methods. Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score interval, no continuity
# correction), 95% intervals printed to 4 decimals.
@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombe_1998_table_1(k: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(k, n, 0.95)
    assert lo == pytest.approx(low, abs=0.5e-4)
    assert hi == pytest.approx(high, abs=0.5e-4)


def test_wilson_interval_vectorised_matches_newcombe_1998_table_1() -> None:
    lows, highs = wilson_interval(np.array([81, 15, 0, 1]), np.array([263, 148, 20, 29]))
    np.testing.assert_allclose(lows, [0.2553, 0.0624, 0.0000, 0.0061], atol=0.5e-4)
    np.testing.assert_allclose(highs, [0.3662, 0.1605, 0.1611, 0.1718], atol=0.5e-4)


def test_kruskal_wallis_matches_hollander_wolfe_mucociliary_example() -> None:
    # Hollander M, Wolfe DA (1973). Nonparametric Statistical Methods, p. 116 (Table 6.1 in the 1999
    # edition): half-time of mucociliary clearance in normal subjects, obstructive airway disease and
    # asbestosis. Printed result (as reproduced in R's ?kruskal.test example output):
    # Kruskal-Wallis chi-squared = 0.77143, df = 2, p-value = 0.68.
    normal = [2.9, 3.0, 2.5, 2.6, 3.2]
    obstructive = [3.8, 2.7, 4.0, 2.4]
    asbestosis = [2.8, 3.4, 3.7, 2.2, 2.0]
    values = np.r_[normal, obstructive, asbestosis]
    groups = np.repeat([0, 1, 2], [5, 4, 5])
    result = kruskal_wallis(values, groups, NO_MINIMUM)
    assert result.statistic == pytest.approx(0.77143, abs=0.5e-5)
    assert result.df == 2
    assert result.pvalue == pytest.approx(0.68, abs=0.005)
    assert result.ns == (5, 4, 5)
    assert result.effect_size == pytest.approx(0.77143 / 13, abs=1e-5)
    # Dunn's mean ranks follow from the ranks of the 14 pooled values (no ties): 36/5, 36/4, 33/5.
    pair = next(p for p in result.pairwise if (p.group1, p.group2) == (0, 1))
    assert (pair.mean_rank1, pair.mean_rank2) == pytest.approx((7.2, 9.0))


def test_mann_whitney_matches_shier_2004_diabetes_example() -> None:
    # Shier R (2004). Statistics: 2.3 The Mann-Whitney U test. Mathematics Learning Support Centre.
    # Ages at diagnosis of type II diabetes: printed U_M = 17, U_F = 3, normal approximation
    # (no continuity correction) p = 0.09.
    males = [19, 22, 16, 29, 24]
    females = [20, 11, 17, 12]
    result = mann_whitney(males, females, NO_MINIMUM, continuity=False)
    assert result.statistic == 17
    assert result.n1 * result.n2 - result.statistic == 3
    assert result.pvalue == pytest.approx(0.09, abs=0.005)
    assert result.effect_size == pytest.approx(1 - 2 * 3 / 20)  # rank-biserial from the smaller U


def test_mann_whitney_statistic_matches_hollander_wolfe_1973_p69() -> None:
    # Hollander & Wolfe (1973), p. 69: permeability constants of the human chorioamnion at term (x)
    # and between 12 and 26 weeks gestational age (y). Printed (R ?wilcox.test): W = 35 (U of x).
    x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
    y = [1.15, 0.88, 0.90, 0.74, 1.21]
    result = mann_whitney(x, y, NO_MINIMUM)
    assert result.statistic == 35
    assert result.common_language == pytest.approx(35 / 50)


# USEPA (2009). Statistical Analysis of Groundwater Monitoring Data at RCRA Facilities, Unified
# Guidance, EPA 530/R-09-007, Example 17-7 (pp. 17-36 to 17-38): sodium (ppm) by sampling year.
# Printed (as reproduced by EnvStats' kendallTrendTest): tau = 0.5555556, z = 2.146625,
# p = 0.03182313 (two-sided, continuity corrected), Theil-Sen slope = 1.3333333 ppm/year,
# 95% upper confidence limit of the slope 2.3333333.
EPA_YEAR = [89.6, 90.1, 90.8, 91.1, 92.1, 93.1, 94.1, 95.6, 96.1, 96.3]
EPA_SODIUM = [56, 53, 51, 55, 52, 60, 62, 59, 61, 63]


def test_mann_kendall_matches_usepa_2009_example_17_7() -> None:
    result = mann_kendall(EPA_SODIUM, EPA_YEAR)
    assert result.n == 10
    assert result.s == 25  # tau = S / 45
    assert result.var_s == pytest.approx(125.0)  # 10·9·25/18, no ties
    assert result.tau == pytest.approx(0.5555556, abs=0.5e-7)
    assert result.statistic == pytest.approx(2.146625, abs=0.5e-6)
    assert result.pvalue == pytest.approx(0.03182313, abs=0.5e-8)


def test_sen_slope_matches_usepa_2009_example_17_7() -> None:
    result = mann_kendall(EPA_SODIUM, EPA_YEAR)
    assert result.slope == pytest.approx(1.3333333, abs=0.5e-7)
    ci = result.slope_ci(0.95)
    assert ci is not None
    # The guidance interpolates the lower limit between order statistics (Gilbert's modification,
    # LCL = 0.3992); scipy's theilslopes takes the order statistic itself, so only the upper limit,
    # which falls on an order statistic, is compared.
    assert ci.high == pytest.approx(2.3333333, abs=0.5e-7)
    assert 0.3992 <= ci.low <= result.slope


def test_mann_kendall_matches_gilbert_1987_example() -> None:
    # Gilbert RO (1987). Statistical Methods for Environmental Pollution Monitoring, chapter 16, p. 212:
    # 22 values with ties, printed Z = 3.1 (S = 111, sqrt(var S) = 35.02).
    values = [20, 20, 20, 20, 15, 20, 20, 30, 27, 26, 23, 35, 25, 28, 70, 26, 24, 34, 32, 23, 50, 30]
    result = mann_kendall(values)
    assert result.s == 111
    assert result.var_s is not None
    assert np.sqrt(result.var_s) == pytest.approx(35.02, abs=0.005)
    assert result.statistic == pytest.approx(3.1, abs=0.05)


def test_mann_kendall_matches_little_holy_cross_worked_example() -> None:
    # Little J. "A Mann-Kendall example (by hand)", College of the Holy Cross (Montserrat course notes):
    # 14 values, one tied pair; printed S = 54, V = 14·13·33/18 − 2·1·9/18, Z = 2.9058, p ≈ .0018 (one-sided).
    values = [12.9, 14.8, 13.2, 15.7, 13.8, 15.6, 12.9, 11.0, 17.3, 15.9, 19.0, 18.3, 20.1, 21.7]
    result = mann_kendall(values)
    assert result.s == 54
    assert result.var_s == pytest.approx(14 * 13 * 33 / 18 - 2 * 1 * 9 / 18)
    assert result.statistic == pytest.approx(2.9058, abs=0.5e-4)
    assert result.pvalue == pytest.approx(2 * 0.0018, abs=2 * 0.5e-4)


def test_nps_interval_matches_engelhardt_2016_rule_of_thumb() -> None:
    # Engelhardt A (2016). "Net Promoter Score confidence intervals 2: maths and stats", CYBAEA:
    # Var(NPS) = 100²·(p(1−p) + d(1−d) + 2pd)/n, the same multinomial variance as Rocks (2016)
    # eq. (p + d − (p − d)²)/n; printed: for p = d = 1/3 the 95% interval is about 320/√n wide,
    # so n ≈ 1024 gives a width of 10 points.
    n = 1024 * 3
    low, high = nps_interval(promoters=n // 3, detractors=n // 3, n=n, method="wald")
    assert 100 * (high - low) == pytest.approx(320 / np.sqrt(n), rel=0.005)
    low, high = nps_interval(promoters=1024 / 3, detractors=1024 / 3, n=1024, method="wald")
    assert 100 * (high - low) == pytest.approx(10.0, abs=0.05)


# whuber, answer to "How can I calculate margin of error in a NPS (Net Promoter Score) result?", Cross
# Validated, https://stats.stackexchange.com/a/18609: promoters 1/2, passives 1/3, detractors 1/6; printed:
# NPS = 1/3, Var(NPS) = 5/9, standard deviation about 0.75, and in a sample of n = 324 "an NPS of around
# 1/3 = 33% with a standard error of about 0.75/√324 ≈ 4.1%".
def test_nps_standard_error_matches_whubers_worked_example() -> None:
    score = nps_score(np.r_[np.full(162, 9), np.full(108, 7), np.full(54, 0)])
    assert score.value == pytest.approx(100 / 3)
    low, high = nps_interval(162, 54, 324, 0.95, method="wald")
    se = (high - low) / 2 / 1.959963984540054
    assert se**2 * 324 == pytest.approx(5 / 9) and round(np.sqrt(5 / 9), 2) == 0.75
    assert round(100 * se, 1) == 4.1
    # the adjusted Wald (the default) moves the estimate and its error only slightly at this n
    adjusted_low, adjusted_high = nps_interval(162, 54, 324)
    assert round(100 * (adjusted_high - adjusted_low) / 2 / 1.959963984540054, 1) == 4.1


# "Net Promoter Score - Calculating Confidence Intervals and Margin of Error", talkstats.com thread 58500
# (http://www.talkstats.com/threads/net-promoter-score-calculating-confidence-intervals-and-margin-of-error.58500/):
# a sample of 1162 with 291 promoters, 476 passives and 395 detractors; printed: "an NPS of -9" and a 95%
# margin of error ("confidence interval") of 4.4 points, i.e. -9 ± 4.4.
def test_nps_interval_matches_the_printed_margin_for_1162_respondents() -> None:
    score = nps_score(np.r_[np.full(291, 10), np.full(476, 8), np.full(395, 3)])
    assert round(score.value) == -9
    for method in ("wald", "adjusted_wald"):
        low, high = nps_interval(291, 395, 1162, 0.95, method=method)
        assert round(100 * (high - low) / 2, 1) == 4.4
    # the adjusted Wald of Rocks (2016) by hand: (291.75 − 395.75)/1165 ± 1.96·sqrt((p+ + p− − d²)/1165)
    p_plus, p_minus = 291.75 / 1165, 395.75 / 1165
    centre = p_plus - p_minus
    half = 1.959963984540054 * np.sqrt((p_plus + p_minus - centre**2) / 1165)
    assert nps_interval(291, 395, 1162) == pytest.approx((centre - half, centre + half), abs=1e-12)
    assert 100 * centre == pytest.approx(-8.927, abs=5e-4) and 100 * half == pytest.approx(4.381, abs=5e-4)


def test_nps_variance_is_the_variance_of_the_trinomial_mean() -> None:
    # Rocks B (2016). Interval estimation for the 'net promoter score'. The American Statistician 70(4),
    # section 2: scoring promoters +1, passives 0, detractors −1, the NPS is the mean score and its
    # variance (p+ + p− − (p+ − p−)²)/n is the population variance of the scores over n.
    scores = np.r_[np.ones(55), np.zeros(25), -np.ones(20)]
    low, high = nps_interval(55, 20, 100, 0.95, method="wald")
    half = 1.959963984540054 * scores.std(ddof=0) / np.sqrt(scores.size)
    assert (low, high) == pytest.approx((scores.mean() - half, scores.mean() + half))


# Bock RD, Lieberman M (1970). Fitting a response model for n dichotomously scored items.
# Psychometrika 35:179-197: Law School Admission Test, section 6, five items scored 0/1, 1000 examinees,
# given as the frequency of each of the 32 response patterns (the `LSAT` data of R's ltm package; the
# `Ob6` column of psych's `bock.table`). Printed alpha of these data: 0.2949972 (Doran H, R-help mailing
# list, January 2007, "data(LSAT, package='ltm'); alpha(LSAT) [1] 0.2949972"; ltm's cronbach.alpha
# example runs on the same data).
LSAT6_PATTERN_COUNTS = {
    "00000": 3, "00001": 6, "00010": 2, "00011": 11, "00100": 1, "00101": 1, "00110": 3, "00111": 4,
    "01000": 1, "01001": 8, "01010": 0, "01011": 16, "01100": 0, "01101": 3, "01110": 2, "01111": 15,
    "10000": 10, "10001": 29, "10010": 14, "10011": 81, "10100": 3, "10101": 28, "10110": 15, "10111": 80,
    "11000": 16, "11001": 56, "11010": 21, "11011": 173, "11100": 11, "11101": 61, "11110": 28, "11111": 298,
}


def test_cronbach_alpha_matches_the_printed_alpha_of_the_lsat6_data() -> None:
    patterns = np.array([[int(c) for c in p] for p in LSAT6_PATTERN_COUNTS], dtype=float)
    items = np.repeat(patterns, list(LSAT6_PATTERN_COUNTS.values()), axis=0)
    assert items.shape == (1000, 5)
    result = cronbach_alpha(items)
    assert result.alpha == pytest.approx(0.2949972, abs=0.5e-7)
    assert (result.n, result.n_items) == (1000, 5)
    # the grouped route (per-group sums, used by `survey scores`) prints the same value
    grouped = cronbach_alpha_groups(np.random.default_rng(1).permutation(items), np.zeros(1000, dtype=int), 1)
    assert grouped.alpha[0] == pytest.approx(0.2949972, abs=0.5e-7)


def test_cronbach_alpha_equals_hoyts_anova_reliability() -> None:
    # A second, independent method: Hoyt (1941) showed that alpha = 1 − MS(residual) / MS(respondents)
    # from the two-way respondents × items ANOVA.
    rng = np.random.default_rng(7)
    trait = rng.normal(size=200)
    items = np.clip(np.round(3 + trait[:, None] + rng.normal(scale=0.9, size=(200, 5))), 1, 5)
    n, k = items.shape
    grand = items.mean()
    ss_rows = k * np.sum((items.mean(axis=1) - grand) ** 2)
    ss_cols = n * np.sum((items.mean(axis=0) - grand) ** 2)
    ss_resid = np.sum((items - grand) ** 2) - ss_rows - ss_cols
    hoyt = 1 - (ss_resid / ((n - 1) * (k - 1))) / (ss_rows / (n - 1))
    result = cronbach_alpha(items)
    assert result.alpha == pytest.approx(hoyt, abs=1e-12)
    assert (result.n, result.n_items) == (200, 5)


def test_cronbach_alpha_feldt_interval_inverts_the_f_distribution() -> None:
    # Feldt LS, Woodruff DJ, Salih FA (1987). Statistical inference for coefficient alpha. Applied
    # Psychological Measurement 11(1):93-103, eq. 3: (1 − alpha)/(1 − alpha_hat) ~ F(n−1, (n−1)(k−1)).
    rng = np.random.default_rng(3)
    items = rng.integers(1, 6, size=(60, 4)).astype(float) + rng.integers(0, 2, size=(60, 1))
    result = cronbach_alpha(items)
    assert result.alpha is not None
    ci = result.ci(0.90)
    assert ci is not None
    df1, df2 = 59, 59 * 3
    assert (1 - ci.low) / (1 - result.alpha) == pytest.approx(stats.f.ppf(0.95, df1, df2))
    assert (1 - ci.high) / (1 - result.alpha) == pytest.approx(stats.f.ppf(0.05, df1, df2))
