"""The audit trail: who signed in, saw or changed what, and from where; and the administrators' view of it.

The table is append-only: the database itself refuses to update or delete a row (triggers on SQLite and
PostgreSQL), so nothing here, nor anywhere else, changes an event once written.

Example::

    await record("login_ok", actor=identity, client_address="10.0.0.7")
    await record("login_failed", actor=None, detail={"username": "lan.nt"}, client_address="10.0.0.7")
    await record("apikey_created", actor=None, actor_label="cli", object_type="api_key", object_id="Ab12Cd34")
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from survey.db import NUL, aware, run_sql
from survey.tables import AuditEvent

if TYPE_CHECKING:
    from survey.services.accounts import StaffIdentity

__all__ = ["ANONYMOUS", "AuditFilter", "AuditFilterError", "AuditLine", "AuditPage", "audit_actions", "audit_page",
           "record"]

ANONYMOUS = "-"
MAX_PER_PAGE = 200
MAX_PAGE = 10_000


async def record(
    action: str,
    *,
    actor: StaffIdentity | None,
    actor_label: str | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    detail: Mapping[str, Any] | None = None,
    client_address: str | None = None,
) -> AuditEvent:
    """Write one audit event: ``action`` (e.g. ``login_ok``, ``responses_viewed``) by ``actor`` on an object.

    ``actor_label`` names who acted when no member of staff did (``"cli"`` for a command run on the server);
    a staff actor is named by their username unless ``actor_label`` says otherwise.
    """
    label = actor_label or (actor.username if actor is not None else ANONYMOUS)
    event = AuditEvent(
        actor=actor.id if actor is not None else None,
        actor_label=label[:120],
        action=action[:40],
        object_type=object_type,
        object_id=None if object_id is None else str(object_id)[:80],
        detail=dict(detail or {}),
        client_address=(client_address or None) and client_address[:64],
    )
    await event.save()
    return event


# --- reading the trail ------------------------------------------------------------------------------------------


class AuditFilterError(ValueError):
    """A filter of the audit log that cannot be applied; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class AuditFilter:
    """Which events to show: an action, an actor (the label, exact), a date range in local days (both included).

    >>> AuditFilter(action="login_ok", date_from="2026-12-01").bounds("Asia/Ho_Chi_Minh")[0].isoformat()
    '2026-12-01T00:00:00+07:00'
    >>> AuditFilter(date_from="1/12/2026").bounds("Asia/Ho_Chi_Minh")
    Traceback (most recent call last):
    ...
    survey.services.audit.AuditFilterError: from: '1/12/2026' is not a date (YYYY-MM-DD)
    """

    action: str = ""
    actor: str = ""
    date_from: str = ""
    date_to: str = ""

    def bounds(self, timezone: str) -> tuple[datetime | None, datetime | None]:
        """The filter's days as ``[start, end)`` instants in ``timezone``; raises naming a bad day."""
        zone = ZoneInfo(timezone)
        start = _day(self.date_from, "from")
        end = _day(self.date_to, "to")
        if start and end and end < start:
            raise AuditFilterError("to", f"{self.date_to} is before {self.date_from}")
        return (datetime.combine(start, time(), zone) if start else None,
                datetime.combine(end + timedelta(days=1), time(), zone) if end else None)

    def query(self) -> dict[str, str]:
        """The filter as query parameters (the empty ones left out)."""
        values = {"action": self.action, "actor": self.actor, "from": self.date_from, "to": self.date_to}
        return {key: value for key, value in values.items() if value}


def _day(text: str, field: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise AuditFilterError(field, f"{text!r} is not a date (YYYY-MM-DD)") from None
    if not 2000 <= day.year <= 2100:
        raise AuditFilterError(field, f"{text!r} is outside the years 2000 to 2100")
    return day


@dataclass(frozen=True)
class AuditLine:
    """One event as the log page shows it."""

    id: int
    at: datetime
    actor_label: str
    action: str
    object_type: str | None
    object_id: str | None
    detail: str
    client_address: str | None


@dataclass(frozen=True)
class AuditPage:
    """One page of events, newest first; ``has_next`` when older ones follow."""

    lines: list[AuditLine]
    page: int
    per_page: int
    has_next: bool


async def audit_actions() -> list[str]:
    """The actions that occur in the log (the filter's choices)."""
    rows = await run_sql("SELECT DISTINCT action FROM audit_event ORDER BY action")
    return [str(row["action"]) for row in rows]


async def audit_page(selection: AuditFilter, *, timezone: str, page: int = 1, per_page: int = 50) -> AuditPage:
    """The events ``selection`` keeps, newest first, one page (bounded: at most :data:`MAX_PER_PAGE` a page and
    :data:`MAX_PAGE` pages). Raises :class:`AuditFilterError` naming a bad filter."""
    if not 1 <= page <= MAX_PAGE:
        raise AuditFilterError("page", f"must be 1 to {MAX_PAGE}; got {page}")
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    start, end = selection.bounds(timezone)
    where, args = ["1 = 1"], []
    for column, value, field in (("action", selection.action, "action"), ("actor_label", selection.actor, "actor")):
        value = value.strip()
        if NUL in value:
            raise AuditFilterError(field, "must not contain NUL characters")
        if value:
            where.append(f"{column} = {{}}")
            args.append(value)
    if start is not None:
        where.append("at >= {}")
        args.append(start)
    if end is not None:
        where.append("at < {}")
        args.append(end)
    rows = await run_sql(
        "SELECT id, at, actor_label, action, object_type, object_id, detail, client_address FROM audit_event "  # noqa: S608
        f"WHERE {' AND '.join(where)} ORDER BY at DESC, id DESC LIMIT {per_page + 1} OFFSET {(page - 1) * per_page}",
        *args)
    lines = [AuditLine(int(row["id"]), aware(row["at"]) or row["at"], str(row["actor_label"]), str(row["action"]),
                       row["object_type"], row["object_id"], _detail(row["detail"]), row["client_address"])
             for row in rows[:per_page]]
    return AuditPage(lines, page, per_page, len(rows) > per_page)


def _detail(value: Any) -> str:
    """An event's detail as one line of JSON text, its letters as written (``{}`` shows as nothing).

    >>> _detail('{"unit": "H\\u00e0 N\\u1ed9i"}'), _detail("{}")
    ('{"unit": "Hà Nội"}', '')
    """
    try:
        decoded = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return str(value)
    return "" if not decoded else json.dumps(decoded, ensure_ascii=False)
