"""The composite index over the criteria a group covers: ``required`` criteria withhold it below ``min_n``,
``when_answered`` ones are left out, and ``index_criteria`` fixes the criteria for a like-with-like trend."""

from __future__ import annotations

import json
import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from questionnaires import load_bundled
from questionnaires.model import Criterion, IndexDefinition
from scoring import (
    SmallSampleRule,
    assess_groups,
    post_stratify,
    respondent_means,
    score_criteria,
    weighted_index_groups,
)
from scoring.patterns import answer_codes, answer_patterns, assess_patterns, joint_outcomes

NAN = float("nan")
MEAN = IndexDefinition("mean_satisfied_share", target=80)
SIPAS = ("access", "procedure", "civil_servant", "result")
Answers = dict[str, npt.NDArray[np.float64]]


def sipas_criteria(feedback: str = "when_answered") -> tuple[Criterion, ...]:
    """The five SIPAS elements of the bundled counter questionnaire, one item each here."""
    return (
        *(Criterion(c, {"en": c}, 4) for c in SIPAS),
        Criterion("feedback", {"en": "feedback"}, 4, in_index=feedback),  # type: ignore[arg-type]
    )


def counter_unit(feedback_answers: int, feedback_satisfied: int) -> Answers:
    """scoring/README.md, "Composite index": 200 visitors, satisfied with access 180, procedure 170, civil servant
    160, result 150 (nested: 150 with all four, 10 with the first three, 10 with two, 10 with access, 20 none);
    ``feedback_answers`` of them gave feedback and rated its handling, ``feedback_satisfied`` satisfied."""
    satisfied_with = np.repeat([4, 3, 2, 1, 0], [150, 10, 10, 10, 20])  # how many of the four, in order
    answers: Answers = {c: np.where(satisfied_with > j, 5.0, 2.0)[:, None] for j, c in enumerate(SIPAS)}
    feedback = np.full(200, NAN)
    feedback[:feedback_answers] = 2.0
    feedback[:feedback_satisfied] = 5.0
    answers["feedback"] = feedback[:, None]
    return answers


def test_the_readme_worked_example_an_index_over_four_of_five_criteria() -> None:
    # 12 of 200 gave feedback (9 satisfied): below min_n 30, so feedback is left out of the index.
    scores, index = score_criteria(sipas_criteria(), counter_unit(12, 9), MEAN)
    assert [(s.id, s.n, s.satisfied) for s in scores] == [
        ("access", 200, 180),
        ("procedure", 200, 170),
        ("civil_servant", 200, 160),
        ("result", 200, 150),
        ("feedback", 12, 9),
    ]
    assert index is not None and index.value is not None and index.ci is not None
    assert index.value == pytest.approx(100 * (0.90 + 0.85 + 0.80 + 0.75) / 4)  # 82.5
    assert index.criteria == SIPAS and index.n == 200
    assert index.met is True and not index.suppressed
    # Everyone answered the four: the variance is that of z_i = the share of the four a visitor is satisfied
    # with, mean 0.825, Σ(z_i − z̄)² = 22.625, so se = 100·sqrt(22.625 / 199 / 200) = 2.384.
    assert (round(index.value, 2), round(index.ci.low, 1), round(index.ci.high, 1)) == (82.5, 77.8, 87.2)
    assert (index.value - index.ci.low) / 1.959964 == pytest.approx(100 * math.sqrt(22.625 / 199 / 200), rel=1e-6)
    assert index.to_dict()["criteria"] == list(SIPAS)
    json.dumps(index.to_dict())


def test_the_readme_worked_example_with_feedback_required_is_withheld_as_before() -> None:
    _, index = score_criteria(sipas_criteria("required"), counter_unit(12, 9), MEAN)
    assert index is not None and index.suppressed and index.value is None and index.ci is None
    assert index.suppression_reason == "feedback: n=12 < 30"
    assert index.criteria == (*SIPAS, "feedback") and index.n == 200


