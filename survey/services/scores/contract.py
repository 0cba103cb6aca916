"""The JSON contract of ``survey scores`` and ``GET /api/v1/scores`` (the result Structs) and the request.

Shares are fractions 0–1, the index 0–100, NPS −100..100. Below ``min_n`` a measure is suppressed and
no test runs on it.

>>> ScoreRequest("post-call", "2026-Q2", by=("unit", "month")).by
('unit', 'month')
>>> ScoreRequest("post-call", "2026-Q2", min_n=0)
Traceback (most recent call last):
...
survey.services.scores.errors.ScoreParameterError: min_n: must be a whole number from 1 to 1000000, got 0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
import numpy as np
import numpy.typing as npt

from questionnaires.loader import QUESTIONNAIRE_ID
from questionnaires.model import CHANNELS
from scoring import ConfidenceInterval
from survey.services.scores.errors import ScoreParameterError
from survey.services.scores.periods import Period, parse_period

__all__ = [
    "DIMENSIONS",
    "MAX_MIN_N",
    "CESResult",
    "CommentExcerpt",
    "CommentsResult",
    "CriterionResult",
    "Dimension",
    "FunnelFamily",
    "FunnelUnit",
    "IndexResult",
    "NPSResult",
    "QuestionResult",
    "ScoreGroup",
    "ScoreReport",
    "ScoreRequest",
    "TestResult",
    "WeightedIndexResult",
    "WeightedResult",
    "WeightingResult",
    "json_interval",
    "json_number",
    "json_numbers",
]

Dimension = Literal["unit", "subunit", "service", "channel", "month"]
# ``unit``: each unit's own responses; ``subunit``: each unit directly under the scope unit, with its subtree
DIMENSIONS: tuple[Dimension, ...] = ("unit", "subunit", "service", "channel", "month")
MAX_MIN_N = 1_000_000  # a threshold no group reaches: everything suppressed, and still a number numpy compares


def json_number(value: Any) -> float | None:
    """A number as the contract gives it: NaN and infinities become ``None``."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def json_numbers(values: npt.NDArray[Any]) -> list[float | None]:
    """A float column as JSON numbers: NaN and infinities become ``None``."""
    out: list[float | None] = np.where(np.isfinite(values), values, np.nan).astype(object).tolist()
    return [None if v != v else v for v in out]


def json_interval(interval: ConfidenceInterval | None) -> list[float] | None:
    """An interval as the contract's ``[low, high]``."""
    return None if interval is None else [float(interval.low), float(interval.high)]


class WeightedIndexResult(msgspec.Struct, frozen=True):
    """The composite index of the post-stratified shares, its linearised interval and what the weights cost."""

    value: float | None
    ci: list[float] | None
    met: bool | None
    design_effect: float | None
    effective_n: float | None
    suppressed: bool
    suppression_reason: str | None = None
    criteria: list[str] = msgspec.field(default_factory=list)  # the criteria the weighted index covers


class IndexResult(msgspec.Struct, frozen=True):
    """The composite index (0–100) with its 95% interval ``ci`` [low, high] and its target."""

    value: float | None
    ci: list[float] | None
    target: float | None
    met: bool | None
    n: int
    formula: str
    suppressed: bool
    suppression_reason: str | None = None
    weighted: WeightedIndexResult | None = None
    criteria: list[str] = msgspec.field(default_factory=list)  # the criteria the index covers (see in_index)


class WeightedResult(msgspec.Struct, frozen=True):
    """A post-stratified share with the design effect and effective n it cost."""

    satisfied_share: float | None
    ci: list[float] | None
    design_effect: float | None
    effective_n: float | None
    suppressed: bool
    suppression_reason: str | None = None


class CriterionResult(msgspec.Struct, frozen=True):
    """One criterion: respondents ``n``, ``satisfied_share`` (0–1) with its Wilson ``ci``, the ``mean``."""

    id: str
    n: int
    satisfied: int | None  # None below min_n: a count of satisfied answers is a share in disguise
    mean: float | None
    satisfied_share: float | None
    ci: list[float] | None
    target: float | None
    met: bool | None
    suppressed: bool
    suppression_reason: str | None = None
    weighted: WeightedResult | None = None


