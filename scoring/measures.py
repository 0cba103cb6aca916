"""Satisfaction measures of the criteria: satisfied share, criterion scores and the composite index (NPS, CES
and per-question summaries are :mod:`scoring.questions`'). Every result is a frozen dataclass with ``to_dict()``;
every measure honours a :class:`~scoring.suppression.SmallSampleRule` (below its ``min_n`` the estimate is
withheld).

Definitions (see ``scoring/README.md`` for the formulas and references):

* **satisfied share** of a criterion: per respondent, the mean of the items of the criterion they
  answered; the respondent is *satisfied* when that mean is at or above the criterion's
  ``satisfied_threshold``. The share is satisfied respondents / respondents who answered at least one
  item, so ``n`` counts people, the unit the Wilson interval assumes independent.
* **index**: ``100 × Σ w_c p_c / Σ w_c`` over the criteria's satisfied shares ``p_c``, with ``w_c = 1``
  for ``mean_satisfied_share`` and ``w_c = Criterion.weight`` for ``weighted_satisfied_share``, taken
  per group over the criteria it covers: a ``required`` criterion (``Criterion.in_index``) below ``min_n``
  withholds the index, a ``when_answered`` one below ``min_n`` is left out of it. Its interval comes from
  Taylor linearisation with the respondent as sampling unit, so the correlation of one person's answers
  across criteria is accounted for (the delta method with independent criteria would understate it).

>>> from questionnaires.model import Criterion, IndexDefinition
>>> criteria = (Criterion("access", {"en": "Access"}, 4), Criterion("result", {"en": "Result"}, 4))
>>> answers = {
...     "access": np.array([[5, 4], [3, 2], [4, np.nan], [2, 5]] * 10),
...     "result": np.array([[5], [4], [2], [np.nan]] * 10),
... }
>>> scores, index = score_criteria(criteria, answers, IndexDefinition("mean_satisfied_share", target=60))
>>> [(s.id, s.n, s.satisfied_share) for s in scores]
[('access', 40, 0.5), ('result', 30, 0.6666666666666666)]
>>> round(index.value, 2), index.met
(58.33, False)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from questionnaires.model import Criterion, IndexDefinition, IndexFormula
from scoring._common import ConfidenceInterval, FloatArray, IntArray, as_float_array, json_number, z_value
from scoring.intervals import wilson_interval
from scoring.suppression import DEFAULT_RULE, SmallSampleRule

__all__ = [
    "CriterionScore",
    "GroupAssessment",
    "IndexScore",
    "SatisfiedShare",
    "assess_groups",
    "respondent_means",
    "satisfied_share",
    "score_criteria",
]

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class SatisfiedShare:
    """``k`` satisfied out of ``n``; ``statistic`` is ``k / n`` (``None`` when suppressed).

    >>> share = satisfied_share([5, 4, 3, 2, 5] * 10, threshold=4)
    >>> share.statistic, share.n
    (0.6, 50)
    >>> ci = share.ci(0.95)
    >>> round(ci.low, 3), round(ci.high, 3)
    (0.462, 0.724)
    >>> satisfied_share([5, 4, 3], threshold=4).to_dict()["suppression_reason"]
    'n=3 < 30'
    """

    k: int
    n: int
    threshold: float
    statistic: float | None
    suppressed: bool = False
    suppression_reason: str | None = None

    def ci(self, confidence_level: float = 0.95) -> ConfidenceInterval | None:
        """The Wilson score interval of the share (``None`` when suppressed)."""
        if self.suppressed or self.n == 0:
            return None
        low, high = wilson_interval(float(self.k), float(self.n), confidence_level)
        return ConfidenceInterval(low, high, confidence_level)

    def to_dict(self, confidence_level: float = 0.95) -> dict[str, Any]:
        ci = self.ci(confidence_level)
        return {
            "k": self.k,
            "n": self.n,
            "threshold": self.threshold,
            "statistic": json_number(self.statistic),
            "ci": None if ci is None else ci.to_dict(),
            "suppressed": self.suppressed,
            "suppression_reason": self.suppression_reason,
        }


def satisfied_share(
    values: npt.ArrayLike, threshold: float, rule: SmallSampleRule = DEFAULT_RULE
) -> SatisfiedShare:
    """The share of answered ``values`` (NaN = not answered) at or above ``threshold``."""
    v = as_float_array(values).ravel()
    v = v[~np.isnan(v)]
    n = int(v.size)
    k = int(np.count_nonzero(v >= threshold))
    reason = rule.reason(n)
    return SatisfiedShare(
        k=k,
        n=n,
        threshold=threshold,
        statistic=None if reason or n == 0 else k / n,
        suppressed=reason is not None,
        suppression_reason=reason,
    )


def respondent_means(items: npt.ArrayLike) -> FloatArray:
    """Per respondent (row), the mean of the items (columns) they answered; NaN when none.

    >>> respondent_means(np.array([[5, 3], [np.nan, 4], [np.nan, np.nan]])).tolist()
    [4.0, 4.0, nan]
    """
    x = as_float_array(items)
    if x.ndim == 1:
        return x.copy()
    if x.ndim != 2:
        raise ValueError(f"items must be a respondents × items matrix, got {x.ndim} dimensions")
    # Column by column: a criterion has a few items, and 1-d passes beat axis reductions on strided views.
    count = np.zeros(x.shape[0])
    total = np.zeros(x.shape[0])
    for j in range(x.shape[1]):
        column = x[:, j]
        answered = ~np.isnan(column)
        count += answered
        total += np.where(answered, column, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        means: FloatArray = total / count  # 0/0 = NaN for a respondent who answered none
    return means


@dataclass(frozen=True)
class CriterionScore:
    """One criterion's score: respondents ``n``, ``mean`` of respondent means, ``satisfied_share``
    (0-1) with its Wilson ``ci``, and whether it ``met`` the criterion's ``target`` share."""

    id: str
    n: int
    satisfied: int
    mean: float | None
    satisfied_share: float | None
    ci: ConfidenceInterval | None
    suppressed: bool
    suppression_reason: str | None
    target: float | None
    met: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "n": self.n,
            "satisfied": self.satisfied,
            "mean": json_number(self.mean),
            "satisfied_share": json_number(self.satisfied_share),
            "ci": None if self.ci is None else self.ci.to_dict(),
            "suppressed": self.suppressed,
            "suppression_reason": self.suppression_reason,
            "target": self.target,
            "met": self.met,
        }


