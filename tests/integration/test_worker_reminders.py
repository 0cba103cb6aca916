"""Reminders: at most one, after N hours, with the same link; none after an answer, an opening or an opt-out."""

from __future__ import annotations

import re
from datetime import timedelta

from test_outbox_worker import daytime, invitation, jobs, plan, sandbox_delivery, worker_for

from tests.support.sandbox import sandbox_messages

LINK = re.compile(r"/s/[0-9A-Za-z]+")


async def test_one_reminder_after_48_hours_carries_the_same_link_and_then_no_more(reference):
    from survey.tables import SandboxMessage

    [invitation_id] = await plan(1)
    clock = [daytime()]
    worker = worker_for(sandbox_delivery(clock=lambda: clock[0]))
    assert await worker.run_once() == 1
    [reminder] = await jobs("send_reminder")
    assert reminder["due_at"] == clock[0] + timedelta(hours=48)  # 10:00 two days later: not in quiet hours

    clock[0] += timedelta(hours=47)
    assert await worker.run_once() == 0  # not yet
    clock[0] += timedelta(hours=1, seconds=1)
    assert await worker.run_once() == 1
    first, second = await sandbox_messages()
    assert LINK.search(first["body_text"]).group(0) == LINK.search(second["body_text"]).group(0)
    assert first["body_text"] != second["body_text"]  # the reminder wording
    row = await invitation(invitation_id)
    assert row["reminder_state"] == "sent" and row["status"] == "sent"
    [reminder] = await jobs("send_reminder")
    assert reminder["status"] == "done" and "token" not in reminder["payload"]  # the link no longer in the database

    clock[0] += timedelta(days=3)
    assert await worker.run_once() == 0
    assert await SandboxMessage.count() == 2


async def test_no_reminder_after_an_answer_an_opening_or_an_opt_out(reference):
    from survey.db import run_sql as execute
    from survey.services.respondents import opt_out_by_invitation
    from survey.tables import SandboxMessage

    answered, opened, opted_out = await plan(3)
    clock = [daytime()]
    worker = worker_for(sandbox_delivery(clock=lambda: clock[0]))
    assert await worker.run_once() == 3
    await execute("UPDATE invitation SET status = 'responded', responded_at = {} WHERE id = {}", clock[0], answered)
    await execute("UPDATE invitation SET status = 'opened', opened_at = {} WHERE id = {}", clock[0], opened)
    await opt_out_by_invitation(opted_out, source="staff")

    clock[0] += timedelta(hours=49)
    assert await worker.run_once() == 3
    assert await SandboxMessage.count() == 3  # the three invitations, no reminder
    for invitation_id in (answered, opened, opted_out):
        assert (await invitation(invitation_id))["reminder_state"] == "skipped"
    reminders = await jobs("send_reminder")
    assert {j["status"] for j in reminders} == {"done"}
    assert all("token" not in j["payload"] for j in reminders)
    assert sorted(j["last_error"] for j in reminders) == ["no reminder: answered", "no reminder: opened",
                                                         "no reminder: opted out"]
