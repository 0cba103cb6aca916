"""The questionnaires shipped with the application, in ``questionnaires/definitions/``."""

from __future__ import annotations

from pathlib import Path

from questionnaires.loader import Problem, QuestionnaireError, load_text
from questionnaires.model import Questionnaire

__all__ = ["DEFINITIONS_DIR", "bundled_paths", "load_bundled"]

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"


def bundled_paths() -> list[Path]:
    """The bundled YAML files, sorted by name."""
    return sorted(DEFINITIONS_DIR.glob("*.yaml"))


def load_bundled() -> dict[str, Questionnaire]:
    """Every bundled questionnaire by id; raises ``QuestionnaireError`` if one is invalid.

    ``source`` is the file name (``counter.yaml``), the same on every machine.
    """
    result: dict[str, Questionnaire] = {}
    for path in bundled_paths():
        questionnaire = load_text(path.read_text(encoding="utf-8"), file=path.name)
        if questionnaire.id in result:
            other = result[questionnaire.id].source
            raise QuestionnaireError(
                [Problem(path.name, None, "id", f"'{questionnaire.id}' is also the id of {other}")]
            )
        result[questionnaire.id] = questionnaire
    return result
