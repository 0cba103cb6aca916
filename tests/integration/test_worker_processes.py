"""``survey worker`` processes against the Twilio stub: two workers sharing 1,000 jobs send each invitation
exactly once; a worker killed with SIGKILL in the middle of 1,000 sends loses none once another takes over
its leases, the duplicates are counted and reported (target: at most 1 per 1,000), and every link sent
works. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from test_outbox_worker import plan  # also puts the project root on sys.path

from tests.support.twilio_stub import TwilioStub

JOBS = 1000
SERVICE_SID = "MG" + "1" * 32
LINK = re.compile(r"/s/([0-9A-Za-z]+)")


def daytime_zone() -> str:
    """A fixed-offset time zone where it is about noon now, so quiet hours never hold the workers up."""
    offset = 12 - datetime.now(UTC).hour
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def worker_env(database: str, stub: TwilioStub, *, rate: int = 10_000) -> dict[str, str]:
    from survey.settings import get_settings

    url = get_settings().database.url if database == "sqlite" else os.environ["SURVEY_TEST_POSTGRES_URL"]
    return {
        **os.environ,
        "SURVEY_DATABASE_URL": url,
        "SURVEY_TWILIO_ACCOUNT_SID": stub.account_sid,
        "SURVEY_TWILIO_AUTH_TOKEN": stub.auth_token,
        "SURVEY_TWILIO_MESSAGING_SERVICE_SID": SERVICE_SID,
        "SURVEY_TWILIO_API_BASE_URL": stub.base_url,
        "SURVEY_TIMEZONE": daytime_zone(),
        "SURVEY_SMS_RATE_PER_SECOND": str(rate),
        "SURVEY_WORKER_IN_PROCESS": "false",
    }


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (a file, not a pipe: a full pipe stalls the worker)
    process = subprocess.Popen([sys.executable, "-m", "survey.cli", "worker", *args], env=env, text=True,
                               stdout=log, stderr=subprocess.STDOUT)
    process.log = log  # type: ignore[attr-defined]
    return process


def output_of(process: subprocess.Popen[str]) -> str:
    process.log.seek(0)  # type: ignore[attr-defined]
    return process.log.read()  # type: ignore[attr-defined]


async def finish_worker(process: subprocess.Popen[str], seconds: float = 120) -> str:
    await asyncio.to_thread(process.wait, seconds)
    output = output_of(process)
    assert process.returncode == 0, output[-3000:]
    return output


async def statuses() -> Counter[str]:
    from survey.tables import Invitation

    return Counter(row["status"] for row in await Invitation.select(Invitation.status))


async def test_two_workers_share_1000_jobs_and_send_each_invitation_exactly_once(reference):
    await plan(JOBS, due=datetime.now(UTC) - timedelta(seconds=1))
    with TwilioStub() as stub:
        env = worker_env(reference, stub)
        workers = [start_worker(env, "--once", "--concurrency", "8", "--id", name) for name in ("w1", "w2")]
        logs = [await finish_worker(process) for process in workers]
        sent_to = Counter(message["To"] for message in stub.messages)
    assert len(sent_to) == JOBS and set(sent_to.values()) == {1}, (sent_to.most_common(3), logs)
    assert await statuses() == {"sent": JOBS}
    done = [int(log.strip().rsplit(": ", 1)[1].split(" done")[0]) for log in logs]
    assert sum(done) >= JOBS and all(count > 0 for count in done), logs  # both took a share


async def links_without_invitation(bodies: list[str]) -> list[str]:
    """The survey links in ``bodies`` whose token matches no invitation (GET /s/{token} would say 'unknown')."""
    from delivery.tokens import token_hash
    from survey.settings import get_settings
    from survey.tables import Invitation

    known = {row["token_hash"] for row in await Invitation.select(Invitation.token_hash)}
    secret = get_settings().secret_key
    links = [match.group(1) if (match := LINK.search(body)) else f"(no link in {body!r})" for body in bodies]
    return [token for token in links if token_hash(token, secret) not in known]


async def test_a_worker_killed_mid_run_loses_nothing_and_its_duplicates_are_counted(reference):
    from survey.tables import Invitation, Job

    await plan(JOBS, due=datetime.now(UTC) - timedelta(seconds=1))
    # Twilio answers in tens of milliseconds at best: several sends are in flight when the worker dies
    with TwilioStub(latency=0.05) as stub:
        env = worker_env(reference, stub, rate=100)  # the throttled rate of the benchmark
        victim = start_worker(env, "--concurrency", "8", "--lease", "3", "--id", "victim")
        deadline = time.monotonic() + 60
        while len(stub.messages) < JOBS // 3 and time.monotonic() < deadline:  # noqa: ASYNC110 (the stub is a thread)
            await asyncio.sleep(0.01)
        assert victim.poll() is None, output_of(victim)[-2000:]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        sent_before_kill = len(stub.messages)
        assert sent_before_kill < JOBS
        await asyncio.sleep(3.2)  # the victim's leases end
        await finish_worker(start_worker(env, "--once", "--lease", "3", "--id", "survivor"))
        messages = list(stub.messages)
        lookups = stub.list_requests

    sent_to = Counter(message["To"] for message in messages)
    lost = JOBS - len(sent_to)
    twice = {to: count for to, count in sent_to.items() if count > 1}
    duplicates = sum(count - 1 for count in twice.values())
    histories = [str(row["status_history"]) for row in await Invitation.select(Invitation.status_history)]
    found = sum("found at the provider" in history for history in histories)
    print(f"\n[{reference}] SIGKILL after {sent_before_kill} of {JOBS} sends: {lost} lost, {duplicates} duplicate(s)"
          f"{' ' + str(sorted(twice)) if twice else ''}; {lookups} provider look-up(s), {found} send(s) found there")
    assert lost == 0
    assert await statuses() == {"sent": JOBS}
    assert await Job.count().where((Job.kind == "send_invitation") & (Job.status != "done")) == 0
    # every message that went out, the orphaned ones included, carries a link that opens its invitation
    assert await links_without_invitation([message["Body"] for message in messages]) == []
    # a send whose outcome the victim never committed is found at Twilio by the survivor, not sent again
    assert duplicates <= JOBS // 1000, twice


@pytest.mark.parametrize("flag", ["--help"])
def test_the_worker_and_jobs_commands_explain_themselves(flag):
    from click.testing import CliRunner

    from survey.cli import main

    runner = CliRunner()
    for args in (["worker", flag], ["jobs", flag], ["jobs", "retry", flag], ["jobs", "dead", flag]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0 and "Usage:" in result.output, result.output
