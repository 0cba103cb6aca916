"""What an assessment reads: a questionnaire's complete responses counted per cell (:mod:`scoring.tally`), with
each cell's place (unit, service, channel, invited or not) and time (its month, or one day of it).

A cell is version × unit × service × channel × invited × month, or × day for the days of a month that a period
boundary cuts (a custom range of days): a period, its previous period or its trend window holds a cell whole or
not at all, so every selection by time is a selection of cells. :func:`cells_of_frame` counts raw rows this way;
the kept aggregates (:mod:`survey.services.aggregates`) hold the month cells of every month already counted.

>>> zone = "Asia/Ho_Chi_Minh"
>>> first_instant(np.array([2026 * 12 + 4]), np.array([-1]), zone).tolist()  # May 2026, from 00:00 local time
[1777568400]
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from scoring.coding import COMMENT, OUTCOME, Coding
from scoring.patterns import AnswerPatterns
from scoring.tally import SparseCounts, Tally, combine, tally_rows
from survey.services.extract import ResponseFrame, local_days, month_codes

__all__ = ["KEY_NAMES", "ScoreCells", "cells_of_frame", "coded_answers", "first_instant"]

KEY_NAMES = ("version", "unit", "service", "channel", "invited", "month", "day")  # day -1: the whole month
EPOCH_DAY = date(1970, 1, 1)


def first_instant(month: npt.NDArray[np.int64], day: npt.NDArray[np.int64], timezone: str) -> npt.NDArray[np.int64]:
    """Per cell: the epoch second its time starts (local midnight of the month's first day, or of ``day``, days
    since 1970 in local time, where ``day >= 0``)."""
    zone = ZoneInfo(timezone)
    out = np.zeros(month.shape[0], dtype=np.int64)

    def midnight(d: date) -> int:
        return int(datetime.combine(d, datetime.min.time(), zone).astimezone(UTC).timestamp())

    whole = day < 0
    for m in np.unique(month[whole]).tolist():
        out[whole & (month == m)] = midnight(date(m // 12, m % 12 + 1, 1))
    for d in np.unique(day[~whole]).tolist():
        out[day == d] = midnight(EPOCH_DAY + timedelta(days=d))
    return out


@dataclass(frozen=True, eq=False)
class ScoreCells:
    """A tally of :data:`KEY_NAMES` cells with its coding, and each cell's keys as the assessment uses them."""

    tally: Tally
    coding: Coding
    timezone: str
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.tally.key_names != KEY_NAMES:
            raise ValueError(f"score cells need the keys {', '.join(KEY_NAMES)}")
        self.coding.check(self.tally)

    @property
    def n_cells(self) -> int:
        return self.tally.n_cells

    @property
    def n(self) -> npt.NDArray[np.int64]:
        """Responses per cell."""
        return self.tally.n

    @cached_property
    def unit_id(self) -> npt.NDArray[np.int64]:
        return self.tally.key("unit")

    @cached_property
    def service_id(self) -> npt.NDArray[np.int64]:
        return self.tally.key("service")

    @cached_property
    def channel(self) -> npt.NDArray[np.int64]:
        return self.tally.key("channel")

    @cached_property
    def invited(self) -> npt.NDArray[np.bool_]:
        return self.tally.key("invited") != 0

    @cached_property
    def month(self) -> npt.NDArray[np.int64]:
        """The local month of each cell (``year * 12 + month - 1``)."""
        return self.tally.key("month")

    @cached_property
    def epoch(self) -> npt.NDArray[np.int64]:
        """The instant each cell's time starts."""
        return first_instant(self.month, self.tally.key("day"), self.timezone)

    @cached_property
    def patterns(self) -> dict[str, AnswerPatterns]:
        """Each criterion's answer patterns per cell."""
        return self.coding.patterns(self.tally)

    @property
    def outcomes(self) -> SparseCounts:
        """The joint outcome codes over the criteria per cell."""
        return self.tally.tables[OUTCOME]

    @property
    def comments(self) -> SparseCounts:
        """Respondents who left a comment, per cell (code 1)."""
        return self.tally.tables[COMMENT]

    def question(self, question_id: str) -> SparseCounts:
        """A numeric question's answer codes per cell."""
        return self.tally.tables[f"q:{question_id}"]

    def take(self, cells: npt.NDArray[np.bool_]) -> ScoreCells:
        """The cells selected by a boolean mask."""
        return ScoreCells(self.tally.take(cells), self.coding, self.timezone, dict(self.timings))

    @classmethod
    def combined(cls, parts: list[ScoreCells], coding: Coding, timezone: str) -> ScoreCells:
        """The cells of several parts added up (the kept months and the days counted from raw rows)."""
        tallies = [p.tally for p in parts]
        if not tallies:
            tallies = [tally_rows(KEY_NAMES, np.zeros((0, len(KEY_NAMES)), dtype=np.int64),
                                  {name: (np.zeros(0, dtype=np.int64), size) for name, size in coding.sizes.items()})]
        return cls(combine(tallies) if len(tallies) > 1 else tallies[0], coding, timezone)


def cells_of_frame(frame: ResponseFrame, coding: Coding, timezone: str, *, by_day: Collection[int] = (),
                   single: bool = False) -> ScoreCells:
    """The tally of raw responses: month cells, day cells in the months ``by_day``; ``single``: one cell per
    response on its day (the raw computation itself, for comparisons; responses of one day then share keys)."""
    months = month_codes(frame.submitted_epoch, timezone).astype(np.int64)
    day = np.full(frame.n, -1, dtype=np.int64)
    if by_day:
        split = np.isin(months, np.fromiter(by_day, dtype=np.int64))
        day[split] = local_days(frame.submitted_epoch[split], timezone)
    keys = np.column_stack([frame.version_id, frame.unit_id, frame.service_id, frame.channel.astype(np.int64),
                            frame.invited.astype(np.int64), months, day]) if frame.n else \
        np.zeros((0, len(KEY_NAMES)), dtype=np.int64)
    codes = coding.row_codes(coded_answers(frame, coding), frame.commented)
    if single:
        # one cell per response, on its own day: a temporary unique day key keeps every response apart
        keys = keys.copy()
        keys[:, KEY_NAMES.index("day")] = -2 - np.arange(frame.n)
        tally = tally_rows(KEY_NAMES, keys, codes)
        row = -(tally.keys[:, KEY_NAMES.index("day")] + 2)
        tally.keys[:, KEY_NAMES.index("day")] = local_days(frame.submitted_epoch, timezone)[row]
        return ScoreCells(tally, coding, timezone)
    return ScoreCells(tally_rows(KEY_NAMES, keys, codes), coding, timezone)


def coded_answers(frame: ResponseFrame, coding: Coding) -> npt.NDArray[np.float64]:
    """The frame's answers in the coding's question order (a question the frame lacks: not answered)."""
    columns: Mapping[str, int] = {qid: j for j, qid in enumerate(frame.question_ids)}
    out = np.full((frame.n, len(coding.questions)), np.nan)
    for j, qid in enumerate(coding.question_ids):
        if qid in columns:
            out[:, j] = frame.answers[:, columns[qid]]
    return out
