"""What a member of staff may read of the responses: those of their scope a filter keeps, and one in full.

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
from survey.services.questionnaires import QuestionnaireVersions, get_version, latest_version
from survey.tables import Answer, FollowUp, FollowUpStatus, Response, ResponseStatus

__all__ = [
    "AnswerLine",
    "ResponseDetail",
    "ResponseSummary",
    "excerpt",
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
    case_id: int | None = None  # its follow-up case, open or closed
    counter_code: str | None = None  # the counter it was given at (a poster, ticket or kiosk)
    counter_name: Text | None = None
    agent: str | None = None  # the hotline agent of the contact it answers, as the switchboard named them


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
    case = await FollowUp.select(FollowUp.id).where(FollowUp.response == response_id).first()
    from survey.db import run_sql

    where = (await run_sql(
        "SELECT c.code, c.name_vi, c.name_en, ct.agent FROM response r LEFT JOIN counter c ON c.id = r.counter "
        "LEFT JOIN invitation i ON i.id = r.invitation LEFT JOIN contact ct ON ct.id = i.contact WHERE r.id = {}",
        response_id))[0]
    return ResponseDetail(summary=summaries[0], language=row["language"], started_at=row["started_at"],
                          answers=tuple(lines), case_id=case["id"] if case else None, counter_code=where["code"],
                          counter_name={"vi": where["name_vi"], "en": where["name_en"]} if where["code"] else None,
                          agent=where["agent"])


# --- the filtered list and its export ---------------------------------------------------------------------------

CASE_FILTERS = ("any", "open", "none")
EXPORT_FORMATS = ("csv", "xlsx")
EXPORT_CHUNK = 2000
FIXED_EXPORT_COLUMNS = ("response_id", "submitted_at", "unit", "unit_name", "service", "channel", "trust",
                        "questionnaire", "version", "language", "follow_up")


class ResponseFilterError(ValueError):
    """A filter that cannot be applied; ``field`` names it (HTTP 400)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field_name = field_name


@dataclass(frozen=True)
class ResponseFilter:
    """What the responses list and its export show: complete responses of the reader's units, narrowed by these.

    ``unit`` includes its subtree; ``period`` is written as the scores write it (``2026-05``, ``2026-Q2``,
    ``2026``, ``2026-01-01..2026-03-31``); ``comment`` keeps those with a comment; ``case``: ``any`` (with a
    follow-up case), ``open`` (an open one) or ``none``; ``overall_max`` keeps overall ratings at or below it.
    """

    questionnaire: str = ""
    period: str = ""
    unit: str = ""
    service: str = ""
    channel: str = ""
    comment: bool = False
    case: str = ""
    overall_max: int | None = None
    criterion: str = ""

    def query(self) -> dict[str, str]:
        """The filter as query parameters (empty ones left out): the list's links and the export's."""
        values = {"questionnaire": self.questionnaire, "period": self.period, "unit": self.unit,
                  "service": self.service, "channel": self.channel, "comment": "1" if self.comment else "",
                  "case": self.case, "overall_max": "" if self.overall_max is None else str(self.overall_max),
                  "criterion": self.criterion}
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True)
class ResponsePage:
    rows: tuple[ResponseSummary, ...]
    total: int
    page: int
    per_page: int

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total

    @property
    def has_previous(self) -> bool:
        return self.page > 1


