"""The trend of a measure over periods: the Mann-Kendall test with Sen's slope.

>>> result = mann_kendall([0.71, 0.74, 0.73, 0.78, 0.80, 0.79, 0.84])
>>> result.s, result.pvalue < 0.05
(17, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from scoring._common import ConfidenceInterval, as_float_array, json_number

__all__ = ["MannKendallResult", "mann_kendall"]


@dataclass(frozen=True)
class MannKendallResult:
    """Mann-Kendall trend test (Mann 1945; Kendall 1975; Gilbert 1987 §16.4) with Sen's slope.

    ``s`` = Σ_{i<j} sign(x_j − x_i); ``var_s`` = [n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18 (ties corrected);
    ``statistic`` Z = (S − sign(S)) / √var(S) (continuity corrected); ``pvalue`` two-sided;
    ``tau`` = S / (n(n−1)/2) (Kendall's tau-a). ``slope`` is Sen's (1968) median pairwise slope per
    unit of ``times`` (per period when none are given); :meth:`slope_ci` its distribution-free interval.
    """

    n: int
    s: int | None
    var_s: float | None
    statistic: float | None
    pvalue: float | None
    tau: float | None
    slope: float | None
    values: tuple[float, ...] = ()
    times: tuple[float, ...] = ()
    suppressed: bool = False
    suppression_reason: str | None = None

    @property
    def effect_size(self) -> float | None:
        return self.tau

    effect_size_name = "kendall_tau"

    def slope_ci(self, confidence_level: float = 0.95) -> ConfidenceInterval | None:
        """Sen's confidence interval for the slope, as computed by ``scipy.stats.theilslopes``."""
        if self.suppressed:
            return None
        result = stats.theilslopes(self.values, self.times, alpha=confidence_level)
        return ConfidenceInterval(float(result.low_slope), float(result.high_slope), confidence_level)

    def to_dict(self, confidence_level: float = 0.95) -> dict[str, Any]:
        ci = self.slope_ci(confidence_level)
        return {
            "n": self.n,
            "s": self.s,
            "var_s": json_number(self.var_s),
            "statistic": json_number(self.statistic),
            "pvalue": json_number(self.pvalue),
            "tau": json_number(self.tau),
            "effect_size_name": self.effect_size_name,
            "slope": json_number(self.slope),
            "slope_ci": None if ci is None else ci.to_dict(),
            "suppressed": self.suppressed,
            "suppression_reason": self.suppression_reason,
        }


def mann_kendall(
    values: npt.ArrayLike, times: npt.ArrayLike | None = None, min_periods: int = 4
) -> MannKendallResult:
    """Is there a monotonic trend in a series of monthly values (NaN = a suppressed month, skipped)?

    ``times`` (default 0, 1, 2, …) order the values and scale Sen's slope. Fewer than
    ``min_periods`` values are not tested (each value should itself come from an unsuppressed month).

    >>> result = mann_kendall([0.71, 0.74, 0.73, 0.78, 0.80, 0.79, 0.84])
    >>> result.s, round(result.tau, 3), round(result.slope, 3)
    (17, 0.81, 0.02)
    """
    v = as_float_array(values).ravel()
    t = np.arange(v.size, dtype=np.float64) if times is None else as_float_array(times).ravel()
    if t.shape != v.shape:
        raise ValueError("times must have one entry per value")
    keep = ~np.isnan(v)
    v, t = v[keep], t[keep]
    order = np.argsort(t, kind="stable")
    v, t = v[order], t[order]
    n = int(v.size)
    if n < min_periods:
        return MannKendallResult(
            n=n, s=None, var_s=None, statistic=None, pvalue=None, tau=None, slope=None,
            suppressed=True, suppression_reason=f"periods={n} < {min_periods}",
        )
    i, j = np.triu_indices(n, k=1)
    s = int(np.sign(v[j] - v[i]).sum())
    _, ties = np.unique(v, return_counts=True)
    ties = ties.astype(np.float64)
    var_s = (n * (n - 1) * (2 * n + 5) - float(np.sum(ties * (ties - 1) * (2 * ties + 5)))) / 18.0
    z = 0.0 if s == 0 or var_s <= 0 else (s - math.copysign(1.0, s)) / math.sqrt(var_s)
    p = float(2.0 * stats.norm.sf(abs(z)))
    slope = float(stats.theilslopes(v, t).slope)
    return MannKendallResult(
        n=n, s=s, var_s=var_s, statistic=z, pvalue=p, tau=s / (n * (n - 1) / 2.0), slope=slope,
        values=tuple(v.tolist()), times=tuple(t.tolist()),
    )
