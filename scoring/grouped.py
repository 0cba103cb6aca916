"""The tests of :mod:`scoring.comparisons` for many groups at once, from per-group counts.

Likert answers take a handful of values, so a group's sample is summed up by how many of its answers
(or respondents' criterion scores) take each value. Ranks follow from those counts: the value ``v``
of a pooled sample holds the midrank ``C(v) + (c(v) + 1)/2`` (``C`` the count below ``v``), so the
rank sum of a group is ``Σ_v c_g(v) · midrank(v)`` and the tie term ``Σ_v c(v)³ − c(v)``. Every
function here is vectorised over the groups (one row per group) and equals its one-at-a-time
counterpart (``mann_whitney``, ``two_proportion_test``, ``kruskal_wallis``/``dunn_test``,
``cronbach_alpha``, ``mann_kendall``), which the tests check on random data.

The results are columnar frozen dataclasses; ``result(i)`` gives group ``i``'s ordinary result.

>>> counts = np.array([[10, 20, 30], [30, 20, 10]])  # answers 1, 2, 3 of two groups
>>> tests = mann_whitney_counts(counts[:1], counts[1:])
>>> tests.statistic.tolist(), bool(tests.pvalue[0] < 1e-5)
([2600.0], True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from questionnaires.model import Criterion, IndexDefinition
from scoring._common import FloatArray, IntArray, as_float_array
from scoring.comparisons import (
    CronbachAlphaResult,
    DunnPair,
    KruskalWallisResult,
    MannKendallResult,
    MannWhitneyResult,
    TwoProportionResult,
    holm_adjust,
)
from scoring.measures import GroupAssessment, _criterion_weights
from scoring.suppression import DEFAULT_RULE, SmallSampleRule

__all__ = [
    "AnswerPatterns",
    "CronbachAlphaGroups",
    "MannKendallGroups",
    "MannWhitneyGroups",
    "PatternCounts",
    "TwoProportionGroups",
    "answer_codes",
    "answer_patterns",
    "assess_patterns",
    "block_rest",
    "cronbach_alpha_groups",
    "cronbach_alpha_moments",
    "kruskal_wallis_counts",
    "mann_kendall_groups",
    "mann_whitney_counts",
    "two_proportion_tests",
    "value_counts",
]

BoolArray = npt.NDArray[np.bool_]


def _reasons(rule: SmallSampleRule, i: int, **ns: npt.NDArray[np.int64]) -> str | None:
    for label, n in ns.items():
        reason = rule.reason(int(n[i]), label=label)
        if reason:
            return reason
    return None


def block_rest(counts: npt.NDArray[np.int64], block: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """For each row (a group) the counts of the other rows of its block: the block's total minus its own.

    >>> block_rest(np.array([[1, 2], [3, 4], [5, 6]]), [0, 0, 1]).tolist()
    [[3, 4], [1, 2], [0, 0]]
    """
    c = np.asarray(counts)
    b = np.asarray(block, dtype=np.intp)
    width = int(np.prod(c.shape[1:], dtype=np.int64))
    n_blocks = int(b.max(initial=-1)) + 1
    flat = (b[:, None] * width + np.arange(width)).ravel()
    totals = np.bincount(flat, weights=c.reshape(-1), minlength=n_blocks * width).reshape(n_blocks, *c.shape[1:])
    rest: npt.NDArray[np.int64] = np.rint(totals[b] - c).astype(c.dtype)
    return rest


# --- counts of values --------------------------------------------------------------------------------


def value_counts(
    values: npt.ArrayLike, groups: npt.ArrayLike, n_groups: int
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """The sorted distinct answered values and how often each occurs in each group (NaN and groups below 0
    left out): ``counts[g, j]`` answers equal to ``levels[j]`` in group ``g``.

    >>> levels, counts = value_counts([4.0, 5.0, np.nan, 4.5, 5.0], [0, 0, 0, 1, 1], 2)
    >>> levels.tolist(), counts.tolist()
    ([4.0, 4.5, 5.0], [[1, 0, 1], [0, 1, 1]])
    """
    v = as_float_array(values).ravel()
    g = np.asarray(groups, dtype=np.intp).ravel()
    keep = ~np.isnan(v) & (g >= 0)
    levels, inverse = np.unique(v[keep], return_inverse=True)
    flat = g[keep] * levels.size + inverse.ravel()
    counts = np.bincount(flat, minlength=n_groups * levels.size).reshape(n_groups, levels.size)
    return levels, counts.astype(np.int64)


def answer_codes(values: npt.ArrayLike, scale_min: int, scale_max: int) -> npt.NDArray[np.uint8]:
    """Answers on the integer scale ``scale_min..scale_max`` as small codes: 0 = not answered (NaN),
    ``1 + answer − scale_min`` otherwise (one byte per answer, for up to 254 scale points).

    >>> answer_codes([1.0, np.nan, 5.0], 1, 5).tolist()
    [1, 0, 5]
    """
    points = scale_max - scale_min + 1
    if not 1 <= points <= 254:
        raise ValueError(f"answer_codes handles scales of 1 to 254 points, got {scale_min}..{scale_max}")
    shifted = as_float_array(values) - (scale_min - 1)
    np.nan_to_num(shifted, copy=False, nan=0.0)
    if shifted.size and (shifted.min() < 0 or shifted.max() > points):
        raise ValueError(f"answers must lie on the scale {scale_min}..{scale_max}")
    codes = shifted.astype(np.uint8)
    if not np.array_equal(codes, shifted):
        raise ValueError(f"answers must be whole points of the scale {scale_min}..{scale_max}")
    return codes


@dataclass(frozen=True, eq=False)
class PatternCounts:
    """``counts[g, s]``: respondents of group ``g`` whose answers to a criterion's items form pattern ``s``
    (``values[s]``, NaN = item not answered). Everything a criterion needs follows from these counts:
    the respondents' mean scores (:attr:`score_counts` per :attr:`levels`), the satisfied count and
    Cronbach's moments over the complete patterns."""

    counts: npt.NDArray[np.int64]
    values: FloatArray

    @cached_property
    def _scores(self) -> tuple[FloatArray, IntArray]:
        answered = ~np.isnan(self.values)
        n_answered = answered.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(answered, self.values, 0.0).sum(axis=1) / n_answered
        finite = ~np.isnan(score)
        levels, level_of = np.unique(score[finite], return_inverse=True)
        index = np.full(score.shape[0], -1, dtype=np.intp)
        index[finite] = level_of.ravel()
        return levels, index

    @property
    def levels(self) -> FloatArray:
        """The distinct respondent scores (mean of the items answered), ascending."""
        return self._scores[0]

    @cached_property
    def score_counts(self) -> npt.NDArray[np.int64]:
        """``[g, j]``: respondents of group ``g`` whose score is ``levels[j]``."""
        levels, index = self._scores
        onehot = np.zeros((index.size, levels.size), dtype=np.int64)
        valid = index >= 0
        onehot[np.flatnonzero(valid), index[valid]] = 1
        return self.counts @ onehot

    @cached_property
    def n(self) -> npt.NDArray[np.int64]:
        """Respondents who answered at least one item, per group."""
        n: npt.NDArray[np.int64] = self.score_counts.sum(axis=1)
        return n

    def satisfied(self, threshold: float) -> npt.NDArray[np.int64]:
        """Respondents whose score is at or above ``threshold``, per group."""
        k: npt.NDArray[np.int64] = self.score_counts[:, self.levels >= threshold].sum(axis=1)
        return k

    @cached_property
    def score_sum(self) -> FloatArray:
        return np.asarray(self.score_counts @ self.levels, dtype=np.float64)

    def cronbach(self, rule: SmallSampleRule = DEFAULT_RULE) -> CronbachAlphaGroups:
        """Cronbach's alpha per group over the respondents who answered every item."""
        complete = ~np.isnan(self.values).any(axis=1)
        x = self.values[complete]
        c = self.counts[:, complete].astype(np.float64)
        total = x.sum(axis=1)
        return cronbach_alpha_moments(c.sum(axis=1), c @ x, c @ (x * x), c @ total, c @ (total * total), rule)