async def _where(identity: StaffIdentity, selection: ResponseFilter) -> tuple[str, list[Any]]:
    """The WHERE clause (over ``response r JOIN unit u``) of ``selection`` in ``identity``'s scope."""
    from survey.db import run_sql
    from survey.services.extract import subtree_pattern
    from survey.services.scores.errors import ScoreParameterError
    from survey.services.scores.periods import parse_period
    from survey.settings import get_settings
    from survey.tables import ContactChannel

    clauses = ["r.status = 'complete'", "u.path LIKE {} ESCAPE '\\'"]
    args: list[Any] = [subtree_pattern(scope_prefix(identity))]
    if selection.unit:
        units = await run_sql("SELECT path FROM unit WHERE code = {}", selection.unit)
        if not units or not can_see(identity, units[0]["path"]):
            raise ResponseFilterError("unit", f"no unit {selection.unit!r} in your units")
        clauses.append("u.path LIKE {} ESCAPE '\\'")
        args.append(subtree_pattern(units[0]["path"]))
    if selection.service:
        services = await run_sql("SELECT id FROM service WHERE code = {}", selection.service)
        if not services:
            raise ResponseFilterError("service", f"no service {selection.service!r}")
        clauses.append("r.service = {}")
        args.append(services[0]["id"])
    if selection.channel:
        if selection.channel not in {c.value for c in ContactChannel}:
            raise ResponseFilterError("channel", f"must be one of {', '.join(c.value for c in ContactChannel)}; "
                                                 f"got {selection.channel!r}")
        clauses.append("r.channel = {}")
        args.append(selection.channel)
    if selection.questionnaire:
        versions = await run_sql("SELECT id FROM questionnaire_version WHERE key = {}", selection.questionnaire)
        if not versions:
            raise ResponseFilterError("questionnaire", f"no questionnaire {selection.questionnaire!r}")
        clauses.append(f"r.questionnaire IN ({', '.join(['{}'] * len(versions))})")
        args += [row["id"] for row in versions]
    if selection.period:
        try:
            period = parse_period(selection.period)
        except ScoreParameterError as error:
            raise ResponseFilterError("period", str(error).split(": ", 1)[-1]) from None
        start, end = period.bounds(get_settings().timezone)
        clauses.append("r.submitted_at >= {} AND r.submitted_at < {}")
        args += [start, end]
    if selection.comment:
        clauses.append("r.commented = 1")
    if selection.case:
        if selection.case not in CASE_FILTERS:
            raise ResponseFilterError("case", f"must be one of {', '.join(CASE_FILTERS)}; got {selection.case!r}")
        exists = "EXISTS (SELECT 1 FROM follow_up f WHERE f.response = r.id{})"
        if selection.case == "open":
            clauses.append(exists.format(" AND f.status IN ('open', 'in_progress')"))
        elif selection.case == "any":
            clauses.append(exists.format(""))
        else:
            clauses.append("NOT " + exists.format(""))
    if selection.criterion:
        if not selection.questionnaire:
            raise ResponseFilterError("criterion", "choose a questionnaire first: a criterion is one of its own")
        try:
            questionnaire = (await latest_version(selection.questionnaire)).questionnaire
        except LookupError:
            raise ResponseFilterError("questionnaire", f"{selection.questionnaire!r} is not published") from None
        from survey.services.aggregates.counting import ANSWERED_BITS

        ids = [c.id for c in questionnaire.criteria]
        items = [(q.id, q.scale.min, q.scale.max) for q in questionnaire.questions_of(selection.criterion)
                 if q.scale is not None]
        if selection.criterion not in ids or not items:
            raise ResponseFilterError("criterion", f"must be one of {', '.join(ids)}; got {selection.criterion!r}")
        bit = ids.index(selection.criterion)
        if bit < ANSWERED_BITS:
            # the mask the score counts keep (mark_answered): one read of the response row, no probe of its answers
            clauses.append("(r.answered & {}) <> 0")
            args.append(1 << bit)
        else:
            answered = " OR ".join(["(a.question_id = {} AND a.value_number BETWEEN {} AND {})"] * len(items))
            clauses.append(f"EXISTS (SELECT 1 FROM answer a WHERE a.response = r.id AND ({answered}))")  # noqa: S608
            args += [value for item in items for value in item]
    if selection.overall_max is not None:
        clauses.append("EXISTS (SELECT 1 FROM answer a WHERE a.response = r.id AND a.question_id = 'overall' "
                       "AND a.value_number <= {})")
        args.append(selection.overall_max)
    return " AND ".join(clauses), args


_LIST_COLUMNS = (
    "r.id, r.submitted_at, r.started_at, r.channel, r.trust, r.language, r.questionnaire AS questionnaire_id, "
    "q.key AS questionnaire_key, u.id AS unit_id, u.code AS unit_code, u.path AS unit_path, "
    "u.name_vi AS unit_name_vi, u.name_en AS unit_name_en, s.name_vi AS service_name_vi, "
    "s.name_en AS service_name_en, s.code AS service_code, q.version AS questionnaire_version"
)
_LIST_FROM = ("FROM response r JOIN unit u ON u.id = r.unit JOIN questionnaire_version q ON q.id = r.questionnaire "
              "LEFT JOIN service s ON s.id = r.service")


