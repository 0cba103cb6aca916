"""Every kind of page passes axe-core (no serious or critical violation) and fits a 360 px phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_every_page_kind_is_accessible_and_fits_a_phone(survey, live_server, sign_in, axe_problems):
    problems: list[str] = []

    def check(tab, what: str) -> None:
        problems.extend(axe_problems(tab, what))
        width = tab.evaluate("document.documentElement.scrollWidth")
        if width > 360:
            problems.append(f"{what} ({tab.url}): {width} px wide, it scrolls sideways on a 360 px phone")

    page = survey.page
    survey.open(live_server.link("axe"))
    survey.shows("survey")
    check(page, "survey page")

    survey.press("next")
    survey.press("next")  # the required "complained" question left unanswered
    expect(survey.error("complained")).to_be_visible()
    check(page, "survey page with an error")

    survey.choose("complained", "no")
    survey.press("next")
    survey.choose("overall", 4)
    survey.press("submit")
    survey.shows("thanks")
    check(page, "thank-you page")

    survey.open(live_server.link("axe"))
    survey.shows("used")
    check(page, "already-answered page")

    survey.open(f"{live_server.url}/s/khongTonTai456")
    survey.shows("unknown")
    check(page, "unknown-link page")

    survey.open(live_server.link("expired"))
    survey.shows("expired")
    check(page, "expired-link page")

    page.goto("/staff/login")
    check(page, "staff login")

    staff = sign_in("quanly.badinh")
    staff.goto("/staff/")
    check(staff, "staff dashboard")
    staff.goto("/staff/responses")
    check(staff, "staff responses")
    staff.goto("/staff/reports")
    expect(staff.locator("form select[name=kind]")).to_be_visible()
    check(staff, "staff reports")

    quality = sign_in("chatluong.hanoi")
    quality.goto("/staff/scores")
    expect(quality.locator('tr[data-unit="HN-CG"] [data-measure="index"] strong')).to_be_visible()  # real numbers
    expect(quality.locator('tr[data-unit="HN-DD"] [data-measure="index"]')).to_contain_text("n = 12 < 30")
    check(quality, "staff scores")
    quality.goto("/staff/scores?by=service&lang=en")
    check(quality, "staff scores by service, in English")

    assert not problems, "\n".join(problems)


def test_each_survey_page_fits_a_360px_phone(survey, live_server):
    survey.open(live_server.link("narrow"))
    survey.fits_phone()
    for question, value in [("reach", 5), ("waiting_time", 4), ("courtesy", 5), ("clarity", 5), ("usefulness", 4)]:
        survey.choose(question, value)
    survey.press("next")
    # the 0–10 recommendation scale is the widest row of the survey
    expect(survey.question("recommend")).to_be_visible()
    survey.fits_phone()
    survey.press("submit")  # required questions left out: the page with errors must fit too
    expect(survey.error("resolved")).to_be_visible()
    survey.fits_phone()
    survey.choose("resolved", "yes")
    survey.choose("overall", 5)
    survey.choose("recommend", 10)
    survey.press("submit")
    survey.shows("thanks")
    survey.fits_phone()
