"""GET /health: what a load balancer or an operator asks first; the bundled questionnaires after migrating."""

from __future__ import annotations

import socket

import pytest


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_health_reports_the_database_reachable(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert response.headers["cache-control"] == "no-store"  # a monitor must see the present, never a cached reply


# Piccolo warns that it cannot connect: that is the point here
@pytest.mark.filterwarnings("ignore:.*Unable to connect to database")
async def test_health_reports_an_unreachable_database_with_503_and_ok_again_once_it_answers(client):
    from survey.db import bind, create_engine, engine
    from survey.settings import DatabaseSettings

    reachable = engine()
    bind(create_engine(DatabaseSettings(url=f"postgresql://postgres@127.0.0.1:{closed_port()}/survey")))
    try:
        response = await client.get("/health")
    finally:
        bind(reachable)
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}
    assert (await client.get("/health")).json() == {"status": "ok", "database": "ok"}


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
