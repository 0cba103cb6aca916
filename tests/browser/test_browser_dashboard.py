"""The dashboard in Chromium, at 360 px and at 1366 px: the index, the criteria with their sparklines, the
children's heatmap; a tap on a figure lands on the responses behind it, as many as the figure's n; axe-core
finds no serious or critical violation and nothing scrolls sideways."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_dashboard_drills_down_to_its_responses_on_a_phone_and_at_a_desk(live_server, sign_in, page_checks):
    check = page_checks

    phone = sign_in("chatluong.hanoi")
    phone.goto("/staff/")
    expect(phone.locator("#dashboard-scope")).to_have_attribute("data-unit", "HN")
    expect(phone.locator("#index-card [data-measure=index]")).to_be_visible()  # Cầu Giấy's 40 answers carry it
    expect(phone.locator("table#criteria svg.spark").first).to_be_visible()
    cell = phone.locator('table#heatmap tr[data-unit="HN-CG"] td[data-criterion="access"] a')
    expect(cell).to_have_text(re.compile(r"\d+%"))
    expect(phone.locator('table#heatmap tr[data-unit="HN-DD"]')).to_contain_text("n = 12")  # below 30: its n only
    check(phone, "dashboard", 360)
    n = cell.get_attribute("data-drill")
    cell.tap()
    expect(phone.locator("#response-count")).to_have_attribute("data-total", n)
    expect(phone.locator("table#responses tbody tr")).to_have_count(int(n))
    check(phone, "responses behind a heatmap cell", 360)

    desk = sign_in("chatluong.hanoi", desk=True)
    desk.goto("/staff/?lang=en")
    expect(desk.locator("h1")).to_have_text("Dashboard")
    check(desk, "dashboard at a desk", 1366)
    whole = desk.locator("#index-card a.drill")
    total = whole.get_attribute("data-drill")
    assert int(total or 0) >= 52  # Cầu Giấy's 40 and Đống Đa's 12, and what other tests answered
    whole.click()
    expect(desk.locator("#response-count")).to_have_attribute("data-total", total)
    desk.goto("/staff/?period=nonsense")
    expect(desk.locator("p.error")).to_contain_text("period")
    check(desk, "dashboard with a bad choice", 1366)

    page_checks.assert_clean()
