"""A criterion's answers as small pattern codes, counted per group: every measure of many groups from one
``np.bincount`` per criterion.

Each respondent's answers to a criterion's items (Likert points, NaN = not answered) form one pattern
code (:func:`answer_patterns`); the per-group counts of the patterns (:class:`PatternCounts`) give the
respondents' scores, the satisfied counts, the means and Cronbach's moments, and
:func:`assess_patterns` the whole :class:`~scoring.measures.GroupAssessment`.

>>> codes = answer_codes([4.0, 2.0, 5.0, np.nan], 1, 5)
>>> counted = answer_patterns([codes], 1, 5).count(np.array([0, 0, 1, 1]), 2)
>>> counted.n.tolist(), counted.satisfied(4).tolist()
([2, 1], [1, 1])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from questionnaires.model import Criterion, IndexDefinition
from scoring._common import FloatArray, IntArray, as_float_array
from scoring.grouped import (
    CronbachAlphaGroups,
    TwoItemReliabilityGroups,
    cronbach_alpha_moments,
    spearman_brown_moments,
)
from scoring.measures import GroupAssessment, _index_value, _index_weights
from scoring.suppression import DEFAULT_RULE, SmallSampleRule

__all__ = [
    "AnswerPatterns",
    "PatternCounts",
    "answer_codes",
    "answer_patterns",
    "assess_patterns",
    "block_rest",
    "value_counts",
]


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

    def spearman_brown(self, rule: SmallSampleRule = DEFAULT_RULE) -> TwoItemReliabilityGroups:
        """The inter-item r and Spearman–Brown coefficient per group of a two-item criterion, over the
        respondents who answered both items."""
        if self.values.shape[1] != 2:
            raise ValueError(f"spearman_brown needs a criterion of exactly 2 items, got {self.values.shape[1]}")
        complete = ~np.isnan(self.values).any(axis=1)
        x, y = self.values[complete, 0], self.values[complete, 1]
        c = self.counts[:, complete].astype(np.float64)
        return spearman_brown_moments(c.sum(axis=1), c @ x, c @ y, c @ (x * x), c @ (y * y), c @ (x * y), rule)


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
    index_criteria: npt.ArrayLike | None = None,
) -> tuple[GroupAssessment, dict[str, PatternCounts]]:
    """:func:`~scoring.measures.assess_groups` from each criterion's answer patterns (``groups`` in
    ``0..n_groups``, ``n_groups`` = in no group), with the pattern counts of every criterion.

    The shares, means and respondents come from the pattern counts; the index's linearised variance
    needs each respondent's influence ``u_i = Σ_c w_gc (s_ic − p_c a_ic) / n_c``, gathered per row from a
    small ``[group, outcome]`` table per criterion (outcome: none, answered, satisfied). Each group's index
    is taken over its covered criteria, or over ``index_criteria`` (groups × criteria booleans), as
    :func:`~scoring.measures.assess_groups` takes it.
    """
    if not criteria:
        raise ValueError("assess_patterns needs at least one criterion")
    counted = {c.id: patterns[c.id].count(groups, n_groups) for c in criteria}
    n = np.column_stack([counted[c.id].n for c in criteria]).astype(np.intp)
    satisfied = np.column_stack([counted[c.id].satisfied(c.satisfied_threshold) for c in criteria]).astype(np.intp)
    in_index, weights = _index_weights(criteria, index, n, rule, index_criteria)  # [group, criterion]
    # One more row for the respondents in no group; True, so that a criterion in every group's index needs
    # no per-row look-up (those rows are dropped from the counts anyway).
    in_index_rows = np.vstack([in_index, np.ones((1, len(criteria)), dtype=np.bool_)])
    influence = np.zeros(groups.shape[0])
    answered_any = np.zeros(groups.shape[0], dtype=np.uint8)
    answered_index = np.zeros(groups.shape[0], dtype=np.bool_)
    by_outcome = groups * 3
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.column_stack([counted[c.id].score_sum for c in criteria]) / n
        share = satisfied / n
        index_value = _index_value(share, in_index, weights)
        scale = np.where(n > 0, weights / n, 0.0)
        offset = np.where(n > 0, share * scale, 0.0)
        for c, criterion in enumerate(criteria):
            outcome = patterns[criterion.id].outcome(criterion.satisfied_threshold)
            table = np.zeros((n_groups + 1, 3))
            table[:n_groups, 1] = -offset[:, c]
            table[:n_groups, 2] = scale[:, c] - offset[:, c]
            influence += np.take(table.ravel(), by_outcome + outcome)
            np.maximum(answered_any, outcome, out=answered_any)
            column = in_index_rows[:, c]
            answered_index |= (outcome > 0) if column.all() else (outcome > 0) & column[groups]
        respondents = np.bincount(np.where(answered_any > 0, groups, n_groups), minlength=n_groups + 1)[:n_groups]
        index_n = np.bincount(np.where(answered_index, groups, n_groups), minlength=n_groups + 1)[:n_groups]
        sum_sq = np.bincount(groups, weights=influence * influence, minlength=n_groups + 1)[:n_groups]
        m = index_n.astype(np.float64)
        index_se = 100.0 * np.sqrt(sum_sq * m / (m - 1.0))
    assessment = GroupAssessment(criteria=tuple(criteria), n=n, satisfied=satisfied, mean=mean,
                                 respondents=respondents.astype(np.intp), index=index_value, index_se=index_se,
                                 index_definition=index, rule=rule, confidence_level=confidence_level,
                                 index_criteria=in_index, index_n=index_n.astype(np.intp))
    return assessment, counted
