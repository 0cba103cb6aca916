"""The tests of every group at once: against its peer units, against earlier periods, the monthly trend and the
reliability of each criterion, and across the peer units of each parent (Kruskal–Wallis, funnel limits).

Each kind of test is kept columnar (:class:`TestColumn`, arrays over the groups) and turned into
:class:`~survey.services.scores.contract.TestResult` objects only when the report is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from questionnaires.model import Criterion
from scoring import KeyGroups, SmallSampleRule, funnel_limits
from scoring.grouped import (
    CronbachAlphaGroups,
    MannWhitneyGroups,
    TwoProportionGroups,
    kruskal_wallis_counts,
    mann_kendall_groups,
    mann_whitney_counts,
    two_proportion_tests,
)
from scoring.patterns import PatternCounts, assess_patterns, block_rest
from survey.services.extract import ResponseFrame, month_codes
from survey.services.scores.context import Context, RowCodes
from survey.services.scores.contract import FunnelUnit, TestResult, json_interval, json_number, json_numbers
from survey.services.scores.periods import month_label

__all__ = ["PeerTests", "TestColumn", "peer_tests", "period_tests", "reliability_tests"]

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class TestColumn:
    """One kind of test for every group (columnar), turned into a :class:`TestResult` only when reported."""

    comparison: str
    test: str
    criterion: str | None
    has: BoolArray  # which groups have this test
    build: Callable[[int], TestResult]  # group index -> its result


@dataclass(frozen=True)
class PeerTests:
    """The peer comparisons: a column per criterion and test for the groups, the tests across peers and the
    funnel points for the report."""

    columns: list[TestColumn]
    across: list[TestResult]
    funnel: list[FunnelUnit]


def _result(comparison: str, test: str, criterion: str | None, result: Any, n: int, **details: Any) -> TestResult:
    return TestResult(
        comparison=comparison, test=test, criterion=criterion, statistic=json_number(result.statistic),
        pvalue=json_number(getattr(result, "pvalue", None)),
        effect_size=json_number(getattr(result, "effect_size", None)),
        effect_size_name=getattr(result, "effect_size_name", None), n=n, suppressed=bool(result.suppressed),
        suppression_reason=result.suppression_reason, details=details,
    )


def _pair(comparison: str, criterion: Criterion, has: BoolArray, proportions: TwoProportionGroups,
          scores: MannWhitneyGroups) -> list[TestColumn]:
    """The two tests of a comparison: two proportions (satisfied shares) and Mann–Whitney (scores)."""
    p, s = proportions, scores
    p_stat, p_p, p_h = json_numbers(p.statistic), json_numbers(p.pvalue), json_numbers(p.effect_size)
    p_rd = json_numbers(p.risk_difference)
    k1, n1, k2, n2 = p.k1.tolist(), p.n1.tolist(), p.k2.tolist(), p.n2.tolist()
    s_stat, s_p, s_r = json_numbers(s.statistic), json_numbers(s.pvalue), json_numbers(s.effect_size)
    s_cl = json_numbers(s.common_language)
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

    return [TestColumn(comparison, "two_proportion", cid, has, proportion_test),
            TestColumn(comparison, "mann_whitney", cid, has, rank_test)]


def _compare(comparison: str, criterion: Criterion, mine: PatternCounts, theirs: PatternCounts, has: BoolArray,
             rule: SmallSampleRule) -> list[TestColumn]:
    """Each group's criterion scores against another sample's (its peers, an earlier period), every group at once."""
    t = criterion.satisfied_threshold
    proportions = two_proportion_tests(mine.satisfied(t), mine.n, theirs.satisfied(t), theirs.n, rule)
    scores = mann_whitney_counts(mine.score_counts, theirs.score_counts, rule)
    return _pair(comparison, criterion, has, proportions, scores)


def _reliability(criterion: Criterion, alphas: CronbachAlphaGroups, level: float) -> TestColumn:
    low, high = alphas.ci(level)
    alpha, ns, lows, highs = json_numbers(alphas.alpha), alphas.n.tolist(), json_numbers(low), json_numbers(high)
    suppressed = alphas.suppressed.tolist()

    def build(k: int) -> TestResult:
        ci = None if lows[k] is None or highs[k] is None else [lows[k], highs[k]]
        if not suppressed[k] and alpha[k] is not None and ci is None:
            ci = json_interval(alphas.result(k).ci(level))
        return TestResult("reliability", "cronbach_alpha", criterion.id, alpha[k], None, None, None, ns[k],
                          suppressed[k], alphas.reason(k), {"n_items": alphas.n_items, "ci": ci})

    return TestColumn("reliability", "cronbach_alpha", criterion.id, np.ones(alphas.n.shape[0], dtype=bool), build)


def reliability_tests(context: Context, criteria: Sequence[Criterion], rows: RowCodes,
                      counted: dict[str, PatternCounts]) -> list[TestColumn]:
    """Cronbach's alpha of every criterion with two or more items, per group."""
    return [_reliability(c, counted[c.id].cronbach(context.rule), context.confidence_level) for c in criteria
            if rows.patterns[c.id].values.shape[1] >= 2]