def test_the_readme_worked_example_with_enough_feedback_counts_all_five() -> None:
    _, index = score_criteria(sipas_criteria(), counter_unit(40, 20), MEAN)
    assert index is not None and index.value is not None
    assert round(index.value, 2) == 76.0  # 100 · (0.90 + 0.85 + 0.80 + 0.75 + 0.50) / 5
    assert index.criteria == (*SIPAS, "feedback") and index.met is False
    required = score_criteria(sipas_criteria("required"), counter_unit(40, 20), MEAN)[1]
    assert required is not None and required.value == pytest.approx(index.value)
    assert required.ci is not None and index.ci is not None
    assert (required.ci.low, required.ci.high) == pytest.approx((index.ci.low, index.ci.high))


def test_the_bundled_counter_keeps_its_index_when_few_gave_feedback() -> None:
    counter = load_bundled()["counter"]
    assert counter.index is not None
    answers = counter_unit(12, 9)
    items = {c.id: np.repeat(answers[c.id], len(counter.questions_of(c.id)), axis=1) for c in counter.criteria}
    _, index = score_criteria(counter.criteria, items, counter.index)
    assert index is not None and index.value == pytest.approx(82.5) and index.criteria == SIPAS


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        # Weights renormalised over the covered criteria: 2·0.90 + 1·0.85 + 1·0.80 + 1·0.75 over 5.
        ((2.0, 1.0, 1.0, 1.0, 3.0), 100 * (2 * 0.90 + 0.85 + 0.80 + 0.75) / 5),
        ((1.0, 1.0, 1.0, 2.0, 9.0), 100 * (0.90 + 0.85 + 0.80 + 2 * 0.75) / 5),
    ],
)
def test_a_weighted_index_renormalises_the_weights_over_the_covered_criteria(
    weights: tuple[float, ...], expected: float
) -> None:
    criteria = tuple(
        Criterion(c.id, c.title, 4, weight=w, in_index=c.in_index)
        for c, w in zip(sipas_criteria(), weights, strict=True)
    )
    _, index = score_criteria(criteria, counter_unit(12, 9), IndexDefinition("weighted_satisfied_share"))
    assert index is not None and index.value == pytest.approx(expected)


def test_the_interval_is_that_of_the_respondent_composites_over_the_covered_criteria() -> None:
    rng = np.random.default_rng(21)
    n = 500
    latent = rng.normal(size=n)
    answers = {c: np.clip(np.round(3.6 + latent[:, None] + rng.normal(size=(n, 2))), 1, 5) for c in SIPAS}
    answers["feedback"] = np.where(rng.random((n, 2)) < 0.97, NAN, 5.0)  # about 15 gave feedback
    _, index = score_criteria(sipas_criteria(), answers, MEAN)
    assert index is not None and index.value is not None and index.ci is not None and index.criteria == SIPAS
    z = np.mean([respondent_means(answers[c]) >= 4 for c in SIPAS], axis=0)
    assert index.value == pytest.approx(100 * z.mean())
    assert index.ci.high - index.value == pytest.approx(1.959964 * 100 * z.std(ddof=1) / math.sqrt(n), rel=1e-5)


def test_n_counts_the_respondents_who_answered_a_criterion_of_the_index() -> None:
    criteria = (Criterion("a", {"en": "a"}, 4), Criterion("b", {"en": "b"}, 4, in_index="when_answered"))
    # 40 answered a; 10 others answered only b, which is left out: they are not in the index's sample.
    answers = {
        "a": np.r_[np.full(40, 5.0), np.full(10, NAN)][:, None],
        "b": np.r_[np.full(40, NAN), np.full(10, 4.0)][:, None],
    }
    assessment = assess_groups(criteria, answers, np.zeros(50, dtype=np.intp), 1, MEAN)
    index = assessment.index_score(0)
    assert index is not None and index.value == 100.0 and index.n == 40 and index.criteria == ("a",)
    assert assessment.respondents.tolist() == [50] and assessment.index_n.tolist() == [40]
    assert assessment.index_criteria.tolist() == [[True, False]]


