"""Criterion scores, the composite index, NPS, CES, question summaries and weighting."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from questionnaires import load_bundled
from questionnaires.model import Criterion, IndexDefinition
from scoring import (
    SmallSampleRule,
    assess_groups,
    ces_score,
    combine_codes,
    group_stats,
    kish_design_effect,
    nps_score,
    post_stratify,
    respondent_means,
    satisfied_share,
    score_criteria,
    summarize_question,
    weighted_satisfied_share,
)

NAN = float("nan")


def test_criterion_share_counts_respondents_by_the_mean_of_their_answered_items() -> None:
    criterion = Criterion("access", {"en": "Access"}, satisfied_threshold=4, target=0.5)
    # Means 4.5 (sat), 3.5 (not), 4 from one item (sat), none answered (not counted).
    items = np.array([[5, 4], [3, 4], [4, NAN], [NAN, NAN]] * 10)
    (score,), index = score_criteria((criterion,), {"access": items})
    assert index is None
    assert (score.n, score.satisfied) == (30, 20)
    assert score.satisfied_share == pytest.approx(2 / 3)
    assert score.mean == pytest.approx(4.0)
    assert score.met is True
    assert score.ci is not None and score.ci.low < 2 / 3 < score.ci.high
    assert respondent_means(items[:4]).tolist()[:3] == [4.5, 3.5, 4.0]


def test_index_worked_example_from_the_readme() -> None:
    # README "Composite index": shares 0.90, 0.75, 0.60 -> 75.0 (mean); weights 2, 1, 1 -> 78.75.
    criteria = tuple(Criterion(c, {"en": c}, 4, weight=w) for c, w in (("a", 2.0), ("b", 1.0), ("c", 1.0)))
    n = 100
    answers = {
        "a": np.where(np.arange(n) < 90, 5.0, 2.0)[:, None],
        "b": np.where(np.arange(n) < 75, 5.0, 2.0)[:, None],
        "c": np.where(np.arange(n) < 60, 5.0, 2.0)[:, None],
    }
    _, mean_index = score_criteria(criteria, answers, IndexDefinition("mean_satisfied_share", target=80))
    _, weighted = score_criteria(criteria, answers, IndexDefinition("weighted_satisfied_share", target=78))
    assert mean_index is not None and weighted is not None
    assert mean_index.value == pytest.approx(75.0)
    assert mean_index.met is False
    assert weighted.value == pytest.approx(78.75)
    assert weighted.met is True


def test_index_interval_with_complete_answers_is_the_interval_of_respondent_composites() -> None:
    # With every criterion answered by everyone the linearised variance reduces to the variance of each
    # respondent's composite z_i = mean_c s_ic: the index is the mean of z_i.
    rng = np.random.default_rng(1)
    n = 400
    latent = rng.normal(size=n)
    criteria = tuple(Criterion(c, {"en": c}, 4) for c in "abc")
    answers = {c: np.clip(np.round(3.6 + latent[:, None] + rng.normal(size=(n, 2))), 1, 5) for c in "abc"}
    _, index = score_criteria(criteria, answers, IndexDefinition("mean_satisfied_share"))
    assert index is not None and index.ci is not None and index.value is not None
    z = np.mean([respondent_means(answers[c]) >= 4 for c in "abc"], axis=0)
    se = 100 * z.std(ddof=1) / math.sqrt(n)
    assert index.value == pytest.approx(100 * z.mean())
    assert index.ci.high - index.value == pytest.approx(1.959964 * se, rel=1e-5)
    # Correlated criteria: treating them as independent would understate the uncertainty.
    shares = [np.mean(respondent_means(answers[c]) >= 4) for c in "abc"]
    independent_se = 100 * math.sqrt(sum(p * (1 - p) / n for p in shares)) / 3
    assert se > independent_se


def test_index_interval_agrees_with_a_bootstrap_when_answers_are_missing() -> None:
    rng = np.random.default_rng(5)
    n = 600
    latent = rng.normal(size=n)
    criteria = tuple(Criterion(c, {"en": c}, 4) for c in "ab")
    answers = {}
    for c in "ab":
        x = np.clip(np.round(3.5 + latent + rng.normal(size=n)), 1, 5)[:, None]
        x[rng.random(n) < 0.3] = NAN
        answers[c] = x
    _, index = score_criteria(criteria, answers, IndexDefinition("mean_satisfied_share"))
    assert index is not None and index.ci is not None and index.value is not None
    boot = []
    for _ in range(400):
        rows = rng.integers(0, n, n)
        _, b = score_criteria(
            criteria, {c: v[rows] for c, v in answers.items()}, IndexDefinition("mean_satisfied_share")
        )
        assert b is not None and b.value is not None
        boot.append(b.value)
    half = index.ci.high - index.value
    assert half / 1.959964 == pytest.approx(np.std(boot, ddof=1), rel=0.15)


def test_grouped_assessment_matches_scoring_each_group_alone() -> None:
    rng = np.random.default_rng(2)
    n = 3000
    unit, service = rng.integers(0, 4, n), rng.integers(0, 3, n)
    groups = combine_codes(unit, service, sizes=(4, 3))
    criteria = tuple(Criterion(c, {"en": c}, 4, target=0.6) for c in "ab")
    answers = {c: np.where(rng.random((n, 2)) < 0.1, NAN, rng.integers(1, 6, (n, 2)).astype(float)) for c in "ab"}
    definition = IndexDefinition("mean_satisfied_share", target=60)
    assessment = assess_groups(criteria, answers, groups, 12, definition)
    for g in (0, 5, 11):
        rows = groups == g
        scores, index = score_criteria(criteria, {c: v[rows] for c, v in answers.items()}, definition)
        assert assessment.criterion_scores(g) == scores
        grouped = assessment.index_score(g)
        assert grouped is not None and index is not None
        assert grouped.value == pytest.approx(index.value)
        assert grouped.ci is not None and index.ci is not None
        assert (grouped.ci.low, grouped.ci.high) == pytest.approx((index.ci.low, index.ci.high))
    json.dumps(assessment.to_dict())


def test_bundled_counter_questionnaire_scores_with_its_own_criteria() -> None:
    counter = load_bundled()["counter"]
    assert counter.index is not None
    rng = np.random.default_rng(4)
    answers = {c.id: rng.integers(3, 6, (80, len(counter.questions_of(c.id)))).astype(float) for c in counter.criteria}
    scores, index = score_criteria(counter.criteria, answers, counter.index)
    assert [s.id for s in scores] == [c.id for c in counter.criteria]
    assert index is not None and index.formula == "mean_satisfied_share" and index.target == 80
    assert index.value is not None and 0 <= index.value <= 100


def test_index_is_suppressed_when_a_criterion_is_small() -> None:
    criteria = (Criterion("a", {"en": "a"}, 4), Criterion("b", {"en": "b"}, 4))
    answers = {"a": np.full((40, 1), 5.0), "b": np.r_[np.full(12, 5.0), np.full(28, NAN)][:, None]}
    scores, index = score_criteria(criteria, answers, IndexDefinition("mean_satisfied_share"))
    assert scores[1].suppressed and scores[1].suppression_reason == "n=12 < 30"
    assert index is not None and index.suppressed and index.suppression_reason == "b: n=12 < 30"
    assert index.to_dict()["value"] is None


def test_nps_and_ces_scores() -> None:
    nps = nps_score([10, 9, 8, 7, 6, 0, NAN] * 10)
    assert (nps.promoters, nps.passives, nps.detractors, nps.n) == (20, 20, 20, 60)
    assert nps.value == pytest.approx(0.0)
    d = nps.to_dict()
    assert d["promoters_share"] == pytest.approx(1 / 3)
    assert d["ci"]["low"] < 0 < d["ci"]["high"]
    json.dumps(d)
    ces = ces_score([1, 2, 3, 4, 5] * 8)
    assert ces.mean == pytest.approx(3.0)
    ci = ces.ci()
    assert ci is not None and ci.low < 3 < ci.high
    with pytest.raises(ValueError, match="0-10"):
        nps_score([11])


def test_question_summary_keeps_counts_but_hides_the_mean_when_small() -> None:
    summary = summarize_question("overall", [5, 4, NAN, 1], 1, 5)
    assert summary.suppressed and summary.mean is None
    assert summary.distribution == {1: 1, 2: 0, 3: 0, 4: 1, 5: 1}
    shown = summarize_question("overall", [5, 4, 1] * 10, 1, 5)
    assert shown.mean == pytest.approx(10 / 3) and shown.n == 30
    assert json.loads(json.dumps(shown.to_dict()))["distribution"]["5"] == 10


def test_group_stats_match_a_plain_loop() -> None:
    rng = np.random.default_rng(8)
    values = np.where(rng.random(500) < 0.2, NAN, rng.integers(1, 6, 500).astype(float))
    groups = rng.integers(0, 7, 500)
    result = group_stats(values, groups, 7, 1, 5)
    for g in range(7):
        v = values[(groups == g) & ~np.isnan(values)]
        assert result.n[g] == v.size
        assert result.mean[g] == pytest.approx(v.mean())
        assert result.sd[g] == pytest.approx(v.std(ddof=1))
        assert result.at_least(4)[g] == np.sum(v >= 4)
        assert result.at_most(2)[g] == np.sum(v <= 2)
    with pytest.raises(ValueError, match="scale"):
        group_stats(np.array([6.0]), np.array([0]), 1, 1, 5)


def test_shares_to_dict_are_fractions_and_nan_becomes_none() -> None:
    share = satisfied_share([5, 4, 2] * 10, 4).to_dict()
    assert share["statistic"] == pytest.approx(2 / 3)
    assert json.dumps(share)
    empty = satisfied_share([NAN] * 3, 4, SmallSampleRule(min_n=1)).to_dict()
    assert empty["statistic"] is None and empty["ci"] is None


def test_small_sample_rule_validates_its_settings() -> None:
    with pytest.raises(ValueError, match="min_n"):
        SmallSampleRule(min_n=0)
    rule = SmallSampleRule(min_n=50, min_n_comments=5)
    assert rule.reason(49) == "n=49 < 50" and rule.comments_reason(5) is None


def test_post_stratification_restores_the_contact_mix() -> None:
    cells = np.array([0] * 60 + [1] * 40 + [2] * 0)
    weights = post_stratify(cells, population=[5_000, 15_000, 1_000])
    assert weights.empty_cells == (2,)
    assert weights.coverage == pytest.approx(20_000 / 21_000)
    assert weights.weights.mean() == pytest.approx(1.0)
    # Weighted cell shares equal the covered population shares.
    assert weights.weights[cells == 1].sum() / weights.weights.sum() == pytest.approx(0.75)
    assert weights.design_effect == pytest.approx(100 * (60 * (5 / 12) ** 2 + 40 * 1.875**2) / 100**2)
    assert weights.effective_n == pytest.approx(100 / weights.design_effect)
    json.dumps(weights.to_dict())


def test_weighted_share_uses_the_effective_n_in_its_interval() -> None:
    values = np.array([5.0] * 30 + [2.0] * 70)
    w = np.array([3.0] * 30 + [1.0] * 70)
    share = weighted_satisfied_share(values, w, 4)
    assert share.statistic == pytest.approx(90 / 160)
    assert share.design_effect == pytest.approx(kish_design_effect(w))
    ci, unweighted = share.ci(), satisfied_share(values, 4).ci()
    assert ci is not None and unweighted is not None
    assert ci.high - ci.low > unweighted.high - unweighted.low  # weighting costs precision
    small = weighted_satisfied_share(values[:40], np.r_[np.full(5, 10.0), np.ones(35)], 4)
    assert (
        small.suppressed
        and small.suppression_reason is not None
        and small.suppression_reason.startswith("effective n=")
    )
