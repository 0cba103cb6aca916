"""The tests of :mod:`scoring.comparisons`, :mod:`scoring.trend` and :mod:`scoring.reliability` for many
groups at once, from per-group counts.

Likert answers take a handful of values, so a group's sample is summed up by how many of its answers
(or respondents' criterion scores) take each value. Ranks follow from those counts: the value ``v``
of a pooled sample holds the midrank ``C(v) + (c(v) + 1)/2`` (``C`` the count below ``v``), so the
rank sum of a group is ``Σ_v c_g(v) · midrank(v)`` and the tie term ``Σ_v c(v)³ − c(v)``. Every
function here is vectorised over the groups (one row per group) and equals its one-at-a-time
counterpart (``mann_whitney``, ``two_proportion_test``, ``kruskal_wallis``/``dunn_test``,
``cronbach_alpha``, ``mann_kendall``, ``cochran_armitage``), which the tests check on random data.

The results are columnar frozen dataclasses; ``result(i)`` gives group ``i``'s ordinary result.

>>> counts = np.array([[10, 20, 30], [30, 20, 10]])  # answers 1, 2, 3 of two groups
>>> tests = mann_whitney_counts(counts[:1], counts[1:])
>>> tests.statistic.tolist(), bool(tests.pvalue[0] < 1e-5)
([2600.0], True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from scoring._common import FloatArray, as_float_array, z_value
from scoring.comparisons import DunnPair, KruskalWallisResult, MannWhitneyResult, TwoProportionResult, holm_adjust
from scoring.reliability import CronbachAlphaResult, TwoItemReliabilityResult
from scoring.suppression import DEFAULT_RULE, SmallSampleRule
from scoring.trend import CochranArmitageResult, MannKendallResult

__all__ = [
    "CochranArmitageGroups",
    "CronbachAlphaGroups",
    "MannKendallGroups",
    "MannWhitneyGroups",
    "TwoItemReliabilityGroups",
    "TwoProportionGroups",
    "cochran_armitage_groups",
    "cronbach_alpha_groups",
    "cronbach_alpha_moments",
    "fisher_exact_pvalues",
    "kruskal_wallis_counts",
    "mann_kendall_groups",
    "mann_whitney_counts",
    "spearman_brown_moments",
    "two_proportion_tests",
]

BoolArray = npt.NDArray[np.bool_]


def _reasons(rule: SmallSampleRule, i: int, **ns: npt.NDArray[np.int64]) -> str | None:
    """Why test ``i`` does not run: its first sample below the rule's inference minimum ``test_min_n``."""
    for label, n in ns.items():
        reason = rule.test_reason(int(n[i]), label=label)
        if reason:
            return reason
    return None


# --- two proportions ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TwoProportionGroups:
    """:func:`~scoring.comparisons.two_proportion_test` for many pairs ``k1/n1`` vs ``k2/n2`` (arrays, NaN
    where suppressed); ``fisher`` is True where an expected count is below 5 and ``pvalue`` is Fisher's."""

    k1: npt.NDArray[np.int64]
    n1: npt.NDArray[np.int64]
    k2: npt.NDArray[np.int64]
    n2: npt.NDArray[np.int64]
    statistic: FloatArray
    pvalue: FloatArray
    effect_size: FloatArray
    risk_difference: FloatArray
    suppressed: BoolArray
    rule: SmallSampleRule
    fisher: BoolArray

    def reason(self, i: int) -> str | None:
        return _reasons(self.rule, i, n1=self.n1, n2=self.n2)

    def result(self, i: int) -> TwoProportionResult:
        k1, n1, k2, n2 = int(self.k1[i]), int(self.n1[i]), int(self.k2[i]), int(self.n2[i])
        if self.suppressed[i]:
            return TwoProportionResult(k1, n1, k2, n2, None, None, None, None, suppressed=True,
                                       suppression_reason=self.reason(i))
        return TwoProportionResult(k1, n1, k2, n2, float(self.statistic[i]), float(self.pvalue[i]),
                                   float(self.effect_size[i]), float(self.risk_difference[i]),
                                   method="fisher_exact" if self.fisher[i] else "z")


