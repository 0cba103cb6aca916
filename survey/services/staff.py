"""Staff accounts: creating users, checking passwords, who is signed in and which units they may see.

Passwords are hashed with argon2id (argon2-cffi). Every user is scoped to the subtree of one unit;
a unit's ``path`` ('/VN/HN/HN-BD/') makes that subtree a prefix:

>>> me = StaffIdentity(id=1, username="bd", display_name="Ba Đình", role="unit_manager", unit_id=3,
...                    unit_code="HN-BD", unit_path="/VN/HN/HN-BD/", session_version=1)
>>> can_see(me, "/VN/HN/HN-BD/"), can_see(me, "/VN/HN/HN-CG/"), can_see(me, "/VN/HN/")
(True, False, False)
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from questionnaires.answers import from_storage
from questionnaires.model import Question, Text, format_answer
from survey.db import is_unique_violation
from survey.i18n import pick
from survey.services.questionnaires import get_version
from survey.tables import (
    Answer,
    FollowUp,
    FollowUpStatus,
    Response,
    ResponseStatus,
    StaffRole,
    StaffUser,
    Unit,
)

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "AnswerLine",
    "RecentResponses",
    "ResponseDetail",
    "ResponseSummary",
    "StaffError",
    "StaffIdentity",
    "authenticate",
    "can_see",
    "create_user",
    "excerpt",
    "identity_of",
    "load_identity",
    "normalise_username",
    "recent_responses",
    "response_detail",
    "scope_prefix",
    "sign_out_everywhere",
]

ROLES: tuple[str, ...] = tuple(role.value for role in StaffRole)
MIN_PASSWORD_LENGTH = 10
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")

_hasher = PasswordHasher()


class StaffError(ValueError):
    """A staff account cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class StaffIdentity:
    """The signed-in member of staff, as the pages need them (no password hash)."""

    id: int
    username: str
    display_name: str
    role: str
    unit_id: int
    unit_code: str
    unit_path: str
    session_version: int
    unit_name_vi: str = ""
    unit_name_en: str = ""

    def unit_name(self, language: str) -> str:
        return (self.unit_name_en if language == "en" else self.unit_name_vi) or self.unit_code

    @property
    def is_admin(self) -> bool:
        return self.role == StaffRole.admin


def normalise_username(username: str) -> str:
    """Usernames are compared without case and surrounding spaces: ``' Lan.NT '`` is ``'lan.nt'``."""
    return username.strip().lower()


def scope_prefix(identity: StaffIdentity) -> str:
    """The unit path prefix of everything ``identity`` may see."""
    return identity.unit_path


def can_see(identity: StaffIdentity, unit_path: str) -> bool:
    """Whether a record of the unit at ``unit_path`` lies in ``identity``'s subtree (every role alike)."""
    prefix = scope_prefix(identity)
    return bool(prefix) and unit_path.startswith(prefix)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # verified against when the username is unknown, so that both cases take about as long
    return _hasher.hash("not-a-real-password-only-for-timing")


async def _verify(password_hash: str, password: str) -> bool:
    # argon2 is deliberately slow: keep it off the event loop
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


