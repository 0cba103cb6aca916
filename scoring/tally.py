"""Answers kept as counts per cell: what every measure and test needs, without the responses behind it.

A *cell* is one combination of key values (say version × month × unit × service × channel). A
:class:`Tally` holds, per cell, its number of responses ``n`` and some *tables*; a table
(:class:`SparseCounts`) says how many of the cell's respondents have each *code* of a small code space:
the answer to one question, the joint answers to a criterion's items, the joint outcome of every
criterion (:mod:`scoring.coding` says which). Code 0 always means "nothing to count" (not answered) and
is never stored: it is the cell's ``n`` minus the others. Rating answers are small integers on short
scales, so a month of a unit's answers is a few hundred numbers however many people answered.

Tallies add up: the tally of two sets of responses is the :func:`combine` of their tallies, and a
negative tally takes responses away again. A tally of single responses (one cell per response) is the
raw computation; any coarser one gives the same counts per group.

>>> t = tally_rows(("unit",), np.array([[3], [3], [5]]), {"rating": (np.array([2, 0, 2]), 6)})
>>> t.keys.tolist(), t.n.tolist(), t.tables["rating"].dense(np.array([0, 0]), 1).tolist()
([[3], [5]], [2, 1], [[0, 0, 2, 0, 0, 0]])
>>> combine([t, t.negated()]).n_cells
0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring._common import IntArray

__all__ = ["CodeColumn", "SparseCounts", "Tally", "cells_of", "combine", "tally_rows"]

CodeColumn = tuple[npt.NDArray[np.integer], int]  # per row: its code, and the size of the code space


def _flat_keys(keys: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Each row of key values as one integer (mixed radix over the columns' spans), and the columns' lows."""
    if keys.shape[1] == 0:
        return np.zeros(keys.shape[0], dtype=np.int64), np.zeros(0, dtype=np.int64)
    low = keys.min(axis=0) if keys.shape[0] else np.zeros(keys.shape[1], dtype=np.int64)
    span = (keys.max(axis=0) - low + 1) if keys.shape[0] else np.ones(keys.shape[1], dtype=np.int64)
    if float(np.prod(span.astype(np.float64))) >= 2.0**62:
        raise ValueError("tally keys span too many values to combine into one integer")
    flat = np.zeros(keys.shape[0], dtype=np.int64)
    for j in range(keys.shape[1]):
        flat *= int(span[j])
        flat += keys[:, j] - low[j]
    return flat, low


def cells_of(keys: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], IntArray]:
    """The distinct key rows (sorted) and the cell of each row."""
    if keys.shape[0] == 0:
        return keys.reshape(0, keys.shape[1]), np.zeros(0, dtype=np.intp)
    flat, _ = _flat_keys(keys)
    _, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
    return keys[first], inverse.ravel().astype(np.intp)


