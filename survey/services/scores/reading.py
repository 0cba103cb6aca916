"""The counted answers of a questionnaire for the periods of a request: which units and months it needs, which
months are counted whole and which by day, read from the raw responses.

A month that a period boundary cuts (a custom range of days, its previous period or the same days a year
earlier) is counted by day; every other month whole. A request for one unit needs its subtree over the whole
window (its period, the previous one, a year earlier, the trend's twelve months), but other units only in its
period: its sibling subtrees (its peers) and the units its funnels compare (:func:`reach`).

>>> from survey.services.scores.periods import parse_period
>>> sorted(month_label(m) for m in cut_months([parse_period("2026-01-11..2026-01-20")]))
['2025-01', '2026-01']
>>> cut_months([parse_period("2026-Q2")])
set()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from questionnaires.model import Questionnaire
from scoring.coding import Coding
from survey.services.extract import ResponseScope, extract_responses
from survey.services.scores.cells import ScoreCells, cells_of_frame
from survey.services.scores.context import UnitTree
from survey.services.scores.funnels import families_of
from survey.services.scores.periods import Period, month_label
from survey.settings import get_settings

__all__ = ["Reach", "cut_months", "month_label", "reach", "read_cells", "text_question_ids"]


@dataclass(frozen=True)
class Reach:
    """The units whose answers a request needs: ``scope`` over the whole window, ``peers`` in its period only
    (``None``: every unit, the whole country)."""

    scope: tuple[int, ...] | None = None
    peers: tuple[int, ...] = ()


def reach(units: UnitTree, scope_unit: int | None, by: Sequence[str], comparisons: bool = True) -> Reach:
    """What a request for ``scope_unit`` (``None``: the country) grouped ``by`` reads: the scope's subtree, and in
    its period the sibling subtrees it is compared with and the members of its funnels' families."""
    if scope_unit is None or scope_unit not in units.path:
        return Reach()
    scope = units.subtree(scope_unit)
    peers: set[int] = set()
    if comparisons:
        parent = units.parent.get(scope_unit)
        if "unit" not in by and "subunit" not in by and parent:
            peers |= units.subtree(parent)  # the scope against its siblings' subtrees
        if "unit" in by:
            focus = sorted(scope)
        elif "subunit" in by:
            focus = sorted(u for u, p in units.parent.items() if p == scope_unit)
        else:
            focus = [scope_unit]
        for family in families_of(units, focus):
            for member in family.members:
                peers |= {member} if "unit" in by else units.subtree(member)
    return Reach(tuple(sorted(scope)), tuple(sorted(peers - scope)))


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
                     channel: str | None, needed: Reach = Reach()) -> ScoreCells:
    """The counted complete responses of ``questionnaire`` (every version) in ``window`` for ``periods`` (whose cut
    months are counted by day): of the units ``needed`` (the whole country by default)."""
    settings = get_settings()
    coding = Coding.of(questionnaire)
    texts = text_question_ids(questionnaire)
    start, end = window.bounds(settings.timezone)
    cut = cut_months(periods)
    whole = ResponseScope(questionnaire.id, start, end, "/", service_id, channel, unit_ids=needed.scope)
    parts = [whole]
    if needed.scope is not None and needed.peers and periods:  # the peers in the periods only
        p_start = min(p.bounds(settings.timezone)[0] for p in periods)
        p_end = max(p.bounds(settings.timezone)[1] for p in periods)
        parts.append(replace(whole, start=p_start, end=p_end, unit_ids=needed.peers))
    frames = [await extract_responses(part, coding.question_ids, texts) for part in parts]
    cells = ScoreCells.combined([cells_of_frame(frame, coding, settings.timezone, by_day=cut) for frame in frames],
                                coding, settings.timezone)
    for frame in frames:
        for name, value in frame.timings.items():
            cells.timings[name] = cells.timings.get(name, 0.0) + value
    return cells
