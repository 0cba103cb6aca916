"""The reliability of a criterion's scale: Cronbach's alpha with Feldt's interval for three or more items;
for two items the inter-item Pearson r and the Spearman–Brown coefficient ``2r/(1 + r)``, since alpha
understates a two-item scale's reliability whenever the items' variances differ (Eisinga, Te Grotenhuis &
Pelzer 2013).

>>> items = np.array([[4, 5, 4], [2, 3, 2], [3, 3, 4], [5, 4, 5], [1, 2, 1]] * 6, dtype=float)
>>> result = cronbach_alpha(items)
>>> result.n, result.n_items
(30, 3)
>>> round(spearman_brown(items[:, :2]).coefficient, 4)
0.9083
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from scoring._common import ConfidenceInterval, as_float_array, json_number, z_value
from scoring.suppression import DEFAULT_RULE, SmallSampleRule

__all__ = ["CronbachAlphaResult", "TwoItemReliabilityResult", "cronbach_alpha", "spearman_brown"]


@dataclass(frozen=True)
class CronbachAlphaResult:
    """Cronbach's (1951) alpha over ``n`` complete respondents and ``n_items`` items, with Feldt's
    (1965; Feldt, Woodruff & Salih 1987) F-based :meth:`ci`."""

    alpha: float | None
    n: int
    n_items: int
    suppressed: bool = False
    suppression_reason: str | None = None

    @property
    def statistic(self) -> float | None:
        return self.alpha

    def ci(self, confidence_level: float = 0.95) -> ConfidenceInterval | None:
        """``(1 − α̂)/(1 − α) ~ F(n−1, (n−1)(k−1))``: ``[1 − (1−α̂)F_{1−γ/2}, 1 − (1−α̂)F_{γ/2}]``."""
        if self.alpha is None or self.suppressed:
            return None
        gamma = 1.0 - confidence_level
        df1, df2 = self.n - 1, (self.n - 1) * (self.n_items - 1)
        low = 1.0 - (1.0 - self.alpha) * float(stats.f.ppf(1.0 - gamma / 2.0, df1, df2))
        high = 1.0 - (1.0 - self.alpha) * float(stats.f.ppf(gamma / 2.0, df1, df2))
        return ConfidenceInterval(low, high, confidence_level)

    def to_dict(self, confidence_level: float = 0.95) -> dict[str, Any]:
        ci = self.ci(confidence_level)
        return {
            "alpha": json_number(self.alpha),
            "n": self.n,
            "n_items": self.n_items,
            "ci": None if ci is None else ci.to_dict(),
            "suppressed": self.suppressed,
            "suppression_reason": self.suppression_reason,
        }


def cronbach_alpha(items: npt.ArrayLike, rule: SmallSampleRule = DEFAULT_RULE) -> CronbachAlphaResult:
    """α = k/(k−1) · (1 − Σ s²_item / s²_total) over the respondents who answered every item.

    >>> items = np.array([[4, 5, 4], [2, 3, 2], [3, 3, 4], [5, 4, 5], [1, 2, 1]] * 6, dtype=float)
    >>> round(cronbach_alpha(items).alpha, 3)
    0.936
    """
    x = as_float_array(items)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError("cronbach_alpha needs a respondents × items matrix with at least 2 items")
    complete = x[~np.isnan(x).any(axis=1)]
    n, k = int(complete.shape[0]), int(complete.shape[1])
    reason = rule.reason(n)
    if reason or n < 2:
        return CronbachAlphaResult(None, n, k, suppressed=True, suppression_reason=reason or f"n={n} < 2")
    item_var = complete.var(axis=0, ddof=1).sum()
    total_var = complete.sum(axis=1).var(ddof=1)
    alpha = math.nan if total_var == 0 else k / (k - 1) * (1.0 - item_var / total_var)
    return CronbachAlphaResult(float(alpha), n, k)


# --- two-item scales ---------------------------------------------------------------------------------------


def _step_up(r: float) -> float:
    """Spearman–Brown: one item's reliability ``r`` stepped up to a test twice as long, ``2r/(1 + r)``."""
    return 2.0 * r / (1.0 + r)


@dataclass(frozen=True)
class TwoItemReliabilityResult:
    """The reliability of a two-item scale over ``n`` complete respondents: the inter-item Pearson ``r`` and
    the Spearman–Brown ``coefficient`` ``2r/(1 + r)`` (Eisinga, Te Grotenhuis & Pelzer 2013), both ``None``
    where r is undefined (an item nobody varies on, or r = −1); :meth:`ci` is Fisher's interval for r
    carried through ``2r/(1 + r)``."""

    r: float | None
    coefficient: float | None
    n: int
    n_items: int = 2
    suppressed: bool = False
    suppression_reason: str | None = None

    @property
    def statistic(self) -> float | None:
        return self.coefficient

    def ci(self, confidence_level: float = 0.95) -> ConfidenceInterval | None:
        """``tanh(atanh(r) ± z/sqrt(n − 3))`` mapped through ``2r/(1 + r)``, which rises with r, so the
        interval of r gives that of the coefficient; ``None`` when suppressed, undefined or n ≤ 3."""
        if self.suppressed or self.r is None or self.n <= 3:
            return None
        half = z_value(confidence_level) / math.sqrt(self.n - 3)
        centre = math.atanh(self.r) if abs(self.r) < 1.0 else math.copysign(math.inf, self.r)
        low, high = math.tanh(centre - half), math.tanh(centre + half)
        return ConfidenceInterval(-math.inf if low <= -1.0 else _step_up(low), _step_up(high),
                                  confidence_level)

    def to_dict(self, confidence_level: float = 0.95) -> dict[str, Any]:
        ci = self.ci(confidence_level)
        return {
            "r": json_number(self.r),
            "coefficient": json_number(self.coefficient),
            "n": self.n,
            "n_items": self.n_items,
            "ci": None if ci is None else ci.to_dict(),
            "suppressed": self.suppressed,
            "suppression_reason": self.suppression_reason,
        }


def spearman_brown(items: npt.ArrayLike, rule: SmallSampleRule = DEFAULT_RULE) -> TwoItemReliabilityResult:
    """Pearson's r between the two items over the respondents who answered both
    (``scipy.stats.pearsonr``) and the Spearman–Brown coefficient ``2r/(1 + r)``; suppressed below the
    rule's ``min_n`` complete respondents (and below 3, where r is ±1 whatever the answers).

    >>> result = spearman_brown([[4, 5], [2, 3], [3, 3], [5, 4], [1, 2]] * 6)
    >>> round(result.r, 4), round(result.coefficient, 4), result.n
    (0.8321, 0.9083, 30)
    """
    x = as_float_array(items)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError("spearman_brown needs a respondents × items matrix with exactly 2 items")
    complete = x[~np.isnan(x).any(axis=1)]
    n = int(complete.shape[0])
    reason = rule.reason(n)
    if reason or n < 3:
        return TwoItemReliabilityResult(None, None, n, suppressed=True, suppression_reason=reason or f"n={n} < 3")
    if np.ptp(complete[:, 0]) == 0 or np.ptp(complete[:, 1]) == 0:
        return TwoItemReliabilityResult(None, None, n)  # an item without variance: r is undefined
    r = float(stats.pearsonr(complete[:, 0], complete[:, 1]).statistic)
    return TwoItemReliabilityResult(r, None if r <= -1.0 else _step_up(r), n)
