"""``survey questionnaires list|show|validate``: the questionnaire definitions, bundled and published."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from survey.commands import run

__all__ = ["register"]


@click.group("questionnaires")
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


def register(main: click.Group) -> None:
    """Add ``questionnaires`` to ``main``."""
    main.add_command(questionnaires)
