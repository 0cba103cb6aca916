"""Groups by key columns place every row in the group with its keys, with a dense table or sorted keys alike."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.keys import DIRECT_KEY_CELLS, group_keys


def expected_codes(columns: list[np.ndarray], selected: np.ndarray, rows: np.ndarray) -> tuple[list, list[int]]:
    """The groups by a dictionary of key tuples, one row at a time."""
    tuples = list(zip(*(c.tolist() for c in columns), strict=True))
    keys = sorted({t for t, s in zip(tuples, selected.tolist(), strict=True) if s})
    index = {k: i for i, k in enumerate(keys)}
    codes = [index.get(t, len(keys)) if r else len(keys) for t, r in zip(tuples, rows.tolist(), strict=True)]
    return [list(k) for k in keys], codes


@pytest.mark.parametrize("spread", [5, DIRECT_KEY_CELLS * 2], ids=["dense table", "sorted keys"])
def test_rows_land_in_the_group_of_their_keys(spread: int) -> None:
    rng = np.random.default_rng(8)
    unit = rng.integers(-1, spread, 2_000)
    month = rng.integers(0, 13, 2_000)
    selected, later = rng.random(2_000) < 0.6, rng.random(2_000) < 0.5
    groups = group_keys([unit, month], selected)
    keys, codes = expected_codes([unit, month], selected, later)
    assert groups.keys.tolist() == keys
    assert groups.n_groups == len(keys)
    assert groups.codes(later).tolist() == codes


def test_other_rows_are_located_by_their_keys_and_unknown_keys_in_no_group() -> None:
    groups = group_keys([np.array([3, 3, 5]), np.array([0, 1, 0])], np.array([True, True, True]))
    located = groups.locate(np.array([[5, 0], [3, 1], [4, 0], [-7, 0], [3, 99]]))
    assert located.tolist() == [2, 1, 3, 3, 3]


def test_without_key_columns_every_row_is_in_the_one_group() -> None:
    groups = group_keys([], np.array([True, False, True]))
    assert groups.n_groups == 1
    assert groups.codes(np.array([True, True, False])).tolist() == [0, 0, 1]
    assert groups.locate(np.zeros((4, 0), dtype=np.int64)).tolist() == [0, 0, 0, 0]
