"""Comparisons: a unit against its peers, periods against each other, units across a peer group.
Trends are in :mod:`scoring.trend`, reliability in :mod:`scoring.reliability`, funnel limits in
:mod:`scoring.funnel`, Benjamini–Hochberg q-values for a report's family of tests in
:mod:`scoring.multiplicity`; Holm's adjustment (:func:`holm_adjust`) stays for Dunn's pairs within one
Kruskal–Wallis test.

Every result is a frozen dataclass carrying its inputs (``n``s, counts) beside ``statistic`` and
``pvalue`` and an effect size with its name. A sample below the :class:`SmallSampleRule`'s inference
minimum (:attr:`~scoring.suppression.SmallSampleRule.test_min_n`: never below the display minimum
``min_n``) is never tested: the result says ``suppressed=True`` with the reason, and
``statistic``/``pvalue`` are None.

>>> result = two_proportion_test(k1=180, n1=200, k2=700, n2=1000)
>>> round(result.statistic, 3), result.pvalue < 0.001, round(result.effect_size, 3)
(5.839, True, 0.516)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from scoring._common import ConfidenceInterval, FloatArray, as_float_array, json_number
from scoring.suppression import DEFAULT_RULE, SmallSampleRule

__all__ = [
    "DifferenceResult",
    "DunnPair",
    "KruskalWallisResult",
    "MannWhitneyResult",
    "PeriodComparison",
    "TwoProportionResult",
    "compare_periods",
    "difference_of_estimates",
    "dunn_test",
    "holm_adjust",
    "kruskal_wallis",
    "mann_whitney",
    "two_proportion_test",
]


def _finite(values: npt.ArrayLike) -> FloatArray:
    v = as_float_array(values).ravel()
    return v[~np.isnan(v)]


def _first_reason(rule: SmallSampleRule, **ns: int) -> str | None:
    """Why a test does not run (the first sample below the rule's :attr:`~SmallSampleRule.test_min_n`)."""
    for label, n in ns.items():
        reason = rule.test_reason(n, label=label)
        if reason:
            return reason
    return None


# --- two proportions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TwoProportionResult:
    """Two-sided test of ``k1/n1`` against ``k2/n2``. ``statistic`` is always the pooled z (its sign gives the
    direction; ``statistic²`` equals the Pearson chi-square of the 2×2 table without continuity correction).
    ``pvalue`` is the z test's (``method="z"``) unless an expected count of the table
    ``[[k1, n1 − k1], [k2, n2 − k2]]`` is below 5, where the normal approximation fails and it is the two-sided
    Fisher exact test's (``method="fisher_exact"``, ``scipy.stats.fisher_exact``).

    ``effect_size`` is Cohen's h = 2·asin√p1 − 2·asin√p2; ``risk_difference`` is p1 − p2.
    """

    k1: int
    n1: int
    k2: int
    n2: int
    statistic: float | None
    pvalue: float | None
    effect_size: float | None
    risk_difference: float | None
    effect_size_name: str = "cohen_h"
    suppressed: bool = False
    suppression_reason: str | None = None
    method: str = "z"

    def ci(self, confidence_level: float = 0.95) -> ConfidenceInterval | None:
        """Newcombe's hybrid score interval (method 10, Newcombe 1998b) for the risk difference."""
        if self.suppressed:
            return None
        from scoring.intervals import wilson_interval

        p1, p2 = self.k1 / self.n1, self.k2 / self.n2
        l1, u1 = wilson_interval(float(self.k1), float(self.n1), confidence_level)
        l2, u2 = wilson_interval(float(self.k2), float(self.n2), confidence_level)
        d = p1 - p2
        low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
        return ConfidenceInterval(low, high, confidence_level)

    def to_dict(self) -> dict[str, Any]:
        return {
            "k1": self.k1,
            "n1": self.n1,
            "k2": self.k2,
            "n2": self.n2,
            "share1": None if self.n1 == 0 else self.k1 / self.n1,
            "share2": None if self.n2 == 0 else self.k2 / self.n2,
            "statistic": json_number(self.statistic),
            "pvalue": json_number(self.pvalue),
            "effect_size": json_number(self.effect_size),
            "effect_size_name": self.effect_size_name,
            "risk_difference": json_number(self.risk_difference),
            "method": self.method,
            "suppressed": self.suppressed,
            "suppression_reason": self.suppression_reason,
        }


def two_proportion_test(
    k1: int, n1: int, k2: int, n2: int, rule: SmallSampleRule = DEFAULT_RULE
) -> TwoProportionResult:
    """Is the satisfied share ``k1/n1`` (a unit, or this period) different from ``k2/n2`` (its peers,
    or the previous period)? The samples must not overlap: pass the peers *without* the unit.

    Fisher's exact p-value replaces the z test's when an expected count is below 5 (Agresti 2002, §3.5):

    >>> result = two_proportion_test(1, 1, 4, 31, SmallSampleRule(min_n=1, min_n_inference=1))
    >>> result.method, round(result.pvalue, 5), round(result.statistic, 3)
    ('fisher_exact', 0.15625, 2.361)
    """
    if not (0 <= k1 <= n1 and 0 <= k2 <= n2):
        raise ValueError("two_proportion_test needs 0 <= k <= n for both samples")
    reason = _first_reason(rule, n1=n1, n2=n2)
    if reason:
        return TwoProportionResult(k1, n1, k2, n2, None, None, None, None, suppressed=True, suppression_reason=reason)
    p1, p2 = k1 / n1, k2 / n2
    pooled = (k1 + k2) / (n1 + n2)
    variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    if variance == 0.0:
        z, p = 0.0, 1.0  # both samples all satisfied (or none): no evidence of a difference
    else:
        z = (p1 - p2) / math.sqrt(variance)
        p = float(2.0 * stats.norm.sf(abs(z)))
    method = "z"
    if _expected_count_below_five(k1, n1, k2, n2):
        method = "fisher_exact"
        p = float(stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]], alternative="two-sided").pvalue)
    h = 2.0 * math.asin(math.sqrt(p1)) - 2.0 * math.asin(math.sqrt(p2))
    return TwoProportionResult(k1, n1, k2, n2, z, p, h, p1 - p2, method=method)


