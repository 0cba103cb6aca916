"""The HTTP boundary on both databases: bad ids and dates are refused with a 4xx naming the parameter, an
unexpected error is a logged problem body (never a traceback page), and every page and API answer carries the
security headers."""

from __future__ import annotations

import logging
import re

import pytest

from survey.services.accounts import create_user
from survey.services.apikeys import create_api_key

PASSWORD = "correct horse battery"
CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')
TOO_LARGE = ["2147483648", "9223372036854775808", "99999999999999999999999"]
CSP_PARTS = ("script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'")


async def _sign_in(client, role: str = "admin", unit: str = "VN") -> str:
    """Sign in a new member of staff with ``role``; returns a CSRF token for the forms."""
    await create_user(username=f"can.bo.{role}", password=PASSWORD, role=role, unit_code=unit, display_name="Cán bộ")
    page = await client.get("/staff/login")
    token = CSRF_INPUT.search(page.text).group(1)
    answer = await client.post("/staff/login", data={"username": f"can.bo.{role}", "password": PASSWORD,
                                                     "_csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303
    return CSRF_INPUT.search((await client.get("/staff/")).text).group(1)


# --- ids ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("response_id", [*TOO_LARGE, "0", "-1"])
async def test_a_response_id_outside_the_databases_range_is_refused_naming_it(client, response_id):
    await _sign_in(client)
    reply = await client.get(f"/staff/responses/{response_id}")
    assert reply.status_code == 400, reply.text
    assert "response_id" in reply.text


@pytest.mark.parametrize("path", ["/staff/kiosks/{id}/revoke", "/staff/outbox/{id}/retry"])
async def test_a_posted_id_outside_the_databases_range_is_refused_naming_it(client, path):
    token = await _sign_in(client)
    for value in TOO_LARGE:
        reply = await client.post(path.format(id=value), data={"_csrf_token": token}, follow_redirects=False)
        assert reply.status_code == 400, reply.text
        assert ("kiosk_id" if "kiosk" in path else "job_id") in reply.text


async def test_the_largest_id_is_simply_not_found(client):
    token = await _sign_in(client)
    assert (await client.get("/staff/responses/2147483647")).status_code == 404
    revoke = await client.post("/staff/kiosks/2147483647/revoke", data={"_csrf_token": token})
    assert revoke.status_code == 404


async def test_only_an_administrator_retries_a_job(client):
    token = await _sign_in(client, role="quality")
    reply = await client.post("/staff/outbox/1/retry", data={"_csrf_token": token}, follow_redirects=False)
    assert reply.status_code == 403 and reply.json()["status_code"] == 403


# --- dates ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "parameter"), [
    ({"from": "0001-01-01", "to": "0001-01-02"}, "from"),
    ({"from": "0001-01-01T00:00:00+01:00", "to": "2026-01-01"}, "from"),
    ({"from": "2026-01-01", "to": "9999-12-31T23:59:59-12:00"}, "to"),
    ({"from": "0226-01-01", "to": "2026-12-31"}, "from"),
    ({"from": "yesterday", "to": "2026-12-31"}, "from"),
])
async def test_decision_dates_outside_a_sane_window_are_refused_naming_the_parameter(client, query, parameter):
    key, _ = await create_api_key("switchboard")
    reply = await client.get("/api/v1/contacts/decisions", params=query, headers={"authorization": f"Bearer {key}"})
    assert reply.status_code == 400, reply.text
    body = reply.json()
    assert body["status_code"] == 400 and body["parameter"] == parameter and body["detail"].startswith(parameter)


@pytest.mark.parametrize("period", ["0226-01-01..2026-12-31", "0001-01", "2026-01-01..9999-12-31"])
async def test_a_scores_period_outside_the_window_is_refused_naming_the_parameter(client, period):
    key, _ = await create_api_key("switchboard")
    reply = await client.get("/api/v1/scores", params={"questionnaire": "post-call", "period": period},
                             headers={"authorization": f"Bearer {key}"})
    assert reply.status_code == 400, reply.text
    assert reply.json()["parameter"] == "period" and reply.json()["detail"].startswith("period:")


# --- problems -------------------------------------------------------------------------------------------------------


