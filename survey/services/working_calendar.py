"""The working calendar: which days a public office works, and when a case opened at a moment falls due.

Working time is that of a Vietnamese public office: Monday to Friday 07:30-11:30 and 13:00-16:30 in
Asia/Ho_Chi_Minh. Public holidays come from the ``holidays`` package's Vietnam calendar (Tết, Hùng Kings' day,
30/4, 1/5, 2/9 and its adjacent day, the substitute days and the make-up Saturdays it knows). Each year the
government announces day swaps (a weekday off, a Saturday worked instead) that the package may not know yet;
administrators enter them (``/staff/calendar``, ``survey calendar add``) and what they enter wins over the
package: a ``holiday`` entry makes a day a day off, a ``workday`` entry makes it a working day.

A complaint must be answered within one working hour (Official Letter 2149/BHXH-CNTT), so a case opened at 16:10
on a Friday falls due at 08:10 on Monday, and one opened on the Friday before Tết 2026 at 16:10 falls due on the
Monday after it:

    >>> from datetime import datetime
    >>> calendar = WorkingCalendar()
    >>> calendar.add_working_hours(datetime(2026, 11, 27, 16, 10, tzinfo=WORKING_TIMEZONE), 1).isoformat()
    '2026-11-30T08:10:00+07:00'
    >>> calendar.add_working_hours(datetime(2026, 2, 13, 16, 10, tzinfo=WORKING_TIMEZONE), 1).isoformat()
    '2026-02-23T08:10:00+07:00'
"""

from __future__ import annotations

import time as clock
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from survey.tables import CalendarDayKind

__all__ = [
    "CALENDAR_KINDS",
    "WORKING_DAYS",
    "WORKING_PERIODS",
    "WORKING_TIMEZONE",
    "CalendarEntry",
    "CalendarError",
    "DayKind",
    "WorkingCalendar",
    "YearCalendar",
    "add_calendar_day",
    "add_calendar_swap",
    "calendar_entries",
    "forget_cached_calendar",
    "remove_calendar_day",
    "working_calendar",
]

WORKING_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
WORKING_DAYS = frozenset({0, 1, 2, 3, 4})  # Monday .. Friday
WORKING_PERIODS: tuple[tuple[time, time], ...] = ((time(7, 30), time(11, 30)), (time(13, 0), time(16, 30)))
FIRST_YEAR, LAST_YEAR = 2000, 2100  # the years a date on the calendar may fall in
CACHE_SECONDS = 60.0  # another process's change to the calendar is seen within this time


# holiday: not worked (a public holiday, a swap's day off); workday: worked (a make-up Saturday)
DayKind = CalendarDayKind

CALENDAR_KINDS = tuple(kind.value for kind in DayKind)


class CalendarError(ValueError):
    """A calendar entry that cannot be kept; the message names what was wrong."""


@dataclass(frozen=True)
class CalendarEntry:
    """A day that is not what its weekday says: ``source`` is ``law`` (the package) or ``admin`` (entered here)."""

    day: date
    kind: DayKind
    name: str
    source: str = "admin"
    swap_with: date | None = None
    names: Mapping[str, str] = field(default_factory=dict)  # the package's name per language

    def label(self, language: str) -> str:
        return self.names.get(language, self.name)


@cache
def _law_year(year: int) -> tuple[tuple[CalendarEntry, ...], frozenset[date]]:
    """The package's Vietnamese holidays of ``year`` (names in Vietnamese and English) and its make-up days."""
    import holidays

    by_language = {language: holidays.country_holidays("VN", years=year, language=code)
                   for language, code in (("vi", "vi"), ("en", "en_US"))}
    days = by_language["vi"]
    entries = tuple(
        CalendarEntry(day, DayKind.holiday, name, "law",
                      names={language: str(table.get(day, name)) for language, table in by_language.items()})
        for day, name in sorted(days.items())
    )
    workdays = frozenset(day for day in getattr(days, "weekend_workdays", ()) if day.year == year)
    return entries, workdays


def _make_up_day(day: date) -> CalendarEntry:
    return CalendarEntry(day, DayKind.workday, "Ngày làm bù", "law",
                         names={"vi": "Ngày làm bù", "en": "Make-up working day"})


@dataclass(frozen=True)
class YearCalendar:
    """One year: every day that is not what its weekday says, and the working days and hours of each month."""

    year: int
    entries: tuple[CalendarEntry, ...]
    working_days: tuple[int, ...]  # per month, January first

    @property
    def working_hours(self) -> tuple[float, ...]:
        per_day = sum((datetime.combine(date.min, end) - datetime.combine(date.min, start)).seconds
                      for start, end in WORKING_PERIODS) / 3600
        return tuple(days * per_day for days in self.working_days)


