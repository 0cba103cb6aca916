"""Follow-up cases: every unhappy person called back within one working hour, and the loop closed.

A case opens when a complete response meets its questionnaire's follow-up rule (a low overall score, a
complaint, "the information was wrong": :mod:`survey.services.responses`, in the submission's transaction) or
by hand from any response (:func:`open_case`). It is assigned to the response's unit and falls due one working
hour later on the working calendar (:mod:`survey.services.working_calendar`).

- Statuses go in order, open → in progress → closed; every status change and reassignment carries a comment,
  and closing needs an outcome, a root cause (one of the questionnaire's criteria, or ``other``), whether the
  issue was resolved, and a note. Each step is a line of the case's journal (``follow_up.notes``:
  ``[{at, by, action, from, to, unit, text}]``), oldest first.
- The assigned unit is emailed when a case opens or is reassigned to it (a ``case_email`` job of the outbox,
  written in the same transaction). A case still open when it falls due escalates once to the parent unit:
  marked overdue, the parent emailed (:func:`escalate_overdue`, run by the worker every minute).
- Staff may reveal the person's contact details to call back: every reveal is written to the audit log and the
  journal (:func:`reveal_contact`).
- The SLA figures per unit and period (:func:`sla_figures`): the share closed within one working hour and the
  median working time to close.

Every read and write is limited to the member of staff's unit subtree; a case outside it is "not found".
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from survey.db import aware, run_sql, write_transaction
from survey.i18n import N_
from survey.services.accounts import StaffIdentity, can_see, scope_prefix
from survey.services.extract import subtree_pattern
from survey.services.working_calendar import (
    WORKING_TIMEZONE,
    CalendarEntry,
    DayKind,
    WorkingCalendar,
    working_calendar,
)
from survey.tables import FollowUpStatus

__all__ = [
    "CASE_ACTIONS",
    "CLOSED",
    "IN_PROGRESS",
    "OPEN",
    "OTHER_CAUSE",
    "STATUS_ORDER",
    "WORKING_TIMEZONE",
    "CaseDetail",
    "CaseError",
    "CaseLine",
    "CaseNotFound",
    "CaseQueue",
    "ChangeRefused",
    "Closing",
    "JournalEntry",
    "SlaFigures",
    "add_working_hours",
    "case_detail",
    "case_email_jobs",
    "case_queue",
    "change_status",
    "escalate_overdue",
    "journal_entry",
    "open_case",
    "reassign_case",
    "reveal_contact",
    "send_case_email",
    "sla_figures",
]

OPEN, IN_PROGRESS, CLOSED = FollowUpStatus.open.value, FollowUpStatus.in_progress.value, FollowUpStatus.closed.value
STATUS_ORDER = (OPEN, IN_PROGRESS, CLOSED)
NEXT_STATUS = {OPEN: IN_PROGRESS, IN_PROGRESS: CLOSED}
OTHER_CAUSE = "other"
CASE_ACTIONS = ("opened", "status", "reassigned", "escalated", "notified", "revealed", "closed")
MAX_TEXT = 2000
EMAIL_TEXTS = {  # what a case_email says, by its kind
    "opened": (N_("followup.email.opened.subject"), N_("followup.email.opened.body")),
    "reassigned": (N_("followup.email.reassigned.subject"), N_("followup.email.reassigned.body")),
    "escalated": (N_("followup.email.escalated.subject"), N_("followup.email.escalated.body")),
}
SYSTEM = "system"
# overdue: still open after its due time (or escalated), or closed after it; one parameter, now
OVERDUE_SQL = ("((f.closed_at IS NULL AND (f.due_at <= {} OR f.escalated_at IS NOT NULL)) "
               "OR f.closed_at > f.due_at)")


class ChangeRefused(ValueError):
    """A change that cannot be made; the message names what was wrong, ``field_name`` the field (HTTP 400), or
    ``conflict`` a change made on a stale page (HTTP 409)."""

    def __init__(self, message: str, *, field_name: str | None = None, conflict: bool = False) -> None:
        super().__init__(message)
        self.field_name = field_name
        self.conflict = conflict


class CaseError(ChangeRefused):
    """A change to a case that cannot be made."""


class CaseNotFound(LookupError):
    """No case (or no response) with this id in the member of staff's scope."""


