"""Commands for what comes in: ``survey apikeys``, ``survey contacts import`` and ``survey optout``."""

from __future__ import annotations

import sys
from collections import Counter as Tally
from pathlib import Path

import click

from survey.commands import run

__all__ = ["register"]


@click.group("apikeys")
def apikeys() -> None:
    """API keys of the systems that report contacts (switchboard, queue system, portal).

    Each key carries its scopes: contacts (POST /api/v1/contacts), tickets (POST /api/v1/tickets), opt-outs
    (POST /api/v1/optouts) and scores:read (scores, contact decisions, follow-up cases and alerts). A route
    answers 403 naming the scope a key lacks. Keys made before scopes existed have all four.
    """


def _scope_list(scopes: tuple[str, ...]) -> str:
    return ",".join(scopes) or "-"


@apikeys.command("create")
@click.argument("source", required=False)
@click.option("--source", "source_option", default=None, metavar="SOURCE",
              help="The same as the SOURCE argument (as older scripts write it).")
@click.option("--scope", "scopes", multiple=True, metavar="SCOPE",
              help="What the key may use (repeat for several; at least one): contacts, tickets, opt-outs, "
                   "scores:read.")
def apikeys_create(source: str | None, source_option: str | None, scopes: tuple[str, ...]) -> None:
    """Create a key for SOURCE (the source system it reports for, e.g. switchboard) with the --scope given.

    The key is printed once and only its hash is stored; the creation is written to the audit log (by "cli").
    For example:

    \b
        survey apikeys create switchboard --scope contacts --scope opt-outs
    """
    from survey.services import audit
    from survey.services.apikeys import SCOPES, ApiKeyInfo, create_api_key, parse_scopes

    name = source or source_option
    if not name:
        raise click.UsageError("name the source system: survey apikeys create SOURCE --scope SCOPE")
    if source and source_option and source != source_option:
        raise click.UsageError(f"two sources given: {source!r} and --source {source_option!r}")
    if not scopes:
        raise click.BadParameter(f"give at least one --scope: {', '.join(SCOPES)}", param_hint="--scope")
    try:
        allowed = parse_scopes(scopes)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--scope") from None

    async def create() -> tuple[str, ApiKeyInfo]:
        key, info = await create_api_key(name, allowed)
        await audit.record("apikey_created", actor=None, actor_label="cli", object_type="api_key",
                           object_id=info.prefix, detail={"source": name, "scopes": list(allowed)})
        return key, info

    try:
        key, info = run(create())
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="SOURCE") from None
    click.echo(key)
    click.echo(f"Key {info.prefix} for source {name!r} with scopes {_scope_list(allowed)}: "
               "keep it now, it cannot be shown again.", err=True)


@apikeys.command("list")
def apikeys_list() -> None:
    """List the keys: prefix, source, scopes, created, revoked (never the keys themselves)."""
    from survey.services.apikeys import list_api_keys

    keys = run(list_api_keys())
    if not keys:
        click.echo("No API keys yet: survey apikeys create SOURCE --scope SCOPE")
        return
    click.echo(f"{'prefix':<10} {'source':<20} {'scopes':<40} {'created':<20} revoked")
    for key in keys:
        revoked = key.revoked_at.strftime("%Y-%m-%d %H:%M") if key.revoked_at else "-"
        click.echo(f"{key.prefix:<10} {key.source:<20} {_scope_list(key.scopes):<40} "
                   f"{key.created_at.strftime('%Y-%m-%d %H:%M'):<20} {revoked}")


@apikeys.command("revoke")
@click.argument("prefix")
def apikeys_revoke(prefix: str) -> None:
    """Revoke the key whose prefix is PREFIX (as `survey apikeys list` shows it); written to the audit log."""
    from survey.services import audit
    from survey.services.apikeys import revoke_api_key

    async def revoke() -> bool:
        revoked = await revoke_api_key(prefix)
        if revoked is None:
            return False
        await audit.record("apikey_revoked", actor=None, actor_label="cli", object_type="api_key",
                           object_id=revoked.prefix, detail={"source": revoked.source})
        return True

    if not run(revoke()):
        raise click.ClickException(f"no active API key with prefix {prefix!r}")
    click.echo(f"Revoked key {prefix}: requests with it are refused from now on.")


