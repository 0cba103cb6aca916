"""A question as the survey and kiosk templates show it: its text, choices, the answer given, its error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from questionnaires import Question
from survey.i18n import pick

__all__ = ["question_view"]


def _choices(question: Question, lang: str, chosen: list[str]) -> list[dict[str, Any]]:
    if question.scale is not None:
        labels = question.scale.labels.get(lang) or question.scale.labels.get("vi") or {}
        return [{"value": str(p), "label": str(p), "caption": labels.get(p, ""), "checked": str(p) in chosen}
                for p in question.scale.points]
    return [{"value": o.value, "label": pick(o.label, lang), "caption": "", "checked": o.value in chosen}
            for o in question.options]


def question_view(question: Question, number: int, lang: str, form: Mapping[str, list[str]],
                   errors: Mapping[str, str]) -> dict[str, Any]:
    given = [v for v in form.get(question.id, []) if v]
    return {
        "id": question.id,
        "number": number,
        "type": question.type,
        "text": pick(question.text, lang),
        "help": pick(question.help, lang) if question.help else "",
        "required": question.required,
        "error": errors.get(question.id, ""),
        "multi": question.type == "multi",
        "scale": question.scale is not None,
        "choices": _choices(question, lang, given) if question.type != "text" else [],
        "text_value": given[0] if given and question.type == "text" else "",
        "max_length": question.max_length,
    }
