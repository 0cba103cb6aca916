"""Hostile and bidirectional user text on every staff page, the public pages and the PDF reports.

A server of its own (its own SQLite database) is seeded with user text from every source: a citizen's comment, a
hotline agent's name from the switchboard, a follow-up case's note, an alert's comment, a staff member's display
name, and unit, service and counter names as an import could bring them. Each holds an 850-character word (or as
long a one as its column takes), a right-to-left override (U+202E), a script and HTML. In headless Chromium at
360 px and 1366 px, no page scrolls sideways, every piece of it sits in an element isolated for direction, no script
of it runs, and the phone and e-mail inside the comment are masked. The PDF's HTML isolates it too, and the PDF
builds.

The seeding runs in the server's environment: ``python -m tests.browser.test_browser_hostile_text '<json>'``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.live_server import served

PASSWORD = "mat-khau-thu-nghiem-2026"
RLO = "\u202e"
WORD = "Đ" * 850
SCRIPT = '<script>window.__pwned = 1</script><img src="x" onerror="window.__pwned = 1"><b>đậm</b>'
SPOOF = f"{RLO}gnp.exe"  # reads "exe.png" backwards when not isolated
COMMENT = f"Ý kiến {WORD} {SPOOF} {SCRIPT} gọi 0912 345 678 hoặc lan.nguyen@example.vn"
SHORT_COMMENT = f"Gọi 0912 345 678 hoặc lan.nguyen@example.vn {SPOOF} <b>x</b>"  # whole in the list's excerpt
NOTE = f"Ghi chú {WORD} {SPOOF} {SCRIPT}"
ALERT_NOTE = f"Đã xử lý {WORD} {SPOOF} {SCRIPT}"
AGENT = f"{'A' * 60}{SPOOF}<b>x</b>"[:80]
DISPLAY_NAME = f"{'N' * 90}{SPOOF}<script>window.__pwned = 1</script>"[:120]
UNIT_NAME = f"BHXH{'QUẬN' * 45}{SPOOF}<i>u</i>"[:200]
SERVICE_NAME = f"Sổ{'BẢOHIỂM' * 24}{SPOOF}"[:200]
COUNTER_NAME = f"Quầy{'MỘTCỬA' * 28}{SPOOF}"[:200]
USERNAME = "quantri.hostile"
VIEWPORTS = {"phone": {"width": 360, "height": 640}, "desk": {"width": 1366, "height": 768}}
LIST = "/staff/responses?questionnaire=post-call"
STAFF_PAGES = ["/staff/", LIST, "/staff/responses/{response}", "/staff/follow-ups", "/staff/follow-ups/{case}",
               "/staff/alerts", "/staff/scores", "/staff/reports", "/staff/outbox", "/staff/sandbox", "/staff/calendar",
               "/staff/kiosks", "/staff/audit", "/staff/rights"]
# every page shows the display name in its header; these show the other hostile texts besides
EXPECTED = {"/staff/responses/{response}": [COMMENT[:20], AGENT[:20]], LIST: ["Gọi […] hoặc […]"],
            "/staff/follow-ups/{case}": [NOTE[:20]], "/staff/alerts": [ALERT_NOTE[:20]]}

# The text nodes holding U+202E that are not isolated from the text around them: the nearest element isolating
# for direction must be a <bdi> or an inline element with unicode-bidi: isolate, or else the block (every block is
# isolated by the browser's own style sheet) must hold nothing but that text.
UNISOLATED_JS = """() => {
  const problems = [];
  let found = 0;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.data.includes("\\u202e") || node.parentElement.closest("textarea, script, style, title")) continue;
    found += 1;
    let isolated = false;
    for (let el = node.parentElement; el; el = el.parentElement) {
      const style = getComputedStyle(el);
      if (el.tagName === "BDI") { isolated = true; break; }
      if (["isolate", "isolate-override", "plaintext"].includes(style.unicodeBidi)) {
        isolated = style.display.startsWith("inline") || el.textContent.trim() === node.data.trim();
        break;
      }
    }
    if (!isolated) problems.push(node.parentElement.parentElement.outerHTML.slice(0, 200));
  }
  return {found, problems};
}"""


# --- seeding (in the server's environment) ------------------------------------------------------------------------


async def seed() -> dict[str, Any]:
    """Reference data renamed with hostile names, a staff admin, a response with its comment and agent, a case with a
    note and an alert with a comment; the ids and a survey link to open."""
    from survey.db import write_transaction
    from survey.services.accounts import create_user, identity_of
    from survey.services.aggregates import count_responses
    from survey.services.contacts import ContactEvent, accept_contacts
    from survey.services.followups import journal_entry, open_case
    from survey.services.invitations import LinkSpec, create_links, survey_url
    from survey.tables import Alert, Answer, Counter, Invitation, Response, Service, Unit
    from tests.support.browser_seed import seed as base_seed
    from tests.support.responses import add_counter_responses

    await base_seed({"links": {}, "users": {}, "password": PASSWORD, "responses": {"HN-BD": 12}})
    await Unit.update({Unit.name_vi: UNIT_NAME, Unit.name_en: UNIT_NAME}).where(Unit.code == "HN-BD")
    await Service.update({Service.name_vi: SERVICE_NAME, Service.name_en: SERVICE_NAME}).where(Service.code == "SIB")
    await Counter.update({Counter.name_vi: COUNTER_NAME, Counter.name_en: COUNTER_NAME}).where(
        Counter.code == "HN-BD-Q1")
    user = await create_user(username=USERNAME, password=PASSWORD, role="admin", unit_code="VN",
                             display_name=DISPLAY_NAME)
    identity = await identity_of(user)
    now = datetime.now(UTC)
    [outcome] = await accept_contacts([ContactEvent(
        source="switchboard", external_id="hostile-1", channel="call", unit="HN-BD", service="HOTLINE",
        occurred_at=now - timedelta(minutes=30), phone="0912 345 678", agent=AGENT)])
    invitation = await Invitation.select().where(Invitation.contact == outcome.contact_id).first()
    async with write_transaction():
        response = Response(questionnaire=invitation["questionnaire"], unit=invitation["unit"],
                            service=invitation["service"], invitation=invitation["id"], channel="call",
                            trust="one_time_link", status="complete", page=2, language="vi",
                            submitted_at=now - timedelta(minutes=10))
        await response.save()
        await Answer.insert(Answer(response=response.id, question_id="overall", value_number=1.0),
                            Answer(response=response.id, question_id="resolved", value_text="no"),
                            Answer(response=response.id, question_id="comment", value_text=COMMENT))
        other = Response(questionnaire=invitation["questionnaire"], unit=invitation["unit"],
                         service=invitation["service"], channel="call", trust="poster", status="complete", page=2,
                         language="vi", submitted_at=now - timedelta(minutes=5))
        await other.save()
        await Answer.insert(Answer(response=other.id, question_id="overall", value_number=2.0),
                            Answer(response=other.id, question_id="resolved", value_text="no"),
                            Answer(response=other.id, question_id="comment", value_text=SHORT_COMMENT))
        await count_responses([response.id, other.id])
    case = await open_case(identity, response.id, NOTE)
    await add_counter_responses("HN-CG", 3, minutes_apart=5)
    unit = await Unit.select(Unit.id).where(Unit.code == "HN-BD").first()
    await Alert(unit=unit["id"], status="open", opened_at=now, window_start=now - timedelta(hours=8), n=20,
                dissatisfied=12, share=0.6, upper_limit=0.4, centre_share=0.1, checked_at=now, last_share=0.6,
                notes=json.dumps([journal_entry("acknowledged", at=now, by=USERNAME, text=ALERT_NOTE)],
                                 ensure_ascii=False)).save()
    [token] = await create_links([LinkSpec(questionnaire_key="counter", unit_code="HN-BD", service_code=None,
                                           counter_code="HN-BD-Q1", language="vi")])
    return {"response": response.id, "case": case, "survey": survey_url(token), "token": token}


# --- the server ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostileServer:
    url: str
    ids: dict[str, Any]


@pytest.fixture(scope="module")
def hostile_server() -> Iterator[HostileServer]:
    """The app served by uvicorn on a free loopback port, with a database full of hostile user text."""
    with served("survey-hostile-", [sys.executable, "-m", "tests.browser.test_browser_hostile_text", "seed"]) as server:
        yield HostileServer(url=server.url, ids=json.loads(server.seeded.strip().splitlines()[-1]))


def _tab(browser: Any, server: HostileServer, screen: str) -> Any:
    viewport = VIEWPORTS[screen]
    extra = {"is_mobile": True, "has_touch": True} if screen == "phone" else {}
    context = browser.new_context(viewport=viewport, locale="vi-VN", base_url=server.url, **extra)
    context.set_default_timeout(15_000)
    return context.new_page()


def _signed_in(browser: Any, server: HostileServer, screen: str) -> Any:
    tab = _tab(browser, server, screen)
    tab.goto("/staff/login")
    tab.locator('input[name="username"]').fill(USERNAME)
    tab.locator('input[name="password"]').fill(PASSWORD)
    with tab.expect_navigation():
        tab.locator('form button[type="submit"]').click()
    assert tab.locator('input[name="password"]').count() == 0, tab.locator("main").inner_text()[:300]
    return tab


def _check_page(tab: Any, what: str, expected: list[str], *, shows_user_text: bool = True) -> list[str]:
    """What is wrong with the page shown: sideways scrolling, text not isolated, a script that ran, text missing."""
    problems = []
    width, inner = tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width > inner + 1:
        problems.append(f"{what}: the page is {width} px wide in a {inner} px window")
    found = tab.evaluate(UNISOLATED_JS)
    if shows_user_text and not found["found"]:
        problems.append(f"{what}: no hostile text shown")
    problems += [f"{what}: not isolated: {html}" for html in found["problems"]]
    if tab.evaluate("window.__pwned") is not None:
        problems.append(f"{what}: a script from user text ran")
    text = tab.locator("body").inner_text()
    problems += [f"{what}: {piece!r} is not shown" for piece in expected if piece not in text]
    return problems


# --- the pages ----------------------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("screen", ["phone", "desk"])
def test_hostile_user_text_on_every_staff_page_wraps_is_isolated_and_never_runs(browser, hostile_server, screen):
    tab = _signed_in(browser, hostile_server, screen)
    problems = []
    for template in STAFF_PAGES:
        path = template.format(**hostile_server.ids)
        reply = tab.goto(path)
        assert reply is not None and reply.status == 200, f"{path}: {reply.status if reply else 'no reply'}"
        problems += _check_page(tab, f"{path} at {screen}", EXPECTED.get(template, []))
    assert problems == []


@pytest.mark.browser
def test_contact_details_in_a_comment_are_masked_on_staff_pages(browser, hostile_server):
    tab = _signed_in(browser, hostile_server, "desk")
    for path in (f"/staff/responses/{hostile_server.ids['response']}", LIST):
        tab.goto(path)
        text = tab.locator("main").inner_text()
        assert "0912 345 678" not in text and "lan.nguyen@example.vn" not in text, path
        assert "ọi […] hoặc […]" in text.replace("\n", " "), path
    tab.goto(f"/staff/responses/{hostile_server.ids['response']}")
    # the markup arrived as text, not as elements
    assert "<script>window.__pwned = 1</script>" in tab.locator("main").inner_text()


@pytest.mark.browser
@pytest.mark.parametrize("screen", ["phone", "desk"])
def test_hostile_names_on_the_public_pages_wrap_and_are_isolated(browser, hostile_server, screen):
    tab = _tab(browser, hostile_server, screen)
    problems = []
    # the survey link's page names no unit (the counter's page lists its services by name)
    for path, names in ((hostile_server.ids["survey"], False), ("/q/HN-BD-Q1", True)):
        reply = tab.goto(path)
        assert reply is not None and reply.status == 200, path
        problems += _check_page(tab, f"{path} at {screen}", [], shows_user_text=names)
    assert problems == []


# --- the PDF ------------------------------------------------------------------------------------------------------


async def test_the_report_html_isolates_user_text_and_the_pdf_builds(reference):
    from html.parser import HTMLParser

    from survey.services.pdf import print_jinja
    from survey.services.reports import ReportSpec
    from survey.services.reports.assemble import assemble
    from survey.services.reports.render import TEMPLATES, add_charts, render_report
    from survey.services.response_import import import_responses
    from survey.tables import Unit

    await Unit.update({Unit.name_vi: UNIT_NAME}).where(Unit.code == "HN-BD")
    header = ("response_id,questionnaire,version,unit,service,channel,submitted_at,language,reach,waiting_time,"
              "courtesy,clarity,usefulness,resolved,overall,recommend,comment")
    comment = '"' + COMMENT.replace('"', '""') + '"'
    rows = [f"r-{i},post-call,1,HN-BD,HOTLINE,call,2026-05-10 09:00,vi,4,4,4,4,4,yes,{2 + i % 4},8,"
            f"{comment if i % 5 == 0 else ''}" for i in range(40)]
    result = await import_responses(("\n".join([header, *rows]) + "\n").encode())
    assert result.problems == [], result.problems[:3]
    content = add_charts(await assemble(ReportSpec("unit", "2026-05", unit="HN-BD", questionnaire="post-call")))
    html = print_jinja().get_template(TEMPLATES["unit"]).render(**content)

    class Isolation(HTMLParser):
        """Each printed piece of the hostile texts (the override itself is dropped by ``printable``) and whether
        it is inside a <bdi>."""

        def __init__(self) -> None:
            super().__init__()
            self.open: list[str] = []
            self.texts: list[tuple[str, bool]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag not in {"br", "img", "meta", "link", "input"}:
                self.open.append(tag)

        def handle_endtag(self, tag: str) -> None:
            if tag in self.open:
                del self.open[len(self.open) - 1 - self.open[::-1].index(tag):]

        def handle_data(self, data: str) -> None:
            if "title" not in self.open and ("gnp.exe" in data or "QUẬNQUẬN" in data):  # <title> is not printed
                self.texts.append((data[:40], "bdi" in self.open))

    parser = Isolation()
    parser.feed(html)
    assert parser.texts, "the report shows neither the comment nor the unit's name"
    assert [text for text, isolated in parser.texts if not isolated] == []
    assert RLO not in html and "<script>window.__pwned" not in html
    pdf, pages = render_report(content)
    assert pdf.startswith(b"%PDF") and pages >= 1


if __name__ == "__main__":  # the seeding, in the live server's environment
    if sys.argv[1:] != ["seed"]:
        sys.exit("usage: python -m tests.browser.test_browser_hostile_text seed")
    print(json.dumps(asyncio.run(seed())))
