"""The dashboard at ``/staff/``: the scores service's figures for the user's units, and drill-downs whose
responses are exactly the figure's n."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from survey.web import format_number
from tests.integration.test_staff_scores import cli_scores, this_period
from tests.support.responses import add_counter_responses
from tests.support.staff import sign_in_as


@pytest.fixture
async def seeded(reference) -> str:
    """Hà Nội: Ba Đình 40 responses (10 of them without the feedback element), Cầu Giấy 12 (below the minimum
    of 30), Đống Đa 31 online; District 1 of Ho Chi Minh City 35."""
    await add_counter_responses("HN-BD", 30)
    await add_counter_responses("HN-BD", 10, offset=1, unanswered=("feedback_easy", "feedback_handled"))
    await add_counter_responses("HN-CG", 12, service_code="HIC", offset=1)
    await add_counter_responses("HN-DD", 31, offset=2, channel="online")
    await add_counter_responses("HCM-Q1", 35, offset=2)
    return reference


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def drills(page: str) -> list[tuple[str, int]]:
    """Every drill-down link of the page: its target and the n it claims."""
    found = re.findall(r'<a[^>]*href="(/staff/responses\?[^"]*)"[^>]*data-drill="(\d+)"', page)
    found += [(href, n) for n, href in re.findall(r'<a[^>]*data-drill="(\d+)"[^>]*href="(/staff/responses\?[^"]*)"',
                                                  page)]
    return [(html.unescape(href), int(n)) for href, n in found]


async def listed(client, href: str) -> int:
    page = await client.get(href)
    assert page.status_code == 200, page.text[:500]
    match = re.search(r'id="response-count" data-total="(\d+)"', page.text)
    assert match, "no count on the responses list"
    return int(match.group(1))


async def test_the_dashboard_shows_the_index_of_the_scores_service_against_its_target(client, seeded):
    await sign_in_as(client, "leader", "HN")
    page = await client.get("/staff/")
    assert page.status_code == 200
    expected = await cli_scores("--questionnaire", "counter", "--period", this_period("this_quarter"), "--unit", "HN")
    group = expected["groups"][0]
    card = re.search(r'<section class="card"[^>]*id="index-card">(.*?)</section>', page.text, re.S).group(1)
    words = text_of(card)
    assert format_number(group["index"]["value"], "vi") in words
    low, high = group["index"]["ci"]
    assert format_number(low, "vi") in words and format_number(high, "vi") in words
    position = re.search(r'data-position="(\w+)"', card).group(1)
    target = group["index"]["target"]
    assert position == ("above" if low > target else "below" if high < target else "within")
    assert f"n = {group['n']}" in words
    assert 'href="/staff/scores?questionnaire=counter' in page.text  # the whole table is a click away


async def test_every_drill_down_lists_as_many_responses_as_its_figure_counts(client, seeded):
    await sign_in_as(client, "leader", "HN")
    page = await client.get("/staff/")
    links = drills(page.text)
    # the scope, each criterion, each child unit with responses and each of its cells
    assert len(links) >= 1 + 5 + 3 + 3 * 5, links
    for href, n in links:
        assert await listed(client, href) == n, href
    feedback = next(n for href, n in links if "criterion=feedback" in href and "unit=HN-BD" in href)
    whole = next(n for href, n in links if "unit=HN-BD" in href and "criterion" not in href)
    assert (feedback, whole) == (30, 40)  # ten responses in Ba Đình did not answer the feedback element
    query = parse_qs(urlsplit(links[0][0]).query)
    assert query["period"] == [this_period("this_quarter")] and query["questionnaire"] == ["counter"]


async def test_the_figures_follow_the_filters(client, seeded):
    await sign_in_as(client, "leader", "HN")
    page = await client.get("/staff/?channel=online")
    expected = await cli_scores("--questionnaire", "counter", "--period", this_period("this_quarter"), "--unit", "HN",
                                "--channel", "online")
    assert expected["groups"][0]["n"] == 31
    links = drills(page.text)
    assert all("channel=online" in href for href, _ in links)
    for href, n in links:
        assert await listed(client, href) == n, href
    service = await client.get("/staff/?service=HIC")
    assert re.search(r'data-drill="12"', service.text)
    assert 'data-unit="HN-BD"' in service.text  # a child without responses keeps its line


async def test_a_child_below_the_minimum_shows_only_its_n(client, seeded):
    await sign_in_as(client, "leader", "HN")
    page = await client.get("/staff/")
    row = re.search(r'<tr data-unit="HN-CG">(.*?)</tr>', page.text, re.S).group(1)
    assert "%" not in text_of(row)  # no share of 12 answers
    assert "n = 12" in text_of(row)
    assert 'class="heat-' not in row


async def test_the_heatmap_and_the_units_menu_drill_down_the_tree(client, seeded):
    await sign_in_as(client, "quality", "VN")
    page = await client.get("/staff/")
    row = re.search(r'<tr data-unit="HN">(.*?)</tr>', page.text, re.S).group(1)
    link = re.search(r'<th scope="row"><a href="([^"]+)"', row).group(1)
    assert "unit=HN" in html.unescape(link)
    below = await client.get(html.unescape(link))
    assert below.status_code == 200
    assert re.search(r'<tr data-unit="HN-BD">', below.text)
    assert 'id="dashboard-scope" data-unit="HN"' in below.text
    assert '<a href="/staff/?' in below.text.split('id="dashboard-scope"')[0]  # the way back up to the centre
    for href, n in drills(below.text):
        assert await listed(client, href) == n, href


async def test_bad_choices_are_named_and_other_units_refused(client, seeded):
    await sign_in_as(client, "unit_manager", "HN")  # quality, leader and admin may choose any unit
    for query, named in (("unit=HCM-Q1", "unit"), ("unit=NOPE", "unit"), ("period=someday", "period"),
                         ("questionnaire=nope", "questionnaire"), ("channel=fax", "channel"),
                         ("service=NOPE", "service")):
        page = await client.get(f"/staff/?{query}")
        assert page.status_code == 400, query
        assert named in text_of(page.text), query
        assert "Quận 1" not in page.text


async def test_the_dashboard_counts_open_and_overdue_cases_and_alerts(client, seeded):
    from datetime import UTC, datetime, timedelta

    from survey.tables import FollowUp, Response, Unit

    unit = await Unit.select(Unit.id).where(Unit.code == "HN-BD").first()
    responses = await Response.select(Response.id).where(Response.unit == unit["id"]).limit(2)
    now = datetime.now(UTC)
    for response, due in zip(responses, (now - timedelta(hours=1), now + timedelta(hours=1)), strict=True):
        await FollowUp.insert(FollowUp(response=response["id"], unit=unit["id"], status="open", due_at=due,
                                       reasons=["low_overall"], created_at=now - timedelta(hours=2)))
    await sign_in_as(client, "leader", "HN")
    page = await client.get("/staff/")
    assert '<span id="open-follow-ups">2</span>' in page.text
    assert '<span id="overdue-follow-ups">1</span>' in page.text
    assert '<span id="active-alerts">0</span>' in page.text


async def test_the_dashboard_is_recorded_and_the_list_moved(client, seeded):
    from survey.tables import AuditEvent

    await sign_in_as(client, "leader", "HN")
    await client.get("/staff/?period=last_month")
    event = await AuditEvent.select(AuditEvent.action, AuditEvent.detail).order_by(
        AuditEvent.id, ascending=False).first()
    assert event["action"] == "dashboard_viewed"
    assert this_period("last_month") in str(event["detail"])
    responses = await client.get("/staff/responses")
    assert responses.status_code == 200 and 'data-total="' in responses.text