@dataclass(frozen=True)
class IndexScore:
    """The composite index in percent (0-100) with its interval, ``n`` respondents and its target.

    ``criteria`` are the ids of the criteria it is taken over, in questionnaire order: the ``required``
    ones and the ``when_answered`` ones with at least ``min_n`` answers (or the caller's ``index_criteria``);
    ``n`` counts the respondents who answered any of them. A suppressed index names the criteria it would
    be taken over, the one that withholds it among them.
    """

    value: float | None
    ci: ConfidenceInterval | None
    n: int
    formula: IndexFormula
    target: float | None
    met: bool | None
    suppressed: bool
    suppression_reason: str | None
    criteria: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": json_number(self.value),
            "ci": None if self.ci is None else self.ci.to_dict(),
            "n": self.n,
            "formula": self.formula,
            "target": self.target,
            "met": self.met,
            "suppressed": self.suppressed,
            "suppression_reason": self.suppression_reason,
            "criteria": list(self.criteria),
        }


@dataclass(frozen=True, eq=False)
class GroupAssessment:
    """Criterion scores and the index for many groups at once (arrays indexed ``[group, criterion]``).

    Built by :func:`assess_groups`; :meth:`criterion_score` and :meth:`index_score` give the frozen
    per-group results, :meth:`to_dict` the JSON-ready list. ``index_criteria[g, c]`` says whether criterion
    ``c`` is in group ``g``'s index (:class:`IndexScore` ``criteria``), ``index_n[g]`` how many of the
    group's respondents answered any of those; ``respondents[g]`` counts those who answered any criterion.
    ``index`` and ``index_se`` are the raw estimates over ``index_criteria``, shown or not.
    """

    criteria: tuple[Criterion, ...]
    n: IntArray
    satisfied: IntArray
    mean: FloatArray
    respondents: IntArray
    index: FloatArray
    index_se: FloatArray
    index_definition: IndexDefinition | None
    rule: SmallSampleRule
    confidence_level: float
    index_criteria: BoolArray
    index_n: IntArray

    @property
    def n_groups(self) -> int:
        return int(self.n.shape[0])

    @property
    def index_shown(self) -> BoolArray:
        """Per group, whether its index is shown: it has criteria, each with at least ``min_n`` answers, and a
        value (what :meth:`index_score` judges, for every group at once)."""
        enough = np.where(self.index_criteria, self.n >= self.rule.min_n, True).all(axis=1)
        shown: BoolArray = enough & self.index_criteria.any(axis=1) & np.isfinite(self.index)
        return shown

    @property
    def share(self) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.satisfied / self.n

    def criterion_score(self, group: int, criterion_id: str) -> CriterionScore:
        c = next((i for i, crit in enumerate(self.criteria) if crit.id == criterion_id), None)
        if c is None:
            raise KeyError(f"no criterion {criterion_id!r}")
        criterion = self.criteria[c]
        n, k = int(self.n[group, c]), int(self.satisfied[group, c])
        reason = self.rule.reason(n)
        if reason:
            share = mean = None
            ci = None
        else:
            share, mean = k / n, float(self.mean[group, c])
            low, high = wilson_interval(float(k), float(n), self.confidence_level)
            ci = ConfidenceInterval(low, high, self.confidence_level)
        met = None if share is None or criterion.target is None else share >= criterion.target
        return CriterionScore(
            id=criterion.id,
            n=n,
            satisfied=k,
            mean=mean,
            satisfied_share=share,
            ci=ci,
            suppressed=reason is not None,
            suppression_reason=reason,
            target=criterion.target,
            met=met,
        )

    def criterion_scores(self, group: int) -> tuple[CriterionScore, ...]:
        return tuple(self.criterion_score(group, c.id) for c in self.criteria)

    def index_score(self, group: int) -> IndexScore | None:
        definition = self.index_definition
        if definition is None:
            return None
        in_index = self.index_criteria[group]
        ids = tuple(c.id for c, used in zip(self.criteria, in_index.tolist(), strict=True) if used)
        reason = None
        for c in np.flatnonzero(in_index).tolist():
            reason = self.rule.reason(int(self.n[group, c]), label=f"{self.criteria[c].id}: n")
            if reason:
                break
        value = float(self.index[group])
        if reason is None and not math.isfinite(value):
            reason = "no answers"  # no criterion to take the index over
        n = int(self.index_n[group])
        if reason:
            return IndexScore(
                value=None,
                ci=None,
                n=n,
                formula=definition.formula,
                target=definition.target,
                met=None,
                suppressed=True,
                suppression_reason=reason,
                criteria=ids,
            )
        half = z_value(self.confidence_level) * float(self.index_se[group])
        ci = ConfidenceInterval(
            max(0.0, min(value, value - half)), min(100.0, max(value, value + half)), self.confidence_level
        )
        return IndexScore(
            value=value,
            ci=ci,
            n=n,
            formula=definition.formula,
            target=definition.target,
            met=None if definition.target is None else value >= definition.target,
            suppressed=False,
            suppression_reason=None,
            criteria=ids,
        )

    def to_dict(self) -> list[dict[str, Any]]:
        rows = []
        for g in range(self.n_groups):
            index = self.index_score(g)
            rows.append(
                {
                    "group": g,
                    "criteria": [s.to_dict() for s in self.criterion_scores(g)],
                    "index": None if index is None else index.to_dict(),
                }
            )
        return rows


