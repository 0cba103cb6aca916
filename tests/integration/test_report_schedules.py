"""Report schedules on SQLite and PostgreSQL, end to end to a real SMTP server (aiosmtpd on loopback): a quarterly
report is made after its period and grace, archived with its checksum, mailed once to each recipient with the PDF
attached (or as a link when too large), and never again: not on a second run, not by two workers at once, not
after a worker died between rendering and sending."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from test_outbox_worker import jobs, worker_for  # also puts the project root on sys.path

from tests.support.responses import add_counter_responses
from tests.support.smtp_server import SMTPServer

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
RECIPIENTS = ["lanh.dao@bhxh.example.vn", "chat.luong@bhxh.example.vn"]


class Crash(BaseException):
    """A worker killed mid-way: nothing after it runs, no handler records a failure."""


@pytest.fixture
def smtp():
    with SMTPServer() as server:
        yield server


def mail_delivery(smtp, settings=None, clock=None):
    from survey.services.sending import delivery_from_settings
    from survey.settings import get_settings

    settings = replace(settings or get_settings(), smtp_host=smtp.host, smtp_port=smtp.port,
                       smtp_from="baocao@bhxh.example.vn", smtp_tls="none")
    return delivery_from_settings(settings, email_rate=1000.0, **({"clock": clock} if clock else {}))


@pytest.fixture
def delivery(smtp):
    return mail_delivery(smtp)


def this_quarter() -> str:
    today = datetime.now(HCM).date()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


def due_time(period: str, grace_days: int = 3) -> datetime:
    from survey.services.reports.schedules import period_due_at

    return period_due_at(period, "quarterly", grace_days)


@pytest.fixture
async def schedule(reference):
    """Thirty answers at HN-BD this quarter and a quarterly schedule of HN-BD's report for two recipients."""
    from survey.services.reports.schedules import add_schedule

    await add_counter_responses("HN-BD", 30)
    return await add_schedule("Quận Ba Đình hằng quý", "HN-BD", frequency="quarterly", recipients=RECIPIENTS)


async def runs() -> list[dict]:
    from survey.tables import ReportRun

    return await ReportRun.select().order_by(ReportRun.id)


def attachments(message) -> list:
    return list(message.iter_attachments())


def assert_mailed_once_with_the_pdf(smtp, run_id: int) -> None:
    assert sorted(m["To"] for m in smtp.messages) == sorted(RECIPIENTS)
    for message in smtp.messages:
        [pdf] = attachments(message)
        assert pdf.get_content_type() == "application/pdf"
        assert pdf.get_filename() == f"unit-HN-BD-{this_quarter()}-vi.pdf"
        assert pdf.get_content().startswith(b"%PDF")
        assert f"report-{run_id}-" in message["Message-ID"]


async def test_a_schedule_makes_nothing_before_the_grace_then_archives_the_report_and_mails_it_once(
        schedule, smtp, delivery):
    from survey.services.reports.schedules import run_due_schedules

    period = this_quarter()
    assert schedule.first_period == period and schedule.next_run_at == due_time(period)
    nothing = await run_due_schedules(now=due_time(period) - timedelta(minutes=1))
    assert nothing.runs == () and await runs() == []

    summary = await run_due_schedules(now=due_time(period) + timedelta(hours=1))
    [made] = summary.made
    [run] = await runs()
    assert (made.run_id, made.period, run["status"], run["run_key"]) == (
        run["id"], period, "archived", f"schedule:{schedule.id}:{period}")
    pdf = await asyncio.to_thread(Path(run["file_path"]).read_bytes)
    assert pdf.startswith(b"%PDF") and run["checksum"] == hashlib.sha256(pdf).hexdigest() == made.checksum
    assert run["size_bytes"] == len(pdf) and run["pages"] >= 1 and run["sent_at"] is None
    assert smtp.messages == []  # mailing is the worker's job

    assert await worker_for(delivery).run_once() == 1
    assert_mailed_once_with_the_pdf(smtp, run["id"])
    first = smtp.messages[0]
    assert first["Subject"].startswith("BHXH VN: ") and period in first["Subject"]
    assert made.detail in first.get_body(preferencelist=("plain",)).get_content()  # the report's title as headline
    assert '<html lang="vi"' in first.get_body(preferencelist=("html",)).get_content()
    [run] = await runs()
    assert run["status"] == "sent" and run["sent_at"] is not None

    again = await run_due_schedules(now=due_time(period) + timedelta(hours=2))
    assert again.runs == () and len(await runs()) == 1
    assert await worker_for(delivery, worker_id="another-worker").run_once() == 0
    assert len(smtp.messages) == 2