def two_proportion_tests(
    k1: npt.ArrayLike, n1: npt.ArrayLike, k2: npt.ArrayLike, n2: npt.ArrayLike, rule: SmallSampleRule = DEFAULT_RULE
) -> TwoProportionGroups:
    """Pooled two-proportion z tests and Cohen's h for every pair at once; Fisher's exact p-value for the pairs
    with an expected count below 5, as :func:`~scoring.comparisons.two_proportion_test`.

    >>> tests = two_proportion_tests([180, 5, 29], [200, 10, 30], [700, 700, 950], [1000, 1000, 1000])
    >>> round(float(tests.statistic[0]), 3), bool(tests.suppressed[1]), tests.fisher.tolist()
    (5.839, True, [False, False, True])
    """
    a1, b1, a2, b2 = (np.asarray(x, dtype=np.int64) for x in (k1, n1, k2, n2))
    if np.any((a1 < 0) | (a1 > b1) | (a2 < 0) | (a2 > b2)):
        raise ValueError("two_proportion_tests needs 0 <= k <= n for both samples")
    suppressed = (b1 < rule.test_min_n) | (b2 < rule.test_min_n)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = a1 / b1, a2 / b2
        pooled = (a1 + a2) / (b1 + b2)
        variance = pooled * (1.0 - pooled) * (1.0 / b1 + 1.0 / b2)
        z = np.where(variance == 0.0, 0.0, (p1 - p2) / np.sqrt(variance))
        p = np.where(variance == 0.0, 1.0, 2.0 * special.ndtr(-np.abs(z)))
        h = 2.0 * np.arcsin(np.sqrt(p1)) - 2.0 * np.arcsin(np.sqrt(p2))
    total, successes = b1 + b2, a1 + a2
    # the smallest expected count (smaller row total × smaller column total / grand total) below 5, in whole numbers
    fisher = ~suppressed & (np.minimum(b1, b2) * np.minimum(successes, total - successes) < 5 * total)
    if np.any(fisher):
        p[fisher] = fisher_exact_pvalues(a1[fisher], b1[fisher] - a1[fisher], a2[fisher], b2[fisher] - a2[fisher])
    nan = np.nan
    return TwoProportionGroups(a1, b1, a2, b2, np.where(suppressed, nan, z), np.where(suppressed, nan, p),
                               np.where(suppressed, nan, h), np.where(suppressed, nan, p1 - p2), suppressed, rule,
                               fisher)


def fisher_exact_pvalues(
    a: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike, d: npt.ArrayLike
) -> FloatArray:
    """The two-sided Fisher exact p-value of every 2×2 table ``[[a, b], [c, d]]`` at once, equal to
    ``scipy.stats.fisher_exact(table, alternative="two-sided").pvalue`` table by table.

    The same computation as scipy's, on arrays: with ``x`` the top-left count, hypergeometric under fixed
    margins, p sums the probabilities of the tables no more likely than the observed one (relative tolerance
    1e-14) — the tail beyond the observed count (``hypergeom.cdf``/``sf``) plus the opposite tail from the point
    found by a binary search on the pmf, which is monotone on either side of the mode. A zero row or column
    gives 1.

    >>> fisher_exact_pvalues([3, 8, 1], [1, 2, 0], [1, 1, 4], [3, 5, 27]).round(5).tolist()
    [0.48571, 0.03497, 0.15625]
    """
    x, b_, c_, d_ = (np.atleast_1d(np.asarray(v, dtype=np.int64)) for v in (a, b, c, d))
    row1, row2, col1 = x + b_, c_ + d_, x + c_
    total = row1 + row2
    p = np.ones(x.shape)
    live = np.flatnonzero((row1 > 0) & (row2 > 0) & (col1 > 0) & (col1 < total))
    if live.size == 0:
        return p
    x, m, r, k = x[live], total[live], row1[live], col1[live]
    hypergeom = stats.hypergeom
    mode = ((k + 1) * (r + 1) / (m + 2)).astype(np.int64)
    p_exact = np.asarray(hypergeom.pmf(x, m, r, k), dtype=np.float64)
    p_mode = np.asarray(hypergeom.pmf(mode, m, r, k), dtype=np.float64)
    at_mode = np.abs(p_exact - p_mode) / np.maximum(p_exact, p_mode) <= 1e-14
    result = np.ones(x.size)
    for below in (True, False):
        rows = np.flatnonzero(~at_mode & ((x < mode) == below))
        if rows.size:
            result[rows] = _fisher_tails(x[rows], m[rows], r[rows], k[rows], mode[rows], p_exact[rows], below)
    p[live] = np.minimum(result, 1.0)
    return p


