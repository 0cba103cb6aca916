"""The staff scores page: the scores of a user's scope (their unit and each unit under it) for a period chosen
from a menu (:data:`PERIOD_CHOICES`), optionally broken down by service or month (:data:`SCORE_BREAKDOWNS`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from questionnaires.model import Questionnaire, Text
from survey.charts import IntervalRow, chart_size, interval_chart, svg_data_uri
from survey.i18n import pick, t
from survey.services.accounts import StaffIdentity
from survey.services.questionnaires import latest_version
from survey.services.scores.contract import (
    CriterionResult,
    FunnelUnit,
    ScoreGroup,
    ScoreReport,
    ScoreRequest,
    TestResult,
)
from survey.services.scores.errors import ScoreParameterError
from survey.services.scores.service import load_score_data, score_loaded
from survey.settings import get_settings
from survey.tables import Service, Unit

__all__ = [
    "CHART_SCREEN_PX_PER_MM",
    "CHART_WIDTH_MM",
    "DEFAULT_PERIOD_CHOICE",
    "DEFAULT_SCORE_QUESTIONNAIRE",
    "PERIOD_CHOICES",
    "SCORE_BREAKDOWNS",
    "SCORE_QUESTIONNAIRES",
    "PageChart",
    "ScopeScores",
    "ScoreRow",
    "check_questionnaire",
    "criteria_chart",
    "period_for",
    "scope_scores",
]

SCORE_QUESTIONNAIRES: tuple[str, ...] = ("post-call", "counter", "online-service")
DEFAULT_SCORE_QUESTIONNAIRE = "counter"
PERIOD_CHOICES: tuple[str, ...] = (
    "this_month", "last_month", "this_quarter", "last_quarter", "this_year", "last_12_months",
)
DEFAULT_PERIOD_CHOICE = "this_quarter"
SCORE_BREAKDOWNS: tuple[str, ...] = ("service", "month")
# The page's chart is drawn 110 mm wide (a report's is 170 mm) and shown a quarter larger than that on paper: a
# screen is read from further away than a page, and the stylesheet scales the image down to a phone's width.
CHART_WIDTH_MM = 110
CHART_SCREEN_PX_PER_MM = 1.25 * 96 / 25.4


def period_for(choice: str, today: date) -> str:
    """The period of a menu ``choice``, counted from the local day ``today``, as the scores service takes it.

    The last 12 months are the twelve calendar months that end with the current one.

    >>> [period_for(choice, date(2026, 1, 15)) for choice in PERIOD_CHOICES]
    ['2026-01', '2025-12', '2026-Q1', '2025-Q4', '2026', '2025-02-01..2026-01-31']
    """
    month = today.year * 12 + today.month - 1  # months since year 0, January = 0
    quarter = month // 3

    def first_of(index: int) -> date:
        return date(index // 12, index % 12 + 1, 1)

    if choice == "this_month":
        return f"{first_of(month):%Y-%m}"
    if choice == "last_month":
        return f"{first_of(month - 1):%Y-%m}"
    if choice == "this_quarter":
        return f"{quarter // 4}-Q{quarter % 4 + 1}"
    if choice == "last_quarter":
        return f"{(quarter - 1) // 4}-Q{(quarter - 1) % 4 + 1}"
    if choice == "this_year":
        return str(today.year)
    if choice == "last_12_months":
        return f"{first_of(month - 11).isoformat()}..{(first_of(month + 1) - timedelta(days=1)).isoformat()}"
    raise ScoreParameterError("period", f"{choice!r} is not allowed; allowed: {', '.join(PERIOD_CHOICES)}")


@dataclass(frozen=True)
class ScoreRow:
    """One line of the scores table: a unit's subtree (the user's own unit or one of its children), for one
    service or month when broken down, with the scores service's group and what the page shows beside it."""

    unit_code: str
    unit_name: Text
    is_scope: bool  # the user's own unit (all of its subtree), not one of its children
    group: ScoreGroup | None  # None: nothing to score (no response of a broken-down unit)
    key: str | None = None  # the service code or month of the breakdown
    key_name: Text | None = None
    funnel: dict[str, FunnelUnit] = field(default_factory=dict)  # by criterion: where the unit falls among its peers

    @property
    def trend(self) -> TestResult | None:
        """Mann–Kendall over the monthly index of the twelve months ending with the period."""
        return self.trend_of(None)

    def trend_of(self, criterion_id: str | None) -> TestResult | None:
        """Mann–Kendall over the monthly values of a criterion's share (``None``: the index) in the twelve months
        ending with the period."""
        if self.group is None:
            return None
        return next((test for test in self.group.tests if test.comparison == "trend" and test.test == "mann_kendall"
                     and test.criterion == criterion_id), None)

    def criterion(self, criterion_id: str) -> CriterionResult | None:
        if self.group is None:
            return None
        return next((c for c in self.group.criteria if c.id == criterion_id), None)


