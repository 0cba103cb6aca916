"""Piccolo configuration (``PICCOLO_CONF=survey.piccolo_conf``): the engine comes from the settings."""

from __future__ import annotations

from piccolo.conf.apps import AppRegistry

from survey.db import create_engine

__all__ = ["APP_REGISTRY", "DB"]

DB = create_engine()
APP_REGISTRY = AppRegistry(apps=["survey.piccolo_app"])
