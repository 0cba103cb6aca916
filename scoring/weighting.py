"""Post-stratification to known contact volumes, weighted shares, and Kish's design effect.

A sample over-represents the cells that answer more (counter visitors scan the QR code more often
than callers open an SMS link). Weighting each respondent by ``population share / sample share`` of
their cell (channel × service, ...) restores the contact mix; the price is precision, measured by
Kish's design effect ``deff = n·Σw² / (Σw)²`` and the effective sample size ``n / deff``, which the
weighted Wilson interval uses in place of ``n``.

>>> cells = np.array([0] * 60 + [1] * 40)          # 60 counter answers, 40 call answers
>>> weights = post_stratify(cells, population=[5_000, 15_000])   # but calls are 75% of contacts
>>> weights.cell_weights.tolist()
[0.4166666666666667, 1.875]
>>> round(weights.design_effect, 3), round(weights.effective_n, 1)
(1.51, 66.2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from scoring._common import ConfidenceInterval, FloatArray, as_float_array, json_number
from scoring.intervals import wilson_interval
from scoring.suppression import DEFAULT_RULE, SmallSampleRule

__all__ = ["PostStratification", "WeightedShare", "kish_design_effect", "post_stratify", "weighted_satisfied_share"]


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

    @property
    def n(self) -> int:
        return int(self.weights.shape[0])

    @property
    def design_effect(self) -> float:
        return kish_design_effect(self.weights)

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


def post_stratify(cells: npt.ArrayLike, population: npt.ArrayLike) -> PostStratification:
    """Weights that make the sample's mix of ``cells`` match the known contact ``population`` per cell.

    ``cells`` is each respondent's integer cell code (see :func:`scoring.grouping.combine_codes`);
    ``population[c]`` the contact volume of cell ``c`` in the period.
    """
    c = np.asarray(cells)
    if c.ndim != 1 or not np.issubdtype(c.dtype, np.integer):
        raise TypeError("cells must be a 1-d array of integer codes")
    pop = as_float_array(population).ravel()
    if np.any(pop < 0) or not np.all(np.isfinite(pop)):
        raise ValueError("population volumes must be finite and non-negative")
    if c.size and (int(c.min()) < 0 or int(c.max()) >= pop.size):
        raise ValueError(f"cell codes must lie in 0..{pop.size - 1}")
    counts = np.bincount(c, minlength=pop.size)
    covered = counts > 0
    covered_population = pop[covered].sum()
    total_population = pop.sum()
    if c.size == 0 or covered_population <= 0:
        raise ValueError("no respondent falls in a cell with contacts: nothing to weight")
    population_share = np.where(covered, pop / covered_population, 0.0)
    sample_share = counts / c.size
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
