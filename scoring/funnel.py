"""Funnel plots after Spiegelhalter (2005a, b): each unit's share against a target share θ, with control
limits for its n at 95% and 99.8%, widened by an additive random effect when the units vary more than
chance allows (over-dispersion).

θ is the questionnaire's declared target when it has one, else the pooled share of the units that are
shown (n ≥ ``rule.min_n``). Each shown unit gets ``z = (y − θ)/s``, ``s = sqrt(θ(1−θ)/n)``; the z-scores,
winsorised at 10% each end, give ``φ = (1/I) Σ z_w²``. When ``I·φ`` exceeds the 95% point of χ² (df ``I − 1``
for a pooled θ, ``I`` for a declared one) the limits become ``θ ± z_p·sqrt(s² + τ²)`` with the
DerSimonian–Laird ``τ² = (I·φ − (I − 1)) / (Σw − Σw²/Σw)``, ``w = 1/s²``; otherwise they are the exact
binomial limits with Spiegelhalter's interpolation. Fewer than ``min_units`` shown units get no funnel.

>>> k = [38, 36, 68, 70, 108, 102, 164, 185, 240, 308]
>>> n = [40, 60, 80, 100, 120, 150, 200, 250, 300, 400]
>>> result = funnel_limits(k, n)
>>> result.n_units, result.target_source, round(result.phi, 2), result.widened, round(result.tau2, 5)
(10, 'pooled', 4.14, True, 0.00386)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from scoring._common import FloatArray, json_number
from scoring.suppression import DEFAULT_RULE, SmallSampleRule

__all__ = ["FunnelCurve", "FunnelPoint", "FunnelPosition", "FunnelResult", "TargetSource", "funnel_curve",
           "funnel_limits"]


FunnelPosition = Literal["above_998", "above_95", "within", "below_95", "below_998", "suppressed"]
TargetSource = Literal["declared", "pooled"]

# Two-sided 95% and 99.8% limits: the tail probabilities of the lower and upper limits.
_LIMITS = (("lower_998", 0.001), ("lower_95", 0.025), ("upper_95", 0.975), ("upper_998", 0.999))
_OVERDISPERSION_LEVEL = 0.05


@dataclass(frozen=True)
class FunnelPoint:
    """One unit on the funnel plot: its share and n, the control limits for its n around the target, where
    it falls, and its z-score against the target (with the widened standard error when the limits are
    widened) with the two-sided normal p-value."""

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
    z: float | None = None
    pvalue: float | None = None

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
            "z": json_number(self.z),
            "pvalue": json_number(self.pvalue),
        }


@dataclass(frozen=True)
class FunnelResult:
    """Funnel-plot limits for every unit around ``target`` (Spiegelhalter 2005a, b).

    ``n_units`` shown units (n ≥ ``min_n``) enter the comparison; ``phi`` is their winsorised dispersion
    ratio, ``overdispersion_pvalue`` its χ² test, and ``tau2`` the between-unit variance added to every
    unit's when ``widened``. A family of fewer than ``min_units`` shown units is ``suppressed``.
    """

    target: float
    points: tuple[FunnelPoint, ...]
    method: str = "exact_binomial_interpolated"
    target_source: TargetSource = "pooled"
    n_units: int = 0
    phi: float | None = None
    tau2: float = 0.0
    widened: bool = False
    overdispersion_pvalue: float | None = None
    suppressed: bool = False
    suppression_reason: str | None = None

    def outside(self) -> tuple[FunnelPoint, ...]:
        """The units beyond their 95% limits (above or below)."""
        return tuple(p for p in self.points if p.position not in ("within", "suppressed"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "target_source": self.target_source,
            "method": self.method,
            "n_units": self.n_units,
            "phi": json_number(self.phi),
            "tau2": json_number(self.tau2),
            "widened": self.widened,
            "overdispersion_pvalue": json_number(self.overdispersion_pvalue),
            "suppressed": self.suppressed,
            "suppression_reason": self.suppression_reason,
            "points": [p.to_dict() for p in self.points],
        }


def _binomial_limit(p: float, n: FloatArray, target: float) -> FloatArray:
    """Spiegelhalter's (2005a, appendix A.1.1) interpolated exact binomial limit at probability ``p``:
    r_p = smallest r with F(r) ≥ p, α = (F(r_p) − p)/(F(r_p) − F(r_p − 1)), limit = (r_p − α)/n."""
    if target in (0.0, 1.0):  # a degenerate binomial: every unit must sit exactly on the target
        return np.full(n.shape, target, dtype=np.float64)
    r = stats.binom.ppf(p, n, target)
    upper_cdf = stats.binom.cdf(r, n, target)
    lower_cdf = stats.binom.cdf(r - 1, n, target)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(upper_cdf > lower_cdf, (upper_cdf - p) / (upper_cdf - lower_cdf), 0.0)
    return np.asarray(np.clip((r - alpha) / n, 0.0, 1.0), dtype=np.float64)


def _position(share: float, lo95: float, hi95: float, lo998: float, hi998: float) -> FunnelPosition:
    if share > hi998:
        return "above_998"
    if share > hi95:
        return "above_95"
    if share < lo998:
        return "below_998"
    if share < lo95:
        return "below_95"
    return "within"


def funnel_limits(
    k: npt.ArrayLike,
    n: npt.ArrayLike,
    target: float | None = None,
    rule: SmallSampleRule = DEFAULT_RULE,
    *,
    min_units: int = 5,
    overdispersion: bool = True,
    winsorize: float = 0.1,
    target_source: TargetSource | None = None,
) -> FunnelResult:
    """Control limits (95% and 99.8%) for each unit's satisfied share ``k/n`` around ``target`` (the
    declared target share; default the pooled share of the shown units), widened for over-dispersion
    (``overdispersion=False`` keeps the exact binomial limits and only reports φ). Units below the rule's
    ``min_n`` are marked ``"suppressed"`` and left out of θ and φ; with fewer than ``min_units`` shown units
    there is no funnel at all. ``target_source`` labels where a given ``target`` came from (default
    ``"declared"`` when a target is given, ``"pooled"`` otherwise).

    >>> result = funnel_limits([45, 80, 300, 20, 150], [50, 100, 400, 40, 200], target=0.75)
    >>> [p.position for p in result.points], round(result.phi, 2), result.widened
    (['above_95', 'within', 'within', 'below_998', 'within'], 1.97, False)
    >>> funnel_limits([45, 80, 300, 20], [50, 100, 400, 40]).suppression_reason
    'too few units to compare: 4 < 5'
    """
    k_arr = np.asarray(k, dtype=np.float64).ravel()
    n_arr = np.asarray(n, dtype=np.float64).ravel()
    if k_arr.shape != n_arr.shape or np.any(k_arr < 0) or np.any(k_arr > n_arr):
        raise ValueError("funnel_limits needs matching k and n with 0 <= k <= n")
    if isinstance(min_units, bool) or not isinstance(min_units, int) or min_units < 1:
        raise ValueError(f"min_units must be a whole number of at least 1, got {min_units!r}")
    if not 0.0 <= winsorize < 0.5:
        raise ValueError(f"winsorize must lie in [0, 0.5), got {winsorize!r}")
    if target_source not in (None, "declared", "pooled"):
        raise ValueError(f"target_source must be 'declared' or 'pooled', got {target_source!r}")
    reasons = [rule.reason(int(ni)) or ("n=0" if ni == 0 else None) for ni in n_arr]
    shown = np.array([r is None for r in reasons], dtype=bool)
    n_units = int(shown.sum())
    source: TargetSource
    if target is None:
        source = target_source or "pooled"
        # θ from the units that are compared; with none shown (no funnel anyway) from every unit, for the record
        pool = shown if n_units else np.ones_like(shown)
        total = n_arr[pool].sum()
        if total == 0:
            raise ValueError("funnel_limits needs at least one answer")
        target = float(k_arr[pool].sum() / total)
    else:
        source = target_source or "declared"
        target = float(target)
    if not 0.0 <= target <= 1.0:
        raise ValueError("the target share must lie in [0, 1]")

    if n_units < min_units:
        family = f"too few units to compare: {n_units} < {min_units}"
        none_shown = tuple(
            FunnelPoint(i, int(k_arr[i]), int(n_arr[i]), None if reasons[i] else float(k_arr[i] / n_arr[i]),
                        None, None, None, None, "suppressed", reasons[i] or family)
            for i in range(k_arr.size)
        )
        return FunnelResult(target=target, points=none_shown, target_source=source, n_units=n_units,
                            suppressed=True, suppression_reason=family)

    safe_n = np.maximum(n_arr, 1.0)
    share = k_arr / safe_n
    variance = target * (1.0 - target) / safe_n  # s_i² under the target, the binomial variance of k/n
    phi: float | None = None
    pvalue_od: float | None = None
    tau2 = 0.0
    z: FloatArray | None = None
    if target * (1.0 - target) > 0.0:
        z = (share - target) / np.sqrt(variance)
        zs = z[shown]
        low, high = np.quantile(zs, [winsorize, 1.0 - winsorize])  # linear interpolation, as R's default
        phi = float(np.mean(np.clip(zs, low, high) ** 2))
        # χ² of the dispersion: a pooled θ spends one degree of freedom (it is the inverse-variance mean)
        df = n_units - 1 if source == "pooled" else n_units
        pvalue_od = float(stats.chi2.sf(n_units * phi, df)) if df > 0 else None
    widened = bool(overdispersion and pvalue_od is not None and pvalue_od < _OVERDISPERSION_LEVEL)
    if widened:
        assert phi is not None and z is not None
        w = 1.0 / variance[shown]
        tau2 = max(0.0, float((n_units * phi - (n_units - 1)) / (w.sum() - (w * w).sum() / w.sum())))
        se = np.sqrt(variance + tau2)
        limits = {name: np.clip(target + float(special.ndtri(p)) * se, 0.0, 1.0) for name, p in _LIMITS}
        z = (share - target) / se
        method = "random_effects_normal"
    else:
        limits = {name: _binomial_limit(p, safe_n, target) for name, p in _LIMITS}
        method = "exact_binomial_interpolated"
    p_unit = None if z is None else 2.0 * special.ndtr(-np.abs(z))

    points: list[FunnelPoint] = []
    for i in range(k_arr.size):
        ki, ni = int(k_arr[i]), int(n_arr[i])
        if not shown[i]:
            points.append(FunnelPoint(i, ki, ni, None, None, None, None, None, "suppressed", reasons[i]))
            continue
        lo95, hi95 = float(limits["lower_95"][i]), float(limits["upper_95"][i])
        lo998, hi998 = float(limits["lower_998"][i]), float(limits["upper_998"][i])
        points.append(FunnelPoint(
            i, ki, ni, float(share[i]), lo95, hi95, lo998, hi998, _position(float(share[i]), lo95, hi95, lo998, hi998),
            z=None if z is None else float(z[i]), pvalue=None if p_unit is None else float(p_unit[i])))
    return FunnelResult(target=target, points=tuple(points), method=method, target_source=source, n_units=n_units,
                        phi=phi, tau2=tau2, widened=widened, overdispersion_pvalue=pvalue_od)


@dataclass(frozen=True)
class FunnelCurve:
    """The control limits of a funnel as functions of n (for drawing it): at each ``n``, the limits
    :func:`funnel_limits` gives a unit of that size around ``target`` (widened by ``tau2`` when ``widened``)."""

    target: float
    n: tuple[float, ...]
    lower_95: tuple[float, ...]
    upper_95: tuple[float, ...]
    lower_998: tuple[float, ...]
    upper_998: tuple[float, ...]


def funnel_curve(target: float, n_max: float, *, tau2: float = 0.0, widened: bool = False, n_min: float = 10.0,
                 points: int = 60) -> FunnelCurve:
    """The limits of :func:`funnel_limits` along ``points`` sizes spaced evenly on a log scale from ``n_min`` to
    ``n_max``: the exact binomial limits with Spiegelhalter's interpolation, or ``target ± z·sqrt(s² + τ²)`` when
    the family's limits were ``widened``.

    >>> curve = funnel_curve(0.8, 400, points=3, n_min=100)
    >>> curve.n, [round(x, 3) for x in curve.lower_95]
    ((100.0, 200.0, 400.0), [0.714, 0.741, 0.759])
    >>> result = funnel_limits([80, 160, 320], [100, 200, 400], target=0.8, min_units=1)
    >>> [round(p.lower_95, 3) for p in result.points]  # the same limits a unit of that size gets
    [0.714, 0.741, 0.759]
    """
    if not 0.0 <= target <= 1.0:
        raise ValueError("the target share must lie in [0, 1]")
    if not 1.0 <= n_min <= n_max or points < 2:
        raise ValueError(f"funnel_curve needs 1 <= n_min <= n_max and points >= 2, got {n_min}, {n_max}, {points}")
    n = np.unique(np.round(np.geomspace(n_min, n_max, points)))
    if widened:
        se = np.sqrt(target * (1.0 - target) / n + tau2)
        limits = {name: np.clip(target + float(special.ndtri(p)) * se, 0.0, 1.0) for name, p in _LIMITS}
    else:
        limits = {name: _binomial_limit(p, n, target) for name, p in _LIMITS}
    as_tuple = {name: tuple(float(v) for v in values) for name, values in limits.items()}
    return FunnelCurve(target, tuple(float(v) for v in n), as_tuple["lower_95"], as_tuple["upper_95"],
                       as_tuple["lower_998"], as_tuple["upper_998"])
