"""JSON API under /api/v1 (being built)."""

from __future__ import annotations

from typing import Any

__all__ = ["LIFESPAN", "ROUTES"]

ROUTES: list[Any] = []
LIFESPAN: list[Any] = []
