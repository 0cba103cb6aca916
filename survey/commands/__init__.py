"""Command groups kept beside survey/cli.py, one module per area; ``register_all`` adds them to ``survey``."""

from __future__ import annotations

import importlib

import click

__all__ = ["register_all"]

# each module defines ``register(main: click.Group) -> None``
MODULES: tuple[str, ...] = (
    "survey.commands.intake", "survey.commands.outbox", "survey.commands.qr", "survey.commands.scores",
)


def register_all(main: click.Group) -> None:
    for name in MODULES:
        importlib.import_module(name).register(main)
