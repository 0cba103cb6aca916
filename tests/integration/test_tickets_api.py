"""POST /api/v1/tickets: a one-time link and QR code printed on a queue ticket (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
from datetime import datetime

import pytest


async def _auth() -> dict[str, str]:
    from survey.services.apikeys import create_api_key

    key, _ = await create_api_key("queue")
    return {"authorization": f"Bearer {key}"}


async def test_a_ticket_link_opens_the_counter_questionnaire_once_and_is_stored_with_trust_ticket(client):
    from survey.tables import Answer, Invitation, Response

    reply = await client.post("/api/v1/tickets", headers=await _auth(), json={
        "counter": "HN-BD-Q1", "service": "SIB", "ticket_number": "A123", "language": "vi", "format": "svg"})
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["url"].startswith("http://testserver.local/s/")
    assert body["qr_svg"].lstrip().startswith("<?xml") and "<svg" in body["qr_svg"]
    assert datetime.fromisoformat(body["expires_at"]) > datetime.fromisoformat("2026-01-01T00:00:00+00:00")
    [invitation] = await Invitation.select(Invitation.channel, Invitation.trust, Invitation.status)
    assert invitation == {"channel": "ticket", "trust": "ticket", "status": "sent"}

    path = body["url"].removeprefix("http://testserver.local")
    page = await client.get(path)
    assert page.status_code == 200 and 'data-page="survey"' in page.text
    assert "bộ phận một cửa" in page.text  # the counter questionnaire's title
    answered = await client.post(path, json={"answers": {"complained": "no", "overall": 5}},
                                 headers={"accept": "application/json"})
    assert answered.status_code == 200 and answered.json() == {"status": "complete"}
    again = await client.post(path, json={"answers": {"complained": "no", "overall": 1}},
                              headers={"accept": "application/json"})
    assert again.status_code == 409

    [row] = await Response.select(Response.id, Response.trust, Response.channel, Response.status,
                                  Response.unit.code, Response.service.code, Response.counter.code)
    assert row["trust"] == "ticket" and row["channel"] == "counter" and row["status"] == "complete"
    assert (row["unit.code"], row["service.code"], row["counter.code"]) == ("HN-BD", "SIB", "HN-BD-Q1")
    assert await Answer.count().where(Answer.response == row["id"]) == 2


async def test_png_format_and_a_single_service_counter_needs_no_service(client):
    reply = await client.post("/api/v1/tickets", headers=await _auth(), json={"counter": "HN-BD-Q2", "format": "png"})
    assert reply.status_code == 201, reply.text
    png = base64.b64decode(reply.json()["qr_png_base64"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert reply.json()["service"] == "HIC"


@pytest.mark.parametrize(("body", "field", "allowed"), [
    ({"counter": "NOPE-Q1", "service": "SIB"}, "counter", "HN-BD-Q1"),
    ({"counter": "HN-BD-Q1\x00", "service": "SIB"}, "counter", "HN-BD-Q1"),
    ({"counter": "HN-BD-Q2", "service": "HIC\x00"}, "service", ["HIC"]),
    ({"counter": "HN-BD-Q2", "service": "SIB"}, "service", ["HIC"]),
    ({"counter": "HN-BD-Q1"}, "service", ["COLLECT", "HIC", "PENSION", "SIB", "SICK-MAT", "UNEMP"]),
    ({"counter": "HN-BD-Q1", "service": "SIB", "format": "gif"}, "format", ["svg", "png"]),
])
async def test_a_counter_or_service_that_does_not_fit_is_422_with_the_allowed_values(client, body, field, allowed):
    from survey.tables import Invitation

    reply = await client.post("/api/v1/tickets", headers=await _auth(), json=body)
    assert reply.status_code == 422
    problem = reply.json()
    assert problem["field"] == field
    if isinstance(allowed, list):
        assert problem["allowed"] == allowed
    else:
        assert allowed in problem["allowed"]
    assert await Invitation.count() == 0


async def test_a_ticket_needs_an_api_key(client):
    reply = await client.post("/api/v1/tickets", json={"counter": "HN-BD-Q1", "service": "SIB"})
    assert reply.status_code == 401
