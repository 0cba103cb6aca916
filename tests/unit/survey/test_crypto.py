"""The data key ring on its own: made once, read again when it changes, and refused with the file named when
it cannot be used; the masks lists show."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

import survey.crypto as crypto
import survey.services.sandbox as sandbox
from survey.crypto import ContactCipher, DataKeysError, KeyRing, derived_key


@pytest.mark.parametrize("module", [crypto, sandbox])
def test_the_examples_run(module):
    assert doctest.testmod(module).failed == 0


def test_the_first_ring_is_made_once_private_and_holds_the_key_derived_from_the_secret(tmp_path: Path):
    path = tmp_path / "var" / "data_keys"
    first = KeyRing(path, first_key=derived_key("s" * 40))
    again = KeyRing(path, first_key=Fernet.generate_key())  # another process: reads the ring that exists
    assert first.keys == again.keys == (derived_key("s" * 40),)
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["data_keys"]  # no temporary file left behind
    # data of an install that predates the ring (the derived key alone) stays readable
    assert ContactCipher("s" * 40, first).decrypt(ContactCipher("s" * 40).encrypt("+84912345678")) == "+84912345678"


def test_a_process_encrypts_under_the_newest_key_once_another_one_rotated(tmp_path: Path):
    path = tmp_path / "data_keys"
    mine = ContactCipher("s" * 40, KeyRing(path, first_key=derived_key("s" * 40)))
    theirs = KeyRing(path)
    new_key = Fernet.generate_key()
    theirs.write([new_key, *theirs.keys])
    token = mine.encrypt("lan@example.vn")
    assert Fernet(new_key).decrypt(token.encode()) == b"lan@example.vn"
    assert mine.ring.key_position(token) == 0 and len(mine.ring.keys) == 2


@pytest.mark.parametrize(("content", "message"), [
    ("not json", "not a JSON list of keys"),
    ("[]", "expected a non-empty JSON list of Fernet keys"),
    ('{"keys": []}', "expected a non-empty JSON list of Fernet keys"),
    ('["short"]', "key 1 is not a Fernet key"),
])
def test_a_damaged_keys_file_is_refused_naming_it(tmp_path: Path, content: str, message: str):
    path = tmp_path / "data_keys"
    path.write_text(content)
    with pytest.raises(DataKeysError, match=message) as raised:
        KeyRing(path, first_key=derived_key("s" * 40))
    assert str(path) in str(raised.value)
    assert path.read_text() == content  # never replaced by a fresh ring


def test_a_ring_keeps_at_least_one_key(tmp_path: Path):
    ring = KeyRing(tmp_path / "data_keys", first_key=derived_key("s" * 40))
    with pytest.raises(DataKeysError, match="at least one key"):
        ring.write([])
    assert len(json.loads((tmp_path / "data_keys").read_text())) == 1
