"""The public survey through HTTP, as a respondent on a phone meets it (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from questionnaires import load_bundled
from survey.services.invitations import LinkSpec, create_links, survey_url

JSON = {"accept": "application/json"}
BUNDLED = load_bundled()


async def _link(key: str = "counter", **options) -> str:
    [token] = await create_links([LinkSpec(key, "HN-BD", service_code="HIC", **options)])
    return token


def _shown(html: str) -> list[str]:
    return re.findall(r'<fieldset class="question[^"]*" id="q-([a-z0-9_]+)"', html)


def _pleased(key: str, question_id: str) -> list[str]:
    """A content respondent's answer (high ratings, first option, a short comment)."""
    question = BUNDLED[key].question(question_id)
    if question.scale is not None:
        return [str(question.scale.max)]
    if question.type == "text":
        return ["Cán bộ nhiệt tình, chu đáo."]
    values = question.option_values
    return ["no"] if "no" in values and question_id in {"complained", "wrong_info"} else [values[0]]


async def _rows(table, **where):
    query = table.select()
    for column, value in where.items():
        query = query.where(getattr(table, column) == value)
    return await query


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("key", sorted(BUNDLED))
async def test_each_bundled_questionnaire_can_be_answered_to_the_end(client, key, lang):
    from survey.tables import Answer, Invitation, Response

    token = await _link(key)
    page = await client.get(f"/s/{token}?lang={lang}")
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in page.text
    assert ("Trang 1/" if lang == "vi" else "Page 1/") in page.text
    for _ in range(10):
        shown = _shown(page.text)
        assert shown, page.text
        form = {"page": re.search(r'name="page" value="(\d+)"', page.text)[1], "lang": lang}
        form |= {qid: _pleased(key, qid) for qid in shown}
        last = 'value="submit"' in page.text
        form["action"] = "submit" if last else "next"
        page = await client.post(f"/s/{token}", data=form)
        assert page.status_code == 200
        if last:
            break
        assert ("Tiếp tục" if lang == "vi" else "Continue") in page.text or "Gửi" in page.text or "Submit" in page.text
    assert 'data-page="thanks"' in page.text
    assert ("Xin cảm ơn" if lang == "vi" else "Thank you") in page.text
    [response] = await _rows(Response)
    assert (response["status"], response["language"], response["trust"]) == ("complete", lang, "one_time_link")
    assert response["submitted_at"] is not None
    assert await Answer.count().where(Answer.response == response["id"]) >= 5
    [invitation] = await _rows(Invitation)
    assert invitation["status"] == "responded" and invitation["responded_at"] is not None
    assert [entry["status"] for entry in _json(invitation["status_history"])] == ["sent", "opened", "responded"]


async def test_a_nul_character_in_a_posted_comment_is_removed_and_the_answer_kept(client):
    from survey.tables import Answer, Response

    token = await _link()
    page = await client.get(f"/s/{token}")
    for _ in range(10):
        shown = _shown(page.text)
        form = {"page": re.search(r'name="page" value="(\d+)"', page.text)[1], "lang": "vi"}
        form |= {qid: _pleased("counter", qid) for qid in shown}
        if "comment" in shown:
            form["comment"] = ["Cán bộ\x00 nhiệt tình"]
        last = 'value="submit"' in page.text
        form["action"] = "submit" if last else "next"
        page = await client.post(f"/s/{token}", data=form)
        assert page.status_code == 200
        if last:
            break
    assert 'data-page="thanks"' in page.text
    [response] = await _rows(Response)
    [comment] = await _rows(Answer, question_id="comment")
    assert (response["status"], comment["value_text"]) == ("complete", "Cán bộ nhiệt tình")


async def test_a_nul_character_in_a_json_comment_is_removed_and_the_answer_kept(client):
    from survey.tables import Answer

    token = await _link()
    body = {"answers": {"overall": 4, "complained": "no", "comment": "\x00Tốt lắm\x00"}}
    reply = await client.post(f"/s/{token}", json=body, headers=JSON)
    assert reply.status_code == 200
    [comment] = await _rows(Answer, question_id="comment")
    assert comment["value_text"] == "Tốt lắm"


def _json(value):
    import json

    return json.loads(value) if isinstance(value, str) else value


