"""Staff see the responses of their own unit's subtree, and only those."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_a_unit_manager_sees_their_units_new_response_and_another_units_manager_does_not(
        survey, live_server, sign_in):
    marker = "Quầy Ba Đình phục vụ nhanh gọn (kiểm thử phạm vi)"
    survey.open(live_server.link("staff_scope"))
    survey.press("next")
    survey.choose("complained", "no")
    survey.press("next")
    survey.choose("overall", 5)
    survey.write("comment", marker)
    survey.press("submit")
    survey.shows("thanks")

    ba_dinh = sign_in("quanly.badinh")
    ba_dinh.goto("/staff/responses")
    expect(ba_dinh.locator("main")).to_contain_text(marker)

    district_1 = sign_in("quanly.quan1")
    district_1.goto("/staff/responses")
    expect(district_1.locator("main")).to_be_visible()
    expect(district_1.locator("main")).not_to_contain_text(marker)
