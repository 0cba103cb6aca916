"""How the contacts of a period were decided: planned, and skipped by reason (with the reasons explained).

Example::

    report = await decision_report(start, end, unit="HN-BD")
    report.planned, report.skipped      # 120, {"quarantine": 14, "opted_out": 3}
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from survey.services.contacts import decision_counts, reason_texts
from survey.tables import Unit

__all__ = ["DecisionReport", "UnknownUnit", "decision_report"]


class UnknownUnit(LookupError):
    """No unit has the code asked for."""


class DecisionReport(msgspec.Struct, rename={"period_from": "from", "period_to": "to"}):
    """Contacts of ``[from, to)`` by decision; ``total`` leaves out invitations cancelled after planning."""

    period_from: str  # ISO 8601 in UTC, as ``datetime.isoformat`` writes it
    period_to: str
    unit: str | None
    total: int
    planned: int
    skipped: dict[str, int]
    reasons: dict[str, dict[str, str]]


async def decision_report(start: datetime, end: datetime, unit: str | None = None) -> DecisionReport:
    """The decisions on the contacts of ``[start, end)`` of ``unit``'s subtree (every unit by default)."""
    prefix = None
    if unit:
        rows = await Unit.select(Unit.path).where(Unit.code == unit)
        if not rows:
            raise UnknownUnit(f"unknown unit {unit!r}")
        prefix = rows[0]["path"]
    counts = await decision_counts(start, end, prefix)
    texts = reason_texts()
    skipped = {reason: n for reason, n in sorted(counts.items()) if reason != "planned"}
    return DecisionReport(
        period_from=start.isoformat(), period_to=end.isoformat(), unit=unit,
        total=sum(n for reason, n in counts.items() if not reason.startswith("cancelled:")),
        planned=counts.get("planned", 0),
        skipped=skipped,
        reasons={reason: dict(texts[reason.split(":")[-1]]) for reason in skipped if reason.split(":")[-1] in texts},
    )
