"""The examples in the docstrings run as written."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from scoring import (
    _common,
    comparisons,
    funnel,
    grouped,
    grouping,
    intervals,
    keys,
    measures,
    multiplicity,
    patterns,
    questions,
    reliability,
    suppression,
    trend,
    weighting,
)


@pytest.mark.parametrize(
    "module",
    [_common, comparisons, funnel, grouped, grouping, intervals, keys, measures, multiplicity, patterns, questions,
     reliability, suppression, trend, weighting],
    ids=lambda m: m.__name__,
)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
