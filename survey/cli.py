"""The ``survey`` command line: ``main``, its top-level commands, and each area's commands from ``survey/commands/``.

Every command has ``--help``.
"""

from __future__ import annotations

from typing import Any

import click

from survey.commands import intake, outbox, qr, questionnaires, responses, run, users

__all__ = ["main", "run"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="survey")
def main() -> None:
    """Customer satisfaction surveys: invitations, responses, scores and reports.

    Settings come from SURVEY_* environment variables (or a .env file); by default the data is an
    SQLite file under var/ and messages go to the sandbox.
    """


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema (committed migrations) and publish the bundled questionnaires."""
    from survey.db import migrate as run_migrations
    from survey.services.questionnaires import publish_bundled

    async def go() -> dict[str, Any]:
        await run_migrations()
        return await publish_bundled()

    published = run(go())
    click.echo(f"Database is up to date; questionnaires published: {', '.join(sorted(published))}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=int, help="Server processes.")
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
def serve(host: str, port: int, workers: int, reload: bool) -> None:
    """Serve the web application (survey pages, API, staff pages)."""
    import uvicorn

    from survey.db import migrate as run_migrations

    run(run_migrations())
    uvicorn.run("survey.app:create_app", factory=True, host=host, port=port, workers=workers, reload=reload,
                log_level="info", proxy_headers=True)


@main.command()
@click.option("--no-serve", is_flag=True, help="Stop after seeding; do not start the server.")
@click.option("--responses", default=60_000, show_default=True, type=int, help="Simulated responses to seed.")
@click.option("--seed", default=2026, show_default=True, type=int, help="Random seed (same seed, same data).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def demo(no_serve: bool, responses: int, seed: int, host: str, port: int) -> None:
    """Build a fresh demo database (organisation, catalogue, 12 months of responses) and serve it."""
    from survey.demo import run_demo

    run_demo(serve=not no_serve, responses=responses, seed=seed, host=host, port=port)


@main.command()
@click.option("--questionnaire", required=True, help="Questionnaire id, e.g. post-call or counter.")
@click.option("--period", required=True,
              help="2026-05 (month), 2026-Q2 (quarter), 2026 (year) or 2026-01-01..2026-03-31 (from..to).")
@click.option("--unit", default=None, help="Unit code; the unit includes its subtree (default: every unit).")
@click.option("--service", default=None, help="Service code, e.g. HIC (default: every service).")
@click.option("--channel", default=None, type=click.Choice(["call", "counter", "online", "email", "fanpage"]),
              help="Contact channel (default: every channel).")
@click.option("--by", "by", multiple=True, type=click.Choice(["unit", "subunit", "service", "channel", "month"]),
              help="Group by this dimension; repeat for several (--by unit --by month). unit: each unit's own "
                   "responses; subunit: each unit directly under --unit (or the centre), with its subtree.")
@click.option("--weighted/--unweighted", default=None,
              help="Post-stratify to the contact volumes (by channel x service, or the cells of the questionnaire's "
                   "weighting section) and report the design effect and effective n. Default: weighted when the "
                   "questionnaire declares weighting.")
@click.option("--min-n", default=30, show_default=True, type=int, help="Suppress measures below this many answers.")
@click.option("--min-n-comments", default=10, show_default=True, type=int,
              help="Hide comments below this many respondents.")
@click.option("--format", "output", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True,
              help="table for people, json (the API's) or csv (one row per group and criterion).")
def scores(questionnaire: str, period: str, unit: str | None, service: str | None, channel: str | None,
           by: tuple[str, ...], weighted: bool | None, min_n: int, min_n_comments: int, output: str) -> None:
    """Satisfaction scores with intervals, comparisons and tests for a scope and period."""
    import msgspec

    from survey.services.scores import ScoreParameterError, ScoreRequest, compute_scores, report_csv, report_table

    try:
        request = ScoreRequest(questionnaire=questionnaire, period=period, unit=unit, service=service, channel=channel,
                               by=by, weighted=weighted, min_n=min_n, min_n_comments=min_n_comments)
        from rich.console import Console

        with Console(stderr=True).status("Scoring ..."):
            report = run(compute_scores(request))
    except ScoreParameterError as error:
        hint = f"--{error.parameter.replace('_', '-')}"
        raise click.BadParameter(str(error).split(": ", 1)[1], param_hint=hint) from None
    if output == "json":
        click.echo(msgspec.json.format(msgspec.json.encode(report), indent=2).decode())
    elif output == "csv":
        click.echo(report_csv(report), nl=False)
    else:
        report_table(report)


# one module per area; each adds its commands to ``main`` (the ``scores`` command joins them from
# ``survey/commands/scores.py`` once it leaves this module)
for area in (questionnaires, responses, users, intake, outbox, qr):
    area.register(main)

if __name__ == "__main__":
    main()
