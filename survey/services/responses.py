"""Responses: every write of the public survey, group-committed.

Every write of the public survey (a page of a draft, a completed response, a link being opened)
is a :class:`Submission` handed to the process's submissions writer (:func:`submission_writer`,
a :class:`~survey.services.group_commit.GroupWriter` owned by the application's state). The writer
takes all that is queued, applies it in ONE write transaction (multi-row inserts, set-based
updates), commits once and then answers each waiting request. Committing once per batch instead
of once per request is what lets SQLite keep up with many concurrent respondents.

A link is answered once, and the database enforces it: ``Response.invitation`` is unique and a
draft is completed by a conditional update (``... WHERE status = 'incomplete'``) whose affected
rows are checked, in the same transaction as the answers.

Example::

    writer = submission_writer(QuestionnaireVersions())
    outcome = await writer.submit(Submission(token_hash=h, raw={"overall": ["4"]}, complete=True))
    outcome.status  # 'complete', 'used', 'expired', 'unknown' or 'invalid' (see outcome.errors)
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from questionnaires import AnswerValue, parse_answers, to_storage
from survey.db import NUL, Statement, aware, engine, history_append_sql, marks, run_sql_many, write_transaction
from survey.services.aggregates import Completed, count_reads, count_responses, count_writes
from survey.services.followups import case_email_jobs, journal_entry
from survey.services.group_commit import GroupWriter
from survey.services.links import response_channel
from survey.services.outbox import jobs_statement
from survey.services.questionnaires import PublishedQuestionnaire, QuestionnaireVersions, get_version
from survey.services.working_calendar import WorkingCalendar, working_calendar
from survey.tables import Response, ResponseStatus

__all__ = [
    "MAX_BATCH",
    "NewResponse",
    "Outcome",
    "Submission",
    "submission_writer",
]

OutcomeStatus = Literal["saved", "complete", "opened", "used", "expired", "unknown", "invalid"]
MAX_BATCH = 200
ANSWER_ROWS_PER_INSERT = 2000  # 4 parameters a row: well under SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True)
class NewResponse:
    """A response without an invitation (a counter visitor scanning the poster): where it belongs."""

    questionnaire_id: int
    unit_id: int
    service_id: int | None
    counter_id: int | None
    channel: str = "counter"
    trust: str = "poster"


@dataclass(frozen=True)
class Submission:
    """One write of the public survey.

    The target is a link (``token_hash``), an anonymous draft (``response_id``) or a new
    anonymous response (``new_response``). ``answers`` are values already checked by the caller;
    ``raw`` is form data (``{question_id: [values]}``) that the writer checks against the link's
    questionnaire, all pages at once. ``replace`` names the questions whose stored answers the
    new ones replace (``None``: all of them). ``complete`` finishes the response;
    ``mark_opened`` only records that the link was opened.
    """

    token_hash: str | None = None
    response_id: int | None = None
    new_response: NewResponse | None = None
    answers: Mapping[str, AnswerValue] | None = None
    raw: Mapping[str, list[str]] | None = None
    replace: tuple[str, ...] | None = None
    page: int = 1
    complete: bool = False
    language: str | None = None
    mark_opened: bool = False

    @property
    def target(self) -> tuple[str, object]:
        if self.token_hash is not None:
            return ("link", self.token_hash)
        if self.response_id is not None:
            return ("response", self.response_id)
        return ("new", id(self))


@dataclass(frozen=True)
class Outcome:
    """What became of a submission: ``status``, the response it wrote, or the answers' errors."""

    status: OutcomeStatus
    response_id: int | None = None
    errors: dict[str, str] = field(default_factory=dict)


