"""A live server on loopback with its own SQLite database, and headless Chromium at phone size.

The server runs as ``uvicorn survey.app:create_app --factory`` in a subprocess, against a database that
``survey migrate`` and ``tests/support/browser_seed.py`` prepared (reference data, staff users, survey links). The
browser is Debian's Chromium (never a downloaded one); if it is missing the tests fail and say so.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.live_server import served

CHROMIUM = Path("/usr/bin/chromium")
# without the background-networking flags Chromium's connections are refused on a closed network
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PHONE = {"width": 360, "height": 640}
DESK = {"width": 1366, "height": 768}
STAFF_PASSWORD = "mat-khau-thu-nghiem-2026"

# Links each test may spend: name → (questionnaire, unit, service, language).
LINKS: dict[str, tuple[str, str, str, str]] = {
    "counter_vi": ("counter", "HN-BD", "SIB", "vi"),
    "post_call_en": ("post-call", "HN-BD", "HOTLINE", "vi"),
    "validation": ("counter", "HN-BD", "SIB", "vi"),
    "resume": ("counter", "HN-BD", "HIC", "vi"),
    "used": ("counter", "HN-BD", "SIB", "vi"),
    "axe": ("counter", "HN-BD", "SIB", "vi"),
    "narrow": ("post-call", "HN-BD", "HOTLINE", "vi"),
    "staff_scope": ("counter", "HN-BD", "PENSION", "vi"),
    "unhappy": ("counter", "HN-BD", "SIB", "vi"),
    "expired": ("counter", "HN-BD", "SIB", "vi"),
}
USERS: dict[str, tuple[str, str]] = {  # username → (role, unit)
    "quanly.badinh": ("unit_manager", "HN-BD"),
    "quanly.quan1": ("unit_manager", "HCM-Q1"),
    "chatluong.hanoi": ("quality", "HN"),
    "quantri": ("admin", "VN"),
}
# Complete counter responses for the scores page, in units no other test reads: unit → how many.
# Cầu Giấy has enough to show numbers, Đống Đa too few (its cells say why instead).
SCORED_RESPONSES: dict[str, int] = {"HN-CG": 40, "HN-DD": 12}


@dataclass(frozen=True)
class LiveServer:
    """The running server: its base URL, the prepared links and the staff password."""

    url: str
    links: dict[str, dict[str, str]]
    workdir: Path
    log: Path

    def link(self, name: str) -> str:
        return self.links[name]["url"]

    def token(self, name: str) -> str:
        return self.links[name]["token"]


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    """``survey.app`` served by uvicorn on a free loopback port, with a fresh database."""
    seed = {"links": LINKS, "users": USERS, "password": STAFF_PASSWORD, "responses": SCORED_RESPONSES}
    with served("survey-browser-", [sys.executable, "-m", "tests.support.browser_seed", json.dumps(seed)]) as server:
        links = json.loads(server.seeded.strip().splitlines()[-1])
        yield LiveServer(url=server.url, links=links, workdir=server.workdir, log=server.log)


class Survey:
    """What a person does on the survey pages of one tab, in the words of the page contract."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def open(self, url: str) -> Any:
        return self.page.goto(url)

    def kind(self) -> str | None:
        """The kind of page shown: survey, thanks, used, expired, unknown."""
        return self.page.locator("main[data-page]").get_attribute("data-page")

    def shows(self, kind: str) -> None:
        """Assert the page shown is of ``kind``; on failure, say what the person sees instead."""
        main = self.page.locator("main[data-page]")
        shown = main.get_attribute("data-page") if main.count() else None
        if shown != kind:
            text = " ".join((self.page.locator("body").inner_text() or "").split())[:600]
            errors = [" ".join(e.split()) for e in self.page.locator("p.error").all_inner_texts()]
            pytest.fail(f"expected the {kind!r} page at {self.page.url}, the person sees {shown!r}"
                        f"{f' with errors {errors}' if errors else ''}: {text}", pytrace=False)

    def radio(self, question_id: str, value: object) -> Any:
        return self.page.locator(f'#q-{question_id} input[type="radio"][name="{question_id}"][value="{value}"]')

    def choose(self, question_id: str, value: object) -> None:
        """Tap the answer's label (what a thumb hits), or the radio itself if it has no label."""
        radio = self.radio(question_id, value)
        radio_id = radio.get_attribute("id")
        label = self.page.locator(f'label[for="{radio_id}"]') if radio_id else radio.locator("xpath=ancestor::label")
        (label.first if label.count() else radio).tap()
        assert radio.is_checked(), f"tapping answer {value!r} of {question_id!r} did not select it"

    def follow(self, locator: Any) -> None:
        """Tap a link and wait for the page it leads to."""
        with self.page.expect_navigation():
            locator.tap()

    def write(self, question_id: str, text: str) -> None:
        box = self.page.locator(f'#q-{question_id} textarea[name="{question_id}"]')
        box.tap()
        box.fill(text)

    def button(self, action: str) -> Any:
        return self.page.locator(f'#survey-form button[type="submit"][name="action"][value="{action}"]')

    def press(self, action: str, label: str | None = None) -> None:
        """Tap the next / submit / back button; ``label`` is the text the person reads on it."""
        button = self.button(action)
        if label is not None:
            assert label in button.inner_text(), f"the {action} button reads {button.inner_text()!r}, not {label!r}"
        with self.page.expect_navigation():
            button.tap()

    def question(self, question_id: str) -> Any:
        return self.page.locator(f"fieldset.question#q-{question_id}")

    def error(self, question_id: str) -> Any:
        return self.page.locator(f"p.error#err-{question_id}")

    def fits_phone(self) -> None:
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width} px wide: it scrolls sideways on a 360 px phone"


