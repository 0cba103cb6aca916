"""Published questionnaire versions: publishing the bundled definitions and reading them back."""

from __future__ import annotations

import json
from dataclasses import dataclass

from questionnaires import Questionnaire, load_bundled
from survey.tables import QuestionnaireVersion

__all__ = [
    "PublishConflict",
    "PublishedQuestionnaire",
    "QuestionnaireVersions",
    "get_version",
    "latest_version",
    "publish",
    "publish_bundled",
]


class PublishConflict(ValueError):
    """A published version's content changed: a change needs a new version number."""


@dataclass(frozen=True)
class PublishedQuestionnaire:
    """A questionnaire version as stored: its row id and its model."""

    row_id: int
    questionnaire: Questionnaire


async def publish(questionnaire: Questionnaire) -> PublishedQuestionnaire:
    """Store ``questionnaire`` as a published version; publishing the same content again is a no-op."""
    key_version = f"{questionnaire.id}@{questionnaire.version}"
    existing = await QuestionnaireVersion.objects().get(QuestionnaireVersion.key_version == key_version)
    if existing is not None:
        if existing.checksum != questionnaire.checksum:
            raise PublishConflict(
                f"{questionnaire.source}: version {questionnaire.version} of {questionnaire.id!r} is already "
                f"published with other content; published versions are immutable: raise 'version' to publish "
                f"the change"
            )
        return PublishedQuestionnaire(existing.id, questionnaire)
    row = QuestionnaireVersion(
        key=questionnaire.id,
        version=questionnaire.version,
        key_version=key_version,
        checksum=questionnaire.checksum,
        definition=questionnaire.to_dict(),
    )
    from survey.db import write_transaction
    from survey.services.aggregates import questionnaire_published

    async with write_transaction():
        await row.save()
        # the kept score counts follow the latest version's coding: started, or recounted if it codes otherwise
        await questionnaire_published(questionnaire.id)
    return PublishedQuestionnaire(row.id, questionnaire)


async def publish_bundled() -> dict[str, PublishedQuestionnaire]:
    """Publish every bundled definition (``questionnaires/definitions``) not yet in the database."""
    return {key: await publish(q) for key, q in load_bundled().items()}


class QuestionnaireVersions:
    """The published versions read so far, by row id: a version never changes once published.

    One per application (held by :class:`survey.state.AppState`), so a fresh app on a fresh
    database never sees another database's versions.
    """

    def __init__(self) -> None:
        self._by_id: dict[int, PublishedQuestionnaire] = {}

    def get(self, row_id: int) -> PublishedQuestionnaire | None:
        return self._by_id.get(row_id)

    def keep(self, published: PublishedQuestionnaire) -> None:
        self._by_id[published.row_id] = published


async def get_version(row_id: int, versions: QuestionnaireVersions | None = None) -> PublishedQuestionnaire:
    """The published version with database id ``row_id``, from ``versions`` when it holds it (then kept there)."""
    cached = versions.get(row_id) if versions is not None else None
    if cached is not None:
        return cached
    row = await QuestionnaireVersion.select(QuestionnaireVersion.definition).where(QuestionnaireVersion.id == row_id)
    if not row:
        raise LookupError(f"no questionnaire version with id {row_id}")
    definition = row[0]["definition"]
    data = json.loads(definition) if isinstance(definition, str) else definition
    published = PublishedQuestionnaire(row_id, Questionnaire.from_dict(data))
    if versions is not None:
        versions.keep(published)
    return published


async def latest_version(key: str, versions: QuestionnaireVersions | None = None) -> PublishedQuestionnaire:
    """The highest published version of questionnaire ``key``."""
    rows = (
        await QuestionnaireVersion.select(QuestionnaireVersion.id)
        .where(QuestionnaireVersion.key == key)
        .order_by(QuestionnaireVersion.version, ascending=False)
        .limit(1)
    )
    if not rows:
        raise LookupError(f"questionnaire {key!r} is not published")
    return await get_version(rows[0]["id"], versions)
