from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T19:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "api_key.scopes (existing keys get all four: contacts, tickets, opt-outs, scores:read); audit_event " \
              "append-only: triggers refuse UPDATE and DELETE of its rows on SQLite and PostgreSQL"

ALL_SCOPES = "contacts,tickets,opt-outs,scores:read"

SQLITE_TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: an event cannot be changed'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: an event cannot be deleted'); END",
]

POSTGRES_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_event is append-only: % of an event is refused', TG_OP "
    "USING ERRCODE = 'insufficient_privilege'; END $$",
    "DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event",
    "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="survey", description=DESCRIPTION)

    async def scopes_and_triggers():
        from survey.db import is_sqlite, run_sql

        await run_sql(f"ALTER TABLE api_key ADD COLUMN scopes TEXT NOT NULL DEFAULT '{ALL_SCOPES}'")
        for statement in SQLITE_TRIGGERS if is_sqlite() else POSTGRES_TRIGGERS:
            await run_sql(statement)

    manager.add_raw(scopes_and_triggers)

    return manager
