"""Vectorised group-by over integer codes: n, sum, sum of squares and per-scale-point counts of many
groups in a handful of ``np.bincount`` passes, never a Python loop over rows.

>>> values = np.array([5.0, 4.0, np.nan, 2.0, 5.0])
>>> groups = np.array([0, 0, 0, 1, 1])
>>> stats = group_stats(values, groups, n_groups=2, scale_min=1, scale_max=5)
>>> stats.n.tolist(), stats.mean.tolist()
([2, 2], [4.5, 3.5])
>>> stats.at_least(4).tolist()
[2, 1]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring._common import FloatArray, IntArray, as_float_array

__all__ = ["GroupStats", "combine_codes", "group_stats", "group_sums"]


def combine_codes(*codes: npt.ArrayLike, sizes: tuple[int, ...]) -> IntArray:
    """One flat group code for several integer codes (unit × service × month, ...), row-major.

    >>> combine_codes(np.array([0, 1]), np.array([2, 0]), sizes=(2, 3)).tolist()
    [2, 3]
    """
    arrays = tuple(np.asarray(c, dtype=np.intp) for c in codes)
    if len(arrays) != len(sizes):
        raise ValueError("combine_codes needs one size per code array")
    return np.ravel_multi_index(arrays, sizes).astype(np.intp, copy=False)


def _check_groups(groups: npt.ArrayLike, n_values: int, n_groups: int) -> IntArray:
    g = np.asarray(groups)
    if g.shape != (n_values,):
        raise ValueError(f"groups must have one code per value ({n_values}), got shape {g.shape}")
    if not np.issubdtype(g.dtype, np.integer):
        raise TypeError(f"groups must be integer codes, got {g.dtype}")
    if n_values and (int(g.min()) < 0 or int(g.max()) >= n_groups):
        raise ValueError(f"group codes must lie in 0..{n_groups - 1}")
    return g.astype(np.intp, copy=False)


def group_sums(values: npt.ArrayLike, groups: npt.ArrayLike, n_groups: int) -> tuple[IntArray, FloatArray]:
    """The number of answered values and their sum per group (NaN = not answered)."""
    v = as_float_array(values)
    g = _check_groups(groups, v.shape[0], n_groups)
    answered = ~np.isnan(v)
    g = g[answered]
    counts: IntArray = np.bincount(g, minlength=n_groups)
    sums: FloatArray = np.bincount(g, weights=v[answered], minlength=n_groups).astype(np.float64)
    return counts, sums


@dataclass(frozen=True, eq=False)
class GroupStats:
    """Sufficient statistics of one question's answers for each group.

    ``distribution[g, j]`` counts the answers ``scale_min + j`` in group ``g``.
    """

    n: IntArray
    total: FloatArray
    total_sq: FloatArray
    distribution: IntArray
    scale_min: int

    @property
    def n_groups(self) -> int:
        return int(self.n.shape[0])

    @property
    def mean(self) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.total / self.n

    @property
    def sd(self) -> FloatArray:
        """Sample standard deviation (ddof = 1), NaN below two answers."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ss = self.total_sq - self.total * self.total / self.n
            return np.sqrt(np.maximum(ss, 0.0) / (self.n - 1))

    def at_least(self, threshold: int) -> IntArray:
        """How many answers in each group are at or above ``threshold`` (the satisfied count)."""
        start = max(threshold - self.scale_min, 0)
        counts: IntArray = self.distribution[:, start:].sum(axis=1)
        return counts

    def at_most(self, threshold: int) -> IntArray:
        stop = max(threshold - self.scale_min + 1, 0)
        counts: IntArray = self.distribution[:, :stop].sum(axis=1)
        return counts


def group_stats(
    values: npt.ArrayLike, groups: npt.ArrayLike, n_groups: int, scale_min: int, scale_max: int
) -> GroupStats:
    """n, sum, sum of squares and the answer distribution of one question for every group at once.

    ``values`` are the answers (NaN = not answered) on the integer scale ``scale_min..scale_max``;
    ``groups`` the integer code of each answer's group (see :func:`combine_codes`).
    """
    v = as_float_array(values)
    g = _check_groups(groups, v.shape[0], n_groups)
    answered = ~np.isnan(v)
    v = v[answered]
    g = g[answered]
    points = scale_max - scale_min + 1
    if v.size:
        low, high = float(v.min()), float(v.max())
        if low < scale_min or high > scale_max:
            raise ValueError(f"answers must lie on the scale {scale_min}..{scale_max}, found {low:g}..{high:g}")
    offset = (v - scale_min).astype(np.intp)
    distribution = np.bincount(g * points + offset, minlength=n_groups * points).reshape(n_groups, points)
    n = distribution.sum(axis=1)
    # Sums from the distribution: exact for whole-number answers and one pass cheaper than weighted bincounts.
    scale = np.arange(scale_min, scale_max + 1, dtype=np.float64)
    total = distribution @ scale
    total_sq = distribution @ (scale * scale)
    return GroupStats(n=n, total=total, total_sq=total_sq, distribution=distribution, scale_min=scale_min)