class QuestionResult(msgspec.Struct, frozen=True):
    """One numeric question: answers ``n``, ``mean``, ``sd`` and the count per scale point (empty below min_n: a
    distribution gives the mean away)."""

    id: str
    type: str
    n: int
    mean: float | None
    sd: float | None
    distribution: dict[str, int]
    suppressed: bool
    suppression_reason: str | None = None


class NPSResult(msgspec.Struct, frozen=True):
    """Net Promoter Score (−100..100) with its adjusted-Wald interval."""

    question: str
    n: int
    value: float | None
    ci: list[float] | None
    promoters: int | None  # the three counts: None below min_n
    passives: int | None
    detractors: int | None
    suppressed: bool
    suppression_reason: str | None = None


class CESResult(msgspec.Struct, frozen=True):
    """Customer Effort Score: the mean on the effort scale with its t interval."""

    question: str
    n: int
    mean: float | None
    ci: list[float] | None
    suppressed: bool
    suppression_reason: str | None = None


class CommentExcerpt(msgspec.Struct, frozen=True):
    """One comment as a report shows it: phone numbers and e-mail addresses masked."""

    question: str
    text: str
    submitted_at: str
    unit: str | None


class CommentsResult(msgspec.Struct, frozen=True):
    """A group's free-text comments: ``n`` respondents left one; the ``latest`` few are shown only when the group
    has at least ``min_n_comments`` respondents (else ``suppressed``, so that nobody can be recognised)."""

    n: int
    suppressed: bool
    suppression_reason: str | None = None
    latest: list[CommentExcerpt] = msgspec.field(default_factory=list)


class TestResult(msgspec.Struct, frozen=True):
    """One test: ``comparison`` (vs_peers, previous_period, same_period_last_year, trend, reliability,
    across_peers), the ``test`` run, its ``statistic``, ``pvalue`` and ``effect_size`` (with its name), ``n``."""

    comparison: str
    test: str
    criterion: str | None
    statistic: float | None
    pvalue: float | None
    effect_size: float | None
    effect_size_name: str | None
    n: int
    suppressed: bool
    suppression_reason: str | None = None
    details: dict[str, Any] = msgspec.field(default_factory=dict)
    # Benjamini–Hochberg q-value over the report's family of tests (every test with a p-value, and the funnel
    # flags): what significance markers use; ``pvalue`` stays the raw p
    q_value: float | None = None


class WeightingResult(msgspec.Struct, frozen=True):
    """Post-stratification of a group to contact volumes by ``by`` (channel × service unless the questionnaire
    says otherwise): Kish's design effect and effective n, the share of contacts covered, the cells answered."""

    design_effect: float | None
    effective_n: float | None
    coverage: float | None
    cells: int
    by: list[str] = msgspec.field(default_factory=lambda: ["channel", "service"])


class ScoreGroup(msgspec.Struct, frozen=True):
    """One group: its keys (``None`` for a dimension it is not grouped by) and its measures and tests."""

    unit: str | None
    service: str | None
    channel: str | None
    month: str | None
    n: int
    response_rate: float | None
    invitations_delivered: int
    index: IndexResult | None
    criteria: list[CriterionResult]
    questions: list[QuestionResult]
    nps: NPSResult | None
    ces: CESResult | None
    tests: list[TestResult]
    weighting: WeightingResult | None = None
    subunit: str | None = None  # grouped by subunit: the unit directly under the scope (with its subtree)
    comments: CommentsResult | None = None  # None: the questionnaire asks for no comment


class FunnelUnit(msgspec.Struct, frozen=True):
    """A unit on the funnel plot of one criterion: its share, the limits for its n and where it falls (``family``:
    the units it is compared with, see :class:`FunnelFamily`); ``flagged`` when its z (against the possibly widened
    limits) has a q-value below 0.05."""

    criterion: str
    unit: str
    k: int | None  # None below min_n
    n: int
    share: float | None
    target: float
    lower_95: float | None
    upper_95: float | None
    lower_998: float | None
    upper_998: float | None
    position: str
    family: str | None = None
    z: float | None = None
    pvalue: float | None = None
    q_value: float | None = None
    flagged: bool = False
    phi: float | None = None  # the family's overdispersion, as in its FunnelFamily
    tau2: float | None = None
    widened: bool = False


