"""Small-sample suppression: below a minimum n a measure is shown as suppressed, and below a (possibly
higher) minimum no test runs on it.

>>> rule = SmallSampleRule()
>>> rule.reason(12)
'n=12 < 30'
>>> rule.reason(30) is None
True
>>> rule.comments_reason(9)
'n=9 < 10'

A rule that shows every share still tests only groups of at least ``min_n_inference`` answers:

>>> shown = SmallSampleRule(min_n=1)
>>> shown.reason(1) is None, shown.test_min_n, shown.test_reason(1, label="n1")
(True, 10, 'n1=1 < 10')
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_RULE", "SmallSampleRule"]


@dataclass(frozen=True)
class SmallSampleRule:
    """The minimum number of answers for showing a measure (``min_n``), for showing comments
    (``min_n_comments``) and for testing a measure (``min_n_inference``). Every measure and test in
    :mod:`scoring` takes one of these: measures judge with :meth:`reason`, tests with :meth:`test_reason`."""

    min_n: int = 30
    min_n_comments: int = 10
    min_n_inference: int = 10

    def __post_init__(self) -> None:
        for name in ("min_n", "min_n_comments", "min_n_inference"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"SmallSampleRule.{name} must be a whole number of at least 1, got {value!r}")

    @property
    def test_min_n(self) -> int:
        """The fewest answers a test runs on: a test never runs on a group that is not shown (``min_n``),
        nor on fewer than ``min_n_inference`` answers however low ``min_n`` is set."""
        return max(self.min_n, self.min_n_inference)

    def suppresses(self, n: int | float) -> bool:
        """True when a measure on ``n`` answers must not be shown."""
        return n < self.min_n

    def reason(self, n: int | float, label: str = "n") -> str | None:
        """Why a measure on ``n`` answers is suppressed (``"n=12 < 30"``), or ``None`` when it is shown."""
        if n < self.min_n:
            return f"{label}={_count(n)} < {self.min_n}"
        return None

    def test_reason(self, n: int | float, label: str = "n") -> str | None:
        """Why no test runs on a sample of ``n`` answers (``"n=12 < 30"``, the bound being
        :attr:`test_min_n`), or ``None`` when it may be tested."""
        minimum = self.test_min_n
        if n < minimum:
            return f"{label}={_count(n)} < {minimum}"
        return None

    def comments_reason(self, n: int) -> str | None:
        """Why the comments of ``n`` respondents are hidden, or ``None`` when they may be shown."""
        if n < self.min_n_comments:
            return f"n={n} < {self.min_n_comments}"
        return None


def _count(n: int | float) -> str:
    return str(int(n)) if float(n).is_integer() else f"{n:.1f}"


DEFAULT_RULE = SmallSampleRule()
"""The centre's default: 30 answers for a measure (and so for a test), 10 for comments."""
