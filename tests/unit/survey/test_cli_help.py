"""Every command answers --help; the questionnaire commands report problems as file:line: path."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from survey.cli import main


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*prefix, name)))
    return found


@pytest.mark.parametrize("path", _commands(main), ids=" ".join)
def test_every_command_has_help_text(path):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    command = main
    for name in path:
        command = command.commands[name]
    assert command.help and len(command.help.strip()) > 10, f"'survey {' '.join(path)}' has no help text"


def test_questionnaires_list_shows_the_bundled_ones():
    result = CliRunner().invoke(main, ["questionnaires", "list"])
    assert result.exit_code == 0
    for key in ("post-call", "counter", "online-service"):
        assert key in result.output


def test_questionnaires_validate_reports_each_problem_and_fails(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: Bad Id\nversion: 0\n")
    good = tmp_path / "good.yaml"
    from questionnaires import DEFINITIONS_DIR

    good.write_text((DEFINITIONS_DIR / "counter.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    result = CliRunner().invoke(main, ["questionnaires", "validate", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"{good}: ok" in result.output
    assert f"{bad}:1: id:" in result.output
    assert f"{bad}:2: version:" in result.output
    assert "1 of 2 file(s) have problems" in result.output


def test_scores_help_names_the_methods_and_the_inference_minimum():
    result = CliRunner().invoke(main, ["scores", "--help"], terminal_width=120)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for words in ("--min-n-inference", "Fisher's exact test", "Benjamini-Hochberg q-value", "Spearman-Brown",
                  "Cochran-Armitage", "index.criteria", "Spiegelhalter 2005"):
        assert words in text, words


def test_methodology_states_the_minimums_it_is_given():
    result = CliRunner().invoke(main, ["methodology", "--min-n", "50", "--min-n-inference", "20"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Below n < 50 answers nothing about a group is shown except its n" in text
    assert "only from n = 50 answers" in text and "Benjamini–Hochberg q-value" in text
    refused = CliRunner().invoke(main, ["methodology", "--min-n", "0"])
    assert refused.exit_code == 2 and "min_n" in refused.output and "Traceback" not in refused.output


def test_methodology_speaks_vietnamese_when_asked_and_english_by_default():
    vietnamese = CliRunner().invoke(main, ["methodology", "--lang", "vi", "--min-n", "50"])
    assert vietnamese.exit_code == 0, vietnamese.output
    text = " ".join(vietnamese.output.split())
    assert "Đối tượng được tính" in text and "Nhóm có n < 50 phiếu trả lời" in text and "giá trị q" in text
    assert "Who is counted" in CliRunner().invoke(main, ["methodology"]).output
    refused = CliRunner().invoke(main, ["methodology", "--lang", "fr"])
    assert refused.exit_code == 2 and "'fr' is not one of 'vi', 'en'" in refused.output
