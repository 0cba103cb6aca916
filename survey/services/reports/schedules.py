"""Report schedules: a unit's (or the leadership's) report, monthly or quarterly, made by the worker once the period
has closed and its grace for late answers has passed, archived, and mailed once to the schedule's recipients.

A period of a schedule is made and mailed once, across restarts and several workers:

1. **Claim.** A worker inserts the period's :class:`~survey.tables.ReportRun` with ``run_key``
   ``schedule:<id>:<period>``, status ``rendering`` and a lease. The key is unique (an index): a second worker's
   insert fails, and that worker leaves the period alone.
2. **Render and archive.** :func:`~survey.services.reports.make_report`, then, in **one transaction**: the run is
   checked to be still this worker's (its lease unchanged), archived (:func:`archive_report`: file, checksum,
   pages, size) and a ``send_report`` job is enqueued. Either both are committed or neither is: a worker that dies
   before the commit leaves the run ``rendering``; once its lease has ended, the next tick of any worker takes it
   over and renders it again, in the same row.
3. **Send.** The outbox worker runs :func:`send_report` (at least once, under the job's lease): it emails every
   recipient and sets the run's ``sent_at`` (status ``sent``) with the job's outcome; a run with ``sent_at`` is
   never mailed again, and recipients already served by an earlier attempt are remembered in the job's payload.

The one window left is SMTP's: a worker that dies after the server accepted a message but before the job's outcome
is committed leaves a job that the next worker sends again (SMTP cannot be asked what it already accepted). Such a
duplicate carries the same ``report-<run>-<recipient>`` part in its Message-ID, so it is recognisable.

Example::

    schedule = await add_schedule("Hà Nội hằng quý", "HN", frequency="quarterly", recipients=["ld@bhxh.vn"])
    summary = await run_due_schedules()   # what the worker does once a minute
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import logging
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from delivery.channels import Attachment, DeliveryResult, OutgoingMessage
from delivery.phones import EmailError, normalise_email
from survey.db import aware, is_unique_violation, run_sql, write_transaction
from survey.i18n import t
from survey.services.outbox import ClaimedJob, JobResult, enqueue, update_payloads
from survey.services.reports.archive import archive_report
from survey.services.reports.spec import REPORT_LANGUAGES, ReportParameterError, ReportSkipped, ReportSpec
from survey.services.scores.periods import add_months
from survey.services.sending import send_email
from survey.settings import get_settings
from survey.tables import ReportFrequency, ReportRunStatus, ReportSchedule, Service, Unit

if TYPE_CHECKING:
    from survey.services.sending import Delivery

__all__ = [
    "RENDER_LEASE",
    "SEND_REPORT",
    "SCHEDULE_KINDS",
    "Schedule",
    "ScheduleRunSummary",
    "ScheduledRun",
    "add_schedule",
    "due_periods",
    "list_schedules",
    "next_due_at",
    "period_due_at",
    "period_of",
    "remove_schedule",
    "run_due_schedules",
    "send_report",
]

log = logging.getLogger("survey.reports.schedules")

SEND_REPORT = "send_report"
"""The outbox job kind that mails one archived run (payload: ``run_id``)."""
RENDER_LEASE = timedelta(minutes=15)
"""How long a claimed run may stay ``rendering`` before another worker takes it over (rendering takes seconds)."""
SCHEDULE_KINDS = ("unit", "leadership")
MAX_RECIPIENTS = 50
MAX_GRACE_DAYS = 90
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])", re.ASCII)
_QUARTER = re.compile(r"\d{4}-Q[1-4]", re.ASCII)


# --- the calendar: pure ------------------------------------------------------------------------------------------


class Calendar(Protocol):
    """What decides when a schedule's periods fall due (a :class:`Schedule` is one)."""

    @property
    def frequency(self) -> str: ...
    @property
    def first_period(self) -> str: ...
    @property
    def grace_days(self) -> int: ...


def period_of(day: date, frequency: str) -> str:
    """The label of the month or quarter holding ``day``.

    >>> period_of(date(2026, 8, 31), "monthly"), period_of(date(2026, 8, 31), "quarterly")
    ('2026-08', '2026-Q3')
    """
    if frequency == ReportFrequency.monthly:
        return f"{day:%Y-%m}"
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def _start(label: str) -> date:
    year, part = label.split("-")
    month = 3 * int(part[1]) - 2 if part.startswith("Q") else int(part)
    return date(int(year), month, 1)


