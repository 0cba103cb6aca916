"""The whole-array tests of ``scoring.grouped`` equal their one-at-a-time counterparts group by group."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from questionnaires.model import Criterion, IndexDefinition
from scoring import (
    SmallSampleRule,
    assess_groups,
    cronbach_alpha,
    kruskal_wallis,
    mann_kendall,
    mann_whitney,
    respondent_means,
    two_proportion_test,
)
from scoring.coding import Coding, CriterionCoding
from scoring.grouped import (
    cronbach_alpha_groups,
    kruskal_wallis_counts,
    mann_kendall_groups,
    mann_whitney_counts,
    two_proportion_tests,
)
from scoring.patterns import (
    answer_codes,
    answer_patterns,
    assess_patterns,
    block_rest,
    joint_outcomes,
    value_counts,
)
from scoring.tally import tally_rows

RULE = SmallSampleRule(min_n=5, min_n_inference=5)


def likert(rng: np.random.Generator, n: int, k: int = 1, missing: float = 0.1) -> np.ndarray:
    x = np.clip(np.rint(rng.normal(3.6, 1.1, (n, 1)) + rng.normal(0, 0.6, (n, k))), 1, 5)
    x[rng.random((n, k)) < missing] = np.nan
    return x


def as_result(value: object, expected: object) -> None:
    """Equal results: numbers to 1e-9, the rest exactly."""
    for name in expected.__dataclass_fields__:  # type: ignore[attr-defined]
        got, want = getattr(value, name), getattr(expected, name)
        if hasattr(want, "__dataclass_fields__"):
            as_result(got, want)
        elif isinstance(want, float) or isinstance(want, tuple) and want and isinstance(want[0], float):
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12, nan_ok=True), name  # both nan: no alpha
        elif isinstance(want, tuple) and want and hasattr(want[0], "__dataclass_fields__"):
            assert len(got) == len(want)
            for a, b in zip(got, want, strict=True):
                as_result(a, b)
        else:
            assert got == want, name


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), groups=st.integers(1, 12), blocks=st.integers(1, 4))
def test_unit_against_its_block_equals_scalar_mann_whitney(seed: int, groups: int, blocks: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 400))
    scores = respondent_means(likert(rng, n, 2)) if n else np.zeros(0)  # halves too: 1, 1.5, ..., 5
    code = rng.integers(0, groups, n)
    block = rng.integers(0, blocks, groups)
    levels, counts = value_counts(scores, code, groups)
    tests = mann_whitney_counts(counts, block_rest(counts, block), RULE)
    for g in range(groups):
        mine = scores[code == g]
        peers = scores[(block[code] == block[g]) & (code != g)]
        as_result(tests.result(g), mann_whitney(mine, peers, RULE))


def test_counts_mann_whitney_is_scipys_asymptotic_with_ties() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.integers(1, 6, 3000).astype(float), rng.integers(2, 6, 2500).astype(float)
    levels, counts = value_counts(np.r_[a, b], np.repeat([0, 1], [3000, 2500]), 2)
    result = mann_whitney_counts(counts[:1], counts[1:])
    reference = stats.mannwhitneyu(a, b, method="asymptotic", use_continuity=True)
    assert result.statistic[0] == reference.statistic
    assert result.pvalue[0] == pytest.approx(reference.pvalue, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_two_proportion_tests_equal_the_scalar_test(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n1, n2 = rng.integers(0, 80, 30), rng.integers(0, 80, 30)
    k1 = (rng.random(30) * (n1 + 1)).astype(int)
    k2 = np.where(rng.random(30) < 0.2, n2, (rng.random(30) * (n2 + 1)).astype(int))
    tests = two_proportion_tests(k1, n1, k2, n2, RULE)
    for i in range(30):
        as_result(tests.result(i), two_proportion_test(int(k1[i]), int(n1[i]), int(k2[i]), int(n2[i]), RULE))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(2, 3))
def test_cronbach_per_group_equals_the_scalar_alpha(seed: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    n, groups = int(rng.integers(0, 300)), 8
    items = likert(rng, n, k)
    code = rng.integers(0, groups, n)
    direct = cronbach_alpha_groups(items, code, groups, RULE)
    patterns = answer_patterns([answer_codes(items[:, j], 1, 5) for j in range(k)], 1, 5)
    sentinel = np.where(rng.random(n) < 0.1, groups, code)  # rows outside every group are left out
    counted = patterns.count(sentinel.astype(np.intp), groups).cronbach(RULE)
    low, high = counted.ci(0.9)
    for g in range(groups):
        expected = cronbach_alpha(items[code == g], RULE)
        as_result(direct.result(g), expected)
        expected = cronbach_alpha(items[sentinel == g], RULE)
        as_result(counted.result(g), expected)
        ci = expected.ci(0.9)
        if ci is None or expected.alpha is None or np.isnan(expected.alpha):
            assert np.isnan(low[g]) and np.isnan(high[g])
        else:
            assert (low[g], high[g]) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_pattern_counts_give_the_criterion_scores() -> None:
    rng = np.random.default_rng(3)
    items = likert(rng, 2000, 3, missing=0.3)
    code = rng.integers(0, 5, 2000).astype(np.intp)
    patterns = answer_patterns([answer_codes(items[:, j], 1, 5) for j in range(3)], 1, 5)
    counts = patterns.count(code, 5)
    scores = np.nanmean(np.where(np.isnan(items).all(axis=1)[:, None], 0.0, items), axis=1)
    scores[np.isnan(items).all(axis=1)] = np.nan
    levels, expected = value_counts(scores, code, 5)
    np.testing.assert_array_equal(counts.levels, levels)
    np.testing.assert_array_equal(counts.score_counts, expected)
    np.testing.assert_array_equal(counts.satisfied(4), np.bincount(code[scores >= 4], minlength=5))
    outcome = np.zeros(2000, dtype=np.uint8)  # pattern 0 (no item answered) is not stored: outcome 0
    outcome[patterns.counts.cell] = patterns.outcome_of_pattern(4)[patterns.counts.code]
    np.testing.assert_array_equal(outcome, np.where(np.isnan(scores), 0, np.where(scores >= 4, 2, 1)))


def test_answer_codes_refuse_answers_off_the_scale() -> None:
    with pytest.raises(ValueError, match="scale 1..5"):
        answer_codes([1.0, 6.0], 1, 5)
    with pytest.raises(ValueError, match="whole points"):
        answer_codes([1.5], 1, 5)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), groups=st.integers(1, 6))
def test_kruskal_wallis_from_counts_equals_the_scalar_test(seed: int, groups: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 300))
    values = respondent_means(likert(rng, n, 2, missing=0.2)) if n else np.zeros(0)
    if rng.random() < 0.1:
        values = np.where(np.isnan(values), np.nan, 4.0)  # every answer identical
    labels = rng.choice(100, groups, replace=False)
    code = rng.integers(0, groups, n)
    _, counts = value_counts(values, code, groups)
    as_result(kruskal_wallis_counts(counts, labels, RULE), kruskal_wallis(values, labels[code], RULE))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_mann_kendall_per_row_equals_the_scalar_test(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = np.round(rng.normal(70, 5, (20, 12)) + np.arange(12) * rng.normal(0, 1, (20, 1)), 0)
    values[rng.random((20, 12)) < 0.3] = np.nan
    result = mann_kendall_groups(values)
    for g in range(20):
        as_result(result.result(g), mann_kendall(values[g]))


def test_small_groups_are_suppressed_and_not_tested() -> None:
    levels, counts = value_counts([4.0, 5.0, 3.0] * 3 + [4.0] * 40, [0] * 9 + [1] * 40, 2)
    tests = mann_whitney_counts(counts, block_rest(counts, [0, 0]), SmallSampleRule(min_n=10))
    first = tests.result(0)
    assert first.suppressed and first.statistic is None and first.suppression_reason == "n1=9 < 10"
    proportions = two_proportion_tests([5, 30], [9, 40], [30, 5], [40, 9], SmallSampleRule(min_n=10))
    assert proportions.suppressed.tolist() == [True, True] and np.isnan(proportions.pvalue).all()
    assert proportions.result(1).suppression_reason == "n2=9 < 10"


def tallied_form(criteria, answers, code, rng):
    """The answers counted as a tally whose cells hold several respondents of one group (group × one of three
    sub-cells): the criteria's patterns and joint outcomes per cell, and each cell's group."""
    items = {c.id: [f"{c.id}{j}" for j in range(answers[c.id].shape[1])] for c in criteria}
    coding = Coding(tuple((q, 1, 5) for c in criteria for q in items[c.id]),
                    tuple(CriterionCoding(c.id, tuple(items[c.id]), 1, 5, float(c.satisfied_threshold))
                          for c in criteria), comments=False)
    matrix = np.column_stack([answers[c.id] for c in criteria])
    keys = np.column_stack([code, rng.integers(0, 3, code.shape[0])])
    tally = tally_rows(("group", "part"), keys, coding.row_codes(matrix, np.zeros(code.shape[0], dtype=bool)))
    assert tally.n_cells <= 3 * (int(code.max(initial=0)) + 1)
    return coding.patterns(tally), tally.tables["outcome"], tally.key("group").astype(np.intp)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), weighted=st.booleans(), tallied=st.booleans())
def test_assessment_from_patterns_equals_assess_groups(seed: int, weighted: bool, tallied: bool) -> None:
    rng = np.random.default_rng(seed)
    n, groups = int(rng.integers(0, 400)), 6
    criteria = (Criterion("access", {"en": "Access"}, 4, weight=2.0, target=0.8),
                Criterion("result", {"en": "Result"}, 3.5, weight=1.0), Criterion("one", {"en": "One"}, 4))
    answers = {"access": likert(rng, n, 2, 0.2), "result": likert(rng, n, 3, 0.3), "one": likert(rng, n, 1, 0.3)}
    code = rng.integers(0, groups, n).astype(np.intp)
    original_code = code
    definition = IndexDefinition("weighted_satisfied_share" if weighted else "mean_satisfied_share", 70.0)
    patterns = {c: answer_patterns([answer_codes(x[:, j], 1, 5) for j in range(x.shape[1])], 1, 5)
                for c, x in answers.items()}
    if tallied:  # the same answers counted in cells of several respondents: the counts per group are equal
        patterns, outcomes, code = tallied_form(criteria, answers, code, rng)
    else:
        outcomes = joint_outcomes(criteria, patterns, n)
    mine, _ = assess_patterns(criteria, patterns, code, groups, definition, RULE, outcomes=outcomes)
    expected = assess_groups(criteria, answers, np.asarray(original_code), groups, definition, RULE)
    for name in ("n", "satisfied", "respondents"):
        np.testing.assert_array_equal(getattr(mine, name), getattr(expected, name))
    for name in ("mean", "index", "index_se"):
        np.testing.assert_allclose(getattr(mine, name), getattr(expected, name), rtol=1e-9, atol=1e-12)
    for g in range(groups):
        for a, b in zip(mine.criterion_scores(g), expected.criterion_scores(g), strict=True):
            as_result(a, b)
        index, expected_index = mine.index_score(g), expected.index_score(g)
        assert (index is None) == (expected_index is None)
        if index is not None:
            as_result(index, expected_index)


def test_the_coding_codes_every_question_as_answer_codes_does_one_by_one():
    """Coding.row_codes codes all questions at once: the same codes as answer_codes(strict=False) per question, for
    answers on the scale, off it, between its points and missing."""
    from scoring.coding import Coding, CriterionCoding
    from scoring.patterns import answer_codes, pattern_codes

    rng = np.random.default_rng(5)
    questions = (("a", 1, 5), ("b", 0, 10), ("c", 1, 4))
    coding = Coding(questions, (CriterionCoding("ac", ("a", "c"), 1, 5, 4.0),), comments=True)
    answers = rng.choice([np.nan, -1.0, 0.0, 1.0, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 10.0, 11.0], size=(400, 3))
    codes = coding.row_codes(answers, np.zeros(400, dtype=bool))
    for j, (qid, low, high) in enumerate(questions):
        assert codes[f"q:{qid}"][0].tolist() == answer_codes(answers[:, j], low, high, strict=False).tolist()
    items = [answer_codes(answers[:, j], 1, 5, strict=False) for j in (0, 2)]
    assert codes["c:ac"][0].tolist() == pattern_codes(items, 1, 5)[0].tolist()
    assert {int(x) for x in codes["q:b"][0]} >= {0, 1, 11}  # the cases occur