def _unknown_questions(questionnaire: Any, raw: Mapping[str, list[str]]) -> dict[str, str]:
    """An error for each answer key that is not a question of ``questionnaire`` (a typo must not pass as unanswered).

    >>> from questionnaires import load_bundled
    >>> errors = _unknown_questions(load_bundled()["counter"], {"overall": ["5"], "overal": ["4"]})
    >>> list(errors), errors["overal"].startswith("'overal' is not a question of counter version")
    (['overal'], True)
    """
    ids = [question.id for question in questionnaire.questions]
    known = set(ids)
    return {key: f"{key[:60]!r} is not a question of {questionnaire.id} version {questionnaire.version}; "
                 f"its questions: {', '.join(ids)}" for key in raw if key not in known}


# --- the writer -------------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """What the batch will do for one submission."""

    index: int
    item: Submission
    published: PublishedQuestionnaire | None = None
    invitation: dict[str, Any] | None = None
    response_id: int | None = None
    answers: dict[str, AnswerValue] = field(default_factory=dict)
    follow_up: tuple[str, ...] = ()
    fresh: bool = False  # a response this batch creates


INVITATIONS_SQL = (
    "SELECT i.id, i.token_hash, i.questionnaire, i.unit, i.service, i.counter, i.channel, i.trust, i.language, "
    "i.status, i.expires_at, c.channel AS contact_channel, r.id AS response_id, r.status AS response_status "
    "FROM invitation i LEFT JOIN contact c ON c.id = i.contact LEFT JOIN response r ON r.invitation = i.id "
    "WHERE i.token_hash IN ("
)


