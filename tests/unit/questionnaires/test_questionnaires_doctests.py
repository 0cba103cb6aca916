"""The examples in the docstrings run as written."""

from __future__ import annotations

import doctest
from pathlib import Path
from types import ModuleType

import pytest

import questionnaires
from questionnaires import Condition, answers, load_text, loader, model, navigation


@pytest.mark.parametrize("module", [model, loader, answers, navigation], ids=lambda m: m.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0


def test_the_readme_example_is_a_valid_questionnaire() -> None:
    readme = (Path(questionnaires.__file__).parent / "README.md").read_text(encoding="utf-8")
    example = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    q = load_text(example, "README.md")
    assert q.question("feedback_handled").show_if == Condition("complained", "equals", "yes")
    assert q.follow_up is not None
    assert q.follow_up.triggered_by({"overall": 1}) == ("overall = 1 (at most 2)",)
