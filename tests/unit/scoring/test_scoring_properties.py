"""Property tests: shares stay in [0, 1], intervals contain their estimate, small samples are
suppressed, and nothing depends on the order of the rows."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from questionnaires.model import Criterion, IndexDefinition
from scoring import (
    SmallSampleRule,
    assess_groups,
    ces_score,
    compare_periods,
    cronbach_alpha,
    funnel_limits,
    group_stats,
    kruskal_wallis,
    mann_whitney,
    nps_interval,
    nps_score,
    satisfied_share,
    score_criteria,
    summarize_question,
    two_proportion_test,
    weighted_index_groups,
    weighted_satisfied_share,
    wilson_interval,
)

answers_1_5 = st.lists(st.one_of(st.integers(1, 5).map(float), st.just(float("nan"))), min_size=0, max_size=120)
CRITERIA = (
    Criterion("access", {"en": "Access"}, 4, weight=2.0, target=0.8),
    Criterion("result", {"en": "Result"}, 4, weight=1.0),
)


@given(k=st.integers(0, 500), extra=st.integers(0, 500), level=st.floats(0.5, 0.999))
def test_wilson_interval_stays_in_unit_range_and_contains_the_share(k: int, extra: int, level: float) -> None:
    n = k + extra
    if n == 0:
        return
    low, high = wilson_interval(k, n, level)
    assert 0.0 <= low <= k / n <= high <= 1.0


@given(
    promoters=st.integers(0, 300),
    passives=st.integers(0, 300),
    detractors=st.integers(0, 300),
    method=st.sampled_from(["wald", "adjusted_wald"]),
)
def test_nps_interval_stays_in_range_and_contains_the_score(
    promoters: int, passives: int, detractors: int, method: str
) -> None:
    n = promoters + passives + detractors
    if n == 0:
        return
    low, high = nps_interval(promoters, detractors, n, 0.95, method)  # type: ignore[arg-type]
    assert -1.0 <= low <= (promoters - detractors) / n <= high <= 1.0


@given(values=answers_1_5, threshold=st.integers(1, 5), min_n=st.integers(1, 40))
def test_satisfied_share_is_a_fraction_or_suppressed(values: list[float], threshold: int, min_n: int) -> None:
    share = satisfied_share(values, threshold, SmallSampleRule(min_n=min_n))
    answered = sum(1 for v in values if v == v)
    assert share.n == answered
    if answered < min_n:
        assert share.suppressed and share.statistic is None and share.ci() is None
        assert share.suppression_reason == f"n={answered} < {min_n}"
    elif answered:
        assert share.statistic is not None and 0.0 <= share.statistic <= 1.0
        ci = share.ci()
        assert ci is not None and ci.contains(share.statistic)
    json.dumps(share.to_dict())


@st.composite
def survey(draw: st.DrawFn) -> tuple[dict[str, np.ndarray], np.ndarray]:
    n = draw(st.integers(0, 150))
    cells = st.one_of(st.integers(1, 5).map(float), st.just(float("nan")))
    access = draw(arrays(np.float64, (n, 2), elements=cells))
    result = draw(arrays(np.float64, (n, 1), elements=cells))
    groups = draw(arrays(np.intp, (n,), elements=st.integers(0, 2)))
    return {"access": access, "result": result}, groups


@settings(max_examples=60)
@given(data=survey(), formula=st.sampled_from(["mean_satisfied_share", "weighted_satisfied_share"]))
def test_criterion_and_index_scores_are_bounded_and_contain_their_estimates(
    data: tuple[dict[str, np.ndarray], np.ndarray], formula: str
) -> None:
    answers, _ = data
    rule = SmallSampleRule(min_n=5)
    scores, index = score_criteria(CRITERIA, answers, IndexDefinition(formula, target=70), rule)  # type: ignore[arg-type]
    for score in scores:
        if score.suppressed:
            assert score.satisfied_share is None and score.ci is None and score.met is None
            assert score.n < 5
        else:
            assert score.satisfied_share is not None and 0.0 <= score.satisfied_share <= 1.0
            assert score.ci is not None and score.ci.contains(score.satisfied_share)
    assert index is not None
    if any(s.suppressed for s in scores):
        assert index.suppressed and index.value is None
    elif index.value is not None:
        assert 0.0 <= index.value <= 100.0
        assert index.ci is not None and index.ci.contains(index.value)
        assert index.ci.low >= 0.0 and index.ci.high <= 100.0
    json.dumps(index.to_dict())
    json.dumps([s.to_dict() for s in scores])


@settings(max_examples=40)
@given(data=survey(), seed=st.integers(0, 2**32 - 1))
def test_group_assessment_is_invariant_to_row_order(data: tuple[dict[str, np.ndarray], np.ndarray], seed: int) -> None:
    answers, groups = data
    order = np.random.default_rng(seed).permutation(groups.size)
    definition = IndexDefinition("mean_satisfied_share")
    a = assess_groups(CRITERIA, answers, groups, 3, definition, SmallSampleRule(min_n=3))
    b = assess_groups(
        CRITERIA, {k: v[order] for k, v in answers.items()}, groups[order], 3, definition, SmallSampleRule(min_n=3)
    )
    np.testing.assert_array_equal(a.n, b.n)
    np.testing.assert_array_equal(a.satisfied, b.satisfied)
    np.testing.assert_allclose(a.mean, b.mean, equal_nan=True)
    np.testing.assert_allclose(a.index, b.index, equal_nan=True)
    np.testing.assert_allclose(a.index_se, b.index_se, equal_nan=True, atol=1e-12)


@st.composite
def weighted_survey(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Satisfied and answered (respondents × 2 criteria), weights, and groups 0..2 (3 = in no group)."""
    n = draw(st.integers(0, 150))
    answered = draw(arrays(np.bool_, (n, 2)))
    satisfied = answered & draw(arrays(np.bool_, (n, 2)))
    # Binary fractions: sums are exact in any order, so an effective n never straddles min_n by rounding.
    weights = draw(arrays(np.float64, (n,), elements=st.sampled_from([0.25, 0.5, 1.0, 1.5, 4.0])))
    groups = draw(arrays(np.intp, (n,), elements=st.integers(0, 3)))
    return satisfied, answered, weights, groups


