"""What a member of staff may read of the responses: the recent ones of their scope, and one in full.

Every query is limited to the reader's unit subtree (``survey.services.accounts.can_see``).

>>> excerpt("Nhân viên   rất nhiệt tình,\\nhướng dẫn rõ ràng", 20)
'Nhân viên rất…'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from questionnaires.answers import from_storage
from questionnaires.model import Question, Text, format_answer
from survey.i18n import pick
from survey.services.accounts import StaffIdentity, can_see, scope_prefix, unit_columns
from survey.services.questionnaires import QuestionnaireVersions, get_version
from survey.tables import Answer, FollowUp, FollowUpStatus, Response, ResponseStatus

__all__ = [
    "AnswerLine",
    "RecentResponses",
    "ResponseDetail",
    "ResponseSummary",
    "excerpt",
    "recent_responses",
    "response_detail",
]


OPEN_FOLLOW_UP_STATUSES = (FollowUpStatus.open.value, FollowUpStatus.in_progress.value)
OVERALL_QUESTION = "overall"
COMMENT_QUESTION = "comment"
COMMENT_EXCERPT_LENGTH = 120


@dataclass(frozen=True)
class ResponseSummary:
    """One complete response as a line of the recent responses list."""

    id: int
    submitted_at: datetime | None
    unit_code: str
    unit_name: Text
    service_name: Text | None
    questionnaire_key: str
    questionnaire_title: Text
    channel: str
    trust: str
    overall: float | None
    comment_excerpt: str | None
    follow_up_open: bool


@dataclass(frozen=True)
class RecentResponses:
    """A page of the most recent complete responses in a user's scope, newest first."""

    rows: tuple[ResponseSummary, ...]
    page: int
    per_page: int
    has_next: bool
    open_follow_ups: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1


@dataclass(frozen=True)
class AnswerLine:
    """One answer with the text of its question, both in the reader's language."""

    question_id: str
    question: str
    answer: str


@dataclass(frozen=True)
class ResponseDetail:
    """One response with every answer, in questionnaire order."""

    summary: ResponseSummary
    language: str
    started_at: datetime | None
    answers: tuple[AnswerLine, ...]


def excerpt(text: str | None, length: int = COMMENT_EXCERPT_LENGTH) -> str | None:
    """The start of ``text`` on one line, cut at a word with '…' when longer than ``length``.

    >>> excerpt("Nhân viên   rất nhiệt tình,\\nhướng dẫn rõ ràng", 20)
    'Nhân viên rất…'
    """
    if text is None or not text.strip():
        return None
    flat = " ".join(text.split())
    if len(flat) <= length:
        return flat
    cut = flat[: length - 1].rsplit(" ", 1)[0] or flat[: length - 1]
    return cut.rstrip(" ,.;:") + "…"


def _scoped(identity: StaffIdentity) -> str:
    # the subtree as a LIKE pattern; unit paths are made of unit codes and '/' (see survey.reference)
    return scope_prefix(identity) + "%"


def _summary_columns() -> list[Any]:
    return [
        Response.id, Response.submitted_at, Response.started_at, Response.channel, Response.trust, Response.language,
        Response.questionnaire.id.as_alias("questionnaire_id"),
        Response.questionnaire.key.as_alias("questionnaire_key"),
        *unit_columns(Response.unit),
        Response.service.name_vi.as_alias("service_name_vi"), Response.service.name_en.as_alias("service_name_en"),
    ]


