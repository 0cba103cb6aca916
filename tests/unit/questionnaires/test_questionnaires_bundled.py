"""The questionnaires shipped with the application."""

from __future__ import annotations

import json

import pytest

from questionnaires import (
    DEFINITIONS_DIR,
    Questionnaire,
    bundled_paths,
    load_bundled,
    load_file,
    validate_file,
)
from questionnaires.model import Text

BUNDLED = load_bundled()


def test_the_three_questionnaires_are_bundled() -> None:
    assert [p.name for p in bundled_paths()] == ["counter.yaml", "online-service.yaml", "post-call.yaml"]
    assert sorted(BUNDLED) == ["counter", "online-service", "post-call"]
    assert all(p.parent == DEFINITIONS_DIR for p in bundled_paths())


@pytest.mark.parametrize("path", bundled_paths(), ids=lambda p: p.name)
def test_bundled_file_has_no_problem(path: object) -> None:
    assert [str(p) for p in validate_file(path)] == []  # type: ignore[arg-type]


def _texts(q: Questionnaire) -> list[Text]:
    texts: list[Text] = [q.title, q.intro, *(c.title for c in q.criteria)]
    for question in q.questions:
        texts.append(question.text)
        if question.help is not None:
            texts.append(question.help)
        texts.extend(o.label for o in question.options)
    return texts


@pytest.mark.parametrize("qid", sorted(BUNDLED))
def test_every_text_is_in_vietnamese_and_english(qid: str) -> None:
    q = BUNDLED[qid]
    assert q.languages == ("vi", "en")
    assert q.default_language == "vi"
    for text in _texts(q):
        assert set(text) == {"vi", "en"}
        assert all(v.strip() for v in text.values())
    for question in q.questions:
        if question.scale is not None and question.scale.labels:
            labels = question.scale.labels
            assert set(labels) == {"vi", "en"}, question.id
            assert set(labels["vi"]) == set(labels["en"]) <= set(question.scale.points), question.id


@pytest.mark.parametrize("qid", sorted(BUNDLED))
def test_vietnamese_texts_carry_diacritics(qid: str) -> None:
    q = BUNDLED[qid]
    # An unaccented rendering is for SMS only; on the page every question reads in proper Vietnamese.
    for question in q.questions:
        assert any(ord(ch) > 127 for ch in question.text["vi"]), question.id


@pytest.mark.parametrize("qid", sorted(BUNDLED))
def test_pages_are_short_and_open_a_follow_up_on_a_low_overall_score(qid: str) -> None:
    q = BUNDLED[qid]
    assert len(q.pages) >= 2
    assert all(len(q.questions_on(page)) <= 5 for page in q.pages)
    assert q.follow_up is not None
    assert q.follow_up.due_working_hours == 1
    assert q.follow_up.triggered_by({"overall": 2}) == ("overall = 2 (at most 2)",)
    assert q.follow_up.triggered_by({"overall": 3}) == ()


@pytest.mark.parametrize("qid", sorted(BUNDLED))
def test_checksum_is_stable_and_survives_a_round_trip_through_json(qid: str) -> None:
    q = BUNDLED[qid]
    again = load_file(DEFINITIONS_DIR / f"{qid}.yaml")
    assert again.checksum == q.checksum  # the source (a path) does not count
    assert len(q.checksum) == 64
    stored = json.loads(json.dumps(q.to_dict()))
    rebuilt = Questionnaire.from_dict(stored)
    assert rebuilt == q
    assert rebuilt.checksum == q.checksum
    assert rebuilt.to_dict() == q.to_dict()


def test_a_change_in_wording_changes_the_checksum() -> None:
    q = BUNDLED["counter"]
    d = q.to_dict()
    d["questions"][0]["text"]["en"] += "!"
    assert Questionnaire.from_dict(d).checksum != q.checksum


def test_post_call_follows_up_an_unresolved_issue() -> None:
    rule = BUNDLED["post-call"].follow_up
    assert rule is not None
    assert rule.triggered_by({"overall": 1, "resolved": "no"}) == (
        "overall = 1 (at most 2)",
        "resolved = no (equals no)",
    )
    assert rule.triggered_by({"overall": 4, "resolved": "partly"}) == ()


def test_counter_measures_the_five_sipas_elements() -> None:
    q = BUNDLED["counter"]
    assert [c.title["vi"] for c in q.criteria] == [
        "Tiếp cận dịch vụ",
        "Thủ tục hành chính",
        "Công chức trực tiếp giải quyết",
        "Kết quả giải quyết",
        "Tiếp nhận, xử lý góp ý, phản ánh, kiến nghị",
    ]
    assert all(2 <= len(q.questions_of(c.id)) <= 3 for c in q.criteria)
    assert q.index is not None
    assert (q.index.formula, q.index.target) == ("mean_satisfied_share", 80)


def test_online_service_asks_for_customer_effort_on_seven_points() -> None:
    effort = BUNDLED["online-service"].question("effort")
    assert effort.type == "ces"
    assert effort.scale is not None
    assert effort.scale.points == (1, 2, 3, 4, 5, 6, 7)
    rule = BUNDLED["online-service"].follow_up
    assert rule is not None
    assert rule.triggered_by({"overall": 5, "wrong_info": "yes"}) == ("wrong_info = yes (equals yes)",)
