"""Skip logic, parsing of the survey form, storage of answers."""

from __future__ import annotations

import pytest

from questionnaires import (
    AnswerValue,
    Question,
    from_storage,
    load_bundled,
    load_text,
    parse_answers,
    to_storage,
    visible_pages,
    visible_questions,
)

COUNTER = load_bundled()["counter"]
ONLINE = load_bundled()["online-service"]

# Chained skip logic: detail depends on reason, which depends on overall.
CHAINED = load_text(
    """
id: chained
version: 1
languages: [vi, en]
title: {vi: "Khảo sát", en: "Survey"}
intro: {vi: "Xin chào", en: "Hello"}
questions:
  - id: overall
    type: rating
    required: true
    text: {vi: "Hài lòng?", en: "Satisfied?"}
    scale: {min: 1, max: 5}
  - id: reason
    type: multi
    required: true
    show_if: {question: overall, in: [1, 2]}
    text: {vi: "Vì sao?", en: "Why?"}
    options:
      - {value: wait, label: {vi: "Chờ lâu", en: "Long wait"}}
      - {value: rude, label: {vi: "Thái độ", en: "Manner"}}
      - {value: other, label: {vi: "Khác", en: "Other"}}
  - id: detail
    type: text
    page: 2
    required: true
    max_length: 20
    show_if: {question: reason, equals: other}
    text: {vi: "Chi tiết", en: "Details"}
  - id: recommend
    type: nps
    page: 2
    show_if: {question: overall, at_least: 4}
    text: {vi: "Giới thiệu?", en: "Recommend?"}
"""
)


def ids(questions: tuple[Question, ...]) -> list[str]:
    return [q.id for q in questions]


# -- skip logic ---------------------------------------------------------------------------------


def test_feedback_items_appear_only_for_people_who_gave_feedback() -> None:
    page3 = ids(visible_questions(COUNTER, {"complained": "no"}, page=3))
    assert page3 == ["overall", "comment"]
    page3 = ids(visible_questions(COUNTER, {"complained": "yes"}, page=3))
    assert page3 == ["feedback_easy", "feedback_handled", "overall", "comment"]
    assert ids(visible_questions(COUNTER, {}, page=3)) == ["overall", "comment"]


def test_a_condition_on_a_hidden_question_hides_its_dependants() -> None:
    happy_with_stale_reason: dict[str, AnswerValue] = {"overall": 5, "reason": ("other",)}
    assert ids(visible_questions(CHAINED, happy_with_stale_reason)) == ["overall", "recommend"]
    unhappy: dict[str, AnswerValue] = {"overall": 1, "reason": ("other",)}
    assert ids(visible_questions(CHAINED, unhappy)) == ["overall", "reason", "detail"]


def test_a_page_with_nothing_to_show_is_skipped() -> None:
    assert visible_pages(ONLINE, {"wrong_info": "no"}) == (1, 2, 3)
    assert visible_pages(CHAINED, {"overall": 3}) == (1,)
    assert visible_pages(CHAINED, {"overall": 5}) == (1, 2)


# -- parsing the form ---------------------------------------------------------------------------


def test_required_applies_only_to_visible_questions() -> None:
    check = parse_answers(CHAINED, {"overall": ["5"]}, page=1, language="en")
    assert check.ok
    assert check.values == {"overall": 5}
    check = parse_answers(CHAINED, {"overall": ["2"]}, page=1, language="en")
    assert check.errors == {"reason": "Please answer this question."}
    assert check.values == {"overall": 2}


def test_answers_to_hidden_questions_are_dropped() -> None:
    form = {"overall": ["5"], "reason": ["rude"], "detail": ["tampered"], "recommend": ["9"]}
    check = parse_answers(CHAINED, form, page=None, language="vi")
    assert check.ok
    assert check.values == {"overall": 5, "recommend": 9}


def test_later_pages_see_earlier_answers_through_previous() -> None:
    previous: dict[str, AnswerValue] = {"overall": 1, "reason": ("other", "wait")}
    check = parse_answers(CHAINED, {}, page=2, language="vi", previous=previous)
    assert check.errors == {"detail": "Vui lòng trả lời câu hỏi này."}
    check = parse_answers(
        CHAINED, {"detail": ["Xếp hàng"], "recommend": ["10"]}, page=2, language="vi", previous=previous
    )
    assert check.ok
    assert check.values == {"detail": "Xếp hàng"}  # recommend is hidden for an unhappy respondent


def test_a_stale_previous_answer_to_a_hidden_question_does_not_count() -> None:
    previous: dict[str, AnswerValue] = {"overall": 5, "reason": ("other",)}
    check = parse_answers(CHAINED, {"detail": ["x"], "recommend": ["8"]}, page=2, language="en", previous=previous)
    assert check.ok
    assert check.values == {"recommend": 8}