def _expected_count_below_five(k1: int, n1: int, k2: int, n2: int) -> bool:
    """True when an expected count of the 2×2 table ``[[k1, n1 − k1], [k2, n2 − k2]]`` (row total × column
    total / grand total) is below 5, where the z (χ²) approximation is not trusted (Cochran 1954)."""
    total, successes = n1 + n2, k1 + k2
    # the smallest expected count is the smaller row total times the smaller column total over the grand
    # total; compared in whole numbers so that a count of exactly 5 is never misjudged by rounding
    return total > 0 and min(n1, n2) * min(successes, total - successes) < 5 * total


# --- Mann-Whitney ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MannWhitneyResult:
    """Mann-Whitney U of sample 1 against sample 2, normal approximation with tie correction.

    ``statistic`` is U1 (pairs where sample 1 is higher, ties counting a half). ``effect_size`` is
    the rank-biserial correlation r = 2·U1/(n1·n2) − 1: +1 when every answer of sample 1 is higher,
    −1 when every one is lower (Kerby 2014). ``common_language`` is U1/(n1·n2), the probability that
    a random answer of sample 1 beats one of sample 2 (ties half).
    """

    n1: int
    n2: int
    statistic: float | None
    pvalue: float | None
    effect_size: float | None
    common_language: float | None
    effect_size_name: str = "rank_biserial"
    continuity: bool = True
    suppressed: bool = False
    suppression_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "n1": self.n1,
            "n2": self.n2,
            "statistic": json_number(self.statistic),
            "pvalue": json_number(self.pvalue),
            "effect_size": json_number(self.effect_size),
            "effect_size_name": self.effect_size_name,
            "common_language": json_number(self.common_language),
            "suppressed": self.suppressed,
            "suppression_reason": self.suppression_reason,
        }


