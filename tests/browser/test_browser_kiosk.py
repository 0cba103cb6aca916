"""A kiosk tablet (800 × 1280): registered by staff in its own browser, a face tapped, answers sent, back to start."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.browser

TABLET = {"width": 800, "height": 1280}


def test_a_registered_tablet_takes_a_rating_and_returns_to_the_start(browser, live_server, axe_problems):
    context = browser.new_context(viewport=TABLET, is_mobile=True, has_touch=True, locale="vi-VN",
                                  base_url=live_server.url)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    problems: list[str] = []
    # the pages' own script and styles must pass their Content-Security-Policy (Chromium logs what it refuses)
    tab.on("console", lambda message: problems.append(f"CSP: {message.text}")
           if "Content Security Policy" in message.text else None)
    try:
        tab.goto("/kiosk/HN-BD-Q1")
        expect(tab.locator("main[data-page]")).to_have_attribute("data-page", "kiosk-refused")
        problems += axe_problems(tab, "kiosk refused")

        # a unit manager signs in on the tablet itself and registers it for counter 1
        tab.goto("/staff/login?next=/staff/kiosks/")
        tab.locator('input[name="username"]').fill("quanly.badinh")
        tab.locator('input[name="password"]').fill(STAFF_PASSWORD)
        with tab.expect_navigation():
            tab.locator('form button[type="submit"]').tap()
        expect(tab.locator("h1")).to_have_text("Máy kiosk tại quầy")
        problems += axe_problems(tab, "staff kiosks")
        tab.locator("#kiosk-counter").select_option("HN-BD-Q1")
        tab.locator("#kiosk-label").fill("Máy tính bảng quầy 1")
        with tab.expect_navigation():
            tab.locator("#kiosk-register button[type=submit]").tap()

        expect(tab.locator("main[data-page]")).to_have_attribute("data-page", "kiosk-start")
        faces = tab.get_by_role("button")
        for label in ("Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng", "Rất hài lòng"):
            expect(tab.get_by_role("button", name=label, exact=True)).to_be_visible()
        box = tab.get_by_role("button", name="Không hài lòng", exact=True).bounding_box()
        assert box and box["height"] >= 120 and box["width"] >= 120, f"a face button is small for a thumb: {box}"
        assert faces.count() >= 5
        problems += axe_problems(tab, "kiosk start")

        with tab.expect_navigation():
            tab.get_by_role("button", name="Không hài lòng", exact=True).tap()
        expect(tab.locator("main[data-page]")).to_have_attribute("data-page", "kiosk-more")
        expect(tab.locator("#q-servant_attitude")).to_be_visible()  # a low score asks about the civil servant
        problems += axe_problems(tab, "kiosk follow-up")
        tab.locator('label[for="opt-service-SIB"]').tap()
        tab.locator('label[for="opt-servant_attitude-2"]').tap()
        tab.locator('label[for="opt-result_time-1"]').tap()
        tab.locator('label[for="opt-complained-no"]').tap()
        tab.locator("#txt-comment").fill("Phải chờ lâu")
        with tab.expect_navigation():
            tab.locator('#kiosk-form button[type="submit"]').tap()
        expect(tab.locator("main[data-page]")).to_have_attribute("data-page", "kiosk-thanks")
        problems += axe_problems(tab, "kiosk thanks")

        # a few seconds later the next visitor finds the start screen
        expect(tab.locator("main[data-page]")).to_have_attribute("data-page", "kiosk-start", timeout=15_000)
        assert re.search(r"/kiosk/HN-BD-Q1(\?|$)", tab.url)
    finally:
        context.close()
    assert not problems, "\n".join(problems)
