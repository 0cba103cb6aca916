"""The data subjects' requests page in Chromium on a phone (360 px) and at a desk: an administrator records a
request, sees it with its due dates (the subject masked), acknowledges it and reaches the erasure's confirmation;
axe-core finds no serious or critical violation and nothing scrolls sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_an_administrator_records_and_acknowledges_a_request_on_a_phone(live_server, sign_in, page_checks):
    check = page_checks

    phone = sign_in("quantri")
    phone.goto("/staff/rights")
    check(phone, "rights requests, none yet, on a phone", 360)
    phone.locator("select#kind").select_option("erase")
    phone.locator("input#subject").fill("0912 888 777")
    phone.locator("input#note").fill("Đơn yêu cầu xoá dữ liệu số 5/2026")
    with phone.expect_navigation():
        phone.locator('form[action="/staff/rights"] button[type="submit"]').click()
    row = phone.locator("table#rights-requests tbody tr").first
    expect(row).to_contain_text("+84 91* *** 777")
    expect(row).not_to_contain_text("0912 888 777")
    check(phone, "rights requests on a phone", 360)
    with phone.expect_navigation():
        row.locator('form[action$="/acknowledge"] button').click()
    expect(phone.locator("p.notice")).to_be_visible()
    with phone.expect_navigation():
        phone.locator("table#rights-requests tbody tr").first.locator('a[href$="/erase"]').click()
    expect(phone.locator('[data-confirm="erase"]')).to_be_visible()
    check(phone, "erasure confirmation on a phone", 360)

    desk = sign_in("quantri", desk=True)
    desk.goto("/staff/rights")
    check(desk, "rights requests at a desk", 1366)
    page_checks.assert_clean()
