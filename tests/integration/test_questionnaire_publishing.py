"""A published questionnaire version is immutable: a change needs a new version, and both are kept."""

from __future__ import annotations

import pytest

from questionnaires import DEFINITIONS_DIR, load_text


def _counter_text() -> str:
    return (DEFINITIONS_DIR / "counter.yaml").read_text(encoding="utf-8")


async def test_changing_a_published_version_is_refused(database):
    from survey.services.questionnaires import PublishConflict, publish
    from survey.tables import QuestionnaireVersion

    original = load_text(_counter_text(), "counter.yaml")
    await publish(original)
    changed = load_text(_counter_text().replace("Rất hài lòng", "Cực kỳ hài lòng", 1), "counter.yaml")
    assert changed.checksum != original.checksum
    version = original.version
    with pytest.raises(PublishConflict, match=rf"version {version} of 'counter' is already published.*raise 'version'"):
        await publish(changed)
    assert await QuestionnaireVersion.count() == 1


async def test_a_new_version_is_published_beside_the_old_one(database):
    from survey.services.questionnaires import get_version, latest_version, publish

    first = await publish(load_text(_counter_text(), "counter.yaml"))
    version = first.questionnaire.version
    second_text = (
        _counter_text()
        .replace(f"version: {version}", f"version: {version + 1}", 1)
        .replace("Rất hài lòng", "Cực kỳ hài lòng", 1)
    )
    second = await publish(load_text(second_text, "counter.yaml"))
    assert (await latest_version("counter")).row_id == second.row_id
    # the old version is still there, unchanged, for the responses that answered it
    old = await get_version(first.row_id)
    assert old.questionnaire.version == version
    assert old.questionnaire.checksum == first.questionnaire.checksum
