"""Scores of a questionnaire for a scope and period, per group: the measures, the comparisons and the tests.

The statistics are :mod:`scoring`'s; this package reads the data (:mod:`survey.services.extract`,
:mod:`.queries`), groups it (``by`` unit, service, channel, month) and composes the library's results
(:mod:`.assessment`, :mod:`.group_tests`, :mod:`.weighting`, :mod:`.comments`) into the JSON of
``survey scores`` and ``GET /api/v1/scores`` (:mod:`.contract`):

* per group: ``n``, ``response_rate`` (responses that came through an invitation / delivered
  invitations, ``None`` where no invitation exists), ``index`` {value, ci, target, met}, ``criteria``
  [{id, n, mean, satisfied_share, ci, suppressed}], ``questions`` (mean and distribution), ``nps`` and
  ``ces`` where the questionnaire has such questions, and ``tests``: the group against its peer units
  (same parent: two proportions and Mann–Whitney per criterion), against the previous period and the
  same period a year earlier, the trend of the monthly index (Mann–Kendall with Sen's slope) and
  Cronbach's alpha per criterion of two or more items;
* for the report: Kruskal–Wallis with Dunn/Holm across peer units per criterion, and funnel-plot limits.

Shares are fractions 0–1, the index 0–100, NPS −100..100. Below ``min_n`` a measure is suppressed and
no test runs on it. The staff scores page is :mod:`.page`; ``survey questionnaires show`` is :mod:`.describe`.

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
    "FunnelUnit",
    "IndexResult",
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
    "month_label",
    "parse_period",
    "period_for",
    "scope_scores",
]