def test_questions_of_other_pages_are_ignored() -> None:
    check = parse_answers(CHAINED, {"overall": ["4"], "recommend": ["7"]}, page=1, language="en")
    assert check.values == {"overall": 4}


@pytest.mark.parametrize(
    ("form", "language", "error"),
    [
        ({"overall": [""]}, "vi", "Vui lòng trả lời câu hỏi này."),
        ({"overall": [" "]}, "en", "Please answer this question."),
        ({"overall": ["6"]}, "vi", "Vui lòng chọn một số từ 1 đến 5."),
        ({"overall": ["0"]}, "en", "Please choose a number from 1 to 5."),
        ({"overall": ["four"]}, "en", "Please choose a number from 1 to 5."),
        ({"overall": ["3", "4"]}, "vi", "Vui lòng chỉ chọn một câu trả lời."),
        ({"overall": ["3", "4"]}, "en", "Please choose only one answer."),
    ],
)
def test_rating_errors_in_the_respondents_language(form: dict[str, list[str]], language: str, error: str) -> None:
    check = parse_answers(CHAINED, form, page=1, language=language)
    assert check.errors == {"overall": error}
    assert check.values == {}


def test_unknown_options_are_refused() -> None:
    check = parse_answers(CHAINED, {"overall": ["1"], "reason": ["wait", "bribe"]}, page=1, language="vi")
    assert check.errors == {"reason": "Vui lòng chọn một trong các phương án đã cho."}
    check = parse_answers(COUNTER, {"complained": ["maybe"]}, page=2, language="en")
    assert check.errors == {"complained": "Please choose one of the options offered."}


def test_multi_answers_keep_the_offered_order_without_repeats() -> None:
    check = parse_answers(CHAINED, {"overall": ["2"], "reason": ["other", "wait", "other"]}, page=1, language="en")
    assert check.values == {"overall": 2, "reason": ("wait", "other")}


def test_too_long_a_text_names_the_limit() -> None:
    previous: dict[str, AnswerValue] = {"overall": 1, "reason": ("other",)}
    form = {"detail": ["x" * 21]}
    vi = parse_answers(CHAINED, form, page=2, language="vi", previous=previous)
    assert vi.errors == {"detail": "Vui lòng viết không quá 20 ký tự (bạn đã viết 21 ký tự)."}
    en = parse_answers(CHAINED, form, page=2, language="en", previous=previous)
    assert en.errors == {"detail": "Please keep your answer to at most 20 characters (you wrote 21)."}


def test_text_is_counted_as_the_respondent_sees_it() -> None:
    previous: dict[str, AnswerValue] = {"overall": 1, "reason": ("other",)}
    decomposed = "Chờ lâu quá\r\nthật".replace("ờ", "ơ\u0300").replace("â", "a\u0302")  # as some keyboards send it
    check = parse_answers(CHAINED, {"detail": [decomposed]}, page=2, language="vi", previous=previous)
    assert check.values == {"detail": "Chờ lâu quá\nthật"}


def test_an_unknown_language_falls_back_to_english() -> None:
    check = parse_answers(CHAINED, {}, page=1, language="fr")
    assert check.errors == {"overall": "Please answer this question."}


def test_a_whole_counter_survey_on_one_form() -> None:
    form = {q.id: ["4"] for q in COUNTER.questions if q.type == "rating"}
    form |= {"complained": ["no"], "comment": ["  Cán bộ rất nhiệt tình.  "]}
    check = parse_answers(COUNTER, form, page=None, language="vi")
    assert check.ok
    assert "feedback_easy" not in check.values
    assert check.values["comment"] == "Cán bộ rất nhiệt tình."
    assert check.values["overall"] == 4


# -- storage ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question_id", "value", "stored"),
    [
        ("overall", 2, (2.0, None)),
        ("recommend", 0, (0.0, None)),
        ("reason", ("wait", "other"), (None, "wait;other")),
        ("reason", (), (None, "")),
        ("detail", "Chờ lâu; nhân viên vắng", (None, "Chờ lâu; nhân viên vắng")),
    ],
)
def test_storage_round_trip(question_id: str, value: AnswerValue, stored: tuple[float | None, str | None]) -> None:
    question = CHAINED.question(question_id)
    assert to_storage(question, value) == stored
    assert from_storage(question, *stored) == value


def test_single_answers_are_stored_as_text() -> None:
    question = COUNTER.question("complained")
    assert to_storage(question, "yes") == (None, "yes")
    assert from_storage(question, None, "yes") == "yes"


def test_storage_refuses_a_value_of_the_wrong_kind() -> None:
    with pytest.raises(TypeError):
        to_storage(CHAINED.question("overall"), "5")
    with pytest.raises(TypeError):
        to_storage(CHAINED.question("reason"), "wait")
    with pytest.raises(ValueError, match="stored as a number"):
        from_storage(CHAINED.question("overall"), None, "5")
