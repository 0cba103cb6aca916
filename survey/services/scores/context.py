"""What an assessment needs besides the response arrays: the organisation tree, the request's scope and grouping,
and each response's answers coded once for the per-group counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from questionnaires.model import Criterion, Questionnaire
from scoring import SmallSampleRule
from scoring.patterns import AnswerPatterns, answer_codes, answer_patterns
from survey.services.extract import ResponseFrame
from survey.services.scores.periods import Period

__all__ = ["Context", "RowCodes", "UnitTree"]


@dataclass(frozen=True)
class UnitTree:
    """The organisation as arrays indexed by unit id: code, parent id (0 for the root) and path."""

    code: dict[int, str]
    parent: dict[int, int]
    path: dict[int, str]

    def parent_array(self, size: int) -> npt.NDArray[np.int64]:
        """Per unit id below ``size``: its parent's id (0 for a root or an unknown id)."""
        out = np.zeros(size, dtype=np.int64)
        for unit, parent in self.parent.items():
            if unit < size:
                out[unit] = parent
        return out

    def subunit_array(self, scope: int | None, size: int) -> npt.NDArray[np.int64]:
        """Per unit id, the unit directly under ``scope`` whose subtree holds it: ``scope`` itself for the scope's
        own responses, -1 outside the scope. Without a scope, the single top unit is the scope (with several top
        units, each is its own subunit)."""
        if scope is None:
            roots = [u for u, p in self.parent.items() if p == 0]
            scope = roots[0] if len(roots) == 1 else 0
        out = np.full(size, -1, dtype=np.int64)
        children = {u: self.path[u] for u, p in self.parent.items() if p == scope}
        scope_path = self.path.get(scope, "/")
        for unit, path in self.path.items():
            if unit >= size or not path.startswith(scope_path):
                continue
            out[unit] = unit if unit == scope else next(
                (child for child, child_path in children.items() if path.startswith(child_path)), -1)
        return out


@dataclass(frozen=True)
class Context:
    """Everything :func:`~survey.services.scores.assessment.assess` needs besides the arrays."""

    questionnaire: Questionnaire
    period: Period
    timezone: str
    units: UnitTree
    service_codes: dict[int, str]
    scope_unit: int | None = None
    by: tuple[str, ...] = ()
    rule: SmallSampleRule = field(default_factory=SmallSampleRule)
    confidence_level: float = 0.95
    # delivered invitations: rows of (unit, service, channel, month, count)
    invitations: npt.NDArray[np.int64] | None = None
    # contact volumes for weighting: rows of (channel, service, count); None = unweighted
    contacts: npt.NDArray[np.int64] | None = None
    weighting_by: tuple[str, ...] = ("channel", "service")  # the post-stratification cells
    # False: only the measures, the reliability and the trend (no peers, funnels or earlier periods): a period
    # scored for its own figures, e.g. a report's trend window or previous period
    comparisons: bool = True
    trend: bool = True  # False: no monthly trend test either (a period scored for its measures only)


@dataclass(frozen=True)
class RowCodes:
    """Per frame row, computed once: each numeric question's answer code and each criterion's answer pattern."""

    questions: dict[str, npt.NDArray[np.uint8]]
    patterns: dict[str, AnswerPatterns]

    @classmethod
    def of(cls, frame: ResponseFrame, q: Questionnaire, criteria: Sequence[Criterion]) -> RowCodes:
        numeric = [x for x in q.questions if x.is_numeric and x.scale is not None]
        questions = {x.id: answer_codes(frame.column(x.id), x.scale.min, x.scale.max)  # type: ignore[union-attr]
                     for x in numeric}
        scales = {x.id: (x.scale.min, x.scale.max) for x in numeric}  # type: ignore[union-attr]
        patterns = {}
        for c in criteria:
            items = q.questions_of(c.id)
            low = min(scales[x.id][0] for x in items)
            high = max(scales[x.id][1] for x in items)
            codes = [questions[x.id] if scales[x.id] == (low, high) else answer_codes(frame.column(x.id), low, high)
                     for x in items]
            patterns[c.id] = answer_patterns(codes, low, high)
        return cls(questions, patterns)
