"""Load and validate questionnaire YAML (the format is described in ``questionnaires/README.md``).

The validator reports every problem it finds, each with the line of the offending YAML node,
so that one run of ``survey questionnaires validate`` shows all there is to fix:

>>> problems = validate_text("id: counter\\nversion: 0\\n", file="counter.yaml")
>>> print(next(p for p in problems if p.path == "version"))
counter.yaml:2: version: must be a positive whole number, got 0
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from questionnaires.model import (
    CHANNELS,
    CONDITION_OPS,
    INDEX_FORMULAS,
    NUMERIC_TYPES,
    QUESTION_TYPES,
    WEIGHTING_DIMENSIONS,
    Channel,
    Condition,
    ConditionOp,
    Criterion,
    FollowUpRule,
    IndexDefinition,
    IndexFormula,
    Option,
    Question,
    Questionnaire,
    QuestionType,
    Scale,
    Weighting,
    WeightingDimension,
)

__all__ = [
    "Problem",
    "QuestionnaireError",
    "load_file",
    "load_text",
    "validate_file",
    "validate_text",
]

QUESTIONNAIRE_ID = re.compile(r"[a-z][a-z0-9-]*")
QUESTION_ID = re.compile(r"[a-z][a-z0-9_]*")
OPTION_VALUE = re.compile(r"[a-z0-9_-]+")
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")

DEFAULT_MAX_LENGTH = 1000
MAX_SCALE_SPAN = 10
NPS_SCALE = (0, 10)
CES_SCALE = (1, 7)

_TAG = "tag:yaml.org,2002:"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a questionnaire file.

    ``path`` names the offending value in dotted/indexed form (list indices count from 0):
    ``questions[3].scale.max``. It is empty for a problem with the file as a whole.
    """

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class QuestionnaireError(Exception):
    """Raised by :func:`load_text` and :func:`load_file`; ``problems`` lists everything wrong."""

    def __init__(self, problems: tuple[Problem, ...] | list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.problems)
        heading = f"{count} problem{'s' if count != 1 else ''} in the questionnaire:"
        return "\n".join([heading, *(f"  {p}" for p in self.problems)])


def validate_text(text: str, file: str = "<string>") -> list[Problem]:
    """Every problem in a questionnaire's YAML text, sorted by line; empty when it is valid."""
    return _check(text, file)[1]


def validate_file(path: str | Path) -> list[Problem]:
    """Every problem in a questionnaire file, sorted by line; empty when it is valid."""
    text, problems = _read(path)
    return problems if text is None else validate_text(text, str(path))


def load_text(text: str, file: str = "<string>") -> Questionnaire:
    """Parse and validate; raise :class:`QuestionnaireError` listing every problem."""
    questionnaire, problems = _check(text, file)
    if problems or questionnaire is None:
        raise QuestionnaireError(problems)
    return questionnaire


def load_file(path: str | Path) -> Questionnaire:
    """Load one questionnaire file; ``source`` of the result is the path as given."""
    text, problems = _read(path)
    if text is None:
        raise QuestionnaireError(problems)
    return load_text(text, str(path))


