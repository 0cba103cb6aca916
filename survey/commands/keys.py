"""``survey keys status|rotate``: the data keys that encrypt personal data, and their rotation."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from survey.commands import run

if TYPE_CHECKING:
    from survey.services.data_keys import Rotation

__all__ = ["register"]


@click.group("keys")
def keys() -> None:
    """The data keys (SURVEY_DATA_KEYS_FILE, by default var/data_keys) that encrypt phone numbers, emails and the
    sandbox's messages: the newest key encrypts, every key of the ring decrypts."""


@keys.command("status")
def keys_status() -> None:
    """Show the keys of the ring, newest first, and how many stored values each one encrypts."""
    from survey.crypto import DataKeysError
    from survey.services.data_keys import keys_status as read_status

    try:
        status = run(read_status())
    except DataKeysError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    click.echo(f"Data keys file: {status.keys_file}")
    for key in status.keys:
        role = "encrypts new values" if key.position == 0 else "decrypts only"
        click.echo(f"  key {key.position + 1} ({key.fingerprint}, {role}): {key.values:,} value(s)")
    if status.unreadable:
        click.echo(f"  {status.unreadable:,} value(s) no key of the ring opens", err=True)
    click.echo(f"{len(status.keys)} key(s), {status.values:,} encrypted value(s).")


@keys.command("rotate")
@click.option("--keep-old", is_flag=True, help="Keep the old keys in the ring after re-encrypting (default: drop).")
@click.option("--resume", is_flag=True, help="Add no key: finish an interrupted rotation with the newest key.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 50_000),
              help="Values re-encrypted per transaction.")
@click.option("--settle-seconds", default=2.0, show_default=True, type=click.FloatRange(0, 3600),
              help="How long after the new key is written before the last walk (for writes still on the old key).")
def keys_rotate(keep_old: bool, resume: bool, batch_size: int, settle_seconds: float) -> None:
    """Add a new data key, re-encrypt every encrypted value under it (in batches, with a progress bar), then drop
    the old keys. Servers and workers may keep running: they pick up the new ring by themselves."""
    from rich.progress import Progress

    from survey.crypto import DataKeysError
    from survey.services.data_keys import count_values, rotate_keys

    async def go() -> Rotation:
        total = await count_values()
        with Progress(transient=True) as bar:
            task = bar.add_task("Re-encrypting", total=total or None)

            seen = [0]

            def advance(done: int) -> None:
                seen[0] += done
                if total and seen[0] > total:  # the checking walks after the first: a round more each
                    bar.update(task, total=total * (1 + (seen[0] - 1) // total))
                bar.update(task, advance=done)

            return await rotate_keys(keep_old=keep_old, resume=resume, batch_size=batch_size,
                                     settle_seconds=settle_seconds, progress=advance)

    try:
        rotation = run(go())
    except (DataKeysError, RuntimeError) as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    click.echo(f"New key {rotation.new_key}: {rotation.rotated:,} value(s) re-encrypted in {rotation.passes} walk(s).")
    if rotation.unreadable:
        click.echo(f"{rotation.unreadable:,} value(s) no key of the ring opens were left as they were.", err=True)
    if rotation.unlisted:
        click.echo(f"The old keys were kept: {', '.join(rotation.unlisted)} not in survey.crypto.ENCRYPTED_COLUMNS "
                   "(their values are still under an old key); add them, then run `survey keys rotate --resume`.",
                   err=True)
        sys.exit(1)
    if keep_old:
        click.echo(f"The ring keeps {rotation.kept} key(s) (--keep-old).")
    else:
        click.echo(f"{rotation.dropped} old key(s) dropped; the ring holds {rotation.kept} key(s).")


def register(main: click.Group) -> None:
    """Add ``keys`` to ``main``."""
    main.add_command(keys)
