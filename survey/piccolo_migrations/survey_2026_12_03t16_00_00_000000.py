from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Date, ForeignKey, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

ID = "2026-12-03T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "The working calendar's entered days (calendar_day), the units' mailboxes, and what a follow-up case " \
              "keeps through its life: outcome, root cause, resolved, escalation, notification, version"


class StaffUser(Table, tablename="staff_user", schema=None):
    id = Serial(primary_key=True)


class CalendarDay(Table, tablename="calendar_day", schema=None):
    day = Date(unique=True)
    kind = Varchar(length=16)
    name = Varchar(length=200)
    swap_with = Date(null=True, default=None)
    created_by = ForeignKey(StaffUser, null=True)
    created_at = Timestamptz(default=TimestamptzNow())


COLUMNS = [
    "ALTER TABLE unit ADD COLUMN email VARCHAR(200)",
    "ALTER TABLE follow_up ADD COLUMN outcome TEXT",
    "ALTER TABLE follow_up ADD COLUMN root_cause VARCHAR(64)",
    "ALTER TABLE follow_up ADD COLUMN resolved BOOLEAN",
    "ALTER TABLE follow_up ADD COLUMN escalated_at TIMESTAMPTZ",
    "ALTER TABLE follow_up ADD COLUMN escalated_to INTEGER REFERENCES unit (id)",
    "ALTER TABLE follow_up ADD COLUMN notified_at TIMESTAMPTZ",
    "ALTER TABLE follow_up ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX IF NOT EXISTS follow_up_due ON follow_up (due_at) WHERE status IN ('open', 'in_progress')",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="survey", description=DESCRIPTION)

    async def calendar_and_cases():
        from survey.db import engine

        for table in (StaffUser, CalendarDay):  # the database migrated now (the tests migrate two in turn)
            table._meta._db = engine()
        await CalendarDay.create_table(if_not_exists=True)
        for statement in COLUMNS:
            await CalendarDay.raw(statement)

    manager.add_raw(calendar_and_cases)

    return manager
