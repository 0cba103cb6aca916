"""The outbox and its worker on SQLite and PostgreSQL: contact events become sent invitations in the sandbox,
failures back off and end as dead letters that staff can retry, leases are taken over, quiet hours wait,
and the token bucket holds the send rate."""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.sandbox import sandbox_messages
from tests.support.staff import CSRF_INPUT, sign_in_as

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
async def client(reference):
    """The app without its in-process worker: these tests run workers themselves, on a clock they choose."""
    from dataclasses import replace

    from litestar.testing import AsyncTestClient

    from survey.app import create_app
    from survey.settings import get_settings

    app = create_app(replace(get_settings(), worker_in_process=False))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as test_client:
        yield test_client


def daytime() -> datetime:
    """10:00 today in Hà Nội (outside quiet hours), as UTC: the worker's clock in these tests."""
    return datetime.now(HCM).replace(hour=10, minute=0, second=0, microsecond=0).astimezone(UTC)


async def plan(count: int, *, channel: str = "sms", language: str = "vi", start: int = 0,
               now: datetime | None = None, due: datetime | None = None) -> list[int]:
    """Post ``count`` contact events through the contacts service; make their jobs due at ``due``.

    Returns the invitation ids in order.
    """
    from survey.db import run_sql as execute
    from survey.services.contacts import ContactEvent, accept_contacts
    from survey.tables import Invitation

    now = now or daytime()
    events = []
    for i in range(start, start + count):
        events.append(ContactEvent(
            source="switchboard", external_id=f"c-{i}", channel="call", unit="HN-BD", service="HOTLINE",
            occurred_at=now - timedelta(minutes=30), language=language,
            phone=f"0912{i:06d}" if channel == "sms" else None,
            email=f"nguoi.{i}@example.vn" if channel == "email" else None,
        ))
    outcomes = []
    for first in range(0, len(events), 1000):
        outcomes += await accept_contacts(events[first : first + 1000], now=now)
    assert all(o.outcome == "planned" and o.channel == channel for o in outcomes), outcomes[:3]
    await execute("UPDATE job SET due_at = {}", due or now - timedelta(seconds=1))
    rows = await Invitation.select(Invitation.id).where(
        Invitation.contact.is_in([o.contact_id for o in outcomes])).order_by(Invitation.id)
    return [row["id"] for row in rows]


def worker_for(delivery, **options):
    from survey.worker import Worker

    return Worker(delivery, worker_id=options.pop("worker_id", "test-worker"), **options)


def sandbox_delivery(clock=None, **rates):
    from survey.services.sending import delivery_from_settings

    return delivery_from_settings(clock=clock or daytime, sms_rate=rates.get("sms", 1000.0),
                                  email_rate=rates.get("email", 1000.0))


async def invitation(invitation_id: int) -> dict:
    from survey.tables import Invitation

    row = await Invitation.select().where(Invitation.id == invitation_id).first()
    history = row["status_history"]
    row["status_history"] = json.loads(history) if isinstance(history, str) else history
    return row


async def jobs(kind: str | None = None) -> list[dict]:
    from survey.tables import Job

    query = Job.select().order_by(Job.id)
    if kind:
        query = query.where(Job.kind == kind)
    rows = await query
    for row in rows:
        if isinstance(row["payload"], str):
            row["payload"] = json.loads(row["payload"])
    return rows


async def sign_in_admin(client) -> None:
    await sign_in_as(client, "admin", "VN", username="quantri")


# --- the whole path -------------------------------------------------------------------------------------------


async def test_contact_events_become_sent_invitations_in_the_sandbox_and_their_links_open(client):
    sms = await plan(2, channel="sms")
    email = await plan(1, channel="email", start=10, language="en")
    worker = worker_for(sandbox_delivery())
    assert await worker.run_once() == 3

    for invitation_id in [*sms, *email]:
        row = await invitation(invitation_id)
        assert row["status"] == "sent" and row["sent_at"] is not None
        assert row["provider_message_id"].startswith("SB") and row["token_hash"]
        assert row["reminder_state"] == "scheduled"
        assert row["status_history"][-1]["status"] == "sent"
    messages = {m["to_address"]: m for m in await sandbox_messages()}
    assert sorted(messages) == ["+84912000000", "+84912000001", "nguoi.10@example.vn"]
    first = messages["+84912000000"]
    assert first["channel"] == "sms" and first["invitation"] == sms[0]
    assert first["body_text"].startswith("BHXH VN")
    assert first["encoding"] == "gsm7" and first["segments"] == 1  # unaccented in auto mode: one GSM-7 segment
    mail = messages["nguoi.10@example.vn"]
    assert mail["channel"] == "email" and mail["subject"] and "<html" in mail["body_html"]

    # every send job is done, and each sent invitation waits for its one reminder
    assert {j["status"] for j in await jobs("send_invitation")} == {"done"}
    reminders = await jobs("send_reminder")
    assert len(reminders) == 3 and all(j["status"] == "queued" for j in reminders)
    assert all("token" in j["payload"] and len(j["payload"]["token"]) > 40 for j in reminders)  # encrypted, not plain

    link = re.search(r"http://testserver\.local(/s/[0-9A-Za-z]+)", first["body_text"]).group(1)
    page = await client.get(link)
    assert page.status_code == 200
    assert (await invitation(sms[0]))["status"] == "opened"

    # the staff page shows them, newest first, with the link clickable and the segments
    await sign_in_admin(client)
    sandbox = await client.get("/staff/sandbox")
    assert sandbox.status_code == 200
    assert f'href="http://testserver.local{link}"' in sandbox.text
    newest_first = sorted(messages.values(), key=lambda m: m["id"], reverse=True)
    positions = [sandbox.text.index(f'data-message-id="{m["id"]}"') for m in newest_first]
    assert positions == sorted(positions)
    assert "GSM7" in sandbox.text


