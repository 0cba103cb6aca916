"""Checking a questionnaire's questions: types, scales and their labels, options, pages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import cast

from yaml.nodes import Node

from questionnaires.conditions import ConditionChecker, QuestionInfo
from questionnaires.model import (
    NUMERIC_TYPES,
    QUESTION_TYPES,
    Criterion,
    Option,
    Question,
    QuestionType,
    Scale,
)
from questionnaires.yaml_nodes import TAG, join_path, line_of, names

__all__ = ["QUESTION_ID", "QuestionChecker"]

QUESTION_ID = re.compile(r"[a-z][a-z0-9_]*")
OPTION_VALUE = re.compile(r"[a-z0-9_-]+")

DEFAULT_MAX_LENGTH = 1000
MAX_SCALE_SPAN = 10
NPS_SCALE = (0, 10)
CES_SCALE = (1, 7)


class QuestionChecker(ConditionChecker):
    """The checks of the ``questions`` list, each question with its scale or options."""

    def questions(
        self, node: Node, criteria: tuple[Criterion, ...]
    ) -> tuple[list[Question | None], list[QuestionInfo]]:
        items = self.sequence(node, "questions")
        if items is None:
            return [], []
        if not items:
            self.report(node, "questions", "must list at least one question")
            return [], []
        criterion_ids = tuple(c.id for c in criteria)
        infos: list[QuestionInfo] = []
        parsed: list[tuple[Question | None, dict[str, Node]]] = []
        seen: dict[str, Node] = {}
        for i, item in enumerate(items):
            question, fields, info = self.question(item, f"questions[{i}]", i, criterion_ids)
            if info is not None:
                if info.id in seen:
                    first = line_of(seen[info.id])
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
    ) -> tuple[Question | None, dict[str, Node], QuestionInfo | None]:
        fields = self.mapping(
            node,
            path,
            ("id", "type", "text"),
            ("page", "criterion", "required", "help", "scale", "options", "max_length", "show_if"),
        )

        def at(key: str) -> str:
            return join_path(path, key)

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
                    fields["type"], at("type"), f"unknown question type '{qtype}'; allowed: {names(QUESTION_TYPES)}"
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
                known = f"criteria: {names(criterion_ids)}" if criterion_ids else "no criteria are defined"
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
            info = QuestionInfo(
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
        at = join_path(path, "scale")
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
        low = self.integer(parts["min"], join_path(at, "min")) if "min" in parts else None
        high = self.integer(parts["max"], join_path(at, "max")) if "max" in parts else None
        if low is None or high is None:
            return None
        if high <= low:
            self.report(parts["max"], join_path(at, "max"), f"must be greater than min ({low})")
            return None
        if high - low > MAX_SCALE_SPAN:
            self.report(
                parts["max"],
                join_path(at, "max"),
                f"a scale has at most 11 points: max - min must be at most {MAX_SCALE_SPAN}, got {high - low}",
            )
            return None
        if qtype == "nps" and (low, high) != NPS_SCALE:
            self.report(scale_node, at, f"an nps scale is always 0..10, got {low}..{high}; leave scale out")
            return None
        labels = self.labels(parts["labels"], join_path(at, "labels"), low, high) if "labels" in parts else {}
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
            lang_path = join_path(path, lang)
            if not self.known_language(key_node, lang, lang_path):
                ok = False
                continue
            points = self.pairs(points_node, lang_path, "a label per scale point, like {1: ..., 5: ...}")
            if points is None:
                ok = False
                continue
            result[lang] = {}
            for key, (point_node, label_node) in points.items():
                point_path = join_path(lang_path, key)
                point = self.value(point_node)
                if point_node.tag != TAG + "int" or not isinstance(point, int):
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
                        join_path(path, lang),
                        f"labels points {names(sorted(result[lang]))} but {first} labels points "
                        f"{names(sorted(result[first]))}; label the same points in every language",
                    )
                    ok = False
        return result if ok else None

    def options(
        self, node: Node, fields: Mapping[str, Node], path: str, qtype: str | None
    ) -> tuple[Option, ...] | None:
        at = join_path(path, "options")
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
                    parts["value"], join_path(item_path, "value"), OPTION_VALUE, "lowercase letters, digits, _ and -"
                )
                if value is not None and value in seen:
                    first = line_of(seen[value])
                    self.report(
                        parts["value"],
                        join_path(item_path, "value"),
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