def _months(frequency: str) -> int:
    return 1 if frequency == ReportFrequency.monthly else 3


def _next(label: str, frequency: str) -> str:
    return period_of(add_months(_start(label), _months(frequency)), frequency)


def period_due_at(label: str, frequency: str, grace_days: int, timezone: str = "Asia/Ho_Chi_Minh") -> datetime:
    """When period ``label`` falls due: the local midnight ``grace_days`` after its last day, in UTC.

    >>> str(period_due_at("2026-Q3", "quarterly", 3))    # 4 October 00:00 in Hà Nội
    '2026-10-03 17:00:00+00:00'
    """
    end = add_months(_start(label), _months(frequency))
    local = datetime.combine(end + timedelta(days=grace_days), datetime.min.time(), ZoneInfo(timezone))
    return local.astimezone(UTC)


def due_periods(schedule: Calendar, now: datetime, *, claimed: Collection[str] = (),
                timezone: str = "Asia/Ho_Chi_Minh") -> list[str]:
    """The periods from ``schedule.first_period`` on whose end plus the grace has passed at ``now``, oldest first,
    leaving out the ``claimed`` ones (those with a run already).

    >>> from types import SimpleNamespace
    >>> quarterly = SimpleNamespace(frequency="quarterly", first_period="2026-Q2", grace_days=3)
    >>> due_periods(quarterly, datetime(2026, 10, 3, 16, 59, tzinfo=UTC))
    ['2026-Q2']
    >>> due_periods(quarterly, datetime(2026, 10, 3, 17, 0, tzinfo=UTC), claimed={"2026-Q2"})
    ['2026-Q3']
    """
    periods: list[str] = []
    label = schedule.first_period
    while period_due_at(label, schedule.frequency, schedule.grace_days, timezone) <= now:
        if label not in claimed:
            periods.append(label)
        label = _next(label, schedule.frequency)
    return periods


def next_due_at(schedule: Calendar, *, claimed: Collection[str] = (), timezone: str = "Asia/Ho_Chi_Minh") -> datetime:
    """When the schedule's first period without a run falls due (in the past when one is due and not yet claimed).

    >>> from types import SimpleNamespace
    >>> monthly = SimpleNamespace(frequency="monthly", first_period="2026-11", grace_days=3)
    >>> str(next_due_at(monthly, claimed={"2026-11"}))
    '2027-01-03 17:00:00+00:00'
    """
    label = schedule.first_period
    while label in claimed:
        label = _next(label, schedule.frequency)
    return period_due_at(label, schedule.frequency, schedule.grace_days, timezone)


# --- the schedules -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """One report schedule as the CLI lists it and the worker runs it."""

    id: int
    name: str
    kind: str
    unit: str | None
    service: str | None
    questionnaire: str | None
    frequency: str
    recipients: tuple[str, ...]
    language: str
    grace_days: int
    first_period: str
    next_run_at: datetime
    active: bool
    created_at: datetime | None = None

    def spec(self, period: str) -> ReportSpec:
        """The report this schedule makes for ``period``."""
        if self.kind == "leadership":
            return ReportSpec("leadership", period, questionnaire=self.questionnaire, lang=self.language)
        return ReportSpec("unit", period, unit=self.unit, service=self.service, questionnaire=self.questionnaire,
                          lang=self.language)


_SELECT = ("SELECT s.id, s.name, s.kind, u.code AS unit, sv.code AS service, s.questionnaire_key, s.frequency, "
           "s.recipients, s.language, s.grace_days, s.first_period, s.next_run_at, s.active, s.created_at "
           "FROM report_schedule s LEFT JOIN unit u ON u.id = s.unit LEFT JOIN service sv ON sv.id = s.service")


def _json_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return list(value or [])


def _schedule(row: Mapping[str, Any]) -> Schedule:
    return Schedule(
        id=int(row["id"]), name=row["name"], kind=row["kind"] or "unit", unit=row["unit"], service=row["service"],
        questionnaire=row["questionnaire_key"] or None, frequency=row["frequency"],
        recipients=tuple(str(r) for r in _json_list(row["recipients"])), language=row["language"] or "vi",
        grace_days=int(row["grace_days"]), first_period=row["first_period"],
        next_run_at=aware(row["next_run_at"]) or datetime.now(UTC), active=bool(row["active"]),
        created_at=aware(row["created_at"]))


