"""Multiple testing: Benjamini–Hochberg q-values for a family of tests.

A report runs many tests at once (every unit against its peers, every criterion, this period against the
last): at p < 0.05 one test in twenty of those with no real difference comes out "significant". The
Benjamini–Hochberg (1995) adjusted p-values (q-values) control the false discovery rate, the expected share of
false findings among the tests called significant: call a test significant when its q-value is below the
chosen rate. Holm's adjustment (:func:`scoring.comparisons.holm_adjust`) stays for Dunn's pairs within one
Kruskal–Wallis test, where the pairs are a small family and any false pair matters.

>>> bh_q_values([0.01, 0.04, 0.03, float("nan"), 0.005]).round(4).tolist()
[0.02, 0.04, 0.04, nan, 0.02]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats

from scoring._common import FloatArray, as_float_array

__all__ = ["bh_q_values"]


def bh_q_values(pvalues: npt.ArrayLike) -> FloatArray:
    """The Benjamini–Hochberg (1995) adjusted p-values of a family, in the input order:
    ``q_(i) = min_{j ≥ i} m · p_(j) / j`` over the sorted p-values, capped at 1
    (``scipy.stats.false_discovery_control(p, method="bh")``, R's ``p.adjust(p, method="BH")``).

    NaN entries (tests that did not run, e.g. suppressed) stay NaN and do not count in the family size
    ``m``; an empty family gives an empty array.
    """
    p = as_float_array(pvalues).ravel()
    q = np.full(p.shape, np.nan)
    ran = ~np.isnan(p)
    if np.any(ran):
        q[ran] = stats.false_discovery_control(p[ran], method="bh")
    return q