async def _apply_batch(items: list[Submission], versions: QuestionnaireVersions, *,
                       owner: bool = False) -> list[Outcome]:
    """Apply ``items`` inside the current transaction; each target appears at most once.

    The hot path of every submission: plain SQL, no query builder, and the statements grouped into few round
    trips (:func:`run_sql_many`): what is there (the links, their responses, the drafts); the responses written
    with the kept counts and their states read; then the answers, the counts, the links' states and the follow-up
    cases. A draft completed on its last page is counted after, read back (its earlier pages are stored).
    """
    now = datetime.now(UTC)
    outcomes: list[Outcome | None] = [None] * len(items)
    hashes = sorted({i.token_hash for i in items if i.token_hash is not None})
    draft_ids = sorted({i.response_id for i in items if i.response_id is not None})
    reads: list[Statement] = []
    if hashes:
        reads.append((INVITATIONS_SQL + marks(len(hashes)) + ")", hashes))
    if draft_ids:
        reads.append((f"SELECT id, status, questionnaire FROM response WHERE id IN ({marks(len(draft_ids))})",  # noqa: S608
                      draft_ids))
    found = iter(await run_sql_many(reads))
    invitations = {row["token_hash"]: row for row in next(found)} if hashes else {}
    drafts = {row["id"]: row for row in next(found)} if draft_ids else {}

    opened: list[int] = []
    plans: list[_Plan] = []
    for index, item in enumerate(items):
        plan = _Plan(index, item)
        if item.token_hash is not None:
            invitation = invitations.get(item.token_hash)
            if invitation is None:
                outcomes[index] = Outcome("unknown")
                continue
            plan.invitation = invitation
            existing = invitation["response_id"]
            if item.mark_opened:
                opened.append(invitation["id"])
                outcomes[index] = Outcome("opened")
                continue
            if invitation["response_status"] == ResponseStatus.complete or invitation["status"] == "responded":
                outcomes[index] = Outcome("used", existing)
                continue
            expires_at = invitation["expires_at"]
            if invitation["status"] == "expired" or (expires_at is not None and aware(expires_at) <= now):
                outcomes[index] = Outcome("expired")
                continue
            plan.response_id = existing
            plan.published = await get_version(invitation["questionnaire"], versions)
        elif item.response_id is not None:
            draft = drafts.get(item.response_id)
            if draft is None:
                outcomes[index] = Outcome("unknown")
                continue
            if draft["status"] == ResponseStatus.complete:
                outcomes[index] = Outcome("used", draft["id"])
                continue
            plan.response_id = draft["id"]
            plan.published = await get_version(draft["questionnaire"], versions)
        elif item.new_response is not None:
            plan.published = await get_version(item.new_response.questionnaire_id, versions)
        else:
            raise ValueError("a submission needs a token_hash, a response_id or a new_response")
        questionnaire = plan.published.questionnaire
        language = item.language or (plan.invitation or {}).get("language") or questionnaire.default_language
        if item.raw is not None:
            unknown = _unknown_questions(questionnaire, item.raw)
            check = parse_answers(questionnaire, _form_without_nul(item.raw), page=None, language=language)
            if unknown or not check.ok:
                outcomes[index] = Outcome("invalid", plan.response_id, {**check.errors, **unknown})
                continue
            plan.answers = check.values
        else:
            plan.answers = {key: _without_nul(value) for key, value in (item.answers or {}).items()}
        if item.complete and questionnaire.follow_up is not None:
            plan.follow_up = questionnaire.follow_up.triggered_by(plan.answers)
        plans.append(plan)

    # anonymous new responses one by one (nothing unique to match a multi-row insert's ids back by)
    for plan in plans:
        if plan.response_id is None and plan.invitation is None:
            row = _response_row(plan, now)
            await row.save()
            plan.fresh, plan.response_id = True, row.id

    # second round trip: drafts moved on (completed only while still incomplete), links' new responses inserted
    # (matched back by their unique invitation), the kept counts of what completes here read
    stored = [p for p in plans if p.response_id is not None and not p.fresh]
    by_invitation = [p for p in plans if p.response_id is None]
    completed = [_completed(p, now) for p in plans if p.item.complete and (p.fresh or p.response_id is None)]
    writes: list[Statement] = [_draft_update(p, now) for p in stored]
    if by_invitation:
        rows = [_response_values(p, now) for p in by_invitation]
        writes.append((_insert_sql("response", RESPONSE_COLUMNS, len(rows)) + " RETURNING id, invitation",
                       [value for row in rows for value in row]))
    written = await run_sql_many([*writes, *count_reads([c for _, c in completed])])
    kept: list[_Plan] = []
    for plan, done in zip(stored, written, strict=False):
        if done:
            kept.append(plan)
        else:
            outcomes[plan.index] = Outcome("used", plan.response_id)
    if by_invitation:
        ids = {row["invitation"]: row["id"] for row in written[len(stored)]}
        for plan in by_invitation:
            assert plan.invitation is not None
            plan.fresh, plan.response_id = True, ids[plan.invitation["id"]]
    plans = [p for p in plans if p.fresh] + kept
    count_read = written[len(writes):]

    # third round trip: the answers (replacing what a draft's page covers), the counts, the links, the cases
    writes = []
    for plan in kept:
        if plan.item.replace is None:
            writes.append(("DELETE FROM answer WHERE response = {}", [plan.response_id]))
        elif plan.item.replace:
            writes.append((f"DELETE FROM answer WHERE response = {{}} AND question_id IN "  # noqa: S608
                           f"({marks(len(plan.item.replace))})", [plan.response_id, *plan.item.replace]))
    answer_rows = [row for plan in plans for row in _answer_rows(plan)]
    for start in range(0, len(answer_rows), ANSWER_ROWS_PER_INSERT):
        chunk = answer_rows[start : start + ANSWER_ROWS_PER_INSERT]
        writes.append((_insert_sql("answer", ("response", "question_id", "value_number", "value_text"), len(chunk)),
                       [value for row in chunk for value in row]))
    ids = {p.index: p.response_id for p in plans}
    counted = [dataclasses.replace(c, response_id=ids[index]) for index, c in completed if index in ids]
    writes += await count_writes(counted, count_read)
    completed_links = [p.invitation["id"] for p in plans if p.item.complete and p.invitation is not None]
    history = history_append_sql()
    if completed_links:
        writes.append((f"UPDATE invitation SET status = 'responded', responded_at = {{}}, status_history = {history} "  # noqa: S608
                       f"WHERE id IN ({marks(len(completed_links))})",
                       [now, json.dumps({"status": "responded", "at": now.isoformat(), "detail": "survey answered"}),
                        *completed_links]))
    if opened:
        # only placeholders are put into the SQL text; values travel as parameters
        status = "CASE WHEN status IN ('planned', 'sent', 'delivered') THEN 'opened' ELSE status END"
        writes.append((f"UPDATE invitation SET opened_at = {{}}, status = {status}, status_history = {history} "  # noqa: S608
                       f"WHERE opened_at IS NULL AND id IN ({marks(len(opened))})",
                       [now, json.dumps({"status": "opened", "at": now.isoformat(), "detail": "link opened"}),
                        *opened]))
    unhappy = [p for p in plans if p.follow_up]
    if unhappy:
        # the cases, and the emails that tell their units (the outbox, in this same transaction)
        calendar = await working_calendar()
        cases = [_follow_up_values(p, now, calendar) for p in unhappy]
        writes.append((_insert_sql("follow_up", FOLLOW_UP_COLUMNS, len(cases)),
                       [value for row in cases for value in row]))
        writes.append(jobs_statement(case_email_jobs([p.response_id or 0 for p in unhappy], "opened",
                                                     [_case_unit(p) for p in unhappy], now=now)))
    # drafts completed on their last page are counted from their stored answers (every page of them) after;
    # without them the batch commits in this same round trip (when its transaction is its own: ``owner``)
    last_pages = [p.response_id for p in kept if p.item.complete and p.response_id is not None]
    await run_sql_many(writes, commit=owner and not last_pages)
    if last_pages:
        await count_responses(last_pages)

    for plan in plans:
        outcomes[plan.index] = Outcome("complete" if plan.item.complete else "saved", plan.response_id)
    return [o if o is not None else Outcome("unknown") for o in outcomes]


