"""The questionnaire model: questions, scales, criteria, skip logic and follow-up rules.

Every object is a frozen dataclass. Texts are plain ``dict`` objects typed as read-only
``Mapping``: treat them as immutable, a published version never changes.

>>> from questionnaires import load_bundled
>>> counter = load_bundled()["counter"]
>>> counter.default_language
'vi'
>>> Questionnaire.from_dict(counter.to_dict()) == counter
True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

__all__ = [
    "CHANNELS",
    "CONDITION_OPS",
    "INDEX_COVERAGE",
    "INDEX_FORMULAS",
    "NUMERIC_TYPES",
    "QUESTION_TYPES",
    "WEIGHTING_DIMENSIONS",
    "AnswerValue",
    "Channel",
    "Condition",
    "ConditionOp",
    "Criterion",
    "FollowUpRule",
    "IndexCoverage",
    "IndexDefinition",
    "IndexFormula",
    "Option",
    "Question",
    "QuestionType",
    "Questionnaire",
    "Scale",
    "Text",
    "Weighting",
    "WeightingDimension",
    "format_answer",
]

Text = Mapping[str, str]
"""One text in every language of the questionnaire: ``{"vi": "...", "en": "..."}``. Read-only."""

AnswerValue = int | str | tuple[str, ...]
"""rating, nps, ces: ``int``; single, text: ``str``; multi: a tuple of option values."""

QuestionType = Literal["rating", "nps", "ces", "single", "multi", "text"]
QUESTION_TYPES: tuple[QuestionType, ...] = get_args(QuestionType)
NUMERIC_TYPES: frozenset[str] = frozenset({"rating", "nps", "ces"})
"""Question types answered with a number on a scale; only these may belong to a criterion."""

ConditionOp = Literal["in", "answered", "at_most", "at_least", "equals"]
CONDITION_OPS: tuple[ConditionOp, ...] = get_args(ConditionOp)

IndexFormula = Literal["mean_satisfied_share", "weighted_satisfied_share"]
INDEX_FORMULAS: tuple[IndexFormula, ...] = get_args(IndexFormula)

IndexCoverage = Literal["required", "when_answered"]
INDEX_COVERAGE: tuple[IndexCoverage, ...] = get_args(IndexCoverage)
"""How a criterion enters the composite index: ``required`` (below the minimum n it withholds the index) or
``when_answered`` (counted where enough people answered it, left out elsewhere; for a criterion that only
some respondents are asked, such as SIPAS's handling of feedback)."""

Channel = Literal["call", "counter", "online", "email", "fanpage"]
CHANNELS: tuple[Channel, ...] = get_args(Channel)

WeightingDimension = Literal["channel", "service"]
WEIGHTING_DIMENSIONS: tuple[WeightingDimension, ...] = get_args(WeightingDimension)
"""What a contact is counted by, and so what a post-stratification cell can be made of."""


def _plain(value: object) -> object:
    """A JSON-friendly copy: tuples become lists."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def format_answer(value: AnswerValue) -> str:
    """An answer as a person reads it: ``3``, ``no``, ``hotline, portal``."""
    if isinstance(value, tuple):
        return ", ".join(value)
    return str(value)


@dataclass(frozen=True)
class Scale:
    """The points a rating, nps or ces question can be answered with, with optional labels.

    >>> Scale(1, 5, {"en": {1: "Very dissatisfied", 5: "Very satisfied"}}).points
    (1, 2, 3, 4, 5)
    """

    min: int
    max: int
    labels: Mapping[str, Mapping[int, str]] = field(default_factory=dict)

    @property
    def points(self) -> tuple[int, ...]:
        return tuple(range(self.min, self.max + 1))

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and self.min <= value <= self.max

    def to_dict(self) -> dict[str, Any]:
        return {
            "min": self.min,
            "max": self.max,
            "labels": {lang: {str(k): v for k, v in sorted(points.items())} for lang, points in self.labels.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Scale:
        labels = {lang: {int(k): str(v) for k, v in points.items()} for lang, points in d.get("labels", {}).items()}
        return cls(min=int(d["min"]), max=int(d["max"]), labels=labels)


@dataclass(frozen=True)
class Option:
    """One choice of a single or multi question: a stable ``value`` and its label per language."""

    value: str
    label: Text

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "label": dict(self.label)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Option:
        return cls(value=str(d["value"]), label=dict(d["label"]))


@dataclass(frozen=True)
class Condition:
    """A test on one answer, used by ``show_if`` (skip logic) and by follow-up rules.

    ``value`` is a tuple for ``in``, a bool for ``answered``, an int for ``at_most``/``at_least``
    and an int or str for ``equals``. An unanswered question makes every test false, except
    ``answered: false``. For a multi question ``in`` and ``equals`` hold when any chosen
    option matches.

    >>> Condition("overall", "at_most", 2).holds({"overall": 1})
    True
    >>> Condition("overall", "at_most", 2).holds({})
    False
    """

    question: str
    op: ConditionOp
    value: object

    def holds(self, answers: Mapping[str, AnswerValue]) -> bool:
        answer = answers.get(self.question)
        answered = answer is not None and answer != "" and answer != ()
        if self.op == "answered":
            return answered == bool(self.value)
        if not answered or answer is None:
            return False
        chosen: tuple[object, ...] = answer if isinstance(answer, tuple) else (answer,)
        if self.op == "in":
            allowed = cast(tuple[object, ...], self.value)
            return any(_same(a, v) for a in chosen for v in allowed)
        if self.op == "equals":
            return any(_same(a, self.value) for a in chosen)
        if not isinstance(answer, int) or not isinstance(self.value, int):
            return False
        if self.op == "at_most":
            return answer <= self.value
        return answer >= self.value  # at_least

    def describe(self) -> str:
        """The test in words: ``at most 2``, ``one of 1, 2``, ``answered``."""
        if self.op == "answered":
            return "answered" if self.value else "not answered"
        if self.op == "in":
            return "one of " + ", ".join(str(v) for v in cast(tuple[object, ...], self.value))
        return f"{self.op.replace('_', ' ')} {self.value}"

    def reason(self, answers: Mapping[str, AnswerValue]) -> str:
        """Why the condition holds, for a person: ``overall = 1 (at most 2)``."""
        answer = answers.get(self.question)
        if self.op == "answered" or answer is None:
            return f"{self.question} ({self.describe()})"
        return f"{self.question} = {format_answer(answer)} ({self.describe()})"

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, self.op: _plain(self.value)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Condition:
        (op,) = (k for k in d if k != "question")
        value = d[op]
        if isinstance(value, list):
            value = tuple(value)
        return cls(question=str(d["question"]), op=cast(ConditionOp, op), value=value)


def _same(answer: object, expected: object) -> bool:
    # True == 1 in Python; a yes/no read as a boolean must never match a rating of 1.
    return type(answer) is type(expected) and answer == expected


@dataclass(frozen=True)
class Question:
    """One question. ``scale`` is set for rating, nps and ces; ``options`` for single and multi;
    ``max_length`` for text."""

    id: str
    type: QuestionType
    text: Text
    page: int = 1
    criterion: str | None = None
    required: bool = False
    help: Text | None = None
    scale: Scale | None = None
    options: tuple[Option, ...] = ()
    max_length: int | None = None
    show_if: Condition | None = None

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    @property
    def option_values(self) -> tuple[str, ...]:
        return tuple(o.value for o in self.options)

    def option(self, value: str) -> Option:
        for option in self.options:
            if option.value == value:
                return option
        raise KeyError(f"question {self.id!r} has no option {value!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "text": dict(self.text),
            "page": self.page,
            "criterion": self.criterion,
            "required": self.required,
            "help": None if self.help is None else dict(self.help),
            "scale": None if self.scale is None else self.scale.to_dict(),
            "options": [o.to_dict() for o in self.options],
            "max_length": self.max_length,
            "show_if": None if self.show_if is None else self.show_if.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Question:
        return cls(
            id=str(d["id"]),
            type=cast(QuestionType, d["type"]),
            text=dict(d["text"]),
            page=int(d.get("page", 1)),
            criterion=d.get("criterion"),
            required=bool(d.get("required", False)),
            help=None if d.get("help") is None else dict(d["help"]),
            scale=None if d.get("scale") is None else Scale.from_dict(d["scale"]),
            options=tuple(Option.from_dict(o) for o in d.get("options", ())),
            max_length=d.get("max_length"),
            show_if=None if d.get("show_if") is None else Condition.from_dict(d["show_if"]),
        )


@dataclass(frozen=True)
class Criterion:
    """A satisfaction criterion scored as the share of answers at or above ``satisfied_threshold``.

    ``in_index`` says how it enters the composite index (:data:`IndexCoverage`). ``to_dict`` writes it only
    when it is not ``"required"``, so versions published before the key existed keep their JSON and checksum.

    >>> feedback = Criterion("feedback", {"en": "Feedback"}, 4, in_index="when_answered")
    >>> feedback.to_dict()["in_index"], "in_index" in Criterion("access", {"en": "Access"}, 4).to_dict()
    ('when_answered', False)
    >>> Criterion.from_dict(feedback.to_dict()) == feedback
    True
    """

    id: str
    title: Text
    satisfied_threshold: int
    weight: float = 1.0
    target: float | None = None
    in_index: IndexCoverage = "required"

    def __post_init__(self) -> None:
        # The loader reports a bad value with its line; this guards objects built in code or from JSON.
        if self.in_index not in INDEX_COVERAGE:
            raise ValueError(f"Criterion.in_index must be one of {', '.join(INDEX_COVERAGE)}, got {self.in_index!r}")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "title": dict(self.title),
            "satisfied_threshold": self.satisfied_threshold,
            "weight": self.weight,
            "target": self.target,
        }
        if self.in_index != "required":
            d["in_index"] = self.in_index
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Criterion:
        target = d.get("target")
        return cls(
            id=str(d["id"]),
            title=dict(d["title"]),
            satisfied_threshold=int(d["satisfied_threshold"]),
            weight=float(d.get("weight", 1.0)),
            target=None if target is None else float(target),
            in_index=cast(IndexCoverage, d.get("in_index", "required")),
        )


@dataclass(frozen=True)
class IndexDefinition:
    """The composite index over the criteria, in percent (0-100)."""

    formula: IndexFormula
    target: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"formula": self.formula, "target": self.target}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> IndexDefinition:
        target = d.get("target")
        return cls(formula=cast(IndexFormula, d["formula"]), target=None if target is None else float(target))


@dataclass(frozen=True)
class Weighting:
    """Post-stratification of the respondents to the period's known contact volumes, one cell per
    combination of the dimensions ``by`` (by default channel × service).

    Declared in the questionnaire so that its scores are weighted without anyone having to ask; the
    weights and the price they cost in precision are computed by :mod:`scoring.weighting`.

    >>> Weighting().to_dict()
    {'by': ['channel', 'service']}
    >>> Weighting.from_dict({"by": ["service"]})
    Weighting(by=('service',))
    >>> Weighting(("channel", "channel"))
    Traceback (most recent call last):
    ...
    ValueError: Weighting.by must name one or both of channel, service, each once; got ('channel', 'channel')
    """

    by: tuple[WeightingDimension, ...] = ("channel", "service")

    def __post_init__(self) -> None:
        # The loader reports these with a line number; this guards objects built in code or from JSON.
        if not self.by or len(set(self.by)) != len(self.by) or not set(self.by) <= set(WEIGHTING_DIMENSIONS):
            raise ValueError(
                f"Weighting.by must name one or both of {', '.join(WEIGHTING_DIMENSIONS)}, each once; got {self.by!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {"by": list(self.by)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Weighting:
        by = d.get("by")
        return cls() if by is None else cls(by=tuple(cast(list[WeightingDimension], by)))


@dataclass(frozen=True)
class FollowUpRule:
    """Which answers open a follow-up case for the quality team: any one condition suffices.

    >>> rule = FollowUpRule((Condition("overall", "at_most", 2),), due_working_hours=1)
    >>> rule.triggered_by({"overall": 1})
    ('overall = 1 (at most 2)',)
    """

    conditions: tuple[Condition, ...]
    due_working_hours: float = 1.0

    def triggered_by(self, answers: Mapping[str, AnswerValue]) -> tuple[str, ...]:
        """The reasons a case must be opened; empty when none."""
        return tuple(c.reason(answers) for c in self.conditions if c.holds(answers))

    def to_dict(self) -> dict[str, Any]:
        return {"any": [c.to_dict() for c in self.conditions], "due_working_hours": self.due_working_hours}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FollowUpRule:
        return cls(
            conditions=tuple(Condition.from_dict(c) for c in d["any"]),
            due_working_hours=float(d.get("due_working_hours", 1.0)),
        )


@dataclass(frozen=True)
class Questionnaire:
    """One version of a questionnaire, as loaded from YAML (``source`` names the file)."""

    id: str
    version: int
    languages: tuple[str, ...]
    title: Text
    intro: Text
    channels: tuple[Channel, ...]
    criteria: tuple[Criterion, ...]
    questions: tuple[Question, ...]
    index: IndexDefinition | None = None
    follow_up: FollowUpRule | None = None
    weighting: Weighting | None = None
    source: str = ""

    @property
    def default_language(self) -> str:
        return self.languages[0]

    @property
    def pages(self) -> tuple[int, ...]:
        return tuple(sorted({q.page for q in self.questions}))

    def questions_on(self, page: int) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.page == page)

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(f"questionnaire {self.id!r} has no question {question_id!r}")

    def criterion(self, criterion_id: str) -> Criterion:
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise KeyError(f"questionnaire {self.id!r} has no criterion {criterion_id!r}")

    def questions_of(self, criterion_id: str) -> tuple[Question, ...]:
        """The questions that measure one criterion."""
        return tuple(q for q in self.questions if q.criterion == criterion_id)

    @property
    def checksum(self) -> str:
        """SHA-256 (hex) of the canonical JSON of the definition; ``source`` is left out, and so is
        ``weighting`` when there is none, so versions published before the key existed keep their checksum."""
        definition = self.to_dict()
        del definition["source"]
        if definition["weighting"] is None:
            del definition["weighting"]
        canonical = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form, rebuilt by :meth:`from_dict` (scale label keys become strings)."""
        return {
            "id": self.id,
            "version": self.version,
            "languages": list(self.languages),
            "title": dict(self.title),
            "intro": dict(self.intro),
            "channels": list(self.channels),
            "criteria": [c.to_dict() for c in self.criteria],
            "index": None if self.index is None else self.index.to_dict(),
            "weighting": None if self.weighting is None else self.weighting.to_dict(),
            "questions": [q.to_dict() for q in self.questions],
            "follow_up": None if self.follow_up is None else self.follow_up.to_dict(),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Questionnaire:
        """Rebuild from :meth:`to_dict` output (for example the JSON stored for a published version)."""
        return cls(
            id=str(d["id"]),
            version=int(d["version"]),
            languages=tuple(d["languages"]),
            title=dict(d["title"]),
            intro=dict(d["intro"]),
            channels=tuple(d.get("channels", ())),
            criteria=tuple(Criterion.from_dict(c) for c in d.get("criteria", ())),
            questions=tuple(Question.from_dict(q) for q in d["questions"]),
            index=None if d.get("index") is None else IndexDefinition.from_dict(d["index"]),
            follow_up=None if d.get("follow_up") is None else FollowUpRule.from_dict(d["follow_up"]),
            weighting=None if d.get("weighting") is None else Weighting.from_dict(d["weighting"]),
            source=str(d.get("source", "")),
        )
