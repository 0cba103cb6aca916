from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Complete responses kept as counts per month cell (score_cell, score_coding), counted from the rows there"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="survey", description=DESCRIPTION)

    async def kept_counts():
        from survey.db import run_sql
        from survey.services.aggregates.counting import published_keys, questionnaire_published
        from survey.services.aggregates.store import create_tables

        for statement in create_tables():
            await run_sql(statement)
        for key in await published_keys():
            await questionnaire_published(key, mark=False)  # counts the responses already there

    manager.add_raw(kept_counts)

    return manager