@pytest.mark.parametrize("race", ["interleaved", "both read before either claimed"])
async def test_two_workers_running_the_schedules_at_once_make_one_run_and_one_mailing(schedule, smtp, delivery,
                                                                                      monkeypatch, race):
    from survey.services.reports import schedules

    if race != "interleaved":  # each sees the period unclaimed: the unique run_key turns the second insert away
        async def nothing_claimed(schedule_id):
            return set()

        monkeypatch.setattr(schedules, "_claimed_periods", nothing_claimed)
    now = due_time(this_quarter()) + timedelta(hours=1)
    first, second = await asyncio.gather(schedules.run_due_schedules(now=now, worker_id="w1"),
                                         schedules.run_due_schedules(now=now, worker_id="w2"))
    assert len(first.made) + len(second.made) == 1
    assert len(await runs()) == 1 and len(await jobs("send_report")) == 1
    await asyncio.gather(worker_for(delivery, worker_id="w1").run_once(),
                         worker_for(delivery, worker_id="w2").run_once())
    assert_mailed_once_with_the_pdf(smtp, (await runs())[0]["id"])


async def test_a_worker_that_dies_after_archiving_before_mailing_leaves_one_mailing_to_the_next(
        schedule, smtp, delivery):
    from survey.services.outbox import claim
    from survey.services.reports.schedules import run_due_schedules

    await run_due_schedules(now=due_time(this_quarter()) + timedelta(hours=1))
    # a worker claims the mailing job and dies before handling it: its lease runs out
    [held] = await claim("dead-worker", limit=10, lease_seconds=30)
    assert held.kind == "send_report"
    assert await worker_for(delivery).run_once() == 0  # still leased: nobody sends
    later = mail_delivery(smtp, clock=lambda: datetime.now(UTC) + timedelta(minutes=5))
    assert await worker_for(later, worker_id="fresh-worker").run_once() == 1
    assert_mailed_once_with_the_pdf(smtp, (await runs())[0]["id"])
    assert await worker_for(later, worker_id="fresh-worker").run_once() == 0
    assert len(smtp.messages) == 2


async def test_a_worker_that_dies_between_rendering_and_queueing_the_mailing_is_taken_over_and_mails_once(
        schedule, smtp, delivery, monkeypatch):
    from survey.db import run_sql
    from survey.services.reports import schedules

    now = due_time(this_quarter()) + timedelta(hours=1)

    async def killed(*args, **kwargs):
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(schedules, "enqueue", killed)
        with pytest.raises(Crash):
            await schedules.run_due_schedules(now=now)
    [run] = await runs()
    # the archive mark and the job are one transaction: neither was committed
    assert run["status"] == "rendering" and run["checksum"] is None and await jobs("send_report") == []
    assert (await schedules.run_due_schedules(now=now)).runs == ()  # its lease still runs

    await run_sql("UPDATE report_run SET lease_expires_at = {}", datetime.now(UTC) - timedelta(seconds=1))
    summary = await schedules.run_due_schedules(now=now)
    assert summary.taken_over == (run["id"],) and [m.run_id for m in summary.made] == [run["id"]]
    assert await worker_for(delivery).run_once() == 1
    assert_mailed_once_with_the_pdf(smtp, run["id"])
    assert len(await runs()) == 1 and len(await jobs("send_report")) == 1


async def test_a_worker_that_dies_while_rendering_is_taken_over_in_the_same_run(schedule, smtp, delivery,
                                                                                 monkeypatch):
    from survey.db import run_sql
    from survey.services.reports import make, schedules

    now = due_time(this_quarter()) + timedelta(hours=1)

    async def killed(*args, **kwargs):
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(make, "make_report", killed)
        with pytest.raises(Crash):
            await schedules.run_due_schedules(now=now)
    await run_sql("UPDATE report_run SET lease_expires_at = {}", datetime.now(UTC) - timedelta(seconds=1))
    worker = worker_for(mail_delivery(smtp, clock=lambda: now))
    assert await worker.run_once(schedules=True) == 1  # the worker's hook: the schedules, then the jobs
    [run] = await runs()
    assert run["status"] == "sent"
    assert_mailed_once_with_the_pdf(smtp, run["id"])


@pytest.fixture
def attach_limit_one_byte(monkeypatch):
    from survey.settings import get_settings

    monkeypatch.setenv("SURVEY_REPORT_ATTACH_MAX_BYTES", "1")
    get_settings.cache_clear()
    yield get_settings()
    monkeypatch.undo()
    get_settings.cache_clear()


async def test_a_report_larger_than_the_limit_is_mailed_as_a_link_into_the_staff_area(
        schedule, smtp, attach_limit_one_byte):
    from survey.services.reports.schedules import run_due_schedules

    assert attach_limit_one_byte.report_attach_max_bytes == 1
    delivery = mail_delivery(smtp, attach_limit_one_byte)
    [made] = (await run_due_schedules(now=due_time(this_quarter()) + timedelta(hours=1))).made
    assert await worker_for(delivery).run_once() == 1
    link = f"http://testserver.local/staff/reports/{made.run_id}/download"
    assert sorted(m["To"] for m in smtp.messages) == sorted(RECIPIENTS)
    for message in smtp.messages:
        assert attachments(message) == [] and message.get_content_type() == "multipart/alternative"
        assert link in message.get_body(preferencelist=("plain",)).get_content()
        assert f'href="{link}"' in message.get_body(preferencelist=("html",)).get_content()
    assert (await runs())[0]["status"] == "sent"


