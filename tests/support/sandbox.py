"""The sandbox's messages as a test reads them: the stored rows with their recipient and text decrypted.

The sandbox keeps the recipient and the text encrypted (they hold a phone number or email and a live link);
tests that follow a message's link read it through :func:`sandbox_messages`, which adds ``to_address``,
``body_text`` and ``body_html`` in clear to each row.
"""

from __future__ import annotations

from typing import Any

__all__ = ["sandbox_messages"]


async def sandbox_messages(*, order_by: str = "id") -> list[dict[str, Any]]:
    """Every ``SandboxMessage`` row (ordered by ``order_by``; ``to_address`` sorts by the decrypted recipient),
    with ``to_address``, ``body_text`` and ``body_html`` decrypted."""
    from survey.crypto import cipher
    from survey.tables import SandboxMessage

    box = cipher()
    rows = await SandboxMessage.select().order_by(SandboxMessage.id)
    for row in rows:
        row["to_address"] = box.decrypt(row["to_encrypted"])
        row["body_text"] = box.decrypt(row["text_encrypted"])
        row["body_html"] = box.decrypt(row["html_encrypted"]) if row["html_encrypted"] else None
    return sorted(rows, key=lambda row: row[order_by]) if order_by != "id" else rows
