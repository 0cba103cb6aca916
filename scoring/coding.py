"""How a questionnaire's answers are counted: the tables of a :class:`~scoring.tally.Tally` and the code of each
answer in them.

For a questionnaire, :meth:`Coding.of` fixes the tables:

* ``q:<question>`` for every numeric question: its answer code (:func:`~scoring.patterns.answer_codes`), for
  its distribution, mean, NPS and CES;
* ``c:<criterion>`` for every criterion: the joint pattern of the answers to its items
  (:func:`~scoring.patterns.pattern_codes`), for the satisfied share, the respondents' scores (ranks with
  ties), Cronbach's alpha (sums of products) and the two-item reliability;
* ``outcome``: each respondent's joint outcome over the criteria, ``Σ_c 3^c · outcome_c`` (none, answered,
  satisfied), for the composite index's linearised variance and its n (who answered any of its criteria);
* ``comment``: 1 for a respondent who left any comment.

The counts follow from the definition, not from the version a respondent answered: a coding belongs to the
questionnaire's latest version, and :attr:`Coding.fingerprint` changes with anything that changes a code
(questions, scales, criteria, their items and thresholds), so kept counts of another coding are recounted.

>>> coding = Coding((("ease1", 1, 5),), (CriterionCoding("ease", ("ease1",), 1, 5, 4.0),), comments=True)
>>> coding.sizes
{'q:ease1': 6, 'c:ease': 6, 'outcome': 3, 'comment': 2}
>>> codes = coding.row_codes(np.array([[5.0], [2.0], [np.nan]]), np.array([True, False, False]))
>>> {name: column.tolist() for name, (column, _) in codes.items()}
{'q:ease1': [5, 2, 0], 'c:ease': [5, 2, 0], 'outcome': [2, 1, 0], 'comment': [1, 0, 0]}
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from questionnaires.model import Questionnaire
from scoring.patterns import AnswerPatterns, pattern_codes, pattern_outcomes, pattern_values, patterns_of
from scoring.tally import CodeColumn, Tally

__all__ = ["COMMENT", "OUTCOME", "Coding", "CriterionCoding"]

OUTCOME = "outcome"
COMMENT = "comment"
MAX_CODES = 2**31 - 1  # the code space of all tables together (a kept count names its code in 32 bits)


def _code(value: float, low: int, high: int) -> int:
    """One answer's code on the scale ``low..high`` (0: not answered, off the scale or between its points)."""
    shifted = value - (low - 1)
    if 1 <= shifted <= high - low + 1 and shifted == math.floor(shifted):  # False for NaN
        return int(shifted)
    return 0


