"""``survey reports list`` and ``survey reports schedule add|list|remove``: the archive and the schedules."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from survey.commands import run

if TYPE_CHECKING:
    from survey.services.reports import ArchivedReport

__all__ = ["register"]


# --- the archive: survey reports list -------------------------------------------------------------------------------


async def _archive(unit: str | None, period: str | None) -> list[ArchivedReport]:
    from survey.services.reports import list_runs
    from survey.services.scores.queries import unit_tree

    if unit is not None and unit not in (await unit_tree()).code.values():
        raise click.BadParameter(f"unknown unit {unit!r}", param_hint="--unit")
    return await list_runs(unit=unit, period=period)


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _size(size_bytes: int | None) -> str:
    if size_bytes is None:
        return "-"
    return f"{size_bytes / 1024:,.0f} KiB" if size_bytes >= 1024 else f"{size_bytes} B"


def _table(runs: list[ArchivedReport]) -> None:
    from rich.console import Console
    from rich.table import Table

    from survey.settings import get_settings
    from survey.web import format_local_time

    title = (f"Report archive: {len(runs)} run{'s' if len(runs) != 1 else ''}, newest first; files under "
             f"{get_settings().reports_dir}")
    table = Table(title=title)
    for name in ("id", "report", "period", "lang", "status", "pages", "size", "created", "sha256"):
        table.add_column(name, justify="right" if name in ("id", "pages", "size") else "left", overflow="fold",
                         min_width={"sha256": 12, "period": 7, "created": 10}.get(name))
    for r in runs:
        status = r.status + (f" ({r.error})" if r.error else "") + (f" {r.progress}%" if r.status == "rendering"
                                                                   else "")
        scope = " × ".join(x for x in (r.unit, r.service) if x) or "-"
        report = f"{r.kind} {scope}" if scope != "-" else r.kind
        report = report + (f" ({r.questionnaire})" if r.questionnaire else "")
        table.add_row(str(r.id), report, r.period, r.language, status, "-" if r.pages is None else str(r.pages),
                      _size(r.size_bytes), format_local_time(r.created_at), (r.checksum or "-")[:12])
    Console().print(table)


@click.command("list")
@click.option("--unit", help="Unit code: the runs of the unit and its subtree (e.g. HN lists HN-BD's too).")
@click.option("--period", help="Only this period: a month (2026-09), a quarter (2026-Q3) or a year (2026).")
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="table for people, json (one object per run) for scripts.")
def list_reports(unit: str | None, period: str | None, output: str) -> None:
    """The archive of reports, newest first: scope, period, language, status, pages, size, checksum and file.

    A run asked for on a staff page whose server stopped before it finished shows as failed (interrupted).
    """
    from survey.services.reports import ReportParameterError, report_period

    if period is not None:
        try:
            report_period(period)
        except ReportParameterError as error:
            raise click.BadParameter(str(error).split(": ", 1)[-1], param_hint="--period") from None
    runs = run(_archive(unit, period))
    if output == "json":
        click.echo(json.dumps([{key: _json_value(value) for key, value in asdict(r).items()} for r in runs],
                              ensure_ascii=False, indent=2))
    else:
        _table(runs)


# --- the schedules: survey reports schedule add|list|remove ---------------------------------------------------------
# They live in survey/commands/report_schedules.py, with a register(reports) of their own.


def register(reports: click.Group) -> None:
    """Add the archive's and the schedules' commands to ``survey reports``."""
    from survey.commands import report_schedules

    reports.add_command(list_reports)
    report_schedules.register(reports)
