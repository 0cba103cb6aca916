"""What the sandbox channel kept, as staff see it at ``/staff/sandbox``: messages with their links clickable.

Until Twilio or SMTP settings are given, SMS and email go to the sandbox (``SandboxMessage``);
staff read the messages of their units' invitations there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from survey.db import aware
from survey.tables import SandboxMessage

__all__ = ["SandboxEntry", "sandbox_messages", "split_links"]


_LINK = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class SandboxEntry:
    """One message the sandbox kept, with its text split into plain parts and links (to show them clickable)."""

    id: int
    channel: str
    to_address: str
    subject: str | None
    parts: tuple[tuple[str, bool], ...]
    encoding: str | None
    segments: int
    invitation_id: int | None
    invitation_status: str | None
    created_at: datetime | None
    has_html: bool


def split_links(text: str) -> tuple[tuple[str, bool], ...]:
    """``text`` as (piece, is_link) pairs.

    >>> split_links("Rate us: https://x.vn/s/abc thanks")
    (('Rate us: ', False), ('https://x.vn/s/abc', True), (' thanks', False))
    """
    parts: list[tuple[str, bool]] = []
    position = 0
    for match in _LINK.finditer(text):
        if match.start() > position:
            parts.append((text[position : match.start()], False))
        parts.append((match.group(0), True))
        position = match.end()
    if position < len(text):
        parts.append((text[position:], False))
    return tuple(parts)


async def sandbox_messages(unit_path_prefix: str, *, include_unlinked: bool, limit: int = 100,
                           offset: int = 0) -> list[SandboxEntry]:
    """The sandbox's messages for invitations of units under ``unit_path_prefix``, newest first."""
    query = SandboxMessage.select(
        SandboxMessage.id, SandboxMessage.channel, SandboxMessage.to_address, SandboxMessage.subject,
        SandboxMessage.body_text, SandboxMessage.body_html, SandboxMessage.encoding, SandboxMessage.segments,
        SandboxMessage.invitation, SandboxMessage.created_at,
        SandboxMessage.invitation.status.as_alias("invitation_status"),
        SandboxMessage.invitation.unit.path.as_alias("unit_path"),
    )
    scoped = SandboxMessage.invitation.unit.path.like(unit_path_prefix.replace("%", "") + "%")
    if include_unlinked:
        scoped = scoped | SandboxMessage.invitation.is_null()
    rows = await query.where(scoped).order_by(SandboxMessage.id, ascending=False).limit(limit).offset(offset)
    return [SandboxEntry(id=row["id"], channel=row["channel"], to_address=row["to_address"], subject=row["subject"],
                         parts=split_links(row["body_text"] or ""), encoding=row["encoding"],
                         segments=row["segments"], invitation_id=row["invitation"],
                         invitation_status=row["invitation_status"], created_at=aware(row["created_at"]),
                         has_html=bool(row["body_html"])) for row in rows]
