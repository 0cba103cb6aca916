"""The survey application: settings, tables, services, HTTP controllers, worker and CLI."""

from __future__ import annotations

import os

# Piccolo finds its engine through this module; set it before any table is used.
os.environ.setdefault("PICCOLO_CONF", "survey.piccolo_conf")
