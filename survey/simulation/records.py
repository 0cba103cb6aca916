"""What a simulation is made of: the hidden patterns, the simulated records, and the Tết calendar."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from questionnaires import AnswerValue

__all__ = [
    "TET",
    "VN_TZ",
    "DemoPatterns",
    "SimulatedContact",
    "SimulatedFollowUp",
    "SimulatedResponse",
    "Simulation",
    "holiday_window",
]

VN_TZ = timezone(timedelta(hours=7), "ICT")  # Vietnam keeps UTC+7 all year (no daylight saving)

# First day of the lunar new year (Tết Nguyên Đán).
TET: Mapping[int, date] = {
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
}


@dataclass(frozen=True)
class DemoPatterns:
    """What the simulated data hides for the quality team to find (effects on a 1-5 answer)."""

    worse_unit: str = "HCM-TD"
    worse_unit_effect: float = -0.25
    worse_unit_servant_effect: float = -0.6  # extra, on the civil servant questions
    improving_service: str = "VSSID"
    improving_from: float = -1.0  # in the first month
    improving_to: float = 0.15  # in the last month
    holiday_effect: float = -0.35
    holiday_waiting_effect: float = -0.6  # extra, on the waiting-time questions
    days_before_tet: int = 14
    days_after_tet: int = 10


@dataclass(frozen=True, slots=True)
class SimulatedContact:
    """One interaction; ``response`` is the index of its response in ``Simulation.responses``, or None."""

    source: str
    external_id: str
    channel: str
    unit_code: str
    service_code: str | None
    counter_code: str | None
    agent: str | None
    occurred_at: datetime
    language: str
    response: int | None


@dataclass(frozen=True, slots=True)
class SimulatedResponse:
    """One response; ``answers`` hold only visible questions (incomplete: the pages before ``page``)."""

    contact: int
    questionnaire_key: str
    channel: str
    unit_code: str
    service_code: str | None
    counter_code: str | None
    language: str
    trust: str
    status: str
    page: int
    started_at: datetime
    submitted_at: datetime | None
    answers: dict[str, AnswerValue]


@dataclass(frozen=True, slots=True)
class SimulatedFollowUp:
    """A case opened by a response's answers (``reasons`` from the questionnaire's follow-up rule)."""

    response: int
    unit_code: str
    reasons: tuple[str, ...]
    status: str
    created_at: datetime
    due_at: datetime
    closed_at: datetime | None
    notes: tuple[dict[str, str], ...]


@dataclass(frozen=True)
class Simulation:
    """Everything :func:`simulate` made, in time order of the contacts."""

    period_start: date
    period_end: date  # exclusive: the first day of the current month
    patterns: DemoPatterns
    contacts: tuple[SimulatedContact, ...]
    responses: tuple[SimulatedResponse, ...]
    follow_ups: tuple[SimulatedFollowUp, ...] = field(default=())


def holiday_window(year_of: date, patterns: DemoPatterns = DemoPatterns()) -> tuple[date, date] | None:
    """The days around Tết (inclusive) that fall in the lunar new year of ``year_of``'s year."""
    tet = TET.get(year_of.year)
    if tet is None:
        return None
    return tet - timedelta(days=patterns.days_before_tet), tet + timedelta(days=patterns.days_after_tet)