def mann_whitney(
    sample1: npt.ArrayLike,
    sample2: npt.ArrayLike,
    rule: SmallSampleRule = DEFAULT_RULE,
    continuity: bool = True,
) -> MannWhitneyResult:
    """Mann-Whitney U test of the answers (NaN = not answered) of two independent samples, two-sided.

    Always the asymptotic method with the tie-corrected variance: Likert answers are heavily tied and
    the exact distribution assumes no ties (``scipy.stats.mannwhitneyu(method="asymptotic")``).
    """
    a, b = _finite(sample1), _finite(sample2)
    n1, n2 = int(a.size), int(b.size)
    reason = _first_reason(rule, n1=n1, n2=n2)
    if reason or n1 == 0 or n2 == 0:
        return MannWhitneyResult(
            n1, n2, None, None, None, None, continuity=continuity, suppressed=True,
            suppression_reason=reason or "an empty sample",
        )
    result = stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic", use_continuity=continuity)
    u1 = float(result.statistic)
    pvalue = float(result.pvalue)
    if math.isnan(pvalue):  # every answer identical: no evidence of a difference
        pvalue = 1.0
    cles = u1 / (n1 * n2)
    return MannWhitneyResult(n1, n2, u1, pvalue, 2.0 * cles - 1.0, cles, continuity=continuity)


# --- periods -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodComparison:
    """A period against a reference period (the previous one, or the same period a year earlier):
    the satisfied shares by :func:`two_proportion_test` and the answers by :func:`mann_whitney`."""

    label: str
    proportions: TwoProportionResult
    scores: MannWhitneyResult

    @property
    def suppressed(self) -> bool:
        return self.proportions.suppressed

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "proportions": self.proportions.to_dict(), "scores": self.scores.to_dict()}


def compare_periods(
    current: npt.ArrayLike,
    reference: npt.ArrayLike,
    threshold: float,
    label: str = "previous_period",
    rule: SmallSampleRule = DEFAULT_RULE,
) -> PeriodComparison:
    """Compare this period's answers (or respondent scores) with a reference period's.

    >>> now = [5, 4, 4, 3] * 20
    >>> before = [3, 2, 4, 3] * 20
    >>> result = compare_periods(now, before, threshold=4, label="same_period_last_year")
    >>> result.proportions.risk_difference, result.scores.pvalue < 0.001
    (0.5, True)
    """
    a, b = _finite(current), _finite(reference)
    proportions = two_proportion_test(
        int(np.count_nonzero(a >= threshold)), int(a.size), int(np.count_nonzero(b >= threshold)), int(b.size), rule
    )
    return PeriodComparison(label=label, proportions=proportions, scores=mann_whitney(a, b, rule))


# --- Kruskal-Wallis and Dunn ---------------------------------------------------------------------


def holm_adjust(pvalues: npt.ArrayLike) -> FloatArray:
    """Holm's step-down adjustment (Holm 1979) of a family of p-values, in their original order.

    >>> holm_adjust([0.01, 0.04, 0.03, 0.005]).tolist()
    [0.03, 0.06, 0.06, 0.02]
    """
    p = as_float_array(pvalues).ravel()
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    stepped = (m - np.arange(m)) * p[order]
    adjusted_sorted = np.minimum(np.maximum.accumulate(stepped), 1.0)
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return adjusted


@dataclass(frozen=True)
class DunnPair:
    """Dunn's (1964) z test between two groups' mean ranks, with the Holm-adjusted p-value."""

    group1: int
    group2: int
    mean_rank1: float
    mean_rank2: float
    statistic: float
    pvalue: float
    pvalue_adjusted: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "group1": self.group1,
            "group2": self.group2,
            "mean_rank1": self.mean_rank1,
            "mean_rank2": self.mean_rank2,
            "statistic": self.statistic,
            "pvalue": self.pvalue,
            "pvalue_adjusted": self.pvalue_adjusted,
        }


