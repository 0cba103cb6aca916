"""Scoring: satisfaction criteria, the composite index, NPS, CES, confidence intervals, comparisons,
trend tests, multiple testing, reliability, funnel limits, small-sample suppression and post-stratification
weights.

A pure library (numpy, scipy and ``questionnaires``): results are frozen dataclasses with
``to_dict()``; see ``scoring/README.md`` for every formula and its reference.
"""

from __future__ import annotations

from scoring._common import ConfidenceInterval
from scoring.comparisons import (
    DunnPair,
    KruskalWallisResult,
    MannWhitneyResult,
    PeriodComparison,
    TwoProportionResult,
    compare_periods,
    difference_of_estimates,
    dunn_test,
    holm_adjust,
    kruskal_wallis,
    mann_whitney,
    two_proportion_test,
)
from scoring.funnel import (
    FunnelCurve,
    FunnelPoint,
    FunnelPosition,
    FunnelResult,
    TargetSource,
    funnel_curve,
    funnel_limits,
)
from scoring.grouped import CochranArmitageGroups, cochran_armitage_groups
from scoring.grouping import GroupStats, combine_codes, group_stats, group_sums
from scoring.intervals import (
    NPSIntervalMethod,
    TargetPosition,
    against_target,
    mean_interval,
    nps_interval,
    t_interval,
    wilson_interval,
)
from scoring.keys import KeyGroups, group_keys
from scoring.measures import (
    CriterionScore,
    GroupAssessment,
    IndexScore,
    SatisfiedShare,
    assess_groups,
    respondent_means,
    satisfied_share,
    score_criteria,
)
from scoring.multiplicity import bh_q_values
from scoring.questions import (
    CESScore,
    NPSScore,
    QuestionSummary,
    ces_score,
    nps_from_counts,
    nps_score,
    summarize_question,
)
from scoring.reliability import CronbachAlphaResult, TwoItemReliabilityResult, cronbach_alpha, spearman_brown
from scoring.suppression import DEFAULT_RULE, SmallSampleRule
from scoring.trend import CochranArmitageResult, MannKendallResult, cochran_armitage, mann_kendall
from scoring.weighting import (
    PostStratification,
    WeightedIndex,
    WeightedIndexGroups,
    WeightedShare,
    kish_design_effect,
    post_stratify,
    weighted_index_groups,
    weighted_satisfied_share,
)

__all__ = [
    "DEFAULT_RULE",
    "CESScore",
    "CochranArmitageGroups",
    "CochranArmitageResult",
    "ConfidenceInterval",
    "CriterionScore",
    "CronbachAlphaResult",
    "DunnPair",
    "FunnelPoint",
    "FunnelPosition",
    "FunnelResult",
    "GroupAssessment",
    "GroupStats",
    "IndexScore",
    "KeyGroups",
    "KruskalWallisResult",
    "MannKendallResult",
    "MannWhitneyResult",
    "NPSIntervalMethod",
    "NPSScore",
    "PeriodComparison",
    "PostStratification",
    "QuestionSummary",
    "SatisfiedShare",
    "SmallSampleRule",
    "TargetPosition",
    "TargetSource",
    "TwoItemReliabilityResult",
    "TwoProportionResult",
    "WeightedIndex",
    "WeightedIndexGroups",
    "WeightedShare",
    "against_target",
    "assess_groups",
    "bh_q_values",
    "ces_score",
    "cochran_armitage",
    "cochran_armitage_groups",
    "combine_codes",
    "compare_periods",
    "cronbach_alpha",
    "dunn_test",
    "funnel_curve",
    "funnel_limits",
    "difference_of_estimates",
    "FunnelCurve",
    "group_keys",
    "group_stats",
    "group_sums",
    "holm_adjust",
    "kish_design_effect",
    "kruskal_wallis",
    "mann_kendall",
    "mann_whitney",
    "mean_interval",
    "nps_interval",
    "nps_from_counts",
    "nps_score",
    "post_stratify",
    "respondent_means",
    "satisfied_share",
    "score_criteria",
    "spearman_brown",
    "summarize_question",
    "t_interval",
    "two_proportion_test",
    "weighted_index_groups",
    "weighted_satisfied_share",
    "wilson_interval",
]
