"""The archive of reports: every made report is a file under ``SURVEY_REPORTS_DIR`` and a :class:`ReportRun` row with
its scope, period, language, pages and sha256 checksum.

A file is written under a temporary name and renamed into place, so the archive never holds half a PDF; the row
names it only once it is complete.

Example::

    made = await make_report(ReportSpec("unit", "2026-Q3", unit="HN-BD"))
    run = await archive_report(made)                  # a ReportRun, status archived
    runs = await list_runs(visible_path="/VN/HN/")    # what a user of HN may download
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from survey.db import aware, run_sql
from survey.services.extract import subtree_pattern
from survey.services.reports.spec import MadeReport, ReportSpec
from survey.settings import get_settings
from survey.tables import ReportRun, ReportRunStatus, Service, Unit

__all__ = ["INTERRUPTED", "ArchivedReport", "archive_file", "archive_report", "list_runs", "queue_run", "run_path",
           "update_run"]

# what an on-demand run whose process died shows: its lease ran out while it was queued or rendering
INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class ArchivedReport:
    """One row of the archive as the pages and the CLI list it."""

    id: int
    kind: str
    unit: str | None
    unit_path: str | None
    service: str | None
    questionnaire: str
    period: str
    language: str
    status: str
    pages: int | None
    size_bytes: int | None
    checksum: str | None
    created_at: datetime
    finished_at: datetime | None
    schedule: int | None
    progress: int
    error: str | None
    file_name: str | None


def archive_file(spec: ReportSpec, checksum: str) -> Path:
    """Where a report's PDF lives: ``<reports_dir>/<period>/<filename without .pdf>-<checksum[:12]>.pdf``."""
    return get_settings().reports_dir / spec.period / f"{spec.filename[:-4]}-{checksum[:12]}.pdf"


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".partial-", suffix=".pdf")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


async def _ids(spec: ReportSpec) -> tuple[int | None, int | None]:
    unit = service = None
    if spec.unit is not None:
        row = await Unit.select(Unit.id).where(Unit.code == spec.unit).first()
        unit = row["id"] if row else None
    if spec.service is not None:
        row = await Service.select(Service.id).where(Service.code == spec.service).first()
        service = row["id"] if row else None
    return unit, service


async def archive_report(made: MadeReport, *, run_id: int | None = None, requested_by: int | None = None,
                         schedule: int | None = None) -> int:
    """Store ``made`` in the archive: the file, then its row (``run_id``: complete that existing run, e.g. one
    claimed by a schedule or asked for on a staff page). Returns the run's id."""
    spec = made.spec
    path = archive_file(spec, made.checksum)
    _write_atomically(path, made.pdf)
    now = datetime.now(UTC)
    start, end = spec.period_range.bounds(get_settings().timezone)
    values: dict[Any, Any] = {
        ReportRun.file_path: str(path), ReportRun.checksum: made.checksum, ReportRun.status: ReportRunStatus.archived,
        ReportRun.pages: made.pages, ReportRun.size_bytes: len(made.pdf), ReportRun.progress: 100,
        ReportRun.finished_at: now, ReportRun.error: None, ReportRun.lease_expires_at: None,
    }
    if run_id is not None:
        await ReportRun.update(values).where(ReportRun.id == run_id)
        return run_id
    unit, service = await _ids(spec)
    row = ReportRun(schedule=schedule, unit=unit, service=service, questionnaire_key=spec.questionnaire or "",
                    period_start=start, period_end=end, kind=spec.kind, period=spec.period, language=spec.lang,
                    requested_by=requested_by, **{column._meta.name: value for column, value in values.items()})
    await row.save()
    return int(row.id)


async def queue_run(spec: ReportSpec, *, requested_by: int | None, lease_expires_at: datetime) -> int:
    """A new run of ``spec`` asked for on demand, status queued, held by the asking process until
    ``lease_expires_at`` (renewed as it works: a run whose lease ran out lists as failed, interrupted)."""
    unit, service = await _ids(spec)
    start, end = spec.period_range.bounds(get_settings().timezone)
    row = ReportRun(unit=unit, service=service, questionnaire_key=spec.questionnaire or "", period_start=start,
                    period_end=end, kind=spec.kind, period=spec.period, language=spec.lang, requested_by=requested_by,
                    status=ReportRunStatus.queued, progress=0, lease_expires_at=lease_expires_at)
    await row.save()
    return int(row.id)