@settings(max_examples=60)
@given(data=weighted_survey(), seed=st.integers(0, 2**32 - 1), min_n=st.integers(1, 20))
def test_weighted_index_is_bounded_and_invariant_to_row_order(
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], seed: int, min_n: int
) -> None:
    satisfied, answered, weights, groups = data
    order = np.random.default_rng(seed).permutation(groups.size)
    rule = SmallSampleRule(min_n=min_n)
    a = weighted_index_groups(satisfied, answered, weights, groups, 3, [2, 1], rule)
    b = weighted_index_groups(satisfied[order], answered[order], weights[order], groups[order], 3, [2, 1], rule)
    for name in ("value", "se", "low", "high", "effective_n", "design_effect", "share", "criterion_effective_n"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-9, atol=1e-9, equal_nan=True)
    for name in ("n", "criterion_n", "suppressed"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for k in range(3):
        result = a.result(k)
        assert result.suppressed == bool(np.any(a.criterion_effective_n[k] < min_n))
        if result.suppressed:
            assert result.value is None and result.ci is None and result.suppression_reason is not None
        else:
            assert result.value is not None and 0.0 <= result.value <= 100.0
            assert result.ci is None or (0.0 <= result.ci.low <= result.value <= result.ci.high <= 100.0)
        json.dumps(result.to_dict())


@settings(max_examples=40)
@given(
    values=arrays(np.float64, st.integers(0, 200), elements=st.integers(1, 5).map(float)),
    seed=st.integers(0, 2**32 - 1),
)
def test_tests_are_invariant_to_row_order(values: np.ndarray, seed: int) -> None:
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, 3, values.size)
    order = rng.permutation(values.size)
    rule = SmallSampleRule(min_n=10)
    assert kruskal_wallis(values, groups, rule) == kruskal_wallis(values[order], groups[order], rule)
    half = values.size // 2
    a, b = values[:half], values[half:]
    assert mann_whitney(a, b, rule) == mann_whitney(a[rng.permutation(a.size)], b, rule)
    stats_a = group_stats(values, groups, 3, 1, 5)
    stats_b = group_stats(values[order], groups[order], 3, 1, 5)
    np.testing.assert_array_equal(stats_a.distribution, stats_b.distribution)


