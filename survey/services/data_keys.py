"""The data keys over the stored values: how many values each key encrypts, and the rotation to a new key.

:func:`rotate_keys` (``survey keys rotate``):

1. puts a new key first in the ring file (written atomically; every process picks it up at its next
   encryption, and re-reads the ring when a value does not open), so from then on values are written
   under the new key, while every old value stays readable;
2. re-encrypts every value of :data:`survey.crypto.ENCRYPTED_COLUMNS` that is not under the new key, in
   batches, one transaction per batch. Each value is replaced only if it is still the one read (a
   value that changed meanwhile was written by the application and is looked at again);
3. waits ``settle_seconds`` after step 1 (a process that encrypted with the old ring just before it
   changed commits within that time), then walks the values again until a walk finds none left under
   an old key: so a value a process still on the old ring wrote during the rotation is re-encrypted too;
4. only then drops the old keys from the ring (unless ``keep_old``, or a table declares an ``*_encrypted``
   column that the list lacks: its values would be lost), and records ``keys_rotated`` in the audit trail.

An interrupted rotation leaves a ring with the new key first and the old ones after it: every value is
readable, and ``survey keys rotate --resume`` finishes the job without adding another key.

Example::

    rotation = await rotate_keys(progress=print)
    rotation.rotated, rotation.dropped   # (1520, 1): values re-encrypted, old keys dropped
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet

from survey.crypto import ENCRYPTED_COLUMNS, ContactCipher, EncryptedColumn, InvalidToken, cipher
from survey.db import is_sqlite, run_sql, run_sql_many, write_transaction

__all__ = ["KeyUse", "KeysStatus", "Rotation", "count_values", "fingerprint", "keys_status", "rotate_keys",
           "unlisted_columns"]

BATCH = 500
# told how many values were looked at, batch by batch; may be a coroutine function (awaited between batches)
Progress = Callable[[int], "Awaitable[None] | None"]
# walks after the first before the rotation gives up on values that keep being written under an old key
MAX_PASSES = 5


def fingerprint(key: bytes) -> str:
    """A short name for a key that reveals nothing of it (its hash), to tell keys apart in listings.

    >>> len(fingerprint(b"x" * 44))
    12
    """
    return hashlib.sha256(key).hexdigest()[:12]


@dataclass(frozen=True)
class KeyUse:
    """One key of the ring: its position (0: the newest, which encrypts), fingerprint and values it encrypts."""

    position: int
    fingerprint: str
    values: int


@dataclass(frozen=True)
class KeysStatus:
    """The ring and the stored values: per key how many it encrypts, and how many no key opens."""

    keys_file: str
    keys: tuple[KeyUse, ...]
    unreadable: int

    @property
    def values(self) -> int:
        return sum(key.values for key in self.keys) + self.unreadable


@dataclass(frozen=True)
class Rotation:
    """What a rotation did: the new key, values re-encrypted, walks made, values no key opens, keys dropped and
    kept, and the encrypted columns the list lacked (then no key is dropped)."""

    new_key: str
    rotated: int
    passes: int
    unreadable: int
    dropped: int
    kept: int
    unlisted: tuple[str, ...] = ()  # encrypted columns missing from ENCRYPTED_COLUMNS: the old keys were kept


def _columns() -> list[EncryptedColumn]:
    return list(dict.fromkeys(EncryptedColumn(*entry) for entry in ENCRYPTED_COLUMNS))


def unlisted_columns() -> list[str]:
    """The declared ``*_encrypted`` columns missing from ``ENCRYPTED_COLUMNS`` (``table.column``): a rotation
    would leave their values under the old keys, so it keeps those keys while any is missing."""
    from survey.db import all_tables

    listed = {(entry.table, entry.column) for entry in _columns()}
    return sorted(f"{table._meta.tablename}.{column._meta.db_column_name}" for table in all_tables()
                  for column in table._meta.columns
                  if column._meta.db_column_name.endswith("_encrypted")
                  and (table._meta.tablename, column._meta.db_column_name) not in listed)


def _text(column: str) -> str:
    return f"CAST({column} AS TEXT)"


def _select(entry: EncryptedColumn) -> tuple[str, list[Any]]:
    """The batch query of one column: (id, value as text) after an id, ``{}`` for the id and the limit."""
    if entry.json_key is None:
        condition = f"{entry.column} IS NOT NULL AND {entry.column} <> ''"
        args: list[Any] = []
    else:  # only the objects that hold the key are read
        condition = f"{_text(entry.column)} LIKE {{}}"
        args = [f'%"{entry.json_key}"%']
    query = (f"SELECT {entry.id_column} AS id, {_text(entry.column)} AS value FROM {entry.table} "  # noqa: S608
             f"WHERE {condition} AND {entry.id_column} > {{}} ORDER BY {entry.id_column} LIMIT {{}}")
    return query, args


def _token(entry: EncryptedColumn, value: str) -> tuple[str, dict[str, Any] | None] | None:
    """The encrypted token in a stored value (and the JSON object around it), ``None`` when it holds none."""
    if entry.json_key is None:
        return (value, None) if value else None
    try:
        document = json.loads(value)
    except ValueError:
        return None
    token = document.get(entry.json_key) if isinstance(document, dict) else None
    return (token, document) if isinstance(token, str) and token else None


Found = tuple[Any, str, str, "dict[str, Any] | None"]  # (id, stored text, token, the JSON object or None)


async def _batches(entry: EncryptedColumn, size: int) -> AsyncIterator[list[Found]]:
    """The column's values in id order, a batch at a time: (id, stored text, token, JSON object or None)."""
    query, args = _select(entry)
    last: Any = 0
    while True:
        rows = await run_sql(query, *args, last, size)
        if not rows:
            return
        last = rows[-1]["id"]
        found = []
        for row in rows:
            token = _token(entry, str(row["value"]))
            if token is not None:
                found.append((row["id"], str(row["value"]), token[0], token[1]))
        yield found


