"""Responses out of the database in columnar form: one query per scope, straight into numpy arrays.

The query joins ``response`` and ``answer`` and pivots the answers in SQL (one column per numeric
question, ``MAX(CASE WHEN question_id = ? ...)``), so the database returns one row per complete
response and no per-answer Python objects are built:

* PostgreSQL: ``COPY (query) TO STDOUT (FORMAT binary)`` through asyncpg, every column a non-null
  ``int8`` or ``float8`` (``'NaN'`` for "not answered"), read with ``np.frombuffer`` and a structured
  big-endian dtype, so not even a per-row tuple exists;
* SQLite: a plain ``sqlite3`` connection on the same file (WAL: it reads what is committed),
  ``fetchmany`` in blocks, each block turned into a float array at once (``None`` becomes NaN).

>>> scope = ResponseScope("post-call", datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
>>> scope.unit_path_pattern
'/%'
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from piccolo.engine.sqlite import SQLiteEngine

from questionnaires.model import CHANNELS
from survey.db import aware, compile_sql, engine, is_sqlite, marks, run_sql, run_sql_rows, sql_param

__all__ = [
    "Comment",
    "ResponseFrame",
    "ResponseScope",
    "extract_comments",
    "extract_in_transaction",
    "extract_responses",
    "month_codes",
    "subtree_pattern",
]

# how many rows SQLite hands over per block: large enough to amortise, small enough to stay in cache
SQLITE_BLOCK_ROWS = 65_536
META_COLUMNS = ("response_id", "unit_id", "service_id", "channel", "submitted_epoch", "invited", "version_id",
                "commented")


def subtree_pattern(unit_path: str) -> str:
    r"""The LIKE pattern (with ``ESCAPE '\'``) of a unit's subtree, LIKE's wildcards in the path escaped.

    >>> print(subtree_pattern("/VN/HN_1/"))
    /VN/HN\_1/%
    """
    return unit_path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass(frozen=True)
class ResponseScope:
    """Which complete responses to read: a questionnaire (every published version), a time window
    ``[start, end)``, a unit subtree (``unit_path`` prefix, e.g. ``/VN/HN/``), a service and a channel; optionally
    only some units (``unit_ids``) or some responses (``response_ids``)."""

    questionnaire: str
    start: datetime
    end: datetime
    unit_path: str = "/"
    service_id: int | None = None
    channel: str | None = None
    unit_ids: tuple[int, ...] | None = None  # only these units (besides the subtree)
    response_ids: tuple[int, ...] | None = None  # only these responses

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("ResponseScope needs time-zone aware start and end")
        if self.unit_ids is not None and not self.unit_ids:
            raise ValueError("ResponseScope.unit_ids, when given, names at least one unit")
        if self.channel is not None and self.channel not in CHANNELS:
            raise ValueError(f"channel {self.channel!r} is not one of {', '.join(CHANNELS)}")

    @property
    def unit_path_pattern(self) -> str:
        """The LIKE pattern of the subtree (:func:`subtree_pattern`)."""
        return subtree_pattern(self.unit_path)


@dataclass(frozen=True, eq=False)
class ResponseFrame:
    """Complete responses as columns: one row per response, ``answers[:, j]`` the answers to
    ``question_ids[j]`` (NaN = not answered). ``service_id`` is 0 for none; ``channel`` indexes
    :data:`questionnaires.model.CHANNELS`; ``submitted_epoch`` is seconds since 1970 (UTC); ``version_id`` is the
    questionnaire version answered; ``commented`` whether the response left any of the comments asked for."""

    question_ids: tuple[str, ...]
    response_id: npt.NDArray[np.int64]
    unit_id: npt.NDArray[np.int64]
    service_id: npt.NDArray[np.int64]
    channel: npt.NDArray[np.int8]
    submitted_epoch: npt.NDArray[np.int64]
    invited: npt.NDArray[np.bool_]
    answers: npt.NDArray[np.float64]
    version_id: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    commented: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.response_id.shape[0])

    def column(self, question_id: str) -> npt.NDArray[np.float64]:
        return self.answers[:, self.question_ids.index(question_id)]

    def take(self, rows: npt.NDArray[Any]) -> ResponseFrame:
        """The rows selected by a boolean mask or an index array."""
        return ResponseFrame(
            question_ids=self.question_ids,
            response_id=self.response_id[rows],
            unit_id=self.unit_id[rows],
            service_id=self.service_id[rows],
            channel=self.channel[rows],
            submitted_epoch=self.submitted_epoch[rows],
            invited=self.invited[rows],
            answers=self.answers[rows],
            version_id=self.version_id[rows],
            commented=self.commented[rows],
        )

    @classmethod
    def from_matrix(cls, question_ids: Sequence[str], matrix: npt.NDArray[np.float64]) -> ResponseFrame:
        """Build from the ``(rows, 6 + questions)`` float matrix the queries return."""
        answers = np.ascontiguousarray(matrix[:, len(META_COLUMNS):], dtype=np.float64)
        return cls(
            question_ids=tuple(question_ids),
            response_id=matrix[:, 0].astype(np.int64),
            unit_id=matrix[:, 1].astype(np.int64),
            service_id=matrix[:, 2].astype(np.int64),
            channel=matrix[:, 3].astype(np.int8),
            submitted_epoch=matrix[:, 4].astype(np.int64),
            invited=matrix[:, 5] != 0,
            answers=answers,
            version_id=matrix[:, 6].astype(np.int64),
            commented=matrix[:, 7] != 0,
        )


def local_days(epoch: npt.NDArray[np.int64], timezone: str) -> npt.NDArray[np.int64]:
    """The local calendar day of each instant, as days since 1970-01-01.

    The offset is looked up once per distinct day (a few hundred), not per response.

    >>> local_days(np.array([1777568400 - 1, 1777568400]), "Asia/Ho_Chi_Minh").tolist()  # 2026-04-30 17:00 UTC
    [20573, 20574]
    """
    if epoch.size == 0:
        return np.zeros(0, dtype=np.int64)
    zone = ZoneInfo(timezone)
    days = epoch // 86_400
    first, last = int(days.min()), int(days.max())
    # per UTC day (a table over the days spanned, no sort of the rows): its offset, then the local day of each
    span = np.arange(first, last + 1)
    seen = np.bincount(days - first, minlength=span.size) > 0
    offsets = np.zeros(span.size, dtype=np.int64)
    offsets[seen] = [int(datetime.fromtimestamp(int(d) * 86_400 + 43_200, UTC).astimezone(zone).utcoffset()  # type: ignore[union-attr]
                         .total_seconds()) for d in span[seen]]
    local: npt.NDArray[np.int64] = (epoch + offsets[days - first]) // 86_400
    return local


def month_codes(epoch: npt.NDArray[np.int64], timezone: str) -> npt.NDArray[np.int32]:
    """The local calendar month of each instant as ``year * 12 + month - 1``.

    >>> month_codes(np.array([1777568400]), "Asia/Ho_Chi_Minh").tolist()  # 2026-04-30 17:00 UTC
    [24316]
    >>> divmod(24316, 12)
    (2026, 4)
    """
    if epoch.size == 0:
        return np.zeros(0, dtype=np.int32)
    local_day = local_days(epoch, timezone)
    low = int(local_day.min())
    spanned = np.arange(low, int(local_day.max()) + 1).astype("datetime64[D]")
    # datetime64[M] counts months from 1970-01
    months = (spanned.astype("datetime64[M]").astype(np.int64) + 1970 * 12).astype(np.int32)
    return months[local_day - low]


def _select_sql(question_ids: Sequence[str], scope: ResponseScope, postgres: bool,
                text_ids: Sequence[str] = ()) -> tuple[str, list[Any]]:
    """The pivot query with ``{}`` placeholders and its parameters (user input only ever travels as parameters)."""
    args: list[Any] = []

    def param(value: Any) -> str:
        args.append(value)
        return "{}"

    channel_case = " ".join(f"WHEN '{name}' THEN {code}" for code, name in enumerate(CHANNELS))  # names from code
    if postgres:
        epoch = "EXTRACT(EPOCH FROM r.submitted_at)::int8"
        answer = "COALESCE(MAX(CASE WHEN a.question_id = {} THEN a.value_number END), 'NaN')::float8"
        meta = (f"r.id::int8, r.unit::int8, COALESCE(r.service, 0)::int8, (CASE r.channel {channel_case} ELSE -1 END)"
                f"::int8, {epoch}, (r.invitation IS NOT NULL)::int::int8, r.questionnaire::int8")
    else:
        epoch = "CAST(strftime('%s', r.submitted_at) AS INTEGER)"
        answer = "MAX(CASE WHEN a.question_id = {} THEN a.value_number END)"
        meta = (f"r.id, r.unit, COALESCE(r.service, 0), CASE r.channel {channel_case} ELSE -1 END, {epoch}, "
                f"r.invitation IS NOT NULL, r.questionnaire")
    texts = ", ".join(param(t) for t in text_ids) if text_ids else "NULL"
    commented = (f"MAX(CASE WHEN a.question_id IN ({texts}) AND a.value_text IS NOT NULL AND a.value_text <> '' "
                 "THEN 1 ELSE 0 END)")
    columns = [meta, f"COALESCE({commented}, 0)::int8" if postgres else f"COALESCE({commented}, 0)"]
    for question_id in question_ids:
        columns.append(answer.replace("{}", param(question_id)))
    in_list = ", ".join(param(q) for q in [*question_ids, *text_ids]) if question_ids or text_ids else "NULL"
    where = [
        f"qv.key = {param(scope.questionnaire)}",
        "r.status = 'complete'",
        f"r.submitted_at >= {param(sql_param(scope.start, sqlite=not postgres))}",
        f"r.submitted_at < {param(sql_param(scope.end, sqlite=not postgres))}",
        f"u.path LIKE {param(scope.unit_path_pattern)} ESCAPE '\\'",
    ]
    if scope.service_id is not None:
        where.append(f"r.service = {param(scope.service_id)}")
    if scope.channel is not None:
        where.append(f"r.channel = {param(scope.channel)}")
    if scope.unit_ids is not None:
        where.append(f"r.unit IN ({', '.join(param(int(u)) for u in scope.unit_ids)})")
    if scope.response_ids is not None:
        where.append(f"r.id IN ({', '.join(param(int(i)) for i in scope.response_ids)})")
    sql = (
        f"SELECT {', '.join(columns)} FROM response r "  # noqa: S608 - identifiers from code, values as parameters
        "JOIN questionnaire_version qv ON qv.id = r.questionnaire "
        "JOIN unit u ON u.id = r.unit "
        f"LEFT JOIN answer a ON a.response = r.id AND a.question_id IN ({in_list}) "
        f"WHERE {' AND '.join(where)} GROUP BY r.id"
    )
    return sql, args


def _read_sqlite(path: str, sql: str, args: list[Any], width: int) -> npt.NDArray[np.float64]:
    blocks: list[npt.NDArray[np.float64]] = []
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)) as db:
        db.execute("PRAGMA query_only = 1")
        cursor = db.execute(compile_sql(sql, len(args), sqlite=True), args)
        while rows := cursor.fetchmany(SQLITE_BLOCK_ROWS):
            blocks.append(np.array(rows, dtype=np.float64))
    if not blocks:
        return np.zeros((0, width), dtype=np.float64)
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)


BINARY_COPY_HEADER = 19  # 11-byte signature, int32 flags, int32 header-extension length (0)


def _binary_rows(buffer: bytes, n_int: int, n_float: int) -> npt.NDArray[np.float64]:
    """Rows of a binary COPY whose fields are all non-null 8-byte values: field count, then (length, value)."""
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i in range(n_int + n_float):
        fields += [(f"len{i}", ">i4"), (f"v{i}", ">i8" if i < n_int else ">f8")]
    dtype = np.dtype(fields)
    n_rows = (len(buffer) - BINARY_COPY_HEADER - 2) // dtype.itemsize
    records = np.frombuffer(buffer, dtype=dtype, count=n_rows, offset=BINARY_COPY_HEADER)
    matrix = np.empty((n_rows, n_int + n_float), dtype=np.float64)
    for i in range(n_int + n_float):
        matrix[:, i] = records[f"v{i}"]
    return matrix


async def _read_postgres(db: Any, sql: str, args: list[Any], width: int) -> npt.NDArray[np.float64]:
    # asyncpg's copy_from_query binds *args like any query: values never enter the SQL text
    sink = io.BytesIO()
    connection = await db.get_new_connection()
    try:
        await connection.copy_from_query(
            compile_sql(sql, len(args), sqlite=False), *args, output=sink, format="binary"
        )
    finally:
        await connection.close()
    return _binary_rows(sink.getbuffer().tobytes(), len(META_COLUMNS), width - len(META_COLUMNS))


async def extract_responses(scope: ResponseScope, question_ids: Sequence[str],
                            text_ids: Sequence[str] = ()) -> ResponseFrame:
    """Every complete response in ``scope`` with its answers to the numeric ``question_ids`` and whether it left a
    comment (an answer to one of ``text_ids``)."""
    import time

    started = time.perf_counter()
    db = engine()
    postgres = not isinstance(db, SQLiteEngine)
    sql, args = _select_sql(question_ids, scope, postgres, text_ids)
    width = len(META_COLUMNS) + len(question_ids)
    if postgres:
        matrix = await _read_postgres(db, sql, args, width)
    else:
        matrix = await asyncio.to_thread(_read_sqlite, str(db.path), sql, args, width)
    fetched = time.perf_counter()
    frame = ResponseFrame.from_matrix(question_ids, matrix)
    frame.timings.update(query_s=fetched - started, arrays_s=time.perf_counter() - fetched)
    return frame


async def extract_in_transaction(scope: ResponseScope, question_ids: Sequence[str],
                                 text_ids: Sequence[str] = ()) -> ResponseFrame:
    """:func:`extract_responses` on the current transaction's connection: what it has written is read too (the
    responses a write path has just completed, to count them in the same transaction)."""
    postgres = not is_sqlite()
    sql, args = _select_sql(question_ids, scope, postgres, text_ids)
    rows = await run_sql_rows(sql, *args)
    width = len(META_COLUMNS) + len(question_ids)
    matrix = np.array(rows, dtype=np.float64).reshape(-1, width) if rows else np.zeros((0, width))
    return ResponseFrame.from_matrix(question_ids, matrix)


@dataclass(frozen=True)
class Comment:
    """One free-text answer (a comment), with where it came from (``text`` is ``None`` when only counted)."""

    response_id: int
    unit_id: int
    question_id: str
    text: str | None
    submitted_at: datetime
    service_id: int = 0
    channel: str | None = None


COMMENT_IDS_PER_QUERY = 900


async def _comments_of(response_ids: Sequence[int], question_ids: Sequence[str]) -> list[Comment]:
    """The comments of the given responses (chosen in a scope already), newest first: read by response id down
    the answers' index, not by scanning the scope again."""
    ids = sorted({int(i) for i in response_ids})
    comments = []
    for first in range(0, len(ids), COMMENT_IDS_PER_QUERY):
        chunk = ids[first:first + COMMENT_IDS_PER_QUERY]
        rows = await run_sql(
            "SELECT r.id AS response_id, r.unit AS unit_id, a.question_id, a.value_text AS value_text, "  # noqa: S608
            "r.submitted_at, COALESCE(r.service, 0) AS service_id, r.channel FROM answer a "
            f"JOIN response r ON r.id = a.response WHERE a.response IN ({marks(len(chunk))}) "
            f"AND a.question_id IN ({marks(len(question_ids))}) AND a.value_text IS NOT NULL AND a.value_text <> ''",
            *chunk, *question_ids)
        for row in rows:
            submitted = aware(row["submitted_at"])
            assert submitted is not None  # a commented response in a scope is complete
            comments.append(Comment(int(row["response_id"]), int(row["unit_id"]), row["question_id"],
                                    row["value_text"], submitted, int(row["service_id"]), row["channel"]))
    comments.sort(key=lambda c: (c.submitted_at, c.response_id), reverse=True)
    return comments


