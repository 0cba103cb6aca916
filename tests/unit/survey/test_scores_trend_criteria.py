"""Which criteria a group's monthly index uses: the same in every month, so a trend compares like with like."""

from __future__ import annotations

import numpy as np
import pytest

from survey.services.scores.group_tests import trend_index_criteria

MIN_N = 30
# criteria: access (required), result (required), feedback (when answered)
REQUIRED = np.array([True, True, False])


@pytest.mark.parametrize(("months", "covered", "expected"), [
    # feedback reaches 30 in every month the required criteria do: it stays in every month's index
    ([[40, 40, 35], [50, 50, 31], [45, 45, 30]], [True, True, True], [True, True, True]),
    # feedback falls short in one tested month: left out of every month, not only that one
    ([[40, 40, 35], [50, 50, 12], [45, 45, 30]], [True, True, True], [True, True, False]),
    # a month where a required criterion is short is not tested, so feedback's shortfall there does not count
    ([[40, 40, 35], [20, 20, 3], [45, 45, 30]], [True, True, True], [True, True, True]),
    # the group's period index did not cover feedback: neither does its trend
    ([[40, 40, 35], [50, 50, 31], [45, 45, 30]], [True, True, False], [True, True, False]),
    # no month is tested: only the required criteria (the trend is suppressed anyway)
    ([[10, 10, 35], [5, 5, 31], [8, 8, 30]], [False, False, True], [True, True, False]),
])
def test_the_monthly_index_uses_the_same_criteria_in_every_month(months, covered, expected):
    n_months = np.array([months])  # one group: [group, month, criterion]
    mask = trend_index_criteria(n_months, REQUIRED, np.array([covered]), MIN_N)
    assert mask.tolist() == [expected]