def add_working_hours(start: datetime, hours: float, holidays: Collection[date] = ()) -> datetime:
    """``hours`` working hours after ``start`` on the law's calendar with the extra days off ``holidays`` (the
    demo's simulation; the application reads the administrators' entries: :func:`working_calendar`).

    >>> from datetime import datetime
    >>> friday = datetime(2026, 11, 27, 16, 10, tzinfo=WORKING_TIMEZONE)
    >>> add_working_hours(friday, 1).isoformat()
    '2026-11-30T08:10:00+07:00'
    """
    extra = [CalendarEntry(day, DayKind.holiday, "nghỉ") for day in holidays]
    return WorkingCalendar(extra).add_working_hours(start, hours)


def journal_entry(action: str, *, at: datetime, by: str = SYSTEM, text: str = "", **extra: Any) -> dict[str, Any]:
    """One line of a case's journal."""
    entry = {"at": at.astimezone(UTC).isoformat(), "by": by, "action": action, "text": text}
    entry.update({key: value for key, value in extra.items() if value is not None})
    return entry


def case_email_jobs(response_ids: Sequence[int], kind: str, unit_ids: Sequence[int], *,
                    now: datetime) -> list[tuple[str, dict[str, Any], datetime]]:
    """The outbox jobs that email ``unit_ids`` about the cases of ``response_ids`` (one case per response; the
    writer knows the response before the case's id), ``kind``: opened, reassigned, escalated."""
    return [("case_email", {"response_id": response_id, "kind": kind, "unit_id": unit_id}, now)
            for response_id, unit_id in zip(response_ids, unit_ids, strict=True)]


@dataclass(frozen=True)
class JournalEntry:
    at: datetime
    by: str
    action: str
    text: str
    from_status: str | None = None
    to_status: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class CaseLine:
    """One case as a line of the queue."""

    id: int
    response_id: int
    status: str
    reasons: tuple[str, ...]
    unit_code: str
    unit_name: dict[str, str]
    created_at: datetime
    due_at: datetime
    closed_at: datetime | None
    escalated_at: datetime | None
    overall: float | None

    def overdue(self, now: datetime) -> bool:
        if self.closed_at is not None:
            return self.closed_at > self.due_at
        return self.due_at <= now or self.escalated_at is not None


@dataclass(frozen=True)
class CaseQueue:
    rows: tuple[CaseLine, ...]
    total: int
    overdue: int
    page: int
    per_page: int

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total


@dataclass(frozen=True)
class CaseDetail:
    """One case in full, with what the member of staff may do next."""

    line: CaseLine
    version: int
    journal: tuple[JournalEntry, ...]
    outcome: str | None
    root_cause: str | None
    resolved: bool | None
    escalated_to: str | None
    questionnaire_key: str
    root_causes: tuple[tuple[str, dict[str, str]], ...]  # (criterion id, its label) ..., then "other"
    next_status: str | None
    contact_available: bool
    units: tuple[tuple[str, dict[str, str]], ...] = field(default=())  # where it may be reassigned


@dataclass(frozen=True)
class Closing:
    """What closing a case needs."""

    outcome: str
    root_cause: str
    resolved: bool
    note: str


_CASE_SQL = (
    "SELECT f.id, f.response, f.status, f.reasons, f.due_at, f.created_at, f.closed_at, f.escalated_at, f.notes, "
    "f.outcome, f.root_cause, f.resolved, f.version, f.unit AS unit_id, u.code AS unit_code, u.path AS unit_path, "
    "u.name_vi, u.name_en, e.code AS escalated_code, r.questionnaire AS version_id, r.invitation, "
    "(SELECT a.value_number FROM answer a WHERE a.response = f.response AND a.question_id = 'overall') AS overall "
    "FROM follow_up f JOIN unit u ON u.id = f.unit JOIN response r ON r.id = f.response "
    "LEFT JOIN unit e ON e.id = f.escalated_to "
)