@given(n=st.integers(0, 29))
def test_every_measure_and_test_is_suppressed_below_the_minimum(n: int) -> None:
    rule = SmallSampleRule()  # min_n = 30
    values = np.tile([5.0, 2.0, 4.0], n)[:n]
    big = np.tile([5.0, 3.0], 50)
    reason = f"n={n} < 30"
    assert satisfied_share(values, 4, rule).suppression_reason == reason
    assert nps_score(values * 2, rule).value is None and nps_score(values * 2, rule).suppression_reason == reason
    assert ces_score(values, rule).mean is None and ces_score(values, rule).suppressed
    summary = summarize_question("q", values, 1, 5, rule)
    assert summary.mean is None and summary.suppression_reason == reason
    two = two_proportion_test(int(np.sum(values >= 4)), n, 60, 100, rule)
    assert (
        two.suppressed
        and two.statistic is None
        and two.pvalue is None
        and two.suppression_reason == reason.replace("n=", "n1=")
    )
    mw = mann_whitney(values, big, rule)
    assert mw.suppressed and mw.statistic is None and mw.pvalue is None
    period = compare_periods(values, big, 4, rule=rule)
    assert period.suppressed and period.scores.suppressed
    kw = kruskal_wallis(np.r_[values, big], np.r_[np.zeros(n, dtype=int), np.ones(100, dtype=int)], rule)
    assert kw.suppressed and kw.statistic is None and kw.pvalue is None
    alpha = cronbach_alpha(np.c_[values, values, values] if n else np.empty((0, 3)), rule)
    assert alpha.suppressed and alpha.alpha is None
    funnel = funnel_limits([int(np.sum(values >= 4)), 60], [n, 100], rule=rule)
    assert funnel.points[0].position == "suppressed" and funnel.points[0].share is None
    weighted = weighted_satisfied_share(values, np.ones(n), 4, rule)
    assert weighted.suppressed and weighted.statistic is None
    scores, index = score_criteria(
        CRITERIA, {"access": values[:, None], "result": values[:, None]}, IndexDefinition("mean_satisfied_share"), rule
    )
    assert all(s.suppressed and s.suppression_reason == reason for s in scores)
    assert index is not None and index.suppressed and index.value is None


@given(
    k=st.lists(st.integers(0, 400), min_size=1, max_size=12),
    extra=st.lists(st.integers(0, 400), min_size=12, max_size=12),
)
def test_funnel_limits_are_ordered_and_shares_bounded(k: list[int], extra: list[int]) -> None:
    n = [ki + e for ki, e in zip(k, extra, strict=False)]
    if sum(n) == 0:
        return
    result = funnel_limits(k, n, rule=SmallSampleRule(min_n=1))
    assert 0.0 <= result.target <= 1.0
    for point in result.points:
        if point.position == "suppressed":
            continue
        assert point.share is not None and 0.0 <= point.share <= 1.0
        assert point.lower_998 is not None and point.upper_998 is not None
        assert point.lower_95 is not None and point.upper_95 is not None
        assert 0.0 <= point.lower_998 <= point.lower_95 <= result.target <= point.upper_95 <= point.upper_998 <= 1.0
