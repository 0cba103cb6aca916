"""Post-stratification to known contact volumes, weighted shares, and Kish's design effect.

A sample over-represents the cells that answer more (counter visitors scan the QR code more often
than callers open an SMS link). Weighting each respondent by ``population share / sample share`` of
their cell (channel × service, ...) restores the contact mix; the price is precision, measured by
Kish's design effect ``deff = n·Σw² / (Σw)²`` and the effective sample size ``n / deff``, which the
weighted Wilson interval uses in place of ``n``. The composite index is weighted by
:func:`weighted_index_groups`, for every group at once, with its linearised interval.

>>> cells = np.array([0] * 60 + [1] * 40)          # 60 counter answers, 40 call answers
>>> weights = post_stratify(cells, population=[5_000, 15_000])   # but calls are 75% of contacts
>>> weights.cell_weights.tolist()
[0.4166666666666667, 1.875]
>>> round(weights.design_effect, 3), round(weights.effective_n, 1)
(1.51, 66.2)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from scoring._common import ConfidenceInterval, FloatArray, IntArray, as_float_array, json_number, z_value
from scoring.intervals import wilson_interval
from scoring.suppression import DEFAULT_RULE, SmallSampleRule

__all__ = [
    "PostStratification",
    "WeightedIndex",
    "WeightedIndexGroups",
    "WeightedShare",
    "kish_design_effect",
    "post_stratify",
    "weighted_index_groups",
    "weighted_satisfied_share",
]

BoolArray = npt.NDArray[np.bool_]


def kish_design_effect(weights: npt.ArrayLike) -> float:
    """Kish's (1965) design effect due to unequal weights, ``n·Σw²/(Σw)²`` (1 for equal weights).

    >>> kish_design_effect([1, 1, 1, 1]), kish_design_effect([1, 3])
    (1.0, 1.25)
    """
    w = as_float_array(weights).ravel()
    total = w.sum()
    if w.size == 0 or total <= 0:
        return math.nan
    return float(w.size * np.sum(w * w) / (total * total))


@dataclass(frozen=True, eq=False)
class PostStratification:
    """The weights of one post-stratification: per cell and per respondent (mean 1 over the sample).

    Cells with contacts but no respondent cannot be represented: they are listed in ``empty_cells``
    and the population shares are renormalised over the covered cells (``coverage`` is the share of
    the contact volume that the sample covers).
    """

    cell_weights: FloatArray
    weights: FloatArray
    sample_counts: npt.NDArray[np.intp]
    population: FloatArray
    empty_cells: tuple[int, ...]
    coverage: float
    frequency: npt.NDArray[np.int64] | None = None  # respondents per row, when rows are counted cells

    @property
    def n(self) -> int:
        return int(self.weights.shape[0] if self.frequency is None else self.frequency.sum())

    @property
    def design_effect(self) -> float:
        if self.frequency is None:
            return kish_design_effect(self.weights)
        f, w = self.frequency.astype(np.float64), self.weights
        total = float(f @ w)
        return math.nan if self.n == 0 or total <= 0 else float(self.n * (f @ (w * w)) / (total * total))

    @property
    def effective_n(self) -> float:
        deff = self.design_effect
        return math.nan if math.isnan(deff) else self.n / deff

    def to_dict(self) -> dict[str, Any]:
        return {
            "cell_weights": [json_number(float(w)) for w in self.cell_weights],
            "sample_counts": [int(c) for c in self.sample_counts],
            "population": [json_number(float(p)) for p in self.population],
            "empty_cells": list(self.empty_cells),
            "coverage": json_number(self.coverage),
            "n": self.n,
            "design_effect": json_number(self.design_effect),
            "effective_n": json_number(self.effective_n),
        }


def post_stratify(cells: npt.ArrayLike, population: npt.ArrayLike,
                  frequency: npt.ArrayLike | None = None) -> PostStratification:
    """Weights that make the sample's mix of ``cells`` match the known contact ``population`` per cell.

    ``cells`` is each respondent's integer cell code (see :func:`scoring.grouping.combine_codes`);
    ``population[c]`` the contact volume of cell ``c`` in the period. With ``frequency``, row ``r`` stands for
    ``frequency[r]`` respondents of its cell (a tally); the weights are the same.
    """
    c = np.asarray(cells)
    if c.ndim != 1 or not np.issubdtype(c.dtype, np.integer):
        raise TypeError("cells must be a 1-d array of integer codes")
    pop = as_float_array(population).ravel()
    if np.any(pop < 0) or not np.all(np.isfinite(pop)):
        raise ValueError("population volumes must be finite and non-negative")
    if c.size and (int(c.min()) < 0 or int(c.max()) >= pop.size):
        raise ValueError(f"cell codes must lie in 0..{pop.size - 1}")
    f = None if frequency is None else np.asarray(frequency, dtype=np.int64).ravel()
    if f is not None and (f.shape != c.shape or np.any(f < 0)):
        raise ValueError("frequency must give a non-negative count for every row of cells")
    counts = np.bincount(c, minlength=pop.size) if f is None else \
        np.rint(np.bincount(c, weights=f, minlength=pop.size)).astype(np.int64)
    respondents = int(counts.sum())
    covered = counts > 0
    covered_population = pop[covered].sum()
    total_population = pop.sum()
    if respondents == 0 or covered_population <= 0:
        raise ValueError("no respondent falls in a cell with contacts: nothing to weight")
    population_share = np.where(covered, pop / covered_population, 0.0)
    sample_share = counts / respondents
    with np.errstate(divide="ignore", invalid="ignore"):
        cell_weights = np.where(covered, population_share / sample_share, 0.0)
    empty = tuple(int(i) for i in np.flatnonzero(~covered & (pop > 0)))
    return PostStratification(
        cell_weights=cell_weights,
        weights=cell_weights[c],
        sample_counts=counts,
        population=pop,
        empty_cells=empty,
        coverage=float(covered_population / total_population),
        frequency=f,
    )


@dataclass(frozen=True)
class WeightedShare:
    """A weighted satisfied share with its design effect and effective n.

    The :meth:`ci` is Wilson's interval with ``n`` replaced by ``effective_n`` (and ``k`` by
    ``share × effective_n``), the usual adjustment for unequal weights (Kish 1965; Korn & Graubard 1998).
    """

    statistic: float | None
    n: int
    effective_n: float
    design_effect: float
    threshold: float
    suppressed: bool = False
    suppression_reason: str | None = None

    def ci(self, confidence_level: float = 0.95) -> ConfidenceInterval | None:
        if self.statistic is None or self.suppressed or not self.effective_n > 0:
            return None
        low, high = wilson_interval(self.statistic * self.effective_n, self.effective_n, confidence_level)
        return ConfidenceInterval(low, high, confidence_level)

    def to_dict(self, confidence_level: float = 0.95) -> dict[str, Any]:
        ci = self.ci(confidence_level)
        return {
            "statistic": json_number(self.statistic),
            "n": self.n,
            "effective_n": json_number(self.effective_n),
            "design_effect": json_number(self.design_effect),
            "threshold": self.threshold,
            "ci": None if ci is None else ci.to_dict(),
            "suppressed": self.suppressed,
            "suppression_reason": self.suppression_reason,
        }


def weighted_satisfied_share(
    values: npt.ArrayLike,
    weights: npt.ArrayLike,
    threshold: float,
    rule: SmallSampleRule = DEFAULT_RULE,
) -> WeightedShare:
    """``Σ w·[x ≥ threshold] / Σ w`` over the answered values (NaN = not answered).

    The small-sample rule applies to the *effective* n: weighting cannot make 25 answers worth 30.

    >>> share = weighted_satisfied_share([5, 2] * 20, [1.0, 3.0] * 20, threshold=4)
    >>> share.statistic, round(share.effective_n, 1)
    (0.25, 32.0)
    """
    v = as_float_array(values).ravel()
    w = as_float_array(weights).ravel()
    if v.shape != w.shape:
        raise ValueError("values and weights must have the same length")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite and non-negative")
    answered = ~np.isnan(v)
    v, w = v[answered], w[answered]
    n = int(v.size)
    total = float(w.sum())
    deff = kish_design_effect(w)
    effective_n = 0.0 if math.isnan(deff) else n / deff
    reason = rule.reason(effective_n, label="effective n")
    statistic = None if reason or total <= 0 else float(w[v >= threshold].sum() / total)
    return WeightedShare(
        statistic=statistic,
        n=n,
        effective_n=effective_n,
        design_effect=deff,
        threshold=threshold,
        suppressed=reason is not None,
        suppression_reason=reason,
    )


@dataclass(frozen=True)
class WeightedIndex:
    """The weighted composite index of one group in percent (0-100), with its linearised interval.

    ``value``, ``ci`` and ``se`` are ``None`` when suppressed. ``criteria`` are the ids of the criteria it is
    taken over (the required ones and the others whose effective n reaches ``min_n``; when suppressed, those
    it would be taken over); ``n`` counts the respondents who answered any of them; ``effective_n`` and
    ``design_effect`` are Kish's over their weights.
    """

    value: float | None
    ci: ConfidenceInterval | None
    se: float | None
    n: int
    effective_n: float
    design_effect: float
    suppressed: bool = False
    suppression_reason: str | None = None
    criteria: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": json_number(self.value),
            "ci": None if self.ci is None else self.ci.to_dict(),
            "se": json_number(self.se),
            "n": self.n,
            "effective_n": json_number(self.effective_n),
            "design_effect": json_number(self.design_effect),
            "suppressed": self.suppressed,
            "suppression_reason": self.suppression_reason,
            "criteria": list(self.criteria),
        }


@dataclass(frozen=True, eq=False)
class WeightedIndexGroups:
    """The weighted composite index for many groups at once (arrays indexed ``[group]`` or
    ``[group, criterion]``), built by :func:`weighted_index_groups`; :meth:`result` gives one group's
    :class:`WeightedIndex`.

    ``index_criteria[g, c]`` says whether criterion ``c`` is in group ``g``'s index: every required criterion,
    and the others whose effective n reaches ``rule.min_n``. Estimates are withheld (NaN) where suppressed:
    ``value``, ``se``, ``low`` and ``high`` when a criterion of the index has an effective n below
    ``rule.min_n`` (or the index has no criterion); ``share`` (the weighted satisfied share of each
    criterion, a by-product) where that criterion's effective n is. Counts stay visible.
    """

    value: FloatArray
    se: FloatArray
    low: FloatArray
    high: FloatArray
    n: IntArray
    effective_n: FloatArray
    design_effect: FloatArray
    suppressed: BoolArray
    share: FloatArray
    criterion_n: IntArray
    criterion_effective_n: FloatArray
    criterion_ids: tuple[str, ...]
    rule: SmallSampleRule
    confidence_level: float
    index_criteria: BoolArray

    @property
    def n_groups(self) -> int:
        return int(self.n.shape[0])

    @property
    def criterion_design_effect(self) -> FloatArray:
        """Kish's design effect of each criterion's respondents in each group (NaN where none answered)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            deff: FloatArray = np.where(
                self.criterion_effective_n > 0, self.criterion_n / self.criterion_effective_n, np.nan
            )
        return deff

    def reason(self, group: int) -> str | None:
        """Why group ``group``'s index is suppressed (``"result: effective n=25.8 < 30"``), or ``None``."""
        if not self.suppressed[group]:
            return None
        for c in np.flatnonzero(self.index_criteria[group]).tolist():
            label = f"{self.criterion_ids[c]}: effective n"
            reason = self.rule.reason(float(self.criterion_effective_n[group, c]), label=label)
            if reason:
                return reason
        return "no answers"

    def criteria(self, group: int) -> tuple[str, ...]:
        """The ids of the criteria group ``group``'s index is taken over, in the order given."""
        return tuple(self.criterion_ids[c] for c in np.flatnonzero(self.index_criteria[group]).tolist())

    def result(self, group: int) -> WeightedIndex:
        n, effective_n, deff = int(self.n[group]), float(self.effective_n[group]), float(self.design_effect[group])
        criteria = self.criteria(group)
        if self.suppressed[group]:
            return WeightedIndex(None, None, None, n, effective_n, deff, True, self.reason(group), criteria)
        se = float(self.se[group])
        ci = None
        if math.isfinite(se):
            ci = ConfidenceInterval(float(self.low[group]), float(self.high[group]), self.confidence_level)
        value = float(self.value[group])
        return WeightedIndex(value, ci, se if math.isfinite(se) else None, n, effective_n, deff, False, None, criteria)