def test_an_index_with_no_covered_criterion_has_no_answers() -> None:
    criteria = tuple(Criterion(c, {"en": c}, 4, in_index="when_answered") for c in "ab")
    answers = {"a": np.full((12, 1), 5.0), "b": np.full((12, 1), NAN)}
    _, index = score_criteria(criteria, answers, MEAN)
    assert index is not None and index.suppressed and index.suppression_reason == "no answers"
    assert index.criteria == () and index.n == 0 and index.value is None


def test_every_criterion_required_gives_the_index_over_all_of_them() -> None:
    rng = np.random.default_rng(9)
    criteria = tuple(Criterion(c, {"en": c}, 4) for c in "abc")
    answers = {c: np.where(rng.random((300, 2)) < 0.4, NAN, rng.integers(1, 6, (300, 2)).astype(float)) for c in "abc"}
    groups = rng.integers(0, 8, 300)
    assessment = assess_groups(criteria, answers, groups, 8, MEAN)
    assert assessment.index_criteria.all()
    np.testing.assert_array_equal(assessment.index_n, assessment.respondents)
    for g in range(8):
        index = assessment.index_score(g)
        assert index is not None and index.criteria == ("a", "b", "c")


def trend_data() -> tuple[tuple[Criterion, ...], Answers, npt.NDArray[np.intp]]:
    """Two months of one unit: feedback is answered by 40 in the first month and by 10 in the second."""
    criteria = (
        Criterion("result", {"en": "Result"}, 4),
        Criterion("feedback", {"en": "Feedback"}, 4, in_index="when_answered"),
    )
    month = np.repeat([0, 1], 60)
    result = np.where(np.arange(120) % 4 == 0, 2.0, 5.0)  # 75% satisfied in either month
    feedback = np.full(120, NAN)
    feedback[:40] = np.where(np.arange(40) < 10, 5.0, 2.0)  # month 1: 10 of 40 satisfied
    feedback[60:70] = 2.0  # month 2: 10 answers
    return criteria, {"result": result[:, None], "feedback": feedback[:, None]}, month.astype(np.intp)


def test_without_index_criteria_each_month_takes_the_criteria_it_covers() -> None:
    criteria, answers, month = trend_data()
    monthly = assess_groups(criteria, answers, month, 2, MEAN)
    first, second = monthly.index_score(0), monthly.index_score(1)
    assert first is not None and second is not None
    assert first.criteria == ("result", "feedback") and first.value == pytest.approx(100 * (0.75 + 0.25) / 2)
    assert second.criteria == ("result",) and second.value == pytest.approx(75.0)  # a jump that is no change


def test_index_criteria_make_every_month_take_the_same_criteria() -> None:
    criteria, answers, month = trend_data()
    period = assess_groups(criteria, answers, np.zeros(120, dtype=np.intp), 1, MEAN)
    assert period.index_criteria.tolist() == [[True, True]]  # 50 gave feedback over the period
    same = np.repeat(period.index_criteria, 2, axis=0)  # one row per month
    monthly = assess_groups(criteria, answers, month, 2, MEAN, index_criteria=same)
    first, second = monthly.index_score(0), monthly.index_score(1)
    assert first is not None and second is not None
    assert first.value == pytest.approx(50.0) and first.criteria == ("result", "feedback")
    # Every criterion named is required: the second month cannot be compared, so it is withheld.
    assert second.suppressed and second.suppression_reason == "feedback: n=10 < 30"
    assert second.criteria == ("result", "feedback")
    # Criteria left out are left out even where covered.
    only_result = assess_groups(criteria, answers, month, 2, MEAN, index_criteria=[[True, False], [True, False]])
    assert [only_result.index_score(g).value for g in (0, 1)] == pytest.approx([75.0, 75.0])  # type: ignore[union-attr]
    nothing = assess_groups(criteria, answers, month, 2, MEAN, index_criteria=np.zeros((2, 2), dtype=bool))
    assert nothing.index_score(0).suppression_reason == "no answers"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("index_criteria", "error", "message"),
    [
        (
            [[True, True]],
            ValueError,
            r"index_criteria must be a groups × criteria matrix of shape \(2, 2\), got \(1, 2\)",
        ),
        ([[1, 0], [1, 1]], TypeError, "index_criteria must be a boolean array"),
    ],
)
def test_index_criteria_must_name_each_group_and_criterion(index_criteria: object, error: type, message: str) -> None:
    criteria, answers, month = trend_data()
    with pytest.raises(error, match=message):
        assess_groups(criteria, answers, month, 2, MEAN, index_criteria=index_criteria)  # type: ignore[arg-type]


