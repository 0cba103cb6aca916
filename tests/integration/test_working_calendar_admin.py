"""The working calendar as administrators keep it (``/staff/calendar``, ``survey calendar``) and as the due times
read it (``survey followups due``): an entered swap moves a deadline, bad input is refused naming what was wrong
and leaves nothing behind, and only administrators may change it."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner

from tests.support.staff import CSRF_INPUT, sign_in_as


async def cli(*args: str):
    from survey.cli import main

    return await asyncio.to_thread(CliRunner().invoke, main, list(args), catch_exceptions=False)


@pytest.fixture(autouse=True)
def fresh_calendar():
    from survey.services.working_calendar import forget_cached_calendar

    forget_cached_calendar()
    yield
    forget_cached_calendar()


async def test_the_year_prints_its_days_off_make_up_days_and_working_days(database):
    shown = await cli("calendar", "show", "2026")
    assert shown.exit_code == 0, shown.output
    assert "2026-02-17  Tue  day off   law     Lunar New Year" in shown.output
    assert "2026-08-22  Sat  worked    law" in shown.output
    assert "Feb 15" in shown.output  # February's working days: 20 weekdays less the five of Tết
    bad = await cli("calendar", "show", "1800")
    assert bad.exit_code == 2 and "1800" in bad.output


async def test_an_entered_swap_moves_a_due_time_and_can_be_removed(database):
    before = await cli("followups", "due", "--opened-at", "2027-04-28T16:10")
    assert before.output.strip() == "2027-04-29T08:10:00+07:00"
    # 2027: 30/4 and 1/5 fall on Friday and Saturday; suppose Thursday 29/4 is given off for Saturday 8/5
    swapped = await cli("calendar", "swap", "--off", "2027-04-29", "--work", "2027-05-08",
                        "--name", "Hoán đổi ngày làm việc 2027")
    assert swapped.exit_code == 0, swapped.output
    due = await cli("followups", "due", "--opened-at", "2027-04-28T16:10")
    assert due.output.strip() == "2027-05-04T08:10:00+07:00"  # 29/4 swapped, 30/4 holiday, 1-2/5 weekend, 3/5 observed
    on_saturday = await cli("followups", "due", "--opened-at", "2027-05-07T16:10")
    assert on_saturday.output.strip() == "2027-05-08T08:10:00+07:00"  # the Saturday worked
    twice = await cli("calendar", "add", "2027-04-29", "--kind", "holiday", "--name", "again")
    assert twice.exit_code == 1 and "already has an entry" in twice.output
    removed = await cli("calendar", "remove", "2027-05-08")
    assert removed.exit_code == 0 and "2027-04-29" in removed.output  # both days of the swap go
    assert (await cli("followups", "due", "--opened-at", "2027-04-28T16:10")).output.strip() \
        == "2027-04-29T08:10:00+07:00"


@pytest.mark.parametrize(("args", "message"), [
    (["followups", "due", "--opened-at", "yesterday"], "not an ISO time"),
    (["calendar", "add", "2026-13-01", "--kind", "holiday", "--name", "x"], "not a date"),
    (["calendar", "add", "2026-12-24", "--kind", "holiday", "--name", "   "], "a name is required"),
    (["calendar", "swap", "--off", "2026-12-24", "--work", "2026-12-23", "--name", "x"], "is a weekday"),
    (["calendar", "remove", "2026-12-24"], "has no entry"),
])
async def test_bad_input_is_refused_naming_what_was_wrong(database, args, message):
    from survey.tables import CalendarDay

    result = await cli(*args)
    assert result.exit_code != 0 and message in result.output
    assert await CalendarDay.count() == 0


async def test_administrators_keep_the_calendar_on_its_page_and_others_may_not(client):
    await sign_in_as(client, "quality", "HN", username="quality-hn")
    assert (await client.get("/staff/calendar?year=2026")).status_code == 403
    client.cookies.clear()
    await sign_in_as(client, "admin", "VN")
    page = await client.get("/staff/calendar?year=2026")
    assert page.status_code == 200 and 'data-day="2026-02-17"' in page.text
    assert '<td class="num" data-month="2">15</td>' in page.text
    token = CSRF_INPUT.search(page.text).group(1)
    added = await client.post("/staff/calendar/swaps", follow_redirects=False, data={
        "_csrf_token": token, "day_off": "2026-12-31", "day_worked": "2026-12-26", "name": "Nghỉ cuối năm"})
    assert added.status_code == 303
    page = await client.get("/staff/calendar?year=2026&done=added")
    assert 'data-day="2026-12-26" data-kind="workday" data-source="admin"' in page.text
    refused = await client.post("/staff/calendar/days", data={"_csrf_token": token, "day": "31/12/2026",
                                                               "kind": "holiday", "name": "x"})
    assert refused.status_code == 400 and "is not a date" in refused.text
    removed = await client.post("/staff/calendar/days/2026-12-26/remove", data={"_csrf_token": token},
                                follow_redirects=False)
    assert removed.status_code == 303
    assert 'data-day="2026-12-31"' not in (await client.get("/staff/calendar?year=2026")).text
