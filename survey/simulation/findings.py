"""Measuring the hidden patterns in a simulation, as the quality team would find them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from survey.simulation.records import TET, VN_TZ, SimulatedResponse, Simulation

__all__ = ["DemoFindings", "findings"]


@dataclass(frozen=True)
class DemoFindings:
    """The hidden patterns as the data shows them: satisfied shares (answer >= 4) of ``overall``."""

    worse_unit: str
    worse_unit_share: float  # counter responses of the worse unit
    other_units_share: float  # counter responses of every other unit
    worse_unit_servant_share: float  # ``servant_attitude`` at the worse unit
    other_units_servant_share: float
    improving_service: str
    first_quarter_share: float  # the improving service in the first three months
    last_quarter_share: float  # ... and in the last three
    tet_month: date | None  # the first day of the month of Tết in the period
    tet_month_share: float
    other_months_share: float


def _share(responses: Sequence[SimulatedResponse], question_id: str) -> float:
    values = [v for r in responses if isinstance(v := r.answers.get(question_id), int)]
    return sum(v >= 4 for v in values) / len(values) if values else float("nan")


def findings(sim: Simulation) -> DemoFindings:
    """Measure the patterns of :class:`DemoPatterns` in the complete responses of ``sim``."""
    p = sim.patterns
    complete = [r for r in sim.responses if r.status == "complete" and r.submitted_at is not None]
    counter = [r for r in complete if r.channel == "counter"]
    worse = [r for r in counter if r.unit_code == p.worse_unit]
    others = [r for r in counter if r.unit_code != p.worse_unit]

    def month_index(r: SimulatedResponse) -> int:
        local = r.started_at.astimezone(VN_TZ)
        return (local.year - sim.period_start.year) * 12 + local.month - sim.period_start.month

    service = [r for r in complete if r.service_code == p.improving_service]
    tet = next((t for t in TET.values() if sim.period_start <= t < sim.period_end), None)
    tet_month = tet.replace(day=1) if tet is not None else None
    in_tet_month = [r for r in complete if tet_month is not None
                    and r.started_at.astimezone(VN_TZ).date().replace(day=1) == tet_month]
    rest = [r for r in complete if tet_month is None
            or r.started_at.astimezone(VN_TZ).date().replace(day=1) != tet_month]
    return DemoFindings(
        worse_unit=p.worse_unit,
        worse_unit_share=_share(worse, "overall"),
        other_units_share=_share(others, "overall"),
        worse_unit_servant_share=_share(worse, "servant_attitude"),
        other_units_servant_share=_share(others, "servant_attitude"),
        improving_service=p.improving_service,
        first_quarter_share=_share([r for r in service if month_index(r) < 3], "overall"),
        last_quarter_share=_share([r for r in service if month_index(r) >= 9], "overall"),
        tet_month=tet_month,
        tet_month_share=_share(in_tet_month, "overall"),
        other_months_share=_share(rest, "overall"),
    )