def _fisher_tails(
    x: npt.NDArray[np.int64],
    m: npt.NDArray[np.int64],
    r: npt.NDArray[np.int64],
    k: npt.NDArray[np.int64],
    mode: npt.NDArray[np.int64],
    p_exact: FloatArray,
    below: bool,
) -> FloatArray:
    """Fisher's two-sided p for tables whose count ``x`` lies below (``below``) or above the mode: the tail
    beyond ``x`` plus the opposite tail of the tables no more likely than the observed one."""
    hypergeom = stats.hypergeom
    threshold = p_exact * (1.0 + 1e-14)
    near = np.asarray(hypergeom.cdf(x, m, r, k) if below else hypergeom.sf(x - 1, m, r, k), dtype=np.float64)
    far_end = k if below else np.zeros_like(k)
    # where even the far end of the support is likelier than the observed table, the far tail adds nothing
    search = np.flatnonzero(np.asarray(hypergeom.pmf(far_end, m, r, k)) <= threshold)
    if search.size == 0:
        return near
    ms, rs, ks = m[search], r[search], k[search]
    if below:
        guess = _binary_search(lambda at, i: -np.asarray(hypergeom.pmf(at, ms[i], rs[i], ks[i]), dtype=np.float64),
                               -threshold[search], mode[search], ks)
        far = hypergeom.sf(guess, ms, rs, ks)
    else:
        guess = _binary_search(lambda at, i: np.asarray(hypergeom.pmf(at, ms[i], rs[i], ks[i]), dtype=np.float64),
                               threshold[search], np.zeros_like(ks), mode[search])
        far = hypergeom.cdf(guess, ms, rs, ks)
    near[search] += np.asarray(far, dtype=np.float64)
    return near


def _binary_search(
    f: Callable[[npt.NDArray[np.int64], npt.NDArray[np.intp]], FloatArray],
    d: FloatArray,
    lo: npt.NDArray[np.int64],
    hi: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """For every row the ``i`` in ``lo..hi`` with ``f(i) <= d < f(i + 1)`` (``f`` ascending there), the search
    scipy's exact binomial and Fisher tests use, run for all rows at once (``f(values, rows)``)."""
    lo, hi = lo.copy(), hi.copy()
    found = np.zeros(lo.shape, dtype=np.int64)
    done = np.zeros(lo.shape, dtype=bool)
    while True:
        rows = np.flatnonzero(~done & (lo < hi))
        if rows.size == 0:
            break
        mid = lo[rows] + (hi[rows] - lo[rows]) // 2
        value = f(mid, rows)
        less, more = value < d[rows], value > d[rows]
        equal = ~less & ~more
        lo[rows[less]] = mid[less] + 1
        hi[rows[more]] = mid[more] - 1
        found[rows[equal]] = mid[equal]
        done[rows[equal]] = True
    rest = np.flatnonzero(~done)
    if rest.size:
        found[rest] = np.where(f(lo[rest], rest) <= d[rest], lo[rest], lo[rest] - 1)
    return found


# --- Mann-Whitney ---------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MannWhitneyGroups:
    """:func:`~scoring.comparisons.mann_whitney` for many pairs of samples given as value counts."""

    n1: npt.NDArray[np.int64]
    n2: npt.NDArray[np.int64]
    statistic: FloatArray
    pvalue: FloatArray
    effect_size: FloatArray
    common_language: FloatArray
    suppressed: BoolArray
    rule: SmallSampleRule
    continuity: bool = True

    def reason(self, i: int) -> str | None:
        if not self.suppressed[i]:
            return None
        return _reasons(self.rule, i, n1=self.n1, n2=self.n2) or "an empty sample"

    def result(self, i: int) -> MannWhitneyResult:
        n1, n2 = int(self.n1[i]), int(self.n2[i])
        if self.suppressed[i]:
            return MannWhitneyResult(n1, n2, None, None, None, None, continuity=self.continuity, suppressed=True,
                                     suppression_reason=self.reason(i))
        return MannWhitneyResult(n1, n2, float(self.statistic[i]), float(self.pvalue[i]), float(self.effect_size[i]),
                                 float(self.common_language[i]), continuity=self.continuity)


def mann_whitney_counts(
    counts1: npt.ArrayLike, counts2: npt.ArrayLike, rule: SmallSampleRule = DEFAULT_RULE, continuity: bool = True
) -> MannWhitneyGroups:
    """Two-sided Mann–Whitney U of sample 1 against sample 2 for every row, the samples given by how many
    answers take each of the same ascending values (``counts[i, j]``): midranks from the pooled counts,
    the tie-corrected normal approximation with continuity correction, exactly as
    ``scipy.stats.mannwhitneyu(method="asymptotic")``.
    """
    c1 = np.atleast_2d(np.asarray(counts1, dtype=np.float64))
    c2 = np.atleast_2d(np.asarray(counts2, dtype=np.float64))
    if c1.shape != c2.shape:
        raise ValueError("both samples need counts over the same values")
    n1, n2 = c1.sum(axis=1), c2.sum(axis=1)
    pooled = c1 + c2
    below = np.cumsum(pooled, axis=1) - pooled
    midrank = below + (pooled + 1.0) / 2.0
    r1 = np.einsum("ij,ij->i", c1, midrank)
    u1 = r1 - n1 * (n1 + 1.0) / 2.0
    n = n1 + n2
    tie_term = np.einsum("ij,ij->i", pooled, pooled * pooled) - n
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sqrt(n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0))))
        numerator = np.maximum(u1, n1 * n2 - u1) - n1 * n2 / 2.0
        if continuity:
            numerator = numerator - 0.5
        z = numerator / s
        p = np.clip(2.0 * special.ndtr(-z), 0.0, 1.0)
        p = np.where(np.isnan(p), 1.0, p)  # every answer identical: no evidence of a difference
        cles = u1 / (n1 * n2)
    n1i, n2i = n1.astype(np.int64), n2.astype(np.int64)
    suppressed = (n1i < rule.test_min_n) | (n2i < rule.test_min_n) | (n1i == 0) | (n2i == 0)
    nan = np.nan
    return MannWhitneyGroups(n1i, n2i, np.where(suppressed, nan, u1), np.where(suppressed, nan, p),
                             np.where(suppressed, nan, 2.0 * cles - 1.0), np.where(suppressed, nan, cles), suppressed,
                             rule, continuity)


