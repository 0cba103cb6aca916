"""Rotating the data keys (``survey keys rotate``) on SQLite and PostgreSQL: every encrypted value is re-encrypted
under a new key and stays readable, the old key leaves the ring, a value written meanwhile by a process still on
the old ring is caught, and the reminders still carry their links."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.sandbox import sandbox_messages

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from test_outbox_worker import daytime, jobs, plan, sandbox_delivery, worker_for  # noqa: E402

LINK = re.compile(r"/s/[0-9A-Za-z]+")


@pytest.fixture
def ring_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data keys file of this test's own (made on first use, from the secret key as on an existing install)."""
    from survey.settings import get_settings

    path = tmp_path / "keys" / "data_keys"
    monkeypatch.setenv("SURVEY_DATA_KEYS_FILE", str(path))
    get_settings.cache_clear()
    try:
        yield path
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


async def stored_values() -> dict[tuple[str, int, str], str]:
    """Every encrypted value as stored, by (table, id, column)."""
    from survey.crypto import ENCRYPTED_COLUMNS
    from survey.db import run_sql

    values = {}
    for table, id_column, column, json_key in ENCRYPTED_COLUMNS:
        for row in await run_sql(f"SELECT {id_column} AS id, CAST({column} AS TEXT) AS v FROM {table}"):  # noqa: S608
            value = row["v"]
            if json_key is not None:
                value = json.loads(value).get(json_key) if value else None
            if value:
                values[(table, row["id"], column)] = value
    return values


async def two_people_messaged() -> list[int]:
    """Two invitations sent to the sandbox (respondents, messages, reminder jobs: every kind of encrypted value)."""
    ids = await plan(1, channel="sms") + await plan(1, channel="email", start=5)
    assert await worker_for(sandbox_delivery()).run_once() == 2
    return ids


async def test_rotation_re_encrypts_every_value_under_a_new_key_and_drops_the_old_one(reference, ring_file):
    from survey.crypto import ContactCipher, InvalidToken, KeyRing, cipher, derived_key
    from survey.db import run_sql
    from survey.services.data_keys import keys_status, rotate_keys
    from survey.settings import get_settings
    from survey.tables import Respondent

    await two_people_messaged()
    # an existing install's first ring: the key derived from the secret, which encrypted everything so far
    old_key = derived_key(get_settings().secret_key)
    assert json.loads(ring_file.read_text()) == [old_key.decode()]
    assert ring_file.stat().st_mode & 0o777 == 0o600
    before = await stored_values()
    assert {column for _, _, column in before} == {"phone_encrypted", "email_encrypted", "to_encrypted",
                                                   "text_encrypted", "html_encrypted", "payload"}
    clear = {where: cipher().decrypt(value) for where, value in before.items()}
    status = await keys_status()
    assert [key.values for key in status.keys] == [len(before)] and status.unreadable == 0

    # a process that has not seen the new ring yet writes a person's phone under the old key, after the first
    # walk went past the respondents (and every other value)
    old_process = ContactCipher(get_settings().secret_key, KeyRing(None, keys=[old_key]))
    straggler: list[str] = []
    seen = [0]

    async def progress(done: int) -> None:
        seen[0] += done
        if seen[0] >= len(before) and not straggler:
            straggler.append(old_process.encrypt("+84987654321"))
            await Respondent.insert(Respondent(phone_hmac=old_process.lookup_key("+84987654321"),
                                               phone_encrypted=straggler[0]))

    rotation = await rotate_keys(settle_seconds=0, batch_size=2, progress=progress)
    assert straggler

    [new_key] = [key.encode() for key in json.loads(ring_file.read_text())]
    assert new_key != old_key and ring_file.stat().st_mode & 0o777 == 0o600
    assert rotation.dropped == 1 and rotation.kept == 1 and rotation.unreadable == 0
    # the first walk re-encrypted what was there, the second the straggler, the third found nothing left
    assert rotation.rotated == len(before) + 1 and rotation.passes == 3

    after = await stored_values()
    assert set(before) < set(after)  # the straggler's row besides
    only_new = ContactCipher(get_settings().secret_key, KeyRing(None, keys=[new_key]))
    for where, value in before.items():
        assert after[where] != value, where  # re-encrypted
        assert only_new.decrypt(after[where]) == clear[where] == cipher().decrypt(after[where])
    [row] = await run_sql("SELECT phone_encrypted FROM respondent WHERE phone_encrypted <> {} AND phone_hmac = {}",
                          straggler[0], old_process.lookup_key("+84987654321"))
    assert only_new.decrypt(row["phone_encrypted"]) == "+84987654321"  # the straggler, caught and re-encrypted
    with pytest.raises(InvalidToken):
        old_process.decrypt(row["phone_encrypted"])  # what the old key alone cannot open any more

    status = await keys_status()
    assert [key.values for key in status.keys] == [len(before) + 1] and status.unreadable == 0
    [event] = await run_sql("SELECT actor_label, detail FROM audit_event WHERE action = 'keys_rotated'")
    detail = event["detail"] if isinstance(event["detail"], dict) else json.loads(event["detail"])
    assert event["actor_label"] == "cli" and detail["dropped"] == 1 and detail["new_key"] == rotation.new_key

    # the sandbox still reads, and the reminders go out with the same links as the invitations
    clock = [daytime() + timedelta(hours=49)]
    assert await worker_for(sandbox_delivery(clock=lambda: clock[0])).run_once() == 2
    messages = await sandbox_messages()
    assert len(messages) == 4
    first_links = {m["invitation"]: LINK.search(m["body_text"]).group(0) for m in messages[:2]}
    assert {m["invitation"]: LINK.search(m["body_text"]).group(0) for m in messages[2:]} == first_links
    assert {j["status"] for j in await jobs("send_reminder")} == {"done"}


