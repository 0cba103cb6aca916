"""``survey reports make --all``: every report of a period, with a progress bar and a summary."""

from __future__ import annotations

from pathlib import Path

import click

from survey.commands import run

__all__ = ["make_all_reports"]


def _write(directory: Path, name: str, pdf: bytes) -> str:
    from survey.commands.reports import write_pdf

    write_pdf(directory / name, pdf, option="--output-dir")
    return str(directory / name)


def make_all_reports(*, period: str, lang: str, output_dir: Path | None, questionnaire: str | None) -> None:
    """Make, write (to ``output_dir``, else the archive) and summarise every report of ``period``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from survey.services.reports import ReportParameterError, ReportSpec, archive_report
    from survey.services.reports.batch import make_all

    try:
        ReportSpec("leadership", period, lang=lang)
    except ReportParameterError as error:
        raise click.BadParameter(str(error).split(": ", 1)[-1], param_hint="--period") from None
    if output_dir is not None:
        from survey.commands.reports import writable

        writable(output_dir, option="--output-dir")
    written: list[tuple[str, int]] = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=False) as progress:
        task = progress.add_task("Reports", total=None)

        def planned(count: int) -> None:
            progress.update(task, total=count)

        async def go() -> object:
            pending = []

            def made(report: object) -> None:
                progress.advance(task)
                pending.append(report)

            result = await make_all(period, lang, questionnaire=questionnaire, on_plan=planned, on_made=made)
            for report in result.made:
                if output_dir is not None:
                    written.append((_write(output_dir, report.spec.filename, report.pdf), report.pages))
                else:
                    await archive_report(report)
                    written.append((report.spec.filename, report.pages))
            return result

        try:
            result = run(go())
        except ReportParameterError as error:
            raise click.BadParameter(str(error).split(": ", 1)[-1], param_hint=f"--{error.parameter}") from None
    pages = sum(p for _, p in written)
    click.echo(f"Made {len(written)} reports, {pages} pages, into {output_dir or 'the archive'}.")
    skipped = result.skipped  # type: ignore[attr-defined]
    if skipped:
        click.echo(f"Skipped {len(skipped)} for too few answers:")
        for spec, n in skipped[:50]:
            click.echo(f"  {spec.title_key}: n={n}")
        if len(skipped) > 50:
            click.echo(f"  ... and {len(skipped) - 50} more")
