"""Whether the application can work: the database answers (what ``GET /health`` reports to a monitor)."""

from __future__ import annotations

import logging

import msgspec

__all__ = ["Health", "check_health"]

log = logging.getLogger(__name__)


class Health(msgspec.Struct, frozen=True):
    """``status`` is ``ok`` or ``unavailable``; ``database`` is ``ok`` or ``unreachable``."""

    status: str
    database: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"


async def check_health() -> Health:
    """Ask the database one cheap question; any failure means unavailable (logged), never an exception."""
    from survey.tables import Unit

    try:
        await Unit.count()
    except Exception:  # whatever the driver raises, a load balancer needs "unavailable", not a 500
        log.warning("health: the database does not answer", exc_info=True)
        return Health(status="unavailable", database="unreachable")
    return Health(status="ok", database="ok")