# --- Kruskal-Wallis with Dunn ------------------------------------------------------------------------------


def kruskal_wallis_counts(
    counts: npt.ArrayLike, labels: npt.ArrayLike | None = None, rule: SmallSampleRule = DEFAULT_RULE
) -> KruskalWallisResult:
    """:func:`~scoring.comparisons.kruskal_wallis` (with Dunn/Holm) from each group's value counts
    (``counts[i, j]``: answers of group ``labels[i]`` equal to the ``j``-th smallest value); groups without
    answers are ignored, groups below the rule's inference minimum ``test_min_n`` excluded.

    >>> result = kruskal_wallis_counts([[20, 20, 0], [0, 20, 20], [5, 0, 5]], [0, 1, 2])
    >>> result.groups, result.excluded, result.pvalue < 0.001
    ((0, 1), ((2, 'n=10 < 30'),), True)
    """
    c = np.atleast_2d(np.asarray(counts, dtype=np.int64))
    names = np.arange(c.shape[0]) if labels is None else np.asarray(labels).ravel()
    sizes = c.sum(axis=1)
    present = sizes > 0
    small = present & (sizes < rule.test_min_n)
    excluded = tuple((int(names[i]), str(rule.test_reason(int(sizes[i])))) for i in np.flatnonzero(small))
    tested_rows = np.flatnonzero(present & ~small)
    order = np.argsort(names[tested_rows], kind="stable")
    tested_rows = tested_rows[order]
    excluded = tuple(sorted(excluded))
    tested = tuple(int(names[i]) for i in tested_rows)
    ns = tuple(int(sizes[i]) for i in tested_rows)
    if len(tested) < 2:
        return KruskalWallisResult(
            groups=tested, ns=ns, statistic=None, df=None, pvalue=None, effect_size=None, pairwise=(),
            excluded=excluded, suppressed=True,
            suppression_reason=f"{len(tested)} group(s) with n >= {rule.test_min_n}; at least 2 needed",
        )
    c = c[tested_rows].astype(np.float64)
    n = c.sum(axis=1)
    ties = c.sum(axis=0)
    big_n = float(n.sum())
    midrank = np.cumsum(ties) - ties + (ties + 1.0) / 2.0
    rank_sum = c @ midrank
    tie_sum = float(np.sum(ties**3 - ties))
    if np.count_nonzero(ties) == 1:
        h, p = 0.0, 1.0  # every answer identical: nothing differs
    else:
        h = (12.0 / (big_n * (big_n + 1.0)) * float(np.sum(rank_sum**2 / n)) - 3.0 * (big_n + 1.0))
        h /= 1.0 - tie_sum / (big_n**3 - big_n)
        p = float(stats.chi2.sf(h, len(tested) - 1))
    mean_rank = rank_sum / n
    base = big_n * (big_n + 1.0) / 12.0 - tie_sum / (12.0 * (big_n - 1.0))
    i_idx, j_idx = np.triu_indices(len(tested), k=1)
    se = np.sqrt(base * (1.0 / n[i_idx] + 1.0 / n[j_idx]))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (mean_rank[i_idx] - mean_rank[j_idx]) / se, 0.0)
    pz = 2.0 * special.ndtr(-np.abs(z))
    adjusted = holm_adjust(pz)
    pairs = tuple(
        DunnPair(tested[i], tested[j], float(mean_rank[i]), float(mean_rank[j]), float(zz), float(pp), float(pa))
        for i, j, zz, pp, pa in zip(i_idx.tolist(), j_idx.tolist(), z.tolist(), pz.tolist(), adjusted.tolist(),
                                    strict=True)
    )
    return KruskalWallisResult(groups=tested, ns=ns, statistic=float(h), df=len(tested) - 1, pvalue=p,
                               effect_size=float(h) / (big_n - 1.0), pairwise=pairs, excluded=excluded)