async def _summaries(identity: StaffIdentity, rows: list[dict[str, Any]],
                     versions: QuestionnaireVersions | None) -> list[ResponseSummary]:
    ids = [row["id"] for row in rows]
    overall: dict[int, float | None] = {}
    comments: dict[int, str | None] = {}
    open_cases: set[int] = set()
    if ids:
        answers = await Answer.select(
            Answer.response, Answer.question_id, Answer.value_number, Answer.value_text
        ).where(Answer.response.is_in(ids), Answer.question_id.is_in([OVERALL_QUESTION, COMMENT_QUESTION]))
        for answer in answers:
            if answer["question_id"] == OVERALL_QUESTION:
                overall[answer["response"]] = answer["value_number"]
            else:
                comments[answer["response"]] = excerpt(answer["value_text"])
        cases = await FollowUp.select(FollowUp.response).where(
            FollowUp.response.is_in(ids), FollowUp.status.is_in(list(OPEN_FOLLOW_UP_STATUSES))
        )
        open_cases = {case["response"] for case in cases}
    summaries = []
    for row in rows:
        if not can_see(identity, row["unit_path"]):  # SQLite's LIKE ignores case: hold to the exact prefix
            continue
        published = await get_version(row["questionnaire_id"], versions)
        service = None
        if row["service_name_vi"] is not None:
            service = {"vi": row["service_name_vi"], "en": row["service_name_en"]}
        summaries.append(
            ResponseSummary(
                id=row["id"],
                submitted_at=row["submitted_at"],
                unit_code=row["unit_code"],
                unit_name={"vi": row["unit_name_vi"], "en": row["unit_name_en"]},
                service_name=service,
                questionnaire_key=row["questionnaire_key"],
                questionnaire_title=published.questionnaire.title,
                channel=row["channel"],
                trust=row["trust"],
                overall=overall.get(row["id"]),
                comment_excerpt=comments.get(row["id"]),
                follow_up_open=row["id"] in open_cases,
            )
        )
    return summaries


async def recent_responses(identity: StaffIdentity, *, page: int = 1, per_page: int = 50,
                           versions: QuestionnaireVersions | None = None) -> RecentResponses:
    """The complete responses of units in ``identity``'s subtree, newest first, ``per_page`` at a time."""
    page = max(1, page)
    rows = (
        await Response.select(*_summary_columns())
        .where(Response.status == ResponseStatus.complete, Response.unit.path.like(_scoped(identity)))
        .order_by(Response.submitted_at, ascending=False)
        .order_by(Response.id, ascending=False)
        .limit(per_page + 1)
        .offset((page - 1) * per_page)
    )
    open_follow_ups = await FollowUp.count().where(
        FollowUp.status.is_in(list(OPEN_FOLLOW_UP_STATUSES)), FollowUp.unit.path.like(_scoped(identity))
    )
    summaries = await _summaries(identity, rows[:per_page], versions)
    return RecentResponses(rows=tuple(summaries), page=page, per_page=per_page, has_next=len(rows) > per_page,
                           open_follow_ups=open_follow_ups)


def _answer_text(question: Question | None, number: float | None, text: str | None, language: str) -> str:
    if question is None:
        return text if text is not None else ("" if number is None else f"{number:g}")
    try:
        value = from_storage(question, number, text)
    except ValueError:
        return text or ("" if number is None else f"{number:g}")
    if question.scale is not None and isinstance(value, int):
        labels = question.scale.labels.get(language) or question.scale.labels.get("vi") or {}
        label = labels.get(value) or labels.get(str(value))  # type: ignore[call-overload]
        return f"{value} – {label}" if label else str(value)
    if question.options:
        chosen = value if isinstance(value, tuple) else (value,)
        labels = []
        for option_value in chosen:
            try:
                labels.append(pick(question.option(str(option_value)).label, language))
            except KeyError:
                labels.append(str(option_value))
        return ", ".join(labels)
    return format_answer(value)


async def response_detail(identity: StaffIdentity, response_id: int, *, language: str = "vi",
                          versions: QuestionnaireVersions | None = None) -> ResponseDetail | None:
    """A complete response with its answers, or ``None`` when there is none in ``identity``'s subtree."""
    rows = await Response.select(*_summary_columns()).where(
        Response.id == response_id,
        Response.status == ResponseStatus.complete,
        Response.unit.path.like(_scoped(identity)),
    )
    summaries = await _summaries(identity, rows, versions)
    if not summaries:
        return None
    row = rows[0]
    questionnaire = (await get_version(row["questionnaire_id"], versions)).questionnaire
    order = {question.id: index for index, question in enumerate(questionnaire.questions)}
    stored = await Answer.select(Answer.question_id, Answer.value_number, Answer.value_text).where(
        Answer.response == response_id
    )
    stored.sort(key=lambda answer: (order.get(answer["question_id"], len(order)), answer["question_id"]))
    lines = []
    for answer in stored:
        question = next((q for q in questionnaire.questions if q.id == answer["question_id"]), None)
        lines.append(
            AnswerLine(
                question_id=answer["question_id"],
                question=pick(question.text, language) if question is not None else answer["question_id"],
                answer=_answer_text(question, answer["value_number"], answer["value_text"], language),
            )
        )
    return ResponseDetail(summary=summaries[0], language=row["language"], started_at=row["started_at"],
                          answers=tuple(lines))
