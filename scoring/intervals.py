"""Confidence intervals: Wilson score interval for a share, the NPS interval, the t interval of a mean.

>>> low, high = wilson_interval(81, 263)
>>> round(low, 4), round(high, 4)
(0.2553, 0.3662)
>>> low, high = nps_interval(promoters=60, detractors=20, n=100, method="wald")
>>> round(low, 3), round(high, 3)
(0.243, 0.557)
"""

from __future__ import annotations

import math
from typing import Literal, overload

import numpy as np
import numpy.typing as npt
from scipy import stats

from scoring._common import FloatArray, as_float_array, z_value

__all__ = ["NPSIntervalMethod", "TargetPosition", "against_target", "mean_interval", "nps_interval", "t_interval",
           "wilson_interval"]

NPSIntervalMethod = Literal["wald", "adjusted_wald"]
TargetPosition = Literal["above", "below", "within"]


def against_target(interval: tuple[float, float] | list[float], target: float) -> TargetPosition:
    """Where an estimate lies against a fixed target, read from its confidence interval: ``above`` or ``below``
    when the whole interval lies on one side (the two-sided test of "the true value equals the target" rejects
    at the interval's level), else ``within`` (the data cannot tell it from the target).

    >>> against_target((0.81, 0.88), 0.8), against_target((0.70, 0.79), 0.8), against_target((0.75, 0.86), 0.8)
    ('above', 'below', 'within')
    """
    low, high = float(interval[0]), float(interval[1])
    if low > target:
        return "above"
    if high < target:
        return "below"
    return "within"


@overload
def wilson_interval(k: float, n: float, confidence_level: float = 0.95) -> tuple[float, float]: ...


@overload
def wilson_interval(
    k: FloatArray, n: npt.ArrayLike, confidence_level: float = 0.95
) -> tuple[FloatArray, FloatArray]: ...


@overload
def wilson_interval(
    k: npt.ArrayLike, n: FloatArray, confidence_level: float = 0.95
) -> tuple[FloatArray, FloatArray]: ...


def wilson_interval(
    k: npt.ArrayLike, n: npt.ArrayLike, confidence_level: float = 0.95
) -> tuple[float, float] | tuple[FloatArray, FloatArray]:
    """The Wilson score interval (Wilson 1927; Newcombe 1998, method 3) for ``k`` successes in ``n``.

    Vectorised: ``k`` and ``n`` may be arrays (broadcast together); scalars give floats. ``n`` need
    not be whole (an effective sample size after weighting). Where ``n`` is 0 both limits are NaN.

    >>> lows, highs = wilson_interval(np.array([0, 15]), np.array([20, 148]))
    >>> [round(float(x), 4) for x in lows], [round(float(x), 4) for x in highs]
    ([0.0, 0.0624], [0.1611, 0.1605])
    """
    z = z_value(confidence_level)
    k_arr = as_float_array(k)
    n_arr = as_float_array(n)
    if np.any(k_arr < 0) or np.any(k_arr > n_arr):
        raise ValueError("wilson_interval needs 0 <= k <= n")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k_arr / n_arr
        z2 = z * z
        denominator = 1.0 + z2 / n_arr
        centre = (p + z2 / (2.0 * n_arr)) / denominator
        half = z * np.sqrt(p * (1.0 - p) / n_arr + z2 / (4.0 * n_arr * n_arr)) / denominator
    low = np.clip(centre - half, 0.0, 1.0)
    high = np.clip(centre + half, 0.0, 1.0)
    # Rounding may leave the limit a hair inside the estimate at p = 0 or 1: the interval must contain it.
    low = np.where(np.isnan(p), np.nan, np.minimum(low, p))
    high = np.where(np.isnan(p), np.nan, np.maximum(high, p))
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def nps_interval(
    promoters: float,
    detractors: float,
    n: float,
    confidence_level: float = 0.95,
    method: NPSIntervalMethod = "adjusted_wald",
) -> tuple[float, float]:
    """A confidence interval for the Net Promoter Score as a fraction (-1 to 1).

    The NPS is ``p+ - p-``, a difference of two proportions of the same multinomial sample, so
    ``var = (p+ + p- - (p+ - p-)^2) / n`` (Rocks 2016, section 2). ``"wald"`` uses it as is;
    ``"adjusted_wald"`` (the default, best in Rocks's comparison) first adds 3/4 to the promoters,
    3/4 to the detractors and 3 to ``n``, which keeps the interval sensible near the ends of the
    scale and for small ``n``. The limits are clipped to [-1, 1] and always contain the observed NPS.
    """
    if n <= 0:
        return math.nan, math.nan
    if promoters < 0 or detractors < 0 or promoters + detractors > n:
        raise ValueError("nps_interval needs promoters, detractors >= 0 and promoters + detractors <= n")
    z = z_value(confidence_level)
    observed = (promoters - detractors) / n
    if method == "adjusted_wald":
        promoters, detractors, n = promoters + 0.75, detractors + 0.75, n + 3.0
    elif method != "wald":
        raise ValueError(f"method must be 'wald' or 'adjusted_wald', got {method!r}")
    p_plus, p_minus = promoters / n, detractors / n
    centre = p_plus - p_minus
    variance = max(p_plus + p_minus - centre * centre, 0.0) / n
    half = z * math.sqrt(variance)
    low = max(-1.0, min(centre - half, observed))
    high = min(1.0, max(centre + half, observed))
    return low, high


def t_interval(
    mean: float,
    sd: float,
    n: float,
    confidence_level: float = 0.95,
    bounds: tuple[float, float] | None = None,
) -> tuple[float, float]:
    """``mean ± t(n-1) · sd / sqrt(n)``: the Student t interval from summary statistics (NaN when n < 2).

    With ``bounds`` (``(low, high)``, e.g. the 1–7 of an answer scale) the interval is truncated to them: the
    mean of answers on a scale cannot lie outside it, and truncating to the parameter space keeps the
    interval's coverage, since it drops only values the mean cannot take.

    >>> [round(x, 1) for x in t_interval(4.0, 4.2426, 2)], t_interval(4.0, 4.2426, 2, bounds=(1, 7))
    ([-34.1, 42.1], (1.0, 7.0))
    """
    if bounds is not None and not bounds[0] < bounds[1]:
        raise ValueError(f"bounds must be (low, high) with low < high, got {bounds!r}")
    if n < 2 or not math.isfinite(mean) or not math.isfinite(sd):
        return math.nan, math.nan
    z_value(confidence_level)  # validates the level
    t = float(stats.t.ppf(0.5 + confidence_level / 2.0, n - 1))
    half = t * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, float(bounds[0])), min(high, float(bounds[1]))
    return low, high


def mean_interval(values: npt.ArrayLike, confidence_level: float = 0.95) -> tuple[float, float]:
    """The t interval of the mean of the answered values (NaN = not answered).

    >>> low, high = mean_interval([4, 5, 3, 4, float("nan")])
    >>> round(low, 3), round(high, 3)
    (2.701, 5.299)
    """
    v = as_float_array(values)
    v = v[~np.isnan(v)]
    if v.size < 2:
        return math.nan, math.nan
    return t_interval(float(v.mean()), float(v.std(ddof=1)), float(v.size), confidence_level)