class WorkingCalendar:
    """Working days and hours: the package's holidays with the administrators' entries over them."""

    def __init__(self, entries: Iterable[CalendarEntry] = ()) -> None:
        self.admin: dict[date, CalendarEntry] = {entry.day: entry for entry in entries}

    def entry(self, day: date) -> CalendarEntry | None:
        """What makes ``day`` other than its weekday: an administrator's entry, else the package's."""
        if day in self.admin:
            return self.admin[day]
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            return None
        entries, workdays = _law_year(day.year)
        for entry in entries:
            if entry.day == day:
                return entry
        return _make_up_day(day) if day in workdays else None

    def is_working_day(self, day: date) -> bool:
        entry = self.entry(day)
        if entry is not None:
            return entry.kind == DayKind.workday
        return day.weekday() in WORKING_DAYS

    def _periods(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.is_working_day(day):
            return []
        return [(datetime.combine(day, opens, WORKING_TIMEZONE), datetime.combine(day, closes, WORKING_TIMEZONE))
                for opens, closes in WORKING_PERIODS]

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment ``hours`` working hours after ``start``, in ``start``'s time zone.

        ``start`` must be time-zone aware. Time outside the working periods (evenings, lunch, weekends, holidays)
        does not count; a deadline that ends exactly at the close of a period stays there.
        """
        if start.tzinfo is None:
            raise CalendarError("start must be time-zone aware (give its offset, e.g. +07:00)")
        if hours < 0:
            raise CalendarError(f"hours must not be negative, got {hours}")
        remaining = timedelta(hours=hours)
        local = start.astimezone(WORKING_TIMEZONE)
        day = local.date()
        for _ in range(3660):  # ten years of days: more than any deadline needs
            for period_start, period_end in self._periods(day):
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
        raise CalendarError(f"no working time within ten years of {start.isoformat()}")

    def window_start(self, end: datetime, hours: float) -> datetime:
        """The moment ``hours`` working hours before ``end``: where a rolling window of working time begins."""
        if end.tzinfo is None:
            raise CalendarError("end must be time-zone aware")
        if hours < 0:
            raise CalendarError(f"hours must not be negative, got {hours}")
        remaining = timedelta(hours=hours)
        local = end.astimezone(WORKING_TIMEZONE)
        day = local.date()
        for _ in range(3660):
            for period_start, period_end in reversed(self._periods(day)):
                if local <= period_start:
                    continue
                finish = min(local, period_end)
                available = finish - period_start
                if remaining <= available:
                    return (finish - remaining).astimezone(end.tzinfo)
                remaining -= available
                local = period_start
            day -= timedelta(days=1)
            local = datetime.combine(day + timedelta(days=1), time(0, 0), WORKING_TIMEZONE)
        raise CalendarError(f"no working time within ten years before {end.isoformat()}")

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """The working time from ``start`` to ``end`` (zero when ``end`` is not after it): what an SLA counts."""
        if start.tzinfo is None or end.tzinfo is None:
            raise CalendarError("start and end must be time-zone aware")
        total = timedelta()
        local_start, local_end = start.astimezone(WORKING_TIMEZONE), end.astimezone(WORKING_TIMEZONE)
        day = local_start.date()
        while day <= local_end.date():
            for period_start, period_end in self._periods(day):
                begin, finish = max(period_start, local_start), min(period_end, local_end)
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)
        return total

    def year(self, year: int) -> YearCalendar:
        """``year``'s entries (the package's and the administrators', the latter winning) and working days."""
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise CalendarError(f"year must be between {FIRST_YEAR} and {LAST_YEAR}, got {year}")
        entries: dict[date, CalendarEntry] = {}
        law, workdays = _law_year(year)
        for entry in law:
            entries[entry.day] = entry
        for day in workdays:
            entries[day] = _make_up_day(day)
        for day, entry in self.admin.items():
            if day.year == year:
                entries[day] = entry
        counts = [0] * 12
        day = date(year, 1, 1)
        while day.year == year:
            counts[day.month - 1] += self.is_working_day(day)
            day += timedelta(days=1)
        return YearCalendar(year, tuple(entries[day] for day in sorted(entries)), tuple(counts))


# --- kept entries ---------------------------------------------------------------------------------------------------

_cached: tuple[float, WorkingCalendar] | None = None


def forget_cached_calendar() -> None:
    """Read the entries again at the next use (after a change in this process; tests between databases)."""
    global _cached
    _cached = None


async def calendar_entries() -> list[CalendarEntry]:
    """The administrators' entries, by day."""
    from survey.tables import CalendarDay

    rows = await CalendarDay.select(CalendarDay.day, CalendarDay.kind, CalendarDay.name,
                                    CalendarDay.swap_with).order_by(CalendarDay.day)
    return [CalendarEntry(_as_date(row["day"]), DayKind(row["kind"]), row["name"], "admin",
                          _as_date(row["swap_with"]) if row["swap_with"] else None) for row in rows]


async def working_calendar() -> WorkingCalendar:
    """The calendar with the administrators' entries (read again after ``CACHE_SECONDS`` or a change here)."""
    global _cached
    now = clock.monotonic()
    if _cached is None or now - _cached[0] > CACHE_SECONDS:
        _cached = (now, WorkingCalendar(await calendar_entries()))
    return _cached[1]


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _checked(day: date, kind: str, name: str) -> tuple[DayKind, str]:
    if kind not in CALENDAR_KINDS:
        raise CalendarError(f"kind must be one of {', '.join(CALENDAR_KINDS)}, got {kind!r}")
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise CalendarError(f"the day must fall between {FIRST_YEAR} and {LAST_YEAR}, got {day.isoformat()}")
    name = " ".join(name.split())
    if not name:
        raise CalendarError("a name is required (e.g. 'Nghỉ bù Quốc khánh')")
    if len(name) > 200:
        raise CalendarError(f"the name is {len(name)} characters long; at most 200")
    return DayKind(kind), name


async def add_calendar_day(day: date, kind: str, name: str, *, actor_id: int | None = None,
                           swap_with: date | None = None) -> CalendarEntry:
    """Keep an administrator's entry for ``day`` (a second entry for the same day is refused)."""
    from survey.db import write_transaction
    from survey.tables import CalendarDay

    checked_kind, checked_name = _checked(day, kind, name)
    async with write_transaction():
        if await CalendarDay.exists().where(CalendarDay.day == day):
            raise CalendarError(f"{day.isoformat()} already has an entry; remove it first")
        await CalendarDay.insert(CalendarDay(day=day, kind=checked_kind.value, name=checked_name,
                                             swap_with=swap_with, created_by=actor_id))
    forget_cached_calendar()
    return CalendarEntry(day, checked_kind, checked_name, "admin", swap_with)


async def add_calendar_swap(day_off: date, day_worked: date, name: str, *,
                            actor_id: int | None = None) -> tuple[CalendarEntry, CalendarEntry]:
    """An announced swap: ``day_off`` (a working day) is not worked, ``day_worked`` (a weekend day) is, together."""
    from survey.db import write_transaction
    from survey.tables import CalendarDay

    _, checked_name = _checked(day_off, DayKind.holiday, name)
    _checked(day_worked, DayKind.workday, name)
    if day_off == day_worked:
        raise CalendarError("a swap needs two different days")
    if day_worked.weekday() in WORKING_DAYS:
        raise CalendarError(f"the day worked instead, {day_worked.isoformat()}, is a weekday; give a Saturday or "
                            "Sunday")
    async with write_transaction():
        taken = await CalendarDay.select(CalendarDay.day).where(CalendarDay.day.is_in([day_off, day_worked]))
        if taken:
            raise CalendarError(f"{_as_date(taken[0]['day']).isoformat()} already has an entry; remove it first")
        await CalendarDay.insert(
            CalendarDay(day=day_off, kind=DayKind.holiday.value, name=checked_name, swap_with=day_worked,
                        created_by=actor_id),
            CalendarDay(day=day_worked, kind=DayKind.workday.value, name=checked_name, swap_with=day_off,
                        created_by=actor_id),
        )
    forget_cached_calendar()
    return (CalendarEntry(day_off, DayKind.holiday, checked_name, "admin", day_worked),
            CalendarEntry(day_worked, DayKind.workday, checked_name, "admin", day_off))


async def remove_calendar_day(day: date) -> list[date]:
    """Remove the administrators' entry for ``day`` (and the other day of its swap); the days removed."""
    from survey.db import write_transaction
    from survey.tables import CalendarDay

    async with write_transaction():
        rows = await CalendarDay.select(CalendarDay.day, CalendarDay.swap_with).where(CalendarDay.day == day)
        if not rows:
            raise CalendarError(f"{day.isoformat()} has no entry of the administrators (the law's days stay)")
        days = [day] + ([_as_date(rows[0]["swap_with"])] if rows[0]["swap_with"] else [])
        await CalendarDay.delete().where(CalendarDay.day.is_in(days))
    forget_cached_calendar()
    return days
