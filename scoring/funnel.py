"""Funnel-plot control limits (Spiegelhalter 2005): each unit's share against the overall share, with
binomial limits for its n at 95% and 99.8%.

>>> result = funnel_limits([45, 80, 300, 20], [50, 100, 400, 40])
>>> len(result.points)
4
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from scoring._common import FloatArray, json_number
from scoring.suppression import DEFAULT_RULE, SmallSampleRule

__all__ = ["FunnelPoint", "FunnelPosition", "FunnelResult", "funnel_limits"]


FunnelPosition = Literal["above_998", "above_95", "within", "below_95", "below_998", "suppressed"]


@dataclass(frozen=True)
class FunnelPoint:
    """One unit on the funnel plot: its share and n, the control limits for its n around the
    overall share, and where it falls."""

    unit: int
    k: int
    n: int
    share: float | None
    lower_95: float | None
    upper_95: float | None
    lower_998: float | None
    upper_998: float | None
    position: FunnelPosition
    suppression_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "k": self.k,
            "n": self.n,
            "share": json_number(self.share),
            "lower_95": json_number(self.lower_95),
            "upper_95": json_number(self.upper_95),
            "lower_998": json_number(self.lower_998),
            "upper_998": json_number(self.upper_998),
            "position": self.position,
            "suppression_reason": self.suppression_reason,
        }


@dataclass(frozen=True)
class FunnelResult:
    """Funnel-plot limits for every unit around the pooled ``target`` share (Spiegelhalter 2005)."""

    target: float
    points: tuple[FunnelPoint, ...]
    method: str = "exact_binomial_interpolated"

    def outside(self) -> tuple[FunnelPoint, ...]:
        """The units beyond their 95% limits (above or below)."""
        return tuple(p for p in self.points if p.position not in ("within", "suppressed"))

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "method": self.method, "points": [p.to_dict() for p in self.points]}


def _binomial_limit(p: float, n: FloatArray, target: float) -> FloatArray:
    """Spiegelhalter's (2005, appendix A.1.1) interpolated exact binomial limit at probability ``p``:
    r_p = smallest r with F(r) ≥ p, α = (F(r_p) − p)/(F(r_p) − F(r_p − 1)), limit = (r_p − α)/n."""
    if target in (0.0, 1.0):  # a degenerate binomial: every unit must sit exactly on the target
        return np.full(n.shape, target, dtype=np.float64)
    r = stats.binom.ppf(p, n, target)
    upper_cdf = stats.binom.cdf(r, n, target)
    lower_cdf = stats.binom.cdf(r - 1, n, target)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(upper_cdf > lower_cdf, (upper_cdf - p) / (upper_cdf - lower_cdf), 0.0)
    return np.asarray(np.clip((r - alpha) / n, 0.0, 1.0), dtype=np.float64)


def funnel_limits(
    k: npt.ArrayLike,
    n: npt.ArrayLike,
    target: float | None = None,
    rule: SmallSampleRule = DEFAULT_RULE,
) -> FunnelResult:
    """Control limits (95% and 99.8%) for each unit's satisfied share ``k/n`` around ``target``
    (default: the pooled share of all units), using exact binomial limits with Spiegelhalter's
    interpolation. Units below the rule's ``min_n`` are marked ``"suppressed"`` and not classified.

    >>> result = funnel_limits([45, 80, 300, 20], [50, 100, 400, 40])
    >>> [p.position for p in result.points]
    ['above_95', 'within', 'within', 'below_998']
    """
    k_arr = np.asarray(k, dtype=np.float64).ravel()
    n_arr = np.asarray(n, dtype=np.float64).ravel()
    if k_arr.shape != n_arr.shape or np.any(k_arr < 0) or np.any(k_arr > n_arr):
        raise ValueError("funnel_limits needs matching k and n with 0 <= k <= n")
    if target is None:
        total = n_arr.sum()
        if total == 0:
            raise ValueError("funnel_limits needs at least one answer")
        target = float(k_arr.sum() / total)
    if not 0.0 <= target <= 1.0:
        raise ValueError("the target share must lie in [0, 1]")
    safe_n = np.maximum(n_arr, 1.0)
    limits = {
        name: _binomial_limit(p, safe_n, target)
        for name, p in (("lower_998", 0.001), ("lower_95", 0.025), ("upper_95", 0.975), ("upper_998", 0.999))
    }
    points = []
    for i in range(k_arr.size):
        ki, ni = int(k_arr[i]), int(n_arr[i])
        reason = rule.reason(ni)
        if reason or ni == 0:
            points.append(FunnelPoint(i, ki, ni, None, None, None, None, None, "suppressed", reason or "n=0"))
            continue
        share = ki / ni
        lo95, hi95 = float(limits["lower_95"][i]), float(limits["upper_95"][i])
        lo998, hi998 = float(limits["lower_998"][i]), float(limits["upper_998"][i])
        position: FunnelPosition
        if share > hi998:
            position = "above_998"
        elif share > hi95:
            position = "above_95"
        elif share < lo998:
            position = "below_998"
        elif share < lo95:
            position = "below_95"
        else:
            position = "within"
        points.append(FunnelPoint(i, ki, ni, share, lo95, hi95, lo998, hi998, position))
    return FunnelResult(target=target, points=tuple(points))
