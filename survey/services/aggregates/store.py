"""The kept counts of the responses: one row per cell in ``score_cell``, the coding they were counted with in
``score_coding``.

A row is a cell of :data:`~survey.services.scores.cells.KEY_NAMES` for a whole local month (questionnaire
version, month, unit, service, channel, invited) with its ``n`` responses and, in ``counts``, the counts of
every table of its questionnaire's :class:`~scoring.coding.Coding` packed as (position, count) pairs: a position
is the table's offset plus the code (:attr:`Coding.offsets`), little-endian ``uint32`` and ``int32``, ascending.
A month of a unit's answers is a few hundred pairs, a few kilobytes, however many people answered.

``score_coding`` holds, per questionnaire key, the fingerprint of the coding and the timezone of the months. A
reading whose coding or timezone differs, or a key marked stale (fingerprint ``''``), gets ``None`` and reads
the raw rows instead, until ``survey aggregates rebuild`` has recounted it.

>>> blob = pack(np.array([7, 2]), np.array([1, 5]))
>>> len(blob), [p.tolist() for p in unpack(blob)]
(16, [[2, 7], [5, 1]])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from questionnaires.model import CHANNELS, Questionnaire
from scoring.coding import Coding
from scoring.tally import SparseCounts, Tally, cells_of
from survey.db import Statement, is_sqlite, marks, run_sql, run_sql_many, run_sql_rows
from survey.services.extract import ResponseFrame, month_codes
from survey.services.scores.cells import KEY_NAMES, ScoreCells, coded_answers

__all__ = ["STALE", "CodingState", "cell_rows", "coding_state", "create_tables", "delete_cells", "insert_cells",
           "kept_cells", "merge_cells", "month_of", "pack", "read_kept_cells", "set_coding", "unpack"]

PAIR = np.dtype([("position", "<u4"), ("count", "<i4")])
STALE = ""  # the fingerprint of a key whose kept counts are not to be read
CELL_COLUMNS = ("questionnaire", "month", "unit", "service", "channel", "invited")
INSERT_ROWS = 400  # 8 parameters a row: well under both databases' parameter limits


def pack(position: npt.NDArray[np.integer], count: npt.NDArray[np.integer]) -> bytes:
    """(position, count) pairs as stored, sorted by position; positions repeated are summed, zero counts dropped."""
    position = np.asarray(position, dtype=np.int64)
    count = np.asarray(count, dtype=np.int64)
    if position.size and (np.diff(position) <= 0).any():
        present, inverse = np.unique(position, return_inverse=True)
        summed = np.zeros(present.size, dtype=np.int64)
        np.add.at(summed, inverse.ravel(), count)
        position, count = present, summed
    keep = count != 0
    out = np.empty(int(keep.sum()), dtype=PAIR)
    out["position"], out["count"] = position[keep], count[keep]
    return out.tobytes()


def unpack(blob: bytes | memoryview | None) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The positions and counts of a stored cell."""
    pairs = np.frombuffer(bytes(blob or b""), dtype=PAIR)
    return pairs["position"].astype(np.int64), pairs["count"].astype(np.int64)


@dataclass(frozen=True)
class CodingState:
    """How a questionnaire's kept counts were counted (``fingerprint`` :data:`STALE`: not to be read)."""

    fingerprint: str
    timezone: str

    def matches(self, coding: Coding, timezone: str) -> bool:
        return self.fingerprint == coding.fingerprint and self.timezone == timezone


def create_tables() -> list[str]:
    """The DDL of the kept counts (idempotent)."""
    sqlite = is_sqlite()
    key = "INTEGER PRIMARY KEY" if sqlite else "SERIAL PRIMARY KEY"
    blob = "BLOB" if sqlite else "BYTEA"
    return [
        f"CREATE TABLE IF NOT EXISTS score_cell (id {key}, questionnaire INTEGER NOT NULL, month INTEGER NOT NULL, "
        "unit INTEGER NOT NULL, service INTEGER NOT NULL, channel INTEGER NOT NULL, invited INTEGER NOT NULL, "
        f"n INTEGER NOT NULL, counts {blob} NOT NULL)",
        f"CREATE UNIQUE INDEX IF NOT EXISTS score_cell_key ON score_cell ({', '.join(CELL_COLUMNS)})",
        f"CREATE TABLE IF NOT EXISTS score_coding (id {key}, questionnaire VARCHAR(64) NOT NULL UNIQUE, "
        "fingerprint VARCHAR(32) NOT NULL, timezone VARCHAR(64) NOT NULL)",
    ]