def weighted_index_groups(
    satisfied: npt.ArrayLike,
    answered: npt.ArrayLike,
    weights: npt.ArrayLike,
    groups: npt.ArrayLike,
    n_groups: int,
    criterion_weights: npt.ArrayLike,
    rule: SmallSampleRule = DEFAULT_RULE,
    confidence_level: float = 0.95,
    criterion_ids: Sequence[str] | None = None,
    required: Sequence[bool] | None = None,
    frequency: npt.ArrayLike | None = None,
) -> WeightedIndexGroups:
    """The composite index ``100 · Σ_c w'_c p_c^w`` of weighted satisfied shares, with its Taylor-linearised
    interval, for every group in one vectorised pass (loops over criteria only).

    ``satisfied`` and ``answered`` are respondents × criteria booleans (a respondent is satisfied with
    a criterion they answered, see :func:`scoring.measures.respondent_means`); ``weights`` one weight per
    respondent (:func:`post_stratify`); ``groups`` one code per respondent in ``0..n_groups``
    (``n_groups`` = in no group); ``criterion_weights`` the criteria's weights (normalised here: all 1
    for ``mean_satisfied_share``, ``Criterion.weight`` for ``weighted_satisfied_share``);
    ``criterion_ids`` name the criteria in suppression reasons and results; ``required`` says per criterion
    whether it is required in the index (``Criterion.in_index == "required"``; ``None``: all are); with
    ``frequency``, row ``r`` stands for ``frequency[r]`` respondents alike (a tally of answer patterns).

    Each share is a ratio ``p_c^w = Σ w_i s_ic / N_c^w`` with ``N_c^w = Σ w_i a_ic``, so respondent i's
    influence on the index is ``u_i = w_i Σ_c w'_c (s_ic − p_c^w a_ic) / N_c^w`` and
    ``var = 100² · m/(m−1) · Σ u_i²`` (m = respondents who answered any criterion), the with-replacement
    linearisation of a ratio (Wolter 2007, ch. 6; ``svyratio`` of R's survey package). With all weights 1
    it is exactly the unweighted index of :func:`scoring.measures.assess_groups`. A criterion is *covered*
    when its *effective* n ``(N_c^w)² / Σ w_i² a_ic`` reaches ``rule.min_n``, as :func:`weighted_satisfied_share`
    judges a share: a group is suppressed when a required criterion is not covered, and its index is
    otherwise taken over its covered criteria, ``w'_c`` renormalised over them (m then counts the respondents
    who answered any of them).

    Worked example (``scoring/README.md``): 20 respondents in each of two cells, but the second cell had
    three times the contacts, so its respondents weigh 1.5 and the first cell's 0.5. In the first cell
    everyone is satisfied with access and half are with the result (the other half skipped it); in the
    second nobody is satisfied with access and half are with the result.

    >>> w = post_stratify(np.repeat([0, 1], 20), population=[1_000, 3_000]).weights
    >>> answered = np.ones((40, 2), dtype=bool)
    >>> answered[10:20, 1] = False
    >>> satisfied = answered & np.repeat([[True, True], [True, False], [False, True], [False, False]], 10, axis=0)
    >>> everyone = np.zeros(40, dtype=np.intp)  # one group
    >>> index = weighted_index_groups(satisfied, answered, w, everyone, 1, [1, 1], SmallSampleRule(min_n=20),
    ...                               criterion_ids=("access", "result"))
    >>> index.share.round(4).tolist(), index.criterion_effective_n.round(1).tolist()
    ([[0.25, 0.5714]], [[32.0, 25.8]])
    >>> result = index.result(0)
    >>> round(result.value, 2), round(result.se, 2), round(result.ci.low, 1), round(result.ci.high, 1)
    (41.07, 6.32, 28.7, 53.5)
    >>> result.n, result.effective_n, result.design_effect
    (40, 32.0, 1.25)

    With the default ``min_n`` of 30 it is suppressed: 30 answered the result, but they weigh as 25.8.

    >>> default = weighted_index_groups(satisfied, answered, w, everyone, 1, [1, 1], criterion_ids=("access", "result"))
    >>> default.result(0).suppression_reason
    'result: effective n=25.8 < 30'

    If the result were asked only of some (``when_answered``), the index would be taken over access alone:

    >>> access_only = weighted_index_groups(satisfied, answered, w, everyone, 1, [1, 1],
    ...                                     criterion_ids=("access", "result"), required=[True, False]).result(0)
    >>> access_only.value, round(access_only.se, 2), access_only.criteria
    (25.0, 6.0, ('access',))
    """
    s = np.asarray(satisfied)
    a = np.asarray(answered)
    if s.dtype != np.bool_ or a.dtype != np.bool_:
        raise TypeError("satisfied and answered must be boolean arrays")
    if s.ndim != 2 or s.shape != a.shape:
        raise ValueError(
            f"satisfied and answered must be respondents × criteria matrices of one shape, got {s.shape} and {a.shape}"
        )
    if np.any(s & ~a):
        raise ValueError("a respondent can only be satisfied with a criterion they answered")
    n_resp, n_crit = s.shape
    if n_crit == 0:
        raise ValueError("weighted_index_groups needs at least one criterion")
    w = as_float_array(weights)
    if w.shape != (n_resp,):
        raise ValueError(f"weights must have one value per respondent ({n_resp}), got shape {w.shape}")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite and non-negative")
    g = np.asarray(groups)
    if g.ndim != 1 or not np.issubdtype(g.dtype, np.integer):
        raise TypeError("groups must be a 1-d array of integer codes")
    if g.shape[0] != n_resp:
        raise ValueError(f"groups has {g.shape[0]} codes, the answers {n_resp} respondents")
    g = g.astype(np.intp, copy=False)
    if g.size and (int(g.min()) < 0 or int(g.max()) > n_groups):
        raise ValueError(f"group codes must lie in 0..{n_groups} ({n_groups} = in no group)")
    cw = as_float_array(criterion_weights)
    if cw.shape != (n_crit,) or np.any(cw < 0) or not np.all(np.isfinite(cw)) or cw.sum() <= 0:
        raise ValueError(f"criterion_weights must be {n_crit} finite non-negative numbers with a positive sum")
    ids = tuple(f"criteria[{c}]" for c in range(n_crit)) if criterion_ids is None else tuple(criterion_ids)
    if len(ids) != n_crit:
        raise ValueError(f"criterion_ids must name the {n_crit} criteria, got {len(ids)}")
    req = np.ones(n_crit, dtype=np.bool_) if required is None else np.asarray(required)
    if req.dtype != np.bool_ or req.shape != (n_crit,):
        raise ValueError(f"required must be {n_crit} booleans, one per criterion")
    z = z_value(confidence_level)
    freq = None if frequency is None else as_float_array(frequency).ravel()
    if freq is not None and (freq.shape != (n_resp,) or np.any(freq < 0)):
        raise ValueError(f"frequency must give a non-negative count for each of the {n_resp} rows")

    size = n_groups + 1  # the last row collects the respondents in no group and is dropped

    def group_sum(x: npt.NDArray[Any]) -> FloatArray:
        values = x if freq is None else x * freq
        return np.bincount(g, weights=values, minlength=size).astype(np.float64, copy=False)

    w2 = w * w
    count = np.empty((size, n_crit))
    weight_answered = np.empty((size, n_crit))  # N_c^w
    weight_satisfied = np.empty((size, n_crit))
    square_answered = np.empty((size, n_crit))
    for c in range(n_crit):
        answered_c = a[:, c]
        count[:, c] = group_sum(answered_c)
        weight_answered[:, c] = group_sum(np.where(answered_c, w, 0.0))
        weight_satisfied[:, c] = group_sum(np.where(s[:, c], w, 0.0))
        square_answered[:, c] = group_sum(np.where(answered_c, w2, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = weight_satisfied / weight_answered
        criterion_effective_n = np.where(square_answered > 0, weight_answered**2 / square_answered, 0.0)
        covered = criterion_effective_n >= rule.min_n
        in_index = req[None, :] | covered  # [group, criterion]
        in_index[n_groups] = True  # the rows in no group: dropped, so spare them the per-row look-up below
        chosen = np.where(in_index, cw, 0.0)
        total = chosen.sum(axis=1, keepdims=True)
        share_weights = np.divide(chosen, total, out=np.zeros_like(chosen), where=total > 0)  # w'_gc
        value = 100.0 * (np.where(in_index, share, 0.0) * share_weights).sum(axis=1)
        value[total[:, 0] <= 0] = np.nan
        scale = np.where(weight_answered > 0, share_weights / weight_answered, 0.0)  # w'_gc / N_c^w
        offset = np.where(weight_answered > 0, share * scale, 0.0)  # w'_gc p_c^w / N_c^w
        influence = np.zeros(n_resp)
        answered_index = np.zeros(n_resp, dtype=bool)  # answered a criterion of their group's index
        for c in range(n_crit):
            influence += s[:, c] * scale[g, c] - a[:, c] * offset[g, c]
            column = in_index[:, c]
            answered_index |= a[:, c] if column.all() else a[:, c] & column[g]
        influence *= w
        m = group_sum(answered_index)
        se = 100.0 * np.sqrt(group_sum(influence * influence) * m / (m - 1.0))
        weight_any = group_sum(np.where(answered_index, w, 0.0))
        square_any = group_sum(np.where(answered_index, w2, 0.0))
        effective_n = np.where(square_any > 0, weight_any**2 / square_any, 0.0)
        design_effect = np.where((m > 0) & (weight_any > 0), m * square_any / weight_any**2, np.nan)
    keep = slice(0, n_groups)
    criterion_suppressed = ~covered[keep]
    suppressed = (in_index[keep] & criterion_suppressed).any(axis=1) | ~np.isfinite(value[keep])
    value, se = np.where(suppressed, np.nan, value[keep]), np.where(suppressed, np.nan, se[keep])
    return WeightedIndexGroups(
        value=value,
        se=se,
        low=np.clip(value - z * se, 0.0, 100.0),
        high=np.clip(value + z * se, 0.0, 100.0),
        n=m[keep].astype(np.intp),
        effective_n=effective_n[keep],
        design_effect=design_effect[keep],
        suppressed=suppressed,
        share=np.where(criterion_suppressed, np.nan, share[keep]),
        criterion_n=count[keep].astype(np.intp),
        criterion_effective_n=criterion_effective_n[keep],
        criterion_ids=ids,
        rule=rule,
        confidence_level=confidence_level,
        index_criteria=in_index[keep],
    )