async def test_a_missing_required_answer_is_shown_beside_the_question_and_other_answers_are_kept(client):
    token = await _link()
    await client.post(f"/s/{token}", data={"page": "1", "access_place": "4", "action": "next"})
    page = await client.post(f"/s/{token}", data={"page": "2", "servant_attitude": "2", "result_time": "5",
                                                  "action": "next"})
    assert page.status_code == 200
    assert "Trang 2/3" in page.text
    complained = re.search(r'<fieldset class="question invalid" id="q-complained"[^>]*>.*?</fieldset>', page.text, re.S)
    assert complained, "the question without an answer is marked"
    assert 'aria-describedby="err-complained"' in complained[0]
    assert '<p class="error" id="err-complained">Vui lòng trả lời câu hỏi này.</p>' in complained[0]
    assert re.search(r'id="opt-servant_attitude-2" name="servant_attitude" value="2" checked', page.text)
    assert re.search(r'id="opt-result_time-5" name="result_time" value="5" checked', page.text)
    assert 'err-servant_attitude' not in page.text


async def test_leaving_after_page_one_and_coming_back_keeps_the_answers(client):
    from survey.tables import Answer, Response

    token = await _link()
    await client.post(f"/s/{token}", data={"page": "1", "access_place": "3", "procedure_public": "5",
                                           "action": "next"})
    [response] = await _rows(Response)
    assert response["status"] == "incomplete"
    assert await Answer.count().where(Answer.response == response["id"]) == 2

    back_later = await client.get(f"/s/{token}")
    assert "Trang 2/3" in back_later.text  # where the person left off
    previous = await client.post(f"/s/{token}", data={"page": "2", "result_time": "4", "action": "back"})
    assert "Trang 1/3" in previous.text
    assert re.search(r'id="opt-access_place-3" name="access_place" value="3" checked', previous.text)
    assert re.search(r'id="opt-procedure_public-5" name="procedure_public" value="5" checked', previous.text)
    forward = await client.post(f"/s/{token}", data={"page": "1", "access_place": "3", "action": "next"})
    assert re.search(r'id="opt-result_time-4" name="result_time" value="4" checked', forward.text)
    assert (await _rows(Response))[0]["status"] == "incomplete"


async def test_skip_logic_hides_follow_on_questions_and_ignores_their_answers(client):
    from survey.tables import Answer

    token = await _link()
    await client.post(f"/s/{token}", data={"page": "1", "action": "next"})
    page3 = await client.post(f"/s/{token}", data={"page": "2", "complained": "no", "action": "next"})
    assert _shown(page3.text) == ["overall", "comment"]
    done = await client.post(f"/s/{token}", data={"page": "3", "overall": "4", "feedback_easy": "1",
                                                  "action": "submit"})
    assert 'data-page="thanks"' in done.text
    stored = {row["question_id"] for row in await Answer.select(Answer.question_id)}
    assert stored == {"complained", "overall"}

    other = await _link()
    await client.post(f"/s/{other}", data={"page": "1", "action": "next"})
    page3 = await client.post(f"/s/{other}", data={"page": "2", "complained": "yes", "action": "next"})
    assert _shown(page3.text) == ["feedback_easy", "feedback_handled", "overall", "comment"]


async def test_an_expired_link_says_so(client):
    from survey.tables import Invitation

    token = await _link()
    await Invitation.update({Invitation.expires_at: datetime.now(UTC) - timedelta(minutes=1)}, force=True)
    page = await client.get(f"/s/{token}?lang=en")
    assert page.status_code == 410
    assert 'data-page="expired"' in page.text and "expired" in page.text
    vi = await client.get(f"/s/{token}")
    assert "đã hết hạn" in vi.text
    answer = await client.post(f"/s/{token}", json={"answers": {"overall": 5, "complained": "no"}}, headers=JSON)
    assert (answer.status_code, answer.json()) == (410, {"status": "expired"})


async def test_a_used_link_cannot_be_answered_again(client):
    token = await _link()
    first = await client.post(f"/s/{token}", json={"answers": {"overall": 5, "complained": "no"}}, headers=JSON)
    assert (first.status_code, first.json()) == (200, {"status": "complete"})
    again = await client.post(f"/s/{token}", json={"answers": {"overall": 1, "complained": "no"}}, headers=JSON)
    assert (again.status_code, again.json()) == (409, {"status": "already_answered"})
    page = await client.get(f"/s/{token}")
    assert page.status_code == 409 and 'data-page="used"' in page.text and "đã được trả lời" in page.text
    form = await client.post(f"/s/{token}", data={"page": "3", "overall": "1", "action": "submit"})
    assert 'data-page="used"' in form.text