@dataclass(frozen=True)
class PageChart:
    """A chart of :mod:`survey.charts` as a page embeds it: the ``<img>``'s ``src`` (a ``data:`` URI) and its size
    in CSS pixels (:data:`CHART_SCREEN_PX_PER_MM`; the stylesheet scales it down to a narrow screen)."""

    svg: str

    @property
    def src(self) -> str:
        return svg_data_uri(self.svg)

    @property
    def width(self) -> int:
        return round(chart_size(self.svg)[0] * CHART_SCREEN_PX_PER_MM)

    @property
    def height(self) -> int:
        return round(chart_size(self.svg)[1] * CHART_SCREEN_PX_PER_MM)


@dataclass(frozen=True)
class ScopeScores:
    """The scores of a user's scope: their unit and each of its children, as the scores service computes them."""

    questionnaire: Questionnaire
    choice: str
    period: str
    start: date
    end: date  # the last day included
    by: str | None
    min_n: int
    rows: tuple[ScoreRow, ...]

    @property
    def headline(self) -> str | None:
        """What the bar shows: ``None`` for the composite index, else the id of the criterion standing in for it
        (a questionnaire without an index: its overall criterion, or its first)."""
        if self.questionnaire.index is not None or not self.questionnaire.criteria:
            return None
        ids = [criterion.id for criterion in self.questionnaire.criteria]
        return "overall" if "overall" in ids else ids[0]

    @property
    def has_nps(self) -> bool:
        return any(row.group is not None and row.group.nps is not None for row in self.rows)

    @property
    def has_ces(self) -> bool:
        return any(row.group is not None and row.group.ces is not None for row in self.rows)

    def criteria_chart(self, language: str) -> PageChart | None:
        """The criteria chart (:func:`criteria_chart`) of the user's own unit (the scope line of the table);
        ``None`` when broken down (the scope has a line per service or month) or without a response."""
        scope = self.rows[0] if self.rows and self.rows[0].is_scope else None
        if self.by is not None or scope is None or scope.group is None:
            return None
        return criteria_chart(self.questionnaire, scope.group, language)


def criteria_chart(questionnaire: Questionnaire, group: ScoreGroup, language: str) -> PageChart | None:
    """The satisfied share of each criterion of ``group`` with its 95% interval and the questionnaire's target, as
    :func:`survey.charts.interval_chart` draws it, in ``language``.

    The figures are the scores service's, as in the tables; a suppressed criterion shows why instead of a point.
    ``None`` when there is nothing to draw: every criterion suppressed.
    """
    rows: list[IntervalRow] = []
    targets: set[float | None] = set()
    for criterion in questionnaire.criteria:
        result = next((c for c in group.criteria if c.id == criterion.id), None)
        if result is None:
            continue
        label = pick(criterion.title, language)
        targets.add(result.target)
        if result.suppressed or result.satisfied_share is None:
            reason = (result.suppression_reason or "").replace("=", " = ")  # as the table writes it
            rows.append(IntervalRow(label, None, None, None, note=t("staff.scores.suppressed", language,
                                                                     reason=reason)))
        else:
            low, high = result.ci if result.ci else (None, None)
            rows.append(IntervalRow(label, result.satisfied_share, low, high))
    if not any(row.value is not None for row in rows):
        return None
    # one line when the criteria share their target (the bundled questionnaires do), none when they differ
    target = next(iter(targets)) if len(targets) == 1 else None
    return PageChart(interval_chart(
        rows, target=target, target_label=t("staff.scores.chart_target", language) if target is not None else None,
        x_label=t("staff.scores.chart_axis", language), width_mm=CHART_WIDTH_MM))