def _draft_update(plan: _Plan, now: datetime) -> Statement:
    """The update moving a stored draft on: ``RETURNING id`` only while it was still incomplete."""
    item = plan.item
    language = item.language or "vi"
    if item.complete:
        return ("UPDATE response SET status = 'complete', submitted_at = {}, page = {}, language = {} "
                "WHERE id = {} AND status = 'incomplete' RETURNING id", [now, item.page, language, plan.response_id])
    return ("UPDATE response SET page = {}, language = {} WHERE id = {} AND status = 'incomplete' RETURNING id",
            [item.page, language, plan.response_id])


def _answer_rows(plan: _Plan) -> list[tuple[object, ...]]:
    assert plan.published is not None
    questionnaire = plan.published.questionnaire
    rows = []
    for question_id, value in plan.answers.items():
        number, text = to_storage(questionnaire.question(question_id), value)
        rows.append((plan.response_id, question_id, number, text))
    return rows


def _completed(plan: _Plan, now: datetime) -> tuple[int, Completed]:
    """A new response completed in one submission, as counted into the kept cells (its id once written)."""
    assert plan.published is not None
    published, invitation, item = plan.published, plan.invitation, plan.item
    if invitation is not None:
        where = (invitation["unit"], invitation["service"],
                 response_channel(invitation["channel"], invitation["contact_channel"], published.questionnaire))
    else:
        assert item.new_response is not None
        where = (item.new_response.unit_id, item.new_response.service_id, item.new_response.channel)
    answers = [(question_id, number, text) for _, question_id, number, text in _answer_rows(plan)]
    return plan.index, Completed(published.questionnaire.id, published.row_id, *where, invitation is not None, now,
                                 answers, plan.response_id or 0)


def _form_without_nul(form: Mapping[str, list[str]]) -> dict[str, list[str]]:
    return {key: [value.replace(NUL, "") for value in values] for key, values in form.items()}


def _without_nul(value: AnswerValue) -> AnswerValue:
    """A citizen's answer without NUL characters (PostgreSQL cannot store them): the answer is kept either way."""
    if isinstance(value, str):
        return value.replace(NUL, "")
    if isinstance(value, tuple):
        return tuple(x.replace(NUL, "") for x in value)
    return value


