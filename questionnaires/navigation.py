"""Moving through a questionnaire's pages: skip logic applied on the server, where a posted page leads.

Pure: the questionnaire, the answers stored so far and the posted form in, a :class:`PageStep` out.

Example::

    step = plan_page(questionnaire, stored={}, form={"overall": ["4"]}, page=1, language="vi")
    step.page, step.complete, step.errors  # the page to show next, whether the response is finished, problems
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from questionnaires.answers import parse_answers, visible_pages, visible_questions
from questionnaires.model import AnswerValue, Questionnaire

__all__ = ["PageStep", "as_form", "plan_page", "resume_page"]


@dataclass(frozen=True)
class PageStep:
    """What a posted page leads to.

    With ``errors``, ``page`` is shown again (with the answers given). Otherwise ``save`` is stored
    (replacing the answers of ``replace``; ``None``: all answers) and ``page`` is shown next, or,
    when ``complete``, the response is finished with ``answers``.
    """

    page: int
    answers: dict[str, AnswerValue]
    save: dict[str, AnswerValue]
    replace: tuple[str, ...] | None
    errors: dict[str, str] = field(default_factory=dict)
    complete: bool = False


def as_form(answers: Mapping[str, AnswerValue]) -> dict[str, list[str]]:
    """Answers back in the form they are posted (``{question_id: [values]}``).

    >>> as_form({"overall": 4, "reasons": ("wait", "staff")})
    {'overall': ['4'], 'reasons': ['wait', 'staff']}
    """
    return {k: [str(x) for x in v] if isinstance(v, tuple) else [str(v)] for k, v in answers.items()}


def resume_page(questionnaire: Questionnaire, answers: Mapping[str, AnswerValue], page: int | None) -> int:
    """The page to show: ``page`` if it is still shown given the answers, else the first shown page."""
    pages = visible_pages(questionnaire, answers) or questionnaire.pages
    if page in pages:
        return page
    earlier = [p for p in pages if page is not None and p < page]
    return earlier[-1] if earlier else pages[0]


def plan_page(
    questionnaire: Questionnaire,
    stored: Mapping[str, AnswerValue],
    form: Mapping[str, list[str]],
    page: int,
    language: str,
    action: str = "next",
) -> PageStep:
    """Read a posted page (skip logic applied on the server) and decide where the person goes.

    ``action`` is ``next``/``submit`` (check the page, move on or finish) or ``back`` (keep the
    valid answers of the page without requiring anything, and go to the previous shown page).
    """
    page = resume_page(questionnaire, stored, page)
    on_page = tuple(x.id for x in questionnaire.questions_on(page))
    previous = {k: v for k, v in stored.items() if k not in on_page}
    check = parse_answers(questionnaire, form, page, language, previous)
    merged = {**previous, **check.values}
    shown_pages = visible_pages(questionnaire, merged)
    if action == "back":
        earlier = [p for p in shown_pages if p < page]
        return PageStep(earlier[-1] if earlier else page, merged, check.values, on_page)
    if not check.ok:
        return PageStep(page, merged, {}, (), errors=check.errors)
    later = [p for p in shown_pages if p > page]
    if later:
        return PageStep(later[0], merged, check.values, on_page)
    shown = visible_questions(questionnaire, merged)
    final = {x.id: merged[x.id] for x in shown if x.id in merged}
    # an earlier page may lack a required answer (a changed answer can reveal a question): send the person there
    missing = parse_answers(questionnaire, as_form(final), None, language)
    if not missing.ok:
        first = min(questionnaire.question(q).page for q in missing.errors)
        errors = {q: e for q, e in missing.errors.items() if questionnaire.question(q).page == first}
        return PageStep(first, merged, check.values, on_page, errors=errors)
    return PageStep(page, final, final, None, complete=True)
