"""Shared fixtures: settings for tests, a real SQLite file and a real PostgreSQL server, the app.

Integration tests take the ``database`` fixture, which runs each test twice: on SQLite and on the
PostgreSQL server that ``scripts/pg.sh`` starts on loopback for the session (or the one named by
``SURVEY_TEST_POSTGRES_URL``). If PostgreSQL cannot be started the run stops with the reason: it is
never skipped silently.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_VAR = Path(tempfile.mkdtemp(prefix="survey-test-var-"))
# The environment is set before anything imports the settings.
os.environ["SURVEY_VAR_DIR"] = str(_VAR)
os.environ["SURVEY_SECRET_KEY"] = "test-secret-key-" + "x" * 32
os.environ["SURVEY_DATABASE_URL"] = f"sqlite:///{_VAR / 'test.sqlite3'}"
os.environ["SURVEY_BASE_URL"] = "http://testserver.local"
os.environ["PICCOLO_CONF"] = "survey.piccolo_conf"
# the test client runs the app on a loop of its own: an asyncpg pool must not be shared across loops
os.environ["SURVEY_DATABASE_POOL"] = "false"
# tests that need the outbox worker run it themselves, so nothing is sent behind another test's back
os.environ["SURVEY_WORKER_IN_PROCESS"] = "false"

from survey.settings import get_settings  # noqa: E402

get_settings.cache_clear()

_pg_dir: Path | None = None


def _postgres_url() -> str:
    """The URL of the test PostgreSQL server, starting one if the test command did not."""
    global _pg_dir
    url = os.environ.get("SURVEY_TEST_POSTGRES_URL")
    if url:
        return url
    _pg_dir = Path(tempfile.mkdtemp(prefix="survey-test-pg-"))
    result = subprocess.run([str(ROOT / "scripts" / "pg.sh"), "start", str(_pg_dir)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.exit(
            "PostgreSQL could not be started for the integration tests (scripts/pg.sh start):\n"
            f"{result.stderr.strip()}\nInstall it with scripts/bootstrap.sh, or set SURVEY_TEST_POSTGRES_URL.",
            returncode=1,
        )
    url = result.stdout.strip().splitlines()[-1]
    os.environ["SURVEY_TEST_POSTGRES_URL"] = url
    return url


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running until its session ends,
    and no asyncio test can run while it does."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _pg_dir is not None:
        subprocess.run([str(ROOT / "scripts" / "pg.sh"), "stop", str(_pg_dir)], capture_output=True)


@pytest.fixture(scope="session")
def engines() -> dict[str, object]:
    """One engine per database kind, created once; the schema is migrated on first use."""
    from survey.db import create_engine
    from survey.settings import DatabaseSettings

    return {
        "sqlite": create_engine(get_settings().database),
        "postgres": create_engine(DatabaseSettings(url=_postgres_url())),
    }


_migrated: set[str] = set()


async def _reset(kind: str) -> None:
    from survey.db import all_tables, engine, migrate

    if kind not in _migrated:
        await migrate()
        _migrated.add(kind)
    db = engine()
    names = [t._meta.tablename for t in all_tables()]
    if kind == "postgres":
        await db.run_ddl(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")
    else:
        # the append-only tables' triggers refuse a DELETE (PostgreSQL's TRUNCATE fires none): set aside meanwhile
        from survey.db import run_sql

        triggers = await run_sql("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        for trigger in triggers:
            await db.run_ddl(f"DROP TRIGGER {trigger['name']}")
        # children before parents: the reverse of the declaration order, then the self-referencing units
        await db.run_ddl("PRAGMA defer_foreign_keys = ON")
        for name in reversed(names):
            await db.run_ddl(f"DELETE FROM {name}")
        for trigger in triggers:
            await db.run_ddl(trigger["sql"])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, engines: dict[str, object]) -> AsyncIterator[str]:
    """An empty, migrated database of each kind in turn; yields ``"sqlite"`` or ``"postgres"``."""
    from survey.db import bind

    kind: str = request.param
    bind(engines[kind])  # type: ignore[arg-type]
    await _reset(kind)
    yield kind


@pytest.fixture
async def reference(database: str) -> str:
    """The demo organisation (units, services, counters) and the published bundled questionnaires."""
    from survey.reference import seed_reference
    from survey.services.questionnaires import publish_bundled

    await seed_reference()
    await publish_bundled()
    return database


@pytest.fixture
async def client(reference: str) -> AsyncIterator[object]:
    """An HTTP client for the app on the current database (lifespan run, cookies kept)."""
    from litestar.testing import AsyncTestClient

    from survey.app import create_app

    async with AsyncTestClient(app=create_app(), base_url="http://testserver.local") as test_client:
        yield test_client


@pytest.fixture(scope="session")
def var_dir() -> Iterator[Path]:
    yield _VAR