async def test_the_sandbox_and_outbox_pages_need_a_signed_in_member_of_staff(client):
    for path in ("/staff/sandbox", "/staff/outbox"):
        answer = await client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/staff/login")


async def test_a_job_is_sent_once_even_when_claimed_twice(reference):
    """A second job for an invitation already sent (a re-queued duplicate) sends nothing."""
    from survey.services.outbox import enqueue
    from survey.tables import SandboxMessage

    [invitation_id] = await plan(1)
    await enqueue("send_invitation", {"invitation_id": invitation_id}, due_at=daytime() - timedelta(seconds=1))
    worker = worker_for(sandbox_delivery())
    assert await worker.run_once() == 2
    assert await SandboxMessage.count() == 1
    notes = [j["last_error"] for j in await jobs("send_invitation")]
    assert "nothing to send: the invitation is sent" in notes


# --- failures, backoff, dead letters -----------------------------------------------------------------------------


class FailingChannel:
    name = "failing"

    def __init__(self) -> None:
        self.calls = 0

    async def send(self, message):
        from delivery.channels import DeliveryResult

        self.calls += 1
        return DeliveryResult.failed("retry", 503, "Service Unavailable")


async def test_failures_back_off_with_jitter_then_go_dead_and_staff_retry_them(client):
    from delivery.rules import next_allowed_time
    from survey.db import run_sql as execute

    [invitation_id] = await plan(1)
    await execute("UPDATE job SET max_attempts = 3")
    clock = [daytime()]
    delivery = sandbox_delivery(clock=lambda: clock[0])
    failing = FailingChannel()
    delivery.channels = {**delivery.channels, "sms": failing}
    worker = worker_for(delivery)

    delays = []
    for attempt in (1, 2):
        assert await worker.run_once() == 1
        [job] = await jobs("send_invitation")
        assert job["status"] == "queued" and job["attempts"] == attempt
        assert "retry" in job["last_error"] and "503" in job["last_error"]
        delay = job["due_at"] - clock[0]
        delays.append(delay)
        assert await worker.run_once() == 0  # not due yet
        clock[0] = job["due_at"] + timedelta(seconds=1)
    # exponential: about 30 s then about 60 s, each between half and all of it (jitter)
    assert timedelta(seconds=15) <= delays[0] <= timedelta(seconds=30)
    assert timedelta(seconds=30) <= delays[1] <= timedelta(seconds=60)
    assert await worker.run_once() == 1
    [job] = await jobs("send_invitation")
    assert job["status"] == "dead" and job["attempts"] == 3 and failing.calls == 3
    assert (await invitation(invitation_id))["status"] == "planned"  # nothing was sent: staff may retry

    await sign_in_admin(client)
    page = await client.get("/staff/outbox")
    assert page.status_code == 200
    assert f'data-job-id="{job["id"]}"' in page.text and "Service Unavailable" in page.text
    assert re.search(r'data-status="dead">1<', page.text)
    forged = await client.post(f"/staff/outbox/{job['id']}/retry", data={}, follow_redirects=False)
    assert forged.status_code == 403  # no CSRF token
    token = CSRF_INPUT.search(page.text).group(1)
    retried = await client.post(f"/staff/outbox/{job['id']}/retry", data={"_csrf_token": token},
                                follow_redirects=False)
    assert retried.status_code == 303
    [job] = await jobs("send_invitation")
    assert job["status"] == "queued" and job["attempts"] == 0

    # the provider is back: the retried job sends the invitation
    delivery.channels = {**delivery.channels, "sms": sandbox_delivery().channels["sms"]}
    clock[0] = next_allowed_time(datetime.now(UTC) + timedelta(seconds=1), delivery.policy)
    assert await worker.run_once() >= 1
    assert (await invitation(invitation_id))["status"] == "sent"


async def test_only_administrators_see_the_outbox(client):
    await sign_in_as(client, "quality", "HN", username="chatluong")
    answer = await client.get("/staff/outbox")
    assert answer.status_code == 403 and "dead-letters" not in answer.text