async def _code_id(table: type[Unit] | type[Service], field_name: str, code: str) -> int:
    row = await table.select(table.id).where(table.code == code).first()
    if row is None:
        codes = [r["code"] for r in await table.select(table.code).order_by(table.code)]
        shown = ", ".join(codes[:40]) + (" ..." if len(codes) > 40 else "")
        raise ReportParameterError(field_name, f"unknown {field_name} {code!r}; known: {shown or 'none'}")
    return int(row["id"])


def _recipients(recipients: Iterable[str]) -> list[str]:
    addresses: list[str] = []
    for raw in recipients:
        try:
            address = normalise_email(raw)
        except EmailError as error:
            raise ReportParameterError("recipients", str(error)) from None
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ReportParameterError("recipients", "a schedule needs at least one recipient's email address")
    if len(addresses) > MAX_RECIPIENTS:
        raise ReportParameterError("recipients", f"at most {MAX_RECIPIENTS} recipients, got {len(addresses)}")
    return addresses


def _first_period(text: str, frequency: str) -> str:
    raw = text.strip().upper()
    pattern, example = (_MONTH, "2026-09") if frequency == ReportFrequency.monthly else (_QUARTER, "2026-Q3")
    if not pattern.fullmatch(raw):
        raise ReportParameterError("first_period", f"{text!r} is not a {'month' if pattern is _MONTH else 'quarter'}"
                                   f" like {example} (the schedule is {frequency})")
    return raw


async def add_schedule(name: str, unit: str | None, *, frequency: str, recipients: Sequence[str],
                       language: str = "vi", service: str | None = None, questionnaire: str | None = None,
                       kind: str = "unit", grace_days: int | None = None, first_period: str | None = None,
                       now: datetime | None = None) -> Schedule:
    """Add a schedule: ``kind`` unit (``unit``'s subtree, optionally one ``service`` and one ``questionnaire``) or
    leadership (the whole country: no unit or service); its first period is ``first_period`` (default: the current
    month or quarter), due ``grace_days`` (default ``SURVEY_REPORT_GRACE_DAYS``) after each period's end.

    Raises :class:`ReportParameterError` naming the field (``name``, ``unit``, ``recipients`` ...); nothing is
    written then."""
    settings = get_settings()
    now = now or datetime.now(UTC)
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ReportParameterError("name", "a schedule needs a name of 1 to 120 characters")
    if kind not in SCHEDULE_KINDS:
        raise ReportParameterError("kind", f"{kind!r} is not one of {', '.join(SCHEDULE_KINDS)}")
    if frequency not in tuple(ReportFrequency):
        raise ReportParameterError("frequency", f"{frequency!r} is not one of {', '.join(ReportFrequency)}")
    if language not in REPORT_LANGUAGES:
        raise ReportParameterError("language", f"{language!r} is not one of {', '.join(REPORT_LANGUAGES)}")
    grace = settings.report_grace_days if grace_days is None else grace_days
    if not 0 <= grace <= MAX_GRACE_DAYS:
        raise ReportParameterError("grace_days", f"{grace} is not between 0 and {MAX_GRACE_DAYS} days")
    if kind == "leadership" and (unit or service):
        raise ReportParameterError("unit" if unit else "service",
                                   "a leadership schedule covers the whole country: give no unit or service")
    if kind == "unit" and not unit:
        raise ReportParameterError("unit", "a unit schedule needs a unit code (e.g. HN-BD)")
    unit_id = await _code_id(Unit, "unit", unit) if unit else None
    service_id = await _code_id(Service, "service", service) if service else None
    if questionnaire:
        from survey.services.scores.queries import published_questionnaires

        known = await published_questionnaires()
        if questionnaire not in known:
            raise ReportParameterError("questionnaire", f"unknown questionnaire {questionnaire!r}; published: "
                                       f"{', '.join(known) or 'none'}")
    addresses = _recipients(recipients)
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    first = _first_period(first_period, frequency) if first_period else period_of(today, frequency)
    calendar = Schedule(id=0, name=name, kind=kind, unit=unit, service=service, questionnaire=questionnaire or None,
                        frequency=frequency, recipients=tuple(addresses), language=language, grace_days=grace,
                        first_period=first, next_run_at=now, active=True)
    calendar.spec(first)  # the report it will make is a valid one
    row = ReportSchedule(name=name, unit=unit_id, service=service_id, questionnaire_key=questionnaire or "",
                         frequency=frequency, recipients=addresses, language=language, kind=kind, grace_days=grace,
                         first_period=first, next_run_at=next_due_at(calendar, timezone=settings.timezone),
                         active=True, created_at=now)
    await row.save()
    [added] = [s for s in await list_schedules(include_removed=True) if s.id == row.id]
    return added


