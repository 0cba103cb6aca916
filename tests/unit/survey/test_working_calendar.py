"""The working calendar as a table of cases: when a case opened at a moment falls due one working hour later.

Working time: Monday-Friday 07:30-11:30 and 13:00-16:30 Asia/Ho_Chi_Minh; the Vietnamese public holidays of the
``holidays`` package (2026: Tết 16-20 February, Hùng Kings' day on Sunday 26 April observed on Monday 27 April,
30/4, 1/5, 31/8 given for the make-up Saturday 22/8, 1-2/9, 24/11), and the administrators' entries over them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from survey.services.working_calendar import (
    WORKING_TIMEZONE,
    CalendarEntry,
    CalendarError,
    DayKind,
    WorkingCalendar,
)

# an announced swap the package does not know: Friday 2 January 2026 off, Saturday 10 January worked instead
ADMIN = [
    CalendarEntry(date(2026, 1, 2), DayKind.holiday, "Nghỉ bù Tết Dương lịch", swap_with=date(2026, 1, 10)),
    CalendarEntry(date(2026, 1, 10), DayKind.workday, "Làm bù Tết Dương lịch", swap_with=date(2026, 1, 2)),
]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=WORKING_TIMEZONE)


CASES = [
    # opened at (Hà Nội time)       due at                  why
    ("2026-11-30 08:00", "2026-11-30 09:00", "a plain Monday morning"),
    ("2026-11-30 11:10", "2026-11-30 13:40", "across lunch: 20 minutes before it, 40 after"),
    ("2026-11-30 12:15", "2026-11-30 14:00", "opened during lunch: counted from 13:00"),
    ("2026-11-30 16:10", "2026-12-01 08:10", "across the evening"),
    ("2026-11-30 19:00", "2026-12-01 08:30", "opened at night: counted from the next opening"),
    ("2026-12-01 06:00", "2026-12-01 08:30", "opened before the office opens"),
    ("2026-11-27 16:10", "2026-11-30 08:10", "across the weekend"),
    ("2026-11-28 10:00", "2026-11-30 08:30", "opened on a Saturday"),
    ("2026-02-13 16:10", "2026-02-23 08:10", "across the 2026 Tết break (16-20 February and two weekends)"),
    ("2026-02-17 09:00", "2026-02-23 08:30", "opened on the first day of Tết"),
    ("2026-08-21 16:10", "2026-08-22 08:10", "the make-up Saturday 22 August 2026 is a working day"),
    ("2026-08-22 16:10", "2026-08-24 08:10", "from the make-up Saturday across its Sunday"),
    ("2026-08-28 16:10", "2026-09-03 08:10", "31 August (given for 22/8) and 1-2 September are days off"),
    ("2026-04-24 16:10", "2026-04-28 08:10", "Hùng Kings' day on a Sunday is observed on Monday 27 April"),
    ("2026-04-29 16:10", "2026-05-04 08:10", "30/4 and 1/5 then the weekend"),
    ("2026-12-31 16:10", "2027-01-04 08:10", "the end of the year: 1 January 2027 (a Friday) is a holiday"),
    ("2026-12-31 15:30", "2026-12-31 16:30", "a deadline at the close of a period stays there"),
    ("2026-01-01 09:00", "2026-01-05 08:30", "an administrators' swap: 1 January a holiday, the 2nd given off"),
    ("2026-01-09 16:10", "2026-01-10 08:10", "and the Saturday worked for it, 10 January"),
]


@pytest.mark.parametrize(("opened", "due", "why"), CASES, ids=[case[2][:40] for case in CASES])
def test_a_case_falls_due_one_working_hour_after_it_opens(opened, due, why):
    calendar = WorkingCalendar(ADMIN)
    assert calendar.add_working_hours(at(opened), 1) == at(due), why


@pytest.mark.parametrize(("opened", "hours", "due"), [
    ("2026-12-06 23:59", 2, "2026-12-07 09:30"),  # Sunday night
    ("2026-11-30 07:30", 7.5, "2026-11-30 16:30"),  # a whole working day ends at closing time
    ("2026-11-30 07:30", 8, "2026-12-01 08:00"),
    ("2026-11-30 09:00", 0.25, "2026-11-30 09:15"),
    ("2026-11-23 16:00", 1, "2026-11-25 08:00"),  # 24 November, Vietnam Culture Day, is a day off from 2026
])
def test_other_spans_of_working_time(opened, hours, due):
    assert WorkingCalendar().add_working_hours(at(opened), hours) == at(due)


def test_the_due_time_keeps_the_time_zone_it_was_given():
    calendar = WorkingCalendar()
    opened = datetime.fromisoformat("2026-11-30T09:10:00+00:00")  # 16:10 in Hà Nội
    due = calendar.add_working_hours(opened, 1)
    assert due.utcoffset() == timedelta(0)
    assert due == at("2026-12-01 08:10")


def test_the_working_time_between_two_moments_counts_only_working_periods():
    calendar = WorkingCalendar()
    assert calendar.working_time_between(at("2026-11-27 16:10"), at("2026-11-30 08:10")) == timedelta(hours=1)
    assert calendar.working_time_between(at("2026-11-30 11:00"), at("2026-11-30 13:30")) == timedelta(hours=1)
    assert calendar.working_time_between(at("2026-11-30 10:00"), at("2026-11-30 09:00")) == timedelta(0)
    assert calendar.working_time_between(at("2026-02-13 16:00"), at("2026-02-23 07:45")) == timedelta(minutes=45)


def test_the_year_lists_its_days_off_and_make_up_days_and_counts_its_working_days():
    year = WorkingCalendar(ADMIN).year(2026)
    kinds = {entry.day: (entry.kind, entry.source) for entry in year.entries}
    assert kinds[date(2026, 2, 17)] == (DayKind.holiday, "law")  # Tết
    assert kinds[date(2026, 8, 22)] == (DayKind.workday, "law")  # the package's make-up Saturday
    assert kinds[date(2026, 1, 10)] == (DayKind.workday, "admin")
    assert kinds[date(2026, 1, 2)] == (DayKind.holiday, "admin")
    tet = next(entry for entry in year.entries if entry.day == date(2026, 2, 17))
    assert tet.label("en") == "Lunar New Year" and "Tết" in tet.label("vi")
    # February 2026: 20 weekdays less the five of Tết
    assert year.working_days[1] == 15
    # January: 22 weekdays, less 1/1 and the 2nd given off, plus the Saturday worked
    assert year.working_days[0] == 21
    assert year.working_hours[1] == 15 * 7.5


def test_an_administrators_workday_wins_over_the_package():
    calendar = WorkingCalendar([CalendarEntry(date(2026, 11, 24), DayKind.workday, "Làm việc")])
    assert WorkingCalendar().is_working_day(date(2026, 11, 24)) is False  # Vietnam Culture Day
    assert calendar.is_working_day(date(2026, 11, 24)) is True


@pytest.mark.parametrize(("start", "hours", "message"), [
    (datetime(2026, 11, 30, 9, 0), 1, "time-zone aware"),
    (at("2026-11-30 09:00"), -1, "must not be negative"),
])
def test_bad_input_is_refused_with_what_was_wrong(start, hours, message):
    with pytest.raises(CalendarError, match=message):
        WorkingCalendar().add_working_hours(start, hours)


def test_a_year_outside_the_calendar_is_refused():
    with pytest.raises(CalendarError, match="between 2000 and 2100"):
        WorkingCalendar().year(1999)


@pytest.mark.parametrize(("end", "hours", "start"), [
    ("2026-11-30 10:00", 1, "2026-11-30 09:00"),
    ("2026-11-30 13:30", 1, "2026-11-30 11:00"),  # lunch does not count
    ("2026-11-30 08:00", 7.5, "2026-11-27 08:00"),  # a working day back across the weekend
    ("2026-11-29 12:00", 1, "2026-11-27 15:30"),  # from a Sunday
    ("2026-02-23 08:30", 2, "2026-02-13 15:30"),  # across the Tết break
])
def test_a_rolling_window_of_working_hours_starts_where_its_hours_run_out(end, hours, start):
    calendar = WorkingCalendar()
    assert calendar.window_start(at(end), hours) == at(start)
    assert calendar.working_time_between(at(start), at(end)) == timedelta(hours=hours)