# --- Cronbach's alpha -------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CronbachAlphaGroups:
    """:func:`~scoring.reliability.cronbach_alpha` for many groups: ``alpha`` (NaN where suppressed or the
    total has no variance), the complete respondents ``n`` and ``n_items``."""

    alpha: FloatArray
    n: npt.NDArray[np.int64]
    n_items: int
    suppressed: BoolArray
    rule: SmallSampleRule

    def reason(self, i: int) -> str | None:
        if not self.suppressed[i]:
            return None
        n = int(self.n[i])
        return self.rule.reason(n) or f"n={n} < 2"

    def result(self, i: int) -> CronbachAlphaResult:
        n = int(self.n[i])
        if self.suppressed[i]:
            return CronbachAlphaResult(None, n, self.n_items, suppressed=True, suppression_reason=self.reason(i))
        return CronbachAlphaResult(float(self.alpha[i]), n, self.n_items)

    def ci(self, confidence_level: float = 0.95) -> tuple[FloatArray, FloatArray]:
        """Feldt's interval for every group at once (NaN where there is none), as ``CronbachAlphaResult.ci``."""
        gamma = 1.0 - confidence_level
        df1 = self.n.astype(np.float64) - 1.0
        df2 = df1 * (self.n_items - 1)
        ok = ~self.suppressed & ~np.isnan(self.alpha)
        low, high = np.full(self.alpha.shape, np.nan), np.full(self.alpha.shape, np.nan)
        if np.any(ok):
            a = self.alpha[ok]
            low[ok] = 1.0 - (1.0 - a) * special.fdtri(df1[ok], df2[ok], 1.0 - gamma / 2.0)
            high[ok] = 1.0 - (1.0 - a) * special.fdtri(df1[ok], df2[ok], gamma / 2.0)
        return low, high


def cronbach_alpha_moments(
    n: npt.ArrayLike,
    item_sums: npt.ArrayLike,
    item_squares: npt.ArrayLike,
    total_sums: npt.ArrayLike,
    total_squares: npt.ArrayLike,
    rule: SmallSampleRule = DEFAULT_RULE,
) -> CronbachAlphaGroups:
    """Alpha per group from the complete respondents' count ``n``, per-item sums and sums of squares
    (``[group, item]``) and the sums and sums of squares of their totals (variances as
    ``(n·Σx² − (Σx)²)/(n(n−1))``, exact for whole-number answers)."""
    nn = np.asarray(n, dtype=np.float64)
    sx, sxx = np.asarray(item_sums, dtype=np.float64), np.asarray(item_squares, dtype=np.float64)
    st, stt = np.asarray(total_sums, dtype=np.float64), np.asarray(total_squares, dtype=np.float64)
    k = sx.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        denominator = nn * (nn - 1.0)
        item_var = ((nn[:, None] * sxx - sx * sx) / denominator[:, None]).sum(axis=1)
        total_var = (nn * stt - st * st) / denominator
        alpha = np.where(total_var == 0, np.nan, k / (k - 1.0) * (1.0 - item_var / total_var))
    counts = nn.astype(np.int64)
    suppressed = (counts < rule.min_n) | (counts < 2)
    return CronbachAlphaGroups(np.where(suppressed, np.nan, alpha), counts, k, suppressed, rule)


