"""A write path's few responses counted one at a time in plain Python give the same kept cells as the array
counting of many, and as the tally the scores read: on random answers, off-scale and missing ones included."""

from __future__ import annotations

import numpy as np
import pytest

from questionnaires import load_bundled
from scoring.coding import Coding
from survey.services.aggregates.store import SMALL_FRAME, cell_rows, month_cell_rows, unpack
from survey.services.extract import ResponseFrame
from survey.services.scores.cells import cells_of_frame

ZONE = "Asia/Ho_Chi_Minh"


def _frame(coding: Coding, n: int, seed: int) -> ResponseFrame:
    rng = np.random.default_rng(seed)
    q = len(coding.questions)
    answers = rng.choice([np.nan, 0.0, 1.0, 2.0, 3.0, 3.5, 4.0, 5.0, 6.0, 9.0, 10.0, 11.0], size=(n, q))
    return ResponseFrame(
        question_ids=tuple(coding.question_ids), response_id=np.arange(n, dtype=np.int64),
        unit_id=rng.integers(1, 4, n), service_id=rng.integers(0, 3, n), channel=rng.integers(0, 2, n).astype(np.int8),
        submitted_epoch=1_767_200_000 + rng.integers(0, 86_400 * 90, n), invited=rng.random(n) < 0.3,
        answers=answers, version_id=rng.integers(1, 3, n), commented=rng.random(n) < 0.25)


def _decoded(rows: list[tuple]) -> dict[tuple, tuple[int, dict[int, int]]]:
    return {tuple(r[:6]): (r[6], dict(zip(*(x.tolist() for x in unpack(r[7])), strict=True))) for r in rows}


@pytest.mark.parametrize("key", sorted(load_bundled()))
@pytest.mark.parametrize("n", [1, 7, SMALL_FRAME, SMALL_FRAME + 1, 400])
def test_counting_one_by_one_equals_the_arrays(key, n):
    coding = Coding.of(load_bundled()[key])
    frame = _frame(coding, n, seed=n)
    rows = month_cell_rows(frame, coding, ZONE)
    reference = cell_rows(cells_of_frame(frame, coding, ZONE))
    assert _decoded(rows) == _decoded(reference)
    assert sum(r[6] for r in rows) == n
    if n <= SMALL_FRAME < 2 * n:  # the same responses twice go the array way: twice the counts
        twice = month_cell_rows(frame.take(np.r_[np.arange(n), np.arange(n)]), coding, ZONE)
        doubled = {k: (2 * m, {p: 2 * c for p, c in counts.items()}) for k, (m, counts) in _decoded(rows).items()}
        assert _decoded(twice) == doubled