def _formula_weights(criteria: Sequence[Criterion], definition: IndexDefinition | None) -> FloatArray:
    """The ``w_c`` of the index formula, not normalised: 1, or ``Criterion.weight`` for a weighted index."""
    if definition is not None and definition.formula == "weighted_satisfied_share":
        weights = np.array([c.weight for c in criteria], dtype=np.float64)
        if np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError("criterion weights must be non-negative with a positive sum")
    else:
        weights = np.ones(len(criteria), dtype=np.float64)
    return weights


def _index_weights(
    criteria: Sequence[Criterion],
    definition: IndexDefinition | None,
    n: IntArray,
    rule: SmallSampleRule,
    index_criteria: npt.ArrayLike | None,
) -> tuple[BoolArray, FloatArray]:
    """Per group, the criteria the index is taken over and their weights renormalised over them (both
    ``[group, criterion]``; a group without any criterion has weights 0).

    Without ``index_criteria``: the required criteria, and the ``when_answered`` ones with ``n >= min_n``.
    """
    n_groups, n_crit = n.shape
    if index_criteria is None:
        required = np.array([c.in_index == "required" for c in criteria], dtype=np.bool_)
        in_index: BoolArray = required[None, :] | (n >= rule.min_n)
    else:
        in_index = np.asarray(index_criteria)
        if in_index.dtype != np.bool_:
            raise TypeError("index_criteria must be a boolean array")
        if in_index.shape != (n_groups, n_crit):
            raise ValueError(
                f"index_criteria must be a groups × criteria matrix of shape {(n_groups, n_crit)}, got {in_index.shape}"
            )
    chosen = np.where(in_index, _formula_weights(criteria, definition), 0.0)
    total = chosen.sum(axis=1, keepdims=True)
    weights: FloatArray = np.divide(chosen, total, out=np.zeros_like(chosen), where=total > 0)
    return in_index, weights


