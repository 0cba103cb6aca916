"""Scores of a questionnaire for a scope and period, per group: the measures, the comparisons and the tests.

The statistics are :mod:`scoring`'s; this module reads the data (:mod:`survey.services.extract`),
groups it (``by`` unit, service, channel, month) and composes the library's results into the JSON of
``survey scores`` and ``GET /api/v1/scores``:

* per group: ``n``, ``response_rate`` (responses that came through an invitation / delivered
  invitations, ``None`` where no invitation exists), ``index`` {value, ci, target, met}, ``criteria``
  [{id, n, mean, satisfied_share, ci, suppressed}], ``questions`` (mean and distribution), ``nps`` and
  ``ces`` where the questionnaire has such questions, and ``tests``: the group against its peer units
  (same parent: two proportions and Mann–Whitney per criterion), against the previous period and the
  same period a year earlier, the trend of the monthly index (Mann–Kendall with Sen's slope) and
  Cronbach's alpha per criterion of two or more items;
* for the report: Kruskal–Wallis with Dunn/Holm across peer units per criterion, and funnel-plot limits.

Shares are fractions 0–1, the index 0–100, NPS −100..100. Below ``min_n`` a measure is suppressed and
no test runs on it.

>>> parse_period("2026-Q2").label, str(parse_period("2026-Q2").end)
('2026-Q2', '2026-07-01')
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import msgspec
import numpy as np
import numpy.typing as npt

from questionnaires.model import CHANNELS, Criterion, Questionnaire
from scoring import (
    ConfidenceInterval,
    GroupAssessment,
    GroupStats,
    SmallSampleRule,
    combine_codes,
    funnel_limits,
    post_stratify,
    respondent_means,
    weighted_index_groups,
    wilson_interval,
)
from scoring.grouped import (
    AnswerPatterns,
    CronbachAlphaGroups,
    MannWhitneyGroups,
    PatternCounts,
    TwoProportionGroups,
    answer_codes,
    answer_patterns,
    assess_patterns,
    block_rest,
    kruskal_wallis_counts,
    mann_kendall_groups,
    mann_whitney_counts,
    two_proportion_tests,
)
from scoring.measures import CESScore, NPSScore
from survey.db import run_sql
from survey.services.extract import ResponseFrame, ResponseScope, extract_comments, extract_responses, month_codes

__all__ = [
    "DIMENSIONS",
    "CESResult",
    "CriterionResult",
    "FunnelUnit",
    "IndexResult",
    "NPSResult",
    "Period",
    "QuestionResult",
    "ScoreGroup",
    "ScoreParameterError",
    "ScoreReport",
    "ScoreAssessment",
    "ScoreRequest",
    "TestResult",
    "assess",
    "assess_frame",
    "compute_scores",
    "describe_questionnaire",
    "report_csv",
    "report_table",
    "parse_period",
]

Dimension = Literal["unit", "subunit", "service", "channel", "month"]
# ``unit``: each unit's own responses; ``subunit``: each unit directly under the scope unit, with its subtree
DIMENSIONS: tuple[Dimension, ...] = ("unit", "subunit", "service", "channel", "month")
DELIVERED_STATUSES = ("delivered", "opened", "responded")
PERIOD_FORMS = "2026-05 (month), 2026-Q2 (quarter), 2026 (year) or 2026-01-01..2026-03-31 (from..to, inclusive)"


class ScoreParameterError(ValueError):
    """A parameter of a scores request is wrong: ``parameter`` names it, the message gives the allowed values."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


# --- periods -----------------------------------------------------------------------------------------------------


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """Local calendar days ``[start, end)`` with the label the user gave."""

    label: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> Period:
        """The period of the same kind just before (a month, quarter, year, or as many days)."""
        if self.start.day == 1 and self.end.day == 1:
            months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month
            return Period(f"before {self.label}", _add_months(self.start, -months), self.start)
        return Period(f"before {self.label}", self.start - timedelta(days=self.days), self.start)

    def year_earlier(self) -> Period:
        def back(day: date) -> date:
            if day.month == 2 and day.day == 29:
                return date(day.year - 1, 2, 28)
            return day.replace(year=day.year - 1)

        return Period(f"{self.label} a year earlier", back(self.start), back(self.end))

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        zone = ZoneInfo(timezone)
        return (datetime.combine(self.start, datetime.min.time(), zone).astimezone(UTC),
                datetime.combine(self.end, datetime.min.time(), zone).astimezone(UTC))


def parse_period(text: str) -> Period:
    """``2026-05``, ``2026-Q2``, ``2026`` or ``2026-01-01..2026-03-31`` (both days included).

    >>> parse_period("2026-05").end
    datetime.date(2026, 6, 1)
    >>> parse_period("2026-01-01..2026-03-31").days
    90
    """
    raw = (text or "").strip()
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{2})", raw):
            start = date(int(m[1]), int(m[2]), 1)
            return Period(raw, start, _add_months(start, 1))
        if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", raw):
            start = date(int(m[1]), 3 * int(m[2]) - 2, 1)
            return Period(raw.upper(), start, _add_months(start, 3))
        if m := re.fullmatch(r"(\d{4})", raw):
            return Period(raw, date(int(m[1]), 1, 1), date(int(m[1]) + 1, 1, 1))
        if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", raw):
            start, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
            if last < start:
                raise ScoreParameterError("period", f"{raw!r} ends before it starts")
            return Period(raw, start, last + timedelta(days=1))
    except ValueError as error:
        if isinstance(error, ScoreParameterError):
            raise
        raise ScoreParameterError("period", f"{raw!r} is not a date: {error}; use {PERIOD_FORMS}") from None
    raise ScoreParameterError("period", f"{raw!r} is not a period; use {PERIOD_FORMS}")


def month_label(code: int) -> str:
    return f"{code // 12:04d}-{code % 12 + 1:02d}"


# --- the JSON contract -------------------------------------------------------------------------------------------


class WeightedIndexResult(msgspec.Struct):
    """The composite index of the post-stratified shares, its linearised interval and what the weights cost."""

    value: float | None
    ci: list[float] | None
    met: bool | None
    design_effect: float | None
    effective_n: float | None
    suppressed: bool
    suppression_reason: str | None = None


class IndexResult(msgspec.Struct):
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


class WeightedResult(msgspec.Struct):
    """A post-stratified share with the design effect and effective n it cost."""

    satisfied_share: float | None
    ci: list[float] | None
    design_effect: float | None
    effective_n: float | None
    suppressed: bool
    suppression_reason: str | None = None


class CriterionResult(msgspec.Struct):
    """One criterion: respondents ``n``, ``satisfied_share`` (0–1) with its Wilson ``ci``, the ``mean``."""

    id: str
    n: int
    satisfied: int
    mean: float | None
    satisfied_share: float | None
    ci: list[float] | None
    target: float | None
    met: bool | None
    suppressed: bool
    suppression_reason: str | None = None
    weighted: WeightedResult | None = None


class QuestionResult(msgspec.Struct):
    """One numeric question: answers ``n``, ``mean``, ``sd`` and the count per scale point."""

    id: str
    type: str
    n: int
    mean: float | None
    sd: float | None
    distribution: dict[str, int]
    suppressed: bool
    suppression_reason: str | None = None


class NPSResult(msgspec.Struct):
    """Net Promoter Score (−100..100) with its adjusted-Wald interval."""

    question: str
    n: int
    value: float | None
    ci: list[float] | None
    promoters: int
    passives: int
    detractors: int
    suppressed: bool
    suppression_reason: str | None = None


class CESResult(msgspec.Struct):
    """Customer Effort Score: the mean on the effort scale with its t interval."""

    question: str
    n: int
    mean: float | None
    ci: list[float] | None
    suppressed: bool
    suppression_reason: str | None = None


class CommentExcerpt(msgspec.Struct):
    """One comment as a report shows it: phone numbers and e-mail addresses masked."""

    question: str
    text: str
    submitted_at: str
    unit: str | None


