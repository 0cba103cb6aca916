"""The audit trail: who signed in, saw or changed what, and from where.

Example::

    await record("login_ok", actor=identity, client_address="10.0.0.7")
    await record("login_failed", actor=None, detail={"username": "lan.nt"}, client_address="10.0.0.7")
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from survey.tables import AuditEvent

if TYPE_CHECKING:
    from survey.services.accounts import StaffIdentity

__all__ = ["record"]

ANONYMOUS = "-"


async def record(
    action: str,
    *,
    actor: StaffIdentity | None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    detail: Mapping[str, Any] | None = None,
    client_address: str | None = None,
) -> AuditEvent:
    """Write one audit event: ``action`` (e.g. ``login_ok``, ``responses_viewed``) by ``actor`` on an object."""
    event = AuditEvent(
        actor=actor.id if actor is not None else None,
        actor_label=actor.username if actor is not None else ANONYMOUS,
        action=action[:40],
        object_type=object_type,
        object_id=None if object_id is None else str(object_id)[:80],
        detail=dict(detail or {}),
        client_address=(client_address or None) and client_address[:64],
    )
    await event.save()
    return event
