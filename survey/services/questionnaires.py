"""Published questionnaire versions: publishing the bundled definitions and reading them back."""

from __future__ import annotations

import json
from dataclasses import dataclass

from questionnaires import Questionnaire, load_bundled
from survey.tables import QuestionnaireVersion

__all__ = ["PublishConflict", "PublishedQuestionnaire", "get_version", "latest_version", "publish", "publish_bundled"]


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
    await row.save()
    return PublishedQuestionnaire(row.id, questionnaire)


async def publish_bundled() -> dict[str, PublishedQuestionnaire]:
    """Publish every bundled definition (``questionnaires/definitions``) not yet in the database."""
    return {key: await publish(q) for key, q in load_bundled().items()}


_cache: dict[int, PublishedQuestionnaire] = {}


async def get_version(row_id: int) -> PublishedQuestionnaire:
    """The published version with database id ``row_id`` (cached: versions never change)."""
    cached = _cache.get(row_id)
    if cached is not None:
        return cached
    row = await QuestionnaireVersion.select(QuestionnaireVersion.definition).where(QuestionnaireVersion.id == row_id)
    if not row:
        raise LookupError(f"no questionnaire version with id {row_id}")
    definition = row[0]["definition"]
    data = json.loads(definition) if isinstance(definition, str) else definition
    published = PublishedQuestionnaire(row_id, Questionnaire.from_dict(data))
    _cache[row_id] = published
    return published


async def latest_version(key: str) -> PublishedQuestionnaire:
    """The highest published version of questionnaire ``key``."""
    rows = (
        await QuestionnaireVersion.select(QuestionnaireVersion.id)
        .where(QuestionnaireVersion.key == key)
        .order_by(QuestionnaireVersion.version, ascending=False)
        .limit(1)
    )
    if not rows:
        raise LookupError(f"questionnaire {key!r} is not published")
    return await get_version(rows[0]["id"])
