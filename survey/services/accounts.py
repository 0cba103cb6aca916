"""Staff accounts and sign-in rules: creating users, checking passwords, who is signed in, which units they see.

Passwords are hashed with argon2id (argon2-cffi). What a user may see and do follows from their role:

- ``admin``: everything;
- ``quality``: every unit, every read and change of the data (follow-ups, reveals, exports, alerts), but none
  of the administrators' functions (the calendar's edits, the outbox, the audit log, the sandbox);
- ``leader``: every unit, read only: no change of anything and no reveal of contact details;
- ``unit_manager``: the subtree of its own unit only, where it may act on follow-ups and reveal.

A unit's ``path`` ('/VN/HN/HN-BD/') makes a subtree a prefix; the roles that see every unit have the prefix
``/``:

>>> me = StaffIdentity(id=1, username="bd", display_name="Ba Đình", role="unit_manager", unit_id=3,
...                    unit_code="HN-BD", unit_path="/VN/HN/HN-BD/", session_version=1)
>>> can_see(me, "/VN/HN/HN-BD/"), can_see(me, "/VN/HN/HN-CG/"), can_see(me, "/VN/HN/")
(True, False, False)
>>> boss = StaffIdentity(id=2, username="ld", display_name="Lãnh đạo", role="leader", unit_id=3,
...                      unit_code="HN-BD", unit_path="/VN/HN/HN-BD/", session_version=1)
>>> scope_prefix(boss), can_see(boss, "/VN/HCM/"), boss.read_only, may_reveal(boss), may_reveal(me)
('/', True, True, False, True)
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from survey.db import NUL, is_unique_violation
from survey.tables import StaffRole, StaffUser, Unit

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "StaffError",
    "StaffIdentity",
    "authenticate",
    "can_see",
    "create_user",
    "ALL_UNITS_ROLES",
    "CHANGING_ROLES",
    "REVEALING_ROLES",
    "identity_of",
    "load_identity",
    "may_reveal",
    "normalise_username",
    "scope_prefix",
    "sign_out_everywhere",
    "unit_columns",
]

ROLES: tuple[str, ...] = tuple(role.value for role in StaffRole)
# who sees every unit whatever their own unit is; the others see their unit's subtree
ALL_UNITS_ROLES: frozenset[str] = frozenset({StaffRole.admin, StaffRole.quality, StaffRole.leader})
# who may change anything at all (the leaders read)
CHANGING_ROLES: frozenset[str] = frozenset({StaffRole.admin, StaffRole.quality, StaffRole.unit_manager})
# who may see a person's phone and email to call them back
REVEALING_ROLES: frozenset[str] = frozenset({StaffRole.admin, StaffRole.quality, StaffRole.unit_manager})
MIN_PASSWORD_LENGTH = 10
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")

_hasher = PasswordHasher()


class StaffError(ValueError):
    """A staff account cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class StaffIdentity:
    """The signed-in member of staff, as the pages need them (no password hash)."""

    id: int
    username: str
    display_name: str
    role: str
    unit_id: int
    unit_code: str
    unit_path: str
    session_version: int
    unit_name_vi: str = ""
    unit_name_en: str = ""

    def unit_name(self, language: str) -> str:
        return (self.unit_name_en if language == "en" else self.unit_name_vi) or self.unit_code

    @property
    def is_admin(self) -> bool:
        return self.role == StaffRole.admin

    @property
    def sees_all_units(self) -> bool:
        """Whether the role sees every unit, whatever the user's own unit (admin, quality, leader)."""
        return self.role in ALL_UNITS_ROLES

    @property
    def read_only(self) -> bool:
        """Whether the role reads only (a leader): it may change nothing."""
        return self.role not in CHANGING_ROLES


def normalise_username(username: str) -> str:
    """Usernames are compared without case and surrounding spaces: ``' Lan.NT '`` is ``'lan.nt'``."""
    return username.strip().lower()


def scope_prefix(identity: StaffIdentity) -> str:
    """The unit path prefix of everything ``identity`` may see: ``/`` (every unit) for admin, quality and leader,
    else the subtree of their own unit."""
    return "/" if identity.sees_all_units else identity.unit_path


def can_see(identity: StaffIdentity, unit_path: str) -> bool:
    """Whether a record of the unit at ``unit_path`` lies in ``identity``'s scope (:func:`scope_prefix`)."""
    prefix = scope_prefix(identity)
    return bool(prefix) and unit_path.startswith(prefix)


