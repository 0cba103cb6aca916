"""``survey reports schedule add|list|remove``: the report schedules (written on another branch; this stub keeps
``survey.commands.report_archive.register`` working until it lands)."""

from __future__ import annotations

import click

__all__ = ["register"]


def register(reports: click.Group) -> None:
    """Add ``survey reports schedule`` to ``survey reports`` (nothing yet)."""