def dunn_test(values: npt.ArrayLike, groups: npt.ArrayLike) -> tuple[DunnPair, ...]:
    """Dunn's pairwise test after Kruskal-Wallis, tie-corrected, Holm-adjusted, for every pair of groups.

    ``z = (R̄_i − R̄_j) / sqrt((N(N+1)/12 − Σ(t³−t)/(12(N−1))) · (1/n_i + 1/n_j))`` with the ranks of
    the pooled sample (Dunn 1964; tie term as in Glantz 2012 and R's ``dunn.test``).
    """
    v = as_float_array(values).ravel()
    g = np.asarray(groups).ravel()
    keep = ~np.isnan(v)
    v, g = v[keep], g[keep]
    labels, codes = np.unique(g, return_inverse=True)
    big_n = v.size
    ranks = stats.rankdata(v)
    n = np.bincount(codes, minlength=labels.size).astype(np.float64)
    mean_rank = np.bincount(codes, weights=ranks, minlength=labels.size) / n
    _, ties = np.unique(v, return_counts=True)
    tie_term = float(np.sum(ties.astype(np.float64) ** 3 - ties)) / (12.0 * (big_n - 1)) if big_n > 1 else 0.0
    base = big_n * (big_n + 1) / 12.0 - tie_term
    i_idx, j_idx = np.triu_indices(labels.size, k=1)
    se = np.sqrt(base * (1.0 / n[i_idx] + 1.0 / n[j_idx]))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (mean_rank[i_idx] - mean_rank[j_idx]) / se, 0.0)
    p = 2.0 * stats.norm.sf(np.abs(z))
    adjusted = holm_adjust(p)
    return tuple(
        DunnPair(
            group1=int(labels[i]),
            group2=int(labels[j]),
            mean_rank1=float(mean_rank[i]),
            mean_rank2=float(mean_rank[j]),
            statistic=float(zz),
            pvalue=float(pp),
            pvalue_adjusted=float(pa),
        )
        for i, j, zz, pp, pa in zip(i_idx, j_idx, z, p, adjusted, strict=True)
    )


@dataclass(frozen=True)
class KruskalWallisResult:
    """Kruskal-Wallis H across the tested groups (tie-corrected), its χ² p-value, the effect size
    ε² = H / (N − 1) (Tomczak & Tomczak 2014), and Dunn's pairwise tests with Holm's adjustment.

    Groups below the rule's :attr:`~scoring.suppression.SmallSampleRule.test_min_n` are left out and listed in
    ``excluded`` with the reason.
    """

    groups: tuple[int, ...]
    ns: tuple[int, ...]
    statistic: float | None
    df: int | None
    pvalue: float | None
    effect_size: float | None
    pairwise: tuple[DunnPair, ...]
    excluded: tuple[tuple[int, str], ...] = ()
    effect_size_name: str = "epsilon_squared"
    suppressed: bool = False
    suppression_reason: str | None = None

    @property
    def n(self) -> int:
        return sum(self.ns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "groups": list(self.groups),
            "ns": list(self.ns),
            "n": self.n,
            "statistic": json_number(self.statistic),
            "df": self.df,
            "pvalue": json_number(self.pvalue),
            "effect_size": json_number(self.effect_size),
            "effect_size_name": self.effect_size_name,
            "pairwise": [p.to_dict() for p in self.pairwise],
            "excluded": [{"group": g, "reason": r} for g, r in self.excluded],
            "suppressed": self.suppressed,
            "suppression_reason": self.suppression_reason,
        }


