"""Contact events through POST /api/v1/contacts, as an integrator's system meets it (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


async def _key(source: str = "switchboard") -> str:
    from survey.services.apikeys import create_api_key

    key, _ = await create_api_key(source)
    return key


def _auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def _event(external_id: str = "call-1", **fields) -> dict:
    event = {
        "source": "switchboard", "external_id": external_id, "channel": "call", "unit": "HN-BD",
        "service": "HOTLINE", "occurred_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "phone": "0912 345 678", "language": "vi", "agent": "agent-07",
    }
    event.update(fields)
    return {k: v for k, v in event.items() if v is not None}


async def _counts() -> dict[str, int]:
    from survey.tables import Contact, Invitation, Job, Respondent

    return {t.__name__: await t.count() for t in (Contact, Respondent, Invitation, Job)}


def _local_hour(send_at: str) -> float:
    moment = datetime.fromisoformat(send_at).astimezone(HCM)
    return moment.hour + moment.minute / 60


# --- authentication ---------------------------------------------------------------------------------------------


async def test_a_request_without_a_valid_key_is_refused_and_writes_nothing(client):
    from survey.services.apikeys import create_api_key, revoke_api_key

    missing = await client.post("/api/v1/contacts", json=_event())
    assert missing.status_code == 401 and "Bearer" in missing.json()["detail"]
    wrong = await client.post("/api/v1/contacts", json=_event(), headers=_auth("sk_AAAAAAAA_" + "b" * 32))
    assert wrong.status_code == 401
    key, info = await create_api_key("switchboard")
    assert await revoke_api_key(info.prefix)
    revoked = await client.post("/api/v1/contacts", json=_event(), headers=_auth(key))
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    assert await _counts() == {"Contact": 0, "Respondent": 0, "Invitation": 0, "Job": 0}


async def test_a_key_reports_only_for_its_own_source(client):
    key = await _key("portal")
    reply = await client.post("/api/v1/contacts", json=_event(), headers=_auth(key))
    assert reply.status_code == 403
    assert "'portal'" in reply.json()["detail"] and "'switchboard'" in reply.json()["detail"]
    assert (await _counts())["Contact"] == 0


async def test_keys_are_stored_hashed(client):
    from survey.tables import ApiKey

    key = await _key()
    [row] = await ApiKey.select()
    assert key not in json.dumps(row, default=str)
    assert key.startswith(f"sk_{row['prefix']}_") and len(row["key_hash"]) == 64


# --- one event, a batch, idempotency ----------------------------------------------------------------------------


async def test_one_call_plans_an_sms_after_the_delay_outside_quiet_hours_with_its_invitation_and_job(client):
    from survey.tables import Contact, Invitation, Job

    key = await _key()
    event = _event()
    reply = await client.post("/api/v1/contacts", json=event, headers=_auth(key))
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["outcome"] == "planned" and body["channel"] == "sms" and body["reason"] is None
    assert body["duplicate"] is False and body["external_id"] == "call-1"
    send_at = datetime.fromisoformat(body["send_at"])
    assert send_at >= datetime.fromisoformat(event["occurred_at"]) + timedelta(minutes=10)
    assert 8 <= _local_hour(body["send_at"]) < 20
    [contact] = await Contact.select()
    assert contact["id"] == body["contact_id"] and contact["source_key"] == "switchboard:call-1"
    [invitation] = await Invitation.select()
    assert (invitation["contact"], invitation["channel"], invitation["status"]) == (contact["id"], "sms", "planned")
    assert invitation["token_hash"] is None  # the sender makes the token when it composes the message
    [job] = await Job.select()
    payload = json.loads(job["payload"]) if isinstance(job["payload"], str) else job["payload"]
    assert (job["kind"], job["status"], payload) == ("send_invitation", "queued", {"invitation_id": invitation["id"]})
    assert abs((job["due_at"] - send_at).total_seconds()) < 1


async def test_posting_the_same_event_again_returns_the_same_outcome_and_creates_nothing(client):
    key = await _key()
    event = _event()  # the very same event (another occurred_at would be another contact: 409)
    first = await client.post("/api/v1/contacts", json=event, headers=_auth(key))
    before = await _counts()
    again = await client.post("/api/v1/contacts", json=event, headers=_auth(key))
    assert again.status_code == 200
    assert {**first.json(), "duplicate": True} == again.json()
    assert await _counts() == before


async def test_a_batch_answers_each_event_in_order_and_repeats_are_duplicates(client):
    key = await _key()
    events = [_event(f"c-{i}", phone=f"09123450{i:02d}") for i in range(20)]
    reply = await client.post("/api/v1/contacts", json={"events": [*events, events[3]]}, headers=_auth(key))
    assert reply.status_code == 201, reply.text
    results = reply.json()["results"]
    assert [r["external_id"] for r in results] == [*(f"c-{i}" for i in range(20)), "c-3"]
    assert all(r["outcome"] == "planned" for r in results)
    assert [r["duplicate"] for r in results] == [False] * 20 + [True]
    assert results[-1]["contact_id"] == results[3]["contact_id"]
    assert await _counts() == {"Contact": 20, "Respondent": 20, "Invitation": 20, "Job": 20}
    again = await client.post("/api/v1/contacts", json={"events": events}, headers=_auth(key))
    assert again.status_code == 200 and all(r["duplicate"] for r in again.json()["results"])


async def test_a_batch_with_one_invalid_event_writes_nothing_and_names_the_event_and_field(client):
    key = await _key()
    events = [_event("ok-1"), _event("ok-2", unit="NOWHERE"), _event("ok-3", channel="sms")]
    reply = await client.post("/api/v1/contacts", json={"events": events}, headers=_auth(key))
    assert reply.status_code == 422
    errors = reply.json()["errors"]
    assert {(e["index"], e["field"]) for e in errors} == {(1, "unit"), (2, "channel")}
    assert "call, counter, online, email, fanpage" in next(e["message"] for e in errors if e["field"] == "channel")
    assert "HN-BD" in next(e["message"] for e in errors if e["field"] == "unit")  # the known units are named
    unnamed = {k: v for k, v in _event("b").items() if k != "external_id"}
    shape = await client.post("/api/v1/contacts", headers=_auth(key), json={"events": [_event("a"), unnamed]})
    assert shape.status_code == 422
    assert shape.json()["errors"][0] | {"message": ""} == {"index": 1, "field": "external_id", "message": ""}
    phone = await client.post("/api/v1/contacts", json=_event(phone="12"), headers=_auth(key))
    assert phone.status_code == 422 and phone.json()["errors"][0]["field"] == "phone"
    assert await _counts() == {"Contact": 0, "Respondent": 0, "Invitation": 0, "Job": 0}


@pytest.mark.parametrize("field", ["external_id", "agent", "phone", "email", "unit", "counter"])
async def test_a_nul_character_in_any_field_is_refused_naming_the_field_and_writes_nothing(client, field):
    key = await _key()
    values = {"external_id": "call-\x00-1", "agent": "Lan\x00", "phone": "0912\x00345678",
              "email": "an@\x00example.vn", "unit": "HN-BD\x00", "counter": "\x00"}
    reply = await client.post("/api/v1/contacts", json=_event(**{field: values[field]}), headers=_auth(key))
    assert reply.status_code == 422
    assert field in {e["field"] for e in reply.json()["errors"]}
    assert any("NUL" in e["message"] for e in reply.json()["errors"] if e["field"] == field)
    assert await _counts() == {"Contact": 0, "Respondent": 0, "Invitation": 0, "Job": 0}


@pytest.mark.parametrize("occurred_at", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+01:00",
                                         "0001-01-01T00:00:00", "1999-12-31T23:00:00+07:00"])
async def test_a_contact_time_outside_the_plausible_window_is_refused_and_writes_nothing(client, occurred_at):
    key = await _key()
    reply = await client.post("/api/v1/contacts", json=_event(occurred_at=occurred_at), headers=_auth(key))
    assert reply.status_code == 422
    [error] = reply.json()["errors"]
    assert error["field"] == "occurred_at" and occurred_at[:10] in error["message"]
    assert await _counts() == {"Contact": 0, "Respondent": 0, "Invitation": 0, "Job": 0}


@pytest.mark.parametrize(("start", "end", "named"), [("0001-01-01", "0001-01-02", "from"),
                                                     ("2026-01-01", "9999-12-31T23:59:59-12:00", "to")])
async def test_counts_by_decision_refuse_a_period_outside_the_dates_contacts_can_have(client, start, end, named):
    key = await _key()
    reply = await client.get("/api/v1/contacts/decisions", params={"from": start, "to": end}, headers=_auth(key))
    assert reply.status_code == 400
    assert reply.json()["detail"].startswith(f"{named}: ")


async def test_a_batch_over_the_limit_is_refused_naming_the_limit(client):
    key = await _key()
    reply = await client.post("/api/v1/contacts", json={"events": [_event(f"c{i}") for i in range(1001)]},
                              headers=_auth(key))
    assert reply.status_code == 413 and "1,000" in reply.json()["detail"]


# --- the decisions ----------------------------------------------------------------------------------------------


async def _post(client, key, event) -> dict:
    reply = await client.post("/api/v1/contacts", json=event, headers=_auth(key))
    assert reply.status_code in {200, 201}, reply.text
    return reply.json()


async def test_skips_say_why(client):
    from survey.services.respondents import opt_out
    from survey.tables import Invitation, SamplingRule, Service, Unit

    key = await _key()
    await opt_out(phone="0988 111 222", source="staff")
    assert (await _post(client, key, _event("o", phone="+84 988 111 222")))["reason"] == "opted_out"
    assert (await _post(client, key, _event("l", phone="(024) 3936 1234")))["reason"] == "landline_only"
    assert (await _post(client, key, _event("n", phone=None)))["reason"] == "no_contact_details"
    old = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    assert (await _post(client, key, _event("t", phone="0977 000 111", occurred_at=old)))["reason"] == "too_old"
    # surveyed by SMS after a call: the same person is not asked again through another channel
    assert (await _post(client, key, _event("q1", phone="0966 000 111", email="an@example.vn")))["outcome"] == "planned"
    portal = await _key("portal")
    later = _event("q2", source="portal", channel="online", service="ONLINE", phone=None, email="AN@example.vn")
    assert (await _post(client, portal, later))["reason"] == "quarantined"
    # a 0 % sampling rule for the unit's province and the service
    [unit] = await Unit.select(Unit.id).where(Unit.code == "HCM")
    [service] = await Service.select(Service.id).where(Service.code == "HOTLINE")
    await SamplingRule(unit=unit["id"], service=service["id"], channel="call", rate=0.0).save()
    await SamplingRule(unit=None, service=None, channel=None, rate=1.0).save()
    sampled_out = await _post(client, key, _event("s", unit="HCM-Q1", phone="0955 000 111"))
    assert sampled_out["reason"] == "not_sampled"
    assert (await _post(client, key, _event("s2", unit="HN-BD", phone="0955 000 222")))["outcome"] == "planned"
    assert await Invitation.count() == 2  # only the planned contacts have invitations
    decisions = await client.get("/api/v1/contacts/decisions", headers=_auth(key),
                                 params={"from": (datetime.now(UTC) - timedelta(days=7)).isoformat(),
                                         "to": (datetime.now(UTC) + timedelta(days=1)).isoformat()})
    assert decisions.status_code == 200
    body = decisions.json()
    assert body["planned"] == 2 and body["total"] == 8
    assert body["skipped"] == {"opted_out": 1, "landline_only": 1, "no_contact_details": 1, "too_old": 1,
                               "quarantined": 1, "not_sampled": 1}
    assert "en" in body["reasons"]["quarantined"] and "vi" in body["reasons"]["quarantined"]
    scoped = await client.get("/api/v1/contacts/decisions", headers=_auth(key),
                              params={"from": "2000-01-01", "to": "2100-01-01", "unit": "HCM"})
    assert scoped.json()["skipped"] == {"not_sampled": 1} and scoped.json()["planned"] == 0


@pytest.mark.parametrize(("local_occurred", "local_now", "expected_local"), [
    ((14, 0), (14, 1), (14, 10)),           # 10 minutes after the call
    ((19, 55), (19, 56), (8, 0)),           # would land at 20:05: waits for the morning
    ((23, 30), (23, 31), (8, 0)),           # at night: the morning after
])
async def test_the_send_time_respects_the_delay_and_quiet_hours(reference, local_occurred, local_now, expected_local):
    from survey.services.contacts import ContactEvent, accept_contacts

    day = datetime(2026, 11, 23, tzinfo=HCM)
    occurred = day.replace(hour=local_occurred[0], minute=local_occurred[1])
    now = day.replace(hour=local_now[0], minute=local_now[1])
    [outcome] = await accept_contacts([ContactEvent(source="switchboard", external_id="x", channel="call",
                                                    unit="HN-BD", occurred_at=occurred, phone="0912345678")],
                                      now=now)
    local = outcome.send_at.astimezone(HCM)
    assert (local.hour, local.minute) == expected_local
    assert local.date() >= occurred.date()


async def test_the_database_holds_no_plaintext_phone_or_email(client):
    key = await _key()
    await _post(client, key, _event("p", phone="0912 345 678", email="Nguyen.Van.An@example.vn"))
    text = " ".join([json.dumps(await _raw(table), default=str) for table in ("respondent", "contact", "invitation",
                                                                               "job")])
    assert "gAAAA" in text  # the details are there, encrypted (Fernet)
    for plain in ("912345678", "0912 345 678", "nguyen.van.an@example.vn", "Nguyen.Van.An"):
        assert plain not in text


async def _raw(table: str) -> list:
    from survey.tables import Contact

    return await Contact.raw(f"SELECT * FROM {table}")
