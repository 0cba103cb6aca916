"""Groups formed by the values of several integer key columns (unit × service × month, ...), for many rows at once.

:func:`group_keys` numbers the distinct key tuples of the selected rows (in key order) once; the same
numbering then places any other selection of rows (an earlier period, the peers, a trend window) with
:meth:`KeyGroups.codes`, and rows of other tables with :meth:`KeyGroups.locate`, never by a Python loop
over rows. Code ``n_groups`` means "in no group", the convention of :mod:`scoring.grouping` and
:mod:`scoring.patterns`.

>>> unit = np.array([3, 3, 5, 5, 7])
>>> month = np.array([0, 1, 0, 0, 1])
>>> groups = group_keys([unit, month], np.array([True, True, True, True, False]))
>>> groups.n_groups, groups.keys.tolist()
(3, [[3, 0], [3, 1], [5, 0]])
>>> groups.codes(np.ones(5, dtype=bool)).tolist()
[0, 1, 2, 2, 3]
>>> groups.locate(np.array([[5, 0], [9, 0]])).tolist()
[2, 3]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring._common import IntArray

__all__ = ["DIRECT_KEY_CELLS", "KeyGroups", "group_keys"]

# key tables up to this many cells are looked up directly; beyond, the keys are sorted (np.unique)
DIRECT_KEY_CELLS = 1 << 22

KeyColumn = npt.NDArray[np.integer]


@dataclass(frozen=True, eq=False)
class KeyGroups:
    """The groups of :func:`group_keys`: ``keys[g]`` holds group ``g``'s value of each key column, and every row
    of the grouped table keeps its key tuple as one integer (``flat``) to be placed in a group later."""

    flat: IntArray  # per row: its key tuple as one integer
    lookup: IntArray | None  # key integer -> group (n_groups when no group has that key); None: use ``present``
    present: IntArray  # the key integers of the groups, ascending
    keys: npt.NDArray[np.int64]  # per group: one row of key values
    n_groups: int
    low: tuple[int, ...]  # per key column: its smallest value over all rows
    sizes: tuple[int, ...]  # per key column: how many values it spans

    def _find(self, flat: IntArray) -> IntArray:
        if self.lookup is not None:
            found: IntArray = np.take(self.lookup, flat)
            return found
        if not self.n_groups:
            return np.zeros_like(flat)
        position = np.minimum(np.searchsorted(self.present, flat), self.n_groups - 1)
        return np.where(self.present[position] == flat, position, self.n_groups).astype(np.intp)

    def codes(self, rows: npt.NDArray[np.bool_]) -> IntArray:
        """The group of each row selected by ``rows`` (the one with the same keys), ``n_groups`` for the others."""
        found = self._find(self.flat)
        found[~rows] = self.n_groups
        return found.astype(np.intp, copy=False)

    def locate(self, keys: npt.NDArray[np.integer]) -> IntArray:
        """The group of each row of ``keys`` (rows of key values, one column per key column given to
        :func:`group_keys`, like :attr:`keys`), ``n_groups`` where no group has those keys."""
        rows = np.asarray(keys)
        if rows.ndim != 2 or rows.shape[1] != len(self.sizes):
            raise ValueError(f"locate needs rows of {len(self.sizes)} key values, got shape {rows.shape}")
        inside = np.ones(rows.shape[0], dtype=bool)
        flat = np.zeros(rows.shape[0], dtype=np.intp)
        for j, (lo, size) in enumerate(zip(self.low, self.sizes, strict=True)):
            shifted = rows[:, j].astype(np.intp) - lo
            inside &= (shifted >= 0) & (shifted < size)
            flat *= size
            flat += np.where(inside, shifted, 0)
        return np.where(inside, self._find(flat), self.n_groups).astype(np.intp)


def group_keys(columns: Sequence[KeyColumn], selected: npt.NDArray[np.bool_]) -> KeyGroups:
    """The groups formed by the distinct key tuples of the ``selected`` rows, in key order.

    Without columns, every row is in the one group. Key tables of up to :data:`DIRECT_KEY_CELLS` cells are
    looked up through a dense table, larger ones by binary search over the sorted keys.
    """
    n_rows = int(selected.shape[0])
    if not columns:
        return KeyGroups(np.zeros(n_rows, dtype=np.intp), np.zeros(1, dtype=np.intp), np.zeros(1, dtype=np.intp),
                         np.zeros((1, 0), dtype=np.int64), 1, (), ())
    low = tuple(int(c.min(initial=0)) for c in columns)
    sizes = tuple(int(c.max(initial=0)) - lo + 1 for c, lo in zip(columns, low, strict=True))
    flat = np.zeros(n_rows, dtype=np.intp)
    for column, lo, size in zip(columns, low, sizes, strict=True):
        flat *= size
        flat += column
        flat -= lo
    cells = math.prod(sizes)
    lookup: IntArray | None = None
    if cells <= DIRECT_KEY_CELLS:
        seen = np.bincount(flat[selected], minlength=cells)
        present = np.flatnonzero(seen)
        lookup = np.full(cells, present.size, dtype=np.intp)
        lookup[present] = np.arange(present.size)
    else:
        present = np.unique(flat[selected])
    keys = np.column_stack(np.unravel_index(present, sizes)).astype(np.int64) + np.array(low, dtype=np.int64)
    return KeyGroups(flat, lookup, present.astype(np.intp), keys.reshape(present.size, len(columns)),
                     int(present.size), low, sizes)
