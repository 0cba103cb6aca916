"""The ``survey`` command line: ``main``, its top-level commands, and each area's commands from ``survey/commands/``.

Every command has ``--help``.
"""

from __future__ import annotations

from typing import Any

import click

from survey.commands import (
    aggregates,
    calendar,
    intake,
    keys,
    outbox,
    person,
    qr,
    questionnaires,
    reports,
    responses,
    run,
    scores,
    users,
)

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
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
              help="Server processes (each allows its share of the public flood limit: SURVEY_SERVER_PROCESSES).")
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
def serve(host: str, port: int, workers: int, reload: bool) -> None:
    """Serve the web application (survey pages, API, staff pages).

    The client's address is the connection's, or, from one of SURVEY_TRUSTED_PROXIES, the one its
    X-Forwarded-For names (survey.web.client_address); uvicorn's own proxy-header handling is off, since it
    would believe any header from loopback. Link tokens are masked in the access log.
    """
    import os

    import uvicorn

    from survey.db import migrate as run_migrations
    from survey.settings import get_settings

    run(run_migrations())
    # the worker processes inherit it: each allows public_requests_per_window // workers in its memory
    os.environ["SURVEY_SERVER_PROCESSES"] = str(1 if reload else workers)
    get_settings.cache_clear()
    uvicorn.run("survey.app:create_app", factory=True, host=host, port=port, workers=workers, reload=reload,
                log_level="info", proxy_headers=False)


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


# one module per area; each adds its commands to ``main``
for area in (questionnaires, responses, users, intake, outbox, qr, scores, reports, aggregates, calendar, person,
             keys):
    area.register(main)

if __name__ == "__main__":
    main()
