"""The quality team's dashboard (``/staff/``): for a scope (the user's unit or a unit under it) and a period, the
index against its target, the criteria with their intervals, a twelve-month sparkline of each criterion, the
children × criteria heatmap, the funnel plot, and the links that drill down from each figure to the responses
behind it.

Every figure is the scores service's (:func:`~survey.services.scores.service.score_loaded` over data read once by
:func:`~survey.services.scores.service.load_score_data`): the scope's report (with its tests and funnel), its
children's (``by`` subunit) and its months over the trend's window. A drill-down link carries the filter of
``/staff/responses`` (:class:`survey.services.browsing.ResponseFilter`) that selects exactly the responses a
figure counts: the group's n for the index, the criterion's n (those who answered one of its items) for a criterion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from matplotlib.colors import Normalize

from questionnaires.model import CHANNELS, Questionnaire, Text
from scoring import TargetPosition, against_target
from survey.chart_frame import axis_limits
from survey.i18n import pick, t
from survey.screen_charts import funnel_svg
from survey.services.accounts import StaffIdentity, can_see, scope_prefix
from survey.services.scores.contract import CriterionResult, ScoreGroup, ScoreReport, ScoreRequest, TestResult
from survey.services.scores.errors import ScoreParameterError
from survey.services.scores.funnels import funnel_view
from survey.services.scores.page import (
    DEFAULT_PERIOD_CHOICE,
    DEFAULT_SCORE_QUESTIONNAIRE,
    check_questionnaire,
    period_for,
)
from survey.services.scores.periods import month_label, parse_period, twelve_months
from survey.services.scores.service import load_score_data, score_loaded
from survey.settings import get_settings

__all__ = ["HEAT_BANDS", "Dashboard", "DashboardChoice", "HeatRow", "dashboard", "SPARK_HEIGHT", "SPARK_WIDTH"]

SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 132.0, 36.0, 4.0
HEAT_BANDS = 8  # staff.css colours band N with heat_colormap()((N + 0.5) / HEAT_BANDS)
ALPHA = 0.05  # a marker shows where a test's q-value (Benjamini–Hochberg over the report's tests) is below it


@dataclass(frozen=True)
class DashboardChoice:
    """What the dashboard shows: a questionnaire, a period of the menu, a unit of the user's subtree (empty: their
    own), a service and a channel (empty: all)."""

    questionnaire: str = DEFAULT_SCORE_QUESTIONNAIRE
    period: str = DEFAULT_PERIOD_CHOICE
    unit: str = ""
    service: str = ""
    channel: str = ""

    def query(self, **changes: str) -> dict[str, str]:
        """The choice as query parameters, with ``changes`` (empty values left out)."""
        values = {"questionnaire": self.questionnaire, "period": self.period, "unit": self.unit,
                  "service": self.service, "channel": self.channel, **changes}
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True)
class SparkPoint:
    month: str  # YYYY-MM
    share: float | None  # None: below the minimum n (or no answer) that month
    n: int
    x: float
    y: float | None


@dataclass(frozen=True)
class CriterionLine:
    """One criterion of the scope: the scores service's result, its tests against the previous period and over the
    twelve months, and its monthly shares (the sparkline)."""

    id: str
    title: Text
    result: CriterionResult
    previous: TestResult | None
    trend: TestResult | None
    spark: tuple[SparkPoint, ...]

    @property
    def change(self) -> str | None:
        """``up`` or ``down`` when the change since the previous period is significant (q < 0.05), else None."""
        return _direction(self.previous)

    @property
    def trend_direction(self) -> str | None:
        """``up`` or ``down`` when the twelve-month trend is significant (q < 0.05), else None."""
        return _direction(self.trend)

    @property
    def segments(self) -> list[str]:
        """The sparkline's polylines: consecutive months with a share, as SVG ``points``."""
        out: list[list[str]] = [[]]
        for point in self.spark:
            if point.y is None:
                if out[-1]:
                    out.append([])
                continue
            out[-1].append(f"{point.x:.1f},{point.y:.1f}")
        return [" ".join(segment) for segment in out if segment]

    @property
    def shown_points(self) -> list[SparkPoint]:
        return [point for point in self.spark if point.y is not None]


def _direction(test: TestResult | None) -> str | None:
    if test is None or test.suppressed or test.q_value is None or test.q_value >= ALPHA:
        return None
    value = test.details.get("risk_difference", test.effect_size)
    if value is None:
        value = test.statistic
    if value is None or value == 0:
        return None
    return "up" if value > 0 else "down"


@dataclass(frozen=True)
class HeatCell:
    criterion: str
    result: CriterionResult | None
    # the colour band of a shown share, 0 (lowest) to HEAT_BANDS - 1, over the reports' heatmap colours and range
    # (``td.heat-N`` in staff.css); None when suppressed
    band: int | None


