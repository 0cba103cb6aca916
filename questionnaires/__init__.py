"""Questionnaires: the model (questions, scales, criteria, skip logic, translations), the YAML
loader and validator, answer parsing, and the bundled definitions.

A pure library (standard library and PyYAML): the application composes it. See
``questionnaires/README.md`` for the YAML format.
"""

from __future__ import annotations

from questionnaires.answers import (
    AnswerCheck,
    from_storage,
    parse_answers,
    to_storage,
    visible_pages,
    visible_questions,
)
from questionnaires.bundled import DEFINITIONS_DIR, bundled_paths, load_bundled
from questionnaires.loader import (
    Problem,
    QuestionnaireError,
    load_file,
    load_text,
    validate_file,
    validate_text,
)
from questionnaires.model import (
    AnswerValue,
    Condition,
    Criterion,
    FollowUpRule,
    IndexDefinition,
    Option,
    Question,
    Questionnaire,
    QuestionType,
    Scale,
    Text,
    Weighting,
)
from questionnaires.navigation import PageStep, as_form, plan_page, resume_page

__all__ = [
    "DEFINITIONS_DIR",
    "AnswerCheck",
    "AnswerValue",
    "Condition",
    "Criterion",
    "FollowUpRule",
    "IndexDefinition",
    "Weighting",
    "Option",
    "PageStep",
    "Problem",
    "Question",
    "QuestionType",
    "Questionnaire",
    "QuestionnaireError",
    "Scale",
    "Text",
    "as_form",
    "bundled_paths",
    "from_storage",
    "load_bundled",
    "load_file",
    "load_text",
    "parse_answers",
    "plan_page",
    "resume_page",
    "to_storage",
    "validate_file",
    "validate_text",
    "visible_pages",
    "visible_questions",
]
