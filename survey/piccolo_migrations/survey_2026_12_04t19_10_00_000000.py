from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T19:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sandbox_message: the recipient and the text encrypted like any contact detail (to_encrypted, " \
              "text_encrypted, html_encrypted), with a masked recipient for lists and its lookup key (to_hmac); " \
              "the rows kept so far are encrypted, their clear columns dropped"

ADD = [
    "ALTER TABLE sandbox_message ADD COLUMN to_encrypted TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE sandbox_message ADD COLUMN to_masked VARCHAR(200) NOT NULL DEFAULT ''",
    "ALTER TABLE sandbox_message ADD COLUMN to_hmac VARCHAR(64) NOT NULL DEFAULT ''",
    "ALTER TABLE sandbox_message ADD COLUMN text_encrypted TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE sandbox_message ADD COLUMN html_encrypted TEXT",
    "CREATE INDEX IF NOT EXISTS sandbox_message_to_hmac ON sandbox_message (to_hmac)",
]
DROP = [
    "ALTER TABLE sandbox_message DROP COLUMN to_address",
    "ALTER TABLE sandbox_message DROP COLUMN body_text",
    "ALTER TABLE sandbox_message DROP COLUMN body_html",
]
BATCH = 500


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="survey", description=DESCRIPTION)

    async def encrypt_sandbox():
        from survey.crypto import cipher, mask_address, normalised_address
        from survey.db import is_sqlite, run_sql

        if is_sqlite():
            # the freed space of the clear rows is zeroed, not left readable in the file (this connection only)
            await run_sql("PRAGMA secure_delete = ON")
        for statement in ADD:
            await run_sql(statement)
        box = cipher()
        last = 0
        while True:
            rows = await run_sql("SELECT id, to_address, body_text, body_html FROM sandbox_message WHERE id > {} "
                                 "ORDER BY id LIMIT {}", last, BATCH)
            if not rows:
                break
            for row in rows:
                to = row["to_address"] or ""
                # the clear columns are emptied in the same row version (PostgreSQL keeps dropped columns' data)
                await run_sql(
                    "UPDATE sandbox_message SET to_encrypted = {}, to_masked = {}, to_hmac = {}, text_encrypted = {}, "
                    "html_encrypted = {}, to_address = '', body_text = '', body_html = NULL WHERE id = {}",
                    box.encrypt(to), mask_address(to), box.lookup_key(normalised_address(to)),
                    box.encrypt(row["body_text"] or ""),
                    box.encrypt(row["body_html"]) if row["body_html"] else None, row["id"],
                )
            last = rows[-1]["id"]
        for statement in DROP:
            await run_sql(statement)

    manager.add_raw(encrypt_sandbox)

    return manager