def peer_tests(frame: ResponseFrame, context: Context, criteria: Sequence[Criterion], rows: RowCodes,
               counted: dict[str, PatternCounts], in_period: BoolArray, in_scope: BoolArray, grouping: KeyGroups,
               counts: npt.NDArray[np.int64], parents: npt.NDArray[np.int64]) -> PeerTests:
    """Each group against its peer units (same parent), and across the peer units of each parent."""
    rule, by, n_groups = context.rule, context.by, grouping.n_groups
    columns: list[TestColumn] = []
    across: list[TestResult] = []
    funnel: list[FunnelUnit] = []
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
            columns.extend(_compare("vs_peers", c, mine, theirs, has_peers, rule))
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
            _across(context, criteria, members_counts, units[members], parent, across, funnel)
    elif context.scope_unit is not None and context.units.parent.get(context.scope_unit):
        # the scope's subtree against its siblings' subtrees, per group
        parent = context.units.parent[context.scope_unit]
        sibling_rows = in_period & ~in_scope
        if not np.any(sibling_rows):
            return PeerTests(columns, across, funnel)
        others = grouping.codes(sibling_rows)
        has_peers = np.bincount(others, minlength=n_groups + 1)[:n_groups] > 0
        for c in criteria:
            theirs = rows.patterns[c.id].count(others, n_groups)
            columns.extend(_compare("vs_peers", c, counted[c.id], theirs, has_peers, rule))
        # across the siblings: each universe row belongs to the child of the parent whose subtree holds it
        child = context.units.subunit_array(parent, int(frame.unit_id.max(initial=0)) + 1)
        child[child == parent] = -1  # the parent's own answers belong to none of the siblings
        row_child = np.where(in_period, child[frame.unit_id], -1)
        present = np.unique(row_child[row_child >= 0])
        code = np.searchsorted(present, row_child)
        code[row_child < 0] = present.size
        by_child = {c.id: rows.patterns[c.id].count(code.astype(np.intp), present.size) for c in criteria}
        _across(context, criteria, by_child, present, parent, across, funnel)
    return PeerTests(columns, across, funnel)


def _across(context: Context, criteria: Sequence[Criterion], by_unit: dict[str, PatternCounts],
            present: npt.NDArray[np.int64], parent: int, across: list[TestResult], funnel: list[FunnelUnit]) -> None:
    """Kruskal–Wallis with Dunn/Holm and funnel limits across the peer units of one parent (``by_unit``: each
    unit's pattern counts, rows in the order of ``present``), added to ``across`` and ``funnel``."""
    rule, code = context.rule, context.units.code
    if present.size < 2:
        return
    label = code.get(parent, str(parent))
    for c in criteria:
        unit_counts = by_unit[c.id]
        result = kruskal_wallis_counts(unit_counts.score_counts, present, rule)
        pairs = [{"unit1": code.get(p.group1), "unit2": code.get(p.group2), "statistic": p.statistic,
                  "pvalue": p.pvalue, "pvalue_adjusted": p.pvalue_adjusted} for p in result.pairwise]
        across.append(_result(
            "across_peers", "kruskal_wallis", c.id, result, result.n, parent=label, df=result.df,
            units=[code.get(u) for u in result.groups],
            excluded=[{"unit": code.get(u), "reason": r} for u, r in result.excluded], dunn_holm=pairs))
        k, n = unit_counts.satisfied(c.satisfied_threshold), unit_counts.n
        if n.sum() == 0:
            continue  # nobody answered this criterion: nothing to place on a funnel
        limits = funnel_limits(k, n, rule=rule)
        for point in limits.points:
            funnel.append(FunnelUnit(
                c.id, code.get(int(present[point.unit]), str(present[point.unit])), point.k, point.n,
                json_number(point.share), limits.target, json_number(point.lower_95), json_number(point.upper_95),
                json_number(point.lower_998), json_number(point.upper_998), point.position))


def period_tests(frame: ResponseFrame, context: Context, criteria: Sequence[Criterion], rows: RowCodes,
                 counted: dict[str, PatternCounts], in_scope: BoolArray, grouping: KeyGroups,
                 months: npt.NDArray[np.int32]) -> list[TestColumn]:
    """Each group against the previous period and the same period a year earlier, and its monthly trend."""
    rule, q, n_groups = context.rule, context.questionnaire, grouping.n_groups
    epoch = frame.submitted_epoch
    everyone = np.ones(n_groups, dtype=bool)
    columns: list[TestColumn] = []
    for label, period in (("previous_period", context.period.previous()),
                          ("same_period_last_year", context.period.year_earlier())):
        start, end = period.bounds(context.timezone)
        reference = in_scope & (epoch >= int(start.timestamp())) & (epoch < int(end.timestamp()))
        located = grouping.codes(reference) if np.any(reference) else None
        for c in criteria:
            mine = counted[c.id]
            theirs = (PatternCounts(np.zeros_like(mine.counts), mine.values) if located is None
                      else rows.patterns[c.id].count(located, n_groups))
            columns.extend(_compare(label, c, mine, theirs, everyone, rule))
    # trend of the monthly index over the twelve months that end with the period
    if q.index is None:
        return columns
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
    rows_values = [json_numbers(v) for v in values]
    tau, slope, ns = json_numbers(trend.tau), json_numbers(trend.slope), trend.n.tolist()

    def build(k: int) -> TestResult:
        return _result("trend", "mann_kendall", None, trend.result(k), ns[k], measure="index", tau=tau[k],
                       sen_slope_per_month=slope[k], months=labels, values=rows_values[k])

    columns.append(TestColumn("trend", "mann_kendall", None, everyone, build))
    return columns
