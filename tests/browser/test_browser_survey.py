"""Answering surveys on a phone: tapping through, switching language, errors, resuming, used links."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

REQUIRED_VI = "Vui lòng trả lời câu hỏi này."


def test_counter_survey_answered_in_vietnamese_by_tapping(survey, live_server):
    survey.open(live_server.link("counter_vi"))
    survey.shows("survey")
    expect(survey.page.locator("html")).to_have_attribute("lang", "vi")

    for question, value in [("access_place", 4), ("access_facilities", 3), ("procedure_public", 5),
                            ("procedure_documents", 4)]:
        survey.choose(question, value)
    survey.press("next", "Tiếp tục")

    expect(survey.question("servant_attitude")).to_be_visible()
    for question, value in [("servant_attitude", 5), ("servant_guidance", 4), ("result_time", 2),
                            ("result_accuracy", 4)]:
        survey.choose(question, value)
    survey.choose("complained", "yes")
    survey.press("next", "Tiếp tục")

    # having complained, the person is asked how the complaint was handled
    expect(survey.question("feedback_easy")).to_be_visible()
    survey.choose("feedback_easy", 3)
    survey.choose("feedback_handled", 4)
    survey.choose("overall", 4)
    survey.write("comment", "Cán bộ hướng dẫn tận tình, nhưng phải chờ lâu.")
    survey.press("submit", "Gửi")

    survey.shows("thanks")
    expect(survey.page.locator("main")).to_be_visible()


def test_post_call_survey_answered_in_english_via_the_switch(survey, live_server):
    survey.open(live_server.link("post_call_en"))
    expect(survey.question("reach")).to_contain_text("Ông/Bà")
    survey.follow(survey.page.locator('a[hreflang="en"]'))

    expect(survey.question("reach")).to_contain_text("How easy was it to get through to an agent?")
    expect(survey.page.locator("html")).to_have_attribute("lang", "en")
    for question, value in [("reach", 4), ("waiting_time", 3), ("courtesy", 5), ("clarity", 4), ("usefulness", 5)]:
        survey.choose(question, value)
    survey.press("next", "Continue")

    expect(survey.question("resolved")).to_contain_text("Has your issue been resolved?")
    survey.choose("resolved", "partly")
    survey.choose("overall", 4)
    survey.choose("recommend", 9)
    survey.write("comment", "The agent was patient and clear.")
    survey.press("submit", "Submit")

    survey.shows("thanks")
    expect(survey.page.locator("html")).to_have_attribute("lang", "en")


def test_skipping_a_required_question_shows_the_error_beside_it_and_keeps_the_answers(survey, live_server):
    survey.open(live_server.link("validation"))
    survey.choose("access_place", 5)
    survey.press("next")

    survey.choose("servant_attitude", 2)
    survey.choose("result_time", 3)
    survey.press("next")  # "complained" is required and left unanswered

    error = survey.error("complained")
    expect(error).to_be_visible()
    expect(error).to_have_text(REQUIRED_VI)
    # the message sits with its question, and the question points at it
    assert survey.question("complained").locator("#err-complained").count() == 1
    assert survey.page.locator("p.error").count() == 1, "only the skipped question shows an error"
    expect(survey.radio("servant_attitude", 2)).to_be_checked()
    expect(survey.radio("result_time", 3)).to_be_checked()

    survey.choose("complained", "no")
    survey.press("next")
    expect(survey.question("overall")).to_be_visible()
    expect(survey.page.locator("p.error")).to_have_count(0)
    # no complaint: the questions about its handling are skipped
    expect(survey.question("feedback_easy")).to_have_count(0)


def test_leaving_after_page_one_and_coming_back_resumes_with_the_answers_kept(browser, survey, live_server):
    link = live_server.link("resume")
    survey.open(link)
    survey.choose("access_place", 2)
    survey.choose("procedure_public", 4)
    survey.press("next")
    expect(survey.question("servant_attitude")).to_be_visible()
    survey.page.context.close()  # the person closes the browser

    context = browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True)
    try:
        again = type(survey)(context.new_page())
        again.open(link)
        again.shows("survey")
        expect(again.question("servant_attitude")).to_be_visible()  # where they left off
        again.press("back")
        expect(again.radio("access_place", 2)).to_be_checked()
        expect(again.radio("procedure_public", 4)).to_be_checked()
        again.press("next")
        again.choose("complained", "no")
        again.press("next")
        again.choose("overall", 3)
        again.press("submit")
        again.shows("thanks")
    finally:
        context.close()


def test_reopening_an_answered_link_says_it_was_already_answered(survey, live_server):
    link = live_server.link("used")
    survey.open(link)
    survey.press("next")
    survey.choose("complained", "no")
    survey.press("next")
    survey.choose("overall", 5)
    survey.press("submit")
    survey.shows("thanks")

    survey.open(link)
    survey.shows("used")
    expect(survey.page.locator("#survey-form")).to_have_count(0)
    expect(survey.page.locator("h1")).to_be_visible()


def test_expired_and_unknown_links_say_so(survey, live_server):
    survey.open(live_server.link("expired"))
    survey.shows("expired")
    expect(survey.page.locator("#survey-form")).to_have_count(0)

    survey.open(f"{live_server.url}/s/khongTonTai123")
    survey.shows("unknown")
    expect(survey.page.locator("#survey-form")).to_have_count(0)
