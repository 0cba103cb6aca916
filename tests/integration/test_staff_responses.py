"""The recent responses page and a response's detail: what each member of staff may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.staff import sign_in_as

NOW = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)  # 09:30 in Hanoi


async def add_response(unit_code: str, *, overall: int | None = None, comment: str | None = None,
                       status: str = "complete", submitted_at: datetime = NOW, service_code: str | None = "SIB",
                       follow_up: str | None = None) -> int:
    from survey.db import write_transaction
    from survey.services.aggregates import count_responses
    from survey.services.questionnaires import latest_version
    from survey.tables import Answer, FollowUp, Response, Service, Unit

    questionnaire = await latest_version("counter")
    unit = await Unit.select(Unit.id).where(Unit.code == unit_code).first()
    service = await Service.select(Service.id).where(Service.code == service_code).first() if service_code else None
    response = Response(questionnaire=questionnaire.row_id, unit=unit["id"], service=service and service["id"],
                        channel="counter", trust="kiosk", status=status, page=3,
                        submitted_at=submitted_at if status == "complete" else None)
    await response.save()
    answers = [Answer(response=response.id, question_id="access_place", value_number=4.0)]
    if overall is not None:
        answers.append(Answer(response=response.id, question_id="overall", value_number=float(overall)))
    if comment is not None:
        answers.append(Answer(response=response.id, question_id="comment", value_text=comment))
    await Answer.insert(*answers)
    async with write_transaction():
        await count_responses([response.id])  # as every write path does
    if follow_up is not None:
        await FollowUp(response=response.id, unit=unit["id"], status=follow_up, due_at=submitted_at).save()
    return response.id


@pytest.fixture
async def responses(reference) -> dict[str, int]:
    """Responses in Ba Đình, Cầu Giấy and District 1, with comments that name where they come from."""
    return {
        "bd": await add_response("HN-BD", overall=5, comment="Ba Đình rất tốt"),
        "bd_low": await add_response("HN-BD", overall=1, comment="Ba Đình chờ lâu", follow_up="open",
                                     submitted_at=NOW - timedelta(hours=1)),
        "bd_draft": await add_response("HN-BD", comment="Ba Đình chưa gửi", status="incomplete"),
        "cg": await add_response("HN-CG", overall=4, comment="Cầu Giấy ổn", follow_up="open"),
        "hcm": await add_response("HCM-Q1", overall=2, comment="Quận 1 phản ánh", follow_up="in_progress"),
    }


async def test_a_unit_manager_sees_only_their_own_units_responses(client, responses):
    await sign_in_as(client, "unit_manager", "HN-BD")
    page = await client.get("/staff/responses")
    assert page.status_code == 200
    assert "Ba Đình rất tốt" in page.text and "Ba Đình chờ lâu" in page.text
    assert "Cầu Giấy ổn" not in page.text and "Quận 1 phản ánh" not in page.text
    assert "Ba Đình chưa gửi" not in page.text  # only complete responses
    assert '<span id="open-follow-ups">1</span>' in (await client.get("/staff/")).text


async def test_a_quality_officer_of_the_centre_sees_every_unit(client, responses):
    await sign_in_as(client, "quality", "VN")
    page = await client.get("/staff/responses")
    for comment in ("Ba Đình rất tốt", "Ba Đình chờ lâu", "Cầu Giấy ổn", "Quận 1 phản ánh"):
        assert comment in page.text
    assert '<span id="open-follow-ups">3</span>' in (await client.get("/staff/")).text


async def test_a_province_manager_sees_its_districts_but_not_other_provinces(client, responses):
    await sign_in_as(client, "unit_manager", "HN")  # quality, leader and admin see every province
    page = await client.get("/staff/responses")
    assert "Ba Đình rất tốt" in page.text and "Cầu Giấy ổn" in page.text
    assert "Quận 1 phản ánh" not in page.text


async def test_the_list_shows_local_time_unit_service_questionnaire_and_score(client, responses):
    await sign_in_as(client, "unit_manager", "HN-BD")
    page = await client.get("/staff/responses")
    assert "01/03/2026 09:30" in page.text  # Asia/Ho_Chi_Minh, not UTC
    assert "BHXH quận Ba Đình" in page.text
    assert "Sổ bảo hiểm xã hội" in page.text
    assert "Khảo sát sự hài lòng về giải quyết thủ tục hành chính" in page.text
    assert "Máy kiosk" in page.text and "Quầy" in page.text
    assert page.text.index("Ba Đình rất tốt") < page.text.index("Ba Đình chờ lâu")  # newest first
    english = await client.get("/staff/responses?lang=en")
    assert "Ba Dinh District SS" in english.text and "<h1>Responses</h1>" in english.text


async def test_long_comments_are_cut_to_an_excerpt(client, reference):
    await add_response("HN-BD", overall=3, comment="Rất " + "dài " * 100 + "KẾT THÚC")
    await sign_in_as(client, "unit_manager", "HN-BD")
    page = await client.get("/staff/responses")
    assert "Rất dài dài" in page.text and "KẾT THÚC" not in page.text and "…" in page.text


async def test_fifty_responses_a_page(client, reference):
    from survey.db import write_transaction
    from survey.services.aggregates import count_responses
    from survey.services.questionnaires import latest_version
    from survey.tables import Response, Unit

    questionnaire = await latest_version("counter")
    unit = await Unit.select(Unit.id).where(Unit.code == "HN-BD").first()
    rows = await Response.insert(*[
        Response(questionnaire=questionnaire.row_id, unit=unit["id"], channel="counter", trust="poster",
                 status="complete", submitted_at=NOW - timedelta(minutes=n))
        for n in range(55)
    ])
    async with write_transaction():
        await count_responses([r["id"] for r in rows])
    await sign_in_as(client, "unit_manager", "HN-BD")
    first = await client.get("/staff/responses")
    assert first.text.count('<tr data-response-id=') == 50
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = await client.get("/staff/responses?page=2")
    assert second.text.count('<tr data-response-id=') == 5
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text


async def test_the_detail_page_shows_every_answer_with_its_question(client, responses):
    await sign_in_as(client, "unit_manager", "HN-BD")
    page = await client.get(f"/staff/responses/{responses['bd']}")
    assert page.status_code == 200
    assert "Ông/Bà hài lòng thế nào về địa điểm nộp hồ sơ" in page.text
    assert "4 – Hài lòng" in page.text
    assert "Ba Đình rất tốt" in page.text
    english = await client.get(f"/staff/responses/{responses['bd']}?lang=en")
    assert "4 – Satisfied" in english.text


async def test_a_response_outside_the_users_scope_is_not_found(client, responses):
    await sign_in_as(client, "unit_manager", "HN-BD")
    for key in ("cg", "hcm", "bd_draft"):
        page = await client.get(f"/staff/responses/{responses[key]}")
        assert page.status_code == 404, key
        assert "Cầu Giấy" not in page.text and "Quận 1" not in page.text
    assert (await client.get("/staff/responses/999999")).status_code == 404


async def test_viewing_is_audited(client, responses):
    from survey.tables import AuditEvent

    await sign_in_as(client, "quality", "VN")
    await client.get("/staff/responses")
    await client.get(f"/staff/responses/{responses['hcm']}")
    events = await AuditEvent.select(AuditEvent.action, AuditEvent.object_id).order_by(AuditEvent.id)
    assert [e["action"] for e in events][-2:] == ["responses_listed", "response_viewed"]
    assert events[-1]["object_id"] == str(responses["hcm"])


async def test_the_detail_page_needs_a_session(client, responses):
    page = await client.get(f"/staff/responses/{responses['bd']}", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == f"/staff/login?next=/staff/responses/{responses['bd']}"


async def test_the_detail_page_names_the_counter_and_the_hotline_agent(client, responses):
    from survey.db import run_sql
    from survey.tables import Counter, Unit

    unit = await Unit.select(Unit.id).where(Unit.code == "HN-BD").first()
    counter = await Counter.select(Counter.id, Counter.code).where(Counter.unit == unit["id"]).first()
    await run_sql("UPDATE response SET counter = {} WHERE id = {}", counter["id"], responses["bd"])
    await sign_in_as(client, "unit_manager", "HN-BD")
    page = await client.get(f"/staff/responses/{responses['bd']}")
    assert f"({counter['code']})</dd>" in page.text
    assert 'id="response-agent"' not in page.text  # not a hotline contact
    assert 'href="/staff/responses">' in page.text  # back to the list
