"""The one Piccolo app of the project: its tables and migrations."""

from __future__ import annotations

import os

from piccolo.conf.apps import AppConfig, table_finder

__all__ = ["APP_CONFIG"]

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="survey",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=table_finder(modules=["survey.tables"], exclude_imported=True),
    migration_dependencies=[],
    commands=[],
)
