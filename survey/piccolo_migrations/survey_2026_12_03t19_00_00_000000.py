from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "response.answered: the criteria each response answered as a bit mask, kept with the score counts, " \
              "which the responses list's criterion filter (a figure's drill-down) reads"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="survey", description=DESCRIPTION)

    async def answered():
        from survey.db import run_sql
        from survey.services.aggregates.counting import mark_answered, published_keys
        from survey.services.questionnaires import latest_version

        await run_sql("ALTER TABLE response ADD COLUMN answered INTEGER NOT NULL DEFAULT 0")
        for key in await published_keys():
            await mark_answered(key, (await latest_version(key)).questionnaire)

    manager.add_raw(answered)

    return manager