async def list_schedules(*, include_removed: bool = False) -> list[Schedule]:
    """The schedules in the order they were added (the removed ones too with ``include_removed``)."""
    where, args = ("", []) if include_removed else (" WHERE s.active = {}", [True])
    return [_schedule(row) for row in await run_sql(_SELECT + where + " ORDER BY s.id", *args)]


async def remove_schedule(schedule_id: int) -> Schedule:
    """Deactivate schedule ``schedule_id``: nothing more is made for it (its archive stays). Unknown: an error."""
    rows = await run_sql("UPDATE report_schedule SET active = {} WHERE id = {} RETURNING id", False, schedule_id)
    if not rows:
        raise ReportParameterError("id", f"no schedule {schedule_id}")
    [removed] = [s for s in await list_schedules(include_removed=True) if s.id == schedule_id]
    return removed


# --- making the due reports ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduledRun:
    """What one tick did with one period of a schedule: ``status`` archived (mailing queued), skipped (too few
    answers), failed, or lost (another worker took the run over meanwhile)."""

    schedule_id: int
    schedule_name: str
    period: str
    run_id: int
    status: str
    detail: str = ""
    pages: int | None = None
    checksum: str | None = None


@dataclass(frozen=True)
class ScheduleRunSummary:
    """One tick of the schedules: the runs it claimed (or took over) and what became of each."""

    now: datetime
    runs: tuple[ScheduledRun, ...] = ()
    taken_over: tuple[int, ...] = field(default=())

    @property
    def made(self) -> list[ScheduledRun]:
        return [run for run in self.runs if run.status == ReportRunStatus.archived]


class _LostLease(Exception):
    """The run was taken over by another worker while this one rendered it."""


_CLAIM = ("INSERT INTO report_run (schedule, unit, service, questionnaire_key, period_start, period_end, status, "
          "run_key, kind, period, language, progress, lease_expires_at, created_at) "
          "VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 0, {}, {}) RETURNING id")


async def _claim(schedule: Schedule, period: str, lease_end: datetime) -> int | None:
    """Insert the period's run (status rendering, leased); ``None`` when another worker claimed it first."""
    spec = schedule.spec(period)
    start, end = spec.period_range.bounds(get_settings().timezone)
    unit = service = None
    if schedule.kind != "leadership":
        ids = await run_sql("SELECT (SELECT id FROM unit WHERE code = {}) AS unit, "
                            "(SELECT id FROM service WHERE code = {}) AS service", schedule.unit, schedule.service)
        unit, service = ids[0]["unit"], ids[0]["service"]
    try:
        # autocommit, outside any transaction: on PostgreSQL a failed insert would spoil the transaction around it
        rows = await run_sql(_CLAIM, schedule.id, unit, service, schedule.questionnaire or "", start, end,
                             str(ReportRunStatus.rendering), f"schedule:{schedule.id}:{period}", spec.kind, period,
                             schedule.language, lease_end, datetime.now(UTC))
    except Exception as error:
        if is_unique_violation(error):
            return None
        raise
    return int(rows[0]["id"])