def kruskal_wallis(
    values: npt.ArrayLike, groups: npt.ArrayLike, rule: SmallSampleRule = DEFAULT_RULE
) -> KruskalWallisResult:
    """Do the answers differ across peer groups (units, services)? ``groups`` are integer codes.

    >>> values = np.r_[[5, 4] * 20, [3, 2] * 20, [4, 3] * 20, [5, 5] * 5]
    >>> groups = np.repeat([0, 1, 2, 3], [40, 40, 40, 10])
    >>> result = kruskal_wallis(values, groups)
    >>> result.groups, result.excluded, result.pvalue < 0.001
    ((0, 1, 2), ((3, 'n=10 < 30'),), True)
    """
    v = as_float_array(values).ravel()
    g = np.asarray(groups).ravel()
    if v.shape != g.shape:
        raise ValueError("values and groups must have the same length")
    keep = ~np.isnan(v)
    v, g = v[keep], g[keep]
    labels, counts = np.unique(g, return_counts=True)
    excluded: list[tuple[int, str]] = []
    tested: list[int] = []
    for label, count in zip(labels.tolist(), counts.tolist(), strict=True):
        reason = rule.test_reason(count)
        if reason:
            excluded.append((int(label), reason))
        else:
            tested.append(int(label))
    ns = tuple(int(c) for lab, c in zip(labels.tolist(), counts.tolist(), strict=True) if lab in tested)
    if len(tested) < 2:
        return KruskalWallisResult(
            groups=tuple(tested), ns=ns, statistic=None, df=None, pvalue=None, effect_size=None, pairwise=(),
            excluded=tuple(excluded), suppressed=True,
            suppression_reason=f"{len(tested)} group(s) with n >= {rule.test_min_n}; at least 2 needed",
        )
    mask = np.isin(g, tested)
    v, g = v[mask], g[mask]
    samples = [v[g == label] for label in tested]
    if np.all(v == v[0]):
        h, p = 0.0, 1.0  # every answer identical: scipy cannot rank-test this, and nothing differs
    else:
        result = stats.kruskal(*samples)
        h, p = float(result.statistic), float(result.pvalue)
    total = int(v.size)
    return KruskalWallisResult(
        groups=tuple(tested),
        ns=ns,
        statistic=h,
        df=len(tested) - 1,
        pvalue=p,
        effect_size=h / (total - 1),
        pairwise=dunn_test(v, g),
        excluded=tuple(excluded),
    )


@dataclass(frozen=True)
class DifferenceResult:
    """Two independent estimates compared (Altman & Bland, BMJ 2003;326:219): ``difference = estimate1 −
    estimate2`` with ``se = sqrt(se1² + se2²)``, ``statistic = difference / se`` and its two-sided normal p."""

    estimate1: float
    se1: float
    estimate2: float
    se2: float
    difference: float
    se: float
    statistic: float
    pvalue: float

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        z = float(stats.norm.ppf(0.5 + confidence_level / 2))
        return ConfidenceInterval(self.difference - z * self.se, self.difference + z * self.se, confidence_level)


def difference_of_estimates(estimate1: float, interval1: tuple[float, float], estimate2: float,
                            interval2: tuple[float, float], confidence_level: float = 0.95) -> DifferenceResult:
    """Whether two estimates from independent samples (a unit's index this period and last) differ, from their
    symmetric normal intervals at ``confidence_level`` (each ``se = width / (2·z)``).

    Altman & Bland's example (BMJ 2003;326:219): two estimates 0.5 (se 0.3) and 0.1 (se 0.2) differ by 0.4 with
    se 0.36, z = 1.11, p = 0.27.

    >>> z = 1.959963984540054
    >>> r = difference_of_estimates(0.5, (0.5 - z * 0.3, 0.5 + z * 0.3), 0.1, (0.1 - z * 0.2, 0.1 + z * 0.2))
    >>> round(r.difference, 2), round(r.se, 2), round(r.statistic, 2), round(r.pvalue, 2)
    (0.4, 0.36, 1.11, 0.27)
    """
    z = float(stats.norm.ppf(0.5 + confidence_level / 2))
    se1 = (float(interval1[1]) - float(interval1[0])) / (2 * z)
    se2 = (float(interval2[1]) - float(interval2[0])) / (2 * z)
    if se1 < 0 or se2 < 0:
        raise ValueError("an interval's upper bound lies below its lower bound")
    difference = float(estimate1) - float(estimate2)
    se = math.sqrt(se1 * se1 + se2 * se2)
    statistic = difference / se if se > 0 else math.copysign(math.inf, difference) if difference else 0.0
    pvalue = float(2 * stats.norm.sf(abs(statistic))) if se > 0 or difference else 1.0
    return DifferenceResult(float(estimate1), se1, float(estimate2), se2, difference, se, statistic, pvalue)
