"""The assessment over counts: every measure and test of every group at once, then the JSON contract's objects.

The answers arrive counted per cell (:class:`~survey.services.scores.cells.ScoreCells`: unit × service × channel
× month, or × day where a period cuts a month). Every cell gets a group code once (``n_groups`` = in no group):
the groups of the period, and the same key lookup (:func:`scoring.group_keys`) places the cells of the previous
period, of a year earlier, of sibling units and of the trend window. Every measure and test comes from per-group
counts of the cells' answer codes and patterns (one ``np.bincount`` each), never from the responses one by one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from msgspec.structs import force_setattr, replace

from questionnaires.model import CHANNELS, Criterion, Question, Questionnaire
from scoring import (
    CESScore,
    GroupAssessment,
    GroupStats,
    KeyGroups,
    bh_q_values,
    group_keys,
    nps_from_counts,
    wilson_interval,
)
from scoring.patterns import assess_patterns
from survey.services.scores.cells import ScoreCells
from survey.services.scores.context import Context
from survey.services.scores.contract import (
    CESResult,
    CommentsResult,
    CriterionResult,
    FunnelFamily,
    FunnelUnit,
    IndexResult,
    NPSResult,
    QuestionResult,
    ScoreGroup,
    ScoreReport,
    TestResult,
    json_interval,
    json_number,
    json_numbers,
)
from survey.services.scores.funnels import funnel_plots
from survey.services.scores.group_tests import TestColumn, peer_tests, period_tests, reliability_tests
from survey.services.scores.periods import month_label
from survey.services.scores.weighting import GroupWeights, weigh

__all__ = ["ScoreAssessment", "assess"]

GroupKey = dict[str, str | None]

SIGNIFICANCE = 0.05  # the false discovery rate the q-values are read at


@dataclass(frozen=True)
class ScoreAssessment:
    """Every measure and test of :func:`assess`, as arrays over the groups; :meth:`report` builds the JSON objects."""

    context: Context
    grouping: KeyGroups
    criteria: list[Criterion]
    counts: npt.NDArray[np.int64]
    invited: npt.NDArray[np.int64]
    commented: npt.NDArray[np.int64]  # respondents who left a comment
    delivered: npt.NDArray[np.int64] | None
    assessment: GroupAssessment | None
    question_stats: dict[str, GroupStats]
    group_tests: list[TestColumn]
    report_tests: list[TestResult]
    funnel: list[FunnelUnit]
    funnel_families: list[FunnelFamily] = field(default_factory=list)
    weights: GroupWeights | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def group_keys(self) -> list[GroupKey]:
        """Per group: its code for each dimension of ``by`` (unit, subunit, service, channel, month)."""
        context, by = self.context, self.context.by
        label = {"unit": context.units.code.get, "subunit": context.units.code.get,
                 "service": context.service_codes.get, "channel": CHANNELS.__getitem__, "month": month_label}
        return [{d: label[d](value) for d, value in zip(by, row, strict=True)} for row in self.grouping.keys.tolist()]

    def report(self, *, service: str | None = None, channel: str | None = None,
               comments: Sequence[CommentsResult | None] | None = None,
               timings: dict[str, float] | None = None) -> ScoreReport:
        """The per-group results as the JSON contract's objects (one :class:`ScoreGroup` per group); ``service``
        and ``channel`` name the request's scope, ``comments`` each group's comments (``None``: none asked for),
        ``timings`` go before the assessment's own."""
        clock = time.perf_counter()
        context, rule = self.context, self.context.rule
        q, n_groups = context.questionnaire, self.grouping.n_groups
        numeric = [x for x in q.questions if x.is_numeric and x.scale is not None]
        criterion_columns = self._criterion_columns()
        index_columns = self._index_columns()
        question_columns = [self._question_column(x) for x in numeric]
        nps_question = next((x for x in numeric if x.type == "nps"), None)
        ces_question = next((x for x in numeric if x.type == "ces"), None)
        per_group: list[list[TestResult]] = [[] for _ in range(n_groups)]
        for column in self.group_tests:
            for k in np.flatnonzero(column.has).tolist():
                per_group[k].append(column.build(k))
        per_group, report_tests, funnel, family_size = _with_q_values(per_group, self.report_tests, self.funnel)
        counts, invited = self.counts.tolist(), self.invited.tolist()
        delivered = None if self.delivered is None else self.delivered.tolist()
        groups: list[ScoreGroup] = []
        for k, key in enumerate(self.group_keys()):
            small = counts[k] < rule.min_n  # nothing about the group but its n
            rate = None if small or delivered is None or delivered[k] == 0 else invited[k] / delivered[k]
            groups.append(ScoreGroup(
                unit=key.get("unit"), service=key.get("service"), channel=key.get("channel"), month=key.get("month"),
                subunit=key.get("subunit"), n=counts[k], response_rate=rate,
                invitations_delivered=0 if delivered is None else delivered[k],
                index=None if index_columns is None else index_columns[k], criteria=criterion_columns[k],
                questions=[column[k] for column in question_columns],
                nps=None if nps_question is None else self._nps(nps_question, k),
                ces=None if ces_question is None else self._ces(ces_question, k), tests=per_group[k],
                weighting=None if self.weights is None else self.weights.weighting[k],
                comments=None if comments is None else comments[k]))
        start_text, end_text = context.period.start.isoformat(), (context.period.end - timedelta(days=1)).isoformat()
        return ScoreReport(
            questionnaire=q.id, version=q.version, period=context.period.label, start=start_text, end=end_text,
            unit=context.units.code.get(context.scope_unit) if context.scope_unit else None, service=service,
            channel=channel, by=list(context.by), weighted=context.contacts is not None, min_n=rule.min_n,
            min_n_comments=rule.min_n_comments, groups=groups, tests=report_tests, funnel=funnel,
            timings={**(timings or {}), **self.timings, "report_s": time.perf_counter() - clock},
            min_n_inference=rule.min_n_inference, funnel_families=self.funnel_families,
            multiple_testing={"method": "benjamini_hochberg", "alpha": SIGNIFICANCE, "m": family_size,
                              "family": "every test of this report with a p-value, and the funnel points"})

    def _question_column(self, x: Question) -> list[QuestionResult]:
        st, rule = self.question_stats[x.id], self.context.rule
        shown = st.n >= rule.min_n
        points = [str(st.scale_min + j) for j in range(st.distribution.shape[1])]
        ns = st.n.tolist()
        means, sds = json_numbers(np.where(shown, st.mean, np.nan)), json_numbers(np.where(shown, st.sd, np.nan))
        column = []
        for k, row in enumerate(st.distribution.tolist()):
            reason = rule.reason(ns[k])
            distribution = {} if reason else dict(zip(points, row, strict=True))  # counts give the mean away
            column.append(QuestionResult(x.id, x.type, ns[k], means[k], sds[k], distribution, reason is not None,
                                         reason))
        return column

    def _nps(self, question: Question, k: int) -> NPSResult:
        st = self.question_stats[question.id]
        d = st.distribution[k]
        points = st.scale_min + np.arange(d.shape[0])
        promoters, detractors = int(d[points >= 9].sum()), int(d[points <= 6].sum())
        score = nps_from_counts(promoters, int(d.sum()) - promoters - detractors, detractors, self.context.rule)
        if score.suppressed:
            return NPSResult(question.id, score.n, None, None, None, None, None, True, score.suppression_reason)
        return NPSResult(question.id, score.n, json_number(score.value),
                         json_interval(score.ci(self.context.confidence_level)), score.promoters, score.passives,
                         score.detractors, score.suppressed, score.suppression_reason)

    def _ces(self, question: Question, k: int) -> CESResult:
        st = self.question_stats[question.id]
        n = int(st.n[k])
        reason = self.context.rule.reason(n)
        scale = question.scale
        score = CESScore(None if reason else json_number(st.mean[k]), n, None if reason else json_number(st.sd[k]),
                         reason is not None, reason, scale=None if scale is None else (scale.min, scale.max))
        return CESResult(question.id, n, score.mean, json_interval(score.ci(self.context.confidence_level)),
                         score.suppressed, reason)

    def _criterion_columns(self) -> list[list[CriterionResult]]:
        a, rule, n_groups = self.assessment, self.context.rule, self.grouping.n_groups
        if a is None:
            return [[] for _ in range(n_groups)]
        low, high = wilson_interval(a.satisfied, a.n, self.context.confidence_level)
        shown = a.n >= rule.min_n
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(shown, a.satisfied / a.n, np.nan)
        columns = []
        for c, criterion in enumerate(a.criteria):
            ns, ks = a.n[:, c].tolist(), a.satisfied[:, c].tolist()
            shares, means = json_numbers(share[:, c]), json_numbers(np.where(shown[:, c], a.mean[:, c], np.nan))
            lows, highs = low[:, c].tolist(), high[:, c].tolist()
            weighted = None if self.weights is None else self.weights.criteria[criterion.id]
            target = criterion.target
            column = []
            for k in range(n_groups):
                reason = rule.reason(ns[k])
                s = shares[k]
                column.append(CriterionResult(
                    id=criterion.id, n=ns[k], satisfied=None if reason else ks[k], mean=means[k], satisfied_share=s,
                    ci=None if reason else [lows[k], highs[k]], target=target,
                    met=None if s is None or target is None else s >= target, suppressed=reason is not None,
                    suppression_reason=reason, weighted=None if weighted is None else weighted[k]))
            columns.append(column)
        return [list(row) for row in zip(*columns, strict=True)]

    def _index_columns(self) -> list[IndexResult] | None:
        a = self.assessment
        if a is None or a.index_definition is None:
            return None
        weighted = None if self.weights is None else self.weights.index
        columns = []
        for k in range(self.grouping.n_groups):
            score = a.index_score(k)
            columns.append(IndexResult(json_number(score.value), json_interval(score.ci), score.target, score.met,
                                       score.n, score.formula, score.suppressed, score.suppression_reason,
                                       None if weighted is None else weighted[k],
                                       criteria=[] if score.suppressed else list(score.criteria)))
        return columns


