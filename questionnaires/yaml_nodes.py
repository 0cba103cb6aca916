"""Reading a questionnaire's YAML nodes into typed values, each problem reported with its line."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["TAG", "NodeChecker", "Problem", "join_path", "line_of", "names"]

TAG = "tag:yaml.org,2002:"


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


def join_path(path: str, key: str) -> str:
    """``path.key``, or ``key`` at the top level."""
    return f"{path}.{key}" if path else key


def line_of(node: Node) -> int:
    """The 1-based line where ``node`` starts."""
    return int(node.start_mark.line) + 1


def names(values: object) -> str:
    """The allowed values, comma-separated, for a message."""
    return ", ".join(str(v) for v in cast(tuple[object, ...], values))


class NodeChecker:
    """Reads YAML nodes into typed values, recording a :class:`Problem` with the line of each bad node."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.languages: tuple[str, ...] = ()
        self._constructor = SafeConstructor()

    # -- reporting and primitive values ---------------------------------------------------------

    def report(self, node: Node, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, line_of(node), path, message))

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
        tag = str(node.tag).removeprefix(TAG)
        return {
            "null": "nothing",
            "bool": f"true/false ({node.value})",
            "int": f"a whole number ({node.value})",
            "float": f"a number ({node.value})",
            "str": f"text ('{node.value}')",
        }.get(tag, f"{tag} ({node.value})")

    def is_null(self, node: Node) -> bool:
        return isinstance(node, ScalarNode) and node.tag == TAG + "null"

    def string(self, node: Node, path: str) -> str | None:
        if isinstance(node, ScalarNode) and node.tag == TAG + "str":
            return str(node.value)
        hint = f'; put it in quotes: "{node.value}"' if isinstance(node, ScalarNode) and node.value else ""
        self.report(node, path, f"expected text, got {self.describe(node)}{hint}")
        return None

    def integer(self, node: Node, path: str) -> int | None:
        value = self.value(node)
        if node.tag == TAG + "int" and isinstance(value, int):
            return value
        self.report(node, path, f"expected a whole number, got {self.describe(node)}")
        return None

    def number(self, node: Node, path: str) -> float | None:
        value = self.value(node)
        if node.tag in (TAG + "int", TAG + "float") and isinstance(value, int | float):
            return float(value)
        self.report(node, path, f"expected a number, got {self.describe(node)}")
        return None

    def boolean(self, node: Node, path: str) -> bool | None:
        value = self.value(node)
        if node.tag == TAG + "bool" and isinstance(value, bool):
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
                first = line_of(result[key][0])
                self.report(key_node, join_path(path, key), f"duplicate key (first at line {first})")
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
                self.report(key_node, join_path(path, key), f"unknown key; {guess}allowed keys: {', '.join(allowed)}")
            elif not (key in optional and self.is_null(value_node)):
                result[key] = value_node
        for key in required:
            if key not in found:
                self.report(node, join_path(path, key), "required key is missing")
        return result

    def known_language(self, node: Node, lang: str, path: str) -> bool:
        """Whether ``lang`` is one of the questionnaire's languages (reported when it is not)."""
        if self.languages and lang not in self.languages:
            self.report(node, path, f"unknown language; the questionnaire's languages are: {names(self.languages)}")
            return False
        return True

    def text(self, node: Node, path: str) -> dict[str, str] | None:
        """A text in every language: ``{vi: ..., en: ...}``."""
        found = self.pairs(node, path, "a text per language, like {vi: ..., en: ...}")
        if found is None:
            return None
        result: dict[str, str] = {}
        ok = True
        for lang, (key_node, value_node) in found.items():
            lang_path = join_path(path, lang)
            if not self.known_language(key_node, lang, lang_path):
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
        return self.text(fields[key], join_path(path, key)) if key in fields else None
