"""The counted answers of a questionnaire for the periods of a request: which months are counted whole and which
by day, read from the raw responses.

A month that a period boundary cuts (a custom range of days, its previous period or the same days a year
earlier) is counted by day; every other month whole.

>>> from survey.services.scores.periods import parse_period
>>> sorted(month_label(m) for m in cut_months([parse_period("2026-01-11..2026-01-20")]))
['2025-01', '2026-01']
>>> cut_months([parse_period("2026-Q2")])
set()
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from questionnaires.model import Questionnaire
from scoring.coding import Coding
from survey.services.extract import ResponseScope, extract_responses
from survey.services.scores.cells import ScoreCells, cells_of_frame
from survey.services.scores.periods import Period, month_label
from survey.settings import get_settings

__all__ = ["cut_months", "month_label", "read_cells", "text_question_ids"]


def _month(day: date) -> int:
    return day.year * 12 + day.month - 1


def cut_months(periods: Sequence[Period]) -> set[int]:
    """The months a boundary of the periods, their previous periods or the same days a year earlier falls inside
    (not on the first day): those months are counted by day."""
    cut = set()
    for period in periods:
        for p in (period, period.previous(), period.year_earlier()):
            for boundary in (p.start, p.end):
                if boundary.day != 1:
                    cut.add(_month(boundary))
    return cut


def text_question_ids(questionnaire: Questionnaire) -> list[str]:
    """The questions whose answers are comments."""
    return [x.id for x in questionnaire.questions if x.type == "text"]


async def read_cells(questionnaire: Questionnaire, window: Period, periods: Sequence[Period], service_id: int | None,
                     channel: str | None) -> ScoreCells:
    """The counted complete responses of ``questionnaire`` (every version) in ``window``, the whole country, for
    ``periods`` (whose cut months are counted by day)."""
    settings = get_settings()
    coding = Coding.of(questionnaire)
    start, end = window.bounds(settings.timezone)
    frame = await extract_responses(ResponseScope(questionnaire.id, start, end, "/", service_id, channel),
                                    coding.question_ids, text_question_ids(questionnaire))
    cells = cells_of_frame(frame, coding, settings.timezone, by_day=cut_months(periods))
    cells.timings.update(frame.timings)
    return cells
