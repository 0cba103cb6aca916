"""Contacts counted by decision: how many were planned, and skipped for each reason.

What ``GET /api/v1/contacts/decisions`` answers.

Example::

    start, end = decision_period("2026-11-01", "2026-12-01")   # local dates, the end excluded
    await decision_counts(start, end)   # {'planned': 812, 'quarantined': 97, 'cancelled:opted_out': 3, ...}
    report = await decision_report(start, end, unit="HN-BD")   # the same, as the API's JSON
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from delivery.rules import SKIP_REASONS
from survey.services.contacts import EARLIEST_CONTACT, LATEST_CONTACT, decision_json
from survey.settings import get_settings
from survey.tables import Contact, Invitation, InvitationStatus, Unit

__all__ = ["DecisionReport", "UnknownUnit", "decision_counts", "decision_period", "decision_report", "reason_texts"]


# the dates contacts can have, with a day either side for any time zone (aware: comparing them cannot overflow)
_LOWEST = EARLIEST_CONTACT.replace(tzinfo=UTC) - timedelta(days=1)
_HIGHEST = LATEST_CONTACT.replace(tzinfo=UTC) + timedelta(days=1)


def _check_bound(name: str, moment: datetime) -> None:
    if moment.tzinfo is None or not _LOWEST <= moment <= _HIGHEST:
        raise ValueError(f"{name}: {moment.isoformat()} is outside the dates contacts can have "
                         f"({EARLIEST_CONTACT:%Y-%m-%d} to {LATEST_CONTACT:%Y-%m-%d}), or has no time zone")


def _moment(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name}: {value!r} is not an ISO 8601 date or date and time") from None
    # checked before any conversion, which overflows at the ends of the calendar
    if not EARLIEST_CONTACT <= moment.replace(tzinfo=None) <= LATEST_CONTACT:
        raise ValueError(f"{name}: {value!r} is outside the dates contacts can have "
                         f"({EARLIEST_CONTACT:%Y-%m-%d} to {LATEST_CONTACT:%Y-%m-%d})")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(get_settings().timezone))
    return moment.astimezone(UTC)


def decision_period(period_from: str, period_to: str) -> tuple[datetime, datetime]:
    """The period ``[from, to)`` of ISO 8601 dates or dates and times (local time without an offset), in UTC.

    Raises :class:`ValueError` naming ``from`` or ``to``: unreadable, or outside the dates contacts can have.
    """
    return _moment(period_from, "from"), _moment(period_to, "to")


async def decision_counts(period_from: datetime, period_to: datetime,
                          unit_path_prefix: str | None = None) -> dict[str, int]:
    """Contacts of ``[period_from, period_to)`` by decision: ``planned`` and one key per skip reason.

    Invitations planned and later cancelled (the person opted out before the send) are counted
    under ``cancelled:<reason>``. Raises :class:`ValueError` naming ``from`` or ``to`` for a period
    outside :data:`EARLIEST_CONTACT` .. :data:`LATEST_CONTACT`.
    """
    for name, moment in (("from", period_from), ("to", period_to)):
        _check_bound(name, moment)
    where = (Contact.occurred_at >= period_from) & (Contact.occurred_at < period_to)
    if unit_path_prefix:
        where &= Contact.unit.path.like(unit_path_prefix.replace("%", "").replace("_", "\\_") + "%")
    counts: Tally[str] = Tally()
    for row in await Contact.select(Contact.decision).where(where):
        decision = decision_json(row["decision"])
        counts[decision.get("reason") or decision.get("outcome", "unknown")] += 1
    cancelled_where = (
        (Invitation.status == InvitationStatus.skipped)
        & (Invitation.contact.occurred_at >= period_from)
        & (Invitation.contact.occurred_at < period_to)
    )
    if unit_path_prefix:
        cancelled_where &= Invitation.unit.path.like(unit_path_prefix.replace("%", "").replace("_", "\\_") + "%")
    for row in await Invitation.select(Invitation.skip_reason).where(cancelled_where):
        counts[f"cancelled:{row['skip_reason'] or 'unknown'}"] += 1
    return dict(counts)


def reason_texts() -> Mapping[str, Mapping[str, str]]:
    """Each skip reason explained in Vietnamese and English."""
    return SKIP_REASONS


class UnknownUnit(LookupError):
    """No unit has the code asked for."""


class DecisionReport(msgspec.Struct, rename={"period_from": "from", "period_to": "to"}):
    """Contacts of ``[from, to)`` by decision; ``total`` leaves out invitations cancelled after planning."""

    period_from: str  # ISO 8601 in UTC, as ``datetime.isoformat`` writes it
    period_to: str
    unit: str | None
    total: int
    planned: int
    skipped: dict[str, int]
    reasons: dict[str, dict[str, str]]


async def decision_report(start: datetime, end: datetime, unit: str | None = None) -> DecisionReport:
    """The decisions on the contacts of ``[start, end)`` of ``unit``'s subtree (every unit by default)."""
    prefix = None
    if unit:
        rows = await Unit.select(Unit.path).where(Unit.code == unit)
        if not rows:
            raise UnknownUnit(f"unknown unit {unit!r}")
        prefix = rows[0]["path"]
    counts = await decision_counts(start, end, prefix)
    texts = reason_texts()
    skipped = {reason: n for reason, n in sorted(counts.items()) if reason != "planned"}
    return DecisionReport(
        period_from=start.isoformat(), period_to=end.isoformat(), unit=unit,
        total=sum(n for reason, n in counts.items() if not reason.startswith("cancelled:")),
        planned=counts.get("planned", 0),
        skipped=skipped,
        reasons={reason: dict(texts[reason.split(":")[-1]]) for reason in skipped if reason.split(":")[-1] in texts},
    )
