"""Conditions and follow-up rules as the quality team sees them."""

from __future__ import annotations

import pytest

from questionnaires import AnswerValue, Condition, FollowUpRule, Scale

ANSWERS: dict[str, AnswerValue] = {"overall": 2, "resolved": "no", "channels": ("hotline", "vssid"), "comment": "Chậm"}


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        (Condition("overall", "in", (1, 2)), True),
        (Condition("overall", "in", (4, 5)), False),
        (Condition("overall", "at_most", 2), True),
        (Condition("overall", "at_most", 1), False),
        (Condition("overall", "at_least", 2), True),
        (Condition("overall", "at_least", 3), False),
        (Condition("overall", "equals", 2), True),
        (Condition("resolved", "equals", "no"), True),
        (Condition("resolved", "in", ("no", "partly")), True),
        (Condition("resolved", "at_most", 2), False),
        (Condition("channels", "equals", "vssid"), True),
        (Condition("channels", "in", ("portal",)), False),
        (Condition("comment", "answered", True), True),
        (Condition("comment", "answered", False), False),
        (Condition("recommend", "answered", False), True),
        (Condition("recommend", "answered", True), False),
        (Condition("recommend", "at_most", 6), False),
        (Condition("recommend", "in", (0, 1)), False),
        (Condition("recommend", "equals", 0), False),
    ],
)
def test_condition(condition: Condition, holds: bool) -> None:
    assert condition.holds(ANSWERS) is holds


def test_an_empty_answer_counts_as_unanswered() -> None:
    assert Condition("comment", "answered", False).holds({"comment": ""})
    assert Condition("channels", "answered", False).holds({"channels": ()})


def test_follow_up_reasons_read_like_sentences() -> None:
    rule = FollowUpRule(
        (
            Condition("overall", "at_most", 2),
            Condition("resolved", "in", ("no", "partly")),
            Condition("comment", "answered", True),
            Condition("channels", "equals", "vssid"),
        ),
        due_working_hours=1,
    )
    assert rule.triggered_by(ANSWERS) == (
        "overall = 2 (at most 2)",
        "resolved = no (one of no, partly)",
        "comment (answered)",
        "channels = hotline, vssid (equals vssid)",
    )
    assert rule.triggered_by({"overall": 5, "resolved": "yes"}) == ()


def test_scale_points() -> None:
    assert Scale(0, 10).points == tuple(range(11))
    assert 3 in Scale(1, 5)
    assert 6 not in Scale(1, 5)
    assert True not in Scale(0, 1)
