"""The database side of ``bench.scale``, run in subprocesses whose environment names the bench database.

``python -m bench.scale_db load SPEC.json RESULT.json``: after ``survey migrate`` (which publishes the bundled
questionnaires), the bench's unit tree and the reference services through the tables, then the year of
:func:`bench.scale_data.national_year` (``SPEC``: ``responses``, ``seed``) written in bulk: SQLite with
``executemany`` in one transaction, PostgreSQL with ``COPY`` (``copy_records_to_table``) in one transaction.

``python -m bench.scale_db measure SPEC.json RESULT.json``: ``SPEC`` holds a ``request`` (the fields of
:class:`survey.services.scores.ScoreRequest`) and ``repeat``; one warm-up, then ``repeat`` timed runs of
``compute_scores`` plus ``msgspec.json.encode`` of its report, from the database to the JSON. The result has
every run's time, the best run's report timings, groups and JSON size, and the groups' keys and n as the JSON
gives them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.scale_data import ANSWERING_UNITS, COMMENTS, QUESTIONNAIRE, UNITS, Year, national_year

__all__ = ["load", "measure"]

CHUNK = 50_000  # responses per batch of rows: bounded memory at any size
CHANNEL = "counter"
TRUSTS = ("kiosk", "ticket", "poster")


async def _reference() -> tuple[int, dict[str, int], list[int]]:
    """The bench's units and the reference services through the tables; the counter version's row id, the unit ids
    by code and the service ids in catalogue order."""
    from survey.db import write_transaction
    from survey.reference import SERVICES
    from survey.services.questionnaires import latest_version
    from survey.tables import Service, Unit

    units: dict[str, int] = {}
    paths: dict[str, str] = {}
    async with write_transaction():
        for spec in UNITS:
            paths[spec.code] = (paths[spec.parent] if spec.parent else "/") + f"{spec.code}/"
            row = Unit(code=spec.code, name_vi=spec.name_vi, name_en=spec.name_en, level=spec.level,
                       parent=units[spec.parent] if spec.parent else None, path=paths[spec.code])
            await row.save()
            units[spec.code] = row.id
        services = []
        for code, name_vi, name_en in SERVICES:
            service = Service(code=code, name_vi=name_vi, name_en=name_en)
            await service.save()
            services.append(service.id)
    version = await latest_version(QUESTIONNAIRE)
    return version.row_id, units, services


def _batches(year: Year, version: int, units: dict[str, int], services: list[int], *,
             sqlite: bool) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """The response and answer rows, ``CHUNK`` responses at a time; response ids are 1..n in time order.
    Timestamps are Piccolo's UTC text on SQLite, aware datetimes for PostgreSQL."""
    from questionnaires import load_bundled

    questionnaire = load_bundled()[QUESTIONNAIRE]
    comment_id = next(q.id for q in questionnaire.questions if q.type == "text")
    unit_ids = np.array([units[code] for code in ANSWERING_UNITS], dtype=np.int64)
    service_ids = np.array(services, dtype=np.int64)
    trusts = np.array(TRUSTS)
    numeric_ids = np.array(year.numeric_ids, dtype=object)

    def stamps(epoch: np.ndarray) -> list[Any]:
        if sqlite:
            text = np.datetime_as_string(epoch.astype("datetime64[s]"), unit="s").tolist()
            return [f"{t[:10]} {t[11:]}+00:00" for t in text]
        return [datetime.fromtimestamp(e, UTC) for e in epoch.tolist()]

    for begin in range(0, year.n, CHUNK):
        end = min(begin + CHUNK, year.n)
        ids = np.arange(begin + 1, end + 1, dtype=np.int64)
        id_list = ids.tolist()
        count = end - begin
        responses = list(zip(id_list, [version] * count, unit_ids[year.unit[begin:end]].tolist(),
                             service_ids[year.service[begin:end]].tolist(), [CHANNEL] * count, ["vi"] * count,
                             trusts[ids % len(TRUSTS)].tolist(), ["complete"] * count, [3] * count,
                             stamps(year.started[begin:end]), stamps(year.epoch[begin:end]), strict=True))
        block = year.answers[begin:end]
        rows, columns = np.nonzero(~np.isnan(block))
        answers: list[tuple[Any, ...]] = list(zip(ids[rows].tolist(), numeric_ids[columns].tolist(),
                                                  block[rows, columns].tolist(), [None] * rows.size, strict=True))
        complained = np.where(year.complained[begin:end], "yes", "no").tolist()
        answers += [(i, "complained", None, c) for i, c in zip(id_list, complained, strict=True)]
        commented = np.flatnonzero(year.comment[begin:end] >= 0)
        answers += [(id_list[k], comment_id, None, COMMENTS[c])
                    for k, c in zip(commented.tolist(), year.comment[begin:end][commented].tolist(), strict=True)]
        yield responses, answers