def likert(rng: np.random.Generator, n: int, k: int, missing: float) -> npt.NDArray[np.float64]:
    x = np.clip(np.rint(rng.normal(3.6, 1.1, (n, 1)) + rng.normal(0, 0.6, (n, k))), 1, 5)
    x[rng.random((n, k)) < missing] = np.nan
    return x


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), weighted=st.booleans(), fixed=st.booleans())
def test_patterns_equal_assess_groups_and_each_group_scored_alone(seed: int, weighted: bool, fixed: bool) -> None:
    rng = np.random.default_rng(seed)
    n, groups = int(rng.integers(0, 500)), 6
    rule = SmallSampleRule(min_n=10)
    criteria = (
        Criterion("access", {"en": "Access"}, 4, weight=2.0),
        Criterion("result", {"en": "Result"}, 3.5, weight=1.0, in_index="when_answered"),
        Criterion("feedback", {"en": "Feedback"}, 4, weight=3.0, in_index="when_answered"),
    )
    # feedback answered by about one in eight: about 10 per group, so below min_n in some groups only
    answers = {"access": likert(rng, n, 2, 0.1), "result": likert(rng, n, 3, 0.3), "feedback": likert(rng, n, 2, 0.88)}
    code = rng.integers(0, groups, n).astype(np.intp)
    definition = IndexDefinition("weighted_satisfied_share" if weighted else "mean_satisfied_share", 70.0)
    chosen = rng.random((groups, 3)) < 0.7 if fixed else None
    patterns = {
        c: answer_patterns([answer_codes(x[:, j], 1, 5) for j in range(x.shape[1])], 1, 5) for c, x in answers.items()
    }
    mine, _ = assess_patterns(criteria, patterns, code, groups, definition, rule, index_criteria=chosen,
                              outcomes=joint_outcomes(criteria, patterns, n))
    expected = assess_groups(criteria, answers, code, groups, definition, rule, index_criteria=chosen)
    for name in ("n", "satisfied", "respondents", "index_n", "index_criteria"):
        np.testing.assert_array_equal(getattr(mine, name), getattr(expected, name))
    for name in ("mean", "index", "index_se"):
        np.testing.assert_allclose(getattr(mine, name), getattr(expected, name), rtol=1e-9, atol=1e-12)
    for g in range(groups):
        rows = code == g
        alone = score_criteria(
            criteria,
            {c: x[rows] for c, x in answers.items()},
            definition,
            rule,
            index_criteria=None if chosen is None else chosen[g].tolist(),
        )[1]
        for got in (mine.index_score(g), expected.index_score(g)):
            assert got is not None and alone is not None
            assert (got.criteria, got.n, got.suppressed, got.suppression_reason) == (
                alone.criteria,
                alone.n,
                alone.suppressed,
                alone.suppression_reason,
            )
            if alone.value is None:
                assert got.value is None and got.ci is None
            else:
                assert got.value == pytest.approx(alone.value, rel=1e-9, abs=1e-12)
            if alone.ci is not None:
                assert got.ci is not None
                assert (got.ci.low, got.ci.high) == pytest.approx((alone.ci.low, alone.ci.high), rel=1e-9, abs=1e-12)


# --- the weighted index -----------------------------------------------------------------------------


def weighted_readme_example() -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """scoring/README.md, "The weighted composite index", extended: two cells of 20 respondents weighing 0.5 and
    1.5; access and result as there, and a third criterion, feedback, answered (and satisfied) by 8 respondents of
    the second cell only, so its effective n is (8·1.5)² / (8·1.5²) = 8."""
    weights = post_stratify(np.repeat([0, 1], 20), population=[1_000, 3_000]).weights
    answered = np.ones((40, 3), dtype=bool)
    answered[10:20, 1] = False
    answered[:, 2] = np.arange(40) >= 32
    patterns = np.repeat([[True, True], [True, False], [False, True], [False, False]], 10, axis=0)
    satisfied = answered & np.c_[patterns, np.ones(40, dtype=bool)]
    return satisfied, answered, weights


