"""``survey reports list`` and ``survey reports schedule add|list|remove``: the archive and the schedules."""

from __future__ import annotations

import click

__all__ = ["register"]


def register(reports: click.Group) -> None:
    """Add the archive's and the schedules' commands to ``survey reports``."""
