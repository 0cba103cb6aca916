"""Follow-up cases: when they fall due, counted in working hours.

Working hours are those of a Vietnamese public office, Monday to Friday 07:30-11:30 and
13:00-16:30 in Asia/Ho_Chi_Minh (public holidays are not modelled yet). A complaint about wrong
data must be answered within one working hour (Official Letter 2149/BHXH-CNTT), so a case opened
at 16:10 on a Friday falls due at 08:10 on Monday.

Example::

    >>> from datetime import datetime
    >>> from zoneinfo import ZoneInfo
    >>> friday = datetime(2026, 11, 27, 16, 10, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    >>> add_working_hours(friday, 1).isoformat()
    '2026-11-30T08:10:00+07:00'
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["WORKING_DAYS", "WORKING_PERIODS", "WORKING_TIMEZONE", "add_working_hours"]

WORKING_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
WORKING_DAYS = frozenset({0, 1, 2, 3, 4})  # Monday .. Friday
WORKING_PERIODS: tuple[tuple[time, time], ...] = ((time(7, 30), time(11, 30)), (time(13, 0), time(16, 30)))


def add_working_hours(start: datetime, hours: float, holidays: Collection[date] = ()) -> datetime:
    """The moment ``hours`` working hours after ``start``, in ``start``'s time zone.

    ``start`` must be time-zone aware. Time outside the working periods (evenings, lunch,
    weekends, the local dates in ``holidays``) does not count; a deadline that ends exactly at the
    close of a period stays there.
    """
    if start.tzinfo is None:
        raise ValueError("add_working_hours: start must be time-zone aware")
    if hours < 0:
        raise ValueError(f"add_working_hours: hours must not be negative, got {hours}")
    remaining = timedelta(hours=hours)
    local = start.astimezone(WORKING_TIMEZONE)
    day = local.date()
    while True:
        if day.weekday() in WORKING_DAYS and day not in holidays:
            for opens, closes in WORKING_PERIODS:
                period_start = datetime.combine(day, opens, WORKING_TIMEZONE)
                period_end = datetime.combine(day, closes, WORKING_TIMEZONE)
                if local >= period_end:
                    continue
                begin = max(local, period_start)
                available = period_end - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(start.tzinfo)
                remaining -= available
                local = period_end
        day += timedelta(days=1)
        local = datetime.combine(day, time(0, 0), WORKING_TIMEZONE)
