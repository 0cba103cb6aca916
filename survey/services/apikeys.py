"""API keys of the integrating systems (switchboard, queue system, portal): one or more per source.

A key reads ``sk_<prefix>_<secret>``: the prefix (8 base62 characters) tells keys apart in lists
and logs, the secret (32 base62 characters, 190 bits) is shown once. Only the SHA-256 of the whole
key is stored; a plain hash is enough because the key is long and random (no password to guess).

Each key carries the scopes it may use (:data:`SCOPES`): ``contacts`` (contact events), ``tickets`` (queue
tickets), ``opt-outs`` and ``scores:read`` (scores, decisions, follow-up cases and alerts as JSON). Keys made
before scopes existed were given all four by the migration that added them.

Example::

    key, info = await create_api_key("switchboard", ["contacts"])  # 'sk_Ab12Cd34_...', ApiKeyInfo(...)
    (await authenticate(key)).scopes                                # ('contacts',)
    await revoke_api_key(info.prefix)                               # True; the key is refused from now on

>>> parse_scopes(["tickets", "contacts", "tickets"])
('contacts', 'tickets')
>>> parse_scopes(["scores"])
Traceback (most recent call last):
...
ValueError: scope 'scores' is not one of contacts, tickets, opt-outs, scores:read
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from survey.db import NUL
from survey.tables import ApiKey

__all__ = [
    "CONTACTS",
    "OPT_OUTS",
    "SCOPES",
    "SCORES_READ",
    "SOURCE_PATTERN",
    "TICKETS",
    "ApiKeyInfo",
    "authenticate",
    "create_api_key",
    "list_api_keys",
    "parse_scopes",
    "revoke_api_key",
]

CONTACTS, TICKETS, OPT_OUTS, SCORES_READ = "contacts", "tickets", "opt-outs", "scores:read"
SCOPES: tuple[str, ...] = (CONTACTS, TICKETS, OPT_OUTS, SCORES_READ)

_ALPHABET = string.ascii_letters + string.digits
PREFIX_LENGTH = 8
SECRET_LENGTH = 32
SOURCE_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,39}$"
_KEY = re.compile(rf"sk_([0-9A-Za-z]{{{PREFIX_LENGTH}}})_([0-9A-Za-z]{{{SECRET_LENGTH}}})")


@dataclass(frozen=True)
class ApiKeyInfo:
    """What staff may see of a key: never the key itself."""

    id: int
    source: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    scopes: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


def parse_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """The scopes named, each once and in :data:`SCOPES`' order; ``ValueError`` naming one not allowed or none."""
    chosen = {scope.strip() for scope in scopes}
    for scope in sorted(chosen):
        if scope not in SCOPES:
            raise ValueError(f"scope {scope!r} is not one of {', '.join(SCOPES)}")
    if not chosen:
        raise ValueError(f"give at least one scope: {', '.join(SCOPES)}")
    return tuple(scope for scope in SCOPES if scope in chosen)


def _stored_scopes(text: object) -> tuple[str, ...]:
    return tuple(scope for scope in SCOPES if scope in str(text or "").split(","))


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _info(row: dict[str, object]) -> ApiKeyInfo:
    return ApiKeyInfo(row["id"], row["source"], row["prefix"], row["created_at"], row["revoked_at"],  # type: ignore[arg-type]
                      _stored_scopes(row.get("scopes")))


async def create_api_key(source: str, scopes: Iterable[str] = SCOPES) -> tuple[str, ApiKeyInfo]:
    """A new key for ``source`` that may use ``scopes`` (all of them unless told); returns the plain key (show it
    once, it is not stored) and its info. ``ValueError`` naming a bad source or scope; nothing is written then."""
    allowed = parse_scopes(scopes)
    if not re.fullmatch(SOURCE_PATTERN, source):
        raise ValueError(
            f"source {source!r}: use 1-40 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    for _ in range(5):  # a prefix clash is a one-in-10^14 event; retry rather than fail
        prefix = _random(PREFIX_LENGTH)
        if not await ApiKey.exists().where(ApiKey.prefix == prefix):
            break
    key = f"sk_{prefix}_{_random(SECRET_LENGTH)}"
    row = ApiKey(source=source, prefix=prefix, key_hash=_hash(key), created_at=datetime.now(UTC),
                 scopes=",".join(allowed))
    await row.save()
    return key, ApiKeyInfo(row.id, source, prefix, row.created_at, None, allowed)


async def authenticate(key: str) -> ApiKeyInfo | None:
    """The active key ``key`` is, or ``None`` (malformed, unknown or revoked)."""
    match = _KEY.fullmatch(key.strip())
    if match is None:
        return None
    rows = await ApiKey.select().where(ApiKey.prefix == match[1])
    if not rows:
        return None
    row = rows[0]
    if not hmac.compare_digest(row["key_hash"], _hash(match[0])) or row["revoked_at"] is not None:
        return None
    return _info(row)


async def list_api_keys() -> list[ApiKeyInfo]:
    """Every key, active and revoked, by source then creation."""
    rows = await ApiKey.select().order_by(ApiKey.source).order_by(ApiKey.created_at)
    return [_info(row) for row in rows]


async def revoke_api_key(prefix: str) -> ApiKeyInfo | None:
    """Revoke the key with ``prefix`` (``sk_`` and what follows the prefix are ignored): the key as it is now, or
    ``None`` (falsy) if no active key has that prefix."""
    if prefix.startswith("sk_"):
        prefix = prefix[3:]
    prefix = prefix.split("_", 1)[0]
    if NUL in prefix:  # PostgreSQL refuses it in a query; no key has it
        return None
    active = await ApiKey.select().where((ApiKey.prefix == prefix) & ApiKey.revoked_at.is_null())
    if not active:
        return None
    now = datetime.now(UTC)
    await ApiKey.update({ApiKey.revoked_at: now}).where(ApiKey.id == active[0]["id"])
    return _info({**active[0], "revoked_at": now})
