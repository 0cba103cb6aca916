"""The ``survey`` commands, one module per area; ``survey/cli.py`` imports each and calls its ``register(main)``."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run"]

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion (the CLI is synchronous; the services are async)."""
    return asyncio.run(coroutine)