async def extract_comments(scope: ResponseScope, question_ids: Sequence[str], *,
                           response_ids: Sequence[int] | None = None) -> list[Comment]:
    """The text answers to ``question_ids`` in ``scope``, newest first (read on demand, never with the numbers);
    ``response_ids`` limits the answers to those responses (the texts of the few a page quotes)."""
    if not question_ids or (response_ids is not None and not response_ids):
        return []
    if response_ids is not None:
        return await _comments_of(response_ids, question_ids)
    args: list[Any] = [scope.questionnaire, scope.start, scope.end, scope.unit_path_pattern, *question_ids]
    where = ""
    if scope.service_id is not None:
        args.append(scope.service_id)
        where += " AND r.service = {}"
    if scope.channel is not None:
        args.append(scope.channel)
        where += " AND r.channel = {}"
    if response_ids is not None:
        args.extend(int(i) for i in response_ids)
        where += f" AND r.id IN ({marks(len(response_ids))})"
    sql = (
        f"SELECT r.id AS response_id, r.unit AS unit_id, a.question_id, a.value_text AS value_text, "  # noqa: S608
        "r.submitted_at, COALESCE(r.service, 0) AS service_id, r.channel "
        "FROM response r JOIN questionnaire_version qv ON qv.id = r.questionnaire JOIN unit u ON u.id = r.unit "
        "JOIN answer a ON a.response = r.id "
        "WHERE qv.key = {} AND r.status = 'complete' AND r.submitted_at >= {} AND r.submitted_at < {} "
        f"AND u.path LIKE {{}} ESCAPE '\\' AND a.question_id IN ({marks(len(question_ids))}) "
        f"AND a.value_text IS NOT NULL AND a.value_text <> ''{where} ORDER BY r.submitted_at DESC, r.id DESC"
    )
    rows = await run_sql(sql, *args)
    comments = []
    for row in rows:
        submitted = aware(row["submitted_at"])
        assert submitted is not None  # a complete response has its submission time
        comments.append(Comment(int(row["response_id"]), int(row["unit_id"]), row["question_id"], row["value_text"],
                                submitted, int(row["service_id"]), row["channel"]))
    return comments
