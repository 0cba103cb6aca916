"""``/staff/responses``: the filtered list of what a member of staff may read, and its export to CSV and XLSX
(streamed, within the user's units, written to the audit log)."""

from __future__ import annotations

import csv
import html
import io
from datetime import timedelta

import pytest
from test_staff_responses import NOW, add_response  # also puts the project root on sys.path

from tests.support.staff import sign_in_as


@pytest.fixture
async def responses(reference) -> dict[str, int]:
    return {
        "bd": await add_response("HN-BD", overall=5, comment="Ba Đình rất tốt"),
        "bd_low": await add_response("HN-BD", overall=1, comment="Ba Đình chờ lâu", follow_up="open",
                                     submitted_at=NOW - timedelta(hours=1)),
        "bd_quiet": await add_response("HN-BD", overall=4, submitted_at=NOW - timedelta(days=40)),
        "cg": await add_response("HN-CG", overall=2, comment="Cầu Giấy ổn", service_code="HIC"),
        "hcm": await add_response("HCM-Q1", overall=2, comment="Quận 1 phản ánh", follow_up="in_progress"),
    }


def listed(page) -> set[int]:
    import re

    return {int(x) for x in re.findall(r'data-response-id="(\d+)"', page.text)}


def total(page) -> int:
    import re

    return int(re.search(r'id="response-count" data-total="(\d+)"', page.text).group(1))


async def test_the_filters_narrow_the_list_and_its_count_within_the_users_units(client, responses):
    await sign_in_as(client, "unit_manager", "HN")
    everything = await client.get("/staff/responses")
    assert everything.status_code == 200
    assert listed(everything) == {responses["bd"], responses["bd_low"], responses["bd_quiet"], responses["cg"]}
    assert total(everything) == 4  # Hồ Chí Minh City's stays out of Hà Nội's list
    cases = [
        ({"unit": "HN-BD"}, {"bd", "bd_low", "bd_quiet"}),
        ({"service": "HIC"}, {"cg"}),
        ({"overall_max": "2"}, {"bd_low", "cg"}),
        ({"comment": "1", "unit": "HN-BD"}, {"bd", "bd_low"}),
        ({"case": "open"}, {"bd_low"}),
        ({"case": "none", "unit": "HN-BD"}, {"bd", "bd_quiet"}),
        ({"period": f"{NOW:%Y-%m}"}, {"bd", "bd_low", "cg"}),
        ({"questionnaire": "counter", "channel": "counter"}, {"bd", "bd_low", "bd_quiet", "cg"}),
        ({"questionnaire": "post-call"}, set()),
    ]
    for query, expected in cases:
        page = await client.get("/staff/responses", params=query)
        assert page.status_code == 200, query
        assert listed(page) == {responses[key] for key in expected}, query
        assert total(page) == len(expected), query


@pytest.mark.parametrize(("query", "message"), [
    ({"unit": "HCM-Q1"}, "no unit 'HCM-Q1' in your units"),
    ({"service": "NOPE"}, "no service 'NOPE'"),
    ({"channel": "fax"}, "channel: must be one of"),
    ({"period": "2026-13"}, "period:"),
    ({"case": "maybe"}, "case: must be one of"),
    ({"questionnaire": "nope"}, "no questionnaire 'nope'"),
])
async def test_a_bad_filter_is_refused_naming_it(client, responses, query, message):
    await sign_in_as(client, "unit_manager", "HN")
    page = await client.get("/staff/responses", params=query)
    assert page.status_code == 400 and message in html.unescape(page.text) and 'aria-invalid="true"' in page.text


async def test_the_export_holds_what_the_filter_shows_and_is_audited(client, responses):
    from survey.tables import AuditEvent

    await sign_in_as(client, "unit_manager", "HN")
    reply = await client.get("/staff/responses/export", params={"format": "csv", "questionnaire": "counter",
                                                                 "unit": "HN-BD"})
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    assert "attachment" in reply.headers["content-disposition"]
    text = reply.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {int(row["response_id"]) for row in rows} == {responses["bd"], responses["bd_low"], responses["bd_quiet"]}
    low = next(row for row in rows if int(row["response_id"]) == responses["bd_low"])
    assert (low["overall"], low["comment"], low["unit"], low["follow_up"]) == ("1", "Ba Đình chờ lâu", "HN-BD", "open")
    assert "access_place" in rows[0]  # every question of the questionnaire is a column
    [event] = await AuditEvent.select(AuditEvent.detail).where(AuditEvent.action == "responses_exported")
    detail = event["detail"] if isinstance(event["detail"], dict) else __import__("json").loads(event["detail"])
    assert detail["rows"] == 3 and detail["format"] == "csv" and detail["unit"] == "HN-BD"


async def test_the_xlsx_export_opens_as_a_workbook_with_the_same_rows(client, responses):
    from openpyxl import load_workbook

    await sign_in_as(client, "unit_manager", "HN")
    reply = await client.get("/staff/responses/export", params={"format": "xlsx", "overall_max": "2"})
    assert reply.status_code == 200
    sheet = load_workbook(io.BytesIO(reply.content)).active
    header, *rows = list(sheet.values)
    assert header[0] == "response_id"
    assert {row[0] for row in rows} == {responses["bd_low"], responses["cg"]}


async def test_the_export_refuses_an_unknown_format_or_a_unit_outside_the_users(client, responses):
    await sign_in_as(client, "unit_manager", "HN-BD")
    pdf = await client.get("/staff/responses/export", params={"format": "pdf"})
    assert pdf.status_code == 400 and "format: must be one of csv, xlsx" in pdf.text
    other = await client.get("/staff/responses/export", params={"format": "csv", "unit": "HN-CG"})
    assert other.status_code == 400 and "no unit 'HN-CG' in your units" in html.unescape(other.text)


async def test_the_export_reads_in_chunks_without_losing_or_repeating_a_row(client, responses, monkeypatch):
    import survey.services.browsing as browsing

    monkeypatch.setattr(browsing, "EXPORT_CHUNK", 2)
    await sign_in_as(client, "admin", "VN")
    reply = await client.get("/staff/responses/export", params={"format": "csv"})
    ids = [int(row["response_id"]) for row in csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig")))]
    assert sorted(ids) == sorted(responses.values()) and len(ids) == len(set(ids)) == 5