async def _take_over(now_real: datetime, lease_end: datetime) -> list[tuple[Schedule, str, int]]:
    """The runs of active schedules left ``rendering`` past their lease (a worker died): re-leased to this one."""
    rows = await run_sql("SELECT r.id, r.schedule, r.period FROM report_run r JOIN report_schedule s "
                         "ON s.id = r.schedule WHERE r.status = {} AND r.lease_expires_at < {} AND s.active = {} "
                         "ORDER BY r.id", str(ReportRunStatus.rendering), now_real, True)
    if not rows:
        return []
    schedules = {s.id: s for s in await list_schedules()}
    taken = []
    for row in rows:
        got = await run_sql("UPDATE report_run SET lease_expires_at = {}, progress = 0 WHERE id = {} AND status = {} "
                            "AND lease_expires_at < {} RETURNING id", lease_end, row["id"],
                            str(ReportRunStatus.rendering), now_real)
        if got and row["schedule"] in schedules:
            taken.append((schedules[row["schedule"]], row["period"], int(row["id"])))
    return taken


async def _claimed_periods(schedule_id: int) -> set[str]:
    rows = await run_sql("SELECT period FROM report_run WHERE schedule = {}", schedule_id)
    return {row["period"] for row in rows}


_OWNED = ("UPDATE report_run SET progress = 100 WHERE id = {} AND status = {} AND lease_expires_at = {} "
          "RETURNING id")


async def _end_run(run_id: int, lease_end: datetime, status: ReportRunStatus, error: str) -> bool:
    rows = await run_sql("UPDATE report_run SET status = {}, error = {}, lease_expires_at = NULL, finished_at = {} "
                         "WHERE id = {} AND status = {} AND lease_expires_at = {} RETURNING id", str(status),
                         error[:2000], datetime.now(UTC), run_id, str(ReportRunStatus.rendering), lease_end)
    return bool(rows)


async def _render(schedule: Schedule, period: str, run_id: int, lease_end: datetime) -> ScheduledRun:
    """Make, archive and queue the mailing of one claimed run (see the module docstring)."""
    from survey.services.reports.make import make_report  # the renderer, loaded when a report is due

    def outcome(status: str, detail: str = "", **more: Any) -> ScheduledRun:
        return ScheduledRun(schedule.id, schedule.name, period, run_id, status, detail, **more)

    try:
        made = await make_report(schedule.spec(period))
    except ReportSkipped as skipped:
        owned = await _end_run(run_id, lease_end, ReportRunStatus.skipped, str(skipped))
        return outcome("skipped" if owned else "lost", str(skipped))
    except Exception as error:  # a bad scope (a unit removed) or a rendering bug: recorded, not retried every minute
        log.exception("schedule %s: the report of %s failed", schedule.id, period)
        detail = f"{type(error).__name__}: {error}"
        owned = await _end_run(run_id, lease_end, ReportRunStatus.failed, detail)
        return outcome("failed" if owned else "lost", detail)
    try:
        async with write_transaction():
            if not await run_sql(_OWNED, run_id, str(ReportRunStatus.rendering), lease_end):
                raise _LostLease
            await archive_report(made, run_id=run_id, schedule=schedule.id)
            # due now on the real clock, so that every worker claims it at once
            await enqueue(SEND_REPORT, {"run_id": run_id, "title": made.title}, due_at=datetime.now(UTC))
    except _LostLease:
        return outcome("lost", "another worker took the run over (its lease had ended)")
    return outcome(str(ReportRunStatus.archived), made.title, pages=made.pages, checksum=made.checksum)


async def run_due_schedules(*, now: datetime | None = None, delivery: Delivery | None = None,
                            worker_id: str | None = None, lease: timedelta = RENDER_LEASE) -> ScheduleRunSummary:
    """Make every due report of the active schedules and queue their mailing; see the module docstring.

    ``now`` (default: ``delivery``'s clock, else the time) decides which periods are due; leases run on the real
    clock. Runs left ``rendering`` by a worker that died are taken over first."""
    real_now = datetime.now(UTC)
    now = now or (delivery.clock() if delivery is not None else real_now)
    lease_end = real_now + lease
    settings = get_settings()
    work = await _take_over(real_now, lease_end)
    taken_over = tuple(run_id for _, _, run_id in work)
    rows = await run_sql(_SELECT + " WHERE s.active = {} AND s.next_run_at <= {} ORDER BY s.id", True, now)
    for schedule in map(_schedule, rows):
        claimed = await _claimed_periods(schedule.id)
        for period in due_periods(schedule, now, claimed=claimed, timezone=settings.timezone):
            run_id = await _claim(schedule, period, lease_end)
            if run_id is not None:
                work.append((schedule, period, run_id))
        next_at = next_due_at(schedule, claimed=await _claimed_periods(schedule.id), timezone=settings.timezone)
        await run_sql("UPDATE report_schedule SET next_run_at = {} WHERE id = {}", next_at, schedule.id)
    runs = []
    for schedule, period, run_id in work:
        log.info("worker %s: making the report of schedule %s for %s (run %s)", worker_id or "-", schedule.id,
                 period, run_id)
        runs.append(await _render(schedule, period, run_id, lease_end))
    return ScheduleRunSummary(now=now, runs=tuple(runs), taken_over=taken_over)