async def test_a_process_still_on_the_old_ring_reads_new_values_by_reading_the_ring_again(reference, ring_file):
    from survey.crypto import ContactCipher, KeyRing, cipher, derived_key
    from survey.services.data_keys import rotate_keys
    from survey.settings import get_settings

    first_ring = (derived_key(get_settings().secret_key),)
    assert cipher().ring.keys == first_ring  # the file, made on first use
    other_process = ContactCipher(get_settings().secret_key, KeyRing(ring_file))
    written_before = other_process.encrypt("an.nguyen@example.vn")
    await rotate_keys(settle_seconds=0, keep_old=True)
    written_after = cipher().encrypt("lan@example.vn")

    assert other_process.ring.keys == first_ring  # nothing asked it to read the ring again yet
    assert other_process.decrypt(written_after) == "lan@example.vn"  # read again on the unknown key
    assert len(other_process.ring.keys) == 2 and other_process.decrypt(written_before) == "an.nguyen@example.vn"
    # its next encryption is under the new key, which every process reads
    fresh = other_process.encrypt("hoa@example.vn")
    assert other_process.ring.key_position(fresh) == 0


async def test_keys_commands_rotate_with_kept_old_keys_and_show_what_each_key_encrypts(reference, ring_file):
    """``survey keys rotate --keep-old`` then ``survey keys status``, as an operator runs them."""
    from survey.cli import main

    await plan(1)

    def invoke(*args: str):
        return asyncio.to_thread(CliRunner().invoke, main, ["keys", *args], catch_exceptions=False)

    rotated = await invoke("rotate", "--keep-old", "--settle-seconds", "0")
    assert rotated.exit_code == 0, rotated.output
    assert "value(s) re-encrypted" in rotated.output and "keeps 2 key(s) (--keep-old)" in rotated.output
    assert len(json.loads(ring_file.read_text())) == 2
    status = await invoke("status")
    assert status.exit_code == 0, status.output
    lines = status.output.splitlines()
    assert re.search(r"key 1 \(\w{12}, encrypts new values\): [1-9]\d* value\(s\)", lines[1]), status.output
    assert re.search(r"key 2 \(\w{12}, decrypts only\): 0 value\(s\)", lines[2]), status.output
    assert lines[-1].startswith("2 key(s), ")

    finished = await invoke("rotate", "--resume", "--settle-seconds", "0")
    assert finished.exit_code == 0, finished.output
    assert "1 old key(s) dropped; the ring holds 1 key(s)." in finished.output
    assert len(json.loads(ring_file.read_text())) == 1
    assert os.stat(ring_file).st_mode & 0o777 == 0o600


async def test_a_rotation_keeps_the_old_keys_while_an_encrypted_column_is_missing_from_the_list(
        reference, ring_file, monkeypatch):
    """A table that declares an ``*_encrypted`` column the list lacks: its values would be lost with the old key."""
    import survey.services.data_keys as data_keys
    from survey.crypto import ENCRYPTED_COLUMNS

    await plan(1)
    monkeypatch.setattr(data_keys, "ENCRYPTED_COLUMNS", [c for c in ENCRYPTED_COLUMNS if c[2] != "email_encrypted"])
    rotation = await data_keys.rotate_keys(settle_seconds=0)
    assert rotation.unlisted == ("respondent.email_encrypted",)
    assert rotation.dropped == 0 and len(json.loads(ring_file.read_text())) == 2