@pytest.fixture
def survey(page: Any) -> Survey:
    return Survey(page)


@pytest.fixture(scope="session")
def axe_problems() -> Any:
    """``axe_problems(page, "what")``: the serious and critical axe-core violations on the page, described."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()

    def problems(tab: Any, what: str) -> list[str]:
        results = axe.run(tab)
        bad = [v for v in results.response["violations"] if v.get("impact") in {"serious", "critical"}]
        lines = []
        for violation in bad:
            lines.append(f"{what} ({tab.url}): {violation['id']} ({violation['impact']}): {violation['help']}")
            lines += [f"    {', '.join(map(str, node['target']))}: {' '.join(node.get('failureSummary', '').split())}"
                      for node in violation["nodes"][:5]]
        return lines

    return problems


class PageChecks:
    """``check(tab, what, width)`` for each page visited: what axe-core finds serious or critical, and a page wider
    than its screen; :meth:`assert_clean` at the end names them all."""

    def __init__(self, axe_problems: Any) -> None:
        self.axe_problems = axe_problems
        self.problems: list[str] = []

    def __call__(self, tab: Any, what: str, width: int) -> None:
        self.problems.extend(self.axe_problems(tab, what))
        wide = tab.evaluate("document.documentElement.scrollWidth")
        if wide > width:
            self.problems.append(f"{what} ({tab.url}): {wide} px wide on a {width} px screen")

    def assert_clean(self) -> None:
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture
def page_checks(axe_problems: Any) -> PageChecks:
    """A :class:`PageChecks` for one test."""
    return PageChecks(axe_problems)


@pytest.fixture
def sign_in(browser: Any, live_server: LiveServer) -> Any:
    """``sign_in(username)``: a new phone-sized tab signed in to the staff pages as ``username``
    (``desk=True``: a 1366 × 768 desktop tab)."""
    contexts: list[Any] = []

    def open_as(username: str, *, desk: bool = False) -> Any:
        screen = {"viewport": DESK} if desk else {"viewport": PHONE, "is_mobile": True, "has_touch": True,
                                                  "device_scale_factor": 2}
        context = browser.new_context(**screen, locale="vi-VN", base_url=live_server.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        tab = context.new_page()
        tab.goto("/staff/login")
        tab.locator('input[name="username"]').fill(username)
        tab.locator('input[name="password"]').fill(STAFF_PASSWORD)
        with tab.expect_navigation():
            tab.locator('form button[type="submit"]').click()
        assert tab.locator('input[name="password"]').count() == 0, (
            f"signing in as {username} failed: {tab.locator('main').inner_text()[:300]}")
        return tab

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium; the run fails (it does not skip) when it is not installed."""
    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: install Debian's 'chromium' package "
                    "(scripts/bootstrap.sh); the browser tests never download a browser", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh phone-sized tab (360 × 640, touch) with its own cookies."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2,
                                  locale="vi-VN", base_url=live_server.url)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()
