from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T06:06:09:954353"
VERSION = "1.38.0"
DESCRIPTION = "A schedule's period is claimed once: a unique index on report_run.run_key"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="survey", description=DESCRIPTION)

    async def run_key_unique():
        # SQLite cannot add a UNIQUE column, so the previous migration added it plain and this index makes it unique
        from survey.tables import ReportRun

        await ReportRun.raw("CREATE UNIQUE INDEX IF NOT EXISTS report_run_run_key_unique ON report_run (run_key)")

    manager.add_raw(run_key_unique)

    return manager