@dataclass(frozen=True, eq=False)
class AnswerPatterns:
    """Each respondent's pattern of answers to a criterion's items, as one code per row (:func:`answer_patterns`);
    :meth:`count` tallies the patterns per group."""

    codes: npt.NDArray[np.integer]
    values: FloatArray

    @property
    def n_patterns(self) -> int:
        return int(self.values.shape[0])

    def count(self, groups: npt.NDArray[np.intp], n_groups: int) -> PatternCounts:
        """Pattern counts per group; ``groups`` holds one code in ``0..n_groups`` per row, ``n_groups``
        meaning "in no group" (left out)."""
        flat = groups * self.n_patterns
        flat += self.codes
        counts = np.bincount(flat, minlength=(n_groups + 1) * self.n_patterns)
        return PatternCounts(counts[: n_groups * self.n_patterns].reshape(n_groups, self.n_patterns), self.values)

    def outcome(self, threshold: float) -> npt.NDArray[np.uint8]:
        """Per row: 0 = answered no item, 1 = answered but not satisfied, 2 = satisfied."""
        answered = ~np.isnan(self.values)
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(answered, self.values, 0.0).sum(axis=1) / answered.sum(axis=1)
        table = np.where(np.isnan(score), 0, np.where(score >= threshold, 2, 1)).astype(np.uint8)
        return np.take(table, self.codes)


