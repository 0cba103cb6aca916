"""Contact details past their retention period (``SURVEY_CONTACT_RETENTION_DAYS``, 90 days after the person's last
contact) are erased by the worker on SQLite and PostgreSQL: the phone and email go, the answers, scores and kept
counts stay; a newer person keeps theirs; an opted-out person keeps only what the opt-out needs; old sandbox
messages go; finished jobs lose what they held; a second run finds nothing to do."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from test_outbox_worker import sandbox_delivery, worker_for  # also puts the project root on sys.path
from test_rights_requests import LAN_PHONE, answers_of, surveyed_caller


async def age(phone: str, days: int) -> None:
    """Move everything about the person with ``phone`` ``days`` into the past, as if that much time had gone by."""
    from survey.crypto import cipher
    from survey.db import run_sql

    key = cipher().lookup_key(phone)
    [person] = await run_sql("SELECT id FROM respondent WHERE phone_hmac = {}", key)
    shift = timedelta(days=days)
    contacts = await run_sql("SELECT id, occurred_at FROM contact WHERE respondent = {}", person["id"])
    for contact in contacts:
        await run_sql("UPDATE contact SET occurred_at = {} WHERE id = {}",
                      _aware(contact["occurred_at"]) - shift, contact["id"])
        await run_sql("UPDATE sandbox_message SET created_at = {} WHERE invitation IN "
                      "(SELECT id FROM invitation WHERE contact = {})", datetime.now(UTC) - shift, contact["id"])
    await run_sql("UPDATE respondent SET last_surveyed_at = {}, created_at = {} WHERE id = {}",
                  datetime.now(UTC) - shift, datetime.now(UTC) - shift, person["id"])


def _aware(value):
    from survey.db import aware

    return aware(value)


async def details(phone: str) -> dict[str, object] | None:
    """The respondent found by ``phone``'s lookup key, or ``None``."""
    from survey.crypto import cipher
    from survey.tables import Respondent

    rows = await Respondent.select().where(Respondent.phone_hmac == cipher().lookup_key(phone))
    return rows[0] if rows else None


async def kept_counts() -> int:
    from survey.tables import ScoreCell

    return sum(row["n"] for row in await ScoreCell.select(ScoreCell.n))


async def test_the_worker_erases_old_contact_details_and_keeps_the_answers(client):
    from survey.services.aggregates import verify
    from survey.services.respondents import opt_out
    from survey.tables import AuditEvent, Respondent, SandboxMessage

    old = await surveyed_caller(client, phone=LAN_PHONE, external_id="call-1", comment="Chờ lâu quá")
    newer = await surveyed_caller(client, phone="0987 654 321", external_id="call-2")
    await surveyed_caller(client, phone="0903 111 222", external_id="call-3")
    assert await opt_out(phone="0903 111 222", source="staff")
    await age("+84912345678", 100)
    await age("+84987654321", 80)
    await age("+84903111222", 120)
    answers_before, counts_before = await answers_of(old), await kept_counts()
    assert await SandboxMessage.count() == 3

    summary = await worker_for(sandbox_delivery()).retain()
    assert (summary.respondents, summary.kept_for_opt_out, summary.sandbox_messages) == (2, 1, 2)

    assert await details("+84912345678") is None  # no longer found by the phone
    assert await Respondent.count().where(Respondent.phone_encrypted.is_not_null()) == 1
    assert (await details("+84987654321"))["phone_encrypted"]  # 80 days: kept
    opted = await details("+84903111222")
    assert opted["phone_encrypted"] is None and opted["opted_out_at"] is not None  # the opt-out still honoured
    assert await Respondent.count() == 3  # the records stay, anonymous: the contacts still point at them
    assert await answers_of(old) == answers_before and await answers_of(newer) != {}
    assert await kept_counts() == counts_before and await verify() == []
    [left] = await SandboxMessage.select(SandboxMessage.invitation.contact.external_id.as_alias("external_id"))
    assert left["external_id"] == "call-2"

    [event] = await AuditEvent.select(AuditEvent.detail, AuditEvent.actor_label).where(
        AuditEvent.action == "retention_erased")
    detail = event["detail"] if isinstance(event["detail"], dict) else json.loads(event["detail"])
    assert (detail["respondents"], detail["sandbox_messages"], detail["retention_days"]) == (2, 2, 90)

    again = await worker_for(sandbox_delivery()).retain()
    assert not again.erased_anything  # idempotent: nothing left, and no second audit event
    assert await AuditEvent.count().where(AuditEvent.action == "retention_erased") == 1


async def test_an_opted_out_person_is_still_skipped_after_retention(client):
    from survey.services.contacts import ContactEvent, accept_contacts
    from survey.services.respondents import opt_out
    from survey.services.retention import erase_expired_contacts

    await surveyed_caller(client, phone=LAN_PHONE, external_id="call-1")
    assert await opt_out(phone=LAN_PHONE, source="link")
    await age("+84912345678", 100)
    assert (await erase_expired_contacts()).kept_for_opt_out == 1
    [outcome] = await accept_contacts([ContactEvent(
        source="switchboard", external_id="call-9", channel="call", unit="HN-BD", service="HOTLINE",
        occurred_at=datetime.now(UTC) - timedelta(minutes=5), phone=LAN_PHONE)])
    assert outcome.outcome == "skipped" and outcome.reason == "opted_out"


async def test_finished_jobs_past_the_period_lose_what_they_held(database):
    from survey.services.retention import erase_expired_contacts
    from survey.tables import Job

    long_ago = datetime.now(UTC) - timedelta(days=95)
    dead = Job(kind="send_invitation", payload={"invitation_id": 7, "token": "gAAAA-sealed"}, status="dead",
               due_at=long_ago, updated_at=long_ago, last_error="21211: The 'To' number +84912345678 is not valid")
    recent = Job(kind="send_invitation", payload={"invitation_id": 8, "token": "gAAAA-sealed"}, status="dead",
                 due_at=long_ago, updated_at=datetime.now(UTC), last_error="21211: +84912345679 is not valid")
    await Job.insert(dead, recent)
    summary = await erase_expired_contacts()
    assert summary.jobs == 1
    rows = {row["id"]: row for row in await Job.select(Job.id, Job.payload, Job.last_error)}
    payload = rows[dead.id]["payload"]
    assert (json.loads(payload) if isinstance(payload, str) else payload) == {"invitation_id": 7}
    assert "+84912345678" not in rows[dead.id]["last_error"] and "21211" in rows[dead.id]["last_error"]
    assert "+84912345679" in rows[recent.id]["last_error"]  # within the period: untouched
    assert (await erase_expired_contacts()).jobs == 0


async def test_requests_carried_out_before_the_period_forget_their_subject(database):
    from survey.services.retention import erase_expired_contacts
    from survey.services.rights import read_subject, record_request, rights_requests

    long_ago = datetime.now(UTC) - timedelta(days=120)
    done = await record_request("export", read_subject("0912 345 678"), handled_by="cli", now=long_ago, done=True)
    open_one = await record_request("correct", read_subject("0912 345 679"), handled_by="cli", now=long_ago)
    assert (await erase_expired_contacts()).rights_requests == 1
    lines = {line.id: line for line in await rights_requests()}
    assert not lines[done.id].subject_kept and lines[done.id].subject_masked == "+84 91* *** 678"
    assert lines[open_one.id].subject_kept  # not carried out yet: still needed
    assert (await erase_expired_contacts()).rights_requests == 0
