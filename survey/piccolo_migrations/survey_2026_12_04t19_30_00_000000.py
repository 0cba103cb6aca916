from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T19:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Data subjects' requests (rights_request: export, erase, access, correct, restrict) with their due " \
              "dates on the working calendar"

STATEMENTS = [
    "CREATE TABLE IF NOT EXISTS rights_request ("
    "id {serial} PRIMARY KEY, "
    "kind VARCHAR(16) NOT NULL DEFAULT '', "
    "subject_encrypted TEXT NOT NULL DEFAULT '', "
    "subject_hmac VARCHAR(64) NOT NULL DEFAULT '', "
    "subject_masked VARCHAR(80) NOT NULL DEFAULT '', "
    "received_at TIMESTAMPTZ NOT NULL, "
    "acknowledge_due TIMESTAMPTZ NOT NULL, "
    "complete_due TIMESTAMPTZ NOT NULL, "
    "acknowledged_at TIMESTAMPTZ, "
    "completed_at TIMESTAMPTZ, "
    "handled_by VARCHAR(120) NOT NULL DEFAULT '', "
    "note TEXT NOT NULL DEFAULT '')",
    "CREATE INDEX IF NOT EXISTS rights_request_subject_hmac ON rights_request (subject_hmac)",
    "CREATE INDEX IF NOT EXISTS rights_request_received_at ON rights_request (received_at)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="survey", description=DESCRIPTION)

    async def rights_requests():
        from survey.db import is_sqlite, run_sql

        serial = "INTEGER" if is_sqlite() else "SERIAL"
        for statement in STATEMENTS:
            await run_sql(statement.replace("{serial}", serial))

    manager.add_raw(rights_requests)

    return manager
