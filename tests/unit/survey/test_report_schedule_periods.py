"""When a report schedule's periods fall due: the period's end plus the grace days, at local midnight in Hà Nội,
from the first period on, leaving out the periods already claimed."""

from __future__ import annotations

import doctest
from datetime import UTC, date, datetime

import pytest

from survey.services.reports import schedules
from survey.services.reports.schedules import Schedule, due_periods, next_due_at, period_due_at, period_of


def calendar(frequency: str, first_period: str, grace_days: int = 3) -> Schedule:
    return Schedule(id=1, name="test", kind="unit", unit="HN-BD", service=None, questionnaire=None,
                    frequency=frequency, recipients=("a@example.vn",), language="vi", grace_days=grace_days,
                    first_period=first_period, next_run_at=datetime(2026, 1, 1, tzinfo=UTC), active=True)


def local(*parts: int) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(*parts, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


CASES = [  # (frequency, first period, grace days, now in Hà Nội, claimed, due periods)
    # a quarter: due at midnight three days after its end, not a second before
    ("quarterly", "2026-Q3", 3, local(2026, 10, 3, 23, 59, 59), (), []),
    ("quarterly", "2026-Q3", 3, local(2026, 10, 4, 0, 0), (), ["2026-Q3"]),
    # the local day counts: at 01:00 on 1 February in Hà Nội it is still 31 January in UTC
    ("monthly", "2026-01", 0, local(2026, 2, 1, 1, 0), (), ["2026-01"]),
    ("monthly", "2026-01", 0, local(2026, 1, 31, 23, 0), (), []),
    # the grace runs across the month's end into the next month
    ("monthly", "2026-01", 3, local(2026, 2, 3, 23, 0), (), []),
    ("monthly", "2026-01", 3, local(2026, 2, 4, 0, 0), (), ["2026-01"]),
    # a grace longer than February (28 days in 2026): January is due on 6 March, February not yet
    ("monthly", "2026-01", 33, local(2026, 3, 5, 23, 59), (), []),
    ("monthly", "2026-01", 33, local(2026, 3, 6, 0, 0), (), ["2026-01"]),
    # from the first period on, every closed one, oldest first; a quarter's grace across the year's end
    ("monthly", "2026-09", 3, local(2026, 12, 10), (), ["2026-09", "2026-10", "2026-11"]),
    ("quarterly", "2026-Q2", 3, local(2027, 1, 4, 0, 0), (), ["2026-Q2", "2026-Q3", "2026-Q4"]),
    ("quarterly", "2026-Q2", 3, local(2027, 1, 3, 12, 0), (), ["2026-Q2", "2026-Q3"]),
    # nothing before the first period, nothing while the first is open
    ("monthly", "2026-11", 3, local(2026, 11, 30), (), []),
    # claimed periods are left out, later ones still come
    ("monthly", "2026-09", 3, local(2026, 12, 10), ("2026-09", "2026-11"), ["2026-10"]),
]


@pytest.mark.parametrize(("frequency", "first", "grace", "now", "claimed", "expected"), CASES)
def test_the_due_periods(frequency, first, grace, now, claimed, expected):
    assert due_periods(calendar(frequency, first, grace), now.astimezone(UTC), claimed=set(claimed)) == expected


def test_a_period_is_due_at_local_midnight_after_the_grace():
    assert period_due_at("2026-12", "monthly", 3) == local(2027, 1, 4).astimezone(UTC)
    assert period_due_at("2026-Q4", "quarterly", 0) == datetime(2026, 12, 31, 17, 0, tzinfo=UTC)


def test_the_next_due_time_is_the_first_unclaimed_period_s():
    monthly = calendar("monthly", "2026-09")
    assert next_due_at(monthly) == local(2026, 10, 4).astimezone(UTC)
    assert next_due_at(monthly, claimed={"2026-09", "2026-10"}) == local(2026, 12, 4).astimezone(UTC)
    # a hole (a period due but not claimed) comes first: the next tick picks it up
    assert next_due_at(monthly, claimed={"2026-10"}) == local(2026, 10, 4).astimezone(UTC)


@pytest.mark.parametrize(("day", "monthly", "quarterly"), [
    (date(2026, 1, 1), "2026-01", "2026-Q1"), (date(2026, 3, 31), "2026-03", "2026-Q1"),
    (date(2026, 4, 1), "2026-04", "2026-Q2"), (date(2026, 12, 31), "2026-12", "2026-Q4"),
])
def test_the_period_of_a_day(day, monthly, quarterly):
    assert (period_of(day, "monthly"), period_of(day, "quarterly")) == (monthly, quarterly)


def test_the_module_examples_run():
    result = doctest.testmod(schedules)
    assert result.attempted > 0 and result.failed == 0
