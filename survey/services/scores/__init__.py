"""Scores of a questionnaire for a scope and period, per group: the measures, the comparisons and the tests.

The statistics are :mod:`scoring`'s; this package reads the data (:mod:`survey.services.extract`,
:mod:`.queries`), groups it (``by`` unit, service, channel, month) and composes the library's results
(:mod:`.assessment`, :mod:`.group_tests`, :mod:`.funnels`, :mod:`.weighting`, :mod:`.comments`) into the JSON of
``survey scores`` and ``GET /api/v1/scores`` (:mod:`.contract`):

* per group: ``n``, ``response_rate`` (responses that came through an invitation / delivered
  invitations, ``None`` where no invitation exists), ``index`` {value, ci, target, met, criteria} over the
  criteria that reach ``min_n`` (a ``when_answered`` criterion counts only there), ``criteria``
  [{id, n, mean, satisfied_share, ci, suppressed}], ``questions`` (mean and distribution), ``nps`` and
  ``ces`` where the questionnaire has such questions, and ``tests``: the group against its peers (the sibling
  units: two proportions, with Fisher's exact test for small expected counts, and Mann–Whitney per criterion),
  against the previous period and the same period a year earlier (a year once), the monthly trend
  (Mann–Kendall with Sen's slope of the index, or of each criterion with Cochran–Armitage) and the reliability
  of each criterion (alpha from three items, Spearman–Brown for two);
* for the report: Kruskal–Wallis with Dunn/Holm across the peers of each parent, funnel plots of the units of one
  level (Spiegelhalter 2005, with overdispersion) and a Benjamini–Hochberg q-value beside every p-value.

Shares are fractions 0–1, the index 0–100, NPS −100..100. Below ``min_n`` nothing about a group is shown but its
n; below ``max(min_n, min_n_inference)`` no test runs on it (:mod:`.methodology` says all of it in words). The
staff scores page is :mod:`.page`; ``survey questionnaires show`` is :mod:`.describe`.

>>> parse_period("2026-Q2").label, str(parse_period("2026-Q2").end)
('2026-Q2', '2026-07-01')
"""

from __future__ import annotations

from survey.services.scores.assessment import ScoreAssessment, assess
from survey.services.scores.comments import LATEST_COMMENTS, mask_contact_details
from survey.services.scores.context import Context, UnitTree
from survey.services.scores.contract import (
    DIMENSIONS,
    MAX_MIN_N,
    CESResult,
    CommentExcerpt,
    CommentsResult,
    CriterionResult,
    FunnelFamily,
    FunnelUnit,
    IndexResult,
    NPSResult,
    QuestionResult,
    ScoreGroup,
    ScoreReport,
    ScoreRequest,
    TestResult,
    WeightedIndexResult,
    WeightedResult,
    WeightingResult,
)
from survey.services.scores.describe import describe_questionnaire
from survey.services.scores.errors import ScoreParameterError
from survey.services.scores.methodology import MethodSection, methodology
from survey.services.scores.page import (
    DEFAULT_PERIOD_CHOICE,
    DEFAULT_SCORE_QUESTIONNAIRE,
    PERIOD_CHOICES,
    SCORE_BREAKDOWNS,
    SCORE_QUESTIONNAIRES,
    ScopeScores,
    ScoreRow,
    period_for,
    scope_scores,
)
from survey.services.scores.periods import PERIOD_FORMS, Period, month_label, parse_period
from survey.services.scores.service import PEER, compute_scores

__all__ = [
    "DEFAULT_PERIOD_CHOICE",
    "DEFAULT_SCORE_QUESTIONNAIRE",
    "DIMENSIONS",
    "LATEST_COMMENTS",
    "MAX_MIN_N",
    "PEER",
    "PERIOD_CHOICES",
    "PERIOD_FORMS",
    "SCORE_BREAKDOWNS",
    "SCORE_QUESTIONNAIRES",
    "CESResult",
    "CommentExcerpt",
    "CommentsResult",
    "Context",
    "CriterionResult",
    "FunnelFamily",
    "FunnelUnit",
    "IndexResult",
    "MethodSection",
    "NPSResult",
    "Period",
    "QuestionResult",
    "ScopeScores",
    "ScoreAssessment",
    "ScoreGroup",
    "ScoreParameterError",
    "ScoreReport",
    "ScoreRequest",
    "ScoreRow",
    "TestResult",
    "UnitTree",
    "WeightedIndexResult",
    "WeightedResult",
    "WeightingResult",
    "assess",
    "compute_scores",
    "describe_questionnaire",
    "mask_contact_details",
    "methodology",
    "month_label",
    "parse_period",
    "period_for",
    "scope_scores",
]
