"""Measures of one question: the Net Promoter Score, the Customer Effort Score and a question's summary (n,
mean, sd and the count per scale point). Each honours a :class:`~scoring.suppression.SmallSampleRule`.

>>> nps_from_counts(50, 30, 20).value
30.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from scoring._common import ConfidenceInterval, as_float_array, json_number
from scoring.grouping import group_stats
from scoring.intervals import NPSIntervalMethod, nps_interval, t_interval
from scoring.suppression import DEFAULT_RULE, SmallSampleRule

__all__ = ["CESScore", "NPSScore", "QuestionSummary", "ces_score", "nps_from_counts", "nps_score",
           "summarize_question"]


@dataclass(frozen=True)
class NPSScore:
    """Net Promoter Score: promoters (9-10), passives (7-8), detractors (0-6) of ``n``; ``value`` in
    -100..100 (``None`` when suppressed); :meth:`ci` in the same unit.

    >>> score = nps_score([10] * 50 + [8] * 30 + [3] * 20)
    >>> score.value, score.promoters, score.detractors
    (30.0, 50, 20)
    >>> ci = score.ci(method="wald")
    >>> round(ci.low, 1), round(ci.high, 1)
    (14.7, 45.3)
    """

    promoters: int
    passives: int
    detractors: int
    n: int
    value: float | None
    suppressed: bool = False
    suppression_reason: str | None = None

    def ci(
        self, confidence_level: float = 0.95, method: NPSIntervalMethod = "adjusted_wald"
    ) -> ConfidenceInterval | None:
        """The NPS interval (Rocks 2016) in NPS points; see :func:`scoring.intervals.nps_interval`."""
        if self.suppressed or self.n == 0:
            return None
        low, high = nps_interval(self.promoters, self.detractors, self.n, confidence_level, method)
        return ConfidenceInterval(100.0 * low, 100.0 * high, confidence_level)

    def to_dict(self, confidence_level: float = 0.95) -> dict[str, Any]:
        ci = self.ci(confidence_level)
        shares = {
            f"{name}_share": (None if self.suppressed or self.n == 0 else count / self.n)
            for name, count in (
                ("promoters", self.promoters),
                ("passives", self.passives),
                ("detractors", self.detractors),
            )
        }
        return {
            "promoters": self.promoters,
            "passives": self.passives,
            "detractors": self.detractors,
            "n": self.n,
            **shares,
            "value": json_number(self.value),
            "ci": None if ci is None else ci.to_dict(),
            "suppressed": self.suppressed,
            "suppression_reason": self.suppression_reason,
        }


def nps_score(values: npt.ArrayLike, rule: SmallSampleRule = DEFAULT_RULE) -> NPSScore:
    """The NPS of answers on the 0-10 scale (NaN = not answered)."""
    v = as_float_array(values).ravel()
    v = v[~np.isnan(v)]
    if v.size and (v.min() < 0 or v.max() > 10):
        raise ValueError("NPS answers must lie on the 0-10 scale")
    promoters, detractors = int(np.count_nonzero(v >= 9)), int(np.count_nonzero(v <= 6))
    return nps_from_counts(promoters, int(v.size) - promoters - detractors, detractors, rule)


def nps_from_counts(promoters: int, passives: int, detractors: int, rule: SmallSampleRule = DEFAULT_RULE) -> NPSScore:
    """The NPS of counted answers (a group's distribution on the 0-10 scale).

    >>> nps_from_counts(50, 30, 20).value
    30.0
    """
    n = promoters + passives + detractors
    reason = rule.reason(n)
    value = None if reason or n == 0 else 100.0 * (promoters - detractors) / n
    return NPSScore(promoters, passives, detractors, n, value, reason is not None, reason)


@dataclass(frozen=True)
class CESScore:
    """Customer Effort Score: the mean answer on the effort scale, with ``n``, ``sd`` and a t :meth:`ci`.
    ``scale`` (lowest, highest answer), when known, bounds the interval: a mean cannot leave the scale.

    >>> score = ces_score([2, 3, 1, 2] * 10)
    >>> score.mean, score.n
    (2.0, 40)
    >>> ces_score([1, 7], SmallSampleRule(min_n=2), scale=(1, 7)).ci().to_dict()
    {'low': 1.0, 'high': 7.0, 'confidence_level': 0.95}
    """

    mean: float | None
    n: int
    sd: float | None
    suppressed: bool = False
    suppression_reason: str | None = None
    scale: tuple[int, int] | None = None

    def ci(self, confidence_level: float = 0.95) -> ConfidenceInterval | None:
        """The t interval of the mean, truncated to ``scale`` when it is known."""
        if self.suppressed or self.mean is None or self.sd is None:
            return None
        bounds = None if self.scale is None else (float(self.scale[0]), float(self.scale[1]))
        low, high = t_interval(self.mean, self.sd, self.n, confidence_level, bounds=bounds)
        return ConfidenceInterval(low, high, confidence_level)

    def to_dict(self, confidence_level: float = 0.95) -> dict[str, Any]:
        ci = self.ci(confidence_level)
        return {
            "mean": json_number(self.mean),
            "n": self.n,
            "sd": json_number(self.sd),
            "ci": None if ci is None else ci.to_dict(),
            "scale": None if self.scale is None else list(self.scale),
            "suppressed": self.suppressed,
            "suppression_reason": self.suppression_reason,
        }


def ces_score(
    values: npt.ArrayLike, rule: SmallSampleRule = DEFAULT_RULE, scale: tuple[int, int] | None = None
) -> CESScore:
    """The CES of the answered ``values`` (NaN = not answered); ``scale`` = (lowest, highest) answer of the
    effort question, which bounds the interval (answers outside it are refused)."""
    v = as_float_array(values).ravel()
    v = v[~np.isnan(v)]
    if scale is not None:
        if not scale[0] < scale[1]:
            raise ValueError(f"scale must be (lowest, highest) with lowest < highest, got {scale!r}")
        if np.any((v < scale[0]) | (v > scale[1])):
            raise ValueError(f"ces_score: an answer lies outside the scale {scale[0]}..{scale[1]}")
    n = int(v.size)
    reason = rule.reason(n)
    if reason or n == 0:
        return CESScore(mean=None, n=n, sd=None, suppressed=reason is not None, suppression_reason=reason,
                        scale=scale)
    sd = float(v.std(ddof=1)) if n > 1 else math.nan
    return CESScore(mean=float(v.mean()), n=n, sd=sd, scale=scale)


@dataclass(frozen=True)
class QuestionSummary:
    """One numeric question: ``n`` answers, their ``mean`` and ``sd`` (``None`` when suppressed) and
    the ``distribution`` (answer count per scale point, always shown: counts are not estimates)."""

    question_id: str
    n: int
    mean: float | None
    sd: float | None
    distribution: Mapping[int, int] = field(default_factory=dict)
    suppressed: bool = False
    suppression_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "question_id": self.question_id,
            "n": self.n,
            "mean": json_number(self.mean),
            "sd": json_number(self.sd),
            "distribution": {str(k): v for k, v in sorted(self.distribution.items())},
            "suppressed": self.suppressed,
            "suppression_reason": self.suppression_reason,
        }


def summarize_question(
    question_id: str,
    values: npt.ArrayLike,
    scale_min: int,
    scale_max: int,
    rule: SmallSampleRule = DEFAULT_RULE,
) -> QuestionSummary:
    """Mean, n and per-point distribution of one question's answers.

    >>> summarize_question("overall", [5, 4, 4, np.nan], 1, 5, SmallSampleRule(min_n=3)).distribution
    {1: 0, 2: 0, 3: 0, 4: 2, 5: 1}
    """
    v = as_float_array(values).ravel()
    stats = group_stats(v, np.zeros(v.shape[0], dtype=np.intp), 1, scale_min, scale_max)
    n = int(stats.n[0])
    distribution = {scale_min + j: int(c) for j, c in enumerate(stats.distribution[0])}
    reason = rule.reason(n)
    shown = reason is None and n > 0
    return QuestionSummary(
        question_id=question_id,
        n=n,
        mean=float(stats.mean[0]) if shown else None,
        sd=float(stats.sd[0]) if shown and n > 1 else None,
        distribution=distribution,
        suppressed=reason is not None,
        suppression_reason=reason,
    )
