"""Conditions and follow-up rules as the quality team sees them; the weighting a questionnaire declares."""

from __future__ import annotations

import hashlib
import json

import pytest

from questionnaires import AnswerValue, Condition, Criterion, FollowUpRule, Questionnaire, Scale, load_bundled
from questionnaires.model import INDEX_COVERAGE, Weighting

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


def test_weighting_defaults_to_channel_by_service_and_round_trips() -> None:
    assert Weighting().by == ("channel", "service")
    assert Weighting.from_dict({}) == Weighting()
    for weighting in (Weighting(), Weighting(("service",)), Weighting(("service", "channel"))):
        assert Weighting.from_dict(json.loads(json.dumps(weighting.to_dict()))) == weighting


@pytest.mark.parametrize("by", [(), ("channel", "channel"), ("unit",)])
def test_weighting_refuses_cells_that_cannot_be_weighted(by: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="Weighting.by must name one or both of channel, service, each once"):
        Weighting(by)  # type: ignore[arg-type]


def test_a_questionnaire_stored_before_weighting_existed_still_loads_with_its_checksum() -> None:
    q = load_bundled()["counter"]
    assert q.weighting is None
    stored = q.to_dict()
    del stored["weighting"]  # JSON stored before the key existed
    old = Questionnaire.from_dict(stored)
    assert old == q
    # The checksum of a published version must not change under it, or publishing it again would conflict.
    del stored["source"]
    canonical = json.dumps(stored, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert old.checksum == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_a_declared_weighting_is_part_of_the_stored_definition() -> None:
    q = Questionnaire.from_dict(load_bundled()["counter"].to_dict() | {"weighting": {"by": ["channel"]}})
    assert q.weighting == Weighting(("channel",))
    assert q.to_dict()["weighting"] == {"by": ["channel"]}
    assert q.checksum != load_bundled()["counter"].checksum


def test_a_criterion_is_required_in_the_index_unless_it_says_otherwise() -> None:
    assert INDEX_COVERAGE == ("required", "when_answered")
    required = Criterion("access", {"en": "Access"}, 4)
    assert required.in_index == "required"
    assert "in_index" not in required.to_dict()  # JSON stored before the key existed reads the same
    assert Criterion.from_dict(required.to_dict()) == required
    feedback = Criterion("feedback", {"en": "Feedback"}, 4, in_index="when_answered")
    assert feedback.to_dict()["in_index"] == "when_answered"
    assert Criterion.from_dict(json.loads(json.dumps(feedback.to_dict()))) == feedback


def test_a_criterion_refuses_an_unknown_in_index() -> None:
    with pytest.raises(ValueError, match="Criterion.in_index must be one of required, when_answered, got 'sometimes'"):
        Criterion("access", {"en": "Access"}, 4, in_index="sometimes")  # type: ignore[arg-type]