@dataclass(frozen=True)
class HeatRow:
    """A child unit of the scope (with its subtree) across the criteria."""

    unit_code: str
    unit_name: Text
    has_children: bool
    group: ScoreGroup | None  # None: no response in the period
    cells: tuple[HeatCell, ...]


@dataclass(frozen=True)
class Dashboard:
    choice: DashboardChoice
    questionnaire: Questionnaire
    period: str  # as the scores service names it (the responses list's ``period``)
    start: date
    end: date  # the last day included
    min_n: int
    scope_code: str
    scope_name: Text
    scope_path: str
    trail: tuple[tuple[str, Text], ...]  # the units from the user's own down to the scope's parent
    group: ScoreGroup | None
    criteria: tuple[CriterionLine, ...]
    heat: tuple[HeatRow, ...]
    funnel: dict[str, Any] | None

    @property
    def index_position(self) -> TargetPosition | None:
        """Where the index lies against its target, from its 95% interval (:func:`scoring.against_target`)."""
        index = self.group.index if self.group else None
        if index is None or index.suppressed or not index.ci or index.target is None:
            return None
        return against_target(index.ci, index.target)

    def drill(self, *, unit: str | None = None, criterion: str | None = None) -> dict[str, str]:
        """The ``/staff/responses`` filter of the responses behind a figure: the scope's (or a child ``unit``'s)
        responses in the period, of those who answered ``criterion`` when given."""
        values = {"questionnaire": self.questionnaire.id, "period": self.period, "unit": unit or self.scope_code,
                  "service": self.choice.service, "channel": self.choice.channel, "criterion": criterion or ""}
        return {key: value for key, value in values.items() if value}

    def funnel_svg(self, language: str) -> str | None:
        """The funnel plot as inline SVG (:func:`survey.screen_charts.funnel_svg`), ``None`` without a funnel."""
        if self.funnel is None:
            return None
        c = self.funnel["curve"]
        criterion = next(x for x in self.questionnaire.criteria if x.id == self.funnel["criterion_id"])
        return funnel_svg([(p["n"], p["share"], p["flagged"]) for p in self.funnel["points"]], c["n"],
                          c["lower_95"], c["upper_95"], c["lower_998"], c["upper_998"], target=self.funnel["target"],
                          label=t("staff.dashboard.funnel_alt", language, criterion=pick(criterion.title, language),
                                  units=len(self.funnel["points"])),
                          x_label=t("staff.dashboard.funnel_x", language),
                          y_label=t("staff.scores.chart_axis", language))


def _test(group: ScoreGroup | None, comparison: str, criterion: str, *tests: str) -> TestResult | None:
    """The first of ``tests`` (in that order) that ran on ``criterion`` for ``group``."""
    if group is None:
        return None
    for name in tests:
        found = next((x for x in group.tests if x.comparison == comparison and x.criterion == criterion
                      and x.test == name and x.pvalue is not None and not x.suppressed), None)
        if found is not None:
            return found
    return None


def _spark(monthly: ScoreReport, months: list[str], criterion: str) -> tuple[SparkPoint, ...]:
    by_month = {g.month: g for g in monthly.groups}
    shares: list[tuple[float | None, int]] = []
    for month in months:
        g = by_month.get(month)
        result = next((c for c in g.criteria if c.id == criterion), None) if g else None
        shown = result is not None and not result.suppressed and result.satisfied_share is not None
        shares.append((result.satisfied_share if shown and result else None, result.n if result else 0))
    present = [share for share, _ in shares if share is not None]
    low, high = (min(present), max(present)) if present else (0.0, 1.0)
    if high - low < 0.1:  # a flat line stays flat-looking: at least ten points of range
        middle = (low + high) / 2
        low, high = max(0.0, middle - 0.05), min(1.0, middle + 0.05)
        if high - low < 0.1:
            low, high = (0.0, 0.1) if low == 0.0 else (0.9, 1.0)
    step = (SPARK_WIDTH - 2 * SPARK_PAD) / max(1, len(months) - 1)
    usable = SPARK_HEIGHT - 2 * SPARK_PAD
    points = []
    for i, (month, (share, n)) in enumerate(zip(months, shares, strict=True)):
        y = None if share is None else SPARK_PAD + usable * (1 - (share - low) / (high - low))
        points.append(SparkPoint(month, share, n, SPARK_PAD + i * step, y))
    return tuple(points)


def _heat_norm(values: list[float]) -> Normalize:
    low, high = axis_limits(values, "share", top=True) if values else (0.0, 1.0)
    return Normalize(vmin=low, vmax=high)