IDS3 = ("access", "result", "feedback")
EVERYONE = np.zeros(40, dtype=np.intp)


def test_the_weighted_readme_example_leaves_out_a_when_answered_criterion_below_min_n() -> None:
    satisfied, answered, weights = weighted_readme_example()
    rule = SmallSampleRule(min_n=20)
    index = weighted_index_groups(
        satisfied, answered, weights, EVERYONE, 1, [1, 1, 1], rule, criterion_ids=IDS3, required=[True, True, False]
    )
    assert index.criterion_effective_n[0].round(1).tolist() == [32.0, 25.8, 8.0]
    result = index.result(0)
    assert result.value is not None and result.se is not None and result.ci is not None
    # Without feedback it is the README's two-criterion index: 41.07, se 6.32, 28.7–53.5.
    assert (round(result.value, 2), round(result.se, 2)) == (41.07, 6.32)
    assert (round(result.ci.low, 1), round(result.ci.high, 1)) == (28.7, 53.5)
    assert result.criteria == ("access", "result") and result.n == 40
    assert index.index_criteria.tolist() == [[True, True, False]]
    assert result.to_dict()["criteria"] == ["access", "result"]
    required = weighted_index_groups(satisfied, answered, weights, EVERYONE, 1, [1, 1, 1], rule, criterion_ids=IDS3)
    assert required.result(0).suppression_reason == "feedback: effective n=8 < 20"
    assert required.result(0).criteria == IDS3


def test_the_weighted_readme_example_over_access_alone() -> None:
    # With the default min_n of 30 the result (effective n 25.8) is not covered either: were it when_answered,
    # the index would be access's weighted share 10/40 = 25.0, u_i = ±0.5·0.75/40 = ±1.5·0.25/40 = ±0.009375,
    # se = 100·sqrt(40/39 · 40 · 0.009375²) = 6.00, 95% interval 13.2–36.8.
    satisfied, answered, weights = weighted_readme_example()
    result = weighted_index_groups(
        satisfied, answered, weights, EVERYONE, 1, [1, 1, 1], criterion_ids=IDS3, required=[True, False, False]
    ).result(0)
    assert result.value is not None and result.se is not None and result.ci is not None
    assert (result.value, round(result.se, 2), round(result.ci.low, 1), round(result.ci.high, 1)) == (
        25.0,
        6.0,
        13.2,
        36.8,
    )
    assert result.se == pytest.approx(100 * math.sqrt(40 / 39 * 40 * 0.009375**2), rel=1e-12)
    assert result.criteria == ("access",) and result.n == 40
    withheld = weighted_index_groups(
        satisfied, answered, weights, EVERYONE, 1, [1, 1, 1], criterion_ids=IDS3, required=[True, True, False]
    ).result(0)
    assert withheld.suppression_reason == "result: effective n=25.8 < 30"


