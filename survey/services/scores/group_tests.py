"""The tests of every group at once: against its peer units, against earlier periods, the monthly trend and the
reliability of each criterion, and across the peer units of each parent (Kruskal–Wallis).

Each kind of test is kept columnar (:class:`TestColumn`, arrays over the groups) and turned into
:class:`~survey.services.scores.contract.TestResult` objects only when the report is built. The funnel plots are
:mod:`.funnels`'. What no test result carries: any share, mean or count of a sample below the minimum n (only
that sample's n).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from questionnaires.model import Criterion
from scoring import KeyGroups, SmallSampleRule
from scoring.grouped import (
    MannWhitneyGroups,
    TwoProportionGroups,
    cochran_armitage_groups,
    kruskal_wallis_counts,
    mann_kendall_groups,
    mann_whitney_counts,
    two_proportion_tests,
)
from scoring.patterns import PatternCounts, assess_patterns, block_rest
from survey.services.extract import month_codes
from survey.services.scores.cells import ScoreCells
from survey.services.scores.context import Context
from survey.services.scores.contract import TestResult, json_interval, json_number, json_numbers
from survey.services.scores.periods import Period, month_label, period_name

__all__ = ["PeerTests", "TestColumn", "peer_tests", "period_tests", "reliability_tests", "test_result",
           "trend_index_criteria", "trend_tests"]

BoolArray = npt.NDArray[np.bool_]

NEGATIVE_ALPHA = "negative alpha: the items do not measure one thing here"
TWO_ITEMS = ("two items: Cronbach's alpha is not meaningful; the inter-item correlation r and the Spearman–Brown "
             "coefficient 2r/(1+r) are given instead (Eisinga et al. 2013)")


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
    """The peer comparisons: a column per criterion and test for the groups, and the tests across peers."""

    columns: list[TestColumn]
    across: list[TestResult]


def test_result(comparison: str, test: str, criterion: str | None, result: Any, n: int,
                **details: Any) -> TestResult:
    """A scoring result (anything with ``statistic``, ``suppressed`` and ``suppression_reason``) as a TestResult."""
    return TestResult(
        comparison=comparison, test=test, criterion=criterion, statistic=json_number(result.statistic),
        pvalue=json_number(getattr(result, "pvalue", None)),
        effect_size=json_number(getattr(result, "effect_size", None)),
        effect_size_name=getattr(result, "effect_size_name", None), n=n, suppressed=bool(result.suppressed),
        suppression_reason=result.suppression_reason, details=details,
    )


def _pair(comparison: str, criterion: Criterion, has: BoolArray, proportions: TwoProportionGroups,
          scores: MannWhitneyGroups, rule: SmallSampleRule, other: str) -> list[TestColumn]:
    """The two tests of a comparison: two proportions (satisfied shares) and Mann–Whitney (scores). ``other`` names
    the other sample in the reason given when it alone is too small ("the peers", "2026-Q1")."""
    p, s = proportions, scores
    p_stat, p_p, p_h = json_numbers(p.statistic), json_numbers(p.pvalue), json_numbers(p.effect_size)
    p_rd = json_numbers(p.risk_difference)
    k1, n1, k2, n2 = p.k1.tolist(), p.n1.tolist(), p.k2.tolist(), p.n2.tolist()
    s_stat, s_p, s_r = json_numbers(s.statistic), json_numbers(s.pvalue), json_numbers(s.effect_size)
    s_cl = json_numbers(s.common_language)
    p_sup, s_sup = p.suppressed.tolist(), s.suppressed.tolist()
    fisher = p.fisher.tolist()
    floor = rule.test_min_n
    cid = criterion.id

    def reason(k: int, default: str | None) -> str | None:
        if n1[k] >= floor and n2[k] < floor:
            return f"no comparison: too few answers in {other} (n={n2[k]} < {floor})"
        return default

    def proportion_test(k: int) -> TestResult:
        if p_sup[k]:
            return TestResult(comparison, "two_proportion", cid, None, None, None, "cohen_h", n1[k] + n2[k], True,
                              reason(k, p.reason(k)), {"n1": n1[k], "n2": n2[k], "compared_with": other})
        return TestResult(comparison, "two_proportion", cid, p_stat[k], p_p[k], p_h[k], "cohen_h", n1[k] + n2[k],
                          False, None,
                          {"share": k1[k] / n1[k], "other_share": k2[k] / n2[k], "n1": n1[k], "n2": n2[k],
                           "risk_difference": p_rd[k], "method": "fisher_exact" if fisher[k] else "z",
                           "compared_with": other})

    def rank_test(k: int) -> TestResult:
        if s_sup[k]:
            return TestResult(comparison, "mann_whitney", cid, None, None, None, "rank_biserial", n1[k] + n2[k], True,
                              reason(k, s.reason(k)), {"n1": n1[k], "n2": n2[k], "compared_with": other})
        return TestResult(comparison, "mann_whitney", cid, s_stat[k], s_p[k], s_r[k], "rank_biserial",
                          n1[k] + n2[k], False, None,
                          {"n1": n1[k], "n2": n2[k], "common_language": s_cl[k], "compared_with": other})

    return [TestColumn(comparison, "two_proportion", cid, has, proportion_test),
            TestColumn(comparison, "mann_whitney", cid, has, rank_test)]


def _compare(comparison: str, criterion: Criterion, mine: PatternCounts, theirs: PatternCounts, has: BoolArray,
             rule: SmallSampleRule, other: str) -> list[TestColumn]:
    """Each group's criterion scores against another sample's (its peers, an earlier period), every group at once."""
    t = criterion.satisfied_threshold
    proportions = two_proportion_tests(mine.satisfied(t), mine.n, theirs.satisfied(t), theirs.n, rule)
    scores = mann_whitney_counts(mine.score_counts, theirs.score_counts, rule)
    return _pair(comparison, criterion, has, proportions, scores, rule, other)


def _alpha(criterion: Criterion, counted: PatternCounts, rule: SmallSampleRule, level: float) -> TestColumn:
    alphas = counted.cronbach(rule)
    low, high = alphas.ci(level)
    alpha, ns, lows, highs = json_numbers(alphas.alpha), alphas.n.tolist(), json_numbers(low), json_numbers(high)
    suppressed = alphas.suppressed.tolist()

    def build(k: int) -> TestResult:
        ci = None if lows[k] is None or highs[k] is None else [lows[k], highs[k]]
        if not suppressed[k] and alpha[k] is not None and ci is None:
            ci = json_interval(alphas.result(k).ci(level))
        details: dict[str, Any] = {"n_items": alphas.n_items, "ci": ci}
        if alpha[k] is not None and alpha[k] < 0:
            details["note"] = NEGATIVE_ALPHA
        return TestResult("reliability", "cronbach_alpha", criterion.id, alpha[k], None, None, None, ns[k],
                          suppressed[k], alphas.reason(k), details)

    return TestColumn("reliability", "cronbach_alpha", criterion.id, np.ones(alphas.n.shape[0], dtype=bool), build)


def _two_items(criterion: Criterion, counted: PatternCounts, rule: SmallSampleRule, level: float) -> TestColumn:
    result = counted.spearman_brown(rule)
    low, high = result.ci(level)
    coefficient, r = json_numbers(result.coefficient), json_numbers(result.r)
    lows, highs, ns, suppressed = json_numbers(low), json_numbers(high), result.n.tolist(), result.suppressed.tolist()

    def build(k: int) -> TestResult:
        ci = None if suppressed[k] or lows[k] is None or highs[k] is None else [lows[k], highs[k]]
        details: dict[str, Any] = {"n_items": 2, "ci": ci, "note": TWO_ITEMS}
        if not suppressed[k]:
            details["r"] = r[k]
        return TestResult("reliability", "spearman_brown", criterion.id, None if suppressed[k] else coefficient[k],
                          None, None, None, ns[k], suppressed[k], result.result(k).suppression_reason, details)

    return TestColumn("reliability", "spearman_brown", criterion.id, np.ones(result.n.shape[0], dtype=bool), build)


def reliability_tests(context: Context, criteria: Sequence[Criterion], cells: ScoreCells,
                      counted: dict[str, PatternCounts]) -> list[TestColumn]:
    """Per group: Cronbach's alpha of every criterion of three or more items; for two items the inter-item
    correlation with the Spearman–Brown coefficient."""
    columns = []
    for c in criteria:
        items = cells.patterns[c.id].values.shape[1]
        if items >= 3:
            columns.append(_alpha(c, counted[c.id], context.rule, context.confidence_level))
        elif items == 2:
            columns.append(_two_items(c, counted[c.id], context.rule, context.confidence_level))
    return columns


def peer_tests(cells: ScoreCells, context: Context, criteria: Sequence[Criterion],
               counted: dict[str, PatternCounts], in_period: BoolArray, in_scope: BoolArray, grouping: KeyGroups,
               counts: npt.NDArray[np.int64], parents: npt.NDArray[np.int64]) -> PeerTests:
    """Each group against its peers, and Kruskal–Wallis across the peers of each parent.

    Peers are the sibling units (same parent), counted as the unit is: with ``by`` unit each unit's own answers,
    otherwise each sibling with its subtree. The unit's own subtree is never among its peers, nor are the parent's
    own answers (with ``by`` unit they are a group of their own)."""
    rule, by, n_groups = context.rule, context.by, grouping.n_groups
    columns: list[TestColumn] = []
    across: list[TestResult] = []
    unit_dimension = next((d for d in ("unit", "subunit") if d in by), None)
    if unit_dimension is not None:
        unit_at = by.index(unit_dimension)
        rest = [i for i in range(len(by)) if i != unit_at]
        group_unit = grouping.keys[:, unit_at]
        # peers: groups with the same other keys whose unit has the same parent (with subunit, the scope's own
        # answers form a group whose "unit" is the scope itself: its parent differs, so it is nobody's peer)
        group_parent = parents[group_unit]
        if unit_dimension == "subunit" and context.scope_unit is not None:
            group_parent = np.where(group_unit == context.scope_unit, -1, group_parent)
        block_keys = np.column_stack([grouping.keys[:, rest], group_parent])
        _, block = np.unique(block_keys, axis=0, return_inverse=True)
        block = block.ravel()
        has_peers = block_rest(counts, block) > 0
        for c in criteria:
            mine = counted[c.id]
            theirs = PatternCounts(block_rest(mine.counts, block), mine.values)
            columns.extend(_compare("vs_peers", c, mine, theirs, has_peers, rule, "the peers"))
        # across the peer units of each parent: the groups' counts summed per unit
        units, unit_index = np.unique(group_unit, return_inverse=True)
        unit_index = unit_index.ravel()
        by_unit = {}
        for c in criteria:
            total = np.zeros((units.size, counted[c.id].counts.shape[1]), dtype=np.int64)
            np.add.at(total, unit_index, counted[c.id].counts)
            by_unit[c.id] = PatternCounts(total, counted[c.id].values)
        unit_parent = parents[units]
        if unit_dimension == "subunit" and context.scope_unit is not None:
            unit_parent = np.where(units == context.scope_unit, -1, unit_parent)
        for parent in sorted({int(p) for p in unit_parent if p >= 0}):
            members = np.flatnonzero(unit_parent == parent)
            members_counts = {cid: PatternCounts(pc.counts[members], pc.values) for cid, pc in by_unit.items()}
            _across(context, criteria, members_counts, units[members], parent, across)
    elif context.scope_unit is not None and context.units.parent.get(context.scope_unit):
        # the scope's subtree against its siblings' subtrees, per group; the parent's own answers are no sibling's
        parent = context.units.parent[context.scope_unit]
        size = max(int(cells.unit_id.max(initial=0)) + 1, parents.shape[0])
        child = context.units.subunit_array(parent, size)
        child[child == parent] = -1
        row_child = np.where(in_period, child[cells.unit_id], -1)
        sibling_rows = (row_child >= 0) & ~in_scope
        if not np.any(sibling_rows):
            return PeerTests(columns, across)
        others = grouping.codes(sibling_rows)
        has_peers = np.bincount(others, weights=cells.n, minlength=n_groups + 1)[:n_groups] > 0
        for c in criteria:
            theirs = cells.patterns[c.id].count(others, n_groups)
            columns.extend(_compare("vs_peers", c, counted[c.id], theirs, has_peers, rule, "the peers"))
        # across the siblings: each row belongs to the child of the parent whose subtree holds it
        present = np.unique(row_child[row_child >= 0])
        code = np.searchsorted(present, row_child)
        code[row_child < 0] = present.size
        by_child = {c.id: cells.patterns[c.id].count(code.astype(np.intp), present.size) for c in criteria}
        _across(context, criteria, by_child, present, parent, across)
    return PeerTests(columns, across)


def _across(context: Context, criteria: Sequence[Criterion], by_unit: dict[str, PatternCounts],
            present: npt.NDArray[np.int64], parent: int, across: list[TestResult]) -> None:
    """Kruskal–Wallis with Dunn/Holm across the peer units of one parent (``by_unit``: each unit's pattern counts,
    rows in the order of ``present``), added to ``across``."""
    rule, code = context.rule, context.units.code
    if present.size < 2:
        return
    label = code.get(parent, str(parent))
    for c in criteria:
        result = kruskal_wallis_counts(by_unit[c.id].score_counts, present, rule)
        pairs = [{"unit1": code.get(p.group1), "unit2": code.get(p.group2), "statistic": p.statistic,
                  "pvalue": p.pvalue, "pvalue_adjusted": p.pvalue_adjusted} for p in result.pairwise]
        across.append(test_result(
            "across_peers", "kruskal_wallis", c.id, result, result.n, parent=label, df=result.df,
            units=[code.get(u) for u in result.groups],
            excluded=[{"unit": code.get(u), "reason": r} for u, r in result.excluded], dunn_holm=pairs))


def _reference_months(located: npt.NDArray[np.intp], months: npt.NDArray[np.int32], n_groups: int,
                      period: Period) -> tuple[npt.NDArray[np.int64], int]:
    """Per group, in how many of the reference period's calendar months it has answers; and the months it spans."""
    first = period.start.year * 12 + period.start.month - 1
    last = (period.end.year * 12 + period.end.month - 1) - (1 if period.end.day == 1 else 0)
    span = max(1, last - first + 1)
    inside = located < n_groups
    pairs = np.unique(located[inside].astype(np.int64) * span + np.clip(months[inside] - first, 0, span - 1))
    return np.bincount(pairs // span, minlength=n_groups).astype(np.int64), span


def period_tests(cells: ScoreCells, context: Context, criteria: Sequence[Criterion],
                 counted: dict[str, PatternCounts], in_scope: BoolArray, grouping: KeyGroups,
                 counts: npt.NDArray[np.int64], index_criteria: BoolArray | None) -> list[TestColumn]:
    """Each group against the previous period and the same period a year earlier (once when they are the same
    days, as for a year), and its monthly trend."""
    rule, n_groups = context.rule, grouping.n_groups
    epoch, months = cells.epoch, cells.month
    everyone = np.ones(n_groups, dtype=bool)
    columns: list[TestColumn] = []
    previous, year_earlier = context.period.previous(), context.period.year_earlier()
    references = [("previous_period", previous)] if context.comparisons else []
    if context.comparisons and (year_earlier.start, year_earlier.end) != (previous.start, previous.end):
        references.append(("same_period_last_year", year_earlier))
    for label, period in references:
        start, end = period.bounds(context.timezone)
        reference = in_scope & (epoch >= int(start.timestamp())) & (epoch < int(end.timestamp()))
        located = grouping.codes(reference)
        name = period_name(period)
        with_answers, span = _reference_months(located, months, n_groups, period)
        for c in criteria:
            mine = counted[c.id]
            theirs = cells.patterns[c.id].count(located, n_groups)
            for column in _compare(label, c, mine, theirs, everyone, rule, name):
                columns.append(_with_coverage(column, with_answers, span, name))
    trends = trend_tests(context, criteria, cells, index_criteria, in_scope, grouping) if context.trend else []
    columns.extend(_only_tested(column, counts, rule) for column in trends)
    return columns


def _only_tested(column: TestColumn, counts: npt.NDArray[np.int64], rule: SmallSampleRule) -> TestColumn:
    """The column with its test suppressed for a group below the test minimum: a trend of a small group would
    show its other months' figures beside a period that shows nothing."""
    ns, floor, build = counts.tolist(), rule.test_min_n, column.build

    def tested(k: int) -> TestResult:
        if ns[k] >= floor:
            return build(k)
        return TestResult(column.comparison, column.test, column.criterion, None, None, None, None, ns[k], True,
                          f"n={ns[k]} < {floor}", {})

    return TestColumn(column.comparison, column.test, column.criterion, column.has, tested)


def _with_coverage(column: TestColumn, with_answers: npt.NDArray[np.int64], span: int, name: str) -> TestColumn:
    """The column with, in each test's details, how many months of the reference period hold answers; a note when
    some hold none (a year against a year with answers in one month only is no fair comparison)."""
    counts = with_answers.tolist()
    build = column.build

    def covered(k: int) -> TestResult:
        test = build(k)
        details = {**test.details, "reference_months_with_answers": counts[k], "reference_months": span}
        if counts[k] < span and not test.suppressed:
            details["note"] = f"{name}: answers in {counts[k]} of its {span} months"
        return TestResult(test.comparison, test.test, test.criterion, test.statistic, test.pvalue, test.effect_size,
                          test.effect_size_name, test.n, test.suppressed, test.suppression_reason, details)

    return TestColumn(column.comparison, column.test, column.criterion, column.has, covered)


def trend_index_criteria(n_months: npt.NDArray[np.intp], required: BoolArray, covered: BoolArray,
                          min_n: int) -> BoolArray:
    """Per group, the criteria its monthly index uses, the same in every month: the required ones, and a
    when-answered one that the group's period index covers and that reaches ``min_n`` in every month in which
    the required ones do (``n_months``: [group, month, criterion])."""
    months_ok = (n_months[:, :, required] >= min_n).all(axis=2) if required.any() else (n_months >= min_n).any(axis=2)
    every_month = np.where(months_ok[:, :, None], n_months >= min_n, True).all(axis=1)
    optional = covered & every_month & months_ok.any(axis=1)[:, None]
    mask: BoolArray = np.where(required[None, :], True, optional)
    return mask


def trend_tests(context: Context, criteria: Sequence[Criterion], cells: ScoreCells, index_criteria: BoolArray | None,
                in_scope: BoolArray, grouping: KeyGroups) -> list[TestColumn]:
    """Over the twelve months that end with the period: Mann–Kendall (with Sen's slope) of the monthly index where
    the questionnaire has one; otherwise of each criterion's monthly satisfied share, with the Cochran–Armitage
    test of its monthly satisfied counts. A month below ``min_n`` is left out of Mann–Kendall; a group with too
    few months for the index's Mann–Kendall gets Cochran–Armitage on each criterion instead."""
    rule, q, n_groups = context.rule, context.questionnaire, grouping.n_groups
    everyone = np.ones(n_groups, dtype=bool)
    _, end = context.period.bounds(context.timezone)
    last_month = int(month_codes(np.array([int(end.timestamp()) - 1]), context.timezone)[0])
    months = cells.month
    window = in_scope & (months > last_month - 12) & (months <= last_month)
    located = grouping.codes(window)
    slot = months - (last_month - 11)
    codes = np.where(located < n_groups, located * 12 + slot, n_groups * 12).astype(np.intp)
    labels = [month_label(last_month - 11 + i) for i in range(12)]
    columns: list[TestColumn] = []
    if q.index is not None:
        monthly_counts = {c.id: cells.patterns[c.id].count(codes, n_groups * 12) for c in criteria}
        n_months = np.stack([monthly_counts[c.id].n.reshape(n_groups, 12) for c in criteria], axis=2)
        required = np.array([c.in_index == "required" for c in criteria])
        covered = np.ones((n_groups, len(criteria)), dtype=bool) if index_criteria is None else index_criteria
        mask = trend_index_criteria(n_months, required, covered, rule.min_n)
        monthly, _ = assess_patterns(criteria, cells.patterns, codes, n_groups * 12, q.index, rule,
                                     context.confidence_level, index_criteria=np.repeat(mask, 12, axis=0),
                                     outcomes=cells.outcomes)
        shown = monthly.index_shown
        values = np.where(shown, monthly.index, np.nan).reshape(n_groups, 12)
        trend = mann_kendall_groups(values)
        rows_values = [json_numbers(v) for v in values]
        tau, slope, ns = json_numbers(trend.tau), json_numbers(trend.slope), trend.n.tolist()
        names = [[c.id for c, used in zip(criteria, row, strict=True) if used] for row in mask.tolist()]

        def build_index(k: int) -> TestResult:
            return test_result("trend", "mann_kendall", None, trend.result(k), ns[k], measure="index", tau=tau[k],
                               sen_slope_per_month=slope[k], months=labels, values=rows_values[k],
                               criteria=names[k])

        columns.append(TestColumn("trend", "mann_kendall", None, everyone, build_index))
        # where too few months reach the minimum for the monthly index, each criterion's monthly counts still
        # carry a trend: Cochran–Armitage needs no minimum per month
        thin = trend.suppressed
        if thin.any():
            for c in criteria:
                counted = monthly_counts[c.id]
                columns.append(_armitage(c, counted.satisfied(c.satisfied_threshold).reshape(n_groups, 12),
                                         counted.n.reshape(n_groups, 12), labels, rule, thin))
        return columns
    for c in criteria:
        counted = cells.patterns[c.id].count(codes, n_groups * 12)
        k = counted.satisfied(c.satisfied_threshold).reshape(n_groups, 12)
        n = counted.n.reshape(n_groups, 12)
        with np.errstate(divide="ignore", invalid="ignore"):
            shares = np.where(n >= rule.min_n, k / n, np.nan)
        columns.extend(_criterion_trend(c, shares, k, n, labels, rule, everyone))
    return columns


def _criterion_trend(criterion: Criterion, shares: npt.NDArray[np.float64], k: npt.NDArray[np.int64],
                     n: npt.NDArray[np.int64], labels: list[str], rule: SmallSampleRule,
                     everyone: BoolArray) -> list[TestColumn]:
    """Mann–Kendall of a criterion's monthly satisfied shares and Cochran–Armitage of its monthly counts."""
    trend = mann_kendall_groups(shares)
    rows_values = [json_numbers(v) for v in shares]
    tau, slope, ns = json_numbers(trend.tau), json_numbers(trend.slope), trend.n.tolist()
    cid = criterion.id

    def build_mk(g: int) -> TestResult:
        return test_result("trend", "mann_kendall", cid, trend.result(g), ns[g], measure="satisfied_share",
                           tau=tau[g], sen_slope_per_month=slope[g], months=labels, values=rows_values[g])

    return [TestColumn("trend", "mann_kendall", cid, everyone, build_mk),
            _armitage(criterion, k, n, labels, rule, everyone)]


def _armitage(criterion: Criterion, k: npt.NDArray[np.int64], n: npt.NDArray[np.int64], labels: list[str],
              rule: SmallSampleRule, has: BoolArray) -> TestColumn:
    """Cochran–Armitage of a criterion's monthly satisfied counts (``[group, month]``) for the groups in ``has``:
    it needs no minimum per month, only the group's own test minimum over the window."""
    armitage = cochran_armitage_groups(k, n)
    totals = n.sum(axis=1).tolist()
    floor, cid = rule.test_min_n, criterion.id

    def build(g: int) -> TestResult:
        if totals[g] < floor:
            return TestResult("trend", "cochran_armitage", cid, None, None, None, "slope_per_month", totals[g], True,
                              f"n={totals[g]} < {floor}", {"months": labels})
        result = armitage.result(g)
        return TestResult("trend", "cochran_armitage", cid, json_number(result.statistic), json_number(result.pvalue),
                          json_number(result.effect_size), "slope_per_month", totals[g], bool(result.suppressed),
                          result.suppression_reason, {"months": labels, "measure": "satisfied_count"})

    return TestColumn("trend", "cochran_armitage", cid, has, build)