class FunnelFamily(msgspec.Struct, frozen=True):
    """One funnel plot: the units of one level compared on one criterion (Spiegelhalter 2005). ``family`` names
    them (the children of a unit, or every unit of a level in the country), ``target`` is the criterion's declared
    target or the family's pooled share (``target_source``); ``phi`` the overdispersion of the winsorised z-scores,
    ``tau2`` the additive random-effects variance and ``widened`` whether the limits were widened by it. A family of
    fewer than five shown units gets no funnel (``suppressed``: "too few units to compare")."""

    criterion: str
    family: str
    level: int
    units: list[str]
    n_units: int
    target: float | None
    target_source: str | None
    phi: float | None
    tau2: float | None
    widened: bool
    overdispersion_pvalue: float | None
    suppressed: bool
    suppression_reason: str | None = None


class ScoreReport(msgspec.Struct, frozen=True):
    """The scores of one questionnaire for one scope and period."""

    questionnaire: str
    version: int
    period: str
    start: str
    end: str
    unit: str | None
    service: str | None
    channel: str | None
    by: list[str]
    weighted: bool
    min_n: int
    min_n_comments: int
    groups: list[ScoreGroup]
    tests: list[TestResult]
    funnel: list[FunnelUnit]
    timings: dict[str, float] = msgspec.field(default_factory=dict)
    min_n_inference: int = 10  # the fewest answers a group needs to be tested (never fewer than min_n)
    funnel_families: list[FunnelFamily] = msgspec.field(default_factory=list)
    multiple_testing: dict[str, Any] = msgspec.field(default_factory=dict)  # method, alpha and family size m


@dataclass(frozen=True)
class ScoreRequest:
    """What to score: a questionnaire key, a period, an optional scope and the grouping."""

    questionnaire: str
    period: str
    unit: str | None = None
    service: str | None = None
    channel: str | None = None
    by: tuple[str, ...] = ()
    weighted: bool | None = None  # None: as the questionnaire's ``weighting`` section says
    min_n: int = 30
    min_n_comments: int = 10
    min_n_inference: int = 10  # below it a group's counts are shown (when min_n allows) but never tested
    comments: bool = True  # count (and quote) each group's comments

    def __post_init__(self) -> None:
        if not isinstance(self.questionnaire, str) or not QUESTIONNAIRE_ID.fullmatch(self.questionnaire):
            raise ScoreParameterError("questionnaire", f"{self.questionnaire!r} is not a questionnaire id (lower-case "
                                      "letters, digits and '-', e.g. post-call)")
        parse_period(self.period)
        for name in ("unit", "service"):
            value = getattr(self, name)
            if value is not None and (not value or not value.isprintable() or len(value) > 64):
                raise ScoreParameterError(name, f"{value!r} is not a {name} code")
        for dimension in self.by:
            if dimension not in DIMENSIONS:
                raise ScoreParameterError("by", f"{dimension!r} is not allowed; allowed: {', '.join(DIMENSIONS)}")
        if len(set(self.by)) != len(self.by):
            raise ScoreParameterError("by", "each dimension at most once")
        if "unit" in self.by and "subunit" in self.by:
            raise ScoreParameterError("by", "unit or subunit, not both (subunit already groups by unit, each with "
                                      "its subtree)")
        if self.channel is not None and self.channel not in CHANNELS:
            raise ScoreParameterError("channel", f"{self.channel!r} is not allowed; allowed: {', '.join(CHANNELS)}")
        for name in ("min_n", "min_n_comments", "min_n_inference"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MIN_N:
                raise ScoreParameterError(name, f"must be a whole number from 1 to {MAX_MIN_N}, got {value!r}")

    @property
    def period_range(self) -> Period:
        """The :class:`Period` the ``period`` text names."""
        return parse_period(self.period)