def _answer_codes(answers: npt.NDArray[np.float64], lows: npt.NDArray[np.int64],
                  highs: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """:func:`~scoring.patterns.answer_codes` (``strict=False``) of every column at once: column ``j`` on the scale
    ``lows[j]..highs[j]``; an answer off its scale or between its points counts as not answered.

    >>> _answer_codes(np.array([[1.0, 0.0], [np.nan, 10.0], [3.5, 7.0]]), np.array([1, 0]), np.array([5, 10])).tolist()
    [[1, 1], [0, 11], [0, 8]]
    """
    points = highs - lows + 1
    if points.size and (int(points.min()) < 1 or int(points.max()) > 254):
        raise ValueError("answer codes handle scales of 1 to 254 points")
    shifted = answers - (lows - 1)
    with np.errstate(invalid="ignore"):
        on_scale = (shifted >= 1) & (shifted <= points) & (shifted == np.floor(shifted))  # False for NaN
    return np.where(on_scale, shifted, 0.0).astype(np.uint8)


@dataclass(frozen=True)
class CriterionCoding:
    """A criterion's items, coded on the common scale ``low..high`` of its items, and its satisfied threshold."""

    id: str
    items: tuple[str, ...]
    low: int
    high: int
    threshold: float

    @property
    def size(self) -> int:
        return int((self.high - self.low + 2) ** len(self.items))


@dataclass(frozen=True)
class Coding:
    """The tables of a questionnaire's tallies (:mod:`scoring.coding`): numeric questions with their scales,
    criteria with their items, and whether it asks for comments."""

    questions: tuple[tuple[str, int, int], ...]  # (question id, scale min, scale max)
    criteria: tuple[CriterionCoding, ...]
    comments: bool

    @classmethod
    def of(cls, questionnaire: Questionnaire) -> Coding:
        numeric = [x for x in questionnaire.questions if x.is_numeric and x.scale is not None]
        scales = {x.id: (x.scale.min, x.scale.max) for x in numeric}  # type: ignore[union-attr]
        criteria = []
        for c in questionnaire.criteria:
            items = [x.id for x in questionnaire.questions_of(c.id) if x.id in scales]
            if not items:
                continue
            criteria.append(CriterionCoding(c.id, tuple(items), min(scales[i][0] for i in items),
                                            max(scales[i][1] for i in items), float(c.satisfied_threshold)))
        comments = any(x.type == "text" for x in questionnaire.questions)
        coding = cls(tuple((x.id, *scales[x.id]) for x in numeric), tuple(criteria), comments)
        if sum(coding.sizes.values()) > MAX_CODES:
            raise ValueError(f"questionnaire {questionnaire.id!r}: its criteria have too many items to count their "
                             "answer patterns")
        return coding

    @cached_property
    def sizes(self) -> dict[str, int]:
        """Each table's code space, in the order of the tables."""
        sizes = {f"q:{qid}": high - low + 2 for qid, low, high in self.questions}
        sizes.update({f"c:{c.id}": c.size for c in self.criteria})
        sizes[OUTCOME] = 3 ** len(self.criteria)
        sizes[COMMENT] = 2
        return sizes

    @cached_property
    def offsets(self) -> dict[str, int]:
        """Where each table's codes start in one code space over all tables (for storing a cell's counts)."""
        out, at = {}, 0
        for name, size in self.sizes.items():
            out[name] = at
            at += size
        return out

    @cached_property
    def fingerprint(self) -> str:
        """A short digest of everything that decides a code: equal fingerprints, interchangeable counts."""
        text = json.dumps([self.questions, [(c.id, c.items, c.low, c.high, c.threshold) for c in self.criteria],
                           self.comments], separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def question_ids(self) -> list[str]:
        return [qid for qid, _, _ in self.questions]

    def row_codes(self, answers: npt.NDArray[np.float64], commented: npt.NDArray[np.bool_]) -> dict[str, CodeColumn]:
        """Every table's code of each row: ``answers[:, j]`` the answers to ``questions[j]`` (NaN = not answered;
        an answer off its scale counts as not answered), ``commented`` whether the row left a comment."""
        if answers.ndim != 2 or answers.shape[1] != len(self.questions):
            raise ValueError(f"answers must have one column per numeric question ({len(self.questions)})")
        position = {qid: j for j, (qid, _, _) in enumerate(self.questions)}
        out: dict[str, CodeColumn] = {}
        lows = np.array([low for _, low, _ in self.questions], dtype=np.int64)
        highs = np.array([high for _, _, high in self.questions], dtype=np.int64)
        question_codes = _answer_codes(answers, lows, highs)
        for j, (qid, low, high) in enumerate(self.questions):
            out[f"q:{qid}"] = (question_codes[:, j], high - low + 2)
        joint = np.zeros(answers.shape[0], dtype=np.int64)
        for c, criterion in enumerate(self.criteria):
            columns = [position[i] for i in criterion.items]
            coded = _answer_codes(answers[:, columns], np.full(len(columns), criterion.low),
                                  np.full(len(columns), criterion.high))
            items = [coded[:, j] for j in range(len(columns))]
            codes, size = pattern_codes(items, criterion.low, criterion.high)
            out[f"c:{criterion.id}"] = (codes, size)
            joint += self._outcome_of(criterion, codes) * 3**c
        out[OUTCOME] = (joint, 3 ** len(self.criteria))
        out[COMMENT] = (np.asarray(commented, dtype=np.int64), 2)
        return out

    def positions(self, values: Sequence[float], commented: bool) -> list[int]:
        """One respondent's codes in plain Python, as positions in the code space of all tables (:attr:`offsets`
        plus the code), codes 0 left out: the same codes as :meth:`row_codes`, for the few respondents a write
        counts, where array calls cost more than they save. ``values[j]`` answers ``questions[j]`` (NaN: not
        answered).

        >>> coding = Coding((("ease1", 1, 5),), (CriterionCoding("ease", ("ease1",), 1, 5, 4.0),), comments=True)
        >>> coding.positions([5.0], True), coding.positions([float("nan")], False)
        ([5, 11, 14, 16], [])
        """
        offsets, out = self.offsets, []
        answered: dict[str, float] = {}
        for (qid, low, high), value in zip(self.questions, values, strict=True):
            code = _code(value, low, high)
            if code:
                out.append(offsets[f"q:{qid}"] + code)
            answered[qid] = value
        joint = 0
        for c, criterion in enumerate(self.criteria):
            base, pattern, total, count = criterion.high - criterion.low + 2, 0, 0.0, 0
            for item in criterion.items:
                code = _code(answered[item], criterion.low, criterion.high)
                pattern = pattern * base + code
                if code:
                    total += code + criterion.low - 1
                    count += 1
            if pattern:
                out.append(offsets[f"c:{criterion.id}"] + pattern)
            joint += (0 if not count else 2 if total / count >= criterion.threshold else 1) * 3**c
        if joint:
            out.append(offsets[OUTCOME] + joint)
        if commented:
            out.append(offsets[COMMENT] + 1)
        return out

    def _outcome_of(self, criterion: CriterionCoding, codes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        present, inverse = np.unique(codes, return_inverse=True)
        values = pattern_values(criterion.size, len(criterion.items), criterion.low, criterion.high, present)
        outcome = pattern_outcomes(values, criterion.threshold).astype(np.int64)
        return outcome[inverse.ravel()]

    def patterns(self, tally: Tally) -> dict[str, AnswerPatterns]:
        """Each criterion's answer patterns per cell of ``tally``."""
        return {c.id: patterns_of(tally.tables[f"c:{c.id}"], len(c.items), c.low, c.high) for c in self.criteria}

    def check(self, tally: Tally) -> None:
        """Raise ``ValueError`` unless ``tally`` has exactly this coding's tables."""
        sizes = {name: table.size for name, table in tally.tables.items()}
        if sizes != self.sizes:
            raise ValueError("the tally was counted with another coding")
