"""The questionnaires shipped with the application."""

from __future__ import annotations

import json
from dataclasses import replace

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


# The checksums of the published versions (SHA-256 of the canonical JSON): they must never change, or
# publishing the bundled definitions again would conflict with what the database holds.
PUBLISHED_CHECKSUMS = {
    ("counter", 1): "3b23e60162ae6b0559d876b6a0ab8d4f95ffbb1291836e9d96800fe0d8981ad8",
    ("online-service", 1): "ca8ab63f7fa48d3151803fd6f055484f264b7b0cec4859c3459b77025f08ecba",
    ("post-call", 1): "eec03bdae3f780ccb0227a92d12061dce4391713dcead93e7d18e2c1043fab3a",
}


@pytest.mark.parametrize("qid", ["online-service", "post-call"])
def test_questionnaires_without_in_index_keep_their_published_checksum(qid: str) -> None:
    q = BUNDLED[qid]
    assert all(c.in_index == "required" for c in q.criteria)
    assert all("in_index" not in c for c in q.to_dict()["criteria"])
    assert q.checksum == PUBLISHED_CHECKSUMS[(qid, q.version)]


def test_counter_version_2_counts_feedback_only_where_it_was_answered() -> None:
    q = BUNDLED["counter"]
    assert q.version == 2
    assert {c.id: c.in_index for c in q.criteria} == {
        "access": "required",
        "procedure": "required",
        "civil_servant": "required",
        "result": "required",
        "feedback": "when_answered",
    }
    # The feedback questions are only shown to those who gave feedback: that is why it may be missing.
    assert all(question.show_if is not None for question in q.questions_of("feedback"))
    assert [c.get("in_index") for c in q.to_dict()["criteria"]] == [None, None, None, None, "when_answered"]


def test_counter_version_2_asks_the_questions_of_version_1_whose_checksum_is_unchanged() -> None:
    q = BUNDLED["counter"]
    # Version 1 was the same definition with every criterion required: rebuilt so, it has its published checksum.
    version_1 = replace(q, version=1, criteria=tuple(replace(c, in_index="required") for c in q.criteria))
    assert version_1.checksum == PUBLISHED_CHECKSUMS[("counter", 1)]
    assert q.checksum != version_1.checksum
