"""PDF assessment reports: per unit (with its subtree, optionally one service), per service nationally, and the
leadership report; made on demand, in a batch (``survey reports make --all``) or on a schedule, and archived.

- :mod:`.spec`: what a report is (:class:`ReportSpec`) and what making one gives (:class:`MadeReport`);
- :mod:`.assemble`: the report's content from :mod:`survey.services.scores` (every figure comes from there) and
  the follow-up cases, as plain data;
- :mod:`.render`: that data as charts (:mod:`survey.charts`) and a print template, rendered by
  :mod:`survey.services.pdf` in worker processes (:mod:`.batch`);
- :mod:`.archive`: the files and their :class:`~survey.tables.ReportRun` rows.

Example::

    made = await make_report(ReportSpec("unit", "2026-Q3", unit="HN-BD", lang="en"))
    Path("hn-bd.pdf").write_bytes(made.pdf)
"""

from __future__ import annotations

from survey.services.reports.archive import ArchivedReport, archive_file, archive_report, list_runs, run_path
from survey.services.reports.make import make_report
from survey.services.reports.spec import (
    REPORT_KINDS,
    REPORT_LANGUAGES,
    MadeReport,
    ReportKind,
    ReportParameterError,
    ReportSkipped,
    ReportSpec,
    report_period,
)

__all__ = [
    "REPORT_KINDS",
    "REPORT_LANGUAGES",
    "ArchivedReport",
    "MadeReport",
    "ReportKind",
    "ReportParameterError",
    "ReportSkipped",
    "ReportSpec",
    "archive_file",
    "archive_report",
    "list_runs",
    "make_report",
    "report_period",
    "run_path",
]
