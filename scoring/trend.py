"""The trend of a measure over periods: the Mann-Kendall test with Sen's slope for a series of values, and the
Cochran–Armitage test for a trend in a proportion from each period's counts.

>>> result = mann_kendall([0.71, 0.74, 0.73, 0.78, 0.80, 0.79, 0.84])
>>> result.s, result.pvalue < 0.05
(17, True)
>>> trend = cochran_armitage([83, 90, 129, 70], [86, 93, 136, 82])
>>> round(trend.statistic**2, 4), round(trend.pvalue, 6)
(8.2249, 0.004132)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from scoring._common import ConfidenceInterval, as_float_array, json_number

__all__ = ["CochranArmitageResult", "MannKendallResult", "cochran_armitage", "mann_kendall"]


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


@dataclass(frozen=True)
class CochranArmitageResult:
    """Cochran–Armitage test for a linear trend in a proportion across ordered periods (Cochran 1954;
    Armitage 1955), two-sided, without continuity correction.

    With ``k_t`` satisfied of ``n_t`` in period ``t`` of score ``s_t``, ``N = Σ n_t`` and ``p̄ = Σ k_t / N``:
    ``statistic`` z = Σ s_t (k_t − n_t p̄) / sqrt(p̄(1 − p̄)(Σ n_t s_t² − (Σ n_t s_t)² / N)) (z² is R's
    ``prop.trend.test`` X-squared, on 1 df); ``pvalue`` is two-sided normal. ``effect_size`` is the slope of the
    least-squares line of the answers (1 satisfied, 0 not) on the scores, that is of each period's proportion
    weighted by its ``n``: the change in the satisfied share per period (per unit of score); z is this slope
    over its standard error under no trend. ``k``, ``n`` and ``scores`` are those of the periods used (with
    answers).
    """

    k: tuple[int, ...]
    n: tuple[int, ...]
    scores: tuple[float, ...]
    statistic: float | None
    pvalue: float | None
    n_periods: int
    n_total: int
    effect_size: float | None
    effect_size_name: str = "slope_per_period"
    suppressed: bool = False
    suppression_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": list(self.k),
            "n": list(self.n),
            "scores": list(self.scores),
            "n_periods": self.n_periods,
            "n_total": self.n_total,
            "statistic": json_number(self.statistic),
            "pvalue": json_number(self.pvalue),
            "effect_size": json_number(self.effect_size),
            "effect_size_name": self.effect_size_name,
            "suppressed": self.suppressed,
            "suppression_reason": self.suppression_reason,
        }


def cochran_armitage(
    k: npt.ArrayLike, n: npt.ArrayLike, scores: npt.ArrayLike | None = None, min_periods: int = 3
) -> CochranArmitageResult:
    """Is the satisfied share ``k_t / n_t`` rising or falling over the periods? ``scores`` (default 0, 1, 2, …:
    the month index) place the periods; periods without answers (``n_t = 0``) are left out, and fewer than
    ``min_periods`` periods with answers are not tested.

    >>> result = cochran_armitage([40, 42, 45, 47, 50], [60, 60, 60, 60, 60])
    >>> round(result.statistic, 3), round(result.effect_size, 4), result.effect_size_name
    (2.347, 0.0417, 'slope_per_period')
    >>> cochran_armitage([40, 0, 45], [60, 0, 60]).suppression_reason
    'periods=2 < 3'
    """
    if min_periods < 2:
        raise ValueError("a trend needs min_periods >= 2")
    counts = np.atleast_1d(np.asarray(k)).ravel()
    sizes = np.atleast_1d(np.asarray(n)).ravel()
    if counts.shape != sizes.shape:
        raise ValueError("cochran_armitage needs one k per n")
    if not (_whole(counts) and _whole(sizes)):
        raise ValueError("cochran_armitage needs whole-number counts k and n")
    kk, nn = counts.astype(np.int64), sizes.astype(np.int64)
    if np.any((kk < 0) | (kk > nn)):
        raise ValueError("cochran_armitage needs 0 <= k <= n in every period")
    s = np.arange(nn.size, dtype=np.float64) if scores is None else as_float_array(scores).ravel()
    if s.shape != nn.shape or not np.all(np.isfinite(s)):
        raise ValueError("scores must give one finite number per period")
    used = nn > 0
    kk, nn, s = kk[used], nn[used], s[used]
    periods, total = int(nn.size), int(nn.sum())
    inputs = (tuple(kk.tolist()), tuple(nn.tolist()), tuple(s.tolist()))
    if periods < min_periods:
        return CochranArmitageResult(*inputs, None, None, periods, total, None, suppressed=True,
                                     suppression_reason=f"periods={periods} < {min_periods}")
    weights = nn.astype(np.float64)
    centred = s - float(weights @ s) / total
    s_ss = float(weights @ (centred * centred))
    if s_ss == 0.0:
        raise ValueError("scores must differ between the periods with answers")
    pooled = float(kk.sum()) / total
    if pooled in (0.0, 1.0):
        slope, z, p = 0.0, 0.0, 1.0  # everyone satisfied (or no one) in every period: no trend
    else:
        slope = float(centred @ kk) / s_ss  # Σ (s − s̄) k_t = Σ s_t (k_t − n_t p̄)
        z = slope * math.sqrt(s_ss / (pooled * (1.0 - pooled)))
        p = float(2.0 * stats.norm.sf(abs(z)))
    return CochranArmitageResult(*inputs, z, p, periods, total, slope)


def _whole(values: npt.NDArray[Any]) -> bool:
    if values.dtype.kind in "iu":
        return True
    if values.dtype.kind != "f":
        return values.size == 0
    return bool(np.all(np.isfinite(values) & (values == np.round(values))))
