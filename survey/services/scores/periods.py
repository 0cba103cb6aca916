"""Periods of a scores request: a month, a quarter, a year or a range of days, and the month labels.

>>> parse_period("2026-Q2").label, str(parse_period("2026-Q2").end)
('2026-Q2', '2026-07-01')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from survey.services.scores.errors import ScoreParameterError

__all__ = ["FIRST_YEAR", "LAST_YEAR", "PERIOD_FORMS", "Period", "add_months", "month_label", "parse_period",
           "period_name", "twelve_months"]

PERIOD_FORMS = "2026-05 (month), 2026-Q2 (quarter), 2026 (year) or 2026-01-01..2026-03-31 (from..to, inclusive)"
# the years a period may cover: a typo such as 0226 for 2026 is refused, not scored as an empty antiquity
FIRST_YEAR, LAST_YEAR = 2000, 2100


def add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after (or before) ``day``'s month.

    >>> add_months(date(2026, 11, 15), 3)
    datetime.date(2027, 2, 1)
    """
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_label(code: int) -> str:
    """A month code (``year * 12 + month - 1``) as ``YYYY-MM``.

    >>> month_label(2026 * 12 + 4)
    '2026-05'
    """
    return f"{code // 12:04d}-{code % 12 + 1:02d}"


@dataclass(frozen=True)
class Period:
    """Local calendar days ``[start, end)`` with the label the user gave."""

    label: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> Period:
        """The period of the same kind just before (a month, quarter, year, or as many days)."""
        if self.start.day == 1 and self.end.day == 1:
            months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month
            return Period(f"before {self.label}", add_months(self.start, -months), self.start)
        return Period(f"before {self.label}", self.start - timedelta(days=self.days), self.start)

    def year_earlier(self) -> Period:
        """The same days a year earlier (29 February becomes the 28th)."""

        def back(day: date) -> date:
            if day.month == 2 and day.day == 29:
                return date(day.year - 1, 2, 28)
            return day.replace(year=day.year - 1)

        return Period(f"{self.label} a year earlier", back(self.start), back(self.end))

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """The period's first and end instants in UTC, its days counted in ``timezone``."""
        zone = ZoneInfo(timezone)
        return (datetime.combine(self.start, datetime.min.time(), zone).astimezone(UTC),
                datetime.combine(self.end, datetime.min.time(), zone).astimezone(UTC))


def twelve_months(period: Period) -> Period:
    """The twelve months ending with ``period``'s last month: a trend's window.

    >>> twelve_months(parse_period("2026-Q2")).label
    '2025-07-01..2026-06-30'
    """
    start = add_months(period.end, -12)
    last = date.fromordinal(period.end.toordinal() - 1)
    return parse_period(f"{start.isoformat()}..{last.isoformat()}")


def period_name(period: Period) -> str:
    """The days of ``period`` as a user writes them: ``2026-05``, ``2026-Q1``, ``2025`` or ``from..to``.

    >>> [period_name(parse_period(p).previous()) for p in ("2026-06", "2026-Q2", "2026", "2026-01-11..2026-01-20")]
    ['2026-05', '2026-Q1', '2025', '2026-01-01..2026-01-10']
    """
    start, end = period.start, period.end
    if start.day == 1 and end.day == 1:
        months = (end.year - start.year) * 12 + end.month - start.month
        if months == 1:
            return f"{start:%Y-%m}"
        if months == 3 and start.month % 3 == 1:
            return f"{start.year}-Q{start.month // 3 + 1}"
        if months == 12 and start.month == 1:
            return str(start.year)
    return f"{start.isoformat()}..{(end - timedelta(days=1)).isoformat()}"


def _parse(raw: str) -> Period | None:
    if m := re.fullmatch(r"(\d{4})-(\d{2})", raw, re.ASCII):
        start = date(int(m[1]), int(m[2]), 1)
        return Period(raw, start, add_months(start, 1))
    if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", raw, re.ASCII):
        start = date(int(m[1]), 3 * int(m[2]) - 2, 1)
        return Period(raw.upper(), start, add_months(start, 3))
    if m := re.fullmatch(r"(\d{4})", raw, re.ASCII):
        return Period(raw, date(int(m[1]), 1, 1), date(int(m[1]) + 1, 1, 1))
    if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", raw, re.ASCII):
        start, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
        if last < start:
            raise ScoreParameterError("period", f"{raw!r} ends before it starts")
        return Period(raw, start, last + timedelta(days=1))
    return None


def parse_period(text: str) -> Period:
    """``2026-05``, ``2026-Q2``, ``2026`` or ``2026-01-01..2026-03-31`` (both days included), within the years
    :data:`FIRST_YEAR`..:data:`LAST_YEAR`; anything else raises :class:`ScoreParameterError` naming ``period``.

    >>> parse_period("2026-05").end
    datetime.date(2026, 6, 1)
    >>> parse_period("2026-01-01..2026-03-31").days
    90
    >>> parse_period("0226-01-01..2026-12-31")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    survey.services.scores.errors.ScoreParameterError: period: '0226-01-01..2026-12-31' lies outside the years ...
    """
    raw = (text or "").strip()
    years = [int(year) for year in re.findall(r"(?<!\d)\d{4}(?!\d)", raw, re.ASCII)]
    if any(not FIRST_YEAR <= year <= LAST_YEAR for year in years):
        raise ScoreParameterError("period", f"{raw!r} lies outside the years {FIRST_YEAR}..{LAST_YEAR}; "
                                  f"use {PERIOD_FORMS}")
    try:
        period = _parse(raw)
    except ScoreParameterError:
        raise
    except ValueError as error:
        raise ScoreParameterError("period", f"{raw!r} is not a date: {error}; use {PERIOD_FORMS}") from None
    if period is None:
        raise ScoreParameterError("period", f"{raw!r} is not a period; use {PERIOD_FORMS}")
    return period
