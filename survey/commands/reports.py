"""``survey reports``: PDF assessment reports: make one or all of a period, the archive, the schedules."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from survey.commands import run

__all__ = ["register", "writable", "write_pdf"]


@click.group()
def reports() -> None:
    """PDF assessment reports per unit, per service and for leadership: make, list the archive, schedule."""


def writable(directory: Path, *, option: str) -> None:
    """``directory`` exists (made if need be) and takes a file, else a usage error naming ``option``."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".write-check-"):
            pass
    except OSError as error:
        raise click.BadParameter(f"cannot write into {directory}: {error.strerror or error}", param_hint=option) \
            from None


def write_pdf(path: Path, pdf: bytes, *, option: str) -> None:
    """Write ``pdf`` to ``path`` through a temporary name, so that no half PDF ever stands under the report's name."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(pdf)
        partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise click.BadParameter(f"cannot write {path}: {error.strerror or error}", param_hint=option) from None


def _bad(error: Exception) -> click.BadParameter:
    parameter = getattr(error, "parameter", "")
    hint = f"--{parameter.replace('_', '-')}" if parameter else None
    return click.BadParameter(str(error).split(": ", 1)[-1], param_hint=hint)


@reports.command("make")
@click.option("--unit", help="Unit code: the unit with its subtree (e.g. HN-BD).")
@click.option("--service", help="Service code (e.g. HIC): with --unit the unit's report on that service; alone the "
              "service's report for the whole country.")
@click.option("--questionnaire", help="Questionnaire id (default: every questionnaire with answers, one part each).")
@click.option("--period", required=True, help="A month (2026-09), a quarter (2026-Q3) or a year (2026).")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True, help="Report language.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="The PDF to write (one report).")
@click.option("--all", "make_all", is_flag=True, help="Every report of the period: per unit, unit x service where n "
              "is sufficient, per service, and the leadership report.")
@click.option("--leadership", is_flag=True, help="The leadership report (the whole country).")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), help="Where --all writes "
              "(default: the archive, SURVEY_REPORTS_DIR).")
def make(unit: str | None, service: str | None, questionnaire: str | None, period: str, lang: str,
         output: Path | None, make_all: bool, leadership: bool, output_dir: Path | None) -> None:
    """Make a report (--unit, --service or --leadership with --output) or all of a period (--all)."""
    from survey.services.reports import ReportParameterError, ReportSpec, make_report

    if make_all:
        if unit or service or output or leadership:
            raise click.UsageError("--all makes every report of the period: no --unit, --service, --leadership or "
                                   "--output (use --output-dir)")
        from survey.commands.report_batch import make_all_reports

        make_all_reports(period=period, lang=lang, output_dir=output_dir, questionnaire=questionnaire)
        return
    if output is None:
        raise click.UsageError("--output FILE.pdf is required for one report (or use --all)")
    writable(output.parent, option="--output")  # before the work, not after it
    kind = "leadership" if leadership else ("unit" if unit else "service")
    if not leadership and not unit and not service:
        raise click.UsageError("say which report: --unit CODE, --service CODE, --leadership, or --all")
    try:
        spec = ReportSpec(kind, period, unit=unit, service=service, questionnaire=questionnaire, lang=lang)
        from rich.console import Console

        with Console(stderr=True).status(f"Making the report {spec.title_key} ..."):
            made = run(make_report(spec))
    except ReportParameterError as error:
        raise _bad(error) from None
    write_pdf(output, made.pdf, option="--output")
    click.echo(f"{output}: {made.pages} pages, {len(made.pdf):,} bytes, sha256 {made.checksum[:16]}")


def register(main: click.Group) -> None:
    """Add ``survey reports`` to the command line."""
    from survey.commands import report_archive

    report_archive.register(reports)
    main.add_command(reports)
