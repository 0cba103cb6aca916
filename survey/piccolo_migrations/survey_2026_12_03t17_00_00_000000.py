from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON, Float, ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.table import Table

ID = "2026-12-03T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Alerts: a unit whose dissatisfied share over the rolling window rose above its funnel limit"


class Unit(Table, tablename="unit", schema=None):
    id = Serial(primary_key=True)


class StaffUser(Table, tablename="staff_user", schema=None):
    id = Serial(primary_key=True)


class Alert(Table, tablename="alert", schema=None):
    unit = ForeignKey(Unit, index=True)
    status = Varchar(length=16, default="open", index=True)
    opened_at = Timestamptz()
    window_start = Timestamptz()
    n = Integer()
    dissatisfied = Integer()
    share = Float()
    upper_limit = Float()
    centre_share = Float()
    checked_at = Timestamptz()
    last_share = Float()
    acknowledged_at = Timestamptz(null=True, default=None)
    acknowledged_by = ForeignKey(StaffUser, null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    notes = JSON(default="[]")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="survey", description=DESCRIPTION)

    async def alerts():
        from survey.db import engine

        for table in (Unit, StaffUser, Alert):  # the database migrated now (the tests migrate two in turn)
            table._meta._db = engine()
        await Alert.create_table(if_not_exists=True)
        # one active alert per unit, whatever two workers evaluating at once decide
        await Alert.raw("CREATE UNIQUE INDEX IF NOT EXISTS alert_active_unit ON alert (unit) "
                        "WHERE status IN ('open', 'acknowledged')")

    manager.add_raw(alerts)

    return manager
