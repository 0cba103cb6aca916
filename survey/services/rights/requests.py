"""The data subjects' requests: who they are about (:func:`read_subject`), when they are due on the working
calendar (:func:`due_dates`), and their log (``rights_request``); see :mod:`survey.services.rights`.

>>> read_subject(" 0912 345 678 ").kind
'phone'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from delivery.phones import EmailError, PhoneError, normalise_email, normalise_phone
from survey.crypto import InvalidToken, cipher, mask_address
from survey.db import aware
from survey.services import audit
from survey.services.working_calendar import WORKING_PERIODS, WORKING_TIMEZONE, WorkingCalendar, working_calendar
from survey.settings import get_settings
from survey.tables import RightsKind, RightsRequest

__all__ = [
    "ERASED_COMMENT",
    "RIGHTS_KINDS",
    "RequestNotFound",
    "RightsError",
    "RightsLine",
    "Subject",
    "acknowledge_request",
    "complete_request",
    "due_dates",
    "read_subject",
    "record_audit",
    "record_request",
    "request_subject",
    "rights_requests",
    "working_days_after",
]


RIGHTS_KINDS = tuple(kind.value for kind in RightsKind)
ERASED_COMMENT = "[đã xoá theo yêu cầu / erased on request]"
CLOSE_OF_WORK = WORKING_PERIODS[-1][1]  # 16:30: a due day ends when the office closes


class RightsError(ValueError):
    """A request that cannot be recorded or carried out; the message names what was wrong."""


class RequestNotFound(RightsError):
    """No request has that id."""


@dataclass(frozen=True)
class Subject:
    """The person a request is about: a normalised phone (E.164) or email address, and its lookup key."""

    kind: str  # phone or email
    value: str
    hmac: str

    @property
    def masked(self) -> str:
        return mask_address(self.value)


def read_subject(text: str) -> Subject:
    """The phone or email as a person writes it, normalised; raises :class:`RightsError` when it is neither.

    >>> read_subject(" 0912 345 678 ").value, read_subject("Lan.NT@Example.VN").value
    ('+84912345678', 'lan.nt@example.vn')
    """
    raw = " ".join((text or "").split())
    if not raw:
        raise RightsError("a phone number or an email address is required")
    try:
        if "@" in raw:
            kind, value = "email", normalise_email(raw)
        else:
            kind, value = "phone", normalise_phone(raw).e164
    except (PhoneError, EmailError) as error:
        raise RightsError(f"{raw!r} is neither a phone number nor an email address: {error}") from None
    return Subject(kind, value, cipher().lookup_key(value))


# --- due dates ------------------------------------------------------------------------------------------------------


def working_days_after(calendar: WorkingCalendar, moment: datetime, days: int) -> datetime:
    """The close of work (16:30, Asia/Ho_Chi_Minh) of the ``days``-th working day after ``moment``'s day: the day
    of receipt does not count, as deadlines in days are counted.

    >>> friday = datetime(2026, 12, 4, 15, 0, tzinfo=WORKING_TIMEZONE)
    >>> working_days_after(WorkingCalendar(), friday, 2).isoformat()
    '2026-12-08T16:30:00+07:00'
    """
    if moment.tzinfo is None:
        raise RightsError("the moment must be time-zone aware")
    if days < 1:
        raise RightsError(f"days must be at least 1, got {days}")
    day: date = moment.astimezone(WORKING_TIMEZONE).date()
    counted = 0
    for _ in range(3660):
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            counted += 1
            if counted == days:
                return datetime.combine(day, CLOSE_OF_WORK, WORKING_TIMEZONE)
    raise RightsError(f"no {days} working days within ten years of {moment.isoformat()}")


def due_dates(calendar: WorkingCalendar, received_at: datetime) -> tuple[datetime, datetime]:
    """When a request received at ``received_at`` must be acknowledged and carried out (see the module docstring).

    >>> received = datetime(2027, 2, 3, 10, 0, tzinfo=WORKING_TIMEZONE)  # the Wednesday before Tết 2027
    >>> [due.date().isoformat() for due in due_dates(WorkingCalendar(), received)]
    ['2027-02-12', '2027-03-03']
    """
    settings = get_settings()
    return (working_days_after(calendar, received_at, settings.rights_acknowledge_working_days),
            working_days_after(calendar, received_at, settings.rights_complete_working_days))


# --- the requests ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RightsLine:
    """One request as the list shows it (the subject masked)."""

    id: int
    kind: str
    subject_masked: str
    received_at: datetime
    acknowledge_due: datetime
    complete_due: datetime
    acknowledged_at: datetime | None
    completed_at: datetime | None
    handled_by: str
    note: str
    subject_kept: bool  # False once the subject was erased: nothing left to export or erase

    def acknowledge_overdue(self, now: datetime) -> bool:
        return (self.acknowledged_at or now) > self.acknowledge_due

    def complete_overdue(self, now: datetime) -> bool:
        return (self.completed_at or now) > self.complete_due

    def overdue(self, now: datetime) -> bool:
        return self.acknowledge_overdue(now) or self.complete_overdue(now)


def _line(row: dict[str, Any]) -> RightsLine:
    return RightsLine(
        id=int(row["id"]), kind=str(row["kind"]), subject_masked=str(row["subject_masked"]),
        received_at=_at(row["received_at"]), acknowledge_due=_at(row["acknowledge_due"]),
        complete_due=_at(row["complete_due"]), acknowledged_at=aware(row["acknowledged_at"]),
        completed_at=aware(row["completed_at"]), handled_by=str(row["handled_by"]), note=str(row["note"] or ""),
        subject_kept=bool(row["subject_encrypted"]))


def _at(value: Any) -> datetime:
    moment = aware(value)
    assert moment is not None
    return moment


async def record_request(kind: str, subject: Subject, *, handled_by: str, note: str = "",
                         now: datetime | None = None, done: bool = False) -> RightsLine:
    """Keep a request of ``kind`` about ``subject`` received ``now``, with its due dates; ``done``: it was carried
    out at once (acknowledged and completed now, as the CLI does)."""
    if kind not in RIGHTS_KINDS:
        raise RightsError(f"kind must be one of {', '.join(RIGHTS_KINDS)}, got {kind!r}")
    note = " ".join((note or "").split())
    if len(note) > 2000:
        raise RightsError(f"the note is {len(note)} characters long; at most 2000")
    now = now or datetime.now(UTC)
    acknowledge_due, complete_due = due_dates(await working_calendar(), now)
    row = RightsRequest(kind=kind, subject_encrypted=cipher().encrypt(subject.value), subject_hmac=subject.hmac,
                        subject_masked=subject.masked, received_at=now, acknowledge_due=acknowledge_due,
                        complete_due=complete_due, acknowledged_at=now if done else None,
                        completed_at=now if done else None, handled_by=handled_by[:120], note=note)
    await row.save()
    return (await rights_requests(ids=[row.id]))[0]


async def rights_requests(*, ids: Sequence[int] | None = None, limit: int = 200) -> list[RightsLine]:
    """The requests, the newest first (or those of ``ids``)."""
    query = RightsRequest.select().order_by(RightsRequest.received_at, ascending=False).order_by(
        RightsRequest.id, ascending=False)
    if ids is not None:
        query = query.where(RightsRequest.id.is_in(list(ids)))
    return [_line(row) for row in await query.limit(limit)]


async def _request(request_id: int) -> RightsLine:
    found = await rights_requests(ids=[request_id])
    if not found:
        raise RequestNotFound(f"there is no request #{request_id}")
    return found[0]


async def request_subject(request_id: int) -> Subject:
    """The subject of request ``request_id`` (decrypted); refused once it was erased."""
    rows = await RightsRequest.select(RightsRequest.subject_encrypted).where(RightsRequest.id == request_id)
    if not rows:
        raise RequestNotFound(f"there is no request #{request_id}")
    if not rows[0]["subject_encrypted"]:
        raise RightsError(f"request #{request_id}: its subject was erased; nothing is held about them any more")
    try:
        return read_subject(cipher().decrypt(rows[0]["subject_encrypted"]))
    except InvalidToken:
        raise RightsError(f"request #{request_id}: its subject cannot be decrypted with the current key") from None


async def acknowledge_request(request_id: int, *, now: datetime | None = None) -> RightsLine:
    """Mark request ``request_id`` acknowledged (once; a second time changes nothing)."""
    line = await _request(request_id)
    if line.acknowledged_at is None:
        await RightsRequest.update({RightsRequest.acknowledged_at: now or datetime.now(UTC)}).where(
            (RightsRequest.id == request_id) & RightsRequest.acknowledged_at.is_null())
    return await _request(request_id)


async def complete_request(request_id: int, *, now: datetime | None = None, note: str = "") -> RightsLine:
    """Mark request ``request_id`` carried out (acknowledged too, if it was not); ``note`` is added to its note."""
    line = await _request(request_id)
    now = now or datetime.now(UTC)
    values: dict[Any, Any] = {}
    if line.acknowledged_at is None:
        values[RightsRequest.acknowledged_at] = now
    if line.completed_at is None:
        values[RightsRequest.completed_at] = now
    if note:
        values[RightsRequest.note] = f"{line.note}; {note}" if line.note else note
    if values:
        await RightsRequest.update(values).where(RightsRequest.id == request_id)
    return await _request(request_id)


async def record_audit(action: str, *, actor: Any, detail: dict[str, Any], object_id: int | None = None,
                       client_address: str | None = None) -> None:
    """Audit ``action`` by ``actor`` (a member of staff), or by the command line when ``actor`` is ``None``."""
    await audit.record(action, actor=actor, actor_label="cli" if actor is None else None,
                       object_type="rights_request", object_id=object_id, detail=detail,
                       client_address=client_address)