@dataclass(frozen=True, eq=False)
class SparseCounts:
    """``count[e]`` respondents of cell ``cell[e]`` have code ``code[e]`` (``1..size-1``; code 0 is not stored).
    Entries are sorted by cell, then code, each (cell, code) once, no count zero."""

    cell: IntArray
    code: npt.NDArray[np.int64]
    count: npt.NDArray[np.int64]
    size: int

    @classmethod
    def empty(cls, size: int) -> SparseCounts:
        return cls(np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), size)

    @classmethod
    def of_entries(cls, cell: npt.ArrayLike, code: npt.ArrayLike, count: npt.ArrayLike, size: int) -> SparseCounts:
        """The counts of possibly repeated (cell, code) entries, summed; zero sums and code 0 dropped."""
        cells = np.asarray(cell, dtype=np.int64).ravel()
        codes = np.asarray(code, dtype=np.int64).ravel()
        counts = np.asarray(count, dtype=np.int64).ravel()
        if codes.size and (int(codes.min()) < 0 or int(codes.max()) >= size):
            raise ValueError(f"codes must lie in 0..{size - 1}")
        keep = codes > 0
        cells, codes, counts = cells[keep], codes[keep], counts[keep]
        if cells.size == 0:
            return cls.empty(size)
        flat = cells * size + codes
        present, inverse = np.unique(flat, return_inverse=True)
        summed = np.zeros(present.size, dtype=np.int64)
        np.add.at(summed, inverse.ravel(), counts)
        nonzero = summed != 0
        present, summed = present[nonzero], summed[nonzero]
        return cls((present // size).astype(np.intp), present % size, summed, size)

    @property
    def n_entries(self) -> int:
        return int(self.code.shape[0])

    def dense(self, groups: IntArray, n_groups: int) -> npt.NDArray[np.int64]:
        """``[g, code]``: respondents of group ``g`` with each code; ``groups`` holds one group per cell in
        ``0..n_groups`` (``n_groups`` = in no group, left out)."""
        flat = groups[self.cell].astype(np.int64) * self.size + self.code
        total = np.bincount(flat, weights=self.count, minlength=(n_groups + 1) * self.size)
        out: npt.NDArray[np.int64] = np.rint(total[: n_groups * self.size]).astype(np.int64).reshape(n_groups,
                                                                                                     self.size)
        return out

    def compacted(self) -> tuple[SparseCounts, npt.NDArray[np.int64]]:
        """The same counts with the codes that occur numbered ``1..m`` (code 0 kept), and the original code of
        each new one (``present[0] == 0``): for code spaces too large to count densely."""
        present = np.unique(np.concatenate([[0], self.code]))
        renumbered = np.searchsorted(present, self.code).astype(np.int64)
        return SparseCounts(self.cell, renumbered, self.count, int(present.size)), present

    def take(self, mapping: IntArray) -> SparseCounts:
        """The entries of the cells kept, renumbered by ``mapping`` (old cell -> new cell, -1: dropped)."""
        new = mapping[self.cell]
        keep = new >= 0
        return SparseCounts(new[keep].astype(np.intp), self.code[keep], self.count[keep], self.size)


@dataclass(frozen=True, eq=False)
class Tally:
    """Responses counted per cell: ``keys[i]`` are cell ``i``'s key values (columns named by ``key_names``, rows
    sorted and distinct), ``n[i]`` its responses, ``tables`` the code counts of its respondents."""

    key_names: tuple[str, ...]
    keys: npt.NDArray[np.int64]
    n: npt.NDArray[np.int64]
    tables: Mapping[str, SparseCounts]

    @property
    def n_cells(self) -> int:
        return int(self.n.shape[0])

    def key(self, name: str) -> npt.NDArray[np.int64]:
        """One key column, a value per cell."""
        return self.keys[:, self.key_names.index(name)]

    def take(self, cells: npt.NDArray[np.bool_]) -> Tally:
        """The cells selected by a boolean mask."""
        mapping = np.full(self.n_cells, -1, dtype=np.intp)
        kept = np.flatnonzero(cells)
        mapping[kept] = np.arange(kept.size)
        return Tally(self.key_names, self.keys[kept], self.n[kept],
                     {name: table.take(mapping) for name, table in self.tables.items()})

    def negated(self) -> Tally:
        """The tally that takes these responses away again (:func:`combine` it)."""
        return Tally(self.key_names, self.keys, -self.n,
                     {name: SparseCounts(t.cell, t.code, -t.count, t.size) for name, t in self.tables.items()})

    def differences(self, other: Tally, limit: int = 20) -> list[str]:
        """What differs between two tallies of the same layout, named by cell key and table (at most ``limit``)."""
        found: list[str] = []
        diff = combine([self, other.negated()], keep_empty=True)
        label = {i: ", ".join(f"{k}={v}" for k, v in zip(diff.key_names, row, strict=True))
                 for i, row in enumerate(diff.keys.tolist())}
        for i in np.flatnonzero(diff.n).tolist():
            found.append(f"{label[i]}: responses {int(diff.n[i]):+d}")
        for name, table in diff.tables.items():
            for cell, code, count in zip(table.cell.tolist(), table.code.tolist(), table.count.tolist(), strict=True):
                found.append(f"{label[cell]}: {name} code {code} {count:+d}")
                if len(found) >= limit:
                    break
        return found[:limit]


def tally_rows(key_names: Sequence[str], keys: npt.ArrayLike, codes: Mapping[str, CodeColumn],
               weights: npt.ArrayLike | None = None) -> Tally:
    """The tally of rows: ``keys[r]`` row ``r``'s key values, ``codes[name] = (per-row codes, size)``; each row
    counts once (or ``weights[r]`` times, e.g. -1 to take it away)."""
    key_rows = np.asarray(keys, dtype=np.int64).reshape(-1, len(key_names))
    cells, cell_of_row = cells_of(key_rows)
    w = np.ones(key_rows.shape[0], dtype=np.int64) if weights is None else np.asarray(weights, dtype=np.int64)
    n = np.zeros(cells.shape[0], dtype=np.int64)
    np.add.at(n, cell_of_row, w)
    tables = {name: SparseCounts.of_entries(cell_of_row, column, w, size) for name, (column, size) in codes.items()}
    return Tally(tuple(key_names), cells, n, tables)


def combine(tallies: Sequence[Tally], *, keep_empty: bool = False) -> Tally:
    """The sum of tallies with the same key names and tables: cells of equal keys merged, counts added. Cells
    left with no response are dropped (``keep_empty``: kept while any of their counts is not zero)."""
    if not tallies:
        raise ValueError("combine needs at least one tally")
    first = tallies[0]
    for t in tallies[1:]:
        if t.key_names != first.key_names or set(t.tables) != set(first.tables):
            raise ValueError("combine needs tallies of the same key names and tables")
    keys = np.concatenate([t.keys for t in tallies]).reshape(-1, len(first.key_names))
    cells, cell_of = cells_of(keys)
    offsets = np.cumsum([0, *(t.n_cells for t in tallies)])
    n = np.zeros(cells.shape[0], dtype=np.int64)
    np.add.at(n, cell_of, np.concatenate([t.n for t in tallies]))
    tables = {}
    for name, table in first.tables.items():
        parts = [t.tables[name] for t in tallies]
        if any(p.size != table.size for p in parts):
            raise ValueError(f"table {name!r} has different code spaces in the tallies")
        cell = np.concatenate([cell_of[offsets[i] + p.cell] for i, p in enumerate(parts)])
        tables[name] = SparseCounts.of_entries(cell, np.concatenate([p.code for p in parts]),
                                               np.concatenate([p.count for p in parts]), table.size)
    tally = Tally(first.key_names, cells, n, tables)
    alive = n != 0
    if keep_empty:
        for table in tables.values():
            alive[table.cell] = True
    return tally if alive.all() else tally.take(alive)

