from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "rate_counter: failed sign-ins and unknown survey links counted where every server process sees them"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="survey", description=DESCRIPTION)

    async def rate_counter():
        from survey.db import is_sqlite, run_sql

        key = "INTEGER PRIMARY KEY" if is_sqlite() else "SERIAL PRIMARY KEY"
        await run_sql(
            f"CREATE TABLE IF NOT EXISTS rate_counter (id {key}, key VARCHAR(200) NOT NULL UNIQUE, "
            "failures INTEGER NOT NULL DEFAULT 0, window_start DOUBLE PRECISION NOT NULL DEFAULT 0, "
            "last_failure_at DOUBLE PRECISION NOT NULL DEFAULT 0, blocked_until DOUBLE PRECISION NOT NULL DEFAULT 0)"
        )
        await run_sql("CREATE INDEX IF NOT EXISTS rate_counter_last_failure_at ON rate_counter (last_failure_at)")

    manager.add_raw(rate_counter)

    return manager