async def create_user(*, username: str, password: str, role: str, unit_code: str, display_name: str) -> StaffUser:
    """Create a staff user scoped to the subtree of unit ``unit_code``.

    Raises :class:`StaffError` naming the problem: a malformed or taken username, a short password,
    an unknown role or unit, an empty display name. Nothing is written then.
    """
    name = normalise_username(username)
    if not USERNAME_PATTERN.fullmatch(name):
        raise StaffError(
            f"username {username!r} is not allowed: use 3 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"password: must be at least {MIN_PASSWORD_LENGTH} characters long (got {len(password)})")
    if role not in ROLES:
        raise StaffError(f"role {role!r} is not one of {', '.join(ROLES)}")
    display = display_name.strip()
    if not display or len(display) > 120:
        raise StaffError("display name: must be 1 to 120 characters long")
    unit = await Unit.objects().get(Unit.code == unit_code.strip())
    if unit is None:
        raise StaffError(f"unknown unit {unit_code!r}")
    if await StaffUser.exists().where(StaffUser.username == name):
        raise StaffError(f"username {name!r} is taken")
    password_hash = await asyncio.to_thread(_hasher.hash, password)
    user = StaffUser(username=name, display_name=display, password_hash=password_hash, role=role, unit=unit.id)
    try:
        await user.save()
    except Exception as error:  # a concurrent create of the same name lost the race on the unique index
        if is_unique_violation(error):
            raise StaffError(f"username {name!r} is taken") from None
        raise
    return user


async def authenticate(username: str, password: str) -> StaffUser | None:
    """The active user with this username and password, or ``None``.

    An unknown username costs a hash verification too, so timing does not reveal which names exist.
    A hash made with older argon2 parameters is replaced on success; ``last_login_at`` is updated.
    """
    user = await StaffUser.objects().get(StaffUser.username == normalise_username(username))
    if user is None:
        await _verify(await asyncio.to_thread(_dummy_hash), password)
        return None
    if not await _verify(user.password_hash, password) or not user.active:
        return None
    values: dict[object, object] = {StaffUser.last_login_at: datetime.now(UTC)}
    if _hasher.check_needs_rehash(user.password_hash):
        values[StaffUser.password_hash] = user.password_hash = await asyncio.to_thread(_hasher.hash, password)
    await StaffUser.update(values).where(StaffUser.id == user.id)  # type: ignore[arg-type]
    user.last_login_at = values[StaffUser.last_login_at]
    return user


async def load_identity(user_id: int, session_version: int) -> StaffIdentity | None:
    """Who a session belongs to, or ``None`` when the user is gone, inactive or signed out everywhere."""
    rows = (
        await StaffUser.select(
            StaffUser.id,
            StaffUser.username,
            StaffUser.display_name,
            StaffUser.role,
            StaffUser.active,
            StaffUser.session_version,
            StaffUser.unit.id.as_alias("unit_id"),
            StaffUser.unit.code.as_alias("unit_code"),
            StaffUser.unit.path.as_alias("unit_path"),
            StaffUser.unit.name_vi.as_alias("unit_name_vi"),
            StaffUser.unit.name_en.as_alias("unit_name_en"),
        )
        .where(StaffUser.id == user_id)
        .first()
    )
    if rows is None or not rows["active"] or rows["session_version"] != session_version:
        return None
    return StaffIdentity(
        id=rows["id"],
        username=rows["username"],
        display_name=rows["display_name"],
        role=rows["role"],
        unit_id=rows["unit_id"],
        unit_code=rows["unit_code"],
        unit_path=rows["unit_path"],
        session_version=rows["session_version"],
        unit_name_vi=rows["unit_name_vi"],
        unit_name_en=rows["unit_name_en"],
    )


async def identity_of(user: StaffUser) -> StaffIdentity:
    """The identity of a user just authenticated."""
    identity = await load_identity(user.id, user.session_version)
    assert identity is not None, "an authenticated user is active"
    return identity


async def sign_out_everywhere(user_id: int) -> None:
    """End every session of the user (sessions carry the version they were opened with)."""
    await StaffUser.update({StaffUser.session_version: StaffUser.session_version + 1}).where(StaffUser.id == user_id)


# --- what a member of staff may read -----------------------------------------------------------------------------

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
        Response.id,
        Response.submitted_at,
        Response.started_at,
        Response.channel,
        Response.trust,
        Response.language,
        Response.questionnaire.id.as_alias("questionnaire_id"),
        Response.questionnaire.key.as_alias("questionnaire_key"),
        Response.unit.code.as_alias("unit_code"),
        Response.unit.path.as_alias("unit_path"),
        Response.unit.name_vi.as_alias("unit_name_vi"),
        Response.unit.name_en.as_alias("unit_name_en"),
        Response.service.name_vi.as_alias("service_name_vi"),
        Response.service.name_en.as_alias("service_name_en"),
    ]


async def _summaries(identity: StaffIdentity, rows: list[dict[str, Any]]) -> list[ResponseSummary]:
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
        published = await get_version(row["questionnaire_id"])
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


async def recent_responses(identity: StaffIdentity, *, page: int = 1, per_page: int = 50) -> RecentResponses:
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
    summaries = await _summaries(identity, rows[:per_page])
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


async def response_detail(identity: StaffIdentity, response_id: int, *, language: str = "vi") -> ResponseDetail | None:
    """A complete response with its answers, or ``None`` when there is none in ``identity``'s subtree."""
    rows = await Response.select(*_summary_columns()).where(
        Response.id == response_id,
        Response.status == ResponseStatus.complete,
        Response.unit.path.like(_scoped(identity)),
    )
    summaries = await _summaries(identity, rows)
    if not summaries:
        return None
    row = rows[0]
    questionnaire = (await get_version(row["questionnaire_id"])).questionnaire
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