def check_questionnaire(key: str) -> None:
    """Raise :class:`ScoreParameterError` unless ``key`` is one of the staff pages' :data:`SCORE_QUESTIONNAIRES`."""
    if key not in SCORE_QUESTIONNAIRES:
        raise ScoreParameterError("questionnaire",
                                  f"{key!r} is not allowed; allowed: {', '.join(SCORE_QUESTIONNAIRES)}")


async def scope_scores(identity: StaffIdentity, *, questionnaire: str = DEFAULT_SCORE_QUESTIONNAIRE,
                       period: str = DEFAULT_PERIOD_CHOICE, by: str | None = None,
                       today: date | None = None) -> ScopeScores:
    """The scores of ``identity``'s unit (its whole subtree) and of each unit under it.

    Two requests scored from one reading (:func:`~survey.services.scores.service.load_score_data`, what
    :func:`~survey.services.scores.service.compute_scores` does for each), limited to the user's
    subtree: the user's unit (the
    numbers of ``survey scores --unit CODE --period P``) and its children compared with each other (those of
    ``survey scores --unit CODE --by subunit``), whatever the number of children. ``period`` is a
    menu choice (:data:`PERIOD_CHOICES`), ``by`` an optional breakdown (:data:`SCORE_BREAKDOWNS`).
    Raises :class:`ScoreParameterError` naming the parameter and the allowed values.
    """
    check_questionnaire(questionnaire)
    if by is not None and by not in SCORE_BREAKDOWNS:
        raise ScoreParameterError("by", f"{by!r} is not allowed; allowed: {', '.join(SCORE_BREAKDOWNS)}")
    if today is None:
        today = datetime.now(ZoneInfo(get_settings().timezone)).date()
    period_text = period_for(period, today)
    own_name: Text = {"vi": identity.unit_name_vi, "en": identity.unit_name_en}
    units: list[tuple[str, Text, bool]] = [(identity.unit_code, own_name, True)]
    below = await Unit.select(Unit.code, Unit.name_vi, Unit.name_en).where(
        Unit.parent == identity.unit_id).order_by(Unit.code)
    units += [(unit["code"], {"vi": unit["name_vi"], "en": unit["name_en"]}, False) for unit in below]
    service_names: dict[str, Text] = {}
    if by == "service":
        services = await Service.select(Service.code, Service.name_vi, Service.name_en)
        service_names = {s["code"]: {"vi": s["name_vi"], "en": s["name_en"]} for s in services}
    rows: list[ScoreRow] = []
    breakdown: tuple[str, ...] = (by,) if by else ()
    own = ScoreRequest(questionnaire=questionnaire, period=period_text, unit=identity.unit_code, by=breakdown,
                       comments=False)
    # every child of the user's unit, each with its subtree, in one pass: ``--by subunit``
    below = ScoreRequest(questionnaire=questionnaire, period=period_text, unit=identity.unit_code,
                         by=("subunit", *breakdown), comments=False)
    # read once for both (what compute_scores would read for each), scored twice
    data = await load_score_data(questionnaire, [own.period_range], unit=identity.unit_code, by=breakdown,
                                 also_by=[below.by] if len(units) > 1 else [], visible_path=identity.unit_path)
    report = await score_loaded(data, own, visible_path=identity.unit_path)
    reports: list[tuple[ScoreReport, list[tuple[str, Text, bool]], str | None]] = [(report, [units[0]], None)]
    if len(units) > 1:
        below_report = await score_loaded(data, below, visible_path=identity.unit_path)
        reports.append((below_report, units[1:], "subunit"))
    for scored, lines, dimension in reports:
        for code, name, is_scope in lines:
            groups = [g for g in scored.groups if dimension is None or g.subunit == code]
            funnel = {point.criterion: point for point in scored.funnel if point.unit == code}
            if not groups:
                rows.append(ScoreRow(code, name, is_scope, None, funnel=funnel))
            for group in groups:
                key = None if by is None else getattr(group, by)
                rows.append(ScoreRow(code, name, is_scope, group, key=key,
                                     key_name=service_names.get(key) if by == "service" and key else None,
                                     funnel=funnel))
    published = await latest_version(questionnaire)
    return ScopeScores(questionnaire=published.questionnaire, choice=period, period=report.period,
                       start=date.fromisoformat(report.start), end=date.fromisoformat(report.end), by=by,
                       min_n=report.min_n, rows=tuple(rows))
