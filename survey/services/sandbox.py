"""What the sandbox channel kept, as staff see it at ``/staff/sandbox``.

Until Twilio or SMTP settings are given, SMS and email go to the sandbox (``SandboxMessage``); staff
read the messages of their units' invitations there. The recipient and the text are stored encrypted
(:func:`survey.services.sending.store_sandbox_message`): every role sees the recipient masked, and
only administrators see the links, which are live one-time links that would let anyone answer in
the person's name; the others see each link masked.

Example::

    entries = await sandbox_messages("/VN/", include_unlinked=True, show_links=False)
    entries[0].to_masked, entries[0].parts  # '+84 91* *** 678', (('BHXH VN: ', False), ('http://…/s/••••••', False))
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from survey.crypto import InvalidToken, cipher
from survey.db import aware
from survey.tables import SandboxMessage

__all__ = ["LINK_MASK", "SandboxEntry", "mask_link", "sandbox_messages", "split_links"]


_LINK = re.compile(r"https?://[^\s<>\"']+")
LINK_MASK = "••••••"


@dataclass(frozen=True)
class SandboxEntry:
    """One message the sandbox kept: its text split into plain parts and links (clickable when shown)."""

    id: int
    channel: str
    to_masked: str
    subject: str | None
    parts: tuple[tuple[str, bool], ...]
    encoding: str | None
    segments: int
    invitation_id: int | None
    invitation_status: str | None
    created_at: datetime | None
    has_html: bool
    readable: bool = True  # False: no data key opens its text (shown as such)


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


def mask_link(url: str) -> str:
    """A link with what makes it work (its last path segment: the token) masked.

    >>> mask_link("https://ks.vn/s/Ab12Cd34Ef56"), mask_link("https://ks.vn")
    ('https://ks.vn/s/••••••', 'https://ks.vn/••••••')
    """
    scheme, _, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    kept = path.rpartition("/")[0] if slash else ""
    return f"{scheme}://{host}/{kept + '/' if kept else ''}{LINK_MASK}"


def _masked(parts: tuple[tuple[str, bool], ...]) -> tuple[tuple[str, bool], ...]:
    return tuple((mask_link(piece), False) if is_link else (piece, False) for piece, is_link in parts)


async def sandbox_messages(unit_path_prefix: str, *, include_unlinked: bool, show_links: bool, limit: int = 100,
                           offset: int = 0) -> list[SandboxEntry]:
    """The sandbox's messages for invitations of units under ``unit_path_prefix``, newest first.

    ``show_links``: the links as they were sent (administrators); otherwise each is masked (:func:`mask_link`)
    and none is clickable.
    """
    query = SandboxMessage.select(
        SandboxMessage.id, SandboxMessage.channel, SandboxMessage.to_masked, SandboxMessage.subject,
        SandboxMessage.text_encrypted, SandboxMessage.html_encrypted, SandboxMessage.encoding,
        SandboxMessage.segments, SandboxMessage.invitation, SandboxMessage.created_at,
        SandboxMessage.invitation.status.as_alias("invitation_status"),
        SandboxMessage.invitation.unit.path.as_alias("unit_path"),
    )
    scoped = SandboxMessage.invitation.unit.path.like(unit_path_prefix.replace("%", "") + "%")
    if include_unlinked:
        scoped = scoped | SandboxMessage.invitation.is_null()
    rows = await query.where(scoped).order_by(SandboxMessage.id, ascending=False).limit(limit).offset(offset)
    box = cipher()
    entries = []
    for row in rows:
        try:
            parts, readable = split_links(box.decrypt(row["text_encrypted"])), True
        except InvalidToken:
            parts, readable = (), False
        entries.append(SandboxEntry(
            id=row["id"], channel=row["channel"], to_masked=row["to_masked"], subject=row["subject"],
            parts=parts if show_links else _masked(parts), encoding=row["encoding"], segments=row["segments"],
            invitation_id=row["invitation"], invitation_status=row["invitation_status"],
            created_at=aware(row["created_at"]), has_html=bool(row["html_encrypted"]), readable=readable,
        ))
    return entries
