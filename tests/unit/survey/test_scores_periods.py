"""Periods and requests of the scores command: the forms users type, the window of years, every field checked."""

from __future__ import annotations

import doctest
import importlib
from datetime import date

import numpy as np
import pytest

from survey.services.extract import month_codes
from survey.services.scores import ScoreParameterError, ScoreRequest, parse_period


@pytest.mark.parametrize(("text", "start", "end", "previous_start"), [
    ("2026-05", date(2026, 5, 1), date(2026, 6, 1), date(2026, 4, 1)),
    ("2026-Q1", date(2026, 1, 1), date(2026, 4, 1), date(2025, 10, 1)),
    ("2026", date(2026, 1, 1), date(2027, 1, 1), date(2025, 1, 1)),
    ("2026-01-10..2026-01-19", date(2026, 1, 10), date(2026, 1, 20), date(2025, 12, 31)),
])
def test_periods_and_their_previous_period(text, start, end, previous_start):
    period = parse_period(text)
    assert (period.start, period.end, period.previous().start, period.previous().end) == (start, end, previous_start,
                                                                                          start)
    assert period.year_earlier().start == start.replace(year=start.year - 1)


@pytest.mark.parametrize("text", ["May", "2026-13", "2026-Q5", "2026-02-30..2026-03-01", "2026-03-01..2026-02-01", ""])
def test_bad_periods_name_the_forms_allowed(text):
    with pytest.raises(ScoreParameterError) as raised:
        parse_period(text)
    assert raised.value.parameter == "period"


def test_bad_grouping_and_channel_are_refused_before_any_query():
    with pytest.raises(ScoreParameterError, match="allowed: unit, subunit, service, channel, month"):
        ScoreRequest("post-call", "2026-05", by=("province",))
    with pytest.raises(ScoreParameterError, match="allowed: call, counter, online, email, fanpage"):
        ScoreRequest("post-call", "2026-05", channel="sms")


def test_months_are_local_calendar_months():
    # 2026-04-30 17:30 UTC is already 1 May in Ha Noi (UTC+7)
    epoch = np.array([1777570200, 1777566600], dtype=np.int64)
    assert [divmod(int(m), 12) for m in month_codes(epoch, "Asia/Ho_Chi_Minh")] == [(2026, 4), (2026, 3)]


@pytest.mark.parametrize("text", ["0226-01-01..2026-12-31", "9999-12", "1999-Q4", "2101", "2026-01-01..2101-01-01",
                                  "0000-01"])
def test_periods_outside_the_years_2000_to_2100_are_refused(text):
    with pytest.raises(ScoreParameterError, match=r"period: .* lies outside the years 2000\.\.2100; use 2026-05"):
        parse_period(text)


def test_the_edges_of_the_window_are_periods():
    assert parse_period("2000-01").start == date(2000, 1, 1)
    assert parse_period("2100").end == date(2101, 1, 1)


@pytest.mark.parametrize(("changes", "parameter"), [
    ({"questionnaire": "Post Call"}, "questionnaire"),
    ({"questionnaire": ""}, "questionnaire"),
    ({"period": "2026-13"}, "period"),
    ({"unit": ""}, "unit"),
    ({"service": "HOT\x00LINE"}, "service"),
    ({"by": ("unit", "unit")}, "by"),
    ({"min_n": 0}, "min_n"),
    ({"min_n": 10**20}, "min_n"),
    ({"min_n_comments": 0}, "min_n_comments"),
    ({"min_n_comments": 1_000_001}, "min_n_comments"),
    ({"min_n_inference": 0}, "min_n_inference"),
    ({"min_n_inference": True}, "min_n_inference"),
])
def test_every_request_field_is_checked_before_any_query(changes, parameter):
    with pytest.raises(ScoreParameterError) as raised:
        ScoreRequest(**{"questionnaire": "post-call", "period": "2026-05", **changes})
    assert raised.value.parameter == parameter


def test_the_examples_in_the_docstrings_run_as_written():
    from survey.services import extract
    from survey.services.scores import contract, errors, page, periods

    methodology = importlib.import_module("survey.services.scores.methodology")  # the package exports its function
    for module in (extract, contract, errors, methodology, page, periods):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