def _line(row: dict[str, Any]) -> CaseLine:
    reasons = row["reasons"]
    if isinstance(reasons, str):
        reasons = json.loads(reasons or "[]")
    return CaseLine(
        id=int(row["id"]), response_id=int(row["response"]), status=str(row["status"]),
        reasons=tuple(str(r) for r in reasons or ()), unit_code=str(row["unit_code"]),
        unit_name={"vi": row["name_vi"], "en": row["name_en"]}, created_at=_moment(row["created_at"]),
        due_at=_moment(row["due_at"]), closed_at=aware(row["closed_at"]), escalated_at=aware(row["escalated_at"]),
        overall=None if row.get("overall") is None else float(row["overall"]),
    )


def _moment(value: Any) -> datetime:
    moment = aware(value)
    assert moment is not None
    return moment


def _journal(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return list(value or [])


async def _case_row(scope_path: str, case_id: int) -> dict[str, Any]:
    rows = await run_sql(_CASE_SQL + "WHERE f.id = {}", case_id)
    if not rows or not _within(scope_path, rows[0]["unit_path"]):
        raise CaseNotFound(f"no follow-up case #{case_id} in your units")
    return rows[0]


def _within(scope_path: str, unit_path: str) -> bool:
    return bool(scope_path) and unit_path.startswith(scope_path)


async def case_queue(scope_path: str, *, status: str = "active", unit_code: str | None = None,
                     overdue_only: bool = False, page: int = 1, per_page: int = 50,
                     now: datetime | None = None) -> CaseQueue:
    """The cases in the units under ``scope_path`` by due time, soonest first (``status``: active = open or in progress,
    or one status, or all)."""
    now = now or datetime.now(UTC)
    where, args = ["u.path LIKE {} ESCAPE '\\'"], [subtree_pattern(scope_path)]
    if status == "active":
        where.append("f.status IN ('open', 'in_progress')")
    elif status in STATUS_ORDER:
        where.append("f.status = {}")
        args.append(status)
    elif status != "all":
        raise CaseError(f"status must be active, all or one of {', '.join(STATUS_ORDER)}; got {status!r}",
                        field_name="status")
    if unit_code:
        where.append("(u.code = {} OR u.path LIKE {} ESCAPE '\\')")
        args += [unit_code, f"%/{unit_code}/%"]
    if overdue_only:
        where.append(OVERDUE_SQL)
        args.append(now)
    clause = " WHERE " + " AND ".join(where)
    counted = await run_sql(
        f"SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN {OVERDUE_SQL} THEN 1 ELSE 0 END), 0) AS late "  # noqa: S608
        "FROM follow_up f JOIN unit u ON u.id = f.unit" + clause, now, *args)
    page = max(1, page)
    rows = await run_sql(_CASE_SQL + clause + " ORDER BY f.due_at, f.id LIMIT {} OFFSET {}",
                         *args, per_page, (page - 1) * per_page)
    return CaseQueue(rows=tuple(_line(row) for row in rows), total=int(counted[0]["n"]),
                     overdue=int(counted[0]["late"]), page=page, per_page=per_page)


async def case_detail(scope_path: str, case_id: int) -> CaseDetail:
    """One case with its journal, what closing it asks and where it may be reassigned."""
    from survey.services.questionnaires import get_version

    row = await _case_row(scope_path, case_id)
    published = await get_version(int(row["version_id"]))
    units = await run_sql("SELECT code, name_vi, name_en FROM unit WHERE path LIKE {} ESCAPE '\\' AND active = {} "
                          "ORDER BY path", subtree_pattern(scope_path), True)
    contact = await _contact(int(row["response"]))
    return CaseDetail(
        line=_line(row), version=int(row["version"] or 0),
        journal=tuple(JournalEntry(_moment(e["at"]), str(e.get("by", SYSTEM)), str(e.get("action", "comment")),
                                   str(e.get("text", "")), e.get("from"), e.get("to"), e.get("unit"))
                      for e in _journal(row["notes"])),
        outcome=row["outcome"], root_cause=row["root_cause"],
        resolved=None if row["resolved"] is None else bool(row["resolved"]),
        escalated_to=row["escalated_code"], questionnaire_key=published.questionnaire.id,
        root_causes=_root_causes(published.questionnaire),
        next_status=NEXT_STATUS.get(str(row["status"])), contact_available=contact is not None,
        units=tuple((u["code"], {"vi": u["name_vi"], "en": u["name_en"]}) for u in units),
    )


def _text(value: str | None, what: str, *, required: bool = True) -> str:
    text = " ".join((value or "").split()) if value is not None else ""
    if required and not text:
        raise CaseError(f"{what} is required", field_name=what)
    if len(text) > MAX_TEXT:
        raise CaseError(f"{what} is {len(text)} characters long; at most {MAX_TEXT}", field_name=what)
    return text


async def _save(row: dict[str, Any], changes: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    """Write ``changes`` and the new journal lines, only if nobody changed the case since it was read."""
    journal = _journal(row["notes"]) + entries
    sets = [f"{column} = {{}}" for column in changes] + ["notes = {}", "version = version + 1"]
    done = await run_sql(
        f"UPDATE follow_up SET {', '.join(sets)} WHERE id = {{}} AND version = {{}} RETURNING id",  # noqa: S608
        *changes.values(), json.dumps(journal, ensure_ascii=False), row["id"], row["version"] or 0)
    if not done:
        raise CaseError("the case was changed meanwhile by someone else; reload it and try again", conflict=True)


async def change_status(identity: StaffIdentity, case_id: int, to_status: str, comment: str | None, *,
                        closing: Closing | None = None, expected_version: int | None = None,
                        now: datetime | None = None) -> CaseDetail:
    """Move a case to its next status (open → in progress → closed) with a comment; closing needs ``closing``."""
    now = now or datetime.now(UTC)
    async with write_transaction():
        row = await _case_row(scope_prefix(identity), case_id)
        _expect(row, expected_version)
        current = str(row["status"])
        if to_status not in STATUS_ORDER:
            raise CaseError(f"status must be one of {', '.join(STATUS_ORDER)}; got {to_status!r}",
                            field_name="status")
        if NEXT_STATUS.get(current) != to_status:
            after = NEXT_STATUS.get(current)
            hint = f"its next status is {after}" if after else "a closed case stays closed"
            raise CaseError(f"case #{case_id} is {current}: it cannot become {to_status} ({hint})",
                            field_name="status", conflict=True)
        changes: dict[str, Any] = {"status": to_status}
        if to_status == CLOSED:
            if closing is None:
                raise CaseError("closing needs an outcome, a root cause, resolved yes/no and a note",
                                field_name="outcome")
            outcome = _text(closing.outcome, "outcome")
            note = _text(closing.note, "note")
            causes = await _causes(int(row["version_id"]))
            if closing.root_cause not in causes:
                raise CaseError(f"root_cause must be one of {', '.join(causes)}; got {closing.root_cause!r}",
                                field_name="root_cause")
            changes.update(outcome=outcome, root_cause=closing.root_cause, resolved=closing.resolved, closed_at=now)
            text = note
        else:
            text = _text(comment, "comment")
        action = "closed" if to_status == CLOSED else "status"
        await _save(row, changes, [journal_entry(action, at=now, by=identity.username, text=text,
                                                 **{"from": current, "to": to_status})])
    return await case_detail(scope_prefix(identity), case_id)


def _expect(row: dict[str, Any], expected_version: int | None) -> None:
    if expected_version is not None and int(row["version"] or 0) != expected_version:
        raise CaseError("the case was changed meanwhile by someone else; reload it and try again", conflict=True)


def _root_causes(questionnaire: Any) -> tuple[tuple[str, dict[str, str]], ...]:
    """What closing a case may name as its root cause: the questionnaire's criteria (id, title), then "other"."""
    return (*((c.id, dict(c.title)) for c in questionnaire.criteria), (OTHER_CAUSE, {"vi": "Khác", "en": "Other"}))


async def _causes(version_id: int) -> list[str]:
    from survey.services.questionnaires import get_version

    return [code for code, _ in _root_causes((await get_version(version_id)).questionnaire)]


async def reassign_case(identity: StaffIdentity, case_id: int, unit_code: str, comment: str | None, *,
                        expected_version: int | None = None, now: datetime | None = None) -> CaseDetail:
    """Give the case to another unit in ``identity``'s scope, with a comment; that unit is emailed."""
    from survey.services.outbox import enqueue_many

    now = now or datetime.now(UTC)
    async with write_transaction():
        row = await _case_row(scope_prefix(identity), case_id)
        _expect(row, expected_version)
        if row["status"] == CLOSED:
            raise CaseError(f"case #{case_id} is closed: it cannot be reassigned", conflict=True)
        text = _text(comment, "comment")
        units = await run_sql("SELECT id, code, path FROM unit WHERE code = {}", unit_code)
        if not units or not can_see(identity, units[0]["path"]):
            raise CaseError(f"no unit {unit_code!r} in your units", field_name="unit")
        if int(units[0]["id"]) == int(row["unit_id"]):
            raise CaseError(f"case #{case_id} is already assigned to {unit_code}", field_name="unit")
        await _save(row, {"unit": units[0]["id"]},
                    [journal_entry("reassigned", at=now, by=identity.username, text=text,
                                   unit=unit_code, **{"from": row["unit_code"]})])
        await enqueue_many(case_email_jobs([int(row["response"])], "reassigned", [int(units[0]["id"])], now=now))
    return await case_detail(scope_prefix(identity), case_id)


async def open_case(identity: StaffIdentity, response_id: int, comment: str | None, *,
                    now: datetime | None = None) -> int:
    """Open a case by hand from a complete response in ``identity``'s scope; its id. One case per response."""
    from survey.services.outbox import enqueue_many

    now = now or datetime.now(UTC)
    text = _text(comment, "comment")
    calendar = await working_calendar()
    async with write_transaction():
        rows = await run_sql("SELECT r.id, r.unit, r.status, u.path, f.id AS case_id FROM response r "
                             "JOIN unit u ON u.id = r.unit LEFT JOIN follow_up f ON f.response = r.id "
                             "WHERE r.id = {}", response_id)
        if not rows or not can_see(identity, rows[0]["path"]):
            raise CaseNotFound(f"no response #{response_id} in your units")
        if rows[0]["case_id"] is not None:
            raise CaseError(f"response #{response_id} already has case #{rows[0]['case_id']}", conflict=True)
        if rows[0]["status"] != "complete":
            raise CaseError(f"response #{response_id} is not complete", conflict=True)
        journal = [journal_entry("opened", at=now, by=identity.username, text=text, to=OPEN)]
        inserted = await run_sql(
            "INSERT INTO follow_up (response, unit, reasons, status, due_at, notes, created_at, version) "
            "VALUES ({}, {}, {}, {}, {}, {}, {}, 0) RETURNING id",
            response_id, rows[0]["unit"], json.dumps(["manual"]), OPEN, calendar.add_working_hours(now, 1),
            json.dumps(journal, ensure_ascii=False), now)
        case_id = int(inserted[0]["id"])
        await enqueue_many(case_email_jobs([response_id], "opened", [int(rows[0]["unit"])], now=now))
    return case_id


async def _contact(response_id: int) -> dict[str, Any] | None:
    rows = await run_sql(
        "SELECT p.phone_encrypted, p.email_encrypted, c.agent, c.channel FROM response r "
        "JOIN invitation i ON i.id = r.invitation JOIN contact c ON c.id = i.contact "
        "JOIN respondent p ON p.id = c.respondent WHERE r.id = {}", response_id)
    if not rows or not (rows[0]["phone_encrypted"] or rows[0]["email_encrypted"]):
        return None
    return rows[0]


async def reveal_contact(identity: StaffIdentity, case_id: int, *, client_address: str | None = None,
                         now: datetime | None = None) -> dict[str, str | None]:
    """The person's phone and email, to call back: recorded in the audit log and the case's journal."""
    from survey.crypto import cipher
    from survey.services import audit

    now = now or datetime.now(UTC)
    async with write_transaction():
        row = await _case_row(scope_prefix(identity), case_id)
        contact = await _contact(int(row["response"]))
        if contact is None:
            raise CaseError(f"case #{case_id}: the person left no phone or email (an anonymous response)",
                            conflict=True)
        box = cipher()
        revealed = {"phone": box.decrypt(contact["phone_encrypted"]) if contact["phone_encrypted"] else None,
                    "email": box.decrypt(contact["email_encrypted"]) if contact["email_encrypted"] else None}
        await _save(row, {}, [journal_entry("revealed", at=now, by=identity.username, text="")])
        await audit.record("contact_revealed", actor=identity, object_type="follow_up", object_id=case_id,
                           detail={"response": int(row["response"]),
                                   "fields": [k for k, v in revealed.items() if v]},
                           client_address=client_address)
    return revealed


async def escalate_overdue(now: datetime | None = None) -> int:
    """Escalate each case still open at its due time, once: marked overdue, the parent unit emailed; how many."""
    from survey.services.outbox import enqueue_many

    now = now or datetime.now(UTC)
    async with write_transaction():
        rows = await run_sql(
            "SELECT f.id, f.response, f.notes, u.parent, u.code, p.code AS parent_code FROM follow_up f "
            "JOIN unit u ON u.id = f.unit LEFT JOIN unit p ON p.id = u.parent "
            "WHERE f.status IN ('open', 'in_progress') AND f.escalated_at IS NULL AND f.due_at <= {} "
            "ORDER BY f.due_at LIMIT 500", now)
        jobs = []
        escalated = 0
        for row in rows:
            target = row["parent"]
            entry = journal_entry("escalated", at=now, text="", unit=row["parent_code"] or row["code"])
            # another worker may have escalated it meanwhile: only the one whose update lands tells the parent
            done = await run_sql("UPDATE follow_up SET escalated_at = {}, escalated_to = {}, notes = {}, "
                                 "version = version + 1 WHERE id = {} AND escalated_at IS NULL RETURNING id", now,
                                 target, json.dumps(_journal(row["notes"]) + [entry], ensure_ascii=False), row["id"])
            if not done:
                continue
            escalated += 1
            if target is not None:
                jobs += case_email_jobs([int(row["response"])], "escalated", [int(target)], now=now)
        await enqueue_many(jobs)
    return escalated


@dataclass(frozen=True)
class SlaFigures:
    """The cases of one unit (its subtree) opened in a period: how many, closed, closed by their due time (one
    working hour: the SLA) with its Wilson interval, still open, overdue, and the median working time to close."""

    path: str
    opened: int
    closed: int
    on_time: int
    open: int
    overdue: int
    median_minutes_to_close: float | None
    ci: tuple[float, float] | None

    @property
    def unit_code(self) -> str:
        return self.path.strip("/").split("/")[-1]

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.opened if self.opened else None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "unit": self.unit_code, "opened": self.opened, "closed": self.closed,
                "on_time": self.on_time, "open": self.open, "overdue": self.overdue,
                "on_time_share": self.on_time_share, "ci": None if self.ci is None else list(self.ci),
                "median_minutes_to_close": self.median_minutes_to_close}


async def sla_figures(scope_path: str, start: datetime, end: datetime, *, by_level: int | None = None,
                      service_id: int | None = None, now: datetime | None = None) -> list[SlaFigures]:
    """The SLA of the cases opened in [start, end) under ``scope_path``: one row for the scope, or one per unit
    ``by_level`` deep under the root (1: the provinces). Closed within one working hour means closed by the due
    time; the time to close counts working time only (the working calendar)."""
    from scoring import wilson_interval

    now = now or datetime.now(UTC)
    calendar = await working_calendar()
    args: list[Any] = [start, end, subtree_pattern(scope_path)]
    where = ""
    if service_id is not None:
        args.append(service_id)
        where = " AND r.service = {}"
    rows = await run_sql(
        "SELECT u.path, f.due_at, f.closed_at, f.created_at FROM follow_up f JOIN unit u ON u.id = f.unit "  # noqa: S608
        "JOIN response r ON r.id = f.response WHERE f.created_at >= {} AND f.created_at < {} "
        "AND u.path LIKE {} ESCAPE '\\'" + where, *args)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = scope_path
        if by_level is not None:
            parts = row["path"].strip("/").split("/")
            if len(parts) <= by_level:
                continue
            key = "/" + "/".join(parts[:by_level + 1]) + "/"
        groups.setdefault(key, []).append(row)
    out = []
    for key, cases in sorted(groups.items()):
        closed = [c for c in cases if c["closed_at"] is not None]
        still_open = [c for c in cases if c["closed_at"] is None]
        on_time = sum(1 for c in closed if _moment(c["closed_at"]) <= _moment(c["due_at"]))
        late = len(closed) - on_time + sum(1 for c in still_open if _moment(c["due_at"]) < now)
        minutes = [calendar.working_time_between(_moment(c["created_at"]), _moment(c["closed_at"]))
                   / timedelta(minutes=1) for c in closed]
        low, high = wilson_interval(on_time, len(cases))
        out.append(SlaFigures(key, len(cases), len(closed), on_time, len(still_open), late,
                              statistics.median(minutes) if minutes else None, (float(low), float(high))))
    return out


async def send_case_email(job: Any, delivery: Any) -> Any:
    """The ``case_email`` job: tell a unit's mailbox that a case was opened, reassigned to it or escalated to it.

    Done without sending when the unit has no mailbox or the case is closed meanwhile (the journal says so)."""
    from survey.i18n import t
    from survey.services.outbox import JobResult
    from survey.services.sending import OutgoingMessage, send_email
    from survey.settings import get_settings
    from survey.web import format_local_time

    kind = str(job.payload.get("kind", "opened"))
    rows = await run_sql(_CASE_SQL + "WHERE f.response = {}", int(job.payload["response_id"]))
    units = await run_sql("SELECT code, name_vi, name_en, email FROM unit WHERE id = {}", job.payload["unit_id"])
    if not rows or not units:
        return JobResult.done(job, note="the case or its unit is gone")
    row, unit = rows[0], units[0]
    case_id = int(row["id"])
    if not unit["email"]:
        return JobResult.done(job, note=f"unit {unit['code']} has no mailbox")
    if row["status"] == CLOSED and kind != "closed":
        return JobResult.done(job, note="the case was closed before the email went")
    settings = get_settings()
    lang = "vi"
    line = _line(row)
    link = f"{settings.base_url}/staff/follow-ups/{case_id}"
    values = {"id": case_id, "unit": unit["name_vi"] or unit["code"], "due": format_local_time(line.due_at),
              "reasons": ", ".join(line.reasons), "case_unit": row["name_vi"] or row["unit_code"]}
    subject_key, body_key = EMAIL_TEXTS.get(kind, EMAIL_TEXTS["opened"])
    subject = t(subject_key, lang, brand=settings.sms_brand, **values)
    body = t(body_key, lang, **values)
    text = f"{body}\n\n{link}\n"
    message = OutgoingMessage("email", str(unit["email"]), text, subject=subject,
                              reference=f"case-{case_id}-{kind}-{job.id}")
    result = await send_email(delivery, message)
    if result.outcome == "retry":
        return JobResult.retry(job, f"{result.error_code or '-'}: {result.error_message or ''}")
    if result.outcome != "sent":
        return JobResult.done(job, note=f"not delivered to {unit['email']}: {result.error_message or result.outcome}")
    at = delivery.clock()

    async def effect() -> None:
        stored = await run_sql("SELECT notes FROM follow_up WHERE id = {}", case_id)
        if stored:
            entry = journal_entry("notified", at=at, text=str(unit["email"]), unit=unit["code"], kind=kind)
            await run_sql("UPDATE follow_up SET notes = {}, notified_at = COALESCE(notified_at, {}) WHERE id = {}",
                          json.dumps(_journal(stored[0]["notes"]) + [entry], ensure_ascii=False), at, case_id)

    return JobResult.done(job, effect)