RESPONSE_COLUMNS = ("id", "questionnaire", "unit", "service", "channel", "language", "trust", "status", "page",
                    "started_at", "submitted_at")
ANSWER_COLUMNS = ("response", "question_id", "value_number", "value_text")


def _write_sqlite(path: Path, batches: Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]) -> None:
    response_sql = (f"INSERT INTO response ({', '.join(RESPONSE_COLUMNS)}) "  # noqa: S608 - our column names
                    f"VALUES ({', '.join('?' for _ in RESPONSE_COLUMNS)})")
    answer_sql = f"INSERT INTO answer ({', '.join(ANSWER_COLUMNS)}) VALUES (?, ?, ?, ?)"  # noqa: S608
    with contextlib.closing(sqlite3.connect(path, timeout=30.0, isolation_level=None)) as connection:
        connection.execute("PRAGMA synchronous = OFF")  # the load only: a crash would mean loading again
        connection.execute("BEGIN IMMEDIATE")
        try:
            for responses, answers in batches:
                connection.executemany(response_sql, responses)
                connection.executemany(answer_sql, answers)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("ANALYZE")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def _write_postgres(db: Any, batches: Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]) -> None:
    connection = await db.get_new_connection()
    try:
        async with connection.transaction():
            for responses, answers in batches:
                await connection.copy_records_to_table("response", records=responses, columns=RESPONSE_COLUMNS)
                await connection.copy_records_to_table("answer", records=answers, columns=ANSWER_COLUMNS)
            # the ids were given: the sequence goes on after them, as if the rows had been inserted one by one
            await connection.execute("SELECT setval(pg_get_serial_sequence('response', 'id'), "
                                     "(SELECT max(id) FROM response))")
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def load(spec: dict[str, Any]) -> dict[str, Any]:
    """Reference data and the year of ``spec`` into the migrated, empty bench database; the figures."""
    from survey.db import engine, is_sqlite
    from survey.settings import get_settings

    year = national_year(int(spec["responses"]), int(spec["seed"]))
    started = time.perf_counter()
    version, units, services = await _reference()
    batches = _batches(year, version, units, services, sqlite=is_sqlite())
    if is_sqlite():
        await asyncio.to_thread(_write_sqlite, get_settings().database.sqlite_path, batches)
    else:
        await _write_postgres(engine(), batches)
    return {"load_s": time.perf_counter() - started, "responses": year.n, "answers": year.answer_count}


async def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """One warm-up and ``spec["repeat"]`` timed runs of the request ``spec["request"]``, database to JSON."""
    import msgspec
    from piccolo.engine.postgres import PostgresEngine

    from survey.db import engine
    from survey.services.scores import ScoreRequest, compute_scores

    request = ScoreRequest(**{**spec["request"], "by": tuple(spec["request"].get("by", ()))})
    db = engine()
    pooled = isinstance(db, PostgresEngine)
    if pooled:  # as the server runs it (survey.app's lifespan)
        await db.start_connection_pool(min_size=2, max_size=20)
    runs: list[dict[str, Any]] = []
    body = b""
    try:
        for attempt in range(1 + int(spec["repeat"])):
            clock = time.perf_counter()
            report = await compute_scores(request)
            scored = time.perf_counter()
            body = msgspec.json.encode(report)
            elapsed = time.perf_counter() - clock
            if attempt:  # the first is the warm-up
                timings = {**report.timings, "json_s": elapsed - (scored - clock)}
                # what the report's own timings do not cover: its metadata, invitations and comments queries
                timings["rest_s"] = elapsed - sum(timings.values())
                runs.append({"s": elapsed, "timings": timings, "json_bytes": len(body), "groups": len(report.groups)})
    finally:
        if pooled:
            await db.close_connection_pool()
        close = getattr(db, "close_pool", None)
        if close is not None:
            await close()
    best = min(runs, key=lambda run: run["s"])
    shown = msgspec.json.decode(body)  # the JSON as a caller reads it
    return {"best_s": best["s"], "runs_s": [run["s"] for run in runs], "timings": best["timings"],
            "groups": best["groups"], "json_bytes": best["json_bytes"],
            "group_keys": [[group["unit"], group["month"], group["n"]] for group in shown["groups"]]}


def main(argv: list[str]) -> None:
    command, spec_path, result_path = argv
    spec = json.loads(Path(spec_path).read_text())
    if command == "load":
        result = asyncio.run(load(spec))
    elif command == "measure":
        result = asyncio.run(measure(spec))
    else:
        raise SystemExit(f"unknown command {command!r}: use load or measure")
    Path(result_path).write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