async def cli(*args: str):
    from survey.commands.report_schedules import schedule

    return await asyncio.to_thread(CliRunner().invoke, schedule, list(args), catch_exceptions=False)


BAD_SCHEDULES = [  # (service arguments, the field named, the option the command names)
    ({"unit": "NOPE"}, "unit", "--unit"),
    ({"service": "NOPE"}, "service", "--service"),
    ({"questionnaire": "nope"}, "questionnaire", "--questionnaire"),
    ({"recipients": ["not-an-email"]}, "recipients", "--to"),
    ({"recipients": []}, "recipients", "--to"),
    ({"frequency": "weekly"}, "frequency", "--frequency"),
    ({"first_period": "2026-09"}, "first_period", "--first-period"),
    ({"grace_days": -1}, "grace_days", "--grace-days"),
    ({"unit": None}, "unit", "--unit"),
]


def _options(arguments: dict) -> list[str]:
    options = ["--name", "Báo cáo", "--frequency", arguments.get("frequency", "quarterly")]
    unit = arguments.get("unit", "HN-BD")
    options += ["--unit", unit] if unit else []
    for address in arguments.get("recipients", RECIPIENTS):
        options += ["--to", address]
    for name in ("service", "questionnaire", "first_period", "grace_days"):
        if name in arguments:
            options += [f"--{name.replace('_', '-')}", str(arguments[name])]
    return options


async def test_a_bad_schedule_is_refused_naming_the_field_and_writes_nothing(reference):
    from survey.services.reports import ReportParameterError
    from survey.services.reports.schedules import add_schedule, list_schedules

    for arguments, field, option in BAD_SCHEDULES:
        given = {"frequency": "quarterly", "recipients": RECIPIENTS, **arguments}
        unit = given.pop("unit", "HN-BD")
        if given["frequency"] != "weekly":
            with pytest.raises(ReportParameterError) as refused:
                await add_schedule("Báo cáo", unit, **given)
            assert refused.value.parameter == field, arguments
        if field != "frequency":  # the command offers only monthly and quarterly
            result = await cli("add", *_options(arguments))
            assert result.exit_code == 2 and option in result.output, (arguments, result.output)
    assert await list_schedules(include_removed=True) == []


async def test_schedules_are_added_listed_and_removed_from_the_command_line(reference):
    from survey.services.reports.schedules import list_schedules, run_due_schedules

    added = await cli("add", "--name", "Lãnh đạo hằng tháng", "--leadership", "--frequency", "monthly", "--lang", "en",
                      "--to", "Lanh.Dao@BHXH.example.vn", "--first-period", "2026-09", "--grace-days", "5")
    assert added.exit_code == 0, added.output
    [item] = await list_schedules()
    assert (item.kind, item.unit, item.language, item.recipients, item.grace_days, item.first_period) == (
        "leadership", None, "en", ("lanh.dao@bhxh.example.vn",), 5, "2026-09")
    assert f"schedule {item.id} added" in added.output and "first due 2026-10-06 00:00" in added.output
    listed = await cli("list")
    assert f"#{item.id} Lãnh đạo hằng tháng: leadership, monthly from 2026-09" in listed.output

    removed = await cli("remove", str(item.id))
    assert removed.exit_code == 0 and "removed" in removed.output
    assert (await cli("list")).output.strip() == "no schedules"
    assert "[removed]" in (await cli("list", "--all")).output
    assert (await run_due_schedules(now=datetime(2027, 1, 1, tzinfo=UTC))).runs == ()  # removed: nothing is made
    unknown = await cli("remove", "999")
    assert unknown.exit_code == 2 and "no schedule 999" in unknown.output


async def test_schedule_run_makes_the_due_reports_and_mails_them_through_the_sandbox(schedule):
    from tests.support.sandbox import sandbox_messages

    now = (due_time(this_quarter()) + timedelta(hours=1)).isoformat()
    result = await cli("run", "--now", now)
    assert result.exit_code == 0, result.output
    run_id = (await runs())[0]["id"]
    assert f"{this_quarter()}: run {run_id} archived" in result.output and f"run {run_id}: sent" in result.output
    stored = await sandbox_messages(order_by="to_address")
    assert sorted(m["to_address"] for m in stored) == sorted(RECIPIENTS)
    # the sandbox keeps no PDF, only its name
    assert all(f"[attachment: unit-HN-BD-{this_quarter()}-vi.pdf (application/pdf, " in m["body_text"]
               for m in stored)
    assert (await cli("run", "--now", now)).output.strip() == "nothing due"
