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
from scoring.tally import SparseCounts

__all__ = [
    "AnswerPatterns",
    "PatternCounts",
    "answer_codes",
    "answer_patterns",
    "joint_outcomes",
    "pattern_codes",
    "pattern_outcomes",
    "pattern_values",
    "patterns_of",
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


def answer_codes(values: npt.ArrayLike, scale_min: int, scale_max: int, *,
                 strict: bool = True) -> npt.NDArray[np.uint8]:
    """Answers on the integer scale ``scale_min..scale_max`` as small codes: 0 = not answered (NaN),
    ``1 + answer − scale_min`` otherwise (one byte per answer, for up to 254 scale points). An answer off the
    scale or between its points raises ``ValueError``; with ``strict=False`` it counts as not answered (an answer
    to an earlier version whose scale differed).

    >>> answer_codes([1.0, np.nan, 5.0], 1, 5).tolist()
    [1, 0, 5]
    >>> answer_codes([0.0, 3.5, 7.0, 2.0], 1, 5, strict=False).tolist()
    [0, 0, 0, 2]
    """
    points = scale_max - scale_min + 1
    if not 1 <= points <= 254:
        raise ValueError(f"answer_codes handles scales of 1 to 254 points, got {scale_min}..{scale_max}")
    shifted = as_float_array(values) - (scale_min - 1)
    answered = ~np.isnan(shifted)
    np.nan_to_num(shifted, copy=False, nan=0.0)
    off = answered & ((shifted < 1) | (shifted > points) | (shifted != np.floor(shifted)))
    if off.any():
        if strict:
            bad = shifted[off] + (scale_min - 1)
            if np.all(bad == np.floor(bad)) and np.all((bad < scale_min) | (bad > scale_max)):
                raise ValueError(f"answers must lie on the scale {scale_min}..{scale_max}")
            raise ValueError(f"answers must be whole points of the scale {scale_min}..{scale_max}")
        shifted[off] = 0.0
    return shifted.astype(np.uint8)


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
    """How often each pattern of answers to a criterion's items occurs in each cell: ``counts`` (pattern codes,
    :class:`~scoring.tally.SparseCounts`; code 0, no item answered, is not stored), and each pattern's answers
    ``values[s]`` (NaN = item not answered). Built from rows (:func:`answer_patterns`, one cell per row) or from a
    tally (:class:`scoring.coding.Coding`); :meth:`count` tallies the patterns per group."""

    counts: SparseCounts
    values: FloatArray

    @property
    def n_patterns(self) -> int:
        return int(self.values.shape[0])

    def count(self, groups: npt.NDArray[np.intp], n_groups: int) -> PatternCounts:
        """Pattern counts per group; ``groups`` holds one code in ``0..n_groups`` per cell, ``n_groups``
        meaning "in no group" (left out)."""
        return PatternCounts(self.counts.dense(groups, n_groups), self.values)

    def outcome_of_pattern(self, threshold: float) -> npt.NDArray[np.uint8]:
        """Per pattern: 0 = answered no item, 1 = answered but not satisfied, 2 = satisfied."""
        return pattern_outcomes(self.values, threshold)


def pattern_outcomes(values: FloatArray, threshold: float) -> npt.NDArray[np.uint8]:
    """Per pattern of answers (rows of ``values``, NaN = not answered): 0 = answered no item, 1 = answered but
    the mean of the items answered is below ``threshold``, 2 = satisfied.

    >>> pattern_outcomes(np.array([[np.nan, np.nan], [3.0, np.nan], [4.0, 5.0]]), 4).tolist()
    [0, 1, 2]
    """
    answered = ~np.isnan(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(answered, values, 0.0).sum(axis=1) / answered.sum(axis=1)
    out: npt.NDArray[np.uint8] = np.where(np.isnan(score), 0, np.where(score >= threshold, 2, 1)).astype(np.uint8)
    return out


def pattern_codes(codes: Sequence[npt.NDArray[np.uint8]], scale_min: int,
                  scale_max: int) -> tuple[npt.NDArray[np.int64], int]:
    """The joint pattern of several items' :func:`answer_codes` per row, as one code in ``0..size - 1``
    (``size = base**k``, ``base`` = scale points + 1; 0 = no item answered); :func:`pattern_values` gives the
    answers of each code.

    >>> codes, size = pattern_codes([answer_codes([4.0, np.nan], 1, 5), answer_codes([5.0, np.nan], 1, 5)], 1, 5)
    >>> codes.tolist(), size, pattern_values(size, 2, 1, 5, codes[:1]).tolist()
    ([29, 0], 36, [[4.0, 5.0]])
    """
    if not codes:
        raise ValueError("answer_patterns needs at least one item")
    base = scale_max - scale_min + 2
    pattern = codes[0].astype(np.int64)
    for code in codes[1:]:
        pattern *= base
        pattern += code
    return pattern, base ** len(codes)


def pattern_values(size: int, k: int, scale_min: int, scale_max: int,
                   codes: npt.NDArray[np.int64] | None = None) -> FloatArray:
    """The answers of each pattern code of ``k`` items (all ``size`` of them, or only ``codes``)."""
    base = scale_max - scale_min + 2
    wanted = np.arange(size) if codes is None else codes
    digits = np.array(np.unravel_index(wanted, (base,) * k)).T.reshape(-1, k)
    values: FloatArray = np.where(digits == 0, np.nan, digits + (scale_min - 1)).astype(np.float64)
    return values


def answer_patterns(codes: Sequence[npt.NDArray[np.uint8]], scale_min: int, scale_max: int) -> AnswerPatterns:
    """The patterns of several items' :func:`answer_codes` (one criterion's questions) with one cell per row.

    >>> p = answer_patterns([answer_codes([4.0, np.nan], 1, 5), answer_codes([5.0, np.nan], 1, 5)], 1, 5)
    >>> p.values[p.counts.code].tolist(), p.n_patterns
    ([[4.0, 5.0]], 36)
    """
    pattern, size = pattern_codes(codes, scale_min, scale_max)
    counts = SparseCounts.of_entries(np.arange(pattern.shape[0]), pattern, np.ones_like(pattern), size)
    return patterns_of(counts, len(codes), scale_min, scale_max)


def patterns_of(counts: SparseCounts, k: int, scale_min: int, scale_max: int) -> AnswerPatterns:
    """:class:`AnswerPatterns` of pattern-code counts of ``k`` items; a code space of more than 65,536 patterns
    (many items) is numbered by the patterns that occur."""
    if counts.size > 65536:
        counts, present = counts.compacted()
        return AnswerPatterns(counts, pattern_values(counts.size, k, scale_min, scale_max, present))
    return AnswerPatterns(counts, pattern_values(counts.size, k, scale_min, scale_max))


def joint_outcomes(criteria: Sequence[Criterion], patterns: Mapping[str, AnswerPatterns],
                   n_rows: int) -> SparseCounts:
    """The joint outcome code ``Σ_c 3^c · outcome_c`` of each row (cell) of patterns built with one cell per row
    (:func:`answer_patterns`): what :func:`assess_patterns` needs for the index's variance."""
    joint = np.zeros(n_rows, dtype=np.int64)
    for c, criterion in enumerate(criteria):
        p = patterns[criterion.id]
        outcome = np.zeros(n_rows, dtype=np.int64)
        outcome[p.counts.cell] = p.outcome_of_pattern(criterion.satisfied_threshold)[p.counts.code]
        joint += outcome * 3**c
    return SparseCounts.of_entries(np.arange(n_rows), joint, np.ones(n_rows, dtype=np.int64), 3 ** len(criteria))


def assess_patterns(
    criteria: Sequence[Criterion],
    patterns: Mapping[str, AnswerPatterns],
    groups: npt.NDArray[np.intp],
    n_groups: int,
    index: IndexDefinition | None = None,
    rule: SmallSampleRule = DEFAULT_RULE,
    confidence_level: float = 0.95,
    index_criteria: npt.ArrayLike | None = None,
    *,
    outcomes: SparseCounts,
) -> tuple[GroupAssessment, dict[str, PatternCounts]]:
    """:func:`~scoring.measures.assess_groups` from each criterion's answer patterns per cell (``groups``: one code
    per cell in ``0..n_groups``, ``n_groups`` = in no group), with the pattern counts of every criterion.

    The shares, means and respondents come from the pattern counts; the index's linearised variance needs each
    respondent's influence ``u_i = Σ_c w_gc (s_ic − p_c a_ic) / n_c``, which depends only on the respondent's
    group and joint outcome (per criterion: none, answered, satisfied): ``outcomes`` counts the joint outcome codes
    ``Σ_c 3^c · outcome_c`` per cell (:func:`joint_outcomes` for rows, :class:`scoring.coding.Coding` for a tally),
    and ``Σ u_i²`` is the sum over those counts. Each group's index is taken over its covered criteria, or over
    ``index_criteria`` (groups × criteria booleans), as :func:`~scoring.measures.assess_groups` takes it.
    """
    if not criteria:
        raise ValueError("assess_patterns needs at least one criterion")
    if outcomes.size != 3 ** len(criteria):
        raise ValueError(f"outcomes must count joint outcome codes of {len(criteria)} criteria")
    counted = {c.id: patterns[c.id].count(groups, n_groups) for c in criteria}
    n = np.column_stack([counted[c.id].n for c in criteria]).astype(np.intp)
    satisfied = np.column_stack([counted[c.id].satisfied(c.satisfied_threshold) for c in criteria]).astype(np.intp)
    in_index, weights = _index_weights(criteria, index, n, rule, index_criteria)  # [group, criterion]
    # One more row for the respondents in no group (dropped from every sum below).
    in_index_rows = np.vstack([in_index, np.ones((1, len(criteria)), dtype=np.bool_)])
    entry_group = groups[outcomes.cell]
    count = outcomes.count.astype(np.float64)
    influence = np.zeros(outcomes.n_entries)
    answered_any = np.zeros(outcomes.n_entries, dtype=np.bool_)
    answered_index = np.zeros(outcomes.n_entries, dtype=np.bool_)
    by_outcome = entry_group * 3
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.column_stack([counted[c.id].score_sum for c in criteria]) / n
        share = satisfied / n
        index_value = _index_value(share, in_index, weights)
        scale = np.where(n > 0, weights / n, 0.0)
        offset = np.where(n > 0, share * scale, 0.0)
        for c in range(len(criteria)):
            outcome = (outcomes.code // 3**c) % 3
            table = np.zeros((n_groups + 1, 3))
            table[:n_groups, 1] = -offset[:, c]
            table[:n_groups, 2] = scale[:, c] - offset[:, c]
            influence += np.take(table.ravel(), by_outcome + outcome)
            answered_any |= outcome > 0
            answered_index |= (outcome > 0) & in_index_rows[entry_group, c]

        def group_sum(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            total = np.bincount(entry_group, weights=values, minlength=n_groups + 1)
            return total[:n_groups].astype(np.float64)

        respondents = np.rint(group_sum(np.where(answered_any, count, 0.0)))
        index_n = np.rint(group_sum(np.where(answered_index, count, 0.0)))
        sum_sq = group_sum(count * influence * influence)
        m = index_n.astype(np.float64)
        index_se = 100.0 * np.sqrt(sum_sq * m / (m - 1.0))
    assessment = GroupAssessment(criteria=tuple(criteria), n=n, satisfied=satisfied, mean=mean,
                                 respondents=respondents.astype(np.intp), index=index_value, index_se=index_se,
                                 index_definition=index, rule=rule, confidence_level=confidence_level,
                                 index_criteria=in_index, index_n=index_n.astype(np.intp))
    return assessment, counted
