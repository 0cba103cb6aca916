"""``survey person export|erase PHONE_OR_EMAIL``: a data subject's rights to take and to erase their data (Law
91/2025/QH15). The person is named by their phone number (``0912 345 678``) or email address.

Each command is kept as a rights request (carried out at once) and audited (``person_exported``,
``person_erased``); a person nobody knows by the phone or email given is a clear message and exit code 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from survey.commands import run

__all__ = ["register"]

@click.group("person")
def person() -> None:
    """A data subject's rights over what is held about them: export it, erase it."""


async def _export(text: str, note: str) -> tuple[dict[str, Any] | None, Any]:
    from survey.services.rights import export_request, read_subject

    subject = read_subject(text)
    held, _ = await export_request(subject, handled_by="cli", note=note or "survey person export")
    return held, subject


@person.command("export")
@click.argument("phone_or_email", metavar="PHONE_OR_EMAIL")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None,
              help="Write the JSON to this file instead of standard output.")
@click.option("--note", default="", help="What the request was (e.g. its letter's number), kept with it.")
def person_export(phone_or_email: str, output: Path | None, note: str) -> None:
    """Print as JSON everything held about the person with PHONE_OR_EMAIL: contact details, contacts, invitations,
    responses with answers and comments, follow-up cases, opt-out and their requests."""
    from survey.services.rights import RightsError

    try:
        held, subject = run(_export(phone_or_email, note))
    except RightsError as error:
        raise click.ClickException(str(error)) from None
    if held is None:
        raise click.ClickException(f"nobody is known by {subject.masked}: nothing is held about them")
    text = json.dumps(held, ensure_ascii=False, indent=2)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote what is held about {subject.masked} to {output}", err=True)


async def _erase(text: str, note: str) -> Any:
    from survey.services.rights import erase_request, read_subject

    summary, _ = await erase_request(read_subject(text), handled_by="cli", note=note or "survey person erase")
    return summary


@person.command("erase")
@click.argument("phone_or_email", metavar="PHONE_OR_EMAIL")
@click.option("--yes", is_flag=True, help="Erase without asking for confirmation.")
@click.option("--note", default="", help="What the request was (e.g. its letter's number), kept with it.")
def person_erase(phone_or_email: str, yes: bool, note: str) -> None:
    """Erase the person with PHONE_OR_EMAIL: their contact details go and they are unlinked from their contacts;
    rating answers stay, anonymous, so the statistics do not change; their comments are replaced by a marker.
    An opted-out person keeps only the opt-out (by the lookup keys), so it is still honoured."""
    from survey.services.rights import RightsError, read_subject

    try:
        subject = read_subject(phone_or_email)
    except RightsError as error:
        raise click.ClickException(str(error)) from None
    if not yes:
        click.confirm(f"Erase everything that identifies {subject.masked}? This cannot be undone", abort=True)
    try:
        summary = run(_erase(phone_or_email, note))
    except RightsError as error:
        raise click.ClickException(str(error)) from None
    if summary is None:
        raise click.ClickException(f"nobody is known by {subject.masked}: nothing to erase")
    click.echo(f"erased {subject.masked}: {summary.respondents + summary.kept_for_opt_out} record(s) "
               f"({summary.kept_for_opt_out} kept for the opt-out), {summary.contacts} contact(s) unlinked, "
               f"{summary.responses} response(s) kept anonymous, {summary.comments} comment(s) erased, "
               f"{summary.sandbox_messages} sandbox message(s) deleted")


def register(main: click.Group) -> None:
    """Add ``person`` to ``main``."""
    main.add_command(person)
