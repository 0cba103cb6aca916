"""Signing staff in and out: growing delays after failed attempts, the session's user and version, the audit.

A session holds ``{"uid", "sv"}`` (user id and session version); :func:`session_identity` reloads the user on
every request, so deactivating a user or bumping ``session_version`` (:func:`sign_out`) ends their sessions.

Failed sign-ins never lock an account: they make the next attempts wait, per address and per account, in the
database so that every server process sees them (:class:`survey.services.ratelimit.SignInThrottle`). The
account's wait holds only for attempts from addresses that have themselves failed on it recently, so someone
typing wrong passwords for the administrator does not keep her out: she signs in from her own address. An
attacker spread over K addresses gets about K free tries, one per address, then each of them waits on the
account's growing delay. A success clears its (account, address) failures. Every outcome is audited
(``login_ok``, ``login_failed``, ``login_blocked``) with the address of :func:`survey.web.client_address`.

Example::

    outcome = await sign_in("lan.nt", "correct horse battery", address="10.0.0.7", throttle=limits.signin)
    outcome.identity        # StaffIdentity(...) when it worked; else outcome.retry_after > 0 when it must wait
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from survey.services import audit
from survey.services.accounts import (
    StaffIdentity,
    authenticate,
    identity_of,
    load_identity,
    normalise_username,
    sign_out_everywhere,
)
from survey.services.ratelimit import SignInThrottle

__all__ = ["SignIn", "session_identity", "session_of", "sign_in", "sign_out"]

USERNAME_KEPT = 64  # what the audit and the counters keep of a typed username


@dataclass(frozen=True)
class SignIn:
    """What became of a sign-in attempt: an ``identity``, or refused (``retry_after`` > 0 when it must wait)."""

    username: str
    identity: StaffIdentity | None = None
    retry_after: int = 0

    @property
    def blocked(self) -> bool:
        return self.retry_after > 0


async def sign_in(username: str, password: str, *, address: str, throttle: SignInThrottle) -> SignIn:
    """Check ``password`` unless the address (or the account, from an address that failed on it) must wait."""
    name = normalise_username(username)[:USERNAME_KEPT]
    wait = await throttle.wait(name, address)
    if wait > 0:
        await audit.record("login_blocked", actor=None, detail={"username": name}, client_address=address)
        return SignIn(name, retry_after=wait)
    user = await authenticate(username, password)
    if user is None:
        await throttle.failed(name, address)
        await audit.record("login_failed", actor=None, detail={"username": name}, client_address=address)
        return SignIn(name)
    await throttle.succeeded(name, address)
    identity = await identity_of(user)
    await audit.record("login_ok", actor=identity, client_address=address)
    return SignIn(name, identity)


def session_of(identity: StaffIdentity) -> dict[str, Any]:
    """What a new session of ``identity`` holds."""
    return {"uid": identity.id, "sv": identity.session_version}


async def session_identity(session: Mapping[str, Any] | None) -> StaffIdentity | None:
    """The active member of staff a session belongs to, or ``None`` (no session, ended, or user gone)."""
    if not session or not isinstance(session, Mapping):
        return None
    user_id, version = session.get("uid"), session.get("sv")
    if not isinstance(user_id, int) or not isinstance(version, int) or isinstance(user_id, bool):
        return None
    if not 1 <= user_id <= 2**31 - 1:  # a forged or stale cookie never reaches the database as an overflow
        return None
    return await load_identity(user_id, version)


async def sign_out(identity: StaffIdentity, *, address: str) -> None:
    """End every session of ``identity`` (a copied cookie outlives a plain logout otherwise) and audit it."""
    await sign_out_everywhere(identity.id)
    await audit.record("logout", actor=identity, client_address=address)
