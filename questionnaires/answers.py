"""Answers: skip logic, parsing of the survey form, and the storage form of each answer.

The server applies the skip logic, so a page works without JavaScript on a cheap phone:

>>> from questionnaires import load_bundled
>>> counter = load_bundled()["counter"]
>>> check = parse_answers(counter, {"overall": ["9"]}, page=None, language="en")
>>> check.errors["overall"]
'Please choose a number from 1 to 5.'
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from questionnaires.model import AnswerValue, Question, Questionnaire

__all__ = [
    "MESSAGES",
    "AnswerCheck",
    "from_storage",
    "parse_answers",
    "to_storage",
    "visible_pages",
    "visible_questions",
]

MULTI_SEPARATOR = ";"

MESSAGES: Mapping[str, Mapping[str, str]] = {
    "vi": {
        "required": "Vui lòng trả lời câu hỏi này.",
        "number": "Vui lòng chọn một số từ {min} đến {max}.",
        "one_value": "Vui lòng chỉ chọn một câu trả lời.",
        "option": "Vui lòng chọn một trong các phương án đã cho.",
        "too_long": "Vui lòng viết không quá {limit} ký tự (bạn đã viết {length} ký tự).",
    },
    "en": {
        "required": "Please answer this question.",
        "number": "Please choose a number from {min} to {max}.",
        "one_value": "Please choose only one answer.",
        "option": "Please choose one of the options offered.",
        "too_long": "Please keep your answer to at most {limit} characters (you wrote {length}).",
    },
}
"""Error messages shown beside a question, per language."""


@dataclass(frozen=True)
class AnswerCheck:
    """The outcome of reading one submitted page: valid ``values`` and ``errors`` by question id.

    ``ok`` is true when there is nothing to show the respondent again.
    """

    values: dict[str, AnswerValue] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _visible(q: Questionnaire, answers: Mapping[str, AnswerValue]) -> dict[str, bool]:
    """Visibility of every question in order; a condition on a hidden question never holds."""
    shown: dict[str, bool] = {}
    counted: dict[str, AnswerValue] = {}
    for question in q.questions:
        condition = question.show_if
        visible = condition is None or (shown.get(condition.question, False) and condition.holds(counted))
        shown[question.id] = visible
        if visible and question.id in answers:
            counted[question.id] = answers[question.id]
    return shown


def visible_questions(
    q: Questionnaire, answers: Mapping[str, AnswerValue], page: int | None = None
) -> tuple[Question, ...]:
    """The questions to show given the answers so far, on one page or (``page=None``) on all.

    A question is hidden when its ``show_if`` does not hold, or when it refers to a hidden
    question (whose answer, if any, no longer counts).
    """
    shown = _visible(q, answers)
    return tuple(x for x in q.questions if shown[x.id] and (page is None or x.page == page))


def visible_pages(q: Questionnaire, answers: Mapping[str, AnswerValue]) -> tuple[int, ...]:
    """The pages that still have a visible question; a page whose questions are all hidden is skipped."""
    return tuple(sorted({x.page for x in visible_questions(q, answers)}))


def parse_answers(
    q: Questionnaire,
    form: Mapping[str, list[str]],
    page: int | None,
    language: str,
    previous: Mapping[str, AnswerValue] | None = None,
) -> AnswerCheck:
    """Read raw form data (field name = question id, values as strings) for one page or all pages.

    ``previous`` holds the answers of earlier pages, so that skip logic can look back. Only the
    questions of ``page`` that are visible get values or errors; answers to hidden questions are
    dropped and ``required`` applies only to visible questions. Error messages are in
    ``language`` (vi or en; others fall back to English).
    """
    messages = MESSAGES.get(language, MESSAGES["en"])
    previous = previous or {}
    values: dict[str, AnswerValue] = {}
    errors: dict[str, str] = {}
    shown: dict[str, bool] = {}
    counted: dict[str, AnswerValue] = {}
    for question in q.questions:
        condition = question.show_if
        visible = condition is None or (shown.get(condition.question, False) and condition.holds(counted))
        shown[question.id] = visible
        if not visible:
            continue
        if page is not None and question.page != page:
            if question.id in previous:
                counted[question.id] = previous[question.id]
            continue
        value, error = _parse_one(question, form.get(question.id, []), messages)
        if error is not None:
            errors[question.id] = error
        elif value is not None:
            values[question.id] = value
            counted[question.id] = value
    return AnswerCheck(values, errors)


def _parse_one(
    question: Question, raw: list[str], messages: Mapping[str, str]
) -> tuple[AnswerValue | None, str | None]:
    given = [v.strip() for v in raw if v.strip()]
    if not given:
        return None, (messages["required"] if question.required else None)
    if question.type == "multi":
        allowed = question.option_values
        if any(v not in allowed for v in given):
            return None, messages["option"]
        return tuple(v for v in allowed if v in given), None  # in the order offered, without repeats
    if len(set(given)) > 1:
        return None, messages["one_value"]
    value = given[0]
    if question.scale is not None:
        scale = question.scale
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or number not in scale:
            return None, messages["number"].format(min=scale.min, max=scale.max)
        return number, None
    if question.type == "single":
        if value not in question.option_values:
            return None, messages["option"]
        return value, None
    # Free text: one form of each Vietnamese letter, and a line break counts as one character as the browser shows it.
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n"))
    limit = question.max_length
    if limit is not None and len(text) > limit:
        return None, messages["too_long"].format(limit=limit, length=len(text))
    return text, None


def to_storage(question: Question, value: AnswerValue) -> tuple[float | None, str | None]:
    """The ``(number, text)`` columns of an answer: rating, nps, ces → number; single, text → text;
    multi → the option values joined with ``;``.

    >>> from questionnaires.model import Question
    >>> to_storage(Question("channel", "multi", {"en": "Channels"}), ("hotline", "portal"))
    (None, 'hotline;portal')
    """
    if question.type in ("rating", "nps", "ces"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"question {question.id!r} ({question.type}) takes an int, got {value!r}")
        return float(value), None
    if question.type == "multi":
        if not isinstance(value, tuple):
            raise TypeError(f"question {question.id!r} (multi) takes a tuple of option values, got {value!r}")
        return None, MULTI_SEPARATOR.join(value)
    if not isinstance(value, str):
        raise TypeError(f"question {question.id!r} ({question.type}) takes a str, got {value!r}")
    return None, value


def from_storage(question: Question, number: float | None, text: str | None) -> AnswerValue:
    """The answer back from its ``(number, text)`` columns; the inverse of :func:`to_storage`."""
    if question.type in ("rating", "nps", "ces"):
        if number is None:
            raise ValueError(f"question {question.id!r} ({question.type}) is stored as a number, got none")
        return int(number)
    if text is None:
        raise ValueError(f"question {question.id!r} ({question.type}) is stored as text, got none")
    if question.type == "multi":
        return tuple(text.split(MULTI_SEPARATOR)) if text else ()
    return text
