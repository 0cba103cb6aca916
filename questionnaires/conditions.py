"""Checking a questionnaire's conditions: skip logic (``show_if``) and the follow-up rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node

from questionnaires.model import (
    CONDITION_OPS,
    NUMERIC_TYPES,
    Condition,
    ConditionOp,
    FollowUpRule,
    Scale,
)
from questionnaires.yaml_nodes import NodeChecker, join_path, names

__all__ = ["ConditionChecker", "QuestionInfo"]


@dataclass
class QuestionInfo:
    """What the second pass (conditions, criteria) needs to know about one question."""

    index: int
    id: str
    type: str | None
    node: Node
    scale: Scale | None
    options: tuple[str, ...]
    criterion: str | None
    criterion_node: Node | None


class ConditionChecker(NodeChecker):
    """The checks of conditions on answers, given what is known of each question."""

    def condition(
        self, node: Node, path: str, known: Mapping[str, QuestionInfo], before: int | None
    ) -> Condition | None:
        """One test on an answer; ``before`` (a question index) demands that it refers to an earlier question."""
        fields = self.mapping(node, path, ("question",), CONDITION_OPS)
        if not isinstance(node, MappingNode):
            return None
        ops = [op for op in CONDITION_OPS if op in fields]
        if not ops:
            self.report(node, path, f"needs one test besides question: {names(CONDITION_OPS)}")
            return None
        if len(ops) > 1:
            self.report(node, path, f"only one test per condition, found: {', '.join(ops)}")
            return None
        op = ops[0]
        if "question" not in fields:
            return None
        qpath = join_path(path, "question")
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
        value = self.condition_value(fields[op], join_path(path, op), op, target)
        if value is None:
            return None
        return Condition(qid, op, value)

    def condition_value(self, node: Node, path: str, op: ConditionOp, target: QuestionInfo) -> object:
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

    def answer_value(self, node: Node, path: str, target: QuestionInfo) -> int | str | None:
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

    def follow_up(self, node: Node, infos: list[QuestionInfo]) -> FollowUpRule | None:
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