def may_reveal(identity: StaffIdentity) -> bool:
    """Whether ``identity``'s role may see a person's contact details (within its scope)."""
    return identity.role in REVEALING_ROLES


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # verified against when the username is unknown, so that both cases take about as long
    return _hasher.hash("not-a-real-password-only-for-timing")


async def _verify(password_hash: str, password: str) -> bool:
    # argon2 is deliberately slow: keep it off the event loop
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


async def create_user(*, username: str, password: str, role: str, unit_code: str, display_name: str) -> StaffUser:
    """Create a staff user scoped to the subtree of unit ``unit_code``.

    Raises :class:`StaffError` naming the problem: a malformed or taken username, a short password,
    an unknown role or unit, an empty display name. Nothing is written then.
    """
    name = normalise_username(username)
    if not USERNAME_PATTERN.fullmatch(name):
        raise StaffError(
            f"username {username!r} is not allowed: use 3 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"password: must be at least {MIN_PASSWORD_LENGTH} characters long (got {len(password)})")
    if role not in ROLES:
        raise StaffError(f"role {role!r} is not one of {', '.join(ROLES)}")
    display = display_name.strip()
    if not display or len(display) > 120:
        raise StaffError("display name: must be 1 to 120 characters long")
    unit = await Unit.objects().get(Unit.code == unit_code.strip())
    if unit is None:
        raise StaffError(f"unknown unit {unit_code!r}")
    if await StaffUser.exists().where(StaffUser.username == name):
        raise StaffError(f"username {name!r} is taken")
    password_hash = await asyncio.to_thread(_hasher.hash, password)
    user = StaffUser(username=name, display_name=display, password_hash=password_hash, role=role, unit=unit.id)
    try:
        await user.save()
    except Exception as error:  # a concurrent create of the same name lost the race on the unique index
        if is_unique_violation(error):
            raise StaffError(f"username {name!r} is taken") from None
        raise
    return user


async def authenticate(username: str, password: str) -> StaffUser | None:
    """The active user with this username and password, or ``None``.

    An unknown username costs a hash verification too, so timing does not reveal which names exist.
    A hash made with older argon2 parameters is replaced on success; ``last_login_at`` is updated.
    """
    name = normalise_username(username)
    # a name with NUL belongs to nobody (create_user refuses it), and PostgreSQL refuses it in a query
    user = await StaffUser.objects().get(StaffUser.username == name) if NUL not in name else None
    if user is None:
        await _verify(await asyncio.to_thread(_dummy_hash), password)
        return None
    if not await _verify(user.password_hash, password) or not user.active:
        return None
    values: dict[object, object] = {StaffUser.last_login_at: datetime.now(UTC)}
    if _hasher.check_needs_rehash(user.password_hash):
        values[StaffUser.password_hash] = user.password_hash = await asyncio.to_thread(_hasher.hash, password)
    await StaffUser.update(values).where(StaffUser.id == user.id)  # type: ignore[arg-type]
    user.last_login_at = values[StaffUser.last_login_at]
    return user


def unit_columns(unit: Any) -> list[Any]:
    """The columns of a unit reached through the foreign key ``unit`` (``StaffUser.unit``, ``Response.unit``)."""
    return [unit.id.as_alias("unit_id"), unit.code.as_alias("unit_code"), unit.path.as_alias("unit_path"),
            unit.name_vi.as_alias("unit_name_vi"), unit.name_en.as_alias("unit_name_en")]


async def load_identity(user_id: int, session_version: int) -> StaffIdentity | None:
    """Who a session belongs to, or ``None`` when the user is gone, inactive or signed out everywhere."""
    row = await StaffUser.select(
        StaffUser.id, StaffUser.username, StaffUser.display_name, StaffUser.role, StaffUser.active,
        StaffUser.session_version, *unit_columns(StaffUser.unit),
    ).where(StaffUser.id == user_id).first()
    if row is None or not row.pop("active") or row["session_version"] != session_version:
        return None
    return StaffIdentity(**row)


async def identity_of(user: StaffUser) -> StaffIdentity:
    """The identity of a user just authenticated."""
    identity = await load_identity(user.id, user.session_version)
    assert identity is not None, "an authenticated user is active"
    return identity


async def sign_out_everywhere(user_id: int) -> None:
    """End every session of the user (sessions carry the version they were opened with)."""
    await StaffUser.update({StaffUser.session_version: StaffUser.session_version + 1}).where(StaffUser.id == user_id)
