"""``survey users create``: staff accounts."""

from __future__ import annotations

import click

from survey.commands import run

__all__ = ["register"]


@click.group("users")
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


def register(main: click.Group) -> None:
    """Add ``users`` to ``main``."""
    main.add_command(users)
