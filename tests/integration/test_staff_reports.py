"""The report archive on the staff pages (``/staff/reports``) and ``survey reports list``: each user downloads the
reports of their scope only, and makes one on demand that is made in the background with its progress."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from survey.services.reports import MadeReport, ReportSpec, archive_report, list_runs
from survey.services.reports.archive import queue_run
from survey.tables import AuditEvent, ReportRun
from tests.support.responses import add_counter_responses
from tests.support.staff import csrf_token, sign_in_as

OLD_PERIOD = "2025-Q1"
POLL_SECONDS = 90


def this_month() -> str:
    from survey.settings import get_settings

    return f"{datetime.now(ZoneInfo(get_settings().timezone)):%Y-%m}"


async def archived(kind: str, unit: str | None = None, *, period: str | None = None) -> int:
    """A report archived as ``archive_report`` stores any made one (a small stand-in PDF: the pages are tested
    here, the report's content elsewhere)."""
    spec = ReportSpec(kind, period or this_month(), unit=unit)  # type: ignore[arg-type]
    pdf = b"%PDF-1.7\n% " + spec.filename.encode() + b"\n%%EOF\n"
    return await archive_report(MadeReport(spec=spec, pdf=pdf, pages=1, title=spec.title_key))


@pytest.fixture
async def archive(reference) -> dict[str, int]:
    """Runs for Ba Đình (HN-BD), Hanoi (HN, its parent), District 1 of Ho Chi Minh City and the leadership."""
    return {"HN-BD": await archived("unit", "HN-BD"), "HN": await archived("unit", "HN"),
            "HCM-Q1": await archived("unit", "HCM-Q1"), "leadership": await archived("leadership")}


def listed(page: str) -> set[int]:
    return {int(found) for found in re.findall(r'<tr data-run-id="(\d+)"', page)}


async def runs_count() -> int:
    return await ReportRun.count()


async def test_a_unit_manager_sees_and_downloads_only_the_reports_of_its_subtree(client, archive):
    await sign_in_as(client, "unit_manager", "HN-BD")
    page = await client.get("/staff/reports")
    assert page.status_code == 200, page.text
    assert listed(page.text) == {archive["HN-BD"]}

    reply = await client.get(f"/staff/reports/{archive['HN-BD']}/download")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/pdf"
    assert reply.headers["content-disposition"].startswith("attachment;")
    assert 'filename="unit-HN-BD-' in reply.headers["content-disposition"]
    [run] = await list_runs(run_id=archive["HN-BD"])
    assert reply.content == await asyncio.to_thread(Path(run.file_name or "").read_bytes)
    assert hashlib.sha256(reply.content).hexdigest() == run.checksum

    for other in ("HN", "HCM-Q1", "leadership"):
        assert (await client.get(f"/staff/reports/{archive[other]}/download")).status_code == 404, other
        assert (await client.get(f"/staff/reports/{archive[other]}")).status_code == 404, other
    events = await AuditEvent.select(AuditEvent.object_id, AuditEvent.actor_label).where(
        AuditEvent.action == "report_downloaded")
    assert events == [{"object_id": str(archive["HN-BD"]), "actor_label": "unit_manager-hn-bd"}]


@pytest.mark.parametrize("role", ["quality", "admin"])
async def test_quality_and_admin_of_the_centre_see_every_report(client, archive, role):
    await sign_in_as(client, role, "VN")
    page = await client.get("/staff/reports")
    assert listed(page.text) == set(archive.values())


async def test_a_leader_sees_every_report_and_downloads_the_leadership_report(client, archive):
    await sign_in_as(client, "leader", "VN")
    page = await client.get("/staff/reports")
    assert listed(page.text) == set(archive.values())
    reply = await client.get(f"/staff/reports/{archive['leadership']}/download")
    assert reply.status_code == 200
    assert reply.content.startswith(b"%PDF")
    assert 'filename="leadership-' in reply.headers["content-disposition"]


async def test_the_archive_filters_by_period_and_names_a_bad_one(client, archive):
    old = await archived("unit", "HN-BD", period=OLD_PERIOD)
    await sign_in_as(client, "unit_manager", "HN-BD")
    assert listed((await client.get("/staff/reports", params={"period": OLD_PERIOD})).text) == {old}
    assert listed((await client.get("/staff/reports", params={"period": this_month()})).text) == {archive["HN-BD"]}
    bad = await client.get("/staff/reports", params={"period": "2026-13"})
    assert bad.status_code == 400
    assert "period" in bad.text and listed(bad.text) == set()


async def make_on_demand(client, **fields: str):
    token = await csrf_token(client, "/staff/reports")
    form = {"kind": "unit", "unit": "HN-BD", "service": "", "questionnaire": "", "period": this_month(), "lang": "vi",
            **fields}
    return await client.post("/staff/reports", data={**form, "_csrf_token": token}, follow_redirects=False)


async def test_a_report_made_on_demand_is_made_in_the_background_and_ends_archived(client):
    await add_counter_responses("HN-BD", 12)
    await sign_in_as(client, "unit_manager", "HN-BD")
    reply = await make_on_demand(client, lang="en")
    assert reply.status_code == 303, reply.text
    location = reply.headers["location"]
    run_id = int(re.fullmatch(r"/staff/reports/(\d+)", location).group(1))

    deadline = asyncio.get_running_loop().time() + POLL_SECONDS
    while True:
        page = await client.get(location)
        assert page.status_code == 200
        status = re.search(r'id="run-status" data-status="(\w+)"', page.text).group(1)
        if status not in ("queued", "rendering"):
            break
        assert '<progress id="run-progress"' in page.text and "/static/report_run.js" in page.text
        assert asyncio.get_running_loop().time() < deadline, f"still {status} after {POLL_SECONDS} s"
        await asyncio.sleep(0.2)
    assert status == "archived", page.text
    assert "<progress" not in page.text and f"/staff/reports/{run_id}/download" in page.text

    pdf = await client.get(f"/staff/reports/{run_id}/download")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert 'filename="unit-HN-BD-' in pdf.headers["content-disposition"]
    row = await ReportRun.select(ReportRun.status, ReportRun.progress, ReportRun.language, ReportRun.checksum,
                                 ReportRun.requested_by.username).where(ReportRun.id == run_id).first()
    assert row == {"status": "archived", "progress": 100, "language": "en",
                   "checksum": hashlib.sha256(pdf.content).hexdigest(), "requested_by.username": "unit_manager-hn-bd"}
    # and it is in the archive's list
    assert listed((await client.get("/staff/reports")).text) == {run_id}


async def test_a_bad_period_answers_400_naming_it_and_creates_no_run(client):
    await sign_in_as(client, "unit_manager", "HN-BD")
    reply = await make_on_demand(client, period="2026-13")
    assert reply.status_code == 400
    assert re.search(r'<p class="error" role="alert" id="report-error">[^<]*(Kỳ báo cáo)[^<]*period', reply.text)
    assert await runs_count() == 0


@pytest.mark.parametrize(("fields", "status", "named"), [
    ({"unit": "NOPE"}, 400, "unknown unit"),
    ({"service": "NOPE"}, 400, "unknown service"),
    ({"questionnaire": "nope"}, 400, "unknown questionnaire"),
    ({"kind": "monthly"}, 400, "kind"),
    ({"lang": "fr"}, 400, "lang"),
    ({"unit": "HCM-Q1"}, 403, "HCM-Q1"),
    ({"unit": "HN"}, 403, "HN"),
    ({"kind": "leadership"}, 403, "toàn quốc"),
    ({"kind": "service", "service": "HIC"}, 403, "toàn quốc"),
])
async def test_a_unit_manager_asking_outside_its_subtree_or_with_bad_input_is_refused_and_no_run_is_made(
        client, fields, status, named):
    await sign_in_as(client, "unit_manager", "HN-BD")
    reply = await make_on_demand(client, **fields)
    assert reply.status_code == status, reply.text
    error = re.search(r'<p class="error" role="alert" id="report-error">([^<]*)</p>', reply.text)
    assert error and named in error.group(1)
    assert await runs_count() == 0


async def test_a_run_shows_its_progress_while_pending_and_failed_when_its_lease_ran_out(client):
    await sign_in_as(client, "unit_manager", "HN-BD")
    spec = ReportSpec("unit", this_month(), unit="HN-BD")
    pending = await queue_run(spec, requested_by=None, lease_expires_at=datetime.now(UTC) + timedelta(minutes=10))
    dead = await queue_run(spec, requested_by=None, lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
    page = await client.get(f"/staff/reports/{pending}")
    assert 'data-status="queued"' in page.text and '<progress id="run-progress" max="100" value="0"' in page.text
    page = await client.get(f"/staff/reports/{dead}")
    assert 'data-status="failed"' in page.text and "Máy chủ đã dừng" in page.text and "<progress" not in page.text


async def cli_list(*args: str) -> list[dict]:
    from survey.cli import main

    # the CLI runs its own event loop: run it in a thread beside the test's loop
    result = await asyncio.to_thread(CliRunner().invoke, main, ["reports", "list", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


async def test_the_reports_list_command_lists_the_runs_by_unit_subtree_and_period(archive):
    old = await archived("unit", "HN-BD", period=OLD_PERIOD)
    every = await cli_list()
    assert [run["id"] for run in every] == sorted([*archive.values(), old], reverse=True)
    assert {run["id"] for run in await cli_list("--unit", "HN")} == {archive["HN"], archive["HN-BD"], old}
    assert {run["id"] for run in await cli_list("--unit", "HN", "--period", OLD_PERIOD)} == {old}
    [bd] = await cli_list("--unit", "HN-BD", "--period", this_month())
    assert bd["checksum"] == (await list_runs(run_id=archive["HN-BD"]))[0].checksum and bd["status"] == "archived"

    from survey.cli import main

    table = await asyncio.to_thread(CliRunner().invoke, main, ["reports", "list", "--unit", "HCM"],
                                    env={"COLUMNS": "300"})
    assert table.exit_code == 0, table.output
    rows = [line.split()[1:4] for line in table.output.splitlines() if line.startswith("│")]
    assert rows == [[str(archive["HCM-Q1"]), "│", "unit"]]
    unknown = await asyncio.to_thread(CliRunner().invoke, main, ["reports", "list", "--unit", "NOPE"])
    assert unknown.exit_code == 2 and "--unit" in unknown.output and "NOPE" in unknown.output