class CommentsResult(msgspec.Struct):
    """A group's free-text comments: ``n`` respondents left one; the ``latest`` few are shown only when the group
    has at least ``min_n_comments`` respondents (else ``suppressed``, so that nobody can be recognised)."""

    n: int
    suppressed: bool
    suppression_reason: str | None = None
    latest: list[CommentExcerpt] = msgspec.field(default_factory=list)


class TestResult(msgspec.Struct):
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


class WeightingResult(msgspec.Struct):
    """Post-stratification of a group to contact volumes by ``by`` (channel × service unless the questionnaire
    says otherwise): Kish's design effect and effective n, the share of contacts covered, the cells answered."""

    design_effect: float | None
    effective_n: float | None
    coverage: float | None
    cells: int
    by: list[str] = msgspec.field(default_factory=lambda: ["channel", "service"])


class ScoreGroup(msgspec.Struct):
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


class FunnelUnit(msgspec.Struct):
    """A unit on the funnel plot of one criterion: its share, the limits for its n and where it falls."""

    criterion: str
    unit: str
    k: int
    n: int
    share: float | None
    target: float
    lower_95: float | None
    upper_95: float | None
    lower_998: float | None
    upper_998: float | None
    position: str


class ScoreReport(msgspec.Struct):
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


# --- the request ------------------------------------------------------------------------------------------------


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
    comments: bool = True  # count (and quote) each group's comments

    def __post_init__(self) -> None:
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
        if self.min_n < 1 or self.min_n_comments < 1:
            raise ScoreParameterError("min_n", "must be at least 1")


@dataclass(frozen=True)
class UnitTree:
    """The organisation as arrays indexed by unit id: code, parent id (0 for the root) and path."""

    code: dict[int, str]
    parent: dict[int, int]
    path: dict[int, str]

    def parent_array(self, size: int) -> npt.NDArray[np.int64]:
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


@dataclass
class Context:
    """Everything :func:`assess_frame` needs besides the arrays."""

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


def _ci(interval: ConfidenceInterval | None) -> list[float] | None:
    return None if interval is None else [float(interval.low), float(interval.high)]


def _num(value: Any) -> float | None:
    if value is None:
        return None
    f = float(value)
    return f if math.isfinite(f) else None


# --- the assessment over arrays ------------------------------------------------------------------------------------
#
# Every row of the frame gets a group code once (``n_groups`` = in no group): the groups of the period, and the
# same key lookup places the rows of the previous period, of a year earlier, of sibling units and of the trend
# window. Each criterion's answers become one small pattern code per row (the joint answers to its items), so
# every measure and test comes from per-group pattern counts (one ``np.bincount`` each), never from per-group
# slices or copies of the answer matrix.

# key tables up to this many cells are looked up directly; beyond, the keys are sorted (np.unique)
DIRECT_KEY_CELLS = 1 << 22