async def update_run(run_id: int, *, status: str | None = None, progress: int | None = None,
                     error: str | None = None, lease_expires_at: datetime | None = None) -> None:
    """Record how a run goes: the given values only (a failed or skipped run also gets its finish time)."""
    values: dict[Any, Any] = {}
    if status is not None:
        values[ReportRun.status] = status
        if status in (ReportRunStatus.failed, ReportRunStatus.skipped):
            values[ReportRun.finished_at] = datetime.now(UTC)
            values[ReportRun.lease_expires_at] = None
    if progress is not None:
        values[ReportRun.progress] = max(0, min(100, progress))
    if error is not None:
        values[ReportRun.error] = error
    if lease_expires_at is not None:
        values[ReportRun.lease_expires_at] = lease_expires_at
    if values:
        await ReportRun.update(values).where(ReportRun.id == run_id)


def _interrupted(row: dict[str, Any], now: datetime) -> bool:
    lease = aware(row["lease_expires_at"])
    return (row["schedule"] is None and row["status"] in (ReportRunStatus.queued, ReportRunStatus.rendering)
            and lease is not None and lease < now)


def run_path(run: ArchivedReport) -> Path | None:
    """The archived file of ``run``, when it is complete and still on disk."""
    if run.file_name is None:
        return None
    path = Path(run.file_name)
    return path if path.is_file() else None


async def list_runs(*, visible_path: str | None = None, unit: str | None = None, period: str | None = None,
                    run_id: int | None = None, limit: int = 500) -> list[ArchivedReport]:
    """The archive, newest first: runs whose unit lies in ``visible_path``'s subtree (a run with no unit, a
    service or leadership report of the whole country, only for a user who sees the whole country, i.e. the
    root's subtree ``/<root>/``, or with no ``visible_path``), optionally of one ``unit`` (its subtree) and
    ``period``. An on-demand run whose lease ran out (its process died) lists as failed, :data:`INTERRUPTED`."""
    args: list[Any] = []
    where = ["1 = 1"]
    if visible_path is not None:
        root_like = visible_path.count("/") <= 2  # '/VN/': the whole country
        args.append(subtree_pattern(visible_path))
        where.append("(u.path LIKE {} ESCAPE '\\'" + (" OR r.unit IS NULL)" if root_like else ")"))
    if unit is not None:
        args.append(unit)
        where.append("u.path LIKE (SELECT REPLACE(REPLACE(x.path, '_', '\\_'), '%', '\\%') || '%' FROM unit x "
                     "WHERE x.code = {}) ESCAPE '\\'")
    if period is not None:
        args.append(period)
        where.append("r.period = {}")
    if run_id is not None:
        args.append(run_id)
        where.append("r.id = {}")
    args.append(limit)
    sql = ("SELECT r.id, r.kind, u.code AS unit, u.path AS unit_path, s.code AS service, "  # noqa: S608
           "r.questionnaire_key, r.period, r.language, r.status, r.pages, r.size_bytes, r.checksum, r.created_at, "
           "r.finished_at, r.schedule, r.progress, r.error, r.file_path, r.lease_expires_at FROM report_run r "
           "LEFT JOIN unit u ON u.id = r.unit LEFT JOIN service s ON s.id = r.service WHERE "
           + " AND ".join(where) + " ORDER BY r.created_at DESC, r.id DESC LIMIT {}")
    rows = await run_sql(sql, *args)
    now = datetime.now(UTC)
    return [ArchivedReport(
        id=r["id"], kind=r["kind"], unit=r["unit"], unit_path=r["unit_path"], service=r["service"],
        questionnaire=r["questionnaire_key"], period=r["period"], language=r["language"],
        status=ReportRunStatus.failed if interrupted else r["status"],
        pages=r["pages"], size_bytes=r["size_bytes"], checksum=r["checksum"],
        created_at=aware(r["created_at"]) or now, finished_at=aware(r["finished_at"]),
        schedule=r["schedule"], progress=r["progress"] or 0, error=INTERRUPTED if interrupted else r["error"],
        file_name=r["file_path"])
        for r in rows for interrupted in (_interrupted(r, now),)]
