"""A data subject's rights on SQLite and PostgreSQL (Law 91/2025/QH15, Decree 356/2025): a request's due dates on
the working calendar (across a weekend, across Tết 2027), ``survey person export`` and ``survey person erase``
(answers kept, contact details gone, the person no longer found), and the administrators' page ``/staff/rights``
that records, acknowledges, exports and erases (only administrators may open it)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from test_outbox_worker import daytime, sandbox_delivery, worker_for  # also puts the project root on sys.path

from tests.support.staff import CSRF_INPUT, sign_in_as

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
LAN_PHONE = "0912 345 678"
LAN_E164 = "+84912345678"


async def cli(*args: str, input: str | None = None):
    from survey.cli import main

    return await asyncio.to_thread(CliRunner().invoke, main, list(args), input=input, catch_exceptions=False)


@pytest.fixture(autouse=True)
def fresh_calendar():
    from survey.services.working_calendar import forget_cached_calendar

    forget_cached_calendar()
    yield
    forget_cached_calendar()


async def surveyed_caller(client, *, phone: str | None = None, email: str | None = None, external_id: str,
                          overall: int = 5, comment: str = "", when: datetime | None = None) -> int:
    """A hotline caller (at ``when``, by default 10:00 today in Hà Nội: outside quiet hours) whose SMS or email went
    to the sandbox through the worker and who answered its link; returns the response id."""
    from delivery.tokens import new_token, token_hash
    from survey.db import run_sql
    from survey.services.contacts import ContactEvent, accept_contacts
    from survey.settings import get_settings
    from survey.tables import Invitation, Response

    now = when or daytime()
    [outcome] = await accept_contacts([ContactEvent(
        source="switchboard", external_id=external_id, channel="call", unit="HN-BD", service="HOTLINE",
        occurred_at=now - timedelta(minutes=30), language="vi", phone=phone, email=email, agent="agent-07")], now=now)
    assert outcome.outcome == "planned", outcome
    await run_sql("UPDATE job SET due_at = {} WHERE status = 'queued'", now - timedelta(seconds=1))
    assert await worker_for(sandbox_delivery(clock=lambda: now)).run_once() >= 1
    # answer the link the message carried (its token replaced by one the test knows)
    token = new_token(get_settings().token_length)
    await Invitation.update({Invitation.token_hash: token_hash(token, get_settings().secret_key),
                             Invitation.expires_at: datetime.now(UTC) + timedelta(days=7)}).where(
        Invitation.contact == outcome.contact_id)
    answers: dict[str, object] = {"overall": overall, "resolved": "yes"}
    if comment:
        answers["comment"] = comment
    reply = await client.post(f"/s/{token}", json={"answers": answers}, headers={"accept": "application/json"})
    assert reply.status_code == 200, reply.text
    [row] = await Response.select(Response.id).where(Response.invitation.contact == outcome.contact_id)
    return int(row["id"])


async def answers_of(response_id: int) -> dict[str, object]:
    from survey.tables import Answer

    rows = await Answer.select(Answer.question_id, Answer.value_number, Answer.value_text).where(
        Answer.response == response_id)
    return {r["question_id"]: r["value_number"] if r["value_number"] is not None else r["value_text"] for r in rows}


# --- due dates ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("received", "acknowledge_by", "complete_by"), [
    # a Friday afternoon: Monday and Tuesday are the two working days; fifteen end on Friday 25/12
    (datetime(2026, 12, 4, 15, 30, tzinfo=HCM), "2026-12-08T16:30:00+07:00", "2026-12-25T16:30:00+07:00"),
    # the Wednesday before Tết 2027 (Thursday 4/2 to Wednesday 10/2 off): counting starts on Thursday 11/2
    (datetime(2027, 2, 3, 10, 0, tzinfo=HCM), "2027-02-12T16:30:00+07:00", "2027-03-03T16:30:00+07:00"),
])
async def test_a_request_is_due_on_working_days_across_weekends_and_tet(database, received, acknowledge_by,
                                                                        complete_by):
    from survey.services.rights import read_subject, record_request

    line = await record_request("access", read_subject(LAN_PHONE), handled_by="test", now=received.astimezone(UTC))
    assert line.acknowledge_due.astimezone(HCM).isoformat() == acknowledge_by
    assert line.complete_due.astimezone(HCM).isoformat() == complete_by
    assert line.subject_masked == "+84 91* *** 678"
    assert not line.overdue(received) and line.overdue(line.complete_due + timedelta(minutes=1))


async def test_an_entered_day_off_moves_a_request_due_date(database):
    from survey.services.rights import read_subject, record_request
    from survey.services.working_calendar import add_calendar_day

    await add_calendar_day(datetime(2026, 12, 7).date(), "holiday", "Nghỉ bù")
    line = await record_request("erase", read_subject("lan.nt@example.vn"), handled_by="test",
                                now=datetime(2026, 12, 4, 15, 30, tzinfo=HCM))
    assert line.acknowledge_due.astimezone(HCM).isoformat() == "2026-12-09T16:30:00+07:00"


# --- export and erasure on the command line --------------------------------------------------------------------------


async def test_export_then_erase_keeps_the_answers_and_forgets_the_person(client, tmp_path):
    from survey.services.aggregates import verify
    from survey.services.rights import ERASED_COMMENT, read_subject
    from survey.tables import AuditEvent, FollowUp, Respondent, RightsRequest, SandboxMessage

    lan = await surveyed_caller(client, phone=LAN_PHONE, external_id="call-1", overall=1,
                                comment="Gọi lại cho tôi số 0912345678")
    other = await surveyed_caller(client, phone="0987 654 321", external_id="call-2", overall=5, comment="Tốt")
    assert await FollowUp.count() == 1 and await SandboxMessage.count() == 2
    before = await answers_of(lan)

    exported = await cli("person", "export", LAN_PHONE)
    assert exported.exit_code == 0, exported.output
    held = json.loads(exported.output)
    [person] = held["respondents"]
    assert person["phone"] == LAN_E164
    assert person["contacts"][0]["external_id"] == "call-1"
    assert person["contacts"][0]["invitation"]["status"] == "responded"
    [response] = held["responses"]
    assert {a["question"]: a["number"] or a["text"] for a in response["answers"]}["comment"] == \
        "Gọi lại cho tôi số 0912345678"
    assert response["follow_up_cases"][0]["status"] == "open"
    to_file = await cli("person", "export", "+84 912 345 678", "--output", str(tmp_path / "lan.json"))
    assert to_file.exit_code == 0 and json.loads((tmp_path / "lan.json").read_text())["responses"][0]["id"] == lan

    refused = await cli("person", "erase", LAN_PHONE, input="n\n")
    assert refused.exit_code == 1 and await Respondent.count() == 2  # not confirmed: nothing erased
    erased = await cli("person", "erase", LAN_PHONE, "--yes")
    assert erased.exit_code == 0, erased.output
    assert "1 comment(s) erased" in erased.output

    assert await answers_of(lan) == {**before, "comment": ERASED_COMMENT}  # ratings kept, the comment marked
    assert await answers_of(other) != {}
    assert await Respondent.count() == 1  # only the other caller
    assert await Respondent.count().where(Respondent.phone_hmac == read_subject(LAN_PHONE).hmac) == 0
    assert await SandboxMessage.count() == 1  # the other caller's message stays
    assert await verify() == []  # the kept counts still agree with the rows
    after = await cli("person", "export", LAN_PHONE)
    assert after.exit_code == 1 and "nobody is known by +84 91* *** 678" in after.output
    assert await cli("person", "erase", LAN_PHONE, "--yes") is not None

    requests = await RightsRequest.select(RightsRequest.kind, RightsRequest.subject_encrypted,
                                          RightsRequest.completed_at).order_by(RightsRequest.id)
    assert [r["kind"] for r in requests] == ["export", "export", "erase", "export", "erase"]
    assert all(r["completed_at"] is not None for r in requests)
    assert all(r["subject_encrypted"] == "" for r in requests)  # the erased subject is not kept with its requests
    actions = [r["action"] for r in await AuditEvent.select(AuditEvent.action).where(
        AuditEvent.action.is_in(["person_exported", "person_erased"])).order_by(AuditEvent.id)]
    assert actions == ["person_exported", "person_exported", "person_erased", "person_exported", "person_erased"]


async def test_an_opted_out_person_keeps_only_the_opt_out_after_erasure(client):
    from survey.services.contacts import ContactEvent, accept_contacts
    from survey.services.respondents import opt_out
    from survey.tables import Respondent

    await surveyed_caller(client, email="Lan.NT@example.vn", external_id="mail-1", comment="")
    assert await opt_out(email="lan.nt@example.vn", source="staff")
    erased = await cli("person", "erase", "lan.nt@example.vn", "--yes")
    assert erased.exit_code == 0 and "1 kept for the opt-out" in erased.output
    [row] = await Respondent.select()
    assert row["email_encrypted"] is None and row["email_hmac"] and row["opted_out_at"] is not None
    # contacted again: still skipped
    [outcome] = await accept_contacts([ContactEvent(
        source="switchboard", external_id="mail-2", channel="call", unit="HN-BD", service="HOTLINE",
        occurred_at=datetime.now(UTC) - timedelta(minutes=5), email="lan.nt@example.vn")])
    assert outcome.outcome == "skipped" and outcome.reason == "opted_out"


@pytest.mark.parametrize(("args", "message"), [
    (["person", "export", "not a phone"], "neither a phone number nor an email address"),
    (["person", "export", "0912 000 111"], "nobody is known by"),
    (["person", "erase", "nobody@example.vn", "--yes"], "nobody is known by"),
])
async def test_unknown_or_unreadable_people_are_refused_with_exit_code_1(database, args, message):
    result = await cli(*args)
    assert result.exit_code == 1 and message in result.output


# --- the administrators' page ---------------------------------------------------------------------------------------


async def form_token(client, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text[:300]
    return CSRF_INPUT.search(page.text).group(1)


@pytest.mark.parametrize("role", ["quality", "leader", "unit_manager"])
async def test_only_administrators_may_open_the_rights_page(client, role):
    await sign_in_as(client, role, "VN" if role != "unit_manager" else "HN")
    assert (await client.get("/staff/rights")).status_code == 403


async def test_administrators_record_acknowledge_export_and_erase_on_the_page(client):
    from survey.services.aggregates import verify
    from survey.tables import AuditEvent, Respondent, RightsRequest

    lan = await surveyed_caller(client, phone=LAN_PHONE, external_id="call-1", comment="Nhân viên nhiệt tình")
    await sign_in_as(client, "admin", "VN")
    page = await client.get("/staff/rights")
    assert page.status_code == 200 and 'action="/staff/rights"' in page.text

    token = await form_token(client, "/staff/rights")
    bad = await client.post("/staff/rights", data={"_csrf_token": token, "kind": "erase", "subject": "hello",
                                                   "note": ""}, follow_redirects=False)
    assert bad.status_code == 400 and "neither a phone number nor an email address" in bad.text
    assert await RightsRequest.count() == 0
    recorded = await client.post("/staff/rights", data={"_csrf_token": token, "kind": "erase", "subject": LAN_PHONE,
                                                        "note": "Đơn số 12/2026"}, follow_redirects=False)
    assert recorded.status_code == 303
    [request] = await RightsRequest.select(RightsRequest.id)
    request_id = request["id"]
    listed = await client.get("/staff/rights")
    assert f'data-request-id="{request_id}"' in listed.text and "+84 91* *** 678" in listed.text
    assert LAN_E164 not in listed.text and "0912 345 678" not in listed.text  # masked in the list

    token = await form_token(client, "/staff/rights")
    acknowledged = await client.post(f"/staff/rights/{request_id}/acknowledge", data={"_csrf_token": token},
                                     follow_redirects=False)
    assert acknowledged.status_code == 303
    assert (await RightsRequest.select(RightsRequest.acknowledged_at))[0]["acknowledged_at"] is not None

    download = await client.post(f"/staff/rights/{request_id}/export", data={"_csrf_token": token})
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    assert json.loads(download.content)["responses"][0]["id"] == lan

    confirm = await client.get(f"/staff/rights/{request_id}/erase")
    assert confirm.status_code == 200 and 'data-confirm="erase"' in confirm.text
    assert await Respondent.count() == 1  # asking to confirm erases nothing
    token = CSRF_INPUT.search(confirm.text).group(1)
    erased = await client.post(f"/staff/rights/{request_id}/erase", data={"_csrf_token": token},
                               follow_redirects=False)
    assert erased.status_code == 303
    assert await Respondent.count() == 0 and await answers_of(lan) != {}
    assert await verify() == []
    done = await client.get("/staff/rights")
    assert f'data-request-id="{request_id}" data-completed="true"' in done.text
    token = await form_token(client, "/staff/rights")
    again = await client.post(f"/staff/rights/{request_id}/export", data={"_csrf_token": token})
    assert again.status_code == 409 and "its subject was erased" in again.text
    missing = await client.post("/staff/rights/999/acknowledge", data={"_csrf_token": token}, follow_redirects=False)
    assert missing.status_code == 404 and "there is no request #999" in missing.text
    await client.post("/staff/rights", data={"_csrf_token": token, "kind": "correct", "subject": "lan@example.vn",
                                             "note": ""})
    [corrected] = await RightsRequest.select(RightsRequest.id).where(RightsRequest.kind == "correct")
    silent = await client.post(f"/staff/rights/{corrected['id']}/complete", data={"_csrf_token": token, "note": " "},
                               follow_redirects=False)
    assert silent.status_code == 400
    assert (await RightsRequest.select(RightsRequest.completed_at).where(
        RightsRequest.id == corrected["id"]))[0]["completed_at"] is None
    completed = await client.post(f"/staff/rights/{corrected['id']}/complete",
                                  data={"_csrf_token": token, "note": "Đã sửa email"}, follow_redirects=False)
    assert completed.status_code == 303
    actions = {r["action"] for r in await AuditEvent.select(AuditEvent.action)}
    assert {"rights_recorded", "rights_acknowledged", "person_exported", "person_erased", "rights_completed"} <= actions