async def count_values() -> int:
    """How many encrypted values are stored (the rotation's work, for a progress bar)."""
    total = 0
    for entry in _columns():
        async for batch in _batches(entry, 5_000):
            total += len(batch)
    return total


async def keys_status(box: ContactCipher | None = None) -> KeysStatus:
    """Per key of the ring, how many stored values it encrypts; and how many no key of the ring opens."""
    box = box or cipher()
    box.ring.refresh()
    counts = [0] * len(box.ring.keys)
    unreadable = 0
    for entry in _columns():
        async for batch in _batches(entry, 5_000):
            for _, _, token, _ in batch:
                position = box.ring.key_position(token)
                if position is None:
                    unreadable += 1
                else:
                    counts[position] += 1
    path = box.ring.path
    return KeysStatus(keys_file=str(path) if path else "", unreadable=unreadable, keys=tuple(
        KeyUse(position, fingerprint(key), counts[position]) for position, key in enumerate(box.ring.keys)))


def _update(entry: EncryptedColumn, row_id: Any, stored: str, new_value: str) -> tuple[str, list[Any]]:
    """Replace one value if it is still the one read (compare and set)."""
    target = "{}" if entry.json_key is None or is_sqlite() else "{}::json"
    current = entry.column if entry.json_key is None else _text(entry.column)
    return (f"UPDATE {entry.table} SET {entry.column} = {target} "  # noqa: S608 (names from ENCRYPTED_COLUMNS)
            f"WHERE {entry.id_column} = {{}} AND {current} = {{}}", [new_value, row_id, stored])


async def _walk(box: ContactCipher, newest: Fernet, batch_size: int,
                progress: Progress | None) -> tuple[int, int]:
    """One walk over every encrypted value: those not under ``newest`` re-encrypted. (rotated, unreadable)."""
    rotated = unreadable = 0
    for entry in _columns():
        async for batch in _batches(entry, batch_size):
            statements = []
            for row_id, stored, token, document in batch:
                try:
                    newest.extract_timestamp(token.encode())
                    continue  # already under the new key
                except InvalidToken:
                    pass
                try:
                    fresh = box.rotate(token)
                except InvalidToken:
                    unreadable += 1
                    continue
                new_value = fresh if document is None else json.dumps({**document, entry.json_key: fresh})
                statements.append(_update(entry, row_id, stored, new_value))
            if statements:
                async with write_transaction():
                    await run_sql_many(statements)
                rotated += len(statements)
            if progress is not None:
                called = progress(len(batch))
                if inspect.isawaitable(called):
                    await called
    return rotated, unreadable


async def rotate_keys(*, keep_old: bool = False, resume: bool = False, batch_size: int = BATCH,
                      settle_seconds: float = 2.0, progress: Progress | None = None,
                      box: ContactCipher | None = None) -> Rotation:
    """Rotate the data keys (see the module docstring): a new key first, every value re-encrypted under it,
    then the old keys dropped (``keep_old``: kept). ``resume``: no new key; finish an interrupted rotation.

    ``progress`` is called with the number of values looked at, batch by batch, walk after walk (and awaited
    when it returns an awaitable).
    Raises ``RuntimeError`` when values keep being written under an old key (the old keys are then kept).
    """
    box = box or cipher()
    ring = box.ring
    ring.refresh()
    if ring.path is None:
        raise RuntimeError("the key ring has no file: rotation needs SURVEY_DATA_KEYS_FILE")
    if resume:
        new_key = ring.keys[0]
    else:
        new_key = Fernet.generate_key()
        ring.write([new_key, *ring.keys])
    started = time.monotonic()
    newest = Fernet(new_key)
    rotated, unreadable = await _walk(box, newest, batch_size, progress)
    passes = 1
    await asyncio.sleep(max(0.0, settle_seconds - (time.monotonic() - started)))
    while True:
        more, unreadable = await _walk(box, newest, batch_size, progress)
        passes += 1
        rotated += more
        if more == 0:
            break
        if passes > MAX_PASSES:
            raise RuntimeError(f"values are still being written under an old key after {passes} walks: is a "
                               "process reading another data keys file? The old keys are kept.")
    ring.refresh()
    old = [key for key in ring.keys if key != new_key]
    unlisted = tuple(unlisted_columns())
    dropping = not keep_old and not unlisted and bool(old)
    if dropping:
        ring.write([new_key])
    rotation = Rotation(new_key=fingerprint(new_key), rotated=rotated, passes=passes, unreadable=unreadable,
                        dropped=len(old) if dropping else 0, kept=len(ring.keys), unlisted=unlisted)
    await _audit(rotation, resume=resume)
    return rotation


async def _audit(rotation: Rotation, *, resume: bool) -> None:
    from survey.services import audit

    detail: Mapping[str, Any] = {"new_key": rotation.new_key, "rotated": rotation.rotated,
                                 "unreadable": rotation.unreadable, "dropped": rotation.dropped,
                                 "kept": rotation.kept, "resumed": resume, "unlisted": list(rotation.unlisted)}
    await audit.record("keys_rotated", actor=None, actor_label="cli", object_type="data_keys", detail=detail)