def _read(path: str | Path) -> tuple[str | None, list[Problem]]:
    try:
        return Path(path).read_text(encoding="utf-8"), []
    except UnicodeDecodeError as exc:
        return None, [Problem(str(path), None, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
    except OSError as exc:
        return None, [Problem(str(path), None, "", f"cannot read the file: {exc.strerror or exc}")]


def _check(text: str, file: str) -> tuple[Questionnaire | None, list[Problem]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = exc.problem or exc.context or "cannot be parsed"
        if exc.context and exc.problem:
            detail = f"{exc.problem} ({exc.context})"
        return None, [Problem(file, None if mark is None else mark.line + 1, "", f"YAML syntax error: {detail}")]
    except yaml.YAMLError as exc:
        return None, [Problem(file, None, "", f"YAML syntax error: {exc}")]
    checker = _Checker(file)
    questionnaire = checker.questionnaire(root)
    problems = sorted(checker.problems, key=lambda p: p.line or 0)
    return (questionnaire if not problems else None), problems


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _names(values: object) -> str:
    return ", ".join(str(v) for v in cast(tuple[object, ...], values))


@dataclass
class _QuestionInfo:
    """What the second pass (conditions, criteria) needs to know about one question."""

    index: int
    id: str
    type: str | None
    node: Node
    scale: Scale | None
    options: tuple[str, ...]
    criterion: str | None
    criterion_node: Node | None


class _Checker:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.languages: tuple[str, ...] = ()
        self._constructor = SafeConstructor()

    # -- reporting and primitive values ---------------------------------------------------------

    def report(self, node: Node, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, _line(node), path, message))

    def value(self, node: Node) -> object:
        """The Python value of a scalar node, exactly as ``yaml.safe_load`` would give it."""
        if not isinstance(node, ScalarNode):
            return None
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.YAMLError:
            return node.value

    def describe(self, node: Node) -> str:
        if isinstance(node, MappingNode):
            return "a mapping"
        if isinstance(node, SequenceNode):
            return "a list"
        tag = str(node.tag).removeprefix(_TAG)
        return {
            "null": "nothing",
            "bool": f"true/false ({node.value})",
            "int": f"a whole number ({node.value})",
            "float": f"a number ({node.value})",
            "str": f"text ('{node.value}')",
        }.get(tag, f"{tag} ({node.value})")

    def is_null(self, node: Node) -> bool:
        return isinstance(node, ScalarNode) and node.tag == _TAG + "null"

    def string(self, node: Node, path: str) -> str | None:
        if isinstance(node, ScalarNode) and node.tag == _TAG + "str":
            return str(node.value)
        hint = f'; put it in quotes: "{node.value}"' if isinstance(node, ScalarNode) and node.value else ""
        self.report(node, path, f"expected text, got {self.describe(node)}{hint}")
        return None

    def integer(self, node: Node, path: str) -> int | None:
        value = self.value(node)
        if node.tag == _TAG + "int" and isinstance(value, int):
            return value
        self.report(node, path, f"expected a whole number, got {self.describe(node)}")
        return None

    def number(self, node: Node, path: str) -> float | None:
        value = self.value(node)
        if node.tag in (_TAG + "int", _TAG + "float") and isinstance(value, int | float):
            return float(value)
        self.report(node, path, f"expected a number, got {self.describe(node)}")
        return None

    def boolean(self, node: Node, path: str) -> bool | None:
        value = self.value(node)
        if node.tag == _TAG + "bool" and isinstance(value, bool):
            return value
        self.report(node, path, f"expected true or false, got {self.describe(node)}")
        return None

    def identifier(self, node: Node, path: str, pattern: re.Pattern[str], explained: str) -> str | None:
        value = self.string(node, path)
        if value is not None and not pattern.fullmatch(value):
            self.report(node, path, f"must match {pattern.pattern} ({explained}), got '{value}'")
            return None
        return value

    def sequence(self, node: Node, path: str) -> list[Node] | None:
        if isinstance(node, SequenceNode):
            return list(node.value)
        self.report(node, path, f"expected a list, got {self.describe(node)}")
        return None

    def pairs(self, node: Node, path: str, what: str = "a mapping") -> dict[str, tuple[Node, Node]] | None:
        """The key/value nodes of a mapping by key text, reporting duplicate keys."""
        if not isinstance(node, MappingNode):
            self.report(node, path, f"expected {what}, got {self.describe(node)}")
            return None
        result: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, ScalarNode) else self.describe(key_node)
            if key in result:
                first = _line(result[key][0])
                self.report(key_node, _join(path, key), f"duplicate key (first at line {first})")
                continue
            result[key] = (key_node, value_node)
        return result

    def mapping(self, node: Node, path: str, required: tuple[str, ...], optional: tuple[str, ...]) -> dict[str, Node]:
        """A mapping's value nodes by key, reporting unknown and missing keys; null optional values are dropped."""
        found = self.pairs(node, path)
        if found is None:
            return {}
        allowed = (*required, *optional)
        result: dict[str, Node] = {}
        for key, (key_node, value_node) in found.items():
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                guess = f"did you mean '{close[0]}'? " if close else ""
                self.report(key_node, _join(path, key), f"unknown key; {guess}allowed keys: {', '.join(allowed)}")
            elif not (key in optional and self.is_null(value_node)):
                result[key] = value_node
        for key in required:
            if key not in found:
                self.report(node, _join(path, key), "required key is missing")
        return result

    def text(self, node: Node, path: str) -> dict[str, str] | None:
        """A text in every language: ``{vi: ..., en: ...}``."""
        found = self.pairs(node, path, "a text per language, like {vi: ..., en: ...}")
        if found is None:
            return None
        result: dict[str, str] = {}
        ok = True
        for lang, (key_node, value_node) in found.items():
            lang_path = _join(path, lang)
            if self.languages and lang not in self.languages:
                self.report(
                    key_node,
                    lang_path,
                    f"unknown language; the questionnaire's languages are: {_names(self.languages)}",
                )
                ok = False
                continue
            value = self.string(value_node, lang_path)
            if value is None:
                ok = False
            elif not value.strip():
                self.report(value_node, lang_path, "must not be empty")
                ok = False
            else:
                result[lang] = value
        missing = [lang for lang in self.languages if lang not in found]
        if missing:
            self.report(node, path, f"missing translation for: {', '.join(missing)}")
            ok = False
        return result if ok else None

    def required_text(self, fields: Mapping[str, Node], key: str, path: str) -> dict[str, str] | None:
        return self.text(fields[key], _join(path, key)) if key in fields else None

    # -- the questionnaire ----------------------------------------------------------------------

    def questionnaire(self, root: Node | None) -> Questionnaire | None:
        if root is None:
            self.problems.append(Problem(self.file, 1, "", "the file is empty; expected a questionnaire mapping"))
            return None
        self.check_tags(root)
        fields = self.mapping(
            root,
            "",
            ("id", "version", "languages", "title", "intro", "questions"),
            ("channels", "criteria", "index", "weighting", "follow_up"),
        )
        if not fields:
            return None
        qid = None
        if "id" in fields:
            qid = self.identifier(
                fields["id"], "id", QUESTIONNAIRE_ID, "lowercase letters, digits and hyphens, starting with a letter"
            )
        version = None
        if "version" in fields:
            version = self.integer(fields["version"], "version")
            if version is not None and version < 1:
                self.report(fields["version"], "version", f"must be a positive whole number, got {version}")
        if "languages" in fields:
            self.languages = self.language_list(fields["languages"])
        title = self.required_text(fields, "title", "")
        intro = self.required_text(fields, "intro", "")
        channels = self.channels(fields["channels"]) if "channels" in fields else ()
        criteria, threshold_nodes = self.criteria(fields["criteria"]) if "criteria" in fields else ((), {})
        index = self.index(fields["index"], criteria) if "index" in fields else None
        weighting = self.weighting(fields["weighting"]) if "weighting" in fields else None
        infos: list[_QuestionInfo] = []
        questions: list[Question | None] = []
        if "questions" in fields:
            questions, infos = self.questions(fields["questions"], criteria)
        self.check_criteria_coverage(criteria, threshold_nodes, infos)
        follow_up = self.follow_up(fields["follow_up"], infos) if "follow_up" in fields else None
        if self.problems or qid is None or version is None or title is None or intro is None:
            return None
        return Questionnaire(
            id=qid,
            version=version,
            languages=self.languages,
            title=title,
            intro=intro,
            channels=channels,
            criteria=criteria,
            questions=tuple(q for q in questions if q is not None),
            index=index,
            follow_up=follow_up,
            weighting=weighting,
            source=self.file,
        )

    def check_tags(self, root: Node) -> None:
        """Refuse what ``yaml.safe_load`` refuses: tags beyond YAML's standard ones (``!!python/object`` ...)."""
        safe = set(SafeConstructor.yaml_constructors)
        stack: list[tuple[Node, str]] = [(root, "")]
        seen: set[int] = set()
        while stack:
            node, path = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if node.tag not in safe:
                tag = str(node.tag).replace(_TAG, "!!", 1)
                self.report(node, path, f"the tag {tag} is not allowed; only plain YAML values are")
            if isinstance(node, SequenceNode):
                stack.extend((item, f"{path}[{i}]") for i, item in enumerate(node.value))
            elif isinstance(node, MappingNode):
                stack.extend((value, _join(path, str(key.value))) for key, value in node.value)

    def language_list(self, node: Node) -> tuple[str, ...]:
        items = self.sequence(node, "languages")
        if items is None:
            return ()
        if not items:
            self.report(node, "languages", "must list at least one language; the first is the default")
            return ()
        languages: list[str] = []
        for i, item in enumerate(items):
            path = f"languages[{i}]"
            lang = self.identifier(item, path, LANGUAGE_CODE, "a lowercase ISO 639 code such as vi or en")
            if lang is None:
                return ()
            if lang in languages:
                self.report(item, path, f"duplicate language '{lang}'")
                return ()
            languages.append(lang)
        return tuple(languages)

    def channels(self, node: Node) -> tuple[Channel, ...]:
        items = self.sequence(node, "channels") or []
        channels: list[Channel] = []
        for i, item in enumerate(items):
            path = f"channels[{i}]"
            value = self.string(item, path)
            if value is None:
                continue
            if value not in CHANNELS:
                self.report(item, path, f"unknown channel '{value}'; allowed: {_names(CHANNELS)}")
            elif value in channels:
                self.report(item, path, f"duplicate channel '{value}'")
            else:
                channels.append(value)
        return tuple(channels)

    # -- criteria and the index -----------------------------------------------------------------

    def criteria(self, node: Node) -> tuple[tuple[Criterion, ...], dict[str, tuple[Node, Node, int]]]:
        """The criteria, and for each id its node, its threshold node and threshold (for the second pass)."""
        items = self.sequence(node, "criteria") or []
        criteria: list[Criterion] = []
        seen: dict[str, tuple[Node, Node, int]] = {}
        for i, item in enumerate(items):
            path = f"criteria[{i}]"
            fields = self.mapping(item, path, ("id", "title", "satisfied_threshold"), ("weight", "target"))
            cid = None
            if "id" in fields:
                cid = self.identifier(
                    fields["id"],
                    _join(path, "id"),
                    QUESTION_ID,
                    "lowercase letters, digits and _, starting with a letter",
                )
                if cid is not None and cid in seen:
                    first = _line(seen[cid][0])
                    self.report(
                        fields["id"], _join(path, "id"), f"duplicate criterion id '{cid}' (first at line {first})"
                    )
                    cid = None
            title = self.required_text(fields, "title", path)
            threshold = None
            if "satisfied_threshold" in fields:
                threshold = self.integer(fields["satisfied_threshold"], _join(path, "satisfied_threshold"))
            weight = 1.0
            if "weight" in fields:
                given = self.number(fields["weight"], _join(path, "weight"))
                if given is not None and given <= 0:
                    self.report(fields["weight"], _join(path, "weight"), f"must be greater than 0, got {given:g}")
                elif given is not None:
                    weight = given
            target = None
            if "target" in fields:
                target = self.number(fields["target"], _join(path, "target"))
                if target is not None and not 0 <= target <= 1:
                    self.report(
                        fields["target"], _join(path, "target"), f"must be a share between 0 and 1, got {target:g}"
                    )
            if cid is not None and threshold is not None:
                seen[cid] = (fields["id"], fields["satisfied_threshold"], threshold)
                if title is not None:
                    criteria.append(Criterion(cid, title, threshold, weight, target))
        return tuple(criteria), seen

    def index(self, node: Node, criteria: tuple[Criterion, ...]) -> IndexDefinition | None:
        fields = self.mapping(node, "index", ("formula",), ("target",))
        formula = None
        if "formula" in fields:
            formula = self.string(fields["formula"], "index.formula")
            if formula is not None and formula not in INDEX_FORMULAS:
                self.report(
                    fields["formula"],
                    "index.formula",
                    f"unknown formula '{formula}'; allowed: {_names(INDEX_FORMULAS)}",
                )
                formula = None
        target = None
        if "target" in fields:
            target = self.number(fields["target"], "index.target")
            if target is not None and not 0 <= target <= 100:
                self.report(fields["target"], "index.target", f"must be a percentage between 0 and 100, got {target:g}")
        if not criteria:
            self.report(node, "index", "needs at least one criterion to combine; add criteria")
        if formula is None:
            return None
        return IndexDefinition(cast(IndexFormula, formula), target)

    def weighting(self, node: Node) -> Weighting | None:
        """The post-stratification cells: ``{by: [channel, service]}``; ``{}`` means channel × service."""
        allowed = _names(WEIGHTING_DIMENSIONS)
        if not isinstance(node, MappingNode):
            self.report(
                node,
                "weighting",
                f"expected a mapping like {{by: [{allowed}]}} ({{}} for the default cells), got {self.describe(node)}",
            )
            return None
        fields = self.mapping(node, "weighting", (), ("by",))
        if "by" not in fields:
            return Weighting()
        items = self.sequence(fields["by"], "weighting.by")
        if items is None:
            return None
        if not items:
            self.report(fields["by"], "weighting.by", f"must list at least one of: {allowed}; leave by out for both")
            return None
        by: list[str] = []
        ok = True
        for i, item in enumerate(items):
            path = f"weighting.by[{i}]"
            value = self.string(item, path)
            if value is None:
                ok = False
            elif value not in WEIGHTING_DIMENSIONS:
                # Contact volumes are counted by channel and service only, so no other cell can be weighted to.
                self.report(item, path, f"unknown dimension '{value}'; allowed: {allowed}")
                ok = False
            elif value in by:
                self.report(item, path, f"duplicate dimension '{value}'; list each of {allowed} at most once")
                ok = False
            else:
                by.append(value)
        if not ok:
            return None
        return Weighting(cast(tuple[WeightingDimension, ...], tuple(by)))

    def check_criteria_coverage(
        self, criteria: tuple[Criterion, ...], nodes: Mapping[str, tuple[Node, Node, int]], infos: list[_QuestionInfo]
    ) -> None:
        for i, (cid, (id_node, threshold_node, threshold)) in enumerate(nodes.items()):
            members = [info for info in infos if info.criterion == cid]
            if not members and infos:
                self.report(
                    id_node,
                    f"criteria[{i}].id",
                    f"no question measures this criterion; set 'criterion: {cid}' on a rating, nps or ces question",
                )
            for info in members:
                if info.scale is not None and threshold not in info.scale:
                    self.report(
                        threshold_node,
                        f"criteria[{i}].satisfied_threshold",
                        f"{threshold} lies outside the scale of question '{info.id}' "
                        f"({info.scale.min}..{info.scale.max})",
                    )

    # -- questions ------------------------------------------------------------------------------

    def questions(
        self, node: Node, criteria: tuple[Criterion, ...]
    ) -> tuple[list[Question | None], list[_QuestionInfo]]:
        items = self.sequence(node, "questions")
        if items is None:
            return [], []
        if not items:
            self.report(node, "questions", "must list at least one question")
            return [], []
        criterion_ids = tuple(c.id for c in criteria)
        infos: list[_QuestionInfo] = []
        parsed: list[tuple[Question | None, dict[str, Node]]] = []
        seen: dict[str, Node] = {}
        for i, item in enumerate(items):
            question, fields, info = self.question(item, f"questions[{i}]", i, criterion_ids)
            if info is not None:
                if info.id in seen:
                    first = _line(seen[info.id])
                    self.report(
                        fields["id"], f"questions[{i}].id", f"duplicate question id '{info.id}' (first at line {first})"
                    )
                else:
                    seen[info.id] = fields["id"]
                    infos.append(info)
            parsed.append((question, fields))
        self.check_pages(items, parsed)
        # Skip logic is checked once every question is known, so a forward reference is named as such.
        known = {info.id: info for info in infos}
        result: list[Question | None] = []
        for i, (question, fields) in enumerate(parsed):
            if "show_if" in fields:
                path = f"questions[{i}].show_if"
                condition = self.condition(fields["show_if"], path, known, before=i)
                if question is not None and condition is not None:
                    question = replace(question, show_if=condition)
                elif condition is None:
                    question = None
            result.append(question)
        return result, infos

    def question(
        self, node: Node, path: str, index: int, criterion_ids: tuple[str, ...]
    ) -> tuple[Question | None, dict[str, Node], _QuestionInfo | None]:
        fields = self.mapping(
            node,
            path,
            ("id", "type", "text"),
            ("page", "criterion", "required", "help", "scale", "options", "max_length", "show_if"),
        )

        def at(key: str) -> str:
            return _join(path, key)

        qid = None
        if "id" in fields:
            qid = self.identifier(
                fields["id"], at("id"), QUESTION_ID, "lowercase letters, digits and _, starting with a letter"
            )
        qtype: str | None = None
        if "type" in fields:
            qtype = self.string(fields["type"], at("type"))
            if qtype is not None and qtype not in QUESTION_TYPES:
                self.report(
                    fields["type"], at("type"), f"unknown question type '{qtype}'; allowed: {_names(QUESTION_TYPES)}"
                )
                qtype = None
        text = self.required_text(fields, "text", path)
        help_text = self.text(fields["help"], at("help")) if "help" in fields else None
        page = 1
        if "page" in fields:
            given = self.integer(fields["page"], at("page"))
            if given is not None and given < 1:
                self.report(fields["page"], at("page"), f"must be a positive whole number, got {given}")
            elif given is not None:
                page = given
        required = False
        if "required" in fields:
            required = bool(self.boolean(fields["required"], at("required")))
        criterion = None
        if "criterion" in fields:
            criterion = self.string(fields["criterion"], at("criterion"))
            if criterion is not None and criterion not in criterion_ids:
                known = f"criteria: {_names(criterion_ids)}" if criterion_ids else "no criteria are defined"
                self.report(fields["criterion"], at("criterion"), f"unknown criterion '{criterion}'; {known}")
                criterion = None
            elif criterion is not None and qtype is not None and qtype not in NUMERIC_TYPES:
                self.report(
                    fields["criterion"],
                    at("criterion"),
                    f"only rating, nps and ces questions can belong to a criterion; this is a {qtype} question",
                )
                criterion = None
        scale = self.scale(node, fields, path, qtype)
        options = self.options(node, fields, path, qtype)
        max_length = None
        if qtype == "text":
            max_length = DEFAULT_MAX_LENGTH
        if "max_length" in fields:
            if qtype is not None and qtype != "text":
                self.report(fields["max_length"], at("max_length"), "only text questions have max_length")
            else:
                max_length = self.integer(fields["max_length"], at("max_length"))
                if max_length is not None and max_length < 1:
                    self.report(
                        fields["max_length"], at("max_length"), f"must be a positive whole number, got {max_length}"
                    )
        info = None
        if qid is not None:
            info = _QuestionInfo(
                index=index,
                id=qid,
                type=qtype,
                node=node,
                scale=scale,
                options=tuple(o.value for o in options or ()),
                criterion=criterion,
                criterion_node=fields.get("criterion"),
            )
        if qid is None or qtype is None or text is None or options is None:
            return None, fields, info
        question = Question(
            id=qid,
            type=cast(QuestionType, qtype),
            text=text,
            page=page,
            criterion=criterion,
            required=required,
            help=help_text,
            scale=scale,
            options=options,
            max_length=max_length,
            show_if=None,
        )
        return question, fields, info

    def check_pages(self, items: list[Node], parsed: list[tuple[Question | None, dict[str, Node]]]) -> None:
        pages: list[tuple[int, int, Node]] = []
        for i, (item, (_, fields)) in enumerate(zip(items, parsed, strict=True)):
            page_node = fields.get("page")
            page = 1 if page_node is None else self.value(page_node)
            if isinstance(page, int) and not isinstance(page, bool) and page >= 1:
                pages.append((i, page, page_node or item))
        highest = 0
        for i, page, node in pages:
            if page < highest:
                self.report(
                    node,
                    f"questions[{i}].page",
                    f"questions must be listed in page order: page {page} comes after a question on page {highest}",
                )
            highest = max(highest, page)
        present = {page for _, page, _ in pages}
        for missing in sorted(set(range(1, highest + 1)) - present):
            i, page, node = next(p for p in pages if p[1] > missing)
            self.report(
                node,
                f"questions[{i}].page",
                f"pages must be numbered 1..N without gaps: no question is on page {missing}",
            )

    def scale(self, node: Node, fields: Mapping[str, Node], path: str, qtype: str | None) -> Scale | None:
        at = _join(path, "scale")
        if "scale" not in fields:
            if qtype == "rating":
                self.report(node, at, "required for rating questions: give min and max, for example {min: 1, max: 5}")
            if qtype == "nps":
                return Scale(*NPS_SCALE)
            if qtype == "ces":
                return Scale(*CES_SCALE)
            return None
        scale_node = fields["scale"]
        if qtype is not None and qtype not in NUMERIC_TYPES:
            self.report(scale_node, at, "only rating, nps and ces questions have a scale")
            return None
        parts = self.mapping(scale_node, at, ("min", "max"), ("labels",))
        low = self.integer(parts["min"], _join(at, "min")) if "min" in parts else None
        high = self.integer(parts["max"], _join(at, "max")) if "max" in parts else None
        if low is None or high is None:
            return None
        if high <= low:
            self.report(parts["max"], _join(at, "max"), f"must be greater than min ({low})")
            return None
        if high - low > MAX_SCALE_SPAN:
            self.report(
                parts["max"],
                _join(at, "max"),
                f"a scale has at most 11 points: max - min must be at most {MAX_SCALE_SPAN}, got {high - low}",
            )
            return None
        if qtype == "nps" and (low, high) != NPS_SCALE:
            self.report(scale_node, at, f"an nps scale is always 0..10, got {low}..{high}; leave scale out")
            return None
        labels = self.labels(parts["labels"], _join(at, "labels"), low, high) if "labels" in parts else {}
        if labels is None:
            return None
        return Scale(low, high, labels)

    def labels(self, node: Node, path: str, low: int, high: int) -> dict[str, dict[int, str]] | None:
        found = self.pairs(node, path, "labels per language, like {vi: {1: ...}, en: {1: ...}}")
        if found is None:
            return None
        result: dict[str, dict[int, str]] = {}
        ok = True
        for lang, (key_node, points_node) in found.items():
            lang_path = _join(path, lang)
            if self.languages and lang not in self.languages:
                self.report(
                    key_node,
                    lang_path,
                    f"unknown language; the questionnaire's languages are: {_names(self.languages)}",
                )
                ok = False
                continue
            points = self.pairs(points_node, lang_path, "a label per scale point, like {1: ..., 5: ...}")
            if points is None:
                ok = False
                continue
            result[lang] = {}
            for key, (point_node, label_node) in points.items():
                point_path = _join(lang_path, key)
                point = self.value(point_node)
                if point_node.tag != _TAG + "int" or not isinstance(point, int):
                    self.report(
                        point_node,
                        point_path,
                        f"expected a scale point (a whole number), got {self.describe(point_node)}",
                    )
                    ok = False
                    continue
                if not low <= point <= high:
                    self.report(point_node, point_path, f"{point} lies outside the scale {low}..{high}")
                    ok = False
                label = self.string(label_node, point_path)
                if label is None:
                    ok = False
                else:
                    result[lang][point] = label
        missing = [lang for lang in self.languages if lang not in found]
        if missing:
            self.report(node, path, f"missing translation for: {', '.join(missing)}")
            ok = False
        if ok and result:
            first, *others = result
            for lang in others:
                if set(result[lang]) != set(result[first]):
                    self.report(
                        found[lang][1],
                        _join(path, lang),
                        f"labels points {_names(sorted(result[lang]))} but {first} labels points "
                        f"{_names(sorted(result[first]))}; label the same points in every language",
                    )
                    ok = False
        return result if ok else None

    def options(
        self, node: Node, fields: Mapping[str, Node], path: str, qtype: str | None
    ) -> tuple[Option, ...] | None:
        at = _join(path, "options")
        if qtype is not None and qtype not in ("single", "multi"):
            if "options" in fields:
                self.report(fields["options"], at, "only single and multi questions have options")
            return ()
        if "options" not in fields:
            if qtype is not None:
                self.report(node, at, f"required for {qtype} questions: list at least two options")
            return None
        items = self.sequence(fields["options"], at)
        if items is None:
            return None
        if len(items) < 2:
            self.report(
                fields["options"], at, f"a {qtype or 'choice'} question needs at least two options, got {len(items)}"
            )
            return None
        options: list[Option] = []
        seen: dict[str, Node] = {}
        ok = True
        for i, item in enumerate(items):
            item_path = f"{at}[{i}]"
            parts = self.mapping(item, item_path, ("value", "label"), ())
            value = None
            if "value" in parts:
                value = self.identifier(
                    parts["value"], _join(item_path, "value"), OPTION_VALUE, "lowercase letters, digits, _ and -"
                )
                if value is not None and value in seen:
                    first = _line(seen[value])
                    self.report(
                        parts["value"],
                        _join(item_path, "value"),
                        f"duplicate option value '{value}' (first at line {first})",
                    )
                    value = None
                elif value is not None:
                    seen[value] = parts["value"]
            label = self.required_text(parts, "label", item_path)
            if value is None or label is None:
                ok = False
            else:
                options.append(Option(value, label))
        return tuple(options) if ok else None

    # -- conditions: skip logic and follow-up ---------------------------------------------------

    def condition(
        self, node: Node, path: str, known: Mapping[str, _QuestionInfo], before: int | None
    ) -> Condition | None:
        """One test on an answer; ``before`` (a question index) demands that it refers to an earlier question."""
        fields = self.mapping(node, path, ("question",), CONDITION_OPS)
        if not isinstance(node, MappingNode):
            return None
        ops = [op for op in CONDITION_OPS if op in fields]
        if not ops:
            self.report(node, path, f"needs one test besides question: {_names(CONDITION_OPS)}")
            return None
        if len(ops) > 1:
            self.report(node, path, f"only one test per condition, found: {', '.join(ops)}")
            return None
        op = ops[0]
        if "question" not in fields:
            return None
        qpath = _join(path, "question")
        qid = self.string(fields["question"], qpath)
        if qid is None:
            return None
        target = known.get(qid)
        if target is None:
            self.report(fields["question"], qpath, f"unknown question '{qid}'; questions: {', '.join(known)}")
            return None
        if before is not None and target.index == before:
            self.report(fields["question"], qpath, "a question cannot depend on its own answer")
            return None
        if before is not None and target.index > before:
            self.report(
                fields["question"],
                qpath,
                f"must refer to an earlier question; '{qid}' comes later (questions[{target.index}])",
            )
            return None
        value = self.condition_value(fields[op], _join(path, op), op, target)
        if value is None:
            return None
        return Condition(qid, op, value)

    def condition_value(self, node: Node, path: str, op: ConditionOp, target: _QuestionInfo) -> object:
        if op == "answered":
            return self.boolean(node, path)
        if target.type is None:
            return None
        if target.type == "text":
            self.report(node, path, f"'{target.id}' is a text question: test it with answered only")
            return None
        numeric = target.type in NUMERIC_TYPES
        if op in ("at_most", "at_least") and not numeric:
            self.report(
                node, path, f"{op} needs a rating, nps or ces question; '{target.id}' is a {target.type} question"
            )
            return None
        if op == "in":
            items = self.sequence(node, path)
            if items is None:
                return None
            if not items:
                self.report(node, path, "must list at least one value")
                return None
            values = [self.answer_value(item, f"{path}[{i}]", target) for i, item in enumerate(items)]
            return None if any(v is None for v in values) else tuple(values)
        return self.answer_value(node, path, target)

    def answer_value(self, node: Node, path: str, target: _QuestionInfo) -> int | str | None:
        """A possible answer of ``target``: a point of its scale or one of its option values."""
        if target.type in NUMERIC_TYPES:
            point = self.integer(node, path)
            if point is None or target.scale is None:
                return None
            if point not in target.scale:
                self.report(
                    node,
                    path,
                    f"{point} lies outside the scale of '{target.id}' ({target.scale.min}..{target.scale.max})",
                )
                return None
            return point
        value = self.string(node, path)
        if value is not None and target.options and value not in target.options:
            self.report(node, path, f"unknown option '{value}' of '{target.id}'; options: {', '.join(target.options)}")
            return None
        return value

    def follow_up(self, node: Node, infos: list[_QuestionInfo]) -> FollowUpRule | None:
        fields = self.mapping(node, "follow_up", ("any",), ("due_working_hours",))
        hours = 1.0
        if "due_working_hours" in fields:
            given = self.number(fields["due_working_hours"], "follow_up.due_working_hours")
            if given is not None and given <= 0:
                self.report(
                    fields["due_working_hours"], "follow_up.due_working_hours", f"must be greater than 0, got {given:g}"
                )
            elif given is not None:
                hours = given
        if "any" not in fields:
            return None
        items = self.sequence(fields["any"], "follow_up.any")
        if items is None:
            return None
        if not items:
            self.report(fields["any"], "follow_up.any", "must list at least one condition")
            return None
        known = {info.id: info for info in infos}
        conditions = [self.condition(item, f"follow_up.any[{i}]", known, before=None) for i, item in enumerate(items)]
        if any(c is None for c in conditions):
            return None
        return FollowUpRule(tuple(c for c in conditions if c is not None), hours)
