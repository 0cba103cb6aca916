"""The weighted composite index and its linearised interval, checked against the unweighted index,
hand computation, the weighted-mean formula, a bootstrap and the weighted shares it is built from."""

from __future__ import annotations

import json
import math

import numpy as np
import numpy.typing as npt
import pytest

from questionnaires.model import Criterion, IndexDefinition
from scoring import (
    SmallSampleRule,
    assess_groups,
    post_stratify,
    respondent_means,
    weighted_index_groups,
    weighted_satisfied_share,
)

NAN = float("nan")
CRITERIA = (
    Criterion("access", {"en": "Access"}, 4, weight=2.0),
    Criterion("staff", {"en": "Staff"}, 4, weight=1.0),
    Criterion("result", {"en": "Result"}, 3, weight=1.0),
)
IDS = tuple(c.id for c in CRITERIA)


def random_answers(rng: np.random.Generator, n: int, missing: float = 0.15) -> dict[str, npt.NDArray[np.float64]]:
    """Two 1-5 items per criterion, correlated through one latent satisfaction, some left unanswered."""
    latent = rng.normal(size=n)
    answers = {}
    for c in IDS:
        x = np.clip(np.round(3.4 + latent[:, None] + rng.normal(size=(n, 2))), 1, 5)
        x[rng.random((n, 2)) < missing] = NAN
        answers[c] = x
    return answers