@dataclass
class _Grouping:
    """Group codes of every frame row, by the key values of the ``by`` dimensions."""

    flat: npt.NDArray[np.intp]  # per frame row: its key tuple as one integer
    lookup: npt.NDArray[np.intp] | None  # key integer -> group (n_groups when no group has that key)
    present: npt.NDArray[np.intp]  # the key integers of the groups, ascending
    keys: npt.NDArray[np.int64]  # per group: one row of dimension values
    n_groups: int

    def codes(self, rows: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
        """The group of each frame row selected by ``rows`` with the same keys, else ``n_groups``."""
        if self.lookup is not None:
            found = np.take(self.lookup, self.flat)
        else:
            position = np.minimum(np.searchsorted(self.present, self.flat), max(self.n_groups - 1, 0))
            found = np.where(self.present[position] == self.flat, position, self.n_groups) if self.n_groups else \
                np.zeros_like(self.flat)
        found[~rows] = self.n_groups
        return found.astype(np.intp, copy=False)


def _group(columns: Sequence[npt.NDArray[np.int64]], selected: npt.NDArray[np.bool_]) -> _Grouping:
    """The groups formed by the selected rows' key values (in key order) and every row's key integer."""
    n_rows = selected.shape[0]
    if not columns:
        any_row = bool(np.any(selected))
        lookup = np.array([0 if any_row else 0], dtype=np.intp)
        return _Grouping(np.zeros(n_rows, dtype=np.intp), lookup, np.zeros(1, dtype=np.intp),
                         np.zeros((1, 0), dtype=np.int64), 1)
    low = [int(c.min(initial=0)) for c in columns]
    sizes = tuple(int(c.max(initial=0)) - lo + 1 for c, lo in zip(columns, low, strict=True))
    flat = np.zeros(n_rows, dtype=np.intp)
    for column, lo, size in zip(columns, low, sizes, strict=True):
        flat *= size
        flat += column
        flat -= lo
    cells = math.prod(sizes)
    lookup = None
    if cells <= DIRECT_KEY_CELLS:
        seen = np.bincount(flat[selected], minlength=cells)
        present = np.flatnonzero(seen)
        lookup = np.full(cells, present.size, dtype=np.intp)
        lookup[present] = np.arange(present.size)
    else:
        present = np.unique(flat[selected])
    keys = np.column_stack(np.unravel_index(present, sizes)).astype(np.int64) + np.array(low, dtype=np.int64)
    return _Grouping(flat, lookup, present.astype(np.intp), keys.reshape(present.size, len(columns)),
                     int(present.size))


def _slices(codes: npt.NDArray[np.intp], n_groups: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """A stable order of rows by group and each group's start offset (``starts[g]:starts[g + 1]``)."""
    order = np.argsort(codes, kind="stable")
    starts = np.zeros(n_groups + 1, dtype=np.intp)
    np.cumsum(np.bincount(codes, minlength=n_groups), out=starts[1:])
    return order, starts


def _criterion_scores(frame: ResponseFrame, criteria: Sequence[Criterion], q: Questionnaire) -> dict[str, Any]:
    """Each criterion's respondents × items matrix and each respondent's criterion score (for weighting)."""
    items = {c.id: frame.answers[:, [frame.question_ids.index(x.id) for x in q.questions_of(c.id)]] for c in criteria}
    return {"items": items, "scores": {c.id: respondent_means(items[c.id]) for c in criteria}}


def _test(comparison: str, test: str, criterion: str | None, result: Any, n: int, **details: Any) -> TestResult:
    return TestResult(
        comparison=comparison, test=test, criterion=criterion, statistic=_num(result.statistic),
        pvalue=_num(getattr(result, "pvalue", None)), effect_size=_num(getattr(result, "effect_size", None)),
        effect_size_name=getattr(result, "effect_size_name", None), n=n, suppressed=bool(result.suppressed),
        suppression_reason=result.suppression_reason, details=details,
    )


def _nums(values: npt.NDArray[Any]) -> list[float | None]:
    """A float column as JSON numbers: NaN and infinities become ``None``."""
    out: list[float | None] = np.where(np.isfinite(values), values, np.nan).astype(object).tolist()
    return [None if v != v else v for v in out]


@dataclass
class _TestColumn:
    """One kind of test for every group (columnar), turned into a :class:`TestResult` only when reported."""

    comparison: str
    test: str
    criterion: str | None
    has: npt.NDArray[np.bool_]  # which groups have this test
    build: Any  # (group index) -> TestResult

    @classmethod
    def pair(cls, comparison: str, criterion: Criterion, has: npt.NDArray[np.bool_],
             proportions: TwoProportionGroups, scores: MannWhitneyGroups) -> list[_TestColumn]:
        """The two tests of a comparison (``_comparison_tests`` of old): two proportions and Mann–Whitney."""
        p, s = proportions, scores
        p_stat, p_p, p_h, p_rd = _nums(p.statistic), _nums(p.pvalue), _nums(p.effect_size), _nums(p.risk_difference)
        k1, n1, k2, n2 = p.k1.tolist(), p.n1.tolist(), p.k2.tolist(), p.n2.tolist()
        s_stat, s_p, s_r, s_cl = _nums(s.statistic), _nums(s.pvalue), _nums(s.effect_size), _nums(s.common_language)
        p_sup, s_sup = p.suppressed.tolist(), s.suppressed.tolist()
        cid = criterion.id

        def proportion_test(k: int) -> TestResult:
            return TestResult(comparison, "two_proportion", cid, p_stat[k], p_p[k], p_h[k], "cohen_h", n1[k] + n2[k],
                              p_sup[k], p.reason(k) if p_sup[k] else None,
                              {"share": k1[k] / n1[k] if n1[k] else None,
                               "other_share": k2[k] / n2[k] if n2[k] else None,
                               "n1": n1[k], "n2": n2[k], "risk_difference": p_rd[k]})

        def rank_test(k: int) -> TestResult:
            return TestResult(comparison, "mann_whitney", cid, s_stat[k], s_p[k], s_r[k], "rank_biserial",
                              n1[k] + n2[k], s_sup[k], s.reason(k) if s_sup[k] else None,
                              {"n1": n1[k], "n2": n2[k], "common_language": s_cl[k]})

        return [cls(comparison, "two_proportion", cid, has, proportion_test),
                cls(comparison, "mann_whitney", cid, has, rank_test)]


def _compare(comparison: str, criterion: Criterion, mine: PatternCounts, theirs: PatternCounts,
             has: npt.NDArray[np.bool_], rule: SmallSampleRule) -> list[_TestColumn]:
    """Each group's criterion scores against another sample's (its peers, an earlier period), every group at once."""
    t = criterion.satisfied_threshold
    proportions = two_proportion_tests(mine.satisfied(t), mine.n, theirs.satisfied(t), theirs.n, rule)
    scores = mann_whitney_counts(mine.score_counts, theirs.score_counts, rule)
    return _TestColumn.pair(comparison, criterion, has, proportions, scores)


@dataclass
class _Rows:
    """Per frame row, computed once: each numeric question's answer code and each criterion's answer pattern."""

    questions: dict[str, npt.NDArray[np.uint8]]
    patterns: dict[str, AnswerPatterns]

    @classmethod
    def of(cls, frame: ResponseFrame, q: Questionnaire, criteria: Sequence[Criterion]) -> _Rows:
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


@dataclass
class ScoreAssessment:
    """Every measure and test of :func:`assess`, as arrays over the groups; :meth:`report` builds the JSON objects."""

    context: Context
    grouping: _Grouping
    criteria: list[Criterion]
    counts: npt.NDArray[np.int64]
    invited: npt.NDArray[np.int64]
    delivered: npt.NDArray[np.int64] | None
    assessment: GroupAssessment | None
    question_stats: dict[str, GroupStats]
    group_tests: list[_TestColumn]
    report_tests: list[TestResult]
    funnel: list[FunnelUnit]
    weighted: dict[str, list[WeightedResult | None]] | None = None
    weighted_index: list[WeightedIndexResult] | None = None
    weighting: list[WeightingResult | None] | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def report(self) -> ScoreReport:
        """The per-group results as the JSON contract's objects (one :class:`ScoreGroup` per group)."""
        clock = time.perf_counter()
        context, grouping, rule = self.context, self.grouping, self.context.rule
        q, by = context.questionnaire, context.by
        n_groups, level = grouping.n_groups, context.confidence_level
        numeric = [x for x in q.questions if x.is_numeric and x.scale is not None]
        criterion_columns = self._criterion_columns()
        index_columns = self._index_columns()
        question_columns = {}
        for x in numeric:
            st = self.question_stats[x.id]
            shown = st.n >= rule.min_n
            points = [str(st.scale_min + j) for j in range(st.distribution.shape[1])]
            question_columns[x.id] = (st.n.tolist(), _nums(np.where(shown, st.mean, np.nan)),
                                      _nums(np.where(shown, st.sd, np.nan)),
                                      [dict(zip(points, row, strict=True)) for row in st.distribution.tolist()])
        nps_question = next((x for x in numeric if x.type == "nps"), None)
        ces_question = next((x for x in numeric if x.type == "ces"), None)
        per_group: list[list[TestResult]] = [[] for _ in range(n_groups)]
        for column in self.group_tests:
            for k in np.flatnonzero(column.has).tolist():
                per_group[k].append(column.build(k))
        keys = grouping.keys.tolist()
        counts, invited = self.counts.tolist(), self.invited.tolist()
        delivered = None if self.delivered is None else self.delivered.tolist()
        groups: list[ScoreGroup] = []
        for k in range(n_groups):
            key = dict(zip(by, keys[k], strict=True))
            criterion_results = criterion_columns[k]
            if self.weighted is not None:
                for c, result in zip(self.criteria, criterion_results, strict=True):
                    result.weighted = self.weighted[c.id][k]
            question_results = []
            for x in numeric:
                ns, means, sds, dists = question_columns[x.id]
                n = ns[k]
                reason = rule.reason(n)
                question_results.append(QuestionResult(x.id, x.type, n, means[k], sds[k], dists[k], reason is not None,
                                                       reason))
            nps = ces = None
            if nps_question is not None:
                d = self.question_stats[nps_question.id].distribution[k]
                n = int(d.sum())
                promoters, detractors = int(d[9:].sum()), int(d[:7].sum())
                reason = rule.reason(n)
                score_nps = NPSScore(promoters, n - promoters - detractors, detractors, n,
                                     None if reason or n == 0 else 100.0 * (promoters - detractors) / n,
                                     reason is not None, reason)
                nps = NPSResult(nps_question.id, n, _num(score_nps.value), _ci(score_nps.ci(level)), promoters,
                                n - promoters - detractors, detractors, score_nps.suppressed, reason)
            if ces_question is not None:
                st = self.question_stats[ces_question.id]
                n = int(st.n[k])
                reason = rule.reason(n)
                score_ces = CESScore(None if reason else _num(st.mean[k]), n, None if reason else _num(st.sd[k]),
                                     reason is not None, reason)
                ces = CESResult(ces_question.id, n, score_ces.mean, _ci(score_ces.ci(level)), score_ces.suppressed,
                                reason)
            rate = None if delivered is None or delivered[k] == 0 else invited[k] / delivered[k]
            groups.append(ScoreGroup(
                unit=context.units.code.get(key["unit"]) if "unit" in key else None,
                service=context.service_codes.get(key["service"]) if "service" in key else None,
                channel=CHANNELS[key["channel"]] if "channel" in key else None,
                month=month_label(key["month"]) if "month" in key else None,
                subunit=context.units.code.get(key["subunit"]) if "subunit" in key else None,
                n=counts[k], response_rate=rate, invitations_delivered=0 if delivered is None else delivered[k],
                index=None if index_columns is None else self._with_weighted(index_columns[k], k),
                criteria=criterion_results,
                questions=question_results, nps=nps, ces=ces, tests=per_group[k],
                weighting=None if self.weighting is None else self.weighting[k]))
        start_text, end_text = context.period.start.isoformat(), (context.period.end - timedelta(days=1)).isoformat()
        timings = {**self.timings, "report_s": time.perf_counter() - clock}
        return ScoreReport(
            questionnaire=q.id, version=q.version, period=context.period.label, start=start_text, end=end_text,
            unit=context.units.code.get(context.scope_unit) if context.scope_unit else None, service=None,
            channel=None, by=list(by), weighted=context.contacts is not None, min_n=rule.min_n,
            min_n_comments=rule.min_n_comments, groups=groups, tests=self.report_tests, funnel=self.funnel,
            timings=timings)

    def _criterion_columns(self) -> list[list[CriterionResult]]:
        a, rule = self.assessment, self.context.rule
        if a is None:
            return [[] for _ in range(self.grouping.n_groups)]
        low, high = wilson_interval(a.satisfied, a.n, self.context.confidence_level)
        shown = a.n >= rule.min_n
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(shown, a.satisfied / a.n, np.nan)
        columns = []
        for c, criterion in enumerate(a.criteria):
            ns, ks = a.n[:, c].tolist(), a.satisfied[:, c].tolist()
            shares, means = _nums(share[:, c]), _nums(np.where(shown[:, c], a.mean[:, c], np.nan))
            lows, highs = low[:, c].tolist(), high[:, c].tolist()
            target = criterion.target
            column = []
            for k in range(self.grouping.n_groups):
                reason = rule.reason(ns[k])
                s = shares[k]
                column.append(CriterionResult(
                    id=criterion.id, n=ns[k], satisfied=ks[k], mean=means[k], satisfied_share=s,
                    ci=None if reason else [lows[k], highs[k]], target=target,
                    met=None if s is None or target is None else s >= target, suppressed=reason is not None,
                    suppression_reason=reason))
            columns.append(column)
        return [list(row) for row in zip(*columns, strict=True)]

    def _with_weighted(self, index: IndexResult, k: int) -> IndexResult:
        if self.weighted_index is not None:
            index.weighted = self.weighted_index[k]
        return index

    def _index_columns(self) -> list[IndexResult] | None:
        a = self.assessment
        if a is None or a.index_definition is None:
            return None
        return [_index_result(a.index_score(k)) for k in range(self.grouping.n_groups)]


def _index_result(score: Any) -> IndexResult:
    return IndexResult(_num(score.value), _ci(score.ci), score.target, score.met, score.n, score.formula,
                       score.suppressed, score.suppression_reason)


def assess_frame(frame: ResponseFrame, context: Context) -> ScoreReport:
    """Score ``frame`` (responses of the scope's comparison universe over the window) for ``context``."""
    return assess(frame, context).report()


def assess(frame: ResponseFrame, context: Context) -> ScoreAssessment:
    """Every measure and test of ``frame`` for ``context``, as arrays over the groups.

    Rows in the period and in the scope unit's subtree are scored; rows of the previous period and the
    same period a year earlier feed the period comparisons; rows of sibling subtrees the peer comparisons.
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    q, rule, by = context.questionnaire, context.rule, context.by
    criteria = [c for c in q.criteria if q.questions_of(c.id)]
    start, end = context.period.bounds(context.timezone)
    epoch = frame.submitted_epoch
    in_period = (epoch >= int(start.timestamp())) & (epoch < int(end.timestamp()))
    months = month_codes(epoch, context.timezone)
    unit_count = int(frame.unit_id.max()) + 1 if frame.n else 1
    unit_count = max(unit_count, max(context.units.parent, default=0) + 1)
    parents = context.units.parent_array(unit_count)
    scope_path = context.units.path.get(context.scope_unit or -1, "/")
    in_scope_unit = np.array([context.units.path.get(u, "\x00").startswith(scope_path) for u in range(unit_count)])
    in_scope = in_scope_unit[frame.unit_id]
    selected = in_period & in_scope
    subunits = context.units.subunit_array(context.scope_unit, unit_count) if "subunit" in by else None
    dims = {"unit": frame.unit_id, "service": frame.service_id, "channel": frame.channel, "month": months}
    if subunits is not None:
        dims["subunit"] = subunits[frame.unit_id]
    grouping = _group([dims[d] for d in by], selected)
    n_groups = grouping.n_groups
    g = grouping.codes(selected)
    rows = _Rows.of(frame, q, criteria)
    timings["prepare_s"] = time.perf_counter() - clock

    # measures, vectorised over the groups
    clock = time.perf_counter()
    counts = np.bincount(g, minlength=n_groups + 1)[:n_groups]
    invited = np.bincount(np.where(frame.invited, g, n_groups), minlength=n_groups + 1)[:n_groups]
    assessment, counted = (assess_patterns(criteria, rows.patterns, g, n_groups, q.index, rule,
                                           context.confidence_level) if criteria else (None, {}))
    question_stats = _question_stats(q, rows, counted, criteria, g, n_groups)
    delivered = _delivered(context, grouping, by, subunits)
    timings["measures_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    group_tests: list[_TestColumn] = []
    level = context.confidence_level
    for c in criteria:  # reliability of every criterion with two or more items
        if rows.patterns[c.id].values.shape[1] >= 2:
            group_tests.append(_reliability(c, counted[c.id].cronbach(rule), level))
    timings["reliability_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    report_tests: list[TestResult] = []
    funnel: list[FunnelUnit] = []
    if criteria:
        _peer_tests(frame, context, criteria, rows, counted, in_period, in_scope, selected, grouping, counts,
                    parents, group_tests, report_tests, funnel)
    timings["peers_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    if criteria and "month" not in by:
        _period_tests(frame, context, criteria, rows, counted, in_scope, grouping, months, group_tests)
    timings["periods_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    result = ScoreAssessment(context, grouping, criteria, counts, invited, delivered, assessment, question_stats,
                             group_tests, report_tests, funnel)
    if context.contacts is not None and np.any(selected):
        _weigh(frame, context, criteria, selected, g, result)
    timings["weighting_s"] = time.perf_counter() - clock
    result.timings = timings
    return result


def _question_stats(q: Questionnaire, rows: _Rows, counted: dict[str, PatternCounts], criteria: Sequence[Criterion],
                    g: npt.NDArray[np.intp], n_groups: int) -> dict[str, GroupStats]:
    """Each numeric question's distribution per group: the margins of its criterion's pattern counts where it has
    one (the same counts, no pass over the rows), else one bincount of its answer codes."""
    out = {}
    numeric = [x for x in q.questions if x.is_numeric and x.scale is not None]
    for x in numeric:
        scale = x.scale
        assert scale is not None
        points = scale.max - scale.min + 1
        criterion = next((c for c in criteria if any(i.id == x.id for i in q.questions_of(c.id))), None)
        patterns = None if criterion is None else rows.patterns[criterion.id]
        items = [] if criterion is None else [i.id for i in q.questions_of(criterion.id)]
        base = points + 1
        if patterns is not None and patterns.n_patterns == base ** len(items) and \
                patterns.values.shape[1] == len(items) and np.nanmin(patterns.values, initial=scale.min) >= scale.min:
            c = counted[criterion.id].counts.reshape((n_groups, *(base,) * len(items)))  # type: ignore[union-attr]
            axis = items.index(x.id)
            margin = c.sum(axis=tuple(a + 1 for a in range(len(items)) if a != axis))
            distribution = margin[:, 1:]
        else:
            flat = g * base
            flat += rows.questions[x.id]
            distribution = np.bincount(flat, minlength=(n_groups + 1) * base)[: n_groups * base].reshape(
                n_groups, base)[:, 1:]
        values = np.arange(scale.min, scale.max + 1, dtype=np.float64)
        out[x.id] = GroupStats(n=distribution.sum(axis=1), total=distribution @ values,
                               total_sq=distribution @ (values * values), distribution=distribution,
                               scale_min=scale.min)
    return out


def _reliability(criterion: Criterion, alphas: CronbachAlphaGroups, level: float) -> _TestColumn:
    low, high = alphas.ci(level)
    alpha, ns, lows, highs = _nums(alphas.alpha), alphas.n.tolist(), _nums(low), _nums(high)
    suppressed = alphas.suppressed.tolist()

    def build(k: int) -> TestResult:
        ci = None if lows[k] is None or highs[k] is None else [lows[k], highs[k]]
        if not suppressed[k] and alpha[k] is not None and ci is None:
            ci = _ci(alphas.result(k).ci(level))
        return TestResult("reliability", "cronbach_alpha", criterion.id, alpha[k], None, None, None, ns[k],
                          suppressed[k], alphas.reason(k), {"n_items": alphas.n_items, "ci": ci})

    return _TestColumn("reliability", "cronbach_alpha", criterion.id, np.ones(alphas.n.shape[0], dtype=bool), build)


def _weigh(frame: ResponseFrame, context: Context, criteria: Sequence[Criterion], selected: npt.NDArray[np.bool_],
           g_all: npt.NDArray[np.intp], result: ScoreAssessment) -> None:
    """Post-stratify the scope's sample to the contact volumes by the weighting cells, then every group's weighted
    criterion shares and weighted index at once (the groups use their own respondents' weights)."""
    assert context.contacts is not None
    current = frame.take(selected)
    weights = _post_stratify(current, context.contacts, context.weighting_by)
    if weights is None:
        return
    rule, n_groups, level = context.rule, result.grouping.n_groups, context.confidence_level
    g = g_all[selected]
    scores = _criterion_scores(current, criteria, context.questionnaire)["scores"]
    answered = np.column_stack([~np.isnan(scores[c.id]) for c in criteria])
    with np.errstate(invalid="ignore"):
        satisfied = np.column_stack([scores[c.id] >= c.satisfied_threshold for c in criteria]) & answered
    index = context.questionnaire.index
    formula_weights = [c.weight if index is not None and index.formula == "weighted_satisfied_share" else 1.0
                       for c in criteria]
    groups = weighted_index_groups(satisfied, answered, weights.weights, g, n_groups, formula_weights, rule, level,
                                   [c.id for c in criteria])
    k_eff = groups.share * groups.criterion_effective_n
    low, high = wilson_interval(np.nan_to_num(k_eff), groups.criterion_effective_n, level)
    deff = groups.criterion_design_effect
    result.weighted = {}
    for j, c in enumerate(criteria):
        shares, effective = _nums(groups.share[:, j]), _nums(groups.criterion_effective_n[:, j])
        lows, highs, deffs = _nums(low[:, j]), _nums(high[:, j]), _nums(deff[:, j])
        column: list[WeightedResult | None] = []
        for k in range(n_groups):
            reason = rule.reason(effective[k] or 0.0, label="effective n")
            ci = None if reason or lows[k] is None or highs[k] is None else [lows[k], highs[k]]
            column.append(WeightedResult(None if reason else shares[k], ci, deffs[k], effective[k], reason is not None,
                                         reason))
        result.weighted[c.id] = column
    if index is not None:
        result.weighted_index = []
        for k in range(n_groups):
            w = groups.result(k)
            value = None if w.value is None else float(w.value)
            result.weighted_index.append(WeightedIndexResult(
                _num(value), _ci(w.ci), None if value is None or index.target is None else value >= index.target,
                _num(w.design_effect), _num(w.effective_n), w.suppressed, w.suppression_reason))
    result.weighting = []
    everyone = np.bincount(g, minlength=n_groups + 1)[:n_groups]
    sum_w = np.bincount(g, weights=weights.weights, minlength=n_groups + 1)[:n_groups]
    sum_w2 = np.bincount(g, weights=weights.weights ** 2, minlength=n_groups + 1)[:n_groups]
    with np.errstate(divide="ignore", invalid="ignore"):
        group_deff = everyone * sum_w2 / (sum_w * sum_w)
    cells = int(np.count_nonzero(weights.sample_counts))
    for n_k, d_k in zip(everyone.tolist(), group_deff.tolist(), strict=True):
        finite = n_k > 0 and math.isfinite(d_k) and d_k > 0
        result.weighting.append(WeightingResult(d_k if finite else None, n_k / d_k if finite else None,
                                                _num(weights.coverage), cells, list(context.weighting_by)))


def _delivered(context: Context, grouping: _Grouping, by: tuple[str, ...],
               subunits: npt.NDArray[np.int64] | None) -> npt.NDArray[np.int64] | None:
    if context.invitations is None or context.invitations.size == 0:
        return None
    rows = context.invitations
    columns = {"unit": rows[:, 0], "service": rows[:, 1], "channel": rows[:, 2], "month": rows[:, 3]}
    if subunits is not None:
        inside = rows[:, 0] < subunits.shape[0]
        columns["subunit"] = np.where(inside, subunits[np.where(inside, rows[:, 0], 0)], -1)
    located = np.zeros(rows.shape[0], dtype=np.intp)
    if by:
        keys = {tuple(k): i for i, k in enumerate(grouping.keys.tolist())}
        located = np.array([keys.get(tuple(r), -1) for r in np.column_stack([columns[d] for d in by]).tolist()],
                           dtype=np.intp)
    hit = located >= 0
    return np.bincount(located[hit], weights=rows[hit, 4], minlength=grouping.n_groups).astype(np.int64)


def _post_stratify(current: ResponseFrame, contacts: npt.NDArray[np.int64], by: tuple[str, ...]) -> Any:
    """Weights making the sample's mix of cells (``by``: channel and/or service) that of the contacts."""
    n_services = int(max(current.service_id.max(initial=0), contacts[:, 1].max(initial=0))) + 1
    sizes = (len(CHANNELS) if "channel" in by else 1, n_services if "service" in by else 1)
    sample_channel = np.maximum(current.channel, 0) if "channel" in by else np.zeros_like(current.channel)
    sample_service = current.service_id if "service" in by else np.zeros_like(current.service_id)
    cells = combine_codes(sample_channel, sample_service, sizes=sizes)
    population = np.zeros(sizes[0] * sizes[1])
    contact_channel = contacts[:, 0] if "channel" in by else np.zeros_like(contacts[:, 0])
    contact_service = contacts[:, 1] if "service" in by else np.zeros_like(contacts[:, 1])
    np.add.at(population, combine_codes(contact_channel, contact_service, sizes=sizes), contacts[:, 2])
    if population[np.unique(cells)].sum() <= 0:
        return None
    return post_stratify(cells, population)


def _peer_tests(frame: ResponseFrame, context: Context, criteria: Sequence[Criterion], rows: _Rows,
                counted: dict[str, PatternCounts], in_period: Any, in_scope: Any, selected: Any, grouping: _Grouping,
                counts: npt.NDArray[np.int64], parents: npt.NDArray[np.int64], group_tests: list[_TestColumn],
                report_tests: list[TestResult], funnel: list[FunnelUnit]) -> None:
    """Each group against its peer units (same parent), and across the peer units of each parent."""
    rule, by, n_groups = context.rule, context.by, grouping.n_groups
    unit_dimension = next((d for d in ("unit", "subunit") if d in by), None)
    if unit_dimension is not None:
        unit_at = by.index(unit_dimension)
        rest = [i for i in range(len(by)) if i != unit_at]
        group_unit = grouping.keys[:, unit_at]
        # peers: groups with the same other keys whose unit has the same parent
        block_keys = np.column_stack([grouping.keys[:, rest], parents[group_unit]])
        _, block = np.unique(block_keys, axis=0, return_inverse=True)
        block = block.ravel()
        has_peers = block_rest(counts, block) > 0
        for c in criteria:
            mine = counted[c.id]
            theirs = PatternCounts(block_rest(mine.counts, block), mine.values)
            group_tests.extend(_compare("vs_peers", c, mine, theirs, has_peers, rule))
        # across the peer units of each parent: the groups' counts summed per unit
        units, unit_index = np.unique(group_unit, return_inverse=True)
        unit_index = unit_index.ravel()
        by_unit = {}
        for c in criteria:
            total = np.zeros((units.size, counted[c.id].counts.shape[1]), dtype=np.int64)
            np.add.at(total, unit_index, counted[c.id].counts)
            by_unit[c.id] = PatternCounts(total, counted[c.id].values)
        for parent in sorted({int(p) for p in parents[units]}):
            members = np.flatnonzero(parents[units] == parent)
            members_counts = {cid: PatternCounts(pc.counts[members], pc.values) for cid, pc in by_unit.items()}
            _across(context, criteria, members_counts, units[members], report_tests, funnel, parent)
    elif context.scope_unit is not None and context.units.parent.get(context.scope_unit):
        # the scope's subtree against its siblings' subtrees, per group
        parent = context.units.parent[context.scope_unit]
        sibling_rows = in_period & ~in_scope
        if not np.any(sibling_rows):
            return
        others = grouping.codes(sibling_rows)
        has_peers = np.bincount(others, minlength=n_groups + 1)[:n_groups] > 0
        for c in criteria:
            theirs = rows.patterns[c.id].count(others, n_groups)
            group_tests.extend(_compare("vs_peers", c, counted[c.id], theirs, has_peers, rule))
        # across the siblings: each universe row belongs to the child of the parent whose subtree holds it
        child = context.units.subunit_array(parent, int(frame.unit_id.max(initial=0)) + 1)
        child[child == parent] = -1  # the parent's own answers belong to none of the siblings
        row_child = np.where(in_period, child[frame.unit_id], -1)
        present = np.unique(row_child[row_child >= 0])
        code = np.searchsorted(present, row_child)
        code[row_child < 0] = present.size
        by_child = {c.id: rows.patterns[c.id].count(code.astype(np.intp), present.size) for c in criteria}
        _across(context, criteria, by_child, present, report_tests, funnel, parent)


def _across(context: Context, criteria: Sequence[Criterion], by_unit: dict[str, PatternCounts],
            present: npt.NDArray[np.int64], report_tests: list[TestResult], funnel: list[FunnelUnit],
            parent: int) -> None:
    """Kruskal–Wallis with Dunn/Holm and funnel limits across the peer units of one parent (``by_unit``: each
    unit's pattern counts, rows in the order of ``present``)."""
    rule = context.rule
    if present.size < 2:
        return
    label = context.units.code.get(parent, str(parent))
    for c in criteria:
        unit_counts = by_unit[c.id]
        result = kruskal_wallis_counts(unit_counts.score_counts, present, rule)
        pairs = [{"unit1": context.units.code.get(p.group1), "unit2": context.units.code.get(p.group2),
                  "statistic": p.statistic, "pvalue": p.pvalue, "pvalue_adjusted": p.pvalue_adjusted}
                 for p in result.pairwise]
        report_tests.append(_test(
            "across_peers", "kruskal_wallis", c.id, result, result.n, parent=label, df=result.df,
            units=[context.units.code.get(u) for u in result.groups],
            excluded=[{"unit": context.units.code.get(u), "reason": r} for u, r in result.excluded],
            dunn_holm=pairs))
        k, n = unit_counts.satisfied(c.satisfied_threshold), unit_counts.n
        if n.sum() == 0:
            continue  # nobody answered this criterion: nothing to place on a funnel
        limits = funnel_limits(k, n, rule=rule)
        for point in limits.points:
            funnel.append(FunnelUnit(
                c.id, context.units.code.get(int(present[point.unit]), str(present[point.unit])), point.k, point.n,
                _num(point.share), limits.target, _num(point.lower_95), _num(point.upper_95), _num(point.lower_998),
                _num(point.upper_998), point.position))


def _period_tests(frame: ResponseFrame, context: Context, criteria: Sequence[Criterion], rows: _Rows,
                  counted: dict[str, PatternCounts], in_scope: Any, grouping: _Grouping,
                  months: npt.NDArray[np.int32], group_tests: list[_TestColumn]) -> None:
    """Each group against the previous period and the same period a year earlier, and its monthly trend."""
    rule, q, n_groups = context.rule, context.questionnaire, grouping.n_groups
    epoch = frame.submitted_epoch
    everyone = np.ones(n_groups, dtype=bool)
    for label, period in (("previous_period", context.period.previous()),
                          ("same_period_last_year", context.period.year_earlier())):
        start, end = period.bounds(context.timezone)
        reference = in_scope & (epoch >= int(start.timestamp())) & (epoch < int(end.timestamp()))
        located = grouping.codes(reference) if np.any(reference) else None
        for c in criteria:
            mine = counted[c.id]
            theirs = (PatternCounts(np.zeros_like(mine.counts), mine.values) if located is None
                      else rows.patterns[c.id].count(located, n_groups))
            group_tests.extend(_compare(label, c, mine, theirs, everyone, rule))
    # trend of the monthly index over the twelve months that end with the period
    if q.index is None:
        return
    start, end = context.period.bounds(context.timezone)
    last_month = int(month_codes(np.array([int(end.timestamp()) - 1]), context.timezone)[0])
    window = in_scope & (months > last_month - 12) & (months <= last_month)
    located = grouping.codes(window)
    slot = months - (last_month - 11)
    codes = np.where(located < n_groups, located * 12 + slot, n_groups * 12).astype(np.intp)
    monthly, _ = assess_patterns(criteria, rows.patterns, codes, n_groups * 12, q.index, rule,
                                 context.confidence_level)
    values = np.where(monthly.n.min(axis=1) >= rule.min_n, monthly.index, np.nan).reshape(n_groups, 12)
    trend = mann_kendall_groups(values)
    labels = [month_label(last_month - 11 + i) for i in range(12)]
    rows_values = [_nums(v) for v in values]
    tau, slope, ns = _nums(trend.tau), _nums(trend.slope), trend.n.tolist()

    def build(k: int) -> TestResult:
        return _test("trend", "mann_kendall", None, trend.result(k), ns[k], measure="index", tau=tau[k],
                     sen_slope_per_month=slope[k], months=labels, values=rows_values[k])

    group_tests.append(_TestColumn("trend", "mann_kendall", None, everyone, build))


# --- reading the database -----------------------------------------------------------------------------------------


async def compute_scores(request: ScoreRequest, *, visible_path: str | None = None) -> ScoreReport:
    """The scores for ``request``; ``visible_path`` limits the scope to a unit subtree (a staff user's).

    Raises :class:`ScoreParameterError` naming the parameter for unknown questionnaires, units,
    services or periods, and :class:`PermissionError` when the unit lies outside ``visible_path``.
    """
    from survey.services.questionnaires import latest_version
    from survey.settings import get_settings
    from survey.tables import Service, Unit

    settings = get_settings()
    period = parse_period(request.period)
    try:
        questionnaire = (await latest_version(request.questionnaire)).questionnaire
    except LookupError:
        from survey.tables import QuestionnaireVersion

        keys = sorted({r["key"] for r in await QuestionnaireVersion.select(QuestionnaireVersion.key)})
        raise ScoreParameterError("questionnaire", f"{request.questionnaire!r} is not published; allowed: "
                                  f"{', '.join(keys) or '(none published)'}") from None
    unit_rows = await Unit.select(Unit.id, Unit.code, Unit.parent, Unit.path)
    units = UnitTree(code={r["id"]: r["code"] for r in unit_rows},
                     parent={r["id"]: r["parent"] or 0 for r in unit_rows},
                     path={r["id"]: r["path"] for r in unit_rows})
    by_code = {r["code"]: r["id"] for r in unit_rows}
    unit_code = request.unit
    if unit_code is None and visible_path is not None:
        unit_code = next((units.code[u] for u, p in units.path.items() if p == visible_path), None)
    scope_unit = None
    if unit_code is not None:
        scope_unit = by_code.get(unit_code)
        if scope_unit is None:
            raise ScoreParameterError("unit", f"unknown unit {unit_code!r}; allowed: {', '.join(sorted(by_code))}")
        if visible_path is not None and not units.path[scope_unit].startswith(visible_path):
            raise PermissionError(f"unit {unit_code!r} is outside the units you may see")
    service_rows = await Service.select(Service.id, Service.code)
    service_codes = {r["id"]: r["code"] for r in service_rows}
    service_id = None
    if request.service is not None:
        service_id = next((i for i, c in service_codes.items() if c == request.service), None)
        if service_id is None:
            raise ScoreParameterError("service", f"unknown service {request.service!r}; allowed: "
                                      f"{', '.join(sorted(service_codes.values()))}")
    # the universe: the scope's parent subtree when the scope is compared with its siblings
    scope_path = units.path[scope_unit] if scope_unit else "/"
    universe_path = scope_path
    if scope_unit and not {"unit", "subunit"} & set(request.by) and units.parent.get(scope_unit):
        universe_path = units.path[units.parent[scope_unit]]
    earliest = min(period.previous().start, period.year_earlier().start, _add_months(period.end, -13))
    window = Period("window", earliest, period.end)
    start, end = window.bounds(settings.timezone)
    numeric = [x.id for x in questionnaire.questions if x.is_numeric]
    clock = time.perf_counter()
    frame = await extract_responses(
        ResponseScope(questionnaire.id, start, end, universe_path, service_id, request.channel), numeric)
    extracted = time.perf_counter() - clock
    p_start, p_end = period.bounds(settings.timezone)
    invitations = await _delivered_invitations(questionnaire.id, p_start, p_end, scope_path, service_id,
                                               request.channel, settings.timezone)
    contacts = None
    declared = questionnaire.weighting
    weighted = declared is not None if request.weighted is None else request.weighted
    if weighted:
        contacts = await _contact_volumes(p_start, p_end, scope_path, service_id, request.channel)
    context = Context(questionnaire=questionnaire, period=period, timezone=settings.timezone, units=units,
                      service_codes=service_codes, scope_unit=scope_unit, by=tuple(request.by),
                      rule=SmallSampleRule(request.min_n, request.min_n_comments), invitations=invitations,
                      contacts=contacts, weighting_by=tuple(declared.by) if declared else ("channel", "service"))
    report = assess_frame(frame, context)
    report.service, report.channel = request.service, request.channel
    text_questions = [x.id for x in questionnaire.questions if x.type == "text"]
    if request.comments and text_questions and report.groups:
        await _add_comments(report, ResponseScope(questionnaire.id, p_start, p_end, scope_path, service_id,
                                                  request.channel), text_questions, context)
    report.timings = {"extract_s": extracted, **report.timings}
    if visible_path is not None:
        _redact(report, {units.code[u]: p for u, p in units.path.items()}, visible_path)
    return report


LATEST_COMMENTS = 3  # comments quoted per group
_PHONE = re.compile(r"(?<![\w])\+?\d[\d .\-]{6,}\d")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(\.[\w\-]+)+")


def mask_contact_details(text: str) -> str:
    """A comment as a report may quote it: phone numbers and e-mail addresses replaced by ``[…]``.

    >>> mask_contact_details("Gọi tôi 0912 345 678 hoặc an.nguyen@example.vn, cảm ơn")
    'Gọi tôi […] hoặc […], cảm ơn'
    """
    return _EMAIL.sub("[…]", _PHONE.sub("[…]", text))


async def _add_comments(report: ScoreReport, scope: ResponseScope, question_ids: list[str], context: Context) -> None:
    """Each group's comments: how many respondents left one, and the newest few where the group is big enough."""
    rule, by, units = context.rule, context.by, context.units
    marks = await extract_comments(scope, question_ids, limit=None, with_text=False)
    subunits = None
    if "subunit" in by:
        size = max([*units.code, *(c.unit_id for c in marks)], default=0) + 1
        subunits = units.subunit_array(context.scope_unit, size)
    months = month_codes(np.array([int(c.submitted_at.timestamp()) for c in marks], dtype=np.int64),
                         context.timezone).tolist() if marks else []

    def key_of(comment: Any, month: int) -> tuple[Any, ...]:
        values = {"unit": units.code.get(comment.unit_id), "service": context.service_codes.get(comment.service_id),
                  "channel": comment.channel, "month": month_label(month),
                  "subunit": None if subunits is None else units.code.get(int(subunits[comment.unit_id]))}
        return tuple(values[d] for d in by)

    respondents: dict[tuple[Any, ...], set[int]] = {}
    newest: dict[tuple[Any, ...], list[int]] = {}
    for comment, month in zip(marks, months, strict=True):  # newest first
        key = key_of(comment, month)
        seen = respondents.setdefault(key, set())
        if comment.response_id not in seen:
            seen.add(comment.response_id)
            picked = newest.setdefault(key, [])
            if len(picked) < LATEST_COMMENTS:
                picked.append(comment.response_id)
    quoted: list[tuple[CommentsResult, list[int]]] = []  # the groups big enough to quote, with their newest
    for group in report.groups:
        key = tuple(getattr(group, d) for d in by)
        reason = rule.comments_reason(group.n)
        group.comments = CommentsResult(len(respondents.get(key, ())), reason is not None, reason)
        if reason is None and key in newest:
            quoted.append((group.comments, newest[key]))
    wanted = sorted({rid for _, ids in quoted for rid in ids})
    if not wanted:
        return
    texts = await extract_comments(scope, question_ids, limit=None, response_ids=wanted)
    by_response: dict[int, list[Any]] = {}
    for comment in texts:
        by_response.setdefault(comment.response_id, []).append(comment)
    for result, ids in quoted:
        for rid in ids:
            for comment in by_response.get(rid, []):
                result.latest.append(CommentExcerpt(
                    comment.question_id, mask_contact_details(comment.text or ""),
                    comment.submitted_at.astimezone(ZoneInfo(context.timezone)).isoformat(timespec="minutes"),
                    units.code.get(comment.unit_id)))


PEER = "peer"  # how a unit outside the caller's scope is named in comparisons


def _redact(report: ScoreReport, path_of: dict[str, str], visible_path: str) -> None:
    """Keep a scoped caller to their own units: comparisons with peers stay (the issue asks for them),
    but a unit outside ``visible_path`` is never named, and its funnel point is not shown."""

    def shown(code: Any) -> Any:
        return code if code is None or path_of.get(code, "").startswith(visible_path) else PEER

    report.funnel = [point for point in report.funnel if shown(point.unit) != PEER]
    for test in report.tests:
        details = test.details
        if "units" in details:
            details["units"] = [shown(u) for u in details["units"]]
        if "excluded" in details:
            details["excluded"] = [{**e, "unit": shown(e.get("unit"))} for e in details["excluded"]]
        if "dunn_holm" in details:
            # a pair of two peers says nothing about the caller's units
            named = [
                {**pair, "unit1": shown(pair["unit1"]), "unit2": shown(pair["unit2"])} for pair in details["dunn_holm"]
            ]
            details["dunn_holm"] = [pair for pair in named if (pair["unit1"], pair["unit2"]) != (PEER, PEER)]


def _like(path: str) -> str:
    return path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def _delivered_invitations(key: str, start: datetime, end: datetime, path: str, service_id: int | None,
                                 channel: str | None, timezone: str) -> npt.NDArray[np.int64]:
    """Delivered invitations (delivered, opened, responded) as rows (unit, service, channel, month, count)."""
    args: list[Any] = [key, *DELIVERED_STATUSES, start, end, _like(path)]
    where = ""
    if service_id is not None:
        args.append(service_id)
        where += " AND i.service = {}"
    if channel is not None:
        args.append(channel)
        where += " AND c.channel = {}"
    sql = ("SELECT i.unit AS unit, COALESCE(i.service, 0) AS service, c.channel AS channel, i.created_at AS at "  # noqa: S608
           "FROM invitation i JOIN questionnaire_version qv ON qv.id = i.questionnaire JOIN unit u ON u.id = i.unit "
           "LEFT JOIN contact c ON c.id = i.contact "
           "WHERE qv.key = {} AND i.status IN ({}, {}, {}) AND i.created_at >= {} AND i.created_at < {} "
           "AND u.path LIKE {} ESCAPE '\\'" + where)
    rows = await run_sql(sql, *args)
    if not rows:
        return np.zeros((0, 5), dtype=np.int64)
    at = [r["at"] if isinstance(r["at"], datetime) else datetime.fromisoformat(r["at"]) for r in rows]
    epoch = np.array([int(a.timestamp()) for a in at], dtype=np.int64)
    months = month_codes(epoch, timezone)
    channel_code = {name: i for i, name in enumerate(CHANNELS)}
    table = np.column_stack([
        np.array([r["unit"] for r in rows], dtype=np.int64),
        np.array([r["service"] for r in rows], dtype=np.int64),
        np.array([channel_code.get(r["channel"], -1) for r in rows], dtype=np.int64),
        months.astype(np.int64), np.ones(len(rows), dtype=np.int64)])
    return table


async def _contact_volumes(start: datetime, end: datetime, path: str, service_id: int | None,
                           channel: str | None) -> npt.NDArray[np.int64]:
    """Contacts in the scope and period as rows (channel, service, count)."""
    args: list[Any] = [start, end, _like(path)]
    where = ""
    if service_id is not None:
        args.append(service_id)
        where += " AND c.service = {}"
    if channel is not None:
        args.append(channel)
        where += " AND c.channel = {}"
    sql = ("SELECT c.channel AS channel, COALESCE(c.service, 0) AS service, COUNT(*) AS n FROM contact c "  # noqa: S608
           "JOIN unit u ON u.id = c.unit WHERE c.occurred_at >= {} AND c.occurred_at < {} "
           "AND u.path LIKE {} ESCAPE '\\'" + where + " GROUP BY c.channel, COALESCE(c.service, 0)")
    rows = await run_sql(sql, *args)
    channel_code = {name: i for i, name in enumerate(CHANNELS)}
    return np.array([(channel_code[r["channel"]], r["service"], r["n"]) for r in rows if r["channel"] in channel_code],
                    dtype=np.int64).reshape(-1, 3)


# --- presenting -----------------------------------------------------------------------------------------------------


def _describe(q: Questionnaire) -> dict[str, Any]:
    """Questions (id, type, scale, criterion), criteria (threshold, weight, target) and the index formula."""
    index = None
    if q.index is not None:
        weights = "Criterion.weight" if q.index.formula == "weighted_satisfied_share" else "1"
        index = {"formula": q.index.formula, "target": q.index.target,
                 "formula_text": f"100 × Σ w_c p_c / Σ w_c over the criteria (w_c = {weights}; p_c = share of "
                                 f"respondents whose mean answer on the criterion's questions is at or above its "
                                 f"threshold){'' if q.index.target is None else f'; target {q.index.target:g}'}"}
    return {
        "id": q.id, "version": q.version, "title": q.title.get(q.default_language, ""), "languages": list(q.languages),
        "questions": [{"id": x.id, "type": x.type, "scale_min": x.scale.min if x.scale else None,
                       "scale_max": x.scale.max if x.scale else None, "criterion": x.criterion,
                       "options": list(x.option_values)} for x in q.questions],
        "criteria": [{"id": c.id, "title": c.title.get(q.default_language, ""), "threshold": c.satisfied_threshold,
                      "weight": c.weight, "target": c.target, "questions": [x.id for x in q.questions_of(c.id)]}
                     for c in q.criteria],
        "index": index,
        "weighting": None if q.weighting is None else q.weighting.to_dict(),
    }


async def describe_questionnaire(name: str, version: int | None = None) -> dict[str, Any]:
    """The published version (latest by default) of questionnaire ``name``, else its bundled definition."""
    from questionnaires import load_bundled
    from survey.services.questionnaires import get_version, latest_version
    from survey.tables import QuestionnaireVersion

    try:
        if version is None:
            return _describe((await latest_version(name)).questionnaire)
        row = await QuestionnaireVersion.select(QuestionnaireVersion.id).where(
            QuestionnaireVersion.key_version == f"{name}@{version}").first()
        if row is not None:
            return _describe((await get_version(row["id"])).questionnaire)
    except Exception as error:  # not published, or no database yet: the bundled definitions still answer
        logging.getLogger(__name__).debug("questionnaire %s not read from the database: %s", name, error)
    bundled = load_bundled()
    if name in bundled and (version is None or bundled[name].version == version):
        return _describe(bundled[name])
    raise LookupError(f"questionnaire {name!r}{'' if version is None else f' version {version}'} is neither "
                      f"published nor bundled; bundled: {', '.join(sorted(bundled))}")


def _keys(group: ScoreGroup, by: Sequence[str]) -> list[str]:
    return [str(getattr(group, d) or "-") for d in by]


def report_csv(report: ScoreReport) -> str:
    """One row per group and criterion (and one ``index`` row per group)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*report.by, "measure", "n", "response_rate", "value", "ci_low", "ci_high", "target", "met",
                     "suppressed", "suppression_reason"])
    for group in report.groups:
        keys = _keys(group, report.by)
        rate = "" if group.response_rate is None else f"{group.response_rate:.4f}"
        if group.index is not None:
            i = group.index
            writer.writerow([*keys, "index", group.n, rate, _fmt(i.value), *(_fmt(x) for x in (i.ci or [None, None])),
                             _fmt(i.target), _fmt(i.met), i.suppressed, i.suppression_reason or ""])
            w = i.weighted
            if w is not None:
                writer.writerow([*keys, "index_weighted", group.n, rate, _fmt(w.value),
                                 *(_fmt(x) for x in (w.ci or [None, None])), _fmt(i.target), _fmt(w.met), w.suppressed,
                                 w.suppression_reason or ""])
        for c in group.criteria:
            writer.writerow([*keys, c.id, c.n, rate, _fmt(c.satisfied_share),
                             *(_fmt(x) for x in (c.ci or [None, None])), _fmt(c.target), _fmt(c.met), c.suppressed,
                             c.suppression_reason or ""])
            cw = c.weighted
            if cw is not None:
                met = None if cw.satisfied_share is None or c.target is None else cw.satisfied_share >= c.target
                writer.writerow([*keys, f"{c.id}_weighted", c.n, rate, _fmt(cw.satisfied_share),
                                 *(_fmt(x) for x in (cw.ci or [None, None])), _fmt(c.target), _fmt(met),
                                 cw.suppressed, cw.suppression_reason or ""])
    return out.getvalue()


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def report_table(report: ScoreReport) -> None:
    """A rich table: per group n, response rate, the index with its interval and each criterion's share."""
    from rich.console import Console
    from rich.table import Table

    criteria = [c.id for c in report.groups[0].criteria] if report.groups else []
    table = Table(title=f"{report.questionnaire} v{report.version}, {report.period}"
                        f"{'' if report.unit is None else ', ' + report.unit}{', weighted' if report.weighted else ''}")
    for d in report.by:
        table.add_column(d)
    table.add_column("n", justify="right")
    table.add_column("resp. rate", justify="right")
    table.add_column("index [95% CI]", justify="right")
    if report.weighted:
        table.add_column("weighted index [95% CI] (deff)", justify="right")
    for c in criteria:
        table.add_column(f"{c} %", justify="right")
    for group in report.groups:
        index = group.index
        if index is None:
            index_text = "-"
        elif index.suppressed:
            index_text = f"suppressed ({index.suppression_reason})"
        else:
            low, high = index.ci or [math.nan, math.nan]
            index_text = f"{index.value:.1f} [{low:.1f}, {high:.1f}]{' ✓' if index.met else ''}"
        cells = []
        for c in group.criteria:
            cells.append("—" if c.satisfied_share is None else f"{100 * c.satisfied_share:.1f}")
        rate = "-" if group.response_rate is None else f"{100 * group.response_rate:.1f}%"
        extra = []
        if report.weighted:
            w = None if index is None else index.weighted
            if w is None:
                extra.append("-")
            elif w.suppressed:
                extra.append(f"suppressed ({w.suppression_reason})")
            else:
                low, high = w.ci or [math.nan, math.nan]
                extra.append(f"{w.value:.1f} [{low:.1f}, {high:.1f}] ({w.design_effect or math.nan:.2f})")
        table.add_row(*_keys(group, report.by), str(group.n), rate, index_text, *extra, *cells)
    console = Console()
    console.print(table)
    outside = [f for f in report.funnel if f.position not in ("within", "suppressed")]
    if outside:
        console.print("Outside the funnel limits: " + ", ".join(f"{f.unit} ({f.criterion}: {f.position})"
                                                               for f in outside))
    console.print(f"— below n={report.min_n} a share is suppressed; shares in percent, index 0–100.")
