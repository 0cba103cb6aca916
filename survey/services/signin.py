"""Signing staff in and out: the lockout after failed attempts, the session's user and version, the audit.

A session holds ``{"uid", "sv"}`` (user id and session version); :func:`session_identity` reloads the user on
every request, so deactivating a user or bumping ``session_version`` (:func:`sign_out`) ends their sessions.
Failed sign-ins count against the client's address and the username separately, in the limiter the caller
passes (the ``login_failures`` bucket, apart from the public link limiter).

Example::

    outcome = await sign_in("lan.nt", "correct horse battery", address="10.0.0.7", limiter=limiter)
    outcome.identity        # StaffIdentity(...) when it worked; else outcome.retry_after > 0 when locked out
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
from survey.services.ratelimit import RateLimiter

__all__ = ["SignIn", "session_identity", "session_of", "sign_in", "sign_out"]

USERNAME_KEPT = 64  # what the audit and the lockout keep of a typed username


@dataclass(frozen=True)
class SignIn:
    """What became of a sign-in attempt: an ``identity``, or refused (``retry_after`` > 0 when locked out)."""

    username: str
    identity: StaffIdentity | None = None
    retry_after: int = 0

    @property
    def blocked(self) -> bool:
        return self.retry_after > 0


async def sign_in(username: str, password: str, *, address: str, limiter: RateLimiter) -> SignIn:
    """Check ``password`` unless the address or the username is locked out; every outcome is audited."""
    name = normalise_username(username)[:USERNAME_KEPT]
    keys = [f"staff-login:address:{address}", f"staff-login:user:{name}"]
    if any(limiter.blocked(key) for key in keys):
        await audit.record("login_blocked", actor=None, detail={"username": name}, client_address=address)
        return SignIn(name, retry_after=max(limiter.retry_after(key) for key in keys))
    user = await authenticate(username, password)
    if user is None:
        for key in keys:
            limiter.hit(key)
        await audit.record("login_failed", actor=None, detail={"username": name}, client_address=address)
        return SignIn(name)
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