@pytest.mark.parametrize("formula", ["mean_satisfied_share", "weighted_satisfied_share"])
def test_with_equal_weights_the_weighted_index_is_the_unweighted_one_over_the_same_criteria(formula: str) -> None:
    rng = np.random.default_rng(17)
    n, n_groups = 1200, 8
    criteria = (
        Criterion("access", {"en": "Access"}, 4, weight=2.0),
        Criterion("result", {"en": "Result"}, 4, weight=1.0, in_index="when_answered"),
        Criterion("feedback", {"en": "Feedback"}, 4, weight=1.0, in_index="when_answered"),
    )
    answers = {"access": likert(rng, n, 2, 0.1), "result": likert(rng, n, 2, 0.5), "feedback": likert(rng, n, 2, 0.8)}
    groups = rng.choice(n_groups, n, p=[0.3, 0.2, 0.15, 0.1, 0.1, 0.07, 0.05, 0.03])
    rule = SmallSampleRule(min_n=40)
    unweighted = assess_groups(criteria, answers, groups, n_groups, IndexDefinition(formula), rule)  # type: ignore[arg-type]
    scores = np.column_stack([respondent_means(answers[c.id]) for c in criteria])
    answered = ~np.isnan(scores)
    satisfied = (np.nan_to_num(scores) >= 4) & answered
    weights = [c.weight if formula == "weighted_satisfied_share" else 1.0 for c in criteria]
    weighted = weighted_index_groups(
        satisfied,
        answered,
        np.ones(n),
        groups,
        n_groups,
        weights,
        rule,
        criterion_ids=[c.id for c in criteria],
        required=[c.in_index == "required" for c in criteria],
    )
    np.testing.assert_array_equal(weighted.index_criteria, unweighted.index_criteria)
    assert len({tuple(row) for row in weighted.index_criteria.tolist()}) > 1  # the groups differ in their criteria
    for k in range(n_groups):
        expected, got = unweighted.index_score(k), weighted.result(k)
        assert expected is not None
        assert (got.criteria, got.n, got.suppressed) == (expected.criteria, expected.n, expected.suppressed)
        if expected.suppressed:
            assert expected.suppression_reason is not None
            assert got.suppression_reason == expected.suppression_reason.replace(": n=", ": effective n=")
            continue
        assert expected.value is not None and got.value is not None and expected.ci is not None and got.ci is not None
        assert got.value == pytest.approx(expected.value, abs=1e-9)
        assert (got.ci.low, got.ci.high) == pytest.approx((expected.ci.low, expected.ci.high), abs=1e-9)


def test_each_weighted_group_equals_its_own_rows_with_its_own_criteria() -> None:
    rng = np.random.default_rng(23)
    n, n_groups = 1500, 5
    answered = rng.random((n, 3)) < [0.95, 0.6, 0.12]
    satisfied = answered & (rng.random((n, 3)) < 0.7)
    groups = rng.integers(0, n_groups + 1, n)  # code n_groups: in no group, left out
    w = rng.gamma(3.0, 1 / 3, n)
    rule, required = SmallSampleRule(min_n=30), [True, False, False]
    together = weighted_index_groups(satisfied, answered, w, groups, n_groups, [2, 1, 1], rule, required=required)
    for k in range(n_groups):
        rows = groups == k
        alone = weighted_index_groups(
            satisfied[rows],
            answered[rows],
            w[rows],
            np.zeros(np.count_nonzero(rows), dtype=np.intp),
            1,
            [2, 1, 1],
            rule,
            required=required,
        )
        assert together.result(k) == alone.result(0)
        np.testing.assert_array_equal(together.index_criteria[k], alone.index_criteria[0])


@pytest.mark.parametrize("required", [[True, False], [1, 0, 1], [True, False, None]])
def test_required_names_each_criterion_with_a_boolean(required: list[object]) -> None:
    satisfied, answered, weights = weighted_readme_example()
    with pytest.raises(ValueError, match="required must be 3 booleans, one per criterion"):
        weighted_index_groups(satisfied, answered, weights, EVERYONE, 1, [1, 1, 1], required=required)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), feedback=st.sampled_from(["required", "when_answered"]))
def test_index_shown_says_for_every_group_at_once_what_index_score_says_for_one(seed: int, feedback: str) -> None:
    rng = np.random.default_rng(seed)
    size = 400
    answers: Answers = {}
    for c in (*SIPAS, "feedback"):
        values = rng.integers(1, 6, size).astype(np.float64)
        values[rng.random(size) < (0.9 if c == "feedback" else 0.1)] = NAN
        answers[c] = values[:, None]
    groups = rng.integers(0, 12, size)
    assessment = assess_groups(sipas_criteria(feedback), answers, groups, 12, MEAN, SmallSampleRule(min_n=25))
    scores = [assessment.index_score(g) for g in range(12)]
    assert assessment.index_shown.tolist() == [score is not None and not score.suppressed for score in scores]