async def filtered_responses(identity: StaffIdentity, selection: ResponseFilter, *, page: int = 1,
                             per_page: int = 50, versions: QuestionnaireVersions | None = None) -> ResponsePage:
    """A page of the complete responses ``selection`` keeps in ``identity``'s units, newest first, and how many
    there are in all (what a figure's drill-down must equal)."""
    from survey.db import run_sql

    where, args = await _where(identity, selection)
    counted = await run_sql(f"SELECT COUNT(*) AS n FROM response r JOIN unit u ON u.id = r.unit WHERE {where}",  # noqa: S608
                            *args)
    page = max(1, page)
    rows = await run_sql(f"SELECT {_LIST_COLUMNS} {_LIST_FROM} WHERE {where} "  # noqa: S608
                         "ORDER BY r.submitted_at DESC, r.id DESC LIMIT {} OFFSET {}",
                         *args, per_page, (page - 1) * per_page)
    summaries = await _summaries(identity, rows, versions)
    return ResponsePage(rows=tuple(summaries), total=int(counted[0]["n"]), page=page, per_page=per_page)


async def export_responses(identity: StaffIdentity, selection: ResponseFilter, *,
                           versions: QuestionnaireVersions | None = None,
                           language: str = "vi") -> tuple[list[str], Any]:
    """The export of what ``selection`` shows: its column names and an async iterator of row chunks (lists of
    values), read ``EXPORT_CHUNK`` responses at a time by id. With a questionnaire chosen every one of its
    questions is a column (the stored value: a rating, an option code, the text); without one, ``overall`` and
    ``comment``. No contact details: those are revealed one case at a time."""
    from zoneinfo import ZoneInfo

    from survey.db import aware, run_sql
    from survey.settings import get_settings

    zone = ZoneInfo(get_settings().timezone)

    where, args = await _where(identity, selection)
    question_ids = ["overall", "comment"]
    if selection.questionnaire:
        questionnaire = (await latest_version(selection.questionnaire, versions)).questionnaire
        question_ids = [question.id for question in questionnaire.questions]
    columns = [*FIXED_EXPORT_COLUMNS, *question_ids]

    async def chunks() -> Any:
        through = 2**31 - 1  # the largest id either database stores
        while True:
            rows = await run_sql(
                f"SELECT {_LIST_COLUMNS}, (SELECT f.status FROM follow_up f WHERE f.response = r.id) AS follow_up "  # noqa: S608
                f"{_LIST_FROM} WHERE {where} AND r.id <= {{}} ORDER BY r.id DESC LIMIT {{}}",
                *args, through, EXPORT_CHUNK)
            if not rows:
                return
            ids = [row["id"] for row in rows]
            answers: dict[int, dict[str, Any]] = {}
            marks = ", ".join(["{}"] * len(question_ids))
            for answer in await run_sql(
                f"SELECT response, question_id, value_number, value_text FROM answer WHERE response IN "  # noqa: S608
                f"({', '.join(['{}'] * len(ids))}) AND question_id IN ({marks})", *ids, *question_ids):
                value = answer["value_text"] if answer["value_text"] is not None else answer["value_number"]
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                answers.setdefault(answer["response"], {})[answer["question_id"]] = value
            out = []
            for row in rows:
                if not can_see(identity, row["unit_path"]):
                    continue
                name = row["unit_name_en"] if language == "en" else row["unit_name_vi"]
                submitted = aware(row["submitted_at"])
                values = [row["id"], submitted.astimezone(zone).isoformat() if submitted else "", row["unit_code"],
                          name, row["service_code"] or "", row["channel"], row["trust"], row["questionnaire_key"],
                          row["questionnaire_version"], row["language"], row["follow_up"] or ""]
                given = answers.get(row["id"], {})
                out.append(values + [given.get(question_id, "") for question_id in question_ids])
            yield out
            through = ids[-1] - 1

    return columns, chunks()
