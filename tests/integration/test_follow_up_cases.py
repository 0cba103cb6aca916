"""The follow-up loop end to end on SQLite and PostgreSQL, with a real SMTP server (aiosmtpd on loopback): a case
opened by an unhappy answer, its unit emailed, the person's phone revealed (and audited), the statuses in order
with a comment on each, closing refused without its outcome and note, an overdue case escalated to the parent
unit, a case opened by hand; the queue and the JSON API show the same cases."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from test_outbox_worker import worker_for  # also puts the project root on sys.path
from test_report_schedules import mail_delivery

from tests.support.smtp_server import SMTPServer
from tests.support.staff import CSRF_INPUT, sign_in_as

BD_MAILBOX = "ba-dinh@bhxh.example.vn"
HN_MAILBOX = "ha-noi@bhxh.example.vn"


@pytest.fixture
def smtp():
    with SMTPServer() as server:
        yield server


@pytest.fixture
async def mailboxes(reference):
    from survey.tables import Unit

    await Unit.update({Unit.email: BD_MAILBOX}).where(Unit.code == "HN-BD")
    await Unit.update({Unit.email: HN_MAILBOX}).where(Unit.code == "HN")


async def unhappy_caller(client) -> int:
    """A hotline caller of Ba Đình (phone given) who answers the SMS link with the lowest overall score."""
    from delivery.tokens import new_token, token_hash
    from survey.services.apikeys import create_api_key
    from survey.settings import get_settings
    from survey.tables import FollowUp, Invitation, Job

    key, _ = await create_api_key("switchboard")
    event = {"source": "switchboard", "external_id": "call-77", "channel": "call", "unit": "HN-BD",
             "service": "HOTLINE", "occurred_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
             "phone": "0912 345 678", "language": "vi", "agent": "agent-07"}
    reply = await client.post("/api/v1/contacts", json=event, headers={"authorization": f"Bearer {key}"})
    assert reply.status_code in (200, 201, 202), reply.text
    # the link the SMS would carry (its sending is another story)
    await Job.delete().where(Job.kind == "send_invitation")
    token = new_token(get_settings().token_length)
    link = {Invitation.token_hash: token_hash(token, get_settings().secret_key), Invitation.status: "sent",
            Invitation.expires_at: datetime.now(UTC) + timedelta(days=7)}
    await Invitation.update(link, force=True)
    answers = {"overall": 1, "resolved": "yes", "comment": "Tổng đài hướng dẫn sai thủ tục"}
    reply = await client.post(f"/s/{token}", json={"answers": answers}, headers={"accept": "application/json"})
    assert reply.status_code == 200, reply.text
    [case] = await FollowUp.select(FollowUp.id)
    return int(case["id"])


async def form_token(client, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text[:300]
    return CSRF_INPUT.search(page.text).group(1)


async def post(client, path: str, page: str, **fields):
    token = await form_token(client, page)
    return await client.post(path, data={"_csrf_token": token, **fields}, follow_redirects=False)


async def journal(case_id: int) -> list[str]:
    from survey.tables import FollowUp

    [row] = await FollowUp.select(FollowUp.notes).where(FollowUp.id == case_id)
    notes = row["notes"] if isinstance(row["notes"], list) else json.loads(row["notes"])
    return [entry["action"] for entry in notes]


async def test_a_case_is_opened_notified_worked_and_closed_with_its_outcome(client, mailboxes, smtp):
    from survey.tables import AuditEvent, FollowUp

    case_id = await unhappy_caller(client)
    delivery = mail_delivery(smtp)
    assert await worker_for(delivery).run_once() == 1  # the case_email job
    [mail] = smtp.messages
    assert mail["To"] == BD_MAILBOX and f"#{case_id}" in mail["Subject"]
    assert f"/staff/follow-ups/{case_id}" in mail.get_body(("plain",)).get_content()
    assert await journal(case_id) == ["opened", "notified"]

    await sign_in_as(client, "quality", "HN-BD")
    queue = await client.get("/staff/follow-ups")
    assert f'data-case-id="{case_id}"' in queue.text
    page = await client.get(f"/staff/follow-ups/{case_id}")
    assert page.status_code == 200 and 'data-status="open"' in page.text
    assert "0912" not in page.text  # the phone only on request

    revealed = await post(client, f"/staff/follow-ups/{case_id}/reveal", f"/staff/follow-ups/{case_id}")
    assert revealed.status_code == 200 and "+84912345678" in revealed.text
    assert revealed.headers["cache-control"] == "no-store"
    assert await AuditEvent.count().where(AuditEvent.action == "contact_revealed") == 1

    # the statuses in order: not straight from open to closed
    skipped = await post(client, f"/staff/follow-ups/{case_id}/status", f"/staff/follow-ups/{case_id}", to="closed",
                         outcome="Called back", root_cause="other", resolved="yes", note="Explained")
    assert skipped.status_code == 409 and "next status is in_progress" in skipped.text
    silent = await post(client, f"/staff/follow-ups/{case_id}/status", f"/staff/follow-ups/{case_id}",
                        to="in_progress", comment="  ")
    assert silent.status_code == 400 and "comment is required" in silent.text
    started = await post(client, f"/staff/follow-ups/{case_id}/status", f"/staff/follow-ups/{case_id}",
                         to="in_progress", comment="Đang gọi lại")
    assert started.status_code == 303

    # closing needs an outcome, a root cause, resolved yes/no and a note
    for missing, fields in [
        ("outcome", {"root_cause": "other", "resolved": "yes", "note": "Đã giải thích"}),
        ("note", {"outcome": "Đã gọi lại", "root_cause": "other", "resolved": "yes"}),
        ("root_cause", {"outcome": "Đã gọi lại", "root_cause": "weather", "resolved": "yes", "note": "x"}),
        ("resolved", {"outcome": "Đã gọi lại", "root_cause": "other", "note": "x"}),
    ]:
        refused = await post(client, f"/staff/follow-ups/{case_id}/status", f"/staff/follow-ups/{case_id}",
                             to="closed", **fields)
        assert refused.status_code == 400, missing
        assert 'aria-invalid="true"' in refused.text, missing
        assert (await FollowUp.select(FollowUp.status).where(FollowUp.id == case_id))[0]["status"] == "in_progress"
    closed = await post(client, f"/staff/follow-ups/{case_id}/status", f"/staff/follow-ups/{case_id}", to="closed",
                        outcome="Đã gọi lại, hướng dẫn lại thủ tục", root_cause="other", resolved="yes",
                        note="Người dân hài lòng")
    assert closed.status_code == 303
    [row] = await FollowUp.select().where(FollowUp.id == case_id)
    assert (row["status"], row["resolved"], row["root_cause"]) == ("closed", True, "other")
    assert row["closed_at"] is not None
    assert await journal(case_id) == ["opened", "notified", "revealed", "status", "closed"]
    again = await post(client, f"/staff/follow-ups/{case_id}/status", f"/staff/follow-ups/{case_id}",
                       to="in_progress", comment="reopen")
    assert again.status_code == 409 and "stays closed" in again.text


async def test_an_overdue_case_escalates_once_to_the_parent_unit(client, mailboxes, smtp):
    from survey.services.followups import escalate_overdue
    from survey.tables import FollowUp

    case_id = await unhappy_caller(client)
    delivery = mail_delivery(smtp)
    await worker_for(delivery).run_once()
    [row] = await FollowUp.select(FollowUp.due_at).where(FollowUp.id == case_id)
    assert await escalate_overdue(row["due_at"] - timedelta(minutes=1)) == 0  # not yet due
    later = row["due_at"] + timedelta(minutes=1)
    # two workers at once: one escalates it, once
    assert sorted(await asyncio.gather(escalate_overdue(later), escalate_overdue(later))) == [0, 1]
    assert await escalate_overdue(row["due_at"] + timedelta(hours=5)) == 0  # once
    assert await worker_for(mail_delivery(smtp, clock=lambda: later)).run_once() == 1
    assert [m["To"] for m in smtp.messages] == [BD_MAILBOX, HN_MAILBOX]
    assert "quá hạn" in smtp.messages[1]["Subject"].lower() or "overdue" in smtp.messages[1]["Subject"].lower()
    assert await journal(case_id) == ["opened", "notified", "escalated", "notified"]

    await sign_in_as(client, "quality", "HN")  # the parent unit sees it, marked overdue
    queue = await client.get("/staff/follow-ups?overdue=1")
    assert f'data-case-id="{case_id}"' in queue.text and 'class="overdue"' in queue.text


async def test_a_case_is_opened_by_hand_and_the_api_lists_the_same_cases(client, mailboxes, smtp):
    from survey.services.apikeys import create_api_key
    from tests.support.responses import add_counter_responses

    await add_counter_responses("HN-BD", 1)
    from survey.tables import Response

    [response] = await Response.select(Response.id)
    await sign_in_as(client, "quality", "HN-BD")
    opened = await post(client, f"/staff/responses/{response['id']}/follow-up", f"/staff/responses/{response['id']}",
                        comment="Người dân gọi lại tổng đài phàn nàn")
    assert opened.status_code == 303
    case_path = opened.headers["location"].split("?")[0]
    case_id = int(case_path.rsplit("/", 1)[1])
    twice = await post(client, f"/staff/responses/{response['id']}/follow-up", f"/staff/responses/{response['id']}",
                       comment="again")
    assert twice.status_code == 409 and f"already has case #{case_id}" in twice.text

    key, _ = await create_api_key("crm")
    listed = await client.get("/api/v1/follow-ups", headers={"authorization": f"Bearer {key}"})
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] == 1 and body["cases"][0]["id"] == case_id and body["cases"][0]["reasons"] == ["manual"]
    one = await client.get(f"/api/v1/follow-ups/{case_id}", headers={"authorization": f"Bearer {key}"})
    assert [e["action"] for e in one.json()["journal"]] == ["opened"]
    assert "phone" not in one.text
    missing = await client.get("/api/v1/follow-ups/999999", headers={"authorization": f"Bearer {key}"})
    assert missing.status_code == 404
    bad = await client.get("/api/v1/follow-ups?status=lost", headers={"authorization": f"Bearer {key}"})
    assert bad.status_code == 400 and "status must be" in bad.json()["detail"]


async def test_a_case_outside_the_users_units_is_not_found(client, mailboxes):
    case_id = await unhappy_caller(client)
    await sign_in_as(client, "unit_manager", "HCM")  # quality, leader and admin see every unit
    assert (await client.get(f"/staff/follow-ups/{case_id}")).status_code == 404
    assert f'data-case-id="{case_id}"' not in (await client.get("/staff/follow-ups")).text


async def test_the_sla_counts_closing_within_the_working_hour_and_the_median_working_time(reference):
    from test_staff_responses import add_response

    from survey.services.followups import WORKING_TIMEZONE, sla_figures
    from survey.tables import FollowUp

    def local(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=WORKING_TIMEZONE)

    cases = [  # opened, due, closed
        ("2026-11-30 09:00", "2026-11-30 10:00", "2026-11-30 09:40"),  # on time, 40 working minutes
        ("2026-11-27 16:10", "2026-11-30 08:10", "2026-11-30 08:30"),  # late, 20 + 60 working minutes
        ("2026-11-30 13:00", "2026-11-30 14:00", None),  # still open after its due time
    ]
    for opened, due, closed in cases:
        response = await add_response("HN-BD", overall=1)
        await FollowUp(response=response, unit=(await unit_id("HN-BD")), status="closed" if closed else "open",
                       created_at=local(opened), due_at=local(due),
                       closed_at=local(closed) if closed else None).save()
    [row] = await sla_figures("/VN/", local("2026-11-01 00:00"), local("2026-12-01 00:00"),
                              now=local("2026-12-01 09:00"))
    assert (row.opened, row.closed, row.on_time, row.open, row.overdue) == (3, 2, 1, 1, 2)
    assert row.median_minutes_to_close == 60.0
    assert row.ci is not None and row.ci[0] < 1 / 3 < row.ci[1]
    [province] = await sla_figures("/VN/", local("2026-11-01 00:00"), local("2026-12-01 00:00"), by_level=1,
                                   now=local("2026-12-01 09:00"))
    assert province.unit_code == "HN" and province.opened == 3


async def unit_id(code: str) -> int:
    from survey.tables import Unit

    return (await Unit.select(Unit.id).where(Unit.code == code).first())["id"]