# --- mailing one run: the send_report job --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    id: int
    status: str
    sent_at: datetime | None
    file_path: str | None
    checksum: str | None
    size_bytes: int | None
    pages: int | None
    period: str
    language: str
    kind: str
    schedule_name: str | None
    recipients: tuple[str, ...]
    unit_name: str | None
    service_name: str | None


async def _load_run(run_id: int) -> _Run | None:
    rows = await run_sql(
        "SELECT r.id, r.status, r.sent_at, r.file_path, r.checksum, r.size_bytes, r.pages, r.period, r.language, "
        "r.kind, s.name AS schedule_name, s.recipients, u.name_vi AS unit_vi, u.name_en AS unit_en, "
        "sv.name_vi AS service_vi, sv.name_en AS service_en FROM report_run r "
        "LEFT JOIN report_schedule s ON s.id = r.schedule LEFT JOIN unit u ON u.id = r.unit "
        "LEFT JOIN service sv ON sv.id = r.service WHERE r.id = {}", run_id)
    if not rows:
        return None
    row = rows[0]
    lang = row["language"] if row["language"] in REPORT_LANGUAGES else "vi"
    return _Run(id=int(row["id"]), status=row["status"], sent_at=aware(row["sent_at"]), file_path=row["file_path"],
                checksum=row["checksum"], size_bytes=row["size_bytes"], pages=row["pages"], period=row["period"],
                language=lang, kind=row["kind"], schedule_name=row["schedule_name"],
                recipients=tuple(str(r) for r in _json_list(row["recipients"])),
                unit_name=row[f"unit_{lang}"], service_name=row[f"service_{lang}"])


def _reference(run_id: int, recipient: str) -> str:
    """The Message-ID part of one recipient's copy of one run: the same on every attempt, so duplicates show."""
    return f"report-{run_id}-{hashlib.sha256(recipient.encode()).hexdigest()[:10]}"


def compose_report_email(run: _Run, recipient: str, *, title: str, brand: str, download_url: str,
                         attachment: Attachment | None) -> OutgoingMessage:
    """One recipient's email of ``run``: subject with the brand, scope and period; the title as headline; the PDF
    attached, or the link to the staff area's download."""
    lang = run.language
    scope = " · ".join(x for x in (run.unit_name or t("report.scope.country", lang), run.service_name) if x)
    subject = t("report.email.subject", lang, brand=brand, scope=scope, period=run.period)
    intro = t("report.email.intro", lang, scope=scope, period=run.period)
    pages = run.pages or 0
    footer = t("report.email.footer", lang, schedule=run.schedule_name or "")
    checksum = t("report.email.checksum", lang, checksum=run.checksum or "")
    if attachment is not None:
        delivery_line = t("report.email.attached", lang, filename=attachment.filename, pages=pages)
        text_link = html_link = ""
    else:
        size = f"{(run.size_bytes or 0) / 1_000_000:.1f} MB"
        delivery_line = t("report.email.link", lang, pages=pages, size=size)
        text_link = f"\n{download_url}\n"
        html_link = f'<p><a href="{html.escape(download_url)}">{html.escape(download_url)}</a></p>'
    text = f"{title}\n\n{intro}\n\n{delivery_line}\n{text_link}\n{checksum}\n\n{footer}\n"
    body = (f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(subject)}</title>'
            f'</head><body style="font-family: sans-serif; line-height: 1.5">'
            f"<h1 style=\"font-size: 1.3em\">{html.escape(title)}</h1><p>{html.escape(intro)}</p>"
            f"<p>{html.escape(delivery_line)}</p>{html_link}"
            f'<p style="color: #555; font-size: 0.85em">{html.escape(checksum)}</p>'
            f'<p style="color: #555; font-size: 0.85em">{html.escape(footer)}</p></body></html>\n')
    return OutgoingMessage("email", recipient, text, subject=subject, html=body,
                           reference=_reference(run.id, recipient),
                           attachments=(attachment,) if attachment is not None else ())


