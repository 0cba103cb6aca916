"""``survey demo --no-serve``: a fresh SQLite file with the organisation, users, links and a year of responses.

The demo always builds its own SQLite database, so these tests point ``SURVEY_DATABASE_URL`` at a
temporary file, and give every table its previous engine back afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from survey.settings import get_settings

RESPONSES = 3_000


@pytest.fixture
def demo_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings pointing at a temporary SQLite file; the previous engine and settings come back afterwards."""
    from survey.db import bind, engine

    previous = engine()
    path = tmp_path / "demo.sqlite3"
    for leftover in ("demo.sqlite3", "demo.sqlite3-wal", "demo.sqlite3-shm"):  # an old demo is replaced, not reused
        (tmp_path / leftover).write_text("not a database")
    monkeypatch.setenv("SURVEY_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    try:
        yield path
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        bind(previous)


async def test_seeding_writes_a_year_that_piccolo_and_the_services_read_back(demo_database: Path) -> None:
    from questionnaires import from_storage
    from survey.demo import build_demo
    from survey.reference import PROVINCES
    from survey.services.accounts import authenticate
    from survey.services.invitations import survey_url
    from survey.services.questionnaires import get_version
    from survey.tables import (
        Answer,
        Contact,
        Counter,
        FollowUp,
        Invitation,
        QuestionnaireVersion,
        Response,
        Service,
        StaffUser,
        Unit,
    )

    result = await build_demo(get_settings(), responses=RESPONSES, seed=5, today=date(2026, 11, 23))
    assert result.database == demo_database

    districts = sum(len(p.districts) for p in PROVINCES)
    assert len(PROVINCES) >= 10
    assert await Unit.count() == 1 + len(PROVINCES) + districts
    assert await Service.count() >= 10 and await Counter.count() >= 2 * (len(PROVINCES) + districts)
    assert await QuestionnaireVersion.count() == 3

    complete = await Response.count().where(Response.status == "complete")
    assert complete == RESPONSES == result.counts["responses"] - await Response.count().where(
        Response.status == "incomplete")
    assert await Contact.count() > 1.25 * await Response.count()
    assert await Answer.count() == result.counts["answers"] > 8 * RESPONSES
    assert await FollowUp.count() == result.counts["follow_ups"] > 0

    # Timestamps come back as aware datetimes inside the twelve months; answers with their types.
    first, last = datetime(2025, 10, 31, 17, tzinfo=UTC), datetime(2026, 10, 31, 17, tzinfo=UTC)
    rows = await Response.select().where(Response.status == "complete").order_by(Response.id).limit(200)
    for row in rows:
        assert row["submitted_at"].tzinfo is not None and first <= row["submitted_at"] < last
        assert row["started_at"] <= row["submitted_at"]
    sample = rows[-1]
    published = await get_version(sample["questionnaire"])
    answers = await Answer.select().where(Answer.response == sample["id"])
    assert answers
    for answer in answers:
        question = published.questionnaire.question(answer["question_id"])
        value = from_storage(question, answer["value_number"], answer["value_text"])
        if question.scale is not None:
            assert isinstance(answer["value_number"], float) and value in question.scale
        else:
            assert isinstance(answer["value_text"], str)
    overall = await Answer.select(Answer.value_number).where(
        (Answer.question_id == "overall") & (Answer.response.status == "complete"))
    assert len(overall) == RESPONSES and {row["value_number"] for row in overall} <= {1.0, 2.0, 3.0, 4.0, 5.0}
    case = await FollowUp.select().where(FollowUp.status == "closed").first()
    assert case is not None and case["closed_at"] > case["created_at"]
    counter_response = await Response.select(Response.counter.code, Response.unit.code).where(
        Response.channel == "counter").first()
    assert counter_response["counter.code"].startswith(counter_response["unit.code"] + "-")

    # One user per role (two unit managers), each able to sign in with the printed password.
    roles = sorted(row["role"] for row in await StaffUser.select(StaffUser.role))
    assert roles == ["admin", "leader", "quality", "unit_manager", "unit_manager"]
    for user in result.users:
        assert await authenticate(user.username, user.password) is not None
    managers = {u.unit_code for u in result.users if u.role == "unit_manager"}
    assert len(managers) == 2

    # Three live links, one unused invitation each, and the addresses to click.
    assert await Invitation.count() == 3
    assert [url.rsplit("/", 1)[0] for _, url in result.links] == [survey_url("x").rsplit("/", 1)[0]] * 3
    assert result.counter_url.endswith("/q/HN-BD-Q1") and result.login_url.endswith("/staff/login")


def test_cli_demo_no_serve_prints_where_to_click(demo_database: Path) -> None:
    from survey.cli import main
    from survey.tables import Response

    outcome = CliRunner().invoke(main, ["demo", "--no-serve", "--responses", "1000", "--seed", "3"])
    assert outcome.exit_code == 0, outcome.output
    assert demo_database.read_bytes().startswith(b"SQLite format 3")
    base = get_settings().base_url
    for expected in (f"{base}/s/", f"{base}/q/HN-BD-Q1", f"{base}/staff/login", "unit_manager", "What to look for",
                     "Tết"):
        assert expected in outcome.output
    complete = Response.count().where(Response.status == "complete").run_sync()
    assert complete == 1000


def test_cli_demo_refuses_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    from survey.cli import main

    monkeypatch.setenv("SURVEY_DATABASE_URL", "postgresql://someone@127.0.0.1/survey")
    get_settings.cache_clear()
    try:
        outcome = CliRunner().invoke(main, ["demo", "--no-serve"])
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert outcome.exit_code != 0
    assert "SQLite" in outcome.output and "SURVEY_DATABASE_URL" in outcome.output
