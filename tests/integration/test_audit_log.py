"""The audit log (SQLite and PostgreSQL): the database refuses to change or delete an event; administrators read
the log at /staff/audit, newest first, filtered and paged, every text escaped; nobody else reads it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from survey.services import audit
from survey.tables import AuditEvent
from tests.support.staff import sign_in_as


async def test_the_database_refuses_to_change_or_delete_an_event(reference):
    from survey.db import run_sql

    event = await audit.record("login_ok", actor=None, actor_label="cli", detail={"username": "lan.nt"})
    with pytest.raises(Exception, match="append-only"):
        await run_sql("UPDATE audit_event SET action = 'nothing' WHERE id = {}", event.id)
    with pytest.raises(Exception, match="append-only"):
        await run_sql("DELETE FROM audit_event WHERE id = {}", event.id)
    with pytest.raises(Exception, match="append-only"):
        await AuditEvent.delete(force=True)
    [row] = await AuditEvent.select(AuditEvent.action, AuditEvent.actor_label)
    assert row == {"action": "login_ok", "actor_label": "cli"}


async def test_an_action_from_the_command_line_is_attributed_to_it(reference):
    event = await audit.record("erasure_done", actor=None, actor_label="cli", object_type="data_request",
                               object_id=7)
    assert (event.actor, event.actor_label, event.object_id) == (None, "cli", "7")
    anonymous = await audit.record("login_failed", actor=None)
    assert anonymous.actor_label == "-"


async def test_administrators_read_the_log_newest_first_filtered_and_escaped(client):
    now = datetime.now(UTC)
    await audit.record("apikey_created", actor=None, actor_label="<script>alert(1)</script>",
                       object_type="api_key", object_id="Ab12Cd34", detail={"source": "<b>queue</b>"})
    await audit.record("responses_exported", actor=None, actor_label="lan.nt", detail={"rows": 12})
    await sign_in_as(client, "admin", "HN", username="quantri")
    page = await client.get("/staff/audit")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<b>queue</b>" not in page.text
    assert 'href="/staff/audit"' in page.text  # the navigation links it for administrators
    # newest first: the sign-in, the export, the key
    order = [page.text.index(text) for text in ("login_ok</td>", "responses_exported</td>", "apikey_created</td>")]
    assert order == sorted(order)

    exports = await client.get("/staff/audit", params={"action": "responses_exported"})
    assert "responses_exported</td>" in exports.text and "apikey_created</td>" not in exports.text
    by_actor = await client.get("/staff/audit", params={"actor": "lan.nt"})
    assert "responses_exported</td>" in by_actor.text and "login_ok</td>" not in by_actor.text
    today = now.astimezone().date()
    later = await client.get("/staff/audit", params={"from": (today + timedelta(days=2)).isoformat()})
    assert later.status_code == 200 and "data-event-id" not in later.text
    bad = await client.get("/staff/audit", params={"from": "1/12/2026"})
    assert bad.status_code == 400 and "1/12/2026" in bad.text
    backwards = await client.get("/staff/audit", params={"from": "2026-12-02", "to": "2026-12-01"})
    assert backwards.status_code == 400


async def test_the_log_is_paged(client):
    for n in range(55):
        await audit.record("scores_viewed", actor=None, actor_label=f"user{n:02d}")
    await sign_in_as(client, "admin", "HN", username="quantri")
    first = await client.get("/staff/audit", params={"action": "scores_viewed"})
    assert first.text.count("data-event-id") == 50 and "user54" in first.text and "user04" not in first.text
    second = await client.get("/staff/audit", params={"action": "scores_viewed", "page": 2})
    assert second.text.count("data-event-id") == 5 and "user00" in second.text
    too_far = await client.get("/staff/audit", params={"page": 10_001})
    assert too_far.status_code == 400


@pytest.mark.parametrize("role", ["quality", "leader", "unit_manager"])
async def test_nobody_but_administrators_reads_the_log(client, role):
    await sign_in_as(client, role, "HN")
    page = await client.get("/staff/audit")
    assert page.status_code == 403 and "data-event-id" not in page.text
    home = await client.get("/staff/")
    assert 'href="/staff/audit"' not in home.text


async def test_a_report_download_an_export_and_a_follow_up_change_are_in_the_log(client):
    from survey.services.reports import MadeReport, ReportSpec, archive_report
    from tests.support.responses import add_counter_responses
    from tests.support.staff import csrf_token

    await add_counter_responses("HN-BD", 3)
    spec = ReportSpec("unit", datetime.now(UTC).strftime("%Y-%m"), unit="HN-BD")
    run_id = await archive_report(MadeReport(spec=spec, pdf=b"%PDF-1.7\n%%EOF\n", pages=1, title=spec.title_key))
    await sign_in_as(client, "quality", "HCM-Q1")  # another district: quality sees every unit
    assert (await client.get(f"/staff/reports/{run_id}/download")).status_code == 200
    assert (await client.get("/staff/responses/export", params={"format": "csv"})).status_code == 200
    response_id = (await AuditEvent.raw("SELECT id FROM response ORDER BY id LIMIT 1"))[0]["id"]
    token = await csrf_token(client, f"/staff/responses/{response_id}")
    opened = await client.post(f"/staff/responses/{response_id}/follow-up",
                               data={"_csrf_token": token, "comment": "gọi lại"}, follow_redirects=False)
    assert opened.status_code == 303, opened.text
    actions = {row["action"] for row in await AuditEvent.select(AuditEvent.action)}
    assert {"report_downloaded", "responses_exported", "follow_up_opened"} <= actions
