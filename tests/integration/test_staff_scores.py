"""The scores page of the staff area: the numbers of ``survey scores`` for the user's scope, with intervals."""

from __future__ import annotations

import asyncio
import base64
import html
import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from survey.charts import chart_size
from survey.services.scores import period_for
from survey.web import format_number
from tests.support.responses import add_counter_responses
from tests.support.staff import sign_in_as


@pytest.fixture
async def seeded(reference) -> str:
    """Ba Đình 40 responses, Cầu Giấy 12 (below the minimum of 30), District 1 in Ho Chi Minh City 35."""
    await add_counter_responses("HN-BD", 40)
    await add_counter_responses("HN-CG", 12, service_code="HIC", offset=1)
    await add_counter_responses("HCM-Q1", 35, offset=2)
    return reference


def row_of(page: str, unit_code: str) -> str:
    """The table row of ``unit_code`` (its first, when broken down)."""
    match = re.search(rf'<tr[^>]*data-unit="{re.escape(unit_code)}"[^>]*>(.*?)</tr>', page, re.S)
    assert match, f"no row for {unit_code}"
    return match.group(1)


def charts_of(page: str) -> list[tuple[str, str]]:
    """Each chart image of the page: its alt text and the SVG its data: URI holds."""
    images = re.findall(r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"[^>]*\salt="([^"]*)"', page)
    return [(html.unescape(alt), base64.b64decode(data).decode("utf-8")) for data, alt in images]


def without_images(page: str) -> str:
    """The page less its data: URIs, whose base64 letters may spell anything."""
    return re.sub(r'src="data:[^"]*"', 'src=""', page)


def cell(row: str, measure: str) -> str:
    match = re.search(rf'data-measure="{re.escape(measure)}">(.*?)</td>', row, re.S)
    assert match, f"no {measure} cell"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


async def cli_scores(*args: str) -> dict:
    from survey.cli import main

    # the CLI runs its own event loop: run it in a thread beside the test's loop
    result = await asyncio.to_thread(CliRunner().invoke, main, ["scores", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def this_period(choice: str) -> str:
    from survey.settings import get_settings

    return period_for(choice, datetime.now(ZoneInfo(get_settings().timezone)).date())


async def test_the_numbers_are_those_of_the_scores_command_for_the_same_unit(client, seeded):
    await sign_in_as(client, "leader", "HN")
    page = await client.get("/staff/scores", params={"questionnaire": "counter", "period": "last_12_months"})
    assert page.status_code == 200, page.text
    expected = await cli_scores("--questionnaire", "counter", "--period", this_period("last_12_months"),
                                "--unit", "HN-BD")
    group = expected["groups"][0]
    row = row_of(page.text, "HN-BD")
    assert cell(row, "n") == "40" == str(group["n"])
    index = group["index"]
    low, high = index["ci"]
    assert cell(row, "index") == (f"{format_number(index['value'], 'vi')} "
                                  f"KTC 95%: {format_number(low, 'vi')}–{format_number(high, 'vi')}")
    assert cell(row, "target") == "80 · " + ("Đạt" if index["met"] else "Chưa đạt")
    for criterion in group["criteria"]:
        low, high = criterion["ci"]
        assert cell(row, criterion["id"]).startswith(
            f"{format_number(100 * criterion['satisfied_share'], 'vi')}% "
            f"KTC 95%: {format_number(100 * low, 'vi')}–{format_number(100 * high, 'vi')}"), criterion["id"]
    # the bar tells a screen reader the same numbers
    assert re.search(r'<svg class="bar" role="img"[^>]*aria-label="Chỉ số hài lòng: '
                     + re.escape(format_number(index["value"], "vi")), row)
    # and the province's own line is its whole subtree, as `survey scores --unit HN`
    whole = await cli_scores("--questionnaire", "counter", "--period", this_period("last_12_months"), "--unit", "HN")
    assert cell(row_of(page.text, "HN"), "n") == str(whole["groups"][0]["n"]) == "52"


async def test_too_few_responses_say_why_instead_of_a_number(client, seeded):
    await sign_in_as(client, "leader", "HN")
    page = await client.get("/staff/scores?period=this_year")
    row = row_of(page.text, "HN-CG")
    assert cell(row, "n") == "12"
    # the index names the criterion that holds it back
    assert cell(row, "index") == "không hiển thị: Tiếp cận dịch vụ: n = 12 < 30"
    assert cell(row, "access") == "không hiển thị: n = 12 < 30"
    assert "<svg" not in row  # no bar without a number
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())
    # nothing but its n, the minimum and the target the questionnaire sets
    assert set(re.findall(r"\d+(?:[.,]\d+)?", words)) <= {"12", "30", "80"}
    english = await client.get("/staff/scores?period=this_year&lang=en")
    assert cell(row_of(english.text, "HN-CG"), "index") == "not shown: Access to the service: n = 12 < 30"
    assert "Satisfaction index" in english.text and "Ba Dinh District SS" in english.text


async def test_the_page_shows_the_criteria_of_the_users_unit_as_a_chart_image_with_its_alt_text(client, seeded):
    await sign_in_as(client, "leader", "HN")
    page = await client.get("/staff/scores", params={"questionnaire": "counter", "period": "last_12_months"})
    assert page.status_code == 200, page.text
    (alt, svg), = charts_of(page.text)
    assert alt.startswith("Biểu đồ tỷ lệ hài lòng theo từng tiêu chí của BHXH TP. Hà Nội: mỗi tiêu chí một điểm")
    assert "<figcaption>Tỷ lệ hài lòng theo tiêu chí: " in page.text
    # each criterion a row, the target in the legend, the axis in percent
    words = [" ".join("".join(text.itertext()).split())
             for text in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    for title in ("Tiếp cận dịch vụ", "Thủ tục hành chính", "Kết quả giải quyết"):
        assert title in words
    assert {"Mục tiêu", "Tỷ lệ hài lòng và khoảng tin cậy 95%", "80%", "100%"} <= set(words)
    # in English too, sized for the page and scaled down on a phone
    english = await client.get("/staff/scores", params={"period": "last_12_months", "lang": "en"})
    (alt, svg), = charts_of(english.text)
    assert alt.startswith("Chart of the satisfied share for each criterion of ")
    assert "Access to the service" in svg and "Target" in svg
    image = re.search(r'<img src="data:[^"]*" width="(\d+)" height="(\d+)"', english.text)
    width, height = chart_size(svg)
    assert image and int(image.group(1)) > 400 and int(image.group(1)) / int(image.group(2)) == pytest.approx(
        width / height, rel=0.01)  # shown undistorted
    css = (await client.get("/static/staff.css")).text
    assert "img { max-width: 100%; height: auto; }" in css
    # 12 responses in Cầu Giấy: every criterion is suppressed, so there is no chart to show, never one of zeros
    await sign_in_as(client, "unit_manager", "HN-CG")
    thin = await client.get("/staff/scores", params={"period": "last_12_months"})
    assert cell(row_of(thin.text, "HN-CG"), "n") == "12" and charts_of(thin.text) == []


async def test_a_unit_manager_sees_their_unit_only(client, seeded):
    await sign_in_as(client, "unit_manager", "HN-BD")
    page = await client.get("/staff/scores?period=last_12_months")
    assert page.status_code == 200
    units = re.findall(r'data-unit="([^"]+)"', page.text)
    assert units == ["HN-BD"]
    shown = without_images(page.text) + "".join(svg for _, svg in charts_of(page.text))
    for elsewhere in ("HCM", "Hồ Chí Minh", "Quận 1", "HN-CG", "Cầu Giấy"):
        assert elsewhere not in shown


async def test_the_quality_officer_of_the_centre_sees_the_provinces(client, seeded):
    from survey.reference import PROVINCES

    await sign_in_as(client, "quality", "VN")
    page = await client.get("/staff/scores?period=last_12_months")
    units = re.findall(r'data-unit="([^"]+)"', page.text)
    assert units == ["VN", *sorted(province.code for province in PROVINCES)]
    assert cell(row_of(page.text, "VN"), "n") == "87"
    assert cell(row_of(page.text, "HN"), "n") == "52"
    assert cell(row_of(page.text, "HCM"), "n") == "35"
    assert "HN-BD" not in units  # districts roll up into their province


async def test_broken_down_by_service(client, seeded):
    await sign_in_as(client, "leader", "HN")
    page = await client.get("/staff/scores?period=last_12_months&by=service")
    assert page.status_code == 200
    rows = re.findall(r'data-unit="([^"]+)" data-key="([^"]+)"', page.text)
    assert ("HN", "SIB") in rows and ("HN", "HIC") in rows and ("HN-BD", "SIB") in rows and ("HN-CG", "HIC") in rows
    assert "Sổ bảo hiểm xã hội" in page.text
    expected = await cli_scores("--questionnaire", "counter", "--period", this_period("last_12_months"),
                                "--unit", "HN", "--by", "service")
    sib = next(g for g in expected["groups"] if g["service"] == "SIB")
    row = re.search(r'data-unit="HN" data-key="SIB">(.*?)</tr>', page.text, re.S).group(1)
    assert cell(row, "index").startswith(format_number(sib["index"]["value"], "vi") + " ")


async def test_the_page_is_phone_friendly_and_accessible_in_its_markup(client, seeded):
    await sign_in_as(client, "leader", "HN")
    page = await client.get("/staff/scores?period=last_12_months")
    text = page.text
    assert '<div class="table-wrap" role="region" aria-labelledby="scores-caption" tabindex="0">' in text
    assert '<caption id="scores-caption" class="visually-hidden">' in text
    assert text.count('<th scope="row">') == 5  # HN and its four districts
    assert 'scope="col"' in text
    assert 'href="/staff/scores" aria-current="page"' in text
    assert "Xu hướng 12 tháng" in text


async def test_choices_are_checked_and_a_bad_one_is_named(client, seeded):
    await sign_in_as(client, "leader", "HN")
    for query, named in (("questionnaire=hotline", "questionnaire"), ("period=yesterday", "period"),
                         ("by=channel", "by")):
        page = await client.get(f"/staff/scores?{query}")
        assert page.status_code == 400, query
        assert f"{named}: " in page.text and "allowed" in page.text


async def test_viewing_scores_is_audited_and_needs_a_session(client, seeded):
    from survey.tables import AuditEvent

    anonymous = await client.get("/staff/scores", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/staff/login?next=/staff/scores"
    await sign_in_as(client, "leader", "HN")
    await client.get("/staff/scores?questionnaire=post-call&period=last_month")
    event = await AuditEvent.select(AuditEvent.action, AuditEvent.detail).order_by(
        AuditEvent.id, ascending=False).first()
    assert event["action"] == "scores_viewed"
    detail = event["detail"] if isinstance(event["detail"], dict) else json.loads(event["detail"])
    assert detail == {"questionnaire": "post-call", "period": this_period("last_month"), "by": None}


async def test_a_questionnaire_weighted_by_design_shows_the_weighted_index(client, seeded):
    from dataclasses import replace

    from questionnaires import load_bundled
    from questionnaires.model import Weighting
    from survey.services.questionnaires import publish
    from survey.tables import Contact, Service, Unit

    counter = load_bundled()["counter"]
    await publish(replace(counter, version=counter.version + 1, weighting=Weighting(("service",))))
    unit = await Unit.select(Unit.id).where(Unit.code == "HN-BD").first()
    services = {r["code"]: r["id"] for r in await Service.select(Service.id, Service.code)}
    now = datetime.now(UTC)
    # as many HIC contacts as SIB ones, but 12 HIC answers (Cầu Giấy) to 40 SIB ones (Ba Đình): w = 2.17 and 0.65
    await Contact.insert(*[Contact(source="test", external_id=f"w{i}", source_key=f"test:w{i}", channel="counter",
                                   unit=unit["id"], service=services["SIB" if i < 200 else "HIC"],
                                   occurred_at=now - timedelta(minutes=i)) for i in range(400)])
    await sign_in_as(client, "leader", "HN")
    page = await client.get("/staff/scores", params={"questionnaire": "counter", "period": "last_12_months"})
    assert page.status_code == 200, page.text
    expected = (await cli_scores("--questionnaire", "counter", "--period", this_period("last_12_months"),
                                 "--unit", "HN"))["groups"][0]["index"]
    weighted = expected["weighted"]
    assert weighted is not None and weighted["value"] is not None
    assert weighted["value"] != pytest.approx(expected["value"])
    assert weighted["design_effect"] == pytest.approx(52 * (40 * (0.5 / (40 / 52)) ** 2 + 12 * (0.5 / (12 / 52)) ** 2)
                                                      / 52**2)
    text = cell(row_of(page.text, "HN"), "index")
    assert f"Gia quyền theo lượng tiếp nhận: {format_number(weighted['value'], 'vi')} KTC 95%" in text
    assert "hệ số thiết kế" in text


async def test_the_trend_arrow_is_judged_on_the_q_value_the_command_gives(client, reference):
    # Ba Đình improves month after month: 10 of 40 satisfied eleven months ago, 40 of 40 this month
    for months_ago in range(11):
        satisfied = 40 - 3 * months_ago
        await add_counter_responses("HN-BD", 40, ago=timedelta(days=30 * months_ago),
                                    ratings=[5] * satisfied + [2] * (40 - satisfied))
    await sign_in_as(client, "leader", "HN")
    page = await client.get("/staff/scores", params={"questionnaire": "counter", "period": "last_12_months",
                                                     "lang": "en"})
    assert page.status_code == 200, page.text
    report = await cli_scores("--questionnaire", "counter", "--period", this_period("last_12_months"), "--unit", "HN",
                              "--by", "subunit")
    group = next(g for g in report["groups"] if g["subunit"] == "HN-BD")
    trend = next(t for t in group["tests"] if t["comparison"] == "trend" and t["criterion"] is None)
    assert trend["statistic"] > 0 and trend["q_value"] < 0.05 and trend["q_value"] >= trend["pvalue"]
    shown = cell(row_of(page.text, "HN-BD"), "trend")
    q = "< 0.001" if trend["q_value"] < 0.001 else f"= {format_number(trend['q_value'], 'en', 3)}"
    assert shown == f"↑ rising, q {q}"