def outcomes(answers: dict[str, npt.NDArray[np.float64]]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Respondents × criteria: satisfied (mean of answered items at the threshold or above) and answered."""
    scores = np.column_stack([respondent_means(answers[c.id]) for c in CRITERIA])
    thresholds = np.array([c.satisfied_threshold for c in CRITERIA])
    return scores >= thresholds, ~np.isnan(scores)


def criterion_weights(formula: str) -> npt.NDArray[np.float64]:
    return np.array([c.weight if formula == "weighted_satisfied_share" else 1.0 for c in CRITERIA])


def readme_example() -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """scoring/README.md, "Weighting": two cells of 20, contacts 1,000 and 3,000, criteria access and result."""
    weights = post_stratify(np.repeat([0, 1], 20), population=[1_000, 3_000]).weights
    answered = np.ones((40, 2), dtype=bool)
    answered[10:20, 1] = False
    patterns = np.repeat([[True, True], [True, False], [False, True], [False, False]], 10, axis=0)
    return answered & patterns, answered, weights


@pytest.mark.parametrize("formula", ["mean_satisfied_share", "weighted_satisfied_share"])
def test_with_equal_weights_it_is_the_unweighted_index_and_interval(formula: str) -> None:
    rng = np.random.default_rng(11)
    n, n_groups = 2500, 6
    answers = random_answers(rng, n)
    groups = rng.choice(n_groups, n, p=[0.3, 0.3, 0.2, 0.1, 0.06, 0.04])
    rule = SmallSampleRule(min_n=200)  # the two smallest groups fall below it
    unweighted = assess_groups(CRITERIA, answers, groups, n_groups, IndexDefinition(formula), rule)
    satisfied, answered = outcomes(answers)
    weighted = weighted_index_groups(
        satisfied, answered, np.ones(n), groups, n_groups, criterion_weights(formula), rule, criterion_ids=IDS
    )
    assert 0 < np.count_nonzero(weighted.suppressed) < n_groups
    for k in range(n_groups):
        expected, got = unweighted.index_score(k), weighted.result(k)
        assert expected is not None
        assert got.n == expected.n
        assert got.suppressed == expected.suppressed
        assert got.effective_n == pytest.approx(expected.n, abs=1e-9) and got.design_effect == pytest.approx(1.0)
        if expected.suppressed:
            assert got.value is None and got.ci is None
            assert got.suppression_reason == expected.suppression_reason.replace(": n=", ": effective n=")
            continue
        assert expected.value is not None and expected.ci is not None and got.value is not None and got.ci is not None
        assert got.value == pytest.approx(expected.value, abs=1e-9)
        assert got.se == pytest.approx(float(unweighted.index_se[k]), abs=1e-9)
        assert (got.ci.low, got.ci.high) == pytest.approx((expected.ci.low, expected.ci.high), abs=1e-9)
    shown = ~np.isnan(weighted.share)
    np.testing.assert_allclose(weighted.share[shown], unweighted.share[shown], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(weighted.criterion_n, unweighted.n)


def test_the_value_is_the_weighted_index_computed_by_hand() -> None:
    satisfied, answered, weights = readme_example()
    index = weighted_index_groups(
        satisfied, answered, weights, np.zeros(40, dtype=np.intp), 1, [1, 1], SmallSampleRule(min_n=20)
    )
    # access: 20 satisfied at weight 0.5 of 20·0.5 + 20·1.5 = 40  -> 10/40 = 1/4
    # result: 10·0.5 + 10·1.5 = 20 satisfied of 10·0.5 + 20·1.5 = 35 answered -> 4/7
    assert weights[:20].tolist() == [0.5] * 20 and weights[20:].tolist() == [1.5] * 20
    assert index.share[0].tolist() == pytest.approx([1 / 4, 4 / 7], abs=1e-12)
    assert float(index.value[0]) == pytest.approx(100 * (1 / 4 + 4 / 7) / 2, abs=1e-12)
    # Kish: access (40)²/(20·0.25 + 20·2.25) = 32; result 35²/(10·0.25 + 20·2.25) = 1225/47.5
    assert index.criterion_effective_n[0].tolist() == pytest.approx([32.0, 1225 / 47.5])
    assert float(index.effective_n[0]) == pytest.approx(32.0) and float(index.design_effect[0]) == pytest.approx(1.25)


def test_the_readme_worked_example() -> None:
    satisfied, answered, weights = readme_example()
    everyone = np.zeros(40, dtype=np.intp)
    shown = weighted_index_groups(
        satisfied, answered, weights, everyone, 1, [1, 1], SmallSampleRule(min_n=20), criterion_ids=("access", "result")
    ).result(0)
    assert shown.value is not None and shown.se is not None and shown.ci is not None
    assert (round(shown.value, 2), round(shown.se, 2)) == (41.07, 6.32)
    assert (round(shown.ci.low, 1), round(shown.ci.high, 1)) == (28.7, 53.5)
    assert (shown.n, shown.effective_n, shown.design_effect) == (40, 32.0, 1.25)
    unweighted = weighted_index_groups(satisfied, answered, np.ones(40), everyone, 1, [1, 1]).result(0)
    assert unweighted.value is not None and round(unweighted.value, 2) == 58.33
    default = weighted_index_groups(
        satisfied, answered, weights, everyone, 1, [1, 1], criterion_ids=("access", "result")
    )
    assert default.result(0).to_dict() == {
        "value": None,
        "ci": None,
        "se": None,
        "n": 40,
        "effective_n": 32.0,
        "design_effect": 1.25,
        "suppressed": True,
        "suppression_reason": "result: effective n=25.8 < 30",
        "criteria": ["access", "result"],  # the criteria it would be taken over, the one that withholds it among them
    }


def linearised_se_by_loops(
    satisfied: npt.NDArray[np.bool_], answered: npt.NDArray[np.bool_], w: npt.NDArray[np.float64], cw: list[float]
) -> float:
    """The ratio linearisation written out respondent by respondent, as an independent check."""
    n, n_crit = satisfied.shape
    share_weights = [x / sum(cw) for x in cw]
    totals = [sum(w[i] for i in range(n) if answered[i, c]) for c in range(n_crit)]
    shares = [sum(w[i] for i in range(n) if satisfied[i, c]) / totals[c] for c in range(n_crit)]
    u = [
        w[i] * sum(share_weights[c] * (satisfied[i, c] - shares[c] * answered[i, c]) / totals[c] for c in range(n_crit))
        for i in range(n)
    ]
    m = sum(1 for i in range(n) if answered[i].any())
    return 100 * math.sqrt(m / (m - 1) * sum(x * x for x in u))


def test_the_se_is_the_ratio_linearisation_written_out() -> None:
    rng = np.random.default_rng(3)
    answers = random_answers(rng, 300, missing=0.3)
    satisfied, answered = outcomes(answers)
    w = rng.gamma(2.0, 0.5, 300)
    index = weighted_index_groups(satisfied, answered, w, np.zeros(300, dtype=np.intp), 1, [2, 1, 1])
    assert float(index.se[0]) == pytest.approx(linearised_se_by_loops(satisfied, answered, w, [2, 1, 1]), rel=1e-9)


def test_with_complete_answers_the_se_is_that_of_a_weighted_mean_of_respondent_composites() -> None:
    # Everyone answers every criterion: the index is the weighted mean of z_i = Σ_c w'_c s_ic, whose
    # linearised variance is m/(m−1) Σ (w_i (z_i − z̄_w))² / (Σ w_i)².
    rng = np.random.default_rng(4)
    n = 500
    satisfied, answered = outcomes(random_answers(rng, n, missing=0.0))
    assert answered.all()
    w = post_stratify(rng.integers(0, 4, n), population=[100, 400, 250, 50]).weights
    cw = criterion_weights("weighted_satisfied_share")
    index = weighted_index_groups(satisfied, answered, w, np.zeros(n, dtype=np.intp), 1, cw)
    z = satisfied @ (cw / cw.sum())
    mean = np.sum(w * z) / np.sum(w)
    se = 100 * math.sqrt(n / (n - 1) * np.sum((w * (z - mean)) ** 2) / np.sum(w) ** 2)
    assert float(index.value[0]) == pytest.approx(100 * mean, rel=1e-12)
    assert float(index.se[0]) == pytest.approx(se, rel=1e-9)


def test_with_missing_answers_the_se_agrees_with_a_bootstrap() -> None:
    rng = np.random.default_rng(8)
    n = 600
    satisfied, answered = outcomes(random_answers(rng, n, missing=0.35))
    w = post_stratify(rng.integers(0, 3, n), population=[600, 300, 100]).weights
    cw = criterion_weights("weighted_satisfied_share")
    index = weighted_index_groups(satisfied, answered, w, np.zeros(n, dtype=np.intp), 1, cw)
    # 2,000 resamples of the respondents (with replacement) as multinomial counts; the index of each
    # straight from its definition, 100 · Σ_c w'_c Σ count·w·s / Σ count·w·a.
    counts = rng.multinomial(n, np.full(n, 1 / n), size=2000).astype(np.float64)
    shares = (counts @ (w[:, None] * satisfied)) / (counts @ (w[:, None] * answered))
    boot = 100 * shares @ (cw / cw.sum())
    assert float(index.se[0]) == pytest.approx(np.std(boot, ddof=1), rel=0.10)


def test_a_group_is_suppressed_on_the_effective_n_of_a_criterion() -> None:
    # 40 respondents all answer access, 30 answer result: with equal weights both clear min_n = 30, but
    # weighting the result's answerers unevenly leaves it an effective n below 30.
    answered = np.ones((40, 2), dtype=bool)
    answered[30:, 1] = False
    satisfied = answered & (np.arange(40) % 2 == 0)[:, None]
    groups = np.zeros(40, dtype=np.intp)
    equal = weighted_index_groups(satisfied, answered, np.ones(40), groups, 1, [1, 1], criterion_ids=("a", "r"))
    assert not equal.result(0).suppressed
    uneven = np.r_[np.full(3, 3.0), np.ones(37)]
    index = weighted_index_groups(satisfied, answered, uneven, groups, 1, [1, 1], criterion_ids=("a", "r"))
    result = index.result(0)
    # Kish: access (3·3 + 37)² / (3·9 + 37) = 46²/64 = 33.1; result (3·3 + 27)² / (3·9 + 27) = 36²/54 = 24
    assert index.criterion_n[0].tolist() == [40, 30]
    assert index.criterion_effective_n[0].tolist() == pytest.approx([46**2 / 64, 24.0])
    assert result.suppressed and result.value is None and result.ci is None and result.se is None
    assert result.suppression_reason == "r: effective n=24 < 30"
    # The access share is still shown; the result's is withheld, as weighted_satisfied_share withholds it.
    assert index.share[0, 0] == pytest.approx(float(uneven[::2].sum() / uneven.sum())) and np.isnan(index.share[0, 1])
    assert weighted_satisfied_share(np.where(answered[:, 1], 5.0, NAN), uneven, 4).suppression_reason == (
        "effective n=24 < 30"
    )
    lower = weighted_index_groups(satisfied, answered, uneven, groups, 1, [1, 1], SmallSampleRule(min_n=24))
    assert not lower.result(0).suppressed and not np.isnan(lower.share[0]).any()


def test_weighted_shares_are_those_of_weighted_satisfied_share() -> None:
    rng = np.random.default_rng(6)
    n, n_groups = 900, 4
    answers = random_answers(rng, n, missing=0.25)
    satisfied, answered = outcomes(answers)
    groups = rng.integers(0, n_groups, n)
    w = post_stratify(rng.integers(0, 5, n), population=[50, 300, 100, 400, 150]).weights
    rule = SmallSampleRule(min_n=120)
    index = weighted_index_groups(satisfied, answered, w, groups, n_groups, [1, 1, 1], rule, criterion_ids=IDS)
    for k in range(n_groups):
        for c, criterion in enumerate(CRITERIA):
            rows = groups == k
            expected = weighted_satisfied_share(
                respondent_means(answers[criterion.id][rows]), w[rows], criterion.satisfied_threshold, rule
            )
            assert int(index.criterion_n[k, c]) == expected.n
            assert float(index.criterion_effective_n[k, c]) == pytest.approx(expected.effective_n, rel=1e-12)
            assert float(index.criterion_design_effect[k, c]) == pytest.approx(expected.design_effect, rel=1e-12)
            share = float(index.share[k, c])
            assert (None if math.isnan(share) else pytest.approx(share, rel=1e-12)) == expected.statistic


def test_each_group_equals_the_computation_on_its_own_rows() -> None:
    rng = np.random.default_rng(9)
    n, n_groups = 1500, 5
    satisfied, answered = outcomes(random_answers(rng, n, missing=0.2))
    groups = rng.integers(0, n_groups + 1, n)  # code n_groups: in no group, left out
    w = rng.gamma(3.0, 1 / 3, n)
    cw = criterion_weights("weighted_satisfied_share")
    rule = SmallSampleRule(min_n=150)
    together = weighted_index_groups(satisfied, answered, w, groups, n_groups, cw, rule)
    assert together.n_groups == n_groups
    for k in range(n_groups):
        rows = groups == k
        alone = weighted_index_groups(
            satisfied[rows], answered[rows], w[rows], np.zeros(np.count_nonzero(rows), dtype=np.intp), 1, cw, rule
        )
        for name in ("value", "se", "low", "high", "effective_n", "design_effect", "share", "criterion_effective_n"):
            np.testing.assert_allclose(getattr(together, name)[k], getattr(alone, name)[0], rtol=1e-12, equal_nan=True)
        np.testing.assert_array_equal(together.criterion_n[k], alone.criterion_n[0])
        assert together.result(k) == alone.result(0)
        json.dumps(together.result(k).to_dict())


def test_an_empty_group_is_suppressed_and_rows_in_no_group_are_left_out() -> None:
    satisfied, answered, weights = readme_example()
    groups = np.r_[np.zeros(40, dtype=np.intp), [2, 2]]
    index = weighted_index_groups(
        np.r_[satisfied, [[True, True]] * 2],
        np.r_[answered, [[True, True]] * 2],
        np.r_[weights, [9.0, 9.0]],
        groups,
        2,
        [1, 1],
        SmallSampleRule(min_n=20),
    )
    assert round(float(index.value[0]), 2) == 41.07  # the two rows coded 2 (= in no group) change nothing
    empty = index.result(1)
    assert empty.suppressed and empty.n == 0 and empty.effective_n == 0.0 and math.isnan(empty.design_effect)
    assert empty.suppression_reason == "criteria[0]: effective n=0 < 20"
    assert json.loads(json.dumps(empty.to_dict()))["design_effect"] is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"satisfied": [[True, True]], "answered": [[True, False]]}, "satisfied with a criterion they answered"),
        ({"weights": [-1.0]}, "finite and non-negative"),
        ({"weights": [1.0, 1.0]}, "one value per respondent"),
        ({"groups": [2]}, "group codes must lie in 0..1"),
        ({"criterion_weights": [0, 0]}, "positive sum"),
        ({"criterion_ids": ("a",)}, "criterion_ids must name the 2 criteria"),
        ({"satisfied": [[1, 1]]}, "boolean arrays"),
    ],
)
def test_bad_input_is_refused(change: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "satisfied": [[True, False]],
        "answered": [[True, True]],
        "weights": [1.0],
        "groups": [0],
        "n_groups": 1,
        "criterion_weights": [1, 1],
    }
    with pytest.raises((ValueError, TypeError), match=message):
        weighted_index_groups(**(arguments | change))  # type: ignore[arg-type]