def cronbach_alpha_groups(
    items: npt.ArrayLike, groups: npt.ArrayLike, n_groups: int, rule: SmallSampleRule = DEFAULT_RULE
) -> CronbachAlphaGroups:
    """Cronbach's alpha of a respondents × items matrix for every group (integer codes) at once, over the
    respondents who answered every item, from per-group sums with ``np.bincount``.

    >>> items = np.array([[4, 5, 4], [2, 3, 2], [3, 3, 4], [5, 4, 5], [1, 2, 1]] * 12, dtype=float)
    >>> result = cronbach_alpha_groups(items, np.repeat([0, 1], 30), 2)
    >>> np.round(result.alpha, 3).tolist()
    [0.936, 0.936]
    """
    x = as_float_array(items)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError("cronbach_alpha_groups needs a respondents × items matrix with at least 2 items")
    g = np.asarray(groups, dtype=np.intp).ravel()
    complete = ~np.isnan(x).any(axis=1)
    gc, xc = g[complete], x[complete]
    total = xc.sum(axis=1)
    k = x.shape[1]
    sx = np.column_stack([np.bincount(gc, weights=xc[:, j], minlength=n_groups) for j in range(k)])
    sxx = np.column_stack([np.bincount(gc, weights=xc[:, j] ** 2, minlength=n_groups) for j in range(k)])
    return cronbach_alpha_moments(np.bincount(gc, minlength=n_groups), sx, sxx,
                                  np.bincount(gc, weights=total, minlength=n_groups),
                                  np.bincount(gc, weights=total * total, minlength=n_groups), rule)


# --- two-item scales: Pearson r and Spearman-Brown -------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TwoItemReliabilityGroups:
    """:func:`~scoring.reliability.spearman_brown` for many groups: the inter-item ``r`` and the
    Spearman–Brown ``coefficient`` (NaN where suppressed or undefined) over ``n`` complete respondents."""

    r: FloatArray
    coefficient: FloatArray
    n: npt.NDArray[np.int64]
    suppressed: BoolArray
    rule: SmallSampleRule

    def reason(self, i: int) -> str | None:
        if not self.suppressed[i]:
            return None
        n = int(self.n[i])
        return self.rule.reason(n) or f"n={n} < 3"

    def result(self, i: int) -> TwoItemReliabilityResult:
        n = int(self.n[i])
        if self.suppressed[i]:
            return TwoItemReliabilityResult(None, None, n, suppressed=True, suppression_reason=self.reason(i))
        r, coefficient = float(self.r[i]), float(self.coefficient[i])
        return TwoItemReliabilityResult(None if np.isnan(r) else r, None if np.isnan(coefficient) else coefficient, n)

    def ci(self, confidence_level: float = 0.95) -> tuple[FloatArray, FloatArray]:
        """Fisher's interval of every group's r through ``2r/(1 + r)`` (NaN where there is none), as
        ``TwoItemReliabilityResult.ci``."""
        half = z_value(confidence_level) / np.sqrt(np.maximum(self.n.astype(np.float64) - 3.0, 1.0))
        ok = ~self.suppressed & ~np.isnan(self.r) & (self.n > 3)
        with np.errstate(divide="ignore", invalid="ignore"):
            centre = np.arctanh(self.r)
            low_r, high_r = np.tanh(centre - half), np.tanh(centre + half)
            low = np.where(low_r <= -1.0, -np.inf, 2.0 * low_r / (1.0 + low_r))
            high = 2.0 * high_r / (1.0 + high_r)
        return np.where(ok, low, np.nan), np.where(ok, high, np.nan)


