"""Vietnamese and English for the interface: ``t(key, lang)`` and Jinja filters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["MESSAGES", "pick", "register", "t"]

# Interface strings shared by pages; page-specific strings may live beside their controller.
MESSAGES: dict[str, dict[str, str]] = {
    "app_name": {"vi": "Khảo sát sự hài lòng", "en": "Satisfaction survey"},
    "organisation": {"vi": "Bảo hiểm xã hội Việt Nam", "en": "Vietnam Social Security"},
}


def t(key: str, lang: str) -> str:
    """The interface text ``key`` in ``lang`` (Vietnamese when missing), or the key itself."""
    texts = MESSAGES.get(key)
    if texts is None:
        return key
    return texts.get(lang) or texts.get("vi") or key


def pick(texts: Mapping[str, str] | None, lang: str) -> str:
    """A questionnaire text in ``lang``, falling back to Vietnamese, then to any language."""
    if not texts:
        return ""
    return texts.get(lang) or texts.get("vi") or next(iter(texts.values()), "")


def register(env: Any) -> None:
    env.globals["t"] = t
    env.filters["pick"] = pick
