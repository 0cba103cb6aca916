"""Small-sample suppression: below a minimum n a measure is shown as suppressed and no test runs on it.

>>> rule = SmallSampleRule()
>>> rule.reason(12)
'n=12 < 30'
>>> rule.reason(30) is None
True
>>> rule.comments_reason(9)
'n=9 < 10'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_RULE", "SmallSampleRule"]


@dataclass(frozen=True)
class SmallSampleRule:
    """The minimum number of answers for showing a measure (``min_n``) and for showing comments
    (``min_n_comments``). Every measure and test in :mod:`scoring` takes one of these."""

    min_n: int = 30
    min_n_comments: int = 10

    def __post_init__(self) -> None:
        for name in ("min_n", "min_n_comments"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"SmallSampleRule.{name} must be a whole number of at least 1, got {value!r}")

    def suppresses(self, n: int | float) -> bool:
        """True when a measure on ``n`` answers must not be shown."""
        return n < self.min_n

    def reason(self, n: int | float, label: str = "n") -> str | None:
        """Why a measure on ``n`` answers is suppressed (``"n=12 < 30"``), or ``None`` when it is shown."""
        if n < self.min_n:
            return f"{label}={_count(n)} < {self.min_n}"
        return None

    def comments_reason(self, n: int) -> str | None:
        """Why the comments of ``n`` respondents are hidden, or ``None`` when they may be shown."""
        if n < self.min_n_comments:
            return f"n={n} < {self.min_n_comments}"
        return None


def _count(n: int | float) -> str:
    return str(int(n)) if float(n).is_integer() else f"{n:.1f}"


DEFAULT_RULE = SmallSampleRule()
"""The centre's default: 30 answers for a measure, 10 for comments."""
