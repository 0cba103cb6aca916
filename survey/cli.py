"""The ``survey`` command line. Every command has ``--help``."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

__all__ = ["main"]

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion (the CLI is synchronous; the services are async)."""
    return asyncio.run(coroutine)


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


@main.group()
def questionnaires() -> None:
    """List and validate questionnaire definitions (YAML)."""


@questionnaires.command("list")
def questionnaires_list() -> None:
    """List the bundled questionnaires with their versions, languages and question counts."""
    from questionnaires import load_bundled

    rows = sorted(load_bundled().values(), key=lambda q: q.id)
    click.echo(f"{'id':<18} {'version':>7}  {'languages':<10} {'pages':>5} {'questions':>9}  title")
    for q in rows:
        click.echo(f"{q.id:<18} {q.version:>7}  {','.join(q.languages):<10} {len(q.pages):>5} "
                   f"{len(q.questions):>9}  {q.title.get(q.default_language, '')}")


@questionnaires.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def questionnaires_validate(files: tuple[Path, ...]) -> None:
    """Check questionnaire FILES; print every problem as file:line: path: message."""
    from questionnaires import validate_file

    failed = 0
    for path in files:
        problems = validate_file(path)
        if problems:
            failed += 1
            for problem in problems:
                click.echo(str(problem), err=True)
        else:
            click.echo(f"{path}: ok")
    if failed:
        click.echo(f"{failed} of {len(files)} file(s) have problems", err=True)
        sys.exit(1)


@questionnaires.command("show")
@click.argument("name")
@click.option("--version", "version", type=int, default=None,
              help="Published version to show (default: the latest published, else the bundled definition).")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for programs.")
def questionnaires_show(name: str, version: int | None, output: str) -> None:
    """Show questionnaire NAME: its questions, criteria and the index formula."""
    import json

    from survey.services.scores import describe_questionnaire

    try:
        described = run(describe_questionnaire(name, version))
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    if output == "json":
        click.echo(json.dumps(described, ensure_ascii=False, indent=2))
        return
    click.echo(f"{described['id']} version {described['version']}: {described['title']}")
    click.echo("\nQuestions:")
    for q in described["questions"]:
        scale = f"{q['scale_min']}..{q['scale_max']}" if q["scale_min"] is not None else "-"
        click.echo(f"  {q['id']:<22} {q['type']:<7} scale {scale:<6} criterion {q['criterion'] or '-'}")
    click.echo("\nCriteria:")
    for c in described["criteria"]:
        target = "-" if c["target"] is None else f"{c['target']:.0%}"
        click.echo(f"  {c['id']:<22} satisfied at >= {c['threshold']}  weight {c['weight']:g}  target {target}")
    click.echo(f"\nIndex: {described['index']['formula_text'] if described['index'] else 'none'}")


@main.group()
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


@main.group()
def users() -> None:
    """Manage staff accounts."""


@users.command("create")
@click.option("--username", required=True, help="Login name.")
@click.option("--role", required=True, type=click.Choice(["admin", "quality", "leader", "unit_manager"]),
              help="What the user may do.")
@click.option("--unit", "unit_code", required=True, help="Code of the unit whose subtree the user may see (VN: all).")
@click.option("--name", "display_name", default=None, help="Display name (default: the username).")
@click.option("--password", default=None, help="Password (prompted when omitted; at least 10 characters).")
def users_create(username: str, role: str, unit_code: str, display_name: str | None, password: str | None) -> None:
    """Create a staff user scoped to a unit's subtree."""
    from survey.services.accounts import StaffError, create_user

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        run(create_user(username=username, password=password, role=role, unit_code=unit_code,
                        display_name=display_name or username))
    except StaffError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {role} {username!r} for unit {unit_code}")


from survey.commands import register_all  # noqa: E402

register_all(main)

if __name__ == "__main__":
    main()
