from __future__ import annotations


async def test_health_reports_the_database_reachable(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert response.headers["cache-control"] == "no-store"  # a monitor must see the present, never a cached reply


async def test_bundled_questionnaires_are_published_once(client, database):
    from survey.services.questionnaires import latest_version, publish_bundled
    from survey.tables import QuestionnaireVersion

    # the app's start published them; publishing again (a second server starting) adds no version
    await publish_bundled()
    assert await QuestionnaireVersion.count() == 3
    counter = await latest_version("counter")
    assert counter.questionnaire.id == "counter"
    assert [c.id for c in counter.questionnaire.criteria] == ["access", "procedure", "civil_servant", "result",
                                                              "feedback"]