async def dashboard(identity: StaffIdentity, choice: DashboardChoice, *, today: date | None = None) -> Dashboard:
    """The dashboard of ``choice`` for ``identity``. Raises :class:`ScoreParameterError` naming a bad choice (an
    unknown questionnaire, period, service or channel, or a unit outside the user's subtree)."""
    from survey.tables import Unit

    check_questionnaire(choice.questionnaire)
    if today is None:
        today = datetime.now(ZoneInfo(get_settings().timezone)).date()
    period = parse_period(period_for(choice.period, today))  # names a choice not on the menu
    if choice.channel and choice.channel not in CHANNELS:
        raise ScoreParameterError("channel", f"{choice.channel!r} is not allowed; allowed: {', '.join(CHANNELS)}")
    scope_code = choice.unit or identity.unit_code
    found = await Unit.select(Unit.id, Unit.code, Unit.path, Unit.name_vi, Unit.name_en).where(
        Unit.code == scope_code).first()
    if found is None or not can_see(identity, found["path"]):
        raise ScoreParameterError("unit", f"no unit {scope_code!r} among your units")
    window = twelve_months(period)
    service = choice.service or None
    channel = choice.channel or None
    data = await load_score_data(choice.questionnaire, [period], channel=channel, service=service, covering=[window],
                                 unit=scope_code, also_by=[("subunit",)], visible_path=scope_prefix(identity))
    q = data.questionnaire

    def request(on: str, by: tuple[str, ...] = ()) -> ScoreRequest:
        return ScoreRequest(q.id, on, unit=scope_code, service=service, channel=channel, by=by, comments=False)

    visible = scope_prefix(identity)
    scope_report = await score_loaded(data, request(period.label), visible_path=visible)
    below_report = await score_loaded(data, request(period.label, ("subunit",)), visible_path=visible, trend=False)
    monthly = await score_loaded(data, request(window.label, ("month",)), visible_path=visible, comparisons=False,
                                 trend=False)
    group = scope_report.groups[0] if scope_report.groups and scope_report.groups[0].n else None
    first_month = window.start.year * 12 + window.start.month - 1
    months = [month_label(first_month + i) for i in range(12)]
    lines = []
    for criterion in q.criteria:
        result = next((c for c in group.criteria if c.id == criterion.id), None) if group else None
        if result is None:
            continue
        lines.append(CriterionLine(
            criterion.id, criterion.title, result, _test(group, "previous_period", criterion.id, "two_proportion"),
            _test(group, "trend", criterion.id, "mann_kendall", "cochran_armitage"),
            _spark(monthly, months, criterion.id)))

    children = await Unit.select(Unit.id, Unit.code, Unit.name_vi, Unit.name_en).where(
        Unit.parent == found["id"]).order_by(Unit.code)
    parents_of = set(data.units.parent.values())  # the units that have units under them
    groups = {g.subunit: g for g in below_report.groups}
    shown = [c.satisfied_share for g in groups.values() for c in g.criteria
             if not c.suppressed and c.satisfied_share is not None and g.subunit != scope_code]
    norm = _heat_norm(shown)
    heat = []
    for child in children:
        g = groups.get(child["code"])
        cells = []
        for criterion in q.criteria:
            result = next((c for c in g.criteria if c.id == criterion.id), None) if g else None
            band = None
            if result is not None and not result.suppressed and result.satisfied_share is not None:
                band = min(HEAT_BANDS - 1, max(0, int(float(norm(result.satisfied_share)) * HEAT_BANDS)))
            cells.append(HeatCell(criterion.id, result, band))
        heat.append(HeatRow(child["code"], {"vi": child["name_vi"], "en": child["name_en"]},
                            child["id"] in parents_of, g if g is not None and g.n else None, tuple(cells)))
    if heat:
        funnel = funnel_view(below_report, q, "vi", focus={row.unit_code for row in heat})
    else:
        funnel = funnel_view(scope_report, q, "vi", focus={scope_code}, highlight={scope_code})

    trail: list[tuple[str, Text]] = []
    if scope_code != identity.unit_code:
        codes = [c for c in found["path"].strip("/").split("/") if c]
        own = codes.index(identity.unit_code) if identity.unit_code in codes else 0
        wanted = codes[own:-1]
        names = {row["code"]: {"vi": row["name_vi"], "en": row["name_en"]} for row in await Unit.select(
            Unit.code, Unit.name_vi, Unit.name_en).where(Unit.code.is_in(wanted))} if wanted else {}
        trail = [(code, names[code]) for code in wanted if code in names]
    return Dashboard(choice=choice, questionnaire=q, period=scope_report.period, start=period.start,
                     end=date.fromisoformat(scope_report.end), min_n=scope_report.min_n, scope_code=scope_code,
                     scope_name={"vi": found["name_vi"], "en": found["name_en"]}, scope_path=found["path"],
                     trail=tuple(trail), group=group,
                     criteria=tuple(lines), heat=tuple(heat), funnel=funnel)
