"""Alerts end to end on SQLite and PostgreSQL, with a real SMTP server: a unit's dissatisfied share over the
rolling working day rises above its 99.8% funnel limit, the unit and the quality team are emailed, staff
acknowledge it with a comment, and it closes itself once the unit is back within its limits; a small unit does not
alarm on noise."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from test_follow_up_cases import BD_MAILBOX, form_token, mailboxes, smtp  # noqa: F401 - fixtures
from test_outbox_worker import worker_for
from test_report_schedules import mail_delivery

from tests.support.responses import add_counter_responses
from tests.support.staff import sign_in_as

QUALITY_MAILBOX = "chat-luong@bhxh.example.vn"


@pytest.fixture
def quality_team(monkeypatch):
    import survey.services.alerts as alerts
    from survey.settings import get_settings

    settings = replace(get_settings(), quality_team_email=QUALITY_MAILBOX)
    monkeypatch.setattr(alerts, "get_settings", lambda: settings)


async def alerts_table() -> list[dict]:
    from survey.tables import Alert

    return await Alert.select(Alert.id, Alert.status, Alert.n, Alert.dissatisfied, Alert.notes,
                              Alert.unit.code.as_alias("unit")).order_by(Alert.id)


async def test_an_alert_is_raised_acknowledged_and_closed_by_recovery(client, mailboxes, smtp, quality_team):  # noqa: F811
    from survey.services.alerts import evaluate_alerts

    # the working day's ratings: Ba Đình's people unhappy, four other offices content
    await add_counter_responses("HN-BD", 20, minutes_apart=1, ratings=[1] * 12 + [5] * 8)
    for unit in ("HN-CG", "HN-DD", "HCM-Q1", "HCM-PN"):
        await add_counter_responses(unit, 20, minutes_apart=1, ratings=[1] + [5] * 19)
    await add_counter_responses("HN-HD", 4, minutes_apart=1, ratings=[1] * 4)  # four unhappy: too few to judge
    now = datetime.now(UTC)
    evaluation = await evaluate_alerts(now)
    assert evaluation.raised == ("HN-BD",) and evaluation.units_judged == 5
    [alert] = await alerts_table()
    assert (alert["unit"], alert["status"], alert["n"], alert["dissatisfied"]) == ("HN-BD", "open", 20, 12)
    assert (await evaluate_alerts(now + timedelta(seconds=60))).raised == ()  # one alert per unit at a time

    assert await worker_for(mail_delivery(smtp)).run_once() == 2
    assert sorted(m["To"] for m in smtp.messages) == sorted([BD_MAILBOX, QUALITY_MAILBOX])
    assert all("HN-BD" in m["Subject"] or "Ba Đình" in m["Subject"] for m in smtp.messages)

    await sign_in_as(client, "quality", "HN")
    page = await client.get("/staff/alerts")
    assert f'data-alert-id="{alert["id"]}" data-unit="HN-BD" data-status="open"' in page.text
    token = await form_token(client, "/staff/alerts")
    silent = await client.post(f"/staff/alerts/{alert['id']}/acknowledge", data={"_csrf_token": token, "comment": ""})
    assert silent.status_code == 400 and "comment is required" in silent.text
    done = await client.post(f"/staff/alerts/{alert['id']}/acknowledge", follow_redirects=False,
                             data={"_csrf_token": token, "comment": "Thiếu người ở quầy, đã điều thêm cán bộ"})
    assert done.status_code == 303
    twice = await client.post(f"/staff/alerts/{alert['id']}/acknowledge",
                              data={"_csrf_token": token, "comment": "again"})
    assert twice.status_code == 409

    # the afternoon goes well: Ba Đình is back within its limits and the alert closes itself
    await add_counter_responses("HN-BD", 80, minutes_apart=1, ago=timedelta(seconds=1), ratings=[5] * 80)
    closing = await evaluate_alerts(datetime.now(UTC))
    assert closing.closed == ("HN-BD",)
    [alert] = await alerts_table()
    notes = alert["notes"] if isinstance(alert["notes"], list) else json.loads(alert["notes"])
    assert alert["status"] == "closed" and [n["action"] for n in notes] == ["raised", "acknowledged", "recovered"]

    from survey.services.apikeys import create_api_key

    key, _ = await create_api_key("crm")
    active = await client.get("/api/v1/alerts", headers={"authorization": f"Bearer {key}"})
    assert active.status_code == 200 and active.json() == []
    every = await client.get("/api/v1/alerts?status=all", headers={"authorization": f"Bearer {key}"})
    assert [a["unit"] for a in every.json()] == ["HN-BD"] and every.json()[0]["status"] == "closed"
    bad = await client.get("/api/v1/alerts?status=maybe", headers={"authorization": f"Bearer {key}"})
    assert bad.status_code == 400


async def test_an_alert_outside_the_users_units_is_neither_shown_nor_acknowledged(client, mailboxes):  # noqa: F811
    from survey.services.alerts import evaluate_alerts

    await add_counter_responses("HN-BD", 20, minutes_apart=1, ratings=[1] * 15 + [5] * 5)
    for unit in ("HN-CG", "HCM-Q1", "HCM-PN", "HN-DD"):
        await add_counter_responses(unit, 20, minutes_apart=1, ratings=[5] * 20)
    assert (await evaluate_alerts()).raised == ("HN-BD",)
    [alert] = await alerts_table()
    await sign_in_as(client, "unit_manager", "HCM")  # quality, leader and admin see every unit
    assert 'data-alert-id' not in (await client.get("/staff/alerts")).text
    token = await form_token(client, "/staff/alerts")
    refused = await client.post(f"/staff/alerts/{alert['id']}/acknowledge",
                                data={"_csrf_token": token, "comment": "not mine"})
    assert refused.status_code == 404
