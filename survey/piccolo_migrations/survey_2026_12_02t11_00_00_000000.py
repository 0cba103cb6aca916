from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Delivered invitations and contacts counted per month by triggers (invitation_cell, contact_cell)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="survey", description=DESCRIPTION)

    async def kept_volumes():
        # the tables, the months of the configured timezone, the triggers, and the rows already there counted
        from survey.services.scores.volumes import install
        from survey.settings import get_settings

        await install(get_settings().timezone)

    manager.add_raw(kept_volumes)

    return manager
