from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Each group's newest comments from indexes alone: response (unit, submitted_at, status, questionnaire) " \
              "and the answers that hold text, by response"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="survey", description=DESCRIPTION)

    async def comment_indexes():
        # survey.services.scores.comments.newest_commented: a group's newest responses, then which left a comment,
        # each read from an index without visiting the table
        from survey.tables import Response

        await Response.raw("CREATE INDEX IF NOT EXISTS response_unit_submitted_cover ON response "
                           "(unit, submitted_at, status, questionnaire)")
        await Response.raw("DROP INDEX IF EXISTS response_unit_submitted")
        await Response.raw("CREATE INDEX IF NOT EXISTS answer_text_response ON answer (response, question_id) "
                           "WHERE value_text IS NOT NULL AND value_text <> ''")

    manager.add_raw(comment_indexes)

    return manager
