"""What a report is: its kind, scope, period and language (:class:`ReportSpec`), and what making one gives.

>>> ReportSpec("unit", "2026-Q3", unit="HN-BD").filename
'unit-HN-BD-2026-Q3-vi.pdf'
>>> ReportSpec("unit", "2026-Q3", unit="HN-BD", service="HIC", lang="en").filename
'unit-HN-BD-HIC-2026-Q3-en.pdf'
>>> ReportSpec("leadership", "2026").filename
'leadership-2026-vi.pdf'
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

from survey.services.scores.periods import Period, parse_period

__all__ = ["REPORT_KINDS", "REPORT_LANGUAGES", "MadeReport", "ReportKind", "ReportParameterError", "ReportSkipped",
           "ReportSpec", "report_period"]

ReportKind = Literal["unit", "service", "leadership"]
REPORT_KINDS: tuple[ReportKind, ...] = ("unit", "service", "leadership")
REPORT_LANGUAGES = ("vi", "en")
_PERIOD = re.compile(r"\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?", re.ASCII)
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}", re.ASCII)


class ReportParameterError(ValueError):
    """A report was asked for with a bad parameter; ``parameter`` names it (``unit``, ``period`` ...)."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


class ReportSkipped(Exception):
    """The scope has too few answers in the period for a report (``n`` of ``min_n``)."""

    def __init__(self, spec: ReportSpec, n: int, min_n: int) -> None:
        super().__init__(f"{spec.title_key}: too few answers (n={n} < {min_n})")
        self.spec, self.n, self.min_n = spec, n, min_n


def report_period(text: str) -> Period:
    """A report's period: a month (2026-09), a quarter (2026-Q3) or a year (2026)."""
    raw = (text or "").strip()
    if not _PERIOD.fullmatch(raw):
        raise ReportParameterError("period", f"{text!r} is not a month (2026-09), a quarter (2026-Q3) or a year (2026)")
    try:
        return parse_period(raw)
    except ValueError as error:
        raise ReportParameterError("period", str(error).split(": ", 1)[-1]) from None


@dataclass(frozen=True)
class ReportSpec:
    """One report: ``kind`` unit (a unit with its subtree, optionally one service), service (one service in the
    whole country) or leadership (the whole country, for the centre's leadership); ``questionnaire`` None: every
    questionnaire with answers in the scope, one part each."""

    kind: ReportKind
    period: str
    unit: str | None = None
    service: str | None = None
    questionnaire: str | None = None
    lang: str = "vi"

    def __post_init__(self) -> None:
        if self.kind not in REPORT_KINDS:
            raise ReportParameterError("kind", f"{self.kind!r} is not one of {', '.join(REPORT_KINDS)}")
        report_period(self.period)
        if self.lang not in REPORT_LANGUAGES:
            raise ReportParameterError("lang", f"{self.lang!r} is not one of {', '.join(REPORT_LANGUAGES)}")
        for name in ("unit", "service"):
            value = getattr(self, name)
            if value is not None and not _CODE.fullmatch(value):
                raise ReportParameterError(name, f"{value!r} is not a {name} code")
        if self.kind == "unit" and self.unit is None:
            raise ReportParameterError("unit", "a unit report needs a unit")
        if self.kind == "service" and (self.service is None or self.unit is not None):
            raise ReportParameterError("service", "a service report needs a service and no unit")
        if self.kind == "leadership" and (self.unit is not None or self.service is not None):
            raise ReportParameterError("unit", "the leadership report covers the whole country: no unit or service")

    @property
    def period_range(self) -> Period:
        return report_period(self.period)

    @property
    def title_key(self) -> str:
        """``unit HN-BD × HIC 2026-Q3`` and the like: how progress and summaries name the report."""
        scope = {"unit": f"unit {self.unit}" + (f" × {self.service}" if self.service else ""),
                 "service": f"service {self.service}", "leadership": "leadership"}[self.kind]
        return f"{scope} {self.period}" + (f" ({self.questionnaire})" if self.questionnaire else "")

    @property
    def filename(self) -> str:
        parts = [self.kind, self.unit, self.service, self.questionnaire, self.period, self.lang]
        return "-".join(p for p in parts if p) + ".pdf"


@dataclass(frozen=True)
class MadeReport:
    """A rendered report: the PDF, its page count and checksum (sha256), and the title on its cover."""

    spec: ReportSpec
    pdf: bytes
    pages: int
    title: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()
