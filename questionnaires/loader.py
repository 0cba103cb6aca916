"""Load and validate questionnaire YAML (the format is described in ``questionnaires/README.md``).

The validator reports every problem it finds, each with the line of the offending YAML node,
so that one run of ``survey questionnaires validate`` shows all there is to fix:

>>> problems = validate_text("id: counter\\nversion: 0\\n", file="counter.yaml")
>>> print(next(p for p in problems if p.path == "version"))
counter.yaml:2: version: must be a positive whole number, got 0
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import cast

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, SequenceNode

from questionnaires.conditions import QuestionInfo
from questionnaires.model import (
    CHANNELS,
    INDEX_COVERAGE,
    INDEX_FORMULAS,
    WEIGHTING_DIMENSIONS,
    Channel,
    Criterion,
    IndexCoverage,
    IndexDefinition,
    IndexFormula,
    Question,
    Questionnaire,
    Weighting,
    WeightingDimension,
)
from questionnaires.question_checks import QUESTION_ID, QuestionChecker
from questionnaires.yaml_nodes import TAG, Problem, join_path, line_of, names

__all__ = [
    "Problem",
    "QuestionnaireError",
    "load_file",
    "load_text",
    "validate_file",
    "validate_text",
]

QUESTIONNAIRE_ID = re.compile(r"[a-z][a-z0-9-]*")
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")


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
    checker = QuestionnaireChecker(file)
    questionnaire = checker.questionnaire(root)
    problems = sorted(checker.problems, key=lambda p: p.line or 0)
    return (questionnaire if not problems else None), problems


class QuestionnaireChecker(QuestionChecker):
    """Checks a whole questionnaire: its top-level keys, languages, channels, criteria, index and weighting."""

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
        infos: list[QuestionInfo] = []
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
                tag = str(node.tag).replace(TAG, "!!", 1)
                self.report(node, path, f"the tag {tag} is not allowed; only plain YAML values are")
            if isinstance(node, SequenceNode):
                stack.extend((item, f"{path}[{i}]") for i, item in enumerate(node.value))
            elif isinstance(node, MappingNode):
                stack.extend((value, join_path(path, str(key.value))) for key, value in node.value)

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
                self.report(item, path, f"unknown channel '{value}'; allowed: {names(CHANNELS)}")
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
            fields = self.mapping(item, path, ("id", "title", "satisfied_threshold"), ("weight", "target", "in_index"))
            cid = None
            if "id" in fields:
                cid = self.identifier(
                    fields["id"],
                    join_path(path, "id"),
                    QUESTION_ID,
                    "lowercase letters, digits and _, starting with a letter",
                )
                if cid is not None and cid in seen:
                    first = line_of(seen[cid][0])
                    self.report(
                        fields["id"], join_path(path, "id"), f"duplicate criterion id '{cid}' (first at line {first})"
                    )
                    cid = None
            title = self.required_text(fields, "title", path)
            threshold = None
            if "satisfied_threshold" in fields:
                threshold = self.integer(fields["satisfied_threshold"], join_path(path, "satisfied_threshold"))
            weight = 1.0
            if "weight" in fields:
                given = self.number(fields["weight"], join_path(path, "weight"))
                if given is not None and given <= 0:
                    self.report(fields["weight"], join_path(path, "weight"), f"must be greater than 0, got {given:g}")
                elif given is not None:
                    weight = given
            target = None
            if "target" in fields:
                target = self.number(fields["target"], join_path(path, "target"))
                if target is not None and not 0 <= target <= 1:
                    self.report(
                        fields["target"], join_path(path, "target"), f"must be a share between 0 and 1, got {target:g}"
                    )
            in_index: IndexCoverage = "required"
            if "in_index" in fields:
                given_coverage = self.string(fields["in_index"], join_path(path, "in_index"))
                if given_coverage is not None and given_coverage not in INDEX_COVERAGE:
                    self.report(
                        fields["in_index"],
                        join_path(path, "in_index"),
                        f"must be one of {names(INDEX_COVERAGE)}, got {given_coverage!r}",
                    )
                elif given_coverage is not None:
                    in_index = given_coverage
            if cid is not None and threshold is not None:
                seen[cid] = (fields["id"], fields["satisfied_threshold"], threshold)
                if title is not None:
                    criteria.append(Criterion(cid, title, threshold, weight, target, in_index))
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
                    f"unknown formula '{formula}'; allowed: {names(INDEX_FORMULAS)}",
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
        allowed = names(WEIGHTING_DIMENSIONS)
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
        self, criteria: tuple[Criterion, ...], nodes: Mapping[str, tuple[Node, Node, int]], infos: list[QuestionInfo]
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