async def coding_state(key: str) -> CodingState | None:
    """The coding state of questionnaire ``key`` (``None``: nothing kept for it)."""
    rows = await run_sql("SELECT fingerprint, timezone FROM score_coding WHERE questionnaire = {}", key)
    return CodingState(rows[0]["fingerprint"], rows[0]["timezone"]) if rows else None


async def set_coding(key: str, fingerprint: str, timezone: str) -> None:
    """Record how ``key``'s kept counts are counted (in the transaction that counts them)."""
    await run_sql("INSERT INTO score_coding (questionnaire, fingerprint, timezone) VALUES ({}, {}, {}) "
                  "ON CONFLICT (questionnaire) DO UPDATE SET fingerprint = excluded.fingerprint, "
                  "timezone = excluded.timezone", key, fingerprint, timezone)


async def _version_ids(key: str) -> list[int]:
    return [int(r["id"]) for r in await run_sql("SELECT id FROM questionnaire_version WHERE key = {}", key)]


async def delete_cells(key: str, months: range | None = None) -> None:
    """Forget ``key``'s kept cells (of ``months`` only, when given)."""
    versions = await _version_ids(key)
    if not versions:
        return
    where, args = f"questionnaire IN ({marks(len(versions))})", list(versions)
    if months is not None:
        where += " AND month >= {} AND month < {}"
        args += [months.start, months.stop]
    await run_sql(f"DELETE FROM score_cell WHERE {where}", *args)  # noqa: S608 - placeholders only


def cell_rows(cells: ScoreCells) -> list[tuple[Any, ...]]:
    """Each month cell as a row of ``score_cell``: the :data:`CELL_COLUMNS`, ``n``, the packed counts."""
    tally, offsets = cells.tally, cells.coding.offsets
    if (tally.key("day") >= 0).any():
        raise ValueError("only month cells are kept")
    cell = [t.cell.astype(np.int64) for t in tally.tables.values()]
    position = [t.code + offsets[name] for name, t in tally.tables.items()]
    count = [t.count for t in tally.tables.values()]
    all_cell = np.concatenate(cell) if cell else np.zeros(0, dtype=np.int64)
    all_position = np.concatenate(position) if position else np.zeros(0, dtype=np.int64)
    all_count = np.concatenate(count) if count else np.zeros(0, dtype=np.int64)
    order = np.lexsort((all_position, all_cell))
    all_cell, all_position, all_count = all_cell[order], all_position[order], all_count[order]
    bounds = np.searchsorted(all_cell, np.arange(tally.n_cells + 1))
    pairs = np.empty(all_cell.size, dtype=PAIR)
    pairs["position"], pairs["count"] = all_position, all_count
    rows = []
    for i, key in enumerate(tally.keys.tolist()):
        named = dict(zip(KEY_NAMES, key, strict=True))
        rows.append((named["version"], named["month"], named["unit"], named["service"], named["channel"],
                     named["invited"], int(tally.n[i]), pairs[bounds[i]:bounds[i + 1]].tobytes()))
    return rows


SMALL_FRAME = 64  # up to this many responses, counted in plain Python (array calls cost more than they save)