RESPONSE_COLUMNS = ("invitation", "questionnaire", "unit", "service", "counter", "channel", "language", "trust",
                    "status", "page", "external_id", "started_at", "submitted_at")


def _insert_sql(table: str, columns: tuple[str, ...], rows: int) -> str:
    """A multi-row INSERT with ``{}`` placeholders; names come from this module, values travel as parameters."""
    values = ", ".join(["(" + marks(len(columns)) + ")"] * rows)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}"  # noqa: S608


def _response_values(plan: _Plan, now: datetime) -> tuple[object, ...]:
    """The RESPONSE_COLUMNS of a link's new response, without building a Piccolo object per row."""
    item, invitation = plan.item, plan.invitation
    assert plan.published is not None and invitation is not None
    questionnaire = plan.published.questionnaire
    complete = item.complete
    return (
        invitation["id"], plan.published.row_id, invitation["unit"], invitation["service"], invitation["counter"],
        response_channel(invitation["channel"], invitation["contact_channel"], questionnaire),
        item.language or invitation["language"], invitation["trust"],
        ResponseStatus.complete.value if complete else ResponseStatus.incomplete.value, item.page, None, now,
        now if complete else None,
    )


def _response_row(plan: _Plan, now: datetime) -> Response:
    item = plan.item
    assert plan.published is not None
    questionnaire = plan.published.questionnaire
    if plan.invitation is not None:
        invitation = plan.invitation
        where: dict[str, Any] = {
            "invitation": invitation["id"],
            "unit": invitation["unit"],
            "service": invitation["service"],
            "counter": invitation["counter"],
            "channel": response_channel(invitation["channel"], invitation["contact_channel"], questionnaire),
            "trust": invitation["trust"],
        }
        language = item.language or invitation["language"]
    else:
        assert item.new_response is not None
        new = item.new_response
        where = {"invitation": None, "unit": new.unit_id, "service": new.service_id, "counter": new.counter_id,
                 "channel": new.channel, "trust": new.trust}
        language = item.language or questionnaire.default_language
    return Response(
        questionnaire=plan.published.row_id,
        language=language,
        status=ResponseStatus.complete if item.complete else ResponseStatus.incomplete,
        page=item.page,
        started_at=now,
        submitted_at=now if item.complete else None,
        **where,
    )


FOLLOW_UP_COLUMNS = ("response", "unit", "reasons", "status", "due_at", "notes", "created_at")


def _case_unit(plan: _Plan) -> int:
    """The unit a plan's case is assigned to: the response's."""
    if plan.invitation is not None:
        return int(plan.invitation["unit"])
    assert plan.item.new_response is not None
    return int(plan.item.new_response.unit_id)


def _follow_up_values(plan: _Plan, now: datetime, calendar: WorkingCalendar) -> tuple[object, ...]:
    """The FOLLOW_UP_COLUMNS of the case a low score or a complaint opens."""
    assert plan.published is not None and plan.published.questionnaire.follow_up is not None
    rule = plan.published.questionnaire.follow_up
    unit = _case_unit(plan)
    journal = [journal_entry("opened", at=now, text=", ".join(plan.follow_up), to="open")]
    return (plan.response_id, unit, json.dumps(list(plan.follow_up)), "open",
            calendar.add_working_hours(now, rule.due_working_hours), json.dumps(journal, ensure_ascii=False), now)


def submission_writer(versions: QuestionnaireVersions, max_batch: int = MAX_BATCH) -> GroupWriter[Submission, Outcome]:
    """The process's writer of submissions (started and stopped by the application's lifespan).

    Two submissions to one target (a link, a draft) never share a batch: the second sees the first's write.
    """

    async def write(items: list[Submission]) -> list[Outcome]:
        owner = engine().current_transaction.get() is None  # not inside a caller's transaction
        async with write_transaction():
            return await _apply_batch(items, versions, owner=owner)

    return GroupWriter(write, name="submissions", max_batch=max_batch, key=lambda item: item.target)