def assess_groups(
    criteria: Sequence[Criterion],
    answers: Mapping[str, npt.ArrayLike],
    groups: npt.ArrayLike,
    n_groups: int,
    index: IndexDefinition | None = None,
    rule: SmallSampleRule = DEFAULT_RULE,
    confidence_level: float = 0.95,
    index_criteria: npt.ArrayLike | None = None,
) -> GroupAssessment:
    """Score every criterion, and the index, for every group in one vectorised pass.

    ``answers[criterion.id]`` is the respondents × items matrix of the criterion's questions
    (NaN = not answered), rows aligned with ``groups`` (one integer code per respondent).

    Each group's index is taken over its *covered* criteria (``n >= rule.min_n``): it is withheld when a
    ``required`` criterion is not covered, and leaves out a ``when_answered`` one that is not.
    ``index_criteria`` (groups × criteria booleans) fixes instead which criteria each group's index is
    taken over, all of them required: a trend compares each month's index over the same criteria so.

    >>> from questionnaires.model import Criterion, IndexDefinition
    >>> criteria = (Criterion("result", {"en": "Result"}, 4),
    ...             Criterion("feedback", {"en": "Feedback"}, 4, in_index="when_answered"))
    >>> answers = {"result": np.array([[5.0], [3.0]] * 20),                  # 40 answers, 20 satisfied
    ...            "feedback": np.array([[5.0]] * 10 + [[np.nan]] * 30)}     # 10 answers: below min_n
    >>> groups = np.zeros(40, dtype=np.intp)
    >>> index = assess_groups(criteria, answers, groups, 1, IndexDefinition("mean_satisfied_share")).index_score(0)
    >>> index.value, index.criteria, index.n
    (50.0, ('result',), 40)
    >>> fixed = assess_groups(criteria, answers, groups, 1, IndexDefinition("mean_satisfied_share"),
    ...                       index_criteria=[[True, True]]).index_score(0)
    >>> fixed.suppression_reason, fixed.criteria
    ('feedback: n=10 < 30', ('result', 'feedback'))
    """
    if not criteria:
        raise ValueError("assess_groups needs at least one criterion")
    z_value(confidence_level)
    g = np.asarray(groups)
    if not np.issubdtype(g.dtype, np.integer) or g.ndim != 1:
        raise TypeError("groups must be a 1-d array of integer codes")
    g = g.astype(np.intp, copy=False)
    if g.size and (int(g.min()) < 0 or int(g.max()) >= n_groups):
        raise ValueError(f"group codes must lie in 0..{n_groups - 1}")
    n_resp, n_crit = g.shape[0], len(criteria)
    n = np.zeros((n_groups, n_crit), dtype=np.intp)
    satisfied = np.zeros((n_groups, n_crit), dtype=np.intp)
    mean = np.full((n_groups, n_crit), np.nan)
    answered_by: list[npt.NDArray[np.bool_]] = []
    satisfied_by: list[npt.NDArray[np.bool_]] = []
    for c, criterion in enumerate(criteria):
        if criterion.id not in answers:
            raise KeyError(f"no answers for criterion {criterion.id!r}")
        scores = respondent_means(answers[criterion.id])
        if scores.shape[0] != n_resp:
            raise ValueError(f"answers for {criterion.id!r} have {scores.shape[0]} rows, groups has {n_resp}")
        answered = ~np.isnan(scores)
        is_sat = scores >= criterion.satisfied_threshold  # False where not answered (NaN)
        answered_by.append(answered)
        satisfied_by.append(is_sat)
        ga = g[answered]
        n[:, c] = np.bincount(ga, minlength=n_groups)
        satisfied[:, c] = np.bincount(g[is_sat], minlength=n_groups)
        totals = np.bincount(ga, weights=scores[answered], minlength=n_groups)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean[:, c] = totals / n[:, c]
    in_index, weights = _index_weights(criteria, index, n, rule, index_criteria)  # [group, criterion]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = satisfied / n
        index_value = _index_value(share, in_index, weights)
        # Taylor linearisation of the ratio estimators p_c = Σ s_ic / Σ a_ic: each respondent's
        # influence on the index is u_i = Σ_c w_gc (s_ic - p_c a_ic) / n_c over the group's index
        # criteria (w_gc = 0 for the others); var = m/(m-1) Σ u_i².
        scale = np.where(n > 0, weights / n, 0.0)  # w_gc / n_gc
        offset = np.where(n > 0, share * scale, 0.0)  # w_gc p_gc / n_gc
        influence = np.zeros(n_resp)
        answered_any = np.zeros(n_resp, dtype=bool)
        answered_index = np.zeros(n_resp, dtype=bool)  # answered a criterion of their group's index
        for c in range(n_crit):
            a = answered_by[c]
            answered_any |= a
            column = in_index[:, c]
            answered_index |= a if column.all() else a & column[g]
            influence += satisfied_by[c] * scale[g, c] - a * offset[g, c]
        respondents = np.bincount(g[answered_any], minlength=n_groups)
        index_n = np.bincount(g[answered_index], minlength=n_groups)
        sum_sq = np.bincount(g, weights=influence * influence, minlength=n_groups)
        m = index_n.astype(np.float64)
        index_se = 100.0 * np.sqrt(sum_sq * m / (m - 1.0))
    return GroupAssessment(
        criteria=tuple(criteria),
        n=n,
        satisfied=satisfied,
        mean=mean,
        respondents=respondents,
        index=index_value,
        index_se=index_se,
        index_definition=index,
        rule=rule,
        confidence_level=confidence_level,
        index_criteria=in_index,
        index_n=index_n,
    )