def month_cell_rows(frame: ResponseFrame, coding: Coding, timezone: str) -> list[tuple[Any, ...]]:
    """The rows of :func:`cell_rows` for raw responses counted into month cells, straight from the rows' codes
    (one sort over every table at once: what a write path counts in its transaction, a few responses at a time)."""
    if frame.n == 0:
        return []
    if frame.n <= SMALL_FRAME:
        return _small_cell_rows(frame, coding, timezone)
    months = month_codes(frame.submitted_epoch, timezone).astype(np.int64)
    keys = np.column_stack([frame.version_id, months, frame.unit_id, frame.service_id,
                            frame.channel.astype(np.int64), frame.invited.astype(np.int64)])  # CELL_COLUMNS
    cells, cell_of_row = cells_of(keys)
    codes = coding.row_codes(coded_answers(frame, coding), frame.commented)
    total = sum(coding.sizes.values())
    flat = np.concatenate([cell_of_row.astype(np.int64) * total + coding.offsets[name] + column.astype(np.int64)
                           for name, (column, _) in codes.items()])
    answered = np.concatenate([column != 0 for column, _ in codes.values()])
    present, counts = np.unique(flat[answered], return_counts=True)
    cell, position = present // total, present % total
    bounds = np.searchsorted(cell, np.arange(cells.shape[0] + 1))
    n = np.bincount(cell_of_row, minlength=cells.shape[0])
    pairs = np.empty(present.size, dtype=PAIR)
    pairs["position"], pairs["count"] = position, counts
    return [(*key, int(n[i]), pairs[bounds[i]:bounds[i + 1]].tobytes()) for i, key in enumerate(cells.tolist())]


def month_of(moment: datetime, zone: ZoneInfo) -> int:
    """The month code of ``moment`` in ``zone``, as :func:`~survey.services.extract.month_codes` gives it
    (months since year 0)."""
    local = moment.astimezone(zone)
    return local.year * 12 + local.month - 1


def _small_cell_rows(frame: ResponseFrame, coding: Coding, timezone: str) -> list[tuple[Any, ...]]:
    """:func:`month_cell_rows` of a few responses, one at a time (:meth:`Coding.positions`)."""
    zone = ZoneInfo(timezone)
    months = [month_of(datetime.fromtimestamp(epoch, UTC), zone) for epoch in frame.submitted_epoch.tolist()]
    answers = coded_answers(frame, coding).tolist()
    cells: dict[tuple[int, ...], tuple[list[int], dict[int, int]]] = {}
    for i, (version, unit, service, channel, invited, commented) in enumerate(zip(
            frame.version_id.tolist(), frame.unit_id.tolist(), frame.service_id.tolist(), frame.channel.tolist(),
            frame.invited.tolist(), frame.commented.tolist(), strict=True)):
        key = (int(version), int(months[i]), int(unit), int(service), int(channel), int(invited))
        n, counts = cells.setdefault(key, ([0], {}))
        n[0] += 1
        for position in coding.positions(answers[i], bool(commented)):
            counts[position] = counts.get(position, 0) + 1
    rows = []
    for key in sorted(cells):
        n, counts = cells[key]
        positions = sorted(counts)
        rows.append((*key, n[0], pack(np.array(positions, dtype=np.int64),
                                      np.array([counts[p] for p in positions], dtype=np.int64))))
    return rows


