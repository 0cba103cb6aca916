"""Follow-up deadlines in working hours: Mon-Fri 07:30-11:30 and 13:00-16:30, Asia/Ho_Chi_Minh."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from survey.services.followups import WORKING_TIMEZONE, add_working_hours

HCM = WORKING_TIMEZONE


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in the week of Monday 23 November 2026 (day 23 = Monday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=HCM)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (at(23, 9, 0), 1, at(23, 10, 0)),  # a Monday morning
        (at(23, 10, 45), 1, at(23, 13, 15)),  # lunch does not count
        (at(23, 11, 30), 1, at(23, 14, 0)),  # opened at the lunch break
        (at(23, 12, 15), 1, at(23, 14, 0)),  # opened during lunch
        (at(23, 16, 0), 1, at(24, 8, 0)),  # half an hour today, half tomorrow morning
        (at(23, 19, 30), 1, at(24, 8, 30)),  # an evening
        (at(23, 6, 0), 1, at(23, 8, 30)),  # before opening
        (at(27, 16, 10), 1, at(30, 8, 10)),  # Friday afternoon to Monday
        (at(28, 10, 0), 1, at(30, 8, 30)),  # Saturday
        (at(29, 23, 59), 2, at(30, 9, 30)),  # Sunday night
        (at(23, 7, 30), 7.5, at(23, 16, 30)),  # a whole working day ends at closing time
        (at(23, 7, 30), 8, at(24, 8, 0)),
        (at(23, 9, 0), 0.25, at(23, 9, 15)),
    ],
)
def test_deadlines_skip_evenings_lunch_and_weekends(start, hours, due):
    assert add_working_hours(start, hours) == due


def test_the_deadline_keeps_the_time_zone_it_was_given():
    start = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 09:00 in Ho Chi Minh City
    due = add_working_hours(start, 1)
    assert due.tzinfo == UTC
    assert due == datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def test_naive_times_and_negative_hours_are_refused():
    with pytest.raises(ValueError, match="aware"):
        add_working_hours(datetime(2026, 11, 23, 9, 0), 1)
    with pytest.raises(ValueError, match="negative"):
        add_working_hours(at(23, 9), -1)
