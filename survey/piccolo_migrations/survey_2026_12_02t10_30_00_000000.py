from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T10:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "A unit's newest responses without a scan: an index on response (unit, submitted_at)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="survey", description=DESCRIPTION)

    async def unit_submitted_index():
        # the comments a score page quotes are each group's newest few: read down this index, never the period
        from survey.tables import Response

        await Response.raw("CREATE INDEX IF NOT EXISTS response_unit_submitted ON response (unit, submitted_at)")

    manager.add_raw(unit_submitted_index)

    return manager