def assess(cells: ScoreCells, context: Context) -> ScoreAssessment:
    """Every measure and test of ``cells`` for ``context``, as arrays over the groups.

    Cells in the period and in the scope unit's subtree are scored; cells of the previous period and the
    same period a year earlier feed the period comparisons; cells of sibling subtrees the peer comparisons.
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    q, rule, by = context.questionnaire, context.rule, context.by
    coded = {c.id for c in cells.coding.criteria}
    criteria = [c for c in q.criteria if c.id in coded]
    start, end = context.period.bounds(context.timezone)
    epoch = cells.epoch
    in_period = (epoch >= int(start.timestamp())) & (epoch < int(end.timestamp()))
    months = cells.month
    unit_count = int(cells.unit_id.max()) + 1 if cells.n_cells else 1
    unit_count = max(unit_count, max(context.units.parent, default=0) + 1)
    parents = context.units.parent_array(unit_count)
    scope_path = context.units.path.get(context.scope_unit or -1, "/")
    in_scope_unit = np.array([context.units.path.get(u, "\x00").startswith(scope_path) for u in range(unit_count)])
    in_scope = in_scope_unit[cells.unit_id]
    selected = in_period & in_scope
    subunits = context.units.subunit_array(context.scope_unit, unit_count) if "subunit" in by else None
    dims = {"unit": cells.unit_id, "service": cells.service_id, "channel": cells.channel, "month": months}
    if subunits is not None:
        dims["subunit"] = subunits[cells.unit_id]
    grouping = group_keys([dims[d] for d in by], selected)
    n_groups = grouping.n_groups
    g = grouping.codes(selected)
    timings["prepare_s"] = time.perf_counter() - clock

    # measures, vectorised over the groups
    clock = time.perf_counter()
    counts = _group_sum(g, cells.n, n_groups)
    invited = _group_sum(np.where(cells.invited, g, n_groups), cells.n, n_groups)
    commented = cells.comments.dense(g, n_groups)[:, 1]
    assessment, counted = (assess_patterns(criteria, cells.patterns, g, n_groups, q.index, rule,
                                           context.confidence_level, outcomes=cells.outcomes)
                           if criteria else (None, {}))
    question_stats = _question_stats(q, cells, g, n_groups)
    delivered = _delivered(context, grouping, subunits)
    timings["measures_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    group_tests = reliability_tests(context, criteria, cells, counted)
    timings["reliability_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    report_tests: list[TestResult] = []
    funnel: list[FunnelUnit] = []
    families: list[FunnelFamily] = []
    if criteria and context.comparisons:
        peers = peer_tests(cells, context, criteria, counted, in_period, in_scope, grouping, counts, parents)
        group_tests, report_tests = [*group_tests, *peers.columns], peers.across
        focus = _funnel_focus(context, grouping)
        if focus:
            funnel, families = funnel_plots(cells, context, criteria, in_period, focus, own="unit" in by)
    timings["peers_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    if criteria and "month" not in by:
        group_tests = [*group_tests, *period_tests(cells, context, criteria, counted, in_scope, grouping, counts,
                                                   assessment.index_criteria if assessment else None)]
    timings["periods_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    weights = weigh(cells, context, criteria, selected, g, n_groups)
    timings["weighting_s"] = time.perf_counter() - clock
    return ScoreAssessment(context, grouping, criteria, counts, invited, commented, delivered, assessment,
                           question_stats, group_tests, report_tests, funnel, families, weights, timings)


def _group_sum(groups: npt.NDArray[np.intp], values: npt.NDArray[np.int64], n_groups: int) -> npt.NDArray[np.int64]:
    """Per group: the sum of a per-cell count over its cells."""
    total = np.bincount(groups, weights=values, minlength=n_groups + 1)[:n_groups]
    out: npt.NDArray[np.int64] = np.rint(total).astype(np.int64)
    return out


def _funnel_focus(context: Context, grouping: KeyGroups) -> list[int]:
    """The units whose funnels the report shows: the units (or subunits) of its groups, else the scope unit."""
    by = context.by
    dimension = next((d for d in ("unit", "subunit") if d in by), None)
    if dimension is not None:
        units = np.unique(grouping.keys[:, by.index(dimension)]).tolist()
        if dimension == "subunit":  # the scope's own answers are no subtree of a unit of the level below
            units = [u for u in units if u != context.scope_unit]
        return [int(u) for u in units]
    return [] if context.scope_unit is None else [context.scope_unit]


def _with_q_values(per_group: list[list[TestResult]], report_tests: list[TestResult],
                   funnel: list[FunnelUnit]) -> tuple[list[list[TestResult]], list[TestResult], list[FunnelUnit], int]:
    """Every test and funnel point with its Benjamini–Hochberg q-value over the report's whole family of tests; a
    funnel point is ``flagged`` when it lies outside its 95% limits and its q-value is below 0.05."""
    pvalues = [t.pvalue for tests in per_group for t in tests] + [t.pvalue for t in report_tests] \
        + [f.pvalue for f in funnel]
    p = np.array([np.nan if v is None else v for v in pvalues], dtype=np.float64)
    q: list[float | None] = json_numbers(bh_q_values(p)) if p.size else []
    m = int(np.count_nonzero(~np.isnan(p)))
    at = iter(q)
    for tests in per_group:  # built just now for this report: set in place, as a frozen Struct's __post_init__ may
        for t in tests:
            force_setattr(t, "q_value", next(at))
    report_tests = [replace(t, q_value=next(at)) for t in report_tests]
    flagged = []
    for f in funnel:
        value = next(at)
        outside = f.position not in ("within", "suppressed")
        flagged.append(replace(f, q_value=value, flagged=bool(outside and value is not None and value < SIGNIFICANCE)))
    return per_group, report_tests, flagged, m


def _question_stats(q: Questionnaire, cells: ScoreCells, g: npt.NDArray[np.intp],
                    n_groups: int) -> dict[str, GroupStats]:
    """Each numeric question's distribution per group, from its answer codes per cell."""
    out = {}
    coded = {qid for qid, _, _ in cells.coding.questions}
    for x in q.questions:
        scale = x.scale
        if not x.is_numeric or scale is None or x.id not in coded:
            continue
        distribution = cells.question(x.id).dense(g, n_groups)[:, 1:]
        values = np.arange(scale.min, scale.max + 1, dtype=np.float64)
        out[x.id] = GroupStats(n=distribution.sum(axis=1), total=distribution @ values,
                               total_sq=distribution @ (values * values), distribution=distribution,
                               scale_min=scale.min)
    return out


def _delivered(context: Context, grouping: KeyGroups,
               subunits: npt.NDArray[np.int64] | None) -> npt.NDArray[np.int64] | None:
    """Delivered invitations per group, from the (unit, service, channel, month, count) rows of the context."""
    if context.invitations is None or context.invitations.size == 0:
        return None
    rows = context.invitations
    columns: dict[str, Any] = {"unit": rows[:, 0], "service": rows[:, 1], "channel": rows[:, 2], "month": rows[:, 3]}
    if subunits is not None:
        inside = rows[:, 0] < subunits.shape[0]
        columns["subunit"] = np.where(inside, subunits[np.where(inside, rows[:, 0], 0)], -1)
    keys = np.zeros((rows.shape[0], 0), dtype=np.int64)
    if context.by:
        keys = np.column_stack([columns[d] for d in context.by])
    located = grouping.locate(keys)
    hit = located < grouping.n_groups
    return np.bincount(located[hit], weights=rows[hit, 4], minlength=grouping.n_groups).astype(np.int64)