def answer_patterns(codes: Sequence[npt.NDArray[np.uint8]], scale_min: int, scale_max: int) -> AnswerPatterns:
    """The joint pattern of several items' :func:`answer_codes` (one criterion's questions) per row.

    >>> p = answer_patterns([answer_codes([4.0, np.nan], 1, 5), answer_codes([5.0, np.nan], 1, 5)], 1, 5)
    >>> p.values[p.codes].tolist()[0], p.n_patterns
    ([4.0, 5.0], 36)
    """
    if not codes:
        raise ValueError("answer_patterns needs at least one item")
    base = scale_max - scale_min + 2
    k = len(codes)
    size = base**k
    shape = (base,) * k
    pattern: npt.NDArray[np.integer]
    if size <= 65536:
        pattern = codes[0].astype(np.uint8 if size <= 256 else np.uint16)
        for code in codes[1:]:
            pattern *= base  # stays below base**k: fits the small type
            pattern += code
        digits = np.array(np.unravel_index(np.arange(size), shape)).T
    else:  # many items: number only the patterns that occur
        wide = codes[0].astype(np.int64)
        for code in codes[1:]:
            wide = wide * base + code
        present, inverse = np.unique(wide, return_inverse=True)
        digits = np.array(np.unravel_index(present, shape)).T
        pattern = inverse.ravel().astype(np.intp)
    values = np.where(digits == 0, np.nan, digits + (scale_min - 1)).astype(np.float64).reshape(-1, k)
    return AnswerPatterns(pattern, values)


def assess_patterns(
    criteria: Sequence[Criterion],
    patterns: Mapping[str, AnswerPatterns],
    groups: npt.NDArray[np.intp],
    n_groups: int,
    index: IndexDefinition | None = None,
    rule: SmallSampleRule = DEFAULT_RULE,
    confidence_level: float = 0.95,
) -> tuple[GroupAssessment, dict[str, PatternCounts]]:
    """:func:`~scoring.measures.assess_groups` from each criterion's answer patterns (``groups`` in
    ``0..n_groups``, ``n_groups`` = in no group), with the pattern counts of every criterion.

    The shares, means and respondents come from the pattern counts; the index's linearised variance
    needs each respondent's influence ``u_i = Σ_c w_c (s_ic − p_c a_ic) / n_c``, gathered per row from a
    small ``[group, outcome]`` table per criterion (outcome: none, answered, satisfied).
    """
    if not criteria:
        raise ValueError("assess_patterns needs at least one criterion")
    counted = {c.id: patterns[c.id].count(groups, n_groups) for c in criteria}
    n = np.column_stack([counted[c.id].n for c in criteria]).astype(np.intp)
    satisfied = np.column_stack([counted[c.id].satisfied(c.satisfied_threshold) for c in criteria]).astype(np.intp)
    weights = _criterion_weights(criteria, index)
    influence = np.zeros(groups.shape[0])
    answered_any = np.zeros(groups.shape[0], dtype=np.uint8)
    by_outcome = groups * 3
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.column_stack([counted[c.id].score_sum for c in criteria]) / n
        share = satisfied / n
        index_value = 100.0 * (share @ weights)
        scale = np.where(n > 0, weights / n, 0.0)
        offset = np.where(n > 0, share * scale, 0.0)
        for c, criterion in enumerate(criteria):
            outcome = patterns[criterion.id].outcome(criterion.satisfied_threshold)
            table = np.zeros((n_groups + 1, 3))
            table[:n_groups, 1] = -offset[:, c]
            table[:n_groups, 2] = scale[:, c] - offset[:, c]
            influence += np.take(table.ravel(), by_outcome + outcome)
            np.maximum(answered_any, outcome, out=answered_any)
        respondents = np.bincount(np.where(answered_any > 0, groups, n_groups), minlength=n_groups + 1)[:n_groups]
        sum_sq = np.bincount(groups, weights=influence * influence, minlength=n_groups + 1)[:n_groups]
        m = respondents.astype(np.float64)
        index_se = 100.0 * np.sqrt(sum_sq * m / (m - 1.0))
    assessment = GroupAssessment(criteria=tuple(criteria), n=n, satisfied=satisfied, mean=mean,
                                 respondents=respondents.astype(np.intp), index=index_value, index_se=index_se,
                                 index_definition=index, rule=rule, confidence_level=confidence_level)
    return assessment, counted


