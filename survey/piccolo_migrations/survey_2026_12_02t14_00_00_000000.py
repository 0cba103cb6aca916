from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "response.commented, kept with the score counts, and a partial index of the commented responses by unit " \
              "and time: each group's newest comments read straight from it"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="survey", description=DESCRIPTION)

    async def commented():
        from survey.services.aggregates.counting import mark_commented, published_keys
        from survey.services.questionnaires import latest_version
        from survey.tables import Response

        await Response.raw("ALTER TABLE response ADD COLUMN commented INTEGER NOT NULL DEFAULT 0")
        await Response.raw("CREATE INDEX IF NOT EXISTS response_commented ON response (unit, submitted_at) "
                           "WHERE commented = 1")
        for key in await published_keys():
            await mark_commented(key, (await latest_version(key)).questionnaire)

    manager.add_raw(commented)

    return manager
