"""What an assessment needs besides the counted answers: the organisation tree, the request's scope and
grouping."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from questionnaires.model import Questionnaire
from scoring import SmallSampleRule
from survey.services.scores.periods import Period

__all__ = ["Context", "UnitTree"]


@dataclass(frozen=True)
class UnitTree:
    """The organisation as arrays indexed by unit id: code, parent id (0 for the root) and path."""

    code: dict[int, str]
    parent: dict[int, int]
    path: dict[int, str]

    def subtree(self, root: int) -> set[int]:
        """``root`` and every unit below it."""
        path = self.path[root]
        return {u for u, p in self.path.items() if p.startswith(path)}

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