@click.group("contacts")
def contacts() -> None:
    """Contact events from systems that export files."""


@contacts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", default=None, help="Source system of every row (else the file's 'source' column).")
@click.option("--skip-invalid", is_flag=True,
              help="Import the valid rows even when other rows have errors (they are reported and left out).")
@click.option("--max-problems", default=200, show_default=True, type=int, help="How many errors to print.")
def contacts_import(file: Path, source: str | None, skip_invalid: bool, max_problems: int) -> None:
    """Import contact events from FILE.csv (UTF-8, with or without BOM).

    Columns: source, external_id, channel (call, counter, online, email, fanpage), unit, service,
    occurred_at (ISO 8601; without an offset it is local time), phone, email, language, agent,
    counter. Each row gets the same decision as through the API. Nothing is imported from a file
    with errors unless --skip-invalid; importing a file again creates nothing new.
    """
    from rich.progress import Progress

    from delivery.rules import SKIP_REASONS
    from survey.services.contact_csv import check_csv_references, read_contacts_csv
    from survey.services.contacts import import_contacts

    data = file.read_bytes()
    reading = read_contacts_csv(data, source=source)
    if not reading.fatal:
        run(check_csv_references(reading))
    for warning in reading.warnings:
        click.echo(f"{file.name}: warning: {warning}", err=True)
    for row, message in reading.errors[:max_problems]:
        click.echo(f"{file.name}:{row}: {message}" if row else f"{file.name}: {message}", err=True)
    if len(reading.errors) > max_problems:
        click.echo(f"... and {len(reading.errors) - max_problems} more error(s)", err=True)
    if reading.fatal or (reading.errors and not skip_invalid):
        click.echo("Nothing was imported: fix the errors above"
                   + ("." if reading.fatal else ", or use --skip-invalid to import the valid rows."), err=True)
        sys.exit(1)
    with Progress(transient=True) as bar:
        task = bar.add_task("Importing contacts", total=len(reading.events))
        outcomes = run(import_contacts(reading.events, progress=lambda n: bar.update(task, advance=n)))
    fresh = [o for o in outcomes if not o.duplicate]
    tally = Tally(o.reason or o.outcome for o in fresh)
    click.echo(f"{len(outcomes)} contact(s) read: {len(fresh)} new, {len(outcomes) - len(fresh)} already imported, "
               f"{len(reading.errors)} row(s) with errors left out")
    click.echo(f"  planned: {tally.pop('planned', 0)}")
    for reason, count in sorted(tally.items()):
        click.echo(f"  skipped, {reason}: {count}  ({SKIP_REASONS.get(reason, {}).get('en', '')})")


@click.command("optout")
@click.option("--phone", default=None, help="Phone number as the person gave it, e.g. 0912 345 678.")
@click.option("--email", default=None, help="Email address.")
def optout(phone: str | None, email: str | None) -> None:
    """Opt a person out of every survey (by staff), by phone and/or email; waiting invitations are cancelled."""
    from delivery.phones import EmailError, PhoneError
    from survey.services.respondents import opt_out

    if not phone and not email:
        raise click.UsageError("give --phone and/or --email")
    try:
        newly = run(opt_out(phone=phone, email=email, source="staff"))
    except PhoneError as error:
        raise click.BadParameter(str(error), param_hint="--phone") from None
    except EmailError as error:
        raise click.BadParameter(str(error), param_hint="--email") from None
    click.echo("Opted out: no more surveys will be sent to this person." if newly
               else "This person had already opted out.")


def register(main: click.Group) -> None:
    """Add ``apikeys``, ``contacts`` and ``optout`` to ``main``."""
    main.add_command(apikeys)
    main.add_command(contacts)
    main.add_command(optout)
