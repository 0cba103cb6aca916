"""Respondents: opting out of surveys, per person and across channels.

An opt-out comes from the link in a message or on the survey page (``/o/{token}``), from staff
(``survey optout``), from an integrator (``POST /api/v1/optouts``) or from Twilio's "opted out"
error (21610). It is stored on the ``Respondent`` (created when the person is not known yet, so
a later contact is skipped too), and in the same transaction every invitation of that person
still waiting to be sent is skipped with reason ``opted_out`` and its outbox job closed.

Example::

    await opt_out(phone="0912 345 678", source="staff")   # True: opted out now
    await opt_out(phone="+84912345678", source="api")     # False: already opted out
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from delivery.phones import normalise_email, normalise_phone
from survey.crypto import cipher
from survey.db import write_transaction
from survey.services.people import People
from survey.tables import Invitation, InvitationStatus, Job, JobStatus, Respondent

__all__ = ["OPT_OUT_SOURCES", "LinkHolder", "invitation_for_token_hash", "opt_out", "opt_out_by_invitation"]

OPT_OUT_SOURCES = ("link", "survey", "staff", "api", "twilio")
WAITING = (InvitationStatus.planned,)  # not yet in the person's hands: cancelled by an opt-out
SEND_JOB = "send_invitation"


def _check_source(source: str) -> None:
    if source not in OPT_OUT_SOURCES:
        raise ValueError(f"opt-out source {source!r} is not one of {', '.join(OPT_OUT_SOURCES)}")


async def opt_out(*, respondent_id: int | None = None, phone: str | None = None, email: str | None = None,
                  source: str, now: datetime | None = None) -> bool:
    """Opt the person out of every survey; ``True`` when they were not opted out before.

    The person is named by ``respondent_id`` or by ``phone`` and/or ``email`` as people write
    them (raises ``delivery.phones.PhoneError``/``EmailError`` when unreadable). Every stored
    record of the person (by phone and by email) is opted out.
    """
    _check_source(source)
    if respondent_id is None and not phone and not email:
        raise ValueError("opt_out: give respondent_id, phone or email")
    now = now or datetime.now(UTC)
    box = cipher()
    e164 = normalise_phone(phone).e164 if phone else None
    address = normalise_email(email) if email else None
    async with write_transaction():
        people = await People.load(box, phones=[e164] if e164 else [], emails=[address] if address else [])
        ids = {p.id for p in [*people.by_phone.values(), *people.by_email.values()] if p.id is not None}
        if respondent_id is not None:
            ids.add(respondent_id)
        if not ids:
            # not contacted yet: remember the wish, so their first contact is skipped
            person, _ = people.find_or_add(e164, address)
            assert person is not None and person.row is not None
            person.row.opted_out_at, person.row.opt_out_source = now, source
            await people.write([person])
            return True
        return await _opt_out_ids(sorted(ids), source, now)


async def _opt_out_ids(ids: Sequence[int], source: str, now: datetime) -> bool:
    """Inside a write transaction: mark ``ids`` opted out and cancel their waiting invitations."""
    before = await Respondent.select(Respondent.id).where(
        Respondent.id.is_in(list(ids)) & Respondent.opted_out_at.is_null()
    )
    newly = [r["id"] for r in before]
    if newly:
        await Respondent.update({Respondent.opted_out_at: now, Respondent.opt_out_source: source}).where(
            Respondent.id.is_in(newly)
        )
    await _cancel_waiting(ids, source, now)
    return bool(newly)


async def _cancel_waiting(ids: Sequence[int], source: str, now: datetime) -> None:
    waiting = await Invitation.select(Invitation.id, Invitation.status_history).where(
        Invitation.contact.respondent.is_in(list(ids)) & Invitation.status.is_in(list(WAITING))
    )
    if not waiting:
        return
    for row in waiting:
        history = row["status_history"]
        history = json.loads(history) if isinstance(history, str) else list(history or [])
        history.append({"status": "skipped", "at": now.isoformat(), "detail": f"opted_out ({source})"})
        await Invitation.update({
            Invitation.status: InvitationStatus.skipped, Invitation.skip_reason: "opted_out",
            Invitation.status_history: history,
        }).where((Invitation.id == row["id"]) & Invitation.status.is_in(list(WAITING)))
    cancelled = {row["id"] for row in waiting}
    jobs = await Job.select(Job.id, Job.payload).where((Job.kind == SEND_JOB) & (Job.status == JobStatus.queued))
    closing = [job["id"] for job in jobs if _invitation_of(job["payload"]) in cancelled]
    if closing:
        await Job.update({Job.status: JobStatus.done, Job.last_error: "opted out", Job.updated_at: now}).where(
            Job.id.is_in(closing) & (Job.status == JobStatus.queued)
        )


def _invitation_of(payload: Any) -> int | None:
    data = json.loads(payload) if isinstance(payload, str) else payload or {}
    value = data.get("invitation_id")
    return int(value) if value is not None else None


async def opt_out_by_invitation(invitation_id: int, source: str, *, now: datetime | None = None) -> bool:
    """Opt out the person an invitation was for (Twilio's 21610, the link in a message).

    ``False`` when the invitation has no person (a ticket or kiosk link) or they had opted out already.
    """
    _check_source(source)
    rows = await Invitation.select(Invitation.contact.respondent.as_alias("respondent")).where(
        Invitation.id == invitation_id
    )
    if not rows or rows[0]["respondent"] is None:
        return False
    async with write_transaction():
        return await _opt_out_ids([rows[0]["respondent"]], source, now or datetime.now(UTC))


@dataclass(frozen=True)
class LinkHolder:
    """Who a survey link was sent to, as the opt-out page needs it."""

    invitation_id: int
    language: str
    has_person: bool  # False for tickets and kiosk links: nobody to opt out
    opted_out: bool


async def invitation_for_token_hash(hashed: str) -> LinkHolder | None:
    """The invitation whose token hashes to ``hashed`` and the state of its person, or ``None``."""
    rows = await Invitation.select(
        Invitation.id, Invitation.language, Invitation.contact.respondent.as_alias("respondent"),
        Invitation.contact.respondent.opted_out_at.as_alias("opted_out_at"),
    ).where(Invitation.token_hash == hashed)
    if not rows:
        return None
    row = rows[0]
    return LinkHolder(row["id"], row["language"], row["respondent"] is not None, row["opted_out_at"] is not None)
