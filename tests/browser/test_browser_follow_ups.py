"""The follow-up loop in Chromium, at 360 px and at 1366 px: an unhappy counter visitor's case in the quality
team's queue, started and closed through its page; the responses list and the calendar; axe-core finds no
serious or critical violation and nothing scrolls sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

def test_a_case_is_worked_and_closed_on_a_phone_and_the_pages_pass_axe(survey, live_server, sign_in, page_checks):
    check = page_checks

    survey.open(live_server.link("unhappy"))
    survey.press("next")
    survey.choose("complained", "no")
    survey.press("next")
    survey.choose("overall", 1)
    survey.write("comment", "Chờ quá lâu, không ai hướng dẫn (kiểm thử phiếu xử lý)")
    survey.press("submit")
    survey.shows("thanks")

    phone = sign_in("chatluong.hanoi")
    phone.goto("/staff/follow-ups")
    row = phone.locator("table#cases tbody tr").first
    expect(row).to_be_visible()
    check(phone, "follow-up queue", 360)
    row.locator("a").first.tap()
    expect(phone.locator("#case-facts")).to_have_attribute("data-status", "open")
    check(phone, "follow-up case", 360)

    phone.locator("#comment").fill("Đã gọi, hẹn gọi lại")
    with phone.expect_navigation():
        phone.locator("#status-form button[type=submit]").tap()
    expect(phone.locator("#case-facts")).to_have_attribute("data-status", "in_progress")
    with phone.expect_navigation():  # closing without its answers is refused, the fields marked
        phone.locator("#outcome").fill("Đã hướng dẫn lại")
        phone.evaluate("document.querySelector('#status-form').noValidate = true")
        phone.locator("#status-form button[type=submit]").tap()
    expect(phone.locator("#case-error")).to_be_visible()
    check(phone, "follow-up case with an error", 360)
    phone.locator("#outcome").fill("Đã hướng dẫn lại thủ tục qua điện thoại")
    phone.locator("#root_cause").select_option("other")
    phone.locator("label[for=resolved-yes]").tap()
    phone.locator("#note").fill("Người dân cảm ơn")
    with phone.expect_navigation():
        phone.locator("#status-form button[type=submit]").tap()
    expect(phone.locator("#case-facts")).to_have_attribute("data-status", "closed")
    expect(phone.locator("#journal li")).to_have_count(3)  # opened, in progress, closed

    phone.goto("/staff/responses?overall_max=2")
    expect(phone.locator("#response-count")).to_be_visible()
    check(phone, "responses list", 360)

    phone.goto("/staff/alerts?status=all")
    expect(phone.locator("main h1")).to_be_visible()
    check(phone, "alerts", 360)

    desk = sign_in("chatluong.hanoi", desk=True)
    desk.goto("/staff/follow-ups?status=all")
    check(desk, "follow-up queue at a desk", 1366)
    desk.locator("table#cases tbody tr a").first.click()
    expect(desk.locator("#case-facts")).to_be_visible()
    check(desk, "a case at a desk", 1366)
    desk.locator("#case-facts a[href^='/staff/responses/']").first.click()
    expect(desk.locator("main h1")).to_be_visible()
    check(desk, "the case's response at a desk", 1366)
    desk.goto("/staff/responses")
    check(desk, "responses list at a desk", 1366)
    admin = sign_in("quantri", desk=True)
    admin.goto("/staff/calendar?year=2026")
    expect(admin.locator('tr[data-day="2026-02-17"]')).to_be_visible()
    check(admin, "working calendar", 1366)
    admin_phone = sign_in("quantri")
    admin_phone.goto("/staff/calendar?year=2026")
    check(admin_phone, "working calendar on a phone", 360)

    page_checks.assert_clean()