async def insert_cells(rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert new cells (none of them kept yet)."""
    columns = (*CELL_COLUMNS, "n", "counts")
    for start in range(0, len(rows), INSERT_ROWS):
        chunk = rows[start:start + INSERT_ROWS]
        values = ", ".join(f"({marks(len(columns))})" for _ in chunk)
        await run_sql(f"INSERT INTO score_cell ({', '.join(columns)}) VALUES {values}",  # noqa: S608
                      *[v for row in chunk for v in row])


async def merge_cells(rows: Sequence[tuple[Any, ...]]) -> None:
    """Add cells' counts to the kept ones (inside the caller's transaction): rows of :func:`cell_rows`, with
    negative counts to take responses away. Cells left empty are deleted.

    The cells are locked in key order (``FOR UPDATE`` on PostgreSQL; SQLite's write lock is the transaction's), so
    concurrent writers wait for each other and never deadlock."""
    if not rows:
        return
    rows = sorted(rows, key=lambda r: r[:6])
    kept = kept_of(await run_sql_many(locked_cells_sql(rows)))
    missing = [row for row in rows if cell_key(row) not in kept]
    if missing:  # new cells: created (empty), then read and locked like the others
        for start in range(0, len(missing), INSERT_ROWS):
            chunk = missing[start:start + INSERT_ROWS]
            values = ", ".join(f"({marks(8)})" for _ in chunk)
            await run_sql(f"INSERT INTO score_cell ({', '.join(CELL_COLUMNS)}, n, counts) VALUES {values} "  # noqa: S608
                          f"ON CONFLICT ({', '.join(CELL_COLUMNS)}) DO NOTHING",
                          *[v for row in chunk for v in (*row[:6], 0, b"")])
        kept.update(kept_of(await run_sql_many(locked_cells_sql(missing))))
    await run_sql_many(merged_cells_sql(rows, kept))


def cell_key(row: Sequence[Any]) -> tuple[int, ...]:
    """The :data:`CELL_COLUMNS` of a cell row, as integers."""
    return tuple(int(v) for v in row[:6])


def locked_cells_sql(rows: Sequence[tuple[Any, ...]]) -> list[Statement]:
    """The statements reading the kept cells of ``rows`` (sorted by key) that exist, locked (``FOR UPDATE`` on
    PostgreSQL); their results go to :func:`kept_of`."""
    lock = "" if is_sqlite() else " ORDER BY id FOR UPDATE"
    statements: list[Statement] = []
    for start in range(0, len(rows), INSERT_ROWS):
        chunk = rows[start:start + INSERT_ROWS]
        match = " OR ".join("(questionnaire = {} AND month = {} AND unit = {} AND service = {} AND channel = {} "
                            "AND invited = {})" for _ in chunk)
        statements.append((f"SELECT id, {', '.join(CELL_COLUMNS)}, n, counts FROM score_cell "  # noqa: S608
                           f"WHERE {match}{lock}", [v for row in chunk for v in row[:6]]))
    return statements


def kept_of(results: Sequence[Sequence[dict[str, Any]]]) -> dict[tuple[int, ...], dict[str, Any]]:
    """The kept cells read by :func:`locked_cells_sql`, by key."""
    return {tuple(int(r[c]) for c in CELL_COLUMNS): r for rows in results for r in rows}


def merged_cells_sql(rows: Sequence[tuple[Any, ...]], kept: dict[tuple[int, ...], dict[str, Any]]) -> list[Statement]:
    """The statements adding ``rows`` to the ``kept`` cells (each row's cell kept, or inserted whole when not)."""
    statements: list[Statement] = []
    missing = []
    for row in rows:
        old = kept.get(cell_key(row))
        if old is None:
            missing.append(row)
            continue
        old_position, old_count = unpack(old["counts"])
        new_position, new_count = unpack(row[7])
        n = int(old["n"]) + int(row[6])
        blob = pack(np.concatenate([old_position, new_position]), np.concatenate([old_count, new_count]))
        if n < 0 or (n == 0 and blob):
            raise ValueError(f"kept counts would fall below zero in cell {row[:6]}")
        if n == 0:
            statements.append(("DELETE FROM score_cell WHERE id = {}", [old["id"]]))
        else:
            statements.append(("UPDATE score_cell SET n = {}, counts = {} WHERE id = {}", [n, blob, old["id"]]))
    if any(int(row[6]) < 0 for row in missing):
        raise ValueError("kept counts would fall below zero in a cell never kept")
    columns = (*CELL_COLUMNS, "n", "counts")
    for start in range(0, len(missing), INSERT_ROWS):
        chunk = missing[start:start + INSERT_ROWS]
        values = ", ".join(f"({marks(len(columns))})" for _ in chunk)
        statements.append((f"INSERT INTO score_cell ({', '.join(columns)}) VALUES {values}",  # noqa: S608
                           [v for row in chunk for v in row]))
    return statements


async def kept_cells(key: str, months: range | None = None) -> list[tuple[Any, ...]]:
    """``key``'s kept rows (of ``months``): the :data:`CELL_COLUMNS`, ``n``, ``counts``."""
    versions = await _version_ids(key)
    if not versions:
        return []
    where, args = f"questionnaire IN ({marks(len(versions))})", list(versions)
    if months is not None:
        where += " AND month >= {} AND month < {}"
        args += [months.start, months.stop]
    return await run_sql_rows(f"SELECT {', '.join(CELL_COLUMNS)}, n, counts FROM score_cell "  # noqa: S608
                              f"WHERE {where}", *args)


def cells_of_rows(rows: Sequence[Sequence[Any]], coding: Coding, timezone: str) -> ScoreCells:
    """The :class:`ScoreCells` of kept rows (month cells): tuples of the :data:`CELL_COLUMNS`, ``n``, ``counts``."""
    if rows:
        stored = np.array([row[:7] for row in rows], dtype=np.int64)  # CELL_COLUMNS, then n
        # in KEY_NAMES order: version, unit, service, channel, invited, month, day (-1: the whole month)
        keys = np.column_stack([stored[:, [0, 2, 3, 4, 5, 1]], np.full(len(rows), -1, dtype=np.int64)])
    else:
        stored, keys = np.zeros((0, 7), dtype=np.int64), np.zeros((0, len(KEY_NAMES)), dtype=np.int64)
    order = np.lexsort(keys.T[::-1])  # cells sorted by their keys, as a Tally keeps them
    keys, n = keys[order], stored[order, 6]
    blobs = [bytes(rows[i][7]) for i in order.tolist()]
    pairs = np.frombuffer(b"".join(blobs), dtype=PAIR)
    cell = np.repeat(np.arange(len(blobs), dtype=np.intp), [len(b) // PAIR.itemsize for b in blobs])
    position = pairs["position"].astype(np.int64)
    count = pairs["count"].astype(np.int64)
    names = list(coding.sizes)
    starts = np.array([coding.offsets[name] for name in names], dtype=np.int64)
    table = np.searchsorted(starts, position, side="right") - 1
    # entries are sorted by cell, then position: a stable sort by table keeps that order within each table
    by_table = np.argsort(table.astype(np.int16), kind="stable")  # a radix sort on small integers
    bounds = np.searchsorted(table[by_table], np.arange(len(names) + 1))
    tables = {}
    for t, name in enumerate(names):
        pick = by_table[bounds[t]:bounds[t + 1]]
        code = position[pick] - starts[t]
        size = coding.sizes[name]
        if code.size and int(code.max()) >= size:
            raise ValueError(f"a kept cell holds a code outside table {name!r}")
        tables[name] = SparseCounts(cell[pick], code, count[pick], size)
    return ScoreCells(Tally(KEY_NAMES, keys, n, tables), coding, timezone)


async def read_kept_cells(questionnaire: Questionnaire, months: Sequence[int], timezone: str, *,
                          service_id: int | None = None, channel: str | None = None,
                          unit_ids: Sequence[int] | None = None) -> ScoreCells | None:
    """The kept month cells of ``questionnaire`` (every version) in ``months``, of ``unit_ids`` (every unit by
    default), a service and a channel; ``None`` when its counts are not kept in this coding and timezone."""
    coding = Coding.of(questionnaire)
    state = await coding_state(questionnaire.id)
    if state is None or not state.matches(coding, timezone):
        return None
    versions = await _version_ids(questionnaire.id)
    if not months or not versions or (unit_ids is not None and not unit_ids):
        return cells_of_rows([], coding, timezone)
    args: list[Any] = [*versions, *months]
    where = f"questionnaire IN ({marks(len(versions))}) AND month IN ({marks(len(months))})"
    if service_id is not None:
        where += " AND service = {}"
        args.append(service_id)
    if channel is not None:
        where += " AND channel = {}"
        args.append(CHANNELS.index(channel))
    if unit_ids is not None:
        where += f" AND unit IN ({marks(len(unit_ids))})"
        args += [int(u) for u in unit_ids]
    rows = await run_sql_rows(f"SELECT {', '.join(CELL_COLUMNS)}, n, counts FROM score_cell "  # noqa: S608
                              f"WHERE {where}", *args)
    return cells_of_rows(rows, coding, timezone)