async def test_a_dead_workers_jobs_are_claimed_again_once_their_lease_ends(reference):
    from survey.services.outbox import claim

    await plan(3)
    now = daytime()
    first = await claim("worker-a", limit=10, lease_seconds=30, now=now)
    assert len(first) == 3
    assert await claim("worker-b", limit=10, lease_seconds=30, now=now + timedelta(seconds=29)) == []
    taken_over = await claim("worker-b", limit=10, lease_seconds=30, now=now + timedelta(seconds=31))
    assert sorted(j.id for j in taken_over) == sorted(j.id for j in first)
    assert all(j.attempts == 2 for j in taken_over)
    assert {j["lease_owner"] for j in await jobs("send_invitation")} == {"worker-b"}


# --- a worker that stops between a send and its commit -----------------------------------------------------------


class RecordingChannel:
    """A channel that cannot be asked what it sent (like SMTP)."""

    name = "recording"

    def __init__(self) -> None:
        self.sent = []

    async def send(self, message):
        from delivery.channels import DeliveryResult

        self.sent.append(message)
        return DeliveryResult(status="sent", outcome="sent", provider_message_id=f"R{len(self.sent)}")


async def interrupted_then_taken_over(delivery) -> None:
    """A first attempt sends but its outcome is never committed; after its lease another worker runs the job."""
    from survey.services.outbox import claim, finish
    from survey.services.sending import prepare_sends, send_invitation

    now = daytime()
    [job] = await claim("victim", limit=10, lease_seconds=30, now=now, prepare=prepare_sends)
    assert (await send_invitation(job, delivery)).state == "done"  # ... and the worker dies here
    [taken] = await claim("survivor", limit=10, lease_seconds=30, now=now + timedelta(seconds=31),
                          prepare=prepare_sends)
    assert taken.attempts == 2
    await finish([await send_invitation(taken, delivery)])


async def test_a_takeover_finds_the_message_the_sandbox_already_stored_and_sends_nothing(reference):
    from survey.tables import SandboxMessage

    [invitation_id] = await plan(1)
    await interrupted_then_taken_over(sandbox_delivery())
    [message] = await SandboxMessage.select()
    row = await invitation(invitation_id)
    assert row["status"] == "sent" and row["provider_message_id"] == message["provider_message_id"]
    assert "found at the provider" in row["status_history"][-1]["detail"]


async def test_a_channel_that_cannot_be_asked_sends_again_with_the_same_working_link_and_says_so(reference):
    from delivery.tokens import token_hash
    from survey.settings import get_settings

    [invitation_id] = await plan(1)
    delivery = sandbox_delivery()
    recording = RecordingChannel()
    delivery.channels = {**delivery.channels, "sms": recording}
    await interrupted_then_taken_over(delivery)
    first, second = recording.sent
    assert first.text == second.text  # the same link both times: the first message's link works too
    token = re.search(r"/s/([0-9A-Za-z]+)", first.text).group(1)
    row = await invitation(invitation_id)
    assert row["token_hash"] == token_hash(token, get_settings().secret_key)
    assert row["status"] == "sent" and "sent again" in row["status_history"][-1]["detail"]


# --- quiet hours and the token bucket -------------------------------------------------------------------------


async def test_a_job_due_in_quiet_hours_waits_for_the_morning_without_using_an_attempt(reference):
    from survey.tables import SandboxMessage

    night = datetime.now(HCM).replace(hour=21, minute=30, second=0, microsecond=0).astimezone(UTC)
    [invitation_id] = await plan(1, due=night - timedelta(minutes=1))
    worker = worker_for(sandbox_delivery(clock=lambda: night))
    assert await worker.run_once() == 1
    [job] = await jobs("send_invitation")
    morning = (night.astimezone(HCM) + timedelta(days=1)).replace(hour=8, minute=0).astimezone(UTC)
    assert job["status"] == "queued" and job["due_at"] == morning and job["attempts"] == 0
    assert "quiet hours" in job["last_error"]
    assert await SandboxMessage.count() == 0
    assert (await invitation(invitation_id))["status"] == "planned"


async def test_the_token_bucket_keeps_sending_under_the_limit(reference):
    from survey.tables import SandboxMessage

    await plan(30)
    worker = worker_for(sandbox_delivery(sms=20.0), concurrency=8)
    started = time.perf_counter()
    assert await worker.run_once() == 30
    elapsed = time.perf_counter() - started
    # sends spaced evenly at 20 a second: 30 messages take at least 29/20 s, and no second holds more than 20 (+1)
    assert elapsed >= 1.4
    times = sorted(row["created_at"] for row in await SandboxMessage.select(SandboxMessage.created_at))
    for start in range(len(times)):
        window = [t for t in times[start:] if t - times[start] < timedelta(seconds=1)]
        assert len(window) <= 20 + 1
