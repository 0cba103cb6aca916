"""A year of simulated contacts and survey answers for the demo: pure and seeded, no database.

The data carries the patterns a quality team should be able to discover with the dashboards
(:class:`DemoPatterns`): one district office clearly worse (above all on "the civil servant"),
one service improving month by month, and a dip around Tết with more complaints about waiting.
Answers follow each questionnaire's scales and skip logic, and follow-up cases are opened by
each questionnaire's own rule.

>>> from datetime import date
>>> sim = simulate(responses=300, seed=7, today=date(2026, 11, 23))
>>> sim.period_start, sim.period_end
(datetime.date(2025, 11, 1), datetime.date(2026, 11, 1))
>>> sum(r.status == "complete" for r in sim.responses)
300
>>> simulate(responses=300, seed=7, today=date(2026, 11, 23)).responses == sim.responses
True
"""

from __future__ import annotations

from survey.services.followups import add_working_hours
from survey.simulation.findings import DemoFindings, findings
from survey.simulation.generate import simulate
from survey.simulation.records import (
    TET,
    VN_TZ,
    DemoPatterns,
    SimulatedContact,
    SimulatedFollowUp,
    SimulatedResponse,
    Simulation,
    holiday_window,
)

__all__ = [
    "TET",
    "VN_TZ",
    "DemoFindings",
    "DemoPatterns",
    "SimulatedContact",
    "SimulatedFollowUp",
    "SimulatedResponse",
    "Simulation",
    "add_working_hours",
    "findings",
    "holiday_window",
    "simulate",
]