def _describe(result: DeliveryResult) -> str:
    return f"{result.outcome} ({result.error_code or '-'}: {result.error_message or ''})"


def _mark_sent(run_id: int, *, at: datetime, accepted: int, refused: Mapping[str, str]) -> Any:
    async def effect() -> None:
        error = "; ".join(f"{to}: {why}" for to, why in refused.items()) or None
        status = ReportRunStatus.sent if accepted else ReportRunStatus.failed
        await run_sql("UPDATE report_run SET sent_at = {}, status = {}, error = {} WHERE id = {} AND sent_at IS NULL",
                      at if accepted else None, str(status), error, run_id)

    return effect


def _remember(job: ClaimedJob, payload: Mapping[str, Any]) -> Any:
    async def effect() -> None:  # commits with the retry: the next attempt skips those already served
        await update_payloads({job.id: payload})

    return effect


async def send_report(job: ClaimedJob, delivery: Delivery) -> JobResult:
    """The ``send_report`` job: mail archived run ``job.payload["run_id"]`` to its schedule's recipients, once.

    Idempotent: a run with ``sent_at`` is not mailed again, and recipients that an earlier attempt of this job
    reached (``sent_to`` in the payload) are skipped. Crash window: a worker that dies after the SMTP server
    accepted a copy but before this job's outcome committed leaves the job to another worker, which mails that
    copy again; it carries the same Message-ID part (``report-<run>-<recipient hash>``), so it is recognisable."""
    run_id = int(job.payload["run_id"])
    run = await _load_run(run_id)
    if run is None:
        return JobResult.done(job, note=f"report run {run_id} no longer exists")
    if run.sent_at is not None or run.status == ReportRunStatus.sent:
        return JobResult.done(job, note=f"report run {run_id} was already sent")
    if run.status != ReportRunStatus.archived or not run.file_path:
        return JobResult.done(job, note=f"report run {run_id} is {run.status}: nothing to send")
    if not run.recipients:
        return JobResult.done(job, _mark_sent(run_id, at=delivery.clock(), accepted=0, refused={}),
                              note="the schedule has no recipients")
    settings = delivery.settings
    attachment = None
    if (run.size_bytes or 0) <= settings.report_attach_max_bytes:
        path = Path(run.file_path)
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as error:
            return JobResult.retry(job, f"the archived report cannot be read: {error}")
        if hashlib.sha256(data).hexdigest() != run.checksum:
            return JobResult.retry(job, f"the archived report {path.name} does not match its checksum")
        attachment = Attachment(path.name.rsplit("-", 1)[0] + ".pdf", "application/pdf", data)
    title = str(job.payload.get("title") or run.unit_name or t("report.scope.country", run.language))
    download_url = f"{settings.base_url}/staff/reports/{run_id}/download"
    sent_to = [str(x) for x in job.payload.get("sent_to", [])]
    refused = {str(k): str(v) for k, v in dict(job.payload.get("refused", {})).items()}
    retrying: list[str] = []
    for recipient in run.recipients:
        if recipient in sent_to or recipient in refused:
            continue
        message = compose_report_email(run, recipient, title=title, brand=settings.sms_brand,
                                       download_url=download_url, attachment=attachment)
        result = await send_email(delivery, message)
        if result.outcome == "sent":
            sent_to.append(recipient)
        elif result.outcome == "retry":
            retrying.append(f"{recipient}: {_describe(result)}")
        else:
            refused[recipient] = _describe(result)
    payload = {"run_id": run_id, "title": title, "sent_to": sent_to, "refused": refused}
    if retrying:
        return JobResult.retry(job, "; ".join(retrying), _remember(job, payload))
    note = f"not delivered to {', '.join(refused)}" if refused else None
    return JobResult.done(job, _mark_sent(run_id, at=delivery.clock(), accepted=len(sent_to), refused=refused),
                          note=note, payload=payload)