def spearman_brown_moments(
    n: npt.ArrayLike,
    sum_x: npt.ArrayLike,
    sum_y: npt.ArrayLike,
    sum_xx: npt.ArrayLike,
    sum_yy: npt.ArrayLike,
    sum_xy: npt.ArrayLike,
    rule: SmallSampleRule = DEFAULT_RULE,
) -> TwoItemReliabilityGroups:
    """Pearson's r of two items and the Spearman–Brown ``2r/(1 + r)`` per group from the complete
    respondents' count and the sums, sums of squares and sum of products of their answers,
    ``r = (nΣxy − ΣxΣy) / sqrt((nΣx² − (Σx)²)(nΣy² − (Σy)²))`` (exact for whole-number answers).

    >>> groups = spearman_brown_moments([30], [60], [60], [140], [140], [130])  # (1, 1), (2, 3), (3, 2) × 10
    >>> round(float(groups.r[0]), 4), round(float(groups.coefficient[0]), 4)
    (0.5, 0.6667)
    """
    nn = np.asarray(n, dtype=np.float64)
    sx, sy = np.asarray(sum_x, dtype=np.float64), np.asarray(sum_y, dtype=np.float64)
    sxx, syy = np.asarray(sum_xx, dtype=np.float64), np.asarray(sum_yy, dtype=np.float64)
    sxy = np.asarray(sum_xy, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        vx, vy = nn * sxx - sx * sx, nn * syy - sy * sy
        r = np.where((vx > 0) & (vy > 0), np.clip((nn * sxy - sx * sy) / np.sqrt(vx * vy), -1.0, 1.0), np.nan)
        coefficient = np.where(r > -1.0, 2.0 * r / (1.0 + r), np.nan)
    counts = nn.astype(np.int64)
    suppressed = (counts < rule.min_n) | (counts < 3)
    return TwoItemReliabilityGroups(np.where(suppressed, np.nan, r), np.where(suppressed, np.nan, coefficient),
                                    counts, suppressed, rule)


# --- Mann-Kendall with Sen's slope ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MannKendallGroups:
    """:func:`~scoring.trend.mann_kendall` of every row of a ``[group, period]`` matrix."""

    values: FloatArray
    n: npt.NDArray[np.int64]
    s: FloatArray
    var_s: FloatArray
    statistic: FloatArray
    pvalue: FloatArray
    tau: FloatArray
    slope: FloatArray
    suppressed: BoolArray
    min_periods: int

    def result(self, i: int) -> MannKendallResult:
        n = int(self.n[i])
        if self.suppressed[i]:
            return MannKendallResult(n=n, s=None, var_s=None, statistic=None, pvalue=None, tau=None, slope=None,
                                     suppressed=True, suppression_reason=f"periods={n} < {self.min_periods}")
        row = self.values[i]
        keep = ~np.isnan(row)
        return MannKendallResult(
            n=n, s=int(self.s[i]), var_s=float(self.var_s[i]), statistic=float(self.statistic[i]),
            pvalue=float(self.pvalue[i]), tau=float(self.tau[i]), slope=float(self.slope[i]),
            values=tuple(row[keep].tolist()), times=tuple(np.flatnonzero(keep).astype(np.float64).tolist()))


def mann_kendall_groups(values: npt.ArrayLike, min_periods: int = 4) -> MannKendallGroups:
    """Mann–Kendall S, its tie-corrected variance, Z, p, Kendall's tau and Sen's slope for every row of
    ``values`` (periods 0, 1, 2, … along the columns; NaN = a suppressed period, skipped), with all
    ``T(T−1)/2`` pairs of every row at once.

    >>> result = mann_kendall_groups([[0.71, 0.74, 0.73, 0.78, 0.80, 0.79, 0.84]])
    >>> int(result.s[0]), round(float(result.tau[0]), 3), round(float(result.slope[0]), 3)
    (17, 0.81, 0.02)
    """
    v = np.atleast_2d(as_float_array(values))
    finite = ~np.isnan(v)
    n = finite.sum(axis=1)
    i, j = np.triu_indices(v.shape[1], k=1)
    pair = finite[:, i] & finite[:, j]
    diff = v[:, j] - v[:, i]
    s = np.where(pair, np.sign(diff), 0.0).sum(axis=1)
    # ties: each finite value's count of equal values m gives Σ_groups t(t−1)(2t+5) = Σ_values (m−1)(2m+5)
    equal = (v[:, :, None] == v[:, None, :]).sum(axis=2).astype(np.float64)
    tie_sum = np.where(finite, (equal - 1.0) * (2.0 * equal + 5.0), 0.0).sum(axis=1)
    nf = n.astype(np.float64)
    var_s = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - tie_sum) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where((s == 0) | (var_s <= 0), 0.0, (s - np.sign(s)) / np.sqrt(var_s))
        tau = s / (nf * (nf - 1.0) / 2.0)
        slopes = np.where(pair, diff / (j - i), np.nan)
    p = 2.0 * special.ndtr(-np.abs(z))
    suppressed = n < min_periods
    slope = np.full(v.shape[0], np.nan)
    if np.any(~suppressed):
        slope[~suppressed] = np.nanmedian(slopes[~suppressed], axis=1)
    nan = np.nan
    return MannKendallGroups(v, n.astype(np.int64), np.where(suppressed, nan, s), np.where(suppressed, nan, var_s),
                             np.where(suppressed, nan, z), np.where(suppressed, nan, p),
                             np.where(suppressed, nan, tau), slope, suppressed, min_periods)


