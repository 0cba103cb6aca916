"""``survey aggregates rebuild|verify``: the responses kept as counts per month cell, recounted or checked."""

from __future__ import annotations

import sys
from datetime import date
from typing import TYPE_CHECKING

import click

from survey.commands import run

if TYPE_CHECKING:
    from survey.services.aggregates import Rebuilt

__all__ = ["register"]


def _month(text: str, option: str, *, end: bool) -> int:
    from survey.services.scores.errors import ScoreParameterError
    from survey.services.scores.periods import parse_period

    try:
        period = parse_period(text)
    except ScoreParameterError as error:
        raise click.BadParameter(str(error), param_hint=option) from None
    if end:
        day = date.fromordinal(period.end.toordinal() - 1)
        return day.year * 12 + day.month
    return period.start.year * 12 + period.start.month - 1


@click.group("aggregates")
def aggregates() -> None:
    """The scores' kept counts: every complete response counted per month × unit × service × channel ×
    questionnaire version, kept by every write path. Rebuild them from the raw rows, or verify them."""


@aggregates.command("rebuild")
@click.option("--from", "first", metavar="PERIOD", help="First month to recount (2026-01, 2026-Q1, 2026...); "
              "default: the first response.")
@click.option("--to", "last", metavar="PERIOD", help="Last month to recount, included; default: the last response.")
def aggregates_rebuild(first: str | None, last: str | None) -> None:
    """Recount the kept counts from the raw responses, in one transaction (all or nothing), with a progress bar.

    Without --from and --to, everything is recounted, the delivered invitations and contacts kept per month
    included; with them, only those months of the responses' counts."""
    from rich.progress import Progress

    from survey.services.aggregates import rebuild
    from survey.services.aggregates.counting import count_rebuild_work

    start = _month(first, "--from", end=False) if first else None
    stop = _month(last, "--to", end=True) if last else None
    if start is not None and stop is not None and stop <= start:
        raise click.BadParameter("--to must not come before --from", param_hint="--to")

    async def go() -> Rebuilt:
        total = await count_rebuild_work(start, stop)
        with Progress(transient=True) as bar:
            task = bar.add_task("Counting responses", total=total)
            return await rebuild(start, stop, volumes=start is None and stop is None,
                                 progress=lambda n: bar.update(task, advance=n))

    try:
        rebuilt = run(go())
    except ValueError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    for key in sorted(rebuilt.responses):
        click.echo(f"{key}: {rebuilt.responses[key]:,} response(s) in {rebuilt.cells[key]:,} cell(s)")
    click.echo("Kept counts rebuilt.")


@aggregates.command("verify")
@click.option("--max-differences", default=50, show_default=True, type=int, help="How many differences to print.")
def aggregates_verify(max_differences: int) -> None:
    """Compare the kept counts with the raw responses, invitations and contacts; name every difference (exit 1)."""
    from survey.services.aggregates import verify

    found = run(verify(limit=max_differences))
    for line in found:
        click.echo(line)
    if found:
        click.echo(f"{len(found)} difference(s): run `survey aggregates rebuild` to recount.", err=True)
        sys.exit(1)
    click.echo("The kept counts agree with the raw rows.")


def register(main: click.Group) -> None:
    """Add ``aggregates`` to ``main``."""
    main.add_command(aggregates)
