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

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from questionnaires.model import Questionnaire
from scoring.coding import Coding
from survey.services.extract import ResponseScope, extract_responses
from survey.services.scores.cells import ScoreCells, cells_of_frame
from survey.services.scores.context import UnitTree
from survey.services.scores.funnels import families_of
from survey.services.scores.periods import Period, month_label
from survey.services.scores.volumes import whole_months
from survey.settings import get_settings

__all__ = ["Reach", "cut_months", "month_label", "raw_spans", "reach", "read_cells", "text_question_ids"]


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


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, datetime.min.time(), zone)


def raw_spans(start: date, end: date, kept: Collection[int], zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The instants ``[low, high)`` of the days ``[start, end)`` outside the ``kept`` months, runs merged.

    >>> zone = ZoneInfo("Asia/Ho_Chi_Minh")
    >>> [(a.date().isoformat(), b.date().isoformat()) for a, b in
    ...  raw_spans(date(2026, 1, 11), date(2026, 4, 1), {2026 * 12 + 1}, zone)]
    [('2026-01-11', '2026-02-01'), ('2026-03-01', '2026-04-01')]
    """
    spans: list[tuple[datetime, datetime]] = []
    if start >= end:
        return spans
    for month in range(_month(start), _month(end - timedelta(days=1)) + 1):
        if month in kept:
            continue
        first = max(start, date(month // 12, month % 12 + 1, 1))
        last = min(end, date((month + 1) // 12, (month + 1) % 12 + 1, 1))
        low, high = _midnight(first, zone), _midnight(last, zone)
        if spans and spans[-1][1] == low:
            spans[-1] = (spans[-1][0], high)
        else:
            spans.append((low, high))
    return spans


async def read_cells(questionnaire: Questionnaire, window: Period, periods: Sequence[Period], service_id: int | None,
                     channel: str | None, needed: Reach = Reach()) -> ScoreCells:
    """The counted complete responses of ``questionnaire`` (every version) in ``window`` for ``periods`` (whose cut
    months are counted by day): of the units ``needed`` (the whole country by default).

    The months held whole and not cut come from the kept counts (:mod:`survey.services.aggregates`); the rest, and
    everything when the kept counts are not usable (another coding or timezone, never built), from the raw rows."""
    from survey.services.aggregates.store import read_kept_cells

    settings = get_settings()
    zone = ZoneInfo(settings.timezone)
    coding = Coding.of(questionnaire)
    texts = text_question_ids(questionnaire)
    cut = cut_months(periods)
    parts: list[tuple[date, date, tuple[int, ...] | None]] = [(window.start, window.end, needed.scope)]
    if needed.scope is not None and needed.peers and periods:  # the peers in the periods only
        parts.append((min(p.start for p in periods), max(p.end for p in periods), needed.peers))
    counted: list[ScoreCells] = []
    timings: dict[str, float] = {}
    for start, end, units in parts:
        months = [m for m in whole_months(start, end) if m not in cut]
        began = time.perf_counter()
        kept = await read_kept_cells(questionnaire, months, settings.timezone, service_id=service_id,
                                     channel=channel, unit_ids=units) if months else None
        timings["kept_s"] = timings.get("kept_s", 0.0) + time.perf_counter() - began
        if kept is not None:
            counted.append(kept)
        for low, high in raw_spans(start, end, set(months) if kept is not None else set(), zone):
            scope = ResponseScope(questionnaire.id, low, high, "/", service_id, channel, unit_ids=units)
            frame = await extract_responses(scope, coding.question_ids, texts)
            counted.append(cells_of_frame(frame, coding, settings.timezone, by_day=cut))
            for name, value in frame.timings.items():
                timings[name] = timings.get(name, 0.0) + value
    cells = ScoreCells.combined(counted, coding, settings.timezone)
    cells.timings.update(timings)
    return cells