async def test_json_answers_are_checked(client):
    token = await _link()
    answer = await client.post(f"/s/{token}", json={"answers": {"overall": 9}, "language": "en"}, headers=JSON)
    assert answer.status_code == 422
    assert answer.json()["errors"] == {"complained": "Please answer this question.",
                                       "overall": "Please choose a number from 1 to 5."}


async def test_unknown_links_are_not_found_and_guessing_is_rate_limited(client):
    from survey.settings import get_settings

    unknown = await client.get("/s/AAAAAAAAAAAA")
    assert unknown.status_code == 404 and 'data-page="unknown"' in unknown.text
    malformed = await client.get("/s/not-a-token!", headers=JSON)
    assert (malformed.status_code, malformed.json()) == (404, {"status": "unknown"})
    token = await _link()
    assert (await client.get(f"/s/{token}%0A")).status_code == 404
    for _ in range(get_settings().token_failures_per_window - 3):
        await client.get("/s/BBBBBBBBBBBB")
    limited = await client.get("/s/CCCCCCCCCCCC")
    assert limited.status_code == 429
    assert 'data-page="rate-limited"' in limited.text
    assert int(limited.headers["retry-after"]) > 0
    # a real link from the same address still opens: only failures are limited (tests/integration/test_throttling.py)
    assert (await client.get(f"/s/{token}")).status_code == 200


async def test_concurrent_submissions_of_one_link_store_exactly_one_response(client):
    from survey.tables import Answer, Response

    token = await _link()
    answers = [{"answers": {"overall": 1 + i % 5, "complained": "no"}} for i in range(20)]
    replies = await asyncio.gather(*(client.post(f"/s/{token}", json=a, headers=JSON) for a in answers))
    codes = sorted(r.status_code for r in replies)
    assert codes == [200] + [409] * 19
    assert all(r.json() == {"status": "already_answered"} for r in replies if r.status_code == 409)
    assert await Response.count() == 1
    assert await Answer.count() == 2


async def test_two_writers_racing_on_one_link_store_one_response(reference):
    """As two server processes would: each with its own group-commit writer."""
    from delivery.tokens import token_hash
    from survey.services.questionnaires import QuestionnaireVersions
    from survey.services.responses import Submission, submission_writer
    from survey.settings import get_settings
    from survey.tables import Response

    token = await _link()
    hashed = token_hash(token, get_settings().secret_key)
    writers = [submission_writer(QuestionnaireVersions()), submission_writer(QuestionnaireVersions())]
    for writer in writers:
        writer.start()
    try:
        outcomes = await asyncio.gather(*(
            w.submit(Submission(token_hash=hashed, raw={"overall": ["4"], "complained": ["no"]}, complete=True))
            for w in writers
        ))
    finally:
        for writer in writers:
            await writer.stop()
    assert sorted(o.status for o in outcomes) == ["complete", "used"]
    assert await Response.count() == 1


async def test_pages_are_small_and_load_nothing_from_elsewhere(client):
    token = await _link()
    pages = [await client.get(f"/s/{token}"), await client.get("/q/HN-BD-Q1"), await client.get("/s/AAAAAAAAAAAA")]
    for page in pages:
        assert len(page.content) < 50_000
        assert not re.search(r'(?:src|href|action)="(?:https?:)?//', page.text)
        assert "@import" not in page.text and "url(" not in page.text
        assert '<meta name="viewport"' in page.text
        assert page.text.count("<h1") == 1 and page.text.count("<main") == 1
        ids = re.findall(r'\bid="([^"]+)"', page.text)
        assert len(ids) == len(set(ids))
    assert 'hreflang="en" lang="en" href="?lang=en">English</a>' in pages[0].text
    english = await client.get(f"/s/{token}?lang=en")
    assert 'hreflang="vi" lang="vi" href="?lang=vi">Tiếng Việt</a>' in english.text


async def test_opening_a_link_is_recorded_once(client):
    from survey.tables import Invitation

    token = await _link()
    await client.get(f"/s/{token}")
    [first] = await _rows(Invitation)
    assert first["status"] == "opened" and first["opened_at"] is not None
    await client.get(f"/s/{token}")
    [second] = await _rows(Invitation)
    assert second["opened_at"] == first["opened_at"]
    assert len(_json(second["status_history"])) == 2


