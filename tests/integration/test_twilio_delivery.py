"""SMS through the real ``twilio`` SDK to a local stub of Twilio's Messages API, and Twilio's status callbacks
posted to the app with real signatures (and forged ones), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import timedelta

import pytest
from test_outbox_worker import daytime, invitation, jobs, plan, worker_for  # also puts the project root on sys.path
from twilio.request_validator import RequestValidator

from tests.support.twilio_stub import TwilioStub

SERVICE_SID = "MG" + "0" * 32
CALLBACK_URL = "http://testserver.local/webhooks/twilio/status"


@pytest.fixture
def stub():
    with TwilioStub() as running:
        yield running


@pytest.fixture
def twilio_settings(stub):
    from survey.settings import get_settings

    return replace(get_settings(), twilio_account_sid=stub.account_sid, twilio_auth_token=stub.auth_token,
                   twilio_messaging_service_sid=SERVICE_SID, twilio_api_base_url=stub.base_url,
                   worker_in_process=False)


@pytest.fixture
def twilio_delivery(twilio_settings):
    from survey.services.sending import delivery_from_settings

    return delivery_from_settings(twilio_settings, clock=daytime, sms_rate=1000.0)


@pytest.fixture
async def app_client(reference, twilio_settings):
    from litestar.testing import AsyncTestClient

    from survey.app import create_app

    async with AsyncTestClient(app=create_app(twilio_settings), base_url="http://testserver.local") as client:
        yield client


def signed(auth_token: str, params: dict[str, str], url: str = CALLBACK_URL) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(auth_token).compute_signature(url, params)}


async def post_status(client, stub, params, *, headers=None):
    headers = signed(stub.auth_token, params) if headers is None else headers
    answer = await client.post("/webhooks/twilio/status", data=params, headers=headers)
    await asyncio.sleep(0.05)  # the update runs after the answer
    return answer


async def test_invitations_go_out_through_the_twilio_sdk_with_a_status_callback(reference, stub, twilio_delivery):
    ids = await plan(2)
    try:
        assert await worker_for(twilio_delivery).run_once() == 2
    finally:
        await twilio_delivery.aclose()
    assert sorted(m["To"] for m in stub.messages) == ["+84912000000", "+84912000001"]
    for message in stub.messages:
        assert message["MessagingServiceSid"] == SERVICE_SID
        assert message["StatusCallback"] == CALLBACK_URL
        assert message["Body"].startswith("BHXH VN: ") and "http://testserver.local/s/" in message["Body"]
        assert "http://testserver.local/o/" in message["Body"]
    for invitation_id in ids:
        row = await invitation(invitation_id)
        assert row["status"] == "sent" and row["provider_message_id"].startswith("SM")


async def test_twilio_errors_become_outcomes_opt_out_failure_and_retry(reference, stub, twilio_delivery):
    from survey.tables import Respondent

    opted, landline, busy = await plan(3)
    stub.errors_for["+84912000000"] = (21610, 400)
    stub.errors_for["+84912000001"] = (21614, 400)
    stub.errors_for["+84912000002"] = (20429, 429)
    try:
        assert await worker_for(twilio_delivery).run_once() == 3
    finally:
        await twilio_delivery.aclose()

    row = await invitation(opted)
    assert row["status"] in ("skipped", "failed") and row["skip_reason"] == "opted_out"
    person = await Respondent.select(Respondent.opted_out_at, Respondent.opt_out_source).where(
        Respondent.id == (await _respondent_of(opted))).first()
    assert person["opted_out_at"] is not None and person["opt_out_source"] == "twilio"

    row = await invitation(landline)
    assert row["status"] == "failed" and row["skip_reason"] == "not_mobile"
    assert "21614" in row["status_history"][-1]["detail"]

    assert (await invitation(busy))["status"] == "planned"
    [retried] = [j for j in await jobs("send_invitation") if j["payload"]["invitation_id"] == busy]
    assert retried["status"] == "queued" and retried["attempts"] == 1 and "20429" in retried["last_error"]
    assert stub.messages == []


async def test_a_providers_error_quoting_the_number_is_kept_masked(reference, stub, twilio_delivery):
    [refused, busy] = await plan(2)
    stub.errors_for["+84912000000"] = (21211, 400)
    stub.errors_for["+84912000001"] = (20429, 429)
    # the stub's errors quote the number, as Twilio's do ("The 'To' number +84... is not a valid phone number")
    try:
        assert await worker_for(twilio_delivery).run_once() == 2
    finally:
        await twilio_delivery.aclose()
    detail = (await invitation(refused))["status_history"][-1]["detail"]
    assert "21211" in detail and "[…]" in detail and "84912000000" not in detail
    [retried] = [j for j in await jobs("send_invitation") if j["payload"]["invitation_id"] == busy]
    assert "20429" in retried["last_error"] and "8491200000" not in retried["last_error"]


async def _respondent_of(invitation_id: int) -> int:
    from survey.tables import Invitation

    row = await Invitation.select(Invitation.contact.respondent.as_alias("respondent")).where(
        Invitation.id == invitation_id).first()
    return row["respondent"]


async def test_status_callbacks_are_signed_idempotent_and_never_go_backwards(app_client, stub, twilio_delivery):
    [invitation_id] = await plan(1)
    try:
        await worker_for(twilio_delivery).run_once()
    finally:
        await twilio_delivery.aclose()
    sid = (await invitation(invitation_id))["provider_message_id"]
    base = {"AccountSid": stub.account_sid, "MessageSid": sid, "To": "+84912000000"}

    # unsigned and forged callbacks: 403, nothing changes
    delivered = {**base, "MessageStatus": "delivered"}
    assert (await post_status(app_client, stub, delivered, headers={})).status_code == 403
    forged = signed("not-the-auth-token", delivered)
    assert (await post_status(app_client, stub, delivered, headers=forged)).status_code == 403
    other_url = signed(stub.auth_token, delivered, url="http://evil.example/webhooks/twilio/status")
    assert (await post_status(app_client, stub, delivered, headers=other_url)).status_code == 403
    tampered = signed(stub.auth_token, delivered)
    answer = await post_status(app_client, stub, {**delivered, "MessageStatus": "failed"}, headers=tampered)
    assert answer.status_code == 403
    assert (await invitation(invitation_id))["status"] == "sent"

    # a real one applies; a repeat and a late "sent" change nothing; a failure after delivery is ignored
    assert (await post_status(app_client, stub, delivered)).status_code == 204
    row = await invitation(invitation_id)
    assert row["status"] == "delivered"
    history = len(row["status_history"])
    assert (await post_status(app_client, stub, delivered)).status_code == 204
    assert (await post_status(app_client, stub, {**base, "MessageStatus": "sent"})).status_code == 204
    undelivered = {**base, "MessageStatus": "undelivered", "ErrorCode": "30005"}
    assert (await post_status(app_client, stub, undelivered)).status_code == 204
    row = await invitation(invitation_id)
    assert row["status"] == "delivered" and len(row["status_history"]) == history


async def test_callback_errors_fail_the_invitation_and_21610_opts_the_person_out(app_client, stub, twilio_delivery):
    from survey.tables import Respondent

    unreachable, stopped = await plan(2)
    try:
        await worker_for(twilio_delivery).run_once()
    finally:
        await twilio_delivery.aclose()
    for invitation_id, code in ((unreachable, "30003"), (stopped, "21610")):
        sid = (await invitation(invitation_id))["provider_message_id"]
        params = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": code}
        assert (await post_status(app_client, stub, params)).status_code == 204
    row = await invitation(unreachable)
    assert row["status"] == "failed" and row["skip_reason"] == "undeliverable"
    row = await invitation(stopped)
    assert row["status"] == "failed" and row["skip_reason"] == "opted_out"
    person = await Respondent.select(Respondent.opt_out_source).where(
        Respondent.id == await _respondent_of(stopped)).first()
    assert person["opt_out_source"] == "twilio"


async def test_a_callback_that_arrives_before_the_send_is_committed_is_applied_later(app_client, stub,
                                                                                     twilio_delivery):
    from survey.db import run_sql as execute

    [invitation_id] = await plan(1)
    params = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "delivered"}
    assert (await post_status(app_client, stub, params)).status_code == 204
    [queued] = await jobs("twilio_status")
    assert queued["status"] == "queued" and queued["payload"]["params"]["MessageSid"] == params["MessageSid"]

    # the send commits (here: by hand, with that message id), then the queued callback applies
    await execute("UPDATE invitation SET status = 'sent', provider_message_id = {} WHERE id = {}",
                  params["MessageSid"], invitation_id)
    await execute("UPDATE job SET due_at = {} WHERE kind = 'twilio_status'", daytime())
    await execute("UPDATE job SET status = 'done' WHERE kind = 'send_invitation'")
    try:
        assert await worker_for(twilio_delivery).run_once() == 1
    finally:
        await twilio_delivery.aclose()
    assert (await invitation(invitation_id))["status"] == "delivered"
    assert [j["status"] for j in await jobs("twilio_status")] == ["done"]


# --- a send whose outcome was never committed -------------------------------------------------------------------


def link_token(body: str) -> str:
    return re.search(r"/s/([0-9A-Za-z]+)", body).group(1)


async def test_a_send_whose_outcome_was_never_committed_is_found_at_twilio_not_sent_again(reference, stub,
                                                                                          twilio_delivery):
    from delivery.tokens import token_hash
    from survey.crypto import cipher
    from survey.services.outbox import claim, finish
    from survey.services.sending import prepare_sends, send_invitation
    from survey.settings import get_settings

    [invitation_id] = await plan(1)
    now = daytime()
    [job] = await claim("victim", limit=10, lease_seconds=30, now=now, prepare=prepare_sends)
    prepared = await invitation(invitation_id)
    assert prepared["status"] == "planned" and prepared["token_hash"]  # the link exists before anything is sent
    try:
        orphaned = await send_invitation(job, twilio_delivery)  # Twilio accepts it; the worker dies before finish()
        assert orphaned.state == "done" and len(stub.messages) == 1
        [taken] = await claim("survivor", limit=10, lease_seconds=30, now=now + timedelta(seconds=31),
                              prepare=prepare_sends)
        assert taken.attempts == 2 and taken.payload["token"] == job.payload["token"]
        await finish([await send_invitation(taken, twilio_delivery)])
    finally:
        await twilio_delivery.aclose()

    assert len(stub.messages) == 1 and stub.list_requests == 1
    row = await invitation(invitation_id)
    assert row["status"] == "sent" and row["provider_message_id"] == stub.resources[0]["sid"]
    assert "found at the provider" in row["status_history"][-1]["detail"]
    token = link_token(stub.messages[0]["Body"])
    assert token_hash(token, get_settings().secret_key) == row["token_hash"] == prepared["token_hash"]
    [done] = await jobs("send_invitation")
    assert done["status"] == "done" and done["payload"] == {"invitation_id": invitation_id}  # no token left behind
    [reminder] = await jobs("send_reminder")
    assert cipher().decrypt(reminder["payload"]["token"]) == token  # the reminder carries the same link


async def test_a_timed_out_send_that_reached_twilio_is_not_sent_again_by_the_retry(reference, stub,
                                                                                   twilio_delivery):
    from survey.db import run_sql as execute

    [invitation_id] = await plan(1)
    twilio_delivery.channels["sms"].timeout = 0.2
    stub.latency = 0.5  # Twilio accepts the message after the channel has given up
    try:
        assert await worker_for(twilio_delivery).run_once() == 1
        [job] = await jobs("send_invitation")
        assert job["status"] == "queued" and "Timeout" in job["last_error"]
        await asyncio.sleep(0.5)
        stub.latency = 0.0
        assert len(stub.messages) == 1
        await execute("UPDATE job SET due_at = {}", daytime() - timedelta(seconds=1))
        assert await worker_for(twilio_delivery).run_once() == 1
    finally:
        await twilio_delivery.aclose()
    assert len(stub.messages) == 1
    row = await invitation(invitation_id)
    assert row["status"] == "sent" and row["provider_message_id"] == stub.resources[0]["sid"]
