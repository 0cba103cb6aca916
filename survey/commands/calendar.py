"""``survey calendar``: the working calendar (show a year, enter the announced swaps and make-up days) and
``survey followups due``: when a case opened at a moment falls due."""

from __future__ import annotations

from datetime import date, datetime

import click

from survey.commands import run

__all__ = ["register"]


class DayType(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-08-22", param, ctx)


DAY = DayType()


@click.group("calendar")
def calendar() -> None:
    """The working calendar: Monday-Friday 07:30-11:30 and 13:00-16:30 (Asia/Ho_Chi_Minh), Vietnam's public
    holidays, and the day swaps and make-up Saturdays the administrators enter for each year."""


@calendar.command("show")
@click.argument("year", type=click.IntRange(2000, 2100))
@click.option("--lang", type=click.Choice(["vi", "en"]), default="en", show_default=True,
              help="Language of the holidays' names.")
def calendar_show(year: int, lang: str) -> None:
    """Print YEAR's working calendar: each day off and make-up working day, then the working days per month."""
    from survey.services.working_calendar import DayKind, working_calendar

    year_calendar = run(working_calendar()).year(year)
    click.echo(f"Working calendar {year} (Mon-Fri 07:30-11:30, 13:00-16:30 Asia/Ho_Chi_Minh)")
    click.echo(f"{'date':<10}  {'day':<3}  {'kind':<8}  {'source':<6}  name")
    for entry in year_calendar.entries:
        swap = f" (swap with {entry.swap_with.isoformat()})" if entry.swap_with else ""
        kind = "day off" if entry.kind == DayKind.holiday else "worked"
        click.echo(f"{entry.day.isoformat():<10}  {entry.day.strftime('%a'):<3}  {kind:<8}  {entry.source:<6}  "
                   f"{entry.label(lang)}{swap}")
    months = "  ".join(f"{date(year, month, 1).strftime('%b')} {days}"
                       for month, days in enumerate(year_calendar.working_days, start=1))
    click.echo(f"working days: {months}; {sum(year_calendar.working_days)} in the year")


def _refused(error: Exception) -> click.ClickException:
    return click.ClickException(str(error))


@calendar.command("add")
@click.argument("day", type=DAY)
@click.option("--kind", type=click.Choice(["holiday", "workday"]), required=True,
              help="holiday: the day is not worked; workday: the day is worked (a make-up Saturday).")
@click.option("--name", required=True, help="What the day is, e.g. 'Nghỉ bù Quốc khánh'.")
def calendar_add(day: date, kind: str, name: str) -> None:
    """Enter DAY on the calendar as a day off or a working day (it wins over the package's holidays)."""
    from survey.services.working_calendar import CalendarError, add_calendar_day

    try:
        entry = run(add_calendar_day(day, kind, name))
    except CalendarError as error:
        raise _refused(error) from None
    click.echo(f"{entry.day.isoformat()} is now a {'day off' if kind == 'holiday' else 'working day'}: {entry.name}")


@calendar.command("swap")
@click.option("--off", "day_off", type=DAY, required=True, help="The working day given off.")
@click.option("--work", "day_worked", type=DAY, required=True, help="The Saturday or Sunday worked instead.")
@click.option("--name", required=True, help="What the swap is for, e.g. 'Hoán đổi ngày Quốc khánh 2026'.")
def calendar_swap(day_off: date, day_worked: date, name: str) -> None:
    """Enter an announced day swap: --off is not worked, --work is worked instead (both or neither are kept)."""
    from survey.services.working_calendar import CalendarError, add_calendar_swap

    try:
        run(add_calendar_swap(day_off, day_worked, name))
    except CalendarError as error:
        raise _refused(error) from None
    click.echo(f"{day_off.isoformat()} is a day off and {day_worked.isoformat()} a working day: {name}")


@calendar.command("remove")
@click.argument("day", type=DAY)
def calendar_remove(day: date) -> None:
    """Remove the administrators' entry for DAY (and the other day of its swap); the law's holidays stay."""
    from survey.services.working_calendar import CalendarError, remove_calendar_day

    try:
        days = run(remove_calendar_day(day))
    except CalendarError as error:
        raise _refused(error) from None
    click.echo(f"removed the entries of {', '.join(d.isoformat() for d in days)}")


@click.group("followups")
def followups() -> None:
    """Follow-up cases: when they fall due on the working calendar."""


@followups.command("due")
@click.option("--opened-at", "opened_at", required=True, metavar="ISO_TIME",
              help="When the case opened, e.g. 2026-02-13T16:10 (Hà Nội time unless an offset is given).")
@click.option("--hours", default=1.0, show_default=True, type=click.FloatRange(0, 1000),
              help="Working hours until it is due.")
def followups_due(opened_at: str, hours: float) -> None:
    """Print when a case opened at --opened-at falls due, on the working calendar."""
    from survey.services.working_calendar import WORKING_TIMEZONE, working_calendar

    try:
        opened = datetime.fromisoformat(opened_at)
    except ValueError:
        raise click.BadParameter(f"{opened_at!r} is not an ISO time; write it as 2026-02-13T16:10 or "
                                 "2026-02-13T16:10:00+07:00", param_hint="--opened-at") from None
    if opened.tzinfo is None:
        opened = opened.replace(tzinfo=WORKING_TIMEZONE)
    due = run(working_calendar()).add_working_hours(opened, hours)
    click.echo(due.astimezone(WORKING_TIMEZONE).isoformat())


def register(main: click.Group) -> None:
    """Add ``calendar`` and ``followups`` to ``main``."""
    main.add_command(calendar)
    main.add_command(followups)