# --- Cochran-Armitage ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CochranArmitageGroups:
    """:func:`~scoring.trend.cochran_armitage` of every row of ``[group, period]`` count matrices (NaN where
    suppressed); ``n_periods`` counts each row's periods with answers, ``n_total`` its answers."""

    k: npt.NDArray[np.int64]
    n: npt.NDArray[np.int64]
    statistic: FloatArray
    pvalue: FloatArray
    effect_size: FloatArray
    n_periods: npt.NDArray[np.int64]
    n_total: npt.NDArray[np.int64]
    suppressed: BoolArray
    min_periods: int

    def reason(self, i: int) -> str | None:
        return f"periods={int(self.n_periods[i])} < {self.min_periods}" if self.suppressed[i] else None

    def result(self, i: int) -> CochranArmitageResult:
        used = self.n[i] > 0
        inputs = (tuple(self.k[i][used].tolist()), tuple(self.n[i][used].tolist()),
                  tuple(np.flatnonzero(used).astype(np.float64).tolist()))
        periods, total = int(self.n_periods[i]), int(self.n_total[i])
        if self.suppressed[i]:
            return CochranArmitageResult(*inputs, None, None, periods, total, None, suppressed=True,
                                         suppression_reason=self.reason(i))
        return CochranArmitageResult(*inputs, float(self.statistic[i]), float(self.pvalue[i]), periods, total,
                                     float(self.effect_size[i]))


def cochran_armitage_groups(k: npt.ArrayLike, n: npt.ArrayLike, min_periods: int = 3) -> CochranArmitageGroups:
    """The Cochran–Armitage trend test of every row at once: ``k[g, t]`` satisfied of ``n[g, t]`` answers of
    group ``g`` in period ``t`` (scores 0, 1, …, T−1, the month index; a period without answers adds nothing to
    any sum and is not counted among the ``min_periods``).

    >>> tests = cochran_armitage_groups([[40, 42, 45, 47, 50], [83, 90, 129, 70, 0]], [[60] * 5, [86, 93, 136, 82, 0]])
    >>> np.round(tests.statistic, 3).tolist(), tests.n_periods.tolist()
    ([2.347, -2.868], [5, 4])
    """
    if min_periods < 2:
        raise ValueError("a trend needs min_periods >= 2")
    kk = np.atleast_2d(np.asarray(k, dtype=np.int64))
    nn = np.atleast_2d(np.asarray(n, dtype=np.int64))
    if kk.shape != nn.shape:
        raise ValueError("cochran_armitage_groups needs k and n of the same [group, period] shape")
    if np.any((kk < 0) | (kk > nn)):
        raise ValueError("cochran_armitage_groups needs 0 <= k <= n in every period")
    periods = np.count_nonzero(nn > 0, axis=1).astype(np.int64)
    total = nn.sum(axis=1)
    suppressed = periods < min_periods
    weights, successes = nn.astype(np.float64), kk.astype(np.float64)
    scores = np.arange(nn.shape[1], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        centred = scores[None, :] - (weights @ scores / total)[:, None]
        s_ss = np.einsum("ij,ij->i", weights, centred * centred)
        pooled = successes.sum(axis=1) / total
        flat = (pooled == 0.0) | (pooled == 1.0)  # everyone satisfied (or no one): no trend
        slope = np.where(flat, 0.0, np.einsum("ij,ij->i", centred, successes) / s_ss)
        z = np.where(flat, 0.0, slope * np.sqrt(s_ss / (pooled * (1.0 - pooled))))
    p = 2.0 * special.ndtr(-np.abs(z))
    nan = np.nan
    return CochranArmitageGroups(kk, nn, np.where(suppressed, nan, z), np.where(suppressed, nan, p),
                                 np.where(suppressed, nan, slope), periods, total, suppressed, min_periods)