async def test_an_unexpected_error_is_a_logged_problem_body(client, monkeypatch, caplog):
    async def broken(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr("survey.controllers.contacts.decision_report", broken)
    key, _ = await create_api_key("switchboard")
    with caplog.at_level(logging.ERROR, logger="survey.web"):
        reply = await client.get("/api/v1/contacts/decisions", params={"from": "2026-01-01", "to": "2026-02-01"},
                                 headers={"authorization": f"Bearer {key}", "accept": "text/html"})
    assert reply.status_code == 500
    assert reply.json() == {"status_code": 500, "detail": "Internal Server Error"}
    assert "disk is full" not in reply.text and "Traceback" not in reply.text
    assert any("disk is full" in str(record.exc_info) for record in caplog.records)


async def test_a_body_of_the_wrong_shape_is_422_naming_the_field(client):
    key, _ = await create_api_key("switchboard")
    reply = await client.post("/api/v1/optouts", json={"phone": 12}, headers={"authorization": f"Bearer {key}"})
    assert reply.status_code == 422
    assert reply.json()["detail"].startswith("invalid body: phone:")
    malformed = await client.post("/api/v1/optouts", content=b"{not json", headers={
        "authorization": f"Bearer {key}", "content-type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["status_code"] == 400


async def test_the_openapi_document_shows_every_request_body_and_refusal(client):
    document = (await client.get("/schema/openapi.json")).json()
    operations = {(method.upper(), path): operation for path, item in document["paths"].items()
                  for method, operation in item.items()}
    for (method, path), operation in operations.items():
        if method == "POST":
            assert operation.get("requestBody"), path
    contacts = operations[("POST", "/api/v1/contacts")]
    assert {"400", "401", "403", "413", "422"} <= set(contacts["responses"])
    body = contacts["requestBody"]["content"]["application/json"]["schema"]
    assert [ref["$ref"].rsplit("/", 1)[-1] for ref in body["oneOf"]] == ["ContactEvent", "ContactBatch"]
    assert "errors" in document["components"]["schemas"]["ProblemBody"]["properties"]


# --- security headers -----------------------------------------------------------------------------------------------


def _assert_secure(reply, path: str) -> None:
    policy = reply.headers.get("content-security-policy", "")
    assert all(part in policy for part in CSP_PARTS), (path, policy)
    assert "unsafe-inline" not in policy, path
    assert reply.headers.get("x-content-type-options") == "nosniff", path
    assert reply.headers.get("referrer-policy") == "no-referrer", path
    if not path.startswith("/static/"):
        assert reply.headers.get("cache-control") == "no-store", path


async def test_every_page_and_api_answer_carries_the_security_headers(client):
    key, _ = await create_api_key("switchboard")
    api = {"authorization": f"Bearer {key}"}
    public = ["/health", "/s/not-a-token", "/q/HN-BD-Q1", "/q/NO-SUCH", "/o/not-a-token", "/kiosk/HN-BD-Q1",
              "/staff/login", "/staff/", "/static/public.css", "/static/kiosk.js", "/schema/openapi.json", "/nowhere"]
    for path in public:
        _assert_secure(await client.get(path, follow_redirects=False), path)
    for path, params in [("/api/v1/scores", {"questionnaire": "post-call", "period": "2026-05"}),
                         ("/api/v1/contacts/decisions", {"from": "2026-01-01", "to": "2026-02-01"})]:
        _assert_secure(await client.get(path, params=params, headers=api), path)
        _assert_secure(await client.get(path, params=params), path)  # refused: 401
    _assert_secure(await client.post("/api/v1/contacts", json={}, headers=api), "/api/v1/contacts")
    await _sign_in(client)
    for path in ["/staff/", "/staff/scores", "/staff/kiosks/", "/staff/sandbox", "/staff/outbox",
                 "/staff/responses/1"]:
        _assert_secure(await client.get(path, follow_redirects=False), path)


async def test_no_page_carries_inline_script_or_style(client):
    await _sign_in(client)
    for path in ["/staff/login", "/staff/", "/staff/scores", "/staff/kiosks/", "/q/HN-BD-Q1", "/s/not-a-token"]:
        page = (await client.get(path)).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
        assert "<style" not in page and " style=" not in page, path


# --- NUL characters -------------------------------------------------------------------------------------------------


async def test_a_nul_in_a_survey_comment_is_removed_and_the_answer_kept(client):
    from survey.services.invitations import LinkSpec, create_links
    from survey.tables import Answer

    [token] = await create_links([LinkSpec("counter", "HN-BD", service_code="HIC")])
    reply = await client.post(f"/s/{token}", headers={"accept": "application/json"},
                              json={"answers": {"overall": 5, "complained": "no", "comment": "Tốt\u0000 lắm"}})
    assert (reply.status_code, reply.json()) == (200, {"status": "complete"})
    [comment] = await Answer.select(Answer.value_text).where(Answer.question_id == "comment")
    assert comment["value_text"] == "Tốt lắm"


async def test_a_nul_in_a_form_or_a_query_never_reaches_the_database(client):
    from survey.services.invitations import LinkSpec, create_links
    from survey.tables import Answer

    [token] = await create_links([LinkSpec("counter", "HN-BD", service_code="HIC")])
    page = await client.post(f"/s/{token}", content=b"page=1&overall=5&complained=no&comment=ok%00", headers={
        "content-type": "application/x-www-form-urlencoded"})
    assert page.status_code == 200
    counter = await client.get("/q/HN-BD-Q1%00")
    assert counter.status_code == 200  # the same counter, the NUL removed
    key, _ = await create_api_key("switchboard")
    scores = await client.get("/api/v1/scores", params={"questionnaire": "post\u0000-call", "period": "2026-05"},
                              headers={"authorization": f"Bearer {key}"})
    assert scores.status_code < 500
    assert all("\u0000" not in (row["value_text"] or "") for row in await Answer.select(Answer.value_text))


async def test_a_contact_event_outside_the_date_window_is_refused_naming_the_field(client):
    key, _ = await create_api_key("switchboard")
    events = [{"source": "switchboard", "external_id": f"e{i}", "channel": "call", "unit": "HN-BD",
               "occurred_at": moment} for i, moment in enumerate(["9999-12-31T23:59:59-12:00",
                                                                   "0001-01-01T00:00:00+01:00"])]
    reply = await client.post("/api/v1/contacts", json={"events": events}, headers={"authorization": f"Bearer {key}"})
    assert reply.status_code == 422, reply.text
    assert [(e["index"], e["field"]) for e in reply.json()["errors"]] == [(0, "occurred_at"), (1, "occurred_at")]