# --- two proportions ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TwoProportionGroups:
    """:func:`~scoring.comparisons.two_proportion_test` for many pairs ``k1/n1`` vs ``k2/n2`` (arrays, NaN
    where suppressed)."""

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

    def reason(self, i: int) -> str | None:
        return _reasons(self.rule, i, n1=self.n1, n2=self.n2)

    def result(self, i: int) -> TwoProportionResult:
        k1, n1, k2, n2 = int(self.k1[i]), int(self.n1[i]), int(self.k2[i]), int(self.n2[i])
        if self.suppressed[i]:
            return TwoProportionResult(k1, n1, k2, n2, None, None, None, None, suppressed=True,
                                       suppression_reason=self.reason(i))
        return TwoProportionResult(k1, n1, k2, n2, float(self.statistic[i]), float(self.pvalue[i]),
                                   float(self.effect_size[i]), float(self.risk_difference[i]))


def two_proportion_tests(
    k1: npt.ArrayLike, n1: npt.ArrayLike, k2: npt.ArrayLike, n2: npt.ArrayLike, rule: SmallSampleRule = DEFAULT_RULE
) -> TwoProportionGroups:
    """Pooled two-proportion z tests and Cohen's h for every pair at once.

    >>> tests = two_proportion_tests([180, 5], [200, 10], [700, 700], [1000, 1000])
    >>> round(float(tests.statistic[0]), 3), bool(tests.suppressed[1])
    (5.839, True)
    """
    a1, b1, a2, b2 = (np.asarray(x, dtype=np.int64) for x in (k1, n1, k2, n2))
    if np.any((a1 < 0) | (a1 > b1) | (a2 < 0) | (a2 > b2)):
        raise ValueError("two_proportion_tests needs 0 <= k <= n for both samples")
    suppressed = (b1 < rule.min_n) | (b2 < rule.min_n)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = a1 / b1, a2 / b2
        pooled = (a1 + a2) / (b1 + b2)
        variance = pooled * (1.0 - pooled) * (1.0 / b1 + 1.0 / b2)
        z = np.where(variance == 0.0, 0.0, (p1 - p2) / np.sqrt(variance))
        p = np.where(variance == 0.0, 1.0, 2.0 * special.ndtr(-np.abs(z)))
        h = 2.0 * np.arcsin(np.sqrt(p1)) - 2.0 * np.arcsin(np.sqrt(p2))
    nan = np.nan
    return TwoProportionGroups(a1, b1, a2, b2, np.where(suppressed, nan, z), np.where(suppressed, nan, p),
                               np.where(suppressed, nan, h), np.where(suppressed, nan, p1 - p2), suppressed, rule)


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
    suppressed = (n1i < rule.min_n) | (n2i < rule.min_n) | (n1i == 0) | (n2i == 0)
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
    answers are ignored, groups below ``min_n`` excluded.

    >>> result = kruskal_wallis_counts([[20, 20, 0], [0, 20, 20], [5, 0, 5]], [0, 1, 2])
    >>> result.groups, result.excluded, result.pvalue < 0.001
    ((0, 1), ((2, 'n=10 < 30'),), True)
    """
    c = np.atleast_2d(np.asarray(counts, dtype=np.int64))
    names = np.arange(c.shape[0]) if labels is None else np.asarray(labels).ravel()
    sizes = c.sum(axis=1)
    present = sizes > 0
    small = present & (sizes < rule.min_n)
    excluded = tuple((int(names[i]), str(rule.reason(int(sizes[i])))) for i in np.flatnonzero(small))
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
            suppression_reason=f"{len(tested)} group(s) with n >= {rule.min_n}; at least 2 needed",
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
    """:func:`~scoring.comparisons.cronbach_alpha` for many groups: ``alpha`` (NaN where suppressed or the
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


# --- Mann-Kendall with Sen's slope ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MannKendallGroups:
    """:func:`~scoring.comparisons.mann_kendall` of every row of a ``[group, period]`` matrix."""

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