def _index_value(share: FloatArray, in_index: BoolArray, weights: FloatArray) -> FloatArray:
    """``100 · Σ_c w_gc p_gc`` per group over its index criteria (NaN where a share is, or no criterion is)."""
    value: FloatArray = 100.0 * (np.where(in_index, share, 0.0) * weights).sum(axis=1)
    value[~in_index.any(axis=1)] = np.nan
    return value


def score_criteria(
    criteria: Sequence[Criterion],
    answers: Mapping[str, npt.ArrayLike],
    index: IndexDefinition | None = None,
    rule: SmallSampleRule = DEFAULT_RULE,
    confidence_level: float = 0.95,
    index_criteria: Sequence[bool] | None = None,
) -> tuple[tuple[CriterionScore, ...], IndexScore | None]:
    """Criterion scores and the index of one sample (one unit, service and period); ``index_criteria``
    (one boolean per criterion) as in :func:`assess_groups`."""
    rows = {as_float_array(a).shape[0] for a in answers.values()}
    if len(rows) > 1:
        raise ValueError(f"every criterion's answers must have the same respondents, got row counts {sorted(rows)}")
    n_resp = rows.pop() if rows else 0
    chosen = None if index_criteria is None else np.asarray(index_criteria, dtype=np.bool_).reshape(1, -1)
    assessment = assess_groups(
        criteria, answers, np.zeros(n_resp, dtype=np.intp), 1, index, rule, confidence_level, chosen
    )
    return assessment.criterion_scores(0), assessment.index_score(0)
