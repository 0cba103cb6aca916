# ruff: noqa: E501  (expected messages are kept verbatim, one per line)
"""The validator: every problem a questionnaire author can make, reported as `file:line: path: message`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from questionnaires import (
    DEFINITIONS_DIR,
    Problem,
    Questionnaire,
    QuestionnaireError,
    load_file,
    load_text,
    validate_file,
    validate_text,
)
from questionnaires.model import Weighting

# A small valid questionnaire; the cases below edit it. Line numbers are those of this text.
BASE = """\
id: demo
version: 1
languages: [vi, en]
title: {vi: "Khảo sát", en: "Survey"}
intro: {vi: "Xin chào", en: "Hello"}
criteria:
  - id: overall
    title: {vi: "Hài lòng chung", en: "Overall"}
    satisfied_threshold: 4
questions:
  - id: overall
    type: rating
    text: {vi: "Ông/Bà hài lòng không?", en: "Are you satisfied?"}
    criterion: overall
    scale: {min: 1, max: 5}
  - id: complaint
    type: single
    text: {vi: "Ông/Bà có khiếu nại không?", en: "Did you complain?"}
    options:
      - {value: "yes", label: {vi: "Có", en: "Yes"}}
      - {value: "no", label: {vi: "Không", en: "No"}}
"""


def edit(*replacements: tuple[str, str], append: str = "") -> str:
    text = BASE
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text + append


ALL_KEYS = "id, type, text, page, criterion, required, help, scale, options, max_length, show_if"

# (case, YAML text, one problem it must report). Line 22 is the first appended line.
CASES = [
    # -- the file as a whole --
    (
        "syntax error",
        edit(("version: 1", "version: [1")),
        "demo.yaml:3: YAML syntax error: expected ',' or ']', but got ':' (while parsing a flow sequence)",
    ),
    (
        "tab",
        "id: demo\n\tversion: 1\n",
        "demo.yaml:2: YAML syntax error: found character '\\t' that cannot start any token (while scanning for the next token)",
    ),
    (
        "two documents",
        BASE + "---\nid: other\n",
        "demo.yaml:22: YAML syntax error: but found another document (expected a single document in the stream)",
    ),
    ("empty file", "# nothing yet\n", "demo.yaml:1: the file is empty; expected a questionnaire mapping"),
    ("not a mapping", "- id: demo\n", "demo.yaml:1: expected a mapping, got a list"),
    (
        "unknown key with a guess",
        edit(("version: 1", "versoin: 1")),
        "demo.yaml:2: versoin: unknown key; did you mean 'version'? allowed keys: id, version, languages, title, intro, questions, channels, criteria, index, weighting, follow_up",
    ),
    (
        "unknown key",
        edit(append="colour: red\n"),
        "demo.yaml:22: colour: unknown key; allowed keys: id, version, languages, title, intro, questions, channels, criteria, index, weighting, follow_up",
    ),
    (
        "missing key",
        edit(('intro: {vi: "Xin chào", en: "Hello"}\n', "")),
        "demo.yaml:1: intro: required key is missing",
    ),
    ("duplicate key", edit(append="version: 2\n"), "demo.yaml:22: version: duplicate key (first at line 2)"),
    (
        "unsafe tag",
        edit(("type: single", "type: !!python/object:os.system single")),
        "demo.yaml:17: questions[1].type: the tag !!python/object:os.system is not allowed; only plain YAML values are",
    ),
    # -- identity --
    (
        "id pattern",
        edit(("id: demo", "id: Demo_1")),
        "demo.yaml:1: id: must match [a-z][a-z0-9-]* (lowercase letters, digits and hyphens, starting with a letter), got 'Demo_1'",
    ),
    (
        "id not text",
        edit(("id: demo", "id: 12")),
        'demo.yaml:1: id: expected text, got a whole number (12); put it in quotes: "12"',
    ),
    (
        "version zero",
        edit(("version: 1", "version: 0")),
        "demo.yaml:2: version: must be a positive whole number, got 0",
    ),
    (
        "version not a number",
        edit(("version: 1", "version: one")),
        "demo.yaml:2: version: expected a whole number, got text ('one')",
    ),
    (
        "version a float",
        edit(("version: 1", "version: 1.5")),
        "demo.yaml:2: version: expected a whole number, got a number (1.5)",
    ),
    # -- languages and texts --
    (
        "languages not a list",
        edit(("languages: [vi, en]", "languages: vi")),
        "demo.yaml:3: languages: expected a list, got text ('vi')",
    ),
    (
        "languages empty",
        edit(("languages: [vi, en]", "languages: []")),
        "demo.yaml:3: languages: must list at least one language; the first is the default",
    ),
    (
        "language code",
        edit(("languages: [vi, en]", "languages: [vi, English]")),
        "demo.yaml:3: languages[1]: must match [a-z]{2,3} (a lowercase ISO 639 code such as vi or en), got 'English'",
    ),
    (
        "duplicate language",
        edit(("languages: [vi, en]", "languages: [vi, vi]")),
        "demo.yaml:3: languages[1]: duplicate language 'vi'",
    ),
    (
        "missing translation",
        edit(('title: {vi: "Khảo sát", en: "Survey"}', 'title: {vi: "Khảo sát"}')),
        "demo.yaml:4: title: missing translation for: en",
    ),
    (
        "unknown language",
        edit(('intro: {vi: "Xin chào", en: "Hello"}', 'intro: {vi: "Xin chào", en: "Hello", fr: "Bonjour"}')),
        "demo.yaml:5: intro.fr: unknown language; the questionnaire's languages are: vi, en",
    ),
    (
        "empty text",
        edit(('title: {vi: "Khảo sát", en: "Survey"}', 'title: {vi: "Khảo sát", en: " "}')),
        "demo.yaml:4: title.en: must not be empty",
    ),
    (
        "text not per language",
        edit(('title: {vi: "Khảo sát", en: "Survey"}', 'title: "Survey"')),
        "demo.yaml:4: title: expected a text per language, like {vi: ..., en: ...}, got text ('Survey')",
    ),
    (
        "text not a string",
        edit(('intro: {vi: "Xin chào", en: "Hello"}', 'intro: {vi: "Xin chào", en: 2024}')),
        'demo.yaml:5: intro.en: expected text, got a whole number (2024); put it in quotes: "2024"',
    ),
    (
        "yes read as true",
        edit(('{value: "no",', "{value: no,")),
        'demo.yaml:21: questions[1].options[1].value: expected text, got true/false (no); put it in quotes: "no"',
    ),
    # -- channels --
    (
        "unknown channel",
        edit(append="channels: [call, sms]\n"),
        "demo.yaml:22: channels[1]: unknown channel 'sms'; allowed: call, counter, online, email, fanpage",
    ),
    (
        "duplicate channel",
        edit(append="channels: [call, call]\n"),
        "demo.yaml:22: channels[1]: duplicate channel 'call'",
    ),
    # -- criteria and index --
    (
        "criterion not a mapping",
        edit(append="index: {formula: mean_satisfied_share}\n").replace(
            '  - id: overall\n    title: {vi: "Hài lòng chung", en: "Overall"}\n    satisfied_threshold: 4\n',
            "  - overall\n",
        ),
        "demo.yaml:7: criteria[0]: expected a mapping, got text ('overall')",
    ),
    (
        "duplicate criterion",
        edit(
            (
                "    satisfied_threshold: 4\n",
                "    satisfied_threshold: 4\n  - id: overall\n    title: {vi: a, en: b}\n    satisfied_threshold: 4\n",
            )
        ),
        "demo.yaml:10: criteria[1].id: duplicate criterion id 'overall' (first at line 7)",
    ),
    (
        "weight zero",
        edit(("    satisfied_threshold: 4\n", "    satisfied_threshold: 4\n    weight: 0\n")),
        "demo.yaml:10: criteria[0].weight: must be greater than 0, got 0",
    ),
    (
        "weight not a number",
        edit(("    satisfied_threshold: 4\n", "    satisfied_threshold: 4\n    weight: heavy\n")),
        "demo.yaml:10: criteria[0].weight: expected a number, got text ('heavy')",
    ),
    (
        "criterion target in percent",
        edit(("    satisfied_threshold: 4\n", "    satisfied_threshold: 4\n    target: 80\n")),
        "demo.yaml:10: criteria[0].target: must be a share between 0 and 1, got 80",
    ),
    (
        "in_index unknown value",
        edit(("    satisfied_threshold: 4\n", "    satisfied_threshold: 4\n    in_index: sometimes\n")),
        "demo.yaml:10: criteria[0].in_index: must be one of required, when_answered, got 'sometimes'",
    ),
    (
        "in_index not text",
        edit(("    satisfied_threshold: 4\n", "    satisfied_threshold: 4\n    in_index: [required]\n")),
        "demo.yaml:10: criteria[0].in_index: expected text, got a list",
    ),
    (
        "threshold outside scale",
        edit(("satisfied_threshold: 4", "satisfied_threshold: 6")),
        "demo.yaml:9: criteria[0].satisfied_threshold: 6 lies outside the scale of question 'overall' (1..5)",
    ),
    (
        "criterion nobody measures",
        edit(("    criterion: overall\n", "")),
        "demo.yaml:7: criteria[0].id: no question measures this criterion; set 'criterion: overall' on a rating, nps or ces question",
    ),
    (
        "unknown formula",
        edit(append="index: {formula: median}\n"),
        "demo.yaml:22: index.formula: unknown formula 'median'; allowed: mean_satisfied_share, weighted_satisfied_share",
    ),
    (
        "index target",
        edit(append="index: {formula: mean_satisfied_share, target: 0.8}\n").replace("target: 0.8", "target: 180"),
        "demo.yaml:22: index.target: must be a percentage between 0 and 100, got 180",
    ),
    (
        "index without criteria",
        edit(
            (
                'criteria:\n  - id: overall\n    title: {vi: "Hài lòng chung", en: "Overall"}\n    satisfied_threshold: 4\n',
                "",
            ),
            ("    criterion: overall\n", ""),
            append="index: {formula: mean_satisfied_share}\n",
        ),
        "demo.yaml:17: index: needs at least one criterion to combine; add criteria",
    ),
    # -- weighting --
    (
        "weighting not a mapping",
        edit(append="weighting: true\n"),
        "demo.yaml:22: weighting: expected a mapping like {by: [channel, service]} ({} for the default cells), got true/false (true)",
    ),
    (
        "weighting unknown key",
        edit(append="weighting: {cells: [channel]}\n"),
        "demo.yaml:22: weighting.cells: unknown key; allowed keys: by",
    ),
    (
        "weighting by not a list",
        edit(append="weighting: {by: channel}\n"),
        "demo.yaml:22: weighting.by: expected a list, got text ('channel')",
    ),
    (
        "weighting by empty",
        edit(append="weighting: {by: []}\n"),
        "demo.yaml:22: weighting.by: must list at least one of: channel, service; leave by out for both",
    ),
    (
        "weighting unknown dimension",
        edit(append="weighting:\n  by: [channel, unit]\n"),
        "demo.yaml:23: weighting.by[1]: unknown dimension 'unit'; allowed: channel, service",
    ),
    (
        "weighting duplicate dimension",
        edit(append="weighting:\n  by:\n    - service\n    - service\n"),
        "demo.yaml:25: weighting.by[1]: duplicate dimension 'service'; list each of channel, service at most once",
    ),
    (
        "weighting dimension not text",
        edit(append="weighting: {by: [1]}\n"),
        'demo.yaml:22: weighting.by[0]: expected text, got a whole number (1); put it in quotes: "1"',
    ),
    # -- questions --
    (
        "no questions",
        "id: demo\nversion: 1\nlanguages: [vi]\ntitle: {vi: a}\nintro: {vi: b}\nquestions: []\n",
        "demo.yaml:6: questions: must list at least one question",
    ),
    (
        "question id pattern",
        edit(("  - id: complaint", "  - id: Complaint")),
        "demo.yaml:16: questions[1].id: must match [a-z][a-z0-9_]* (lowercase letters, digits and _, starting with a letter), got 'Complaint'",
    ),
    (
        "duplicate question id",
        edit(("  - id: complaint", "  - id: overall")),
        "demo.yaml:16: questions[1].id: duplicate question id 'overall' (first at line 11)",
    ),
    (
        "unknown type",
        edit(("type: single", "type: choice")),
        "demo.yaml:17: questions[1].type: unknown question type 'choice'; allowed: rating, nps, ces, single, multi, text",
    ),
    (
        "unknown question key",
        edit(("    type: single\n", "    type: single\n    colour: red\n")),
        f"demo.yaml:18: questions[1].colour: unknown key; allowed keys: {ALL_KEYS}",
    ),
    (
        "misspelt question key",
        edit(("    type: single\n", "    type: single\n    requird: true\n")),
        f"demo.yaml:18: questions[1].requird: unknown key; did you mean 'required'? allowed keys: {ALL_KEYS}",
    ),
    (
        "question missing text",
        edit(('    text: {vi: "Ông/Bà có khiếu nại không?", en: "Did you complain?"}\n', "")),
        "demo.yaml:16: questions[1].text: required key is missing",
    ),
    (
        "required not a bool",
        edit(("    type: single\n", "    type: single\n    required: always\n")),
        "demo.yaml:18: questions[1].required: expected true or false, got text ('always')",
    ),
    (
        "page zero",
        edit(("    type: single\n", "    type: single\n    page: 0\n")),
        "demo.yaml:18: questions[1].page: must be a positive whole number, got 0",
    ),
    (
        "page gap",
        edit(("    type: single\n", "    type: single\n    page: 3\n")),
        "demo.yaml:18: questions[1].page: pages must be numbered 1..N without gaps: no question is on page 2",
    ),
    (
        "page order",
        edit(("    type: rating\n", "    type: rating\n    page: 2\n")),
        "demo.yaml:17: questions[1].page: questions must be listed in page order: page 1 comes after a question on page 2",
    ),
    (
        "unknown criterion",
        edit(("criterion: overall", "criterion: general")),
        "demo.yaml:14: questions[0].criterion: unknown criterion 'general'; criteria: overall",
    ),
    (
        "criterion on a choice",
        edit(("    type: single\n", "    type: single\n    criterion: overall\n")),
        "demo.yaml:18: questions[1].criterion: only rating, nps and ces questions can belong to a criterion; this is a single question",
    ),
    # -- scales --
    (
        "rating without scale",
        edit(("    scale: {min: 1, max: 5}\n", "")),
        "demo.yaml:11: questions[0].scale: required for rating questions: give min and max, for example {min: 1, max: 5}",
    ),
    (
        "scale on a choice",
        edit(("    type: single\n", "    type: single\n    scale: {min: 1, max: 5}\n")),
        "demo.yaml:18: questions[1].scale: only rating, nps and ces questions have a scale",
    ),
    (
        "max not above min",
        edit(("{min: 1, max: 5}", "{min: 1, max: 1}")),
        "demo.yaml:15: questions[0].scale.max: must be greater than min (1)",
    ),
    (
        "scale too long",
        edit(("{min: 1, max: 5}", "{min: 0, max: 100}")),
        "demo.yaml:15: questions[0].scale.max: a scale has at most 11 points: max - min must be at most 10, got 100",
    ),
    (
        "scale min missing",
        edit(("{min: 1, max: 5}", "{max: 5}")),
        "demo.yaml:15: questions[0].scale.min: required key is missing",
    ),
    (
        "nps scale",
        edit(append="  - {id: recommend, type: nps, text: {vi: a, en: b}, scale: {min: 1, max: 10}}\n"),
        "demo.yaml:22: questions[2].scale: an nps scale is always 0..10, got 1..10; leave scale out",
    ),
    (
        "label outside scale",
        edit(("{min: 1, max: 5}", "{min: 1, max: 5, labels: {vi: {0: Tệ}, en: {0: Bad}}}")),
        "demo.yaml:15: questions[0].scale.labels.vi.0: 0 lies outside the scale 1..5",
    ),
    (
        "label key not a point",
        edit(("{min: 1, max: 5}", "{min: 1, max: 5, labels: {vi: {low: Tệ}, en: {1: Bad}}}")),
        "demo.yaml:15: questions[0].scale.labels.vi.low: expected a scale point (a whole number), got text ('low')",
    ),
    (
        "labels missing a language",
        edit(("{min: 1, max: 5}", "{min: 1, max: 5, labels: {vi: {1: Tệ}}}")),
        "demo.yaml:15: questions[0].scale.labels: missing translation for: en",
    ),
    (
        "labels differ",
        edit(("{min: 1, max: 5}", "{min: 1, max: 5, labels: {vi: {1: Tệ, 5: Tốt}, en: {1: Bad}}}")),
        "demo.yaml:15: questions[0].scale.labels.en: labels points 1 but vi labels points 1, 5; label the same points in every language",
    ),
    # -- options and text length --
    (
        "options on a rating",
        edit(("    scale: {min: 1, max: 5}\n", "    scale: {min: 1, max: 5}\n    options: []\n")),
        "demo.yaml:16: questions[0].options: only single and multi questions have options",
    ),
    (
        "choice without options",
        edit(append="  - {id: channel, type: multi, text: {vi: a, en: b}}\n"),
        "demo.yaml:22: questions[2].options: required for multi questions: list at least two options",
    ),
    (
        "one option",
        edit(('      - {value: "no", label: {vi: "Không", en: "No"}}\n', "")),
        "demo.yaml:20: questions[1].options: a single question needs at least two options, got 1",
    ),
    (
        "option value pattern",
        edit(('{value: "no",', '{value: "No way",')),
        "demo.yaml:21: questions[1].options[1].value: must match [a-z0-9_-]+ (lowercase letters, digits, _ and -), got 'No way'",
    ),
    (
        "duplicate option",
        edit(('{value: "no",', '{value: "yes",')),
        "demo.yaml:21: questions[1].options[1].value: duplicate option value 'yes' (first at line 20)",
    ),
    (
        "option without label",
        edit(('      - {value: "no", label: {vi: "Không", en: "No"}}\n', '      - {value: "no"}\n')),
        "demo.yaml:21: questions[1].options[1].label: required key is missing",
    ),
    (
        "max_length on a rating",
        edit(("    scale: {min: 1, max: 5}\n", "    scale: {min: 1, max: 5}\n    max_length: 10\n")),
        "demo.yaml:16: questions[0].max_length: only text questions have max_length",
    ),
    (
        "max_length zero",
        edit(append="  - {id: note, type: text, text: {vi: a, en: b}, max_length: 0}\n"),
        "demo.yaml:22: questions[2].max_length: must be a positive whole number, got 0",
    ),
    # -- skip logic --
    (
        "show_if without a test",
        edit(append="    show_if: {question: overall}\n"),
        "demo.yaml:22: questions[1].show_if: needs one test besides question: in, answered, at_most, at_least, equals",
    ),
    (
        "show_if with two tests",
        edit(append="    show_if: {question: overall, at_most: 2, at_least: 1}\n"),
        "demo.yaml:22: questions[1].show_if: only one test per condition, found: at_most, at_least",
    ),
    (
        "show_if unknown key",
        edit(append="    show_if: {question: overall, below: 2}\n"),
        "demo.yaml:22: questions[1].show_if.below: unknown key; allowed keys: question, in, answered, at_most, at_least, equals",
    ),
    (
        "show_if unknown question",
        edit(append="    show_if: {question: overal, at_most: 2}\n"),
        "demo.yaml:22: questions[1].show_if.question: unknown question 'overal'; questions: overall, complaint",
    ),
    (
        "show_if on itself",
        edit(append="    show_if: {question: complaint, answered: true}\n"),
        "demo.yaml:22: questions[1].show_if.question: a question cannot depend on its own answer",
    ),
    (
        "show_if forward",
        edit(
            (
                "    scale: {min: 1, max: 5}\n",
                '    scale: {min: 1, max: 5}\n    show_if: {question: complaint, equals: "yes"}\n',
            )
        ),
        "demo.yaml:16: questions[0].show_if.question: must refer to an earlier question; 'complaint' comes later (questions[1])",
    ),
    (
        "at_most on a choice",
        edit(append="  - {id: note, type: text, text: {vi: a, en: b}, show_if: {question: complaint, at_most: 1}}\n"),
        "demo.yaml:22: questions[2].show_if.at_most: at_most needs a rating, nps or ces question; 'complaint' is a single question",
    ),
    (
        "test on free text",
        edit(
            append="  - {id: note, type: text, text: {vi: a, en: b}}\n  - {id: more, type: text, text: {vi: a, en: b}, show_if: {question: note, equals: x}}\n"
        ),
        "demo.yaml:23: questions[3].show_if.equals: 'note' is a text question: test it with answered only",
    ),
    (
        "in with no values",
        edit(append="    show_if: {question: overall, in: []}\n"),
        "demo.yaml:22: questions[1].show_if.in: must list at least one value",
    ),
    (
        "in outside scale",
        edit(append="    show_if: {question: overall, in: [1, 7]}\n"),
        "demo.yaml:22: questions[1].show_if.in[1]: 7 lies outside the scale of 'overall' (1..5)",
    ),
    (
        "in not a list",
        edit(append="    show_if: {question: overall, in: 2}\n"),
        "demo.yaml:22: questions[1].show_if.in: expected a list, got a whole number (2)",
    ),
    (
        "equals unknown option",
        edit(
            append="  - {id: note, type: text, text: {vi: a, en: b}, show_if: {question: complaint, equals: maybe}}\n"
        ),
        "demo.yaml:22: questions[2].show_if.equals: unknown option 'maybe' of 'complaint'; options: yes, no",
    ),
    (
        "answered not a bool",
        edit(append="    show_if: {question: overall, answered: sometimes}\n"),
        "demo.yaml:22: questions[1].show_if.answered: expected true or false, got text ('sometimes')",
    ),
    (
        "show_if not a mapping",
        edit(append="    show_if: overall\n"),
        "demo.yaml:22: questions[1].show_if: expected a mapping, got text ('overall')",
    ),
    # -- follow-up --
    (
        "follow_up without conditions",
        edit(append="follow_up: {any: []}\n"),
        "demo.yaml:22: follow_up.any: must list at least one condition",
    ),
    (
        "follow_up missing any",
        edit(append="follow_up: {due_working_hours: 1}\n"),
        "demo.yaml:22: follow_up.any: required key is missing",
    ),
    (
        "follow_up hours",
        edit(append="follow_up: {any: [{question: overall, at_most: 2}], due_working_hours: 0}\n"),
        "demo.yaml:22: follow_up.due_working_hours: must be greater than 0, got 0",
    ),
    (
        "follow_up unknown question",
        edit(append='follow_up:\n  any:\n    - {question: resolved, equals: "no"}\n'),
        "demo.yaml:24: follow_up.any[0].question: unknown question 'resolved'; questions: overall, complaint",
    ),
    (
        "follow_up outside scale",
        edit(append="follow_up:\n  any:\n    - {question: overall, at_least: 9}\n"),
        "demo.yaml:24: follow_up.any[0].at_least: 9 lies outside the scale of 'overall' (1..5)",
    ),
]


def test_the_base_questionnaire_is_valid() -> None:
    assert validate_text(BASE, "demo.yaml") == []


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_mistake_is_reported_with_its_line_and_path(text: str, expected: str) -> None:
    reported = [str(p) for p in validate_text(text, "demo.yaml")]
    assert expected in reported, "\n".join(reported)


def test_every_case_names_a_distinct_message() -> None:
    assert len({expected for _, _, expected in CASES}) == len(CASES)


def test_all_problems_are_reported_at_once_sorted_by_line() -> None:
    text = edit(
        ("version: 1", "version: 0"),
        ('title: {vi: "Khảo sát", en: "Survey"}', 'title: {vi: "Khảo sát"}'),
        ("{min: 1, max: 5}", "{min: 1, max: 1}"),
        ("type: single", "type: choice"),
        append="follow_up: {any: [{question: nobody, answered: true}]}\n",
    )
    assert [str(p) for p in validate_text(text, "counter.yaml")] == [
        "counter.yaml:2: version: must be a positive whole number, got 0",
        "counter.yaml:4: title: missing translation for: en",
        "counter.yaml:15: questions[0].scale.max: must be greater than min (1)",
        "counter.yaml:17: questions[1].type: unknown question type 'choice'; allowed: rating, nps, ces, single, multi, text",
        "counter.yaml:22: follow_up.any[0].question: unknown question 'nobody'; questions: overall, complaint",
    ]


def test_load_text_raises_with_every_problem() -> None:
    text = edit(("version: 1", "version: 0"), ("type: single", "type: choice"))
    with pytest.raises(QuestionnaireError) as raised:
        load_text(text, "demo.yaml")
    assert [p.line for p in raised.value.problems] == [2, 17]
    assert str(raised.value).splitlines() == [
        "2 problems in the questionnaire:",
        "  demo.yaml:2: version: must be a positive whole number, got 0",
        "  demo.yaml:17: questions[1].type: unknown question type 'choice'; allowed: rating, nps, ces, single, multi, text",
    ]


def test_problem_without_a_line_or_path() -> None:
    assert str(Problem("x.yaml", None, "", "cannot read the file")) == "x.yaml: cannot read the file"


def test_validate_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(edit(("version: 1", "version: 0")), encoding="utf-8")
    assert [str(p) for p in validate_file(path)] == [f"{path}:2: version: must be a positive whole number, got 0"]


def test_a_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    assert [str(p) for p in validate_file(path)] == [f"{path}: cannot read the file: No such file or directory"]
    with pytest.raises(QuestionnaireError):
        load_file(path)


def test_a_file_that_is_not_utf8_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(BASE.encode("utf-16"))
    (problem,) = validate_file(path)
    assert problem.message.startswith("not UTF-8 text")


def test_load_file_keeps_the_path_as_source(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(BASE, encoding="utf-8")
    questionnaire = load_file(path)
    assert questionnaire.source == str(path)
    assert questionnaire.question("complaint").option_values == ("yes", "no")


def test_anchors_and_aliases_are_allowed() -> None:
    text = edit(
        ("    scale: {min: 1, max: 5}\n", "    scale: &five {min: 1, max: 5}\n"),
        append="  - {id: again, type: rating, text: {vi: a, en: b}, scale: *five}\n",
    )
    assert load_text(text).question("again").scale == load_text(text).question("overall").scale


def test_defaults_are_filled_in() -> None:
    text = edit(
        append="  - {id: effort, type: ces, text: {vi: a, en: b}}\n  - {id: note, type: text, text: {vi: a, en: b}}\n"
    )
    questionnaire = load_text(text)
    assert questionnaire.question("effort").scale is not None
    assert questionnaire.question("effort").scale.points == (1, 2, 3, 4, 5, 6, 7)
    assert questionnaire.question("note").max_length == 1000
    assert questionnaire.question("overall").page == 1
    assert questionnaire.question("overall").required is False
    assert questionnaire.criterion("overall").weight == 1.0
    assert questionnaire.channels == ()
    assert questionnaire.index is None
    assert questionnaire.weighting is None
    assert questionnaire.follow_up is None


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("weighting: {}\n", Weighting(("channel", "service"))),
        ("weighting:\n  by: [channel, service]\n", Weighting(("channel", "service"))),
        ("weighting:\n  by: [service]\n", Weighting(("service",))),
        ("weighting: {by: [service, channel]}\n", Weighting(("service", "channel"))),
        ("weighting:\n", None),  # an empty value is left out, like every optional key
    ],
)
def test_weighting_is_loaded_and_survives_a_round_trip_through_json(section: str, expected: Weighting | None) -> None:
    questionnaire = load_text(edit(append=section), "demo.yaml")
    assert questionnaire.weighting == expected
    stored = json.loads(json.dumps(questionnaire.to_dict()))
    assert stored["weighting"] == (None if expected is None else {"by": list(expected.by)})
    rebuilt = Questionnaire.from_dict(stored)
    assert rebuilt == questionnaire
    assert rebuilt.checksum == questionnaire.checksum


def test_declaring_weighting_changes_the_checksum() -> None:
    plain = load_text(BASE, "demo.yaml")
    weighted = load_text(edit(append="weighting: {}\n"), "demo.yaml")
    by_service = load_text(edit(append="weighting: {by: [service]}\n"), "demo.yaml")
    assert len({plain.checksum, weighted.checksum, by_service.checksum}) == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", "required"), ("    in_index: required\n", "required"), ("    in_index: when_answered\n", "when_answered")],
)
def test_in_index_is_loaded_and_left_out_of_the_stored_definition_when_required(value: str, expected: str) -> None:
    questionnaire = load_text(edit(("    satisfied_threshold: 4\n", "    satisfied_threshold: 4\n" + value)))
    assert questionnaire.criterion("overall").in_index == expected
    stored = questionnaire.to_dict()["criteria"][0]
    assert ("in_index" in stored) == (expected != "required")
    assert Questionnaire.from_dict(json.loads(json.dumps(questionnaire.to_dict()))) == questionnaire


def test_saying_in_index_required_keeps_the_checksum_of_leaving_it_out() -> None:
    explicit = load_text(edit(("    satisfied_threshold: 4\n", "    satisfied_threshold: 4\n    in_index: required\n")))
    when_answered = load_text(
        edit(("    satisfied_threshold: 4\n", "    satisfied_threshold: 4\n    in_index: when_answered\n"))
    )
    assert explicit.checksum == load_text(BASE).checksum != when_answered.checksum


def test_a_bad_in_index_in_the_bundled_counter_is_reported_with_its_line() -> None:
    text = (DEFINITIONS_DIR / "counter.yaml").read_text(encoding="utf-8")
    line = text[: text.index("in_index: when_answered")].count("\n") + 1
    problems = validate_text(text.replace("in_index: when_answered", "in_index: sometimes"), "counter.yaml")
    assert [str(p) for p in problems] == [
        f"counter.yaml:{line}: criteria[4].in_index: must be one of required, when_answered, got 'sometimes'"
    ]
