"""``survey responses import``: responses collected elsewhere (paper, phone, older systems)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from survey.commands import run

__all__ = ["register"]


@click.group("responses")
def responses() -> None:
    """Import responses (paper and phone surveys, history from older systems)."""


@responses.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True,
              help="Import the valid rows even when other rows have problems (they are reported and left out).")
@click.option("--max-problems", default=200, show_default=True, type=int, help="How many problems to print.")
def responses_import(file: Path, skip_invalid: bool, max_problems: int) -> None:
    """Import FILE.csv: one row per response, columns response_id, questionnaire, version, unit, service,
    channel, submitted_at, language, then one column per question id (empty = not answered).

    Nothing is imported from a file with problems unless --skip-invalid. Importing again is harmless:
    response_ids already stored are skipped."""
    from rich.progress import Progress

    from survey.services.response_import import import_responses

    with Progress(transient=True) as bar:
        task = bar.add_task("Importing", total=None)
        result = run(import_responses(file, skip_invalid=skip_invalid,
                                      progress=lambda n: bar.update(task, advance=n)))
    for problem in result.problems[:max_problems]:
        click.echo(str(problem), err=True)
    if len(result.problems) > max_problems:
        click.echo(f"... and {len(result.problems) - max_problems} more problem(s)", err=True)
    click.echo(f"{result.rows} row(s): {result.imported} imported, {result.already_present} already present, "
               f"{result.invalid_rows} invalid")
    if result.problems and not result.written and not skip_invalid:
        click.echo("Nothing was imported: fix the problems above, or use --skip-invalid to import the valid rows.",
                   err=True)
        sys.exit(1)


def register(main: click.Group) -> None:
    """Add ``responses`` to ``main``."""
    main.add_command(responses)
