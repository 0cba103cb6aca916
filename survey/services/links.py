"""Survey links and drafts as the public pages read them: what a link leads to, and the answers so far.

Example::

    link = await read_link(token_hash(token, secret), versions)
    link.answered, link.expired(), link.draft.page if link.draft else None
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from questionnaires import AnswerValue, Questionnaire, from_storage
from survey.db import aware
from survey.services.questionnaires import PublishedQuestionnaire, QuestionnaireVersions, get_version
from survey.tables import Answer, Invitation, Response, ResponseStatus

__all__ = ["DraftState", "LinkState", "read_draft", "read_link", "response_channel"]


@dataclass(frozen=True)
class DraftState:
    """A stored response: its status, the page reached, its language and answers."""

    response_id: int
    status: str
    page: int
    language: str
    answers: dict[str, AnswerValue]

    @property
    def complete(self) -> bool:
        return self.status == ResponseStatus.complete


@dataclass(frozen=True)
class LinkState:
    """What a survey link leads to: its invitation, questionnaire, and the response so far (if any)."""

    invitation_id: int
    token_hash: str
    published: PublishedQuestionnaire
    unit_id: int
    service_id: int | None
    language: str
    status: str
    expires_at: datetime | None
    opened_at: datetime | None
    draft: DraftState | None

    @property
    def questionnaire(self) -> Questionnaire:
        return self.published.questionnaire

    @property
    def answered(self) -> bool:
        return self.status == "responded" or (self.draft is not None and self.draft.complete)

    def expired(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(UTC)
        return self.status == "expired" or (self.expires_at is not None and aware(self.expires_at) <= now)


def response_channel(invitation_channel: str, contact_channel: str | None, questionnaire: Questionnaire) -> str:
    """The contact channel a response is counted under (call, counter, online, email, fanpage)."""
    if contact_channel:
        return contact_channel
    if invitation_channel in {"ticket", "kiosk"}:
        return "counter"
    return questionnaire.channels[0] if questionnaire.channels else "online"


async def _answers_of(response_id: int, questionnaire: Questionnaire) -> dict[str, AnswerValue]:
    rows = await Answer.select(Answer.question_id, Answer.value_number, Answer.value_text).where(
        Answer.response == response_id
    )
    answers: dict[str, AnswerValue] = {}
    for row in rows:
        try:
            question = questionnaire.question(row["question_id"])
        except KeyError:
            continue
        answers[row["question_id"]] = from_storage(question, row["value_number"], row["value_text"])
    return answers


async def read_draft(response_id: int, versions: QuestionnaireVersions | None = None,
                     questionnaire: Questionnaire | None = None) -> DraftState | None:
    """The stored response ``response_id`` with its answers, or ``None``."""
    rows = await Response.select(
        Response.id, Response.status, Response.page, Response.language, Response.questionnaire
    ).where(Response.id == response_id)
    if not rows:
        return None
    row = rows[0]
    questionnaire = questionnaire or (await get_version(row["questionnaire"], versions)).questionnaire
    answers = await _answers_of(row["id"], questionnaire)
    return DraftState(row["id"], row["status"], row["page"], row["language"], answers)


async def read_link(token_hash: str, versions: QuestionnaireVersions | None = None) -> LinkState | None:
    """The state of the link whose token hashes to ``token_hash``, or ``None`` when there is none."""
    rows = await Invitation.select(
        Invitation.id, Invitation.questionnaire, Invitation.unit, Invitation.service, Invitation.language,
        Invitation.status, Invitation.expires_at, Invitation.opened_at,
    ).where(Invitation.token_hash == token_hash)
    if not rows:
        return None
    row = rows[0]
    published = await get_version(row["questionnaire"], versions)
    draft = None
    found = await Response.select(Response.id).where(Response.invitation == row["id"])
    if found:
        draft = await read_draft(found[0]["id"], versions, published.questionnaire)
    return LinkState(
        invitation_id=row["id"], token_hash=token_hash, published=published, unit_id=row["unit"],
        service_id=row["service"], language=row["language"], status=row["status"],
        expires_at=row["expires_at"], opened_at=row["opened_at"], draft=draft,
    )
