"""Small helpers shared by the scoring modules: JSON-ready numbers and the confidence interval type."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["ConfidenceInterval", "FloatArray", "IntArray", "as_float_array", "json_number", "z_value"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def json_number(value: float | int | None) -> float | int | None:
    """A number fit for JSON: NaN and infinities become ``None``; numpy scalars become Python ones."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise TypeError("a boolean is not a number")
    if isinstance(value, (int, np.integer)):
        return int(value)
    f = float(value)
    return None if not math.isfinite(f) else f


def as_float_array(values: npt.ArrayLike) -> FloatArray:
    """The answers as a float array (NaN = not answered)."""
    return np.asarray(values, dtype=np.float64)


@lru_cache(maxsize=64)
def z_value(confidence_level: float) -> float:
    """The two-sided standard normal quantile for ``confidence_level`` (1.959964 for 0.95); computed once per
    level (a report asks it for every group)."""
    if not 0.0 < confidence_level < 1.0:
        raise ValueError(f"confidence_level must be between 0 and 1 (exclusive), got {confidence_level}")
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence_level / 2.0))


@dataclass(frozen=True)
class ConfidenceInterval:
    """A two-sided confidence interval, in the unit of the measure it belongs to.

    >>> ConfidenceInterval(0.25, 0.37, 0.95).to_dict()
    {'low': 0.25, 'high': 0.37, 'confidence_level': 0.95}
    """

    low: float
    high: float
    confidence_level: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def scaled(self, factor: float) -> ConfidenceInterval:
        """The same interval in another unit, for example a share (0-1) as percent (0-100)."""
        return ConfidenceInterval(self.low * factor, self.high * factor, self.confidence_level)

    def to_dict(self) -> dict[str, Any]:
        return {
            "low": json_number(self.low),
            "high": json_number(self.high),
            "confidence_level": self.confidence_level,
        }
