"""The reliability of a criterion's scale: Cronbach's alpha with Feldt's interval.

>>> items = np.array([[4, 5, 4], [2, 3, 2], [3, 3, 4], [5, 4, 5], [1, 2, 1]] * 6, dtype=float)
>>> result = cronbach_alpha(items)
>>> result.n, result.n_items
(30, 3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from scoring._common import ConfidenceInterval, as_float_array, json_number
from scoring.suppression import DEFAULT_RULE, SmallSampleRule

__all__ = ["CronbachAlphaResult", "cronbach_alpha"]


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
