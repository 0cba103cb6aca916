"""``survey reports schedule add|list|remove|run``: the report schedules that the worker makes and mails."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from survey.commands import run

__all__ = ["register"]

# the service's field names as the options spell them, so an error points at what the user typed
OPTIONS = {"name": "--name", "unit": "--unit", "service": "--service", "questionnaire": "--questionnaire",
           "frequency": "--frequency", "recipients": "--to", "language": "--lang", "kind": "--leadership",
           "grace_days": "--grace-days", "first_period": "--first-period", "id": "SCHEDULE_ID", "now": "--now"}


def _usage(error: Exception) -> click.UsageError:
    parameter = getattr(error, "parameter", "")
    message = str(error).split(": ", 1)[-1]
    return click.BadParameter(message, param_hint=OPTIONS.get(parameter, f"--{parameter.replace('_', '-')}"))


@click.group("schedule")
def schedule() -> None:
    """Report schedules: a unit's (or the leadership) report, monthly or quarterly, made by `survey worker` once
    the period has closed and its grace days have passed, archived, and mailed once to the recipients."""


@schedule.command("add")
@click.option("--name", required=True, help="What the schedule is called in lists and in the emails' footer.")
@click.option("--unit", help="Unit code: its report, with its subtree (e.g. HN-BD). Required unless --leadership.")
@click.option("--service", help="Service code: the unit's report on this service only.")
@click.option("--questionnaire", help="Questionnaire id (default: every questionnaire with answers).")
@click.option("--frequency", required=True, type=click.Choice(["monthly", "quarterly"]), help="One report a month "
              "or a quarter.")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True, help="Report and email "
              "language.")
@click.option("--to", "recipients", multiple=True, help="A recipient's email address (repeat for several).")
@click.option("--grace-days", type=int, default=None, help="Days after the period's end for late answers "
              "(default: SURVEY_REPORT_GRACE_DAYS, 3).")
@click.option("--first-period", help="The first period reported, e.g. 2026-09 or 2026-Q3 (default: the current one).")
@click.option("--leadership", is_flag=True, help="The leadership report of the whole country (no --unit).")
def add(name: str, unit: str | None, service: str | None, questionnaire: str | None, frequency: str, lang: str,
        recipients: tuple[str, ...], grace_days: int | None, first_period: str | None, leadership: bool) -> None:
    """Add a schedule; prints its id and when its first report falls due."""
    from survey.services.reports import ReportParameterError
    from survey.services.reports.schedules import add_schedule

    try:
        added = run(add_schedule(name, unit, frequency=frequency, recipients=list(recipients), language=lang,
                                 service=service, questionnaire=questionnaire,
                                 kind="leadership" if leadership else "unit", grace_days=grace_days,
                                 first_period=first_period))
    except ReportParameterError as error:
        raise _usage(error) from None
    click.echo(f"schedule {added.id} added: {_scope(added)} {added.frequency} from {added.first_period}, "
               f"first due {_local(added.next_run_at)}, to {', '.join(added.recipients)}")


def _scope(schedule: object) -> str:
    kind, unit, service = (getattr(schedule, name) for name in ("kind", "unit", "service"))
    scope = "leadership" if kind == "leadership" else f"unit {unit}" + (f" × {service}" if service else "")
    questionnaire = getattr(schedule, "questionnaire", None)
    return scope + (f" ({questionnaire})" if questionnaire else "")


def _local(at: datetime) -> str:
    from zoneinfo import ZoneInfo

    from survey.settings import get_settings

    return at.astimezone(ZoneInfo(get_settings().timezone)).strftime("%Y-%m-%d %H:%M")


@schedule.command("list")
@click.option("--all", "include_removed", is_flag=True, help="Also the removed schedules.")
def list_command(include_removed: bool) -> None:
    """The schedules: id, name, scope, frequency, language, next due time, recipients."""
    from survey.services.reports.schedules import list_schedules

    schedules = run(list_schedules(include_removed=include_removed))
    if not schedules:
        click.echo("no schedules")
        return
    for item in schedules:
        state = "" if item.active else " [removed]"
        click.echo(f"#{item.id} {item.name}{state}: {_scope(item)}, {item.frequency} from {item.first_period}, "
                   f"{item.language}, grace {item.grace_days} d, next due {_local(item.next_run_at)}, "
                   f"to {', '.join(item.recipients)}")


@schedule.command("remove")
@click.argument("schedule_id", type=int)
def remove(schedule_id: int) -> None:
    """Remove schedule SCHEDULE_ID: nothing more is made for it; its archived reports stay."""
    from survey.services.reports import ReportParameterError
    from survey.services.reports.schedules import remove_schedule

    try:
        removed = run(remove_schedule(schedule_id))
    except ReportParameterError as error:
        raise _usage(error) from None
    click.echo(f"schedule {removed.id} ({removed.name}) removed")


@schedule.command("run")
@click.option("--now", "now_text", help="Run as if it were this time (ISO, e.g. 2026-10-04T09:00+07:00; "
              "default: now): which periods are due.")
@click.option("--send/--no-send", default=True, show_default=True, help="Then work the outbox once, like "
              "`survey worker --once`, so the reports are mailed (--no-send leaves that to the running workers).")
def run_command(now_text: str | None, send: bool) -> None:
    """Make the due scheduled reports once, printing what was made and mailed."""
    now = None
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError:
            raise click.BadParameter(f"{now_text!r} is not an ISO time such as 2026-10-04T09:00+07:00",
                                     param_hint="--now") from None
        if now.tzinfo is None:
            from zoneinfo import ZoneInfo

            from survey.settings import get_settings

            now = now.replace(tzinfo=ZoneInfo(get_settings().timezone))
        now = now.astimezone(UTC)

    async def go() -> None:
        from survey.services.reports import list_runs
        from survey.services.reports.schedules import run_due_schedules
        from survey.services.sending import delivery_from_settings
        from survey.worker import Worker

        summary = await run_due_schedules(now=now)
        if not summary.runs:
            click.echo("nothing due")
            return
        for item in summary.runs:
            made = f", {item.pages} pages, sha256 {item.checksum[:16]}" if item.checksum else ""
            click.echo(f"schedule {item.schedule_id} ({item.schedule_name}) {item.period}: run {item.run_id} "
                       f"{item.status}{made}" + (f" - {item.detail}" if item.detail else ""))
        if not send or not summary.made:
            return
        delivery = delivery_from_settings()
        try:
            await Worker(delivery, concurrency=4, schedules_every=None).run_once()
        finally:
            await delivery.aclose()
        for item in summary.made:
            [archived] = await list_runs(run_id=item.run_id)
            click.echo(f"run {item.run_id}: {archived.status}")

    run(go())


def register(reports: click.Group) -> None:
    """Add ``survey reports schedule`` to ``reports``."""
    reports.add_command(schedule)
