"""Strict input at the boundary (SQLite and PostgreSQL): an external id reused with other content, a body that is
not declared as JSON, an answer to a question the questionnaire does not have, and an import row with an unknown
answer or an empty required one are refused, naming what was wrong, and write nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from survey.services.response_import import import_responses
from survey.tables import Answer, Contact, Invitation, Job, Respondent, Response

OCCURRED = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)


async def _key(source: str = "switchboard") -> dict[str, str]:
    from survey.services.apikeys import create_api_key

    key, _ = await create_api_key(source)
    return {"authorization": f"Bearer {key}"}


def _event(external_id: str = "C-1", **fields: object) -> dict:
    event = {"source": "switchboard", "external_id": external_id, "channel": "call", "unit": "HN-BD",
             "service": "HOTLINE", "occurred_at": OCCURRED.isoformat(), "phone": "0912 345 678", "language": "vi",
             "agent": "agent-07"}
    event.update(fields)
    return {k: v for k, v in event.items() if v is not None}


async def _counts() -> dict[str, int]:
    return {t.__name__: await t.count() for t in (Contact, Respondent, Invitation, Job)}


# --- a re-posted contact event ------------------------------------------------------------------------------------


async def test_a_reposted_event_with_other_content_is_409_naming_the_differing_fields(client):
    headers = await _key()
    first = await client.post("/api/v1/contacts", json=_event(), headers=headers)
    assert first.status_code == 201, first.text
    before = await _counts()
    later = (OCCURRED + timedelta(minutes=3)).isoformat()
    reply = await client.post("/api/v1/contacts", json=_event(unit="HN-CG", occurred_at=later), headers=headers)
    assert reply.status_code == 409, reply.text
    body = reply.json()
    assert body["detail"] == "external_id 'C-1' was posted before with different unit, occurred_at"
    assert body["errors"] == [{"index": 0, "field": "external_id", "message": body["detail"]}]
    assert await _counts() == before


async def test_a_different_phone_or_email_is_named_without_showing_either(client):
    headers = await _key()
    assert (await client.post("/api/v1/contacts", json=_event(), headers=headers)).status_code == 201
    reply = await client.post("/api/v1/contacts", json=_event(phone="0987 654 321", email="lan@example.vn"),
                              headers=headers)
    assert reply.status_code == 409
    assert reply.json()["detail"].endswith("with different phone, email")
    assert "0987" not in reply.text and "lan@" not in reply.text
    [row] = await Contact.select(Contact.decision)
    assert "0912" not in str(row["decision"]) and "345" not in str(row["decision"])  # only keyed hashes are kept


async def test_the_same_event_again_stays_idempotent_with_the_first_decision(client):
    headers = await _key()
    first = await client.post("/api/v1/contacts", json=_event(), headers=headers)
    before = await _counts()
    # the same content written differently: the phone spaced otherwise, the time in another offset
    again = await client.post("/api/v1/contacts", headers=headers, json=_event(
        phone="+84912345678", occurred_at=OCCURRED.astimezone(datetime.now().astimezone().tzinfo).isoformat()))
    assert again.status_code == 200, again.text
    assert again.json() == {**first.json(), "duplicate": True}
    assert await _counts() == before


async def test_a_batch_with_one_conflicting_event_writes_nothing_and_names_its_index(client):
    headers = await _key()
    assert (await client.post("/api/v1/contacts", json=_event(), headers=headers)).status_code == 201
    before = await _counts()
    batch = {"events": [_event("C-2"), _event(agent="agent-99")]}
    reply = await client.post("/api/v1/contacts", json=batch, headers=headers)
    assert reply.status_code == 409
    assert reply.json()["errors"] == [{"index": 1, "field": "external_id",
                                       "message": "external_id 'C-1' was posted before with different agent"}]
    assert await _counts() == before


async def test_a_repeat_inside_one_batch_with_other_content_is_409_and_an_identical_one_a_duplicate(client):
    headers = await _key()
    conflicting = await client.post("/api/v1/contacts", headers=headers,
                                    json={"events": [_event("C-3"), _event("C-3", service="PENSION")]})
    assert conflicting.status_code == 409
    assert conflicting.json()["errors"][0]["message"] == "external_id 'C-3' was posted before with different service"
    assert (await _counts())["Contact"] == 0
    same = await client.post("/api/v1/contacts", headers=headers, json={"events": [_event("C-3"), _event("C-3")]})
    assert same.status_code == 201
    assert [r["duplicate"] for r in same.json()["results"]] == [False, True]


async def test_a_contact_file_reusing_an_imported_external_id_names_the_row(reference):
    from survey.services.contact_csv import check_csv_references, read_contacts_csv
    from survey.services.contacts import ContactEvent, accept_contacts

    await accept_contacts([ContactEvent(source="switchboard", external_id="C-1", channel="call", unit="HN-BD",
                                        service="HOTLINE", occurred_at=OCCURRED, phone="0912345678")])
    data = ("source,external_id,channel,unit,service,occurred_at,phone\n"
            f"switchboard,C-1,call,HN-BD,HOTLINE,{OCCURRED.isoformat()},0912345678\n"
            f"switchboard,C-9,call,HN-BD,HOTLINE,{OCCURRED.isoformat()},0912345678\n"
            f"switchboard,C-1,call,HN-CG,HOTLINE,{OCCURRED.isoformat()},0912345678\n").encode()
    first_half = read_contacts_csv(data.rsplit(b"\n", 2)[0] + b"\n")
    await check_csv_references(first_half)
    assert first_half.errors == []  # the same row again is no error (it is reported as already imported)
    reading = read_contacts_csv(data.replace(b"switchboard,C-1,call,HN-BD", b"switchboard,C-0,call,HN-BD"))
    await check_csv_references(reading)
    assert reading.errors == [(4, "external_id: external_id 'C-1' was posted before with different unit")]


# --- JSON bodies need a JSON content type -------------------------------------------------------------------------


def _json_routes() -> list[tuple[str, str]]:
    """Every route of the app that takes a JSON body: (method, path)."""
    from survey.app import create_app
    from survey.web import takes_json_body

    app = create_app()
    return sorted((method, route.path) for route in app.routes for handler in getattr(route, "route_handlers", [])
                  if takes_json_body(handler) for method in handler.http_methods)


def test_the_json_endpoints_are_found():
    assert {("POST", "/api/v1/contacts"), ("POST", "/api/v1/optouts"), ("POST", "/api/v1/tickets")} <= set(
        _json_routes())


@pytest.mark.parametrize(("method", "path"), _json_routes())
async def test_a_json_endpoint_answers_415_to_text_plain_and_writes_nothing(client, method, path):
    headers = await _key()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        sent = {**headers, **({"content-type": content_type} if content_type else {})}
        reply = await client.request(method, path, content=b'{"phone": "0912345678"}', headers=sent)
        assert reply.status_code == 415, (content_type, reply.text)
        assert "Content-Type: application/json" in reply.json()["detail"]
        assert reply.json()["allowed"] == ["application/json", "application/*+json"]
    assert await _counts() == {"Contact": 0, "Respondent": 0, "Invitation": 0, "Job": 0}


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "application/vnd.switchboard+json"])
async def test_json_with_a_charset_or_a_json_suffix_type_is_accepted(client, content_type):
    import json

    reply = await client.post("/api/v1/contacts", content=json.dumps(_event()).encode(),
                              headers={**await _key(), "content-type": content_type})
    assert reply.status_code == 201, reply.text


async def test_the_openapi_document_shows_the_415_of_every_json_endpoint(client):
    document = (await client.get("/schema/openapi.json")).json()
    for method, path in _json_routes():
        assert "415" in document["paths"][path][method.lower()]["responses"], path
    assert "409" in document["paths"]["/api/v1/contacts"]["post"]["responses"]


async def test_the_staff_and_public_forms_still_post(client):
    from survey.services.invitations import LinkSpec, create_links
    from tests.support.staff import add_staff_user, sign_in

    await add_staff_user("bd.manager", "unit_manager", "HN-BD")
    assert (await sign_in(client, "bd.manager")).status_code == 303
    [token] = await create_links([LinkSpec(questionnaire_key="counter", unit_code="HN-BD", service_code="SIB",
                                           language="vi")])
    page = await client.post(f"/s/{token}", data={"page": "1", "access_place": "4"})
    assert page.status_code == 200 and "survey-form" in page.text


# --- answers to questions the questionnaire does not have ---------------------------------------------------------


async def test_an_unknown_answer_key_in_an_api_submission_is_refused_naming_it(client):
    from survey.services.invitations import LinkSpec, create_links

    [token] = await create_links([LinkSpec(questionnaire_key="counter", unit_code="HN-BD", service_code="SIB",
                                           language="vi")])
    answers = {"overall": 5, "complained": "no", "overal": 4, "servant_atitude": 3}
    reply = await client.post(f"/s/{token}", json={"answers": answers}, headers={"accept": "application/json"})
    assert reply.status_code == 422, reply.text
    errors = reply.json()["errors"]
    assert set(errors) >= {"overal", "servant_atitude"}
    assert errors["overal"].startswith("'overal' is not a question of counter version")
    assert await Response.count().where(Response.status == "complete") == 0


# --- imports ------------------------------------------------------------------------------------------------------

HEADER = "response_id,questionnaire,version,unit,service,channel,submitted_at,language,reach,overall,resolved,comment"
GOOD = "r-1,post-call,1,HN-BD,HOTLINE,call,2026-05-03 10:00,vi,5,4,yes,Cảm ơn"


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


async def test_an_import_with_an_unknown_column_names_it_and_writes_nothing(reference):
    result = await import_responses(_csv(GOOD + ",5", header=HEADER + ",overall_rating"))
    assert [(p.row, p.column) for p in result.problems] == [(1, "overall_rating")]
    assert "unknown question column" in result.problems[0].message
    assert not result.written and (await Response.count(), await Answer.count()) == (0, 0)


async def test_an_import_row_answering_a_question_its_version_lacks_names_row_and_field(reference):
    header = HEADER + ",servant_attitude"  # a counter question: known to the file, not to post-call
    result = await import_responses(_csv(GOOD + ",", "r-2,post-call,1,HN-BD,HOTLINE,call,2026-05-03 11:00,vi,"
                                                      "5,4,yes,,4", header=header))
    assert [(p.row, p.column) for p in result.problems] == [(3, "servant_attitude")]
    assert "has no such question" in result.problems[0].message
    assert not result.written and await Response.count() == 0


async def test_an_import_row_with_an_empty_required_answer_names_row_and_field_and_nothing_is_written(reference):
    result = await import_responses(_csv(GOOD, "r-2,post-call,1,HN-BD,HOTLINE,call,2026-05-03 11:00,vi,5,,yes,",
                                         "r-3,post-call,1,HN-BD,HOTLINE,call,2026-05-03 12:00,vi,5,4,,"))
    assert [(p.row, p.column) for p in result.problems] == [(3, "overall"), (4, "resolved")]
    assert str(result.problems[0]) == ("row 3, column overall: a required answer is empty; allowed: a whole number "
                                       "from 1 to 5")
    assert "allowed: yes, partly, no" in result.problems[1].message
    assert not result.written and (await Response.count(), await Answer.count()) == (0, 0)


async def test_a_required_question_that_skip_logic_hides_may_stay_empty(reference):
    header = "response_id,questionnaire,version,unit,service,channel,submitted_at,language,overall,complained"
    result = await import_responses(_csv("k-1,counter,2,HN-BD,SIB,counter,2026-05-03 10:00,vi,4,no", header=header))
    assert result.problems == [] and result.imported == 1