async def test_a_counter_visitor_chooses_the_service_and_answers_anonymously(client):
    from survey.tables import Counter, Response, Service

    page = await client.get("/q/HN-BD-Q1")
    assert page.status_code == 200 and 'id="q-service"' in page.text
    missing = await client.post("/q/HN-BD-Q1", data={"page": "1", "access_place": "5", "action": "next"})
    assert 'id="err-service"' in missing.text
    assert re.search(r'id="opt-access_place-5" name="access_place" value="5" checked', missing.text)
    page2 = await client.post("/q/HN-BD-Q1", data={"page": "1", "service": "PENSION", "access_place": "5",
                                                   "action": "next"})
    assert "Trang 2/3" in page2.text
    assert (await client.get("/q/HN-BD-Q1")).text.count("Trang 2/3") == 1  # the draft follows the visitor
    page3 = await client.post("/q/HN-BD-Q1", data={"page": "2", "complained": "no", "action": "next"})
    done = await client.post("/q/HN-BD-Q1", data={"page": "3", "overall": "5", "action": "submit"})
    assert 'data-page="thanks"' in done.text
    [response] = await _rows(Response)
    assert "Trang 3/3" in page3.text
    pension = (await Service.select(Service.id).where(Service.code == "PENSION"))[0]["id"]
    counter = (await Counter.select(Counter.id).where(Counter.code == "HN-BD-Q1"))[0]["id"]
    assert (response["trust"], response["channel"], response["status"]) == ("poster", "counter", "complete")
    assert (response["service"], response["counter"], response["invitation"]) == (pension, counter, None)
    fresh = await client.get("/q/HN-BD-Q1")  # the next visitor on this kiosk starts afresh
    assert "Trang 1/3" in fresh.text and 'id="q-service"' in fresh.text


async def test_a_single_service_counter_asks_no_service_and_unknown_counters_are_not_found(client):
    from survey.tables import Response, Service

    page = await client.get("/q/HN-BD-Q2")
    assert 'id="q-service"' not in page.text
    await client.post("/q/HN-BD-Q2", data={"page": "1", "action": "next"})
    [response] = await _rows(Response)
    hic = (await Service.select(Service.id).where(Service.code == "HIC"))[0]["id"]
    assert (response["service"], response["status"]) == (hic, "incomplete")
    unknown = await client.get("/q/NO-SUCH-COUNTER")
    assert unknown.status_code == 404 and 'data-page="unknown"' in unknown.text


async def test_a_low_overall_score_opens_a_follow_up_due_in_working_hours(client):
    from survey.services.followups import WORKING_TIMEZONE
    from survey.tables import FollowUp, Response

    token = await _link()
    reply = await client.post(f"/s/{token}", json={"answers": {"overall": 1, "complained": "no"}}, headers=JSON)
    assert reply.status_code == 200
    [case] = await _rows(FollowUp)
    [response] = await _rows(Response)
    assert case["response"] == response["id"] and case["unit"] == response["unit"]
    assert any("overall" in reason for reason in _json(case["reasons"]))
    due = case["due_at"].astimezone(WORKING_TIMEZONE)
    assert due.weekday() < 5
    minutes = due.hour * 60 + due.minute
    assert 7 * 60 + 30 <= minutes <= 11 * 60 + 30 or 13 * 60 <= minutes <= 16 * 60 + 30
    assert case["status"] == "open"

    content = await _link()
    await client.post(f"/s/{content}", json={"answers": {"overall": 5, "complained": "no"}}, headers=JSON)
    assert await FollowUp.count() == 1


async def test_create_links_rejects_unknown_names_and_writes_nothing(reference):
    from survey.tables import Invitation

    with pytest.raises(ValueError, match="unknown unit 'XX'"):
        await create_links([LinkSpec("counter", "HN-BD"), LinkSpec("counter", "XX")])
    with pytest.raises(ValueError, match="unknown service 'NOPE'"):
        await create_links([LinkSpec("counter", "HN-BD", service_code="NOPE")])
    with pytest.raises(ValueError, match="unknown questionnaire 'nope'"):
        await create_links([LinkSpec("nope", "HN-BD")])
    assert await Invitation.count() == 0
    tokens = await create_links([LinkSpec("post-call", "HN", channel="sms"), LinkSpec("counter", "HN-BD")])
    assert len(set(tokens)) == 2
    rows = await Invitation.select().order_by(Invitation.id)
    assert [r["status"] for r in rows] == ["planned", "sent"]
    assert all(r["token_hash"] not in tokens and len(r["token_hash"]) == 64 for r in rows)
    assert survey_url(tokens[0]) == f"http://testserver.local/s/{tokens[0]}"
