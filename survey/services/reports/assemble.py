"""A report's content as plain data (picklable, for a rendering process). Every figure comes from
:mod:`survey.services.scores` (and so from :mod:`scoring`), each questionnaire read once per batch through
:class:`Sources`; nothing about a group below its minimum n is put in, only that n.

A unit report has a part per questionnaire with answers in its scope: the executive summary (the index against
its target and the previous period, n, response rate, findings in sentences), the criteria with their intervals,
the distribution of each rating question, the 12-month trend with its test, the funnel of the unit among the units
of its level, the results by channel, comments grouped by the criterion their author rated lowest; then the
follow-up cases and the methodology. The leadership report has the national part, the league table of the units
under the centre, the heatmap of units × criteria, the five best and worst, the movers, the services ranked and the
follow-up compliance by unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from questionnaires.model import Criterion, Questionnaire
from scoring import SmallSampleRule, bh_q_values, difference_of_estimates
from survey.i18n import N_, pick, t
from survey.services.extract import ResponseScope, extract_comments, extract_responses
from survey.services.followups import sla_figures
from survey.services.pdf import format_number, format_share
from survey.services.reports.spec import ReportParameterError, ReportSpec
from survey.services.scores import ScoreGroup, ScoreParameterError, ScoreReport, ScoreRequest, mask_contact_details
from survey.services.scores.comments import CommentFilter, newest_commented
from survey.services.scores.funnels import funnel_view
from survey.services.scores.methodology import methodology
from survey.services.scores.periods import Period, add_months, parse_period, period_name, twelve_months
from survey.services.scores.queries import published_questionnaires
from survey.services.scores.service import ScoreData, load_score_data, score_loaded
from survey.settings import get_settings
from survey.tables import Service, Unit

__all__ = ["ALPHA", "COMMENTS_SHOWN", "Sources", "assemble", "report_periods", "twelve_months"]

ALPHA = 0.05  # significance markers: q (or the headline's p) below it
COMMENTS_SHOWN = 24  # the newest comments a report quotes (from groups of min_n_comments)
MOVERS = 5
# texts chosen at run time
KIND_TITLES = {"unit": N_("report.kind.unit"), "service": N_("report.kind.service"),
               "leadership": N_("report.kind.leadership")}
N_("report.findings.target_met"), N_("report.findings.target_missed"), N_("report.findings.rose")
N_("report.findings.fell"), N_("report.findings.trend_up"), N_("report.findings.trend_down")
N_("report.findings.funnel_low"), N_("report.findings.funnel_high")
N_("report.findings.criterion_rose"), N_("report.findings.criterion_fell")


def previous(period: Period) -> Period:
    """The period before ``period``, labelled as a user writes it (``2026-Q2`` before ``2026-Q3``)."""
    return parse_period(period_name(period.previous()))


def report_periods(period: Period) -> list[Period]:
    """What a report of ``period`` scores: the period, the one before and the twelve months."""
    return [period, previous(period), twelve_months(period)]


@dataclass
class Sources:
    """Data read once and shared by the reports of one batch: per questionnaire, its :class:`ScoreData` for the
    periods of :func:`report_periods`; and the names of units and services."""

    period: Period
    data: dict[str, ScoreData] = field(default_factory=dict)
    units: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)

    async def get(self, questionnaire: str) -> ScoreData:
        if questionnaire not in self.data:
            # the period with its comparisons; the previous period and the twelve months only for their measures
            # and trend (their own comparisons are not reported), so only their days are read
            self.data[questionnaire] = await load_score_data(questionnaire, [self.period],
                                                             covering=report_periods(self.period)[1:])
        return self.data[questionnaire]

    async def catalogue(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        if not self.units:
            self.units = await Unit.select(Unit.id, Unit.code, Unit.name_vi, Unit.name_en, Unit.path, Unit.level,
                                           Unit.parent).order_by(Unit.path)
            self.services = await Service.select(Service.id, Service.code, Service.name_vi,
                                                 Service.name_en).order_by(Service.code)
        return self.units, self.services


def _name(row: dict[str, Any] | None, lang: str) -> str:
    if row is None:
        return ""
    return str(row["name_vi"] if lang == "vi" else row["name_en"] or row["name_vi"])


class _Scorer:
    """Scores one questionnaire's loaded data for the requests of one report."""

    def __init__(self, data: ScoreData, spec: ReportSpec, unit: str | None, service: str | None) -> None:
        self.data, self.spec, self.unit, self.service = data, spec, unit, service

    async def __call__(self, period: Period, by: tuple[str, ...] = (), *, comments: bool = False,
                       unit: str | None = None, comparisons: bool = False, trend: bool = False) -> ScoreReport:
        request = ScoreRequest(self.data.questionnaire.id, period.label, unit=unit or self.unit, service=self.service,
                               by=by, comments=comments)
        try:
            return await score_loaded(self.data, request, comparisons=comparisons, trend=trend or comparisons)
        except ScoreParameterError as error:
            raise ReportParameterError(error.parameter, str(error).split(": ", 1)[-1]) from None


def _criteria(q: Questionnaire) -> list[Criterion]:
    return [c for c in q.criteria if q.questions_of(c.id)]


TEST_NAMES = {"mann_kendall": "Mann–Kendall", "cochran_armitage": "Cochran–Armitage", "two_proportion": "z",
              "fisher_exact": "Fisher", "mann_whitney": "Mann–Whitney"}


def _marker(test: Any) -> dict[str, Any] | None:
    if test is None or test.suppressed or test.pvalue is None:
        return None
    q = test.q_value
    return {"statistic": test.statistic, "pvalue": test.pvalue, "q": q, "significant": q is not None and q < ALPHA,
            "effect": test.effect_size, "test": test.test, "test_name": TEST_NAMES.get(test.test, test.test)}


def _tests(group: ScoreGroup, comparison: str, test: str) -> dict[str | None, Any]:
    return {x.criterion: x for x in group.tests if x.comparison == comparison and x.test == test}


def _index_change(now: ScoreGroup | None, before: ScoreGroup | None) -> dict[str, Any] | None:
    """The index against the previous period: the headline comparison, one pre-specified test (so its p is not
    adjusted): the difference of two independent estimates from their intervals."""
    a = now.index if now else None
    b = before.index if before else None
    if a is None or b is None or a.value is None or b.value is None or not a.ci or not b.ci:
        return None
    result = difference_of_estimates(a.value, (a.ci[0], a.ci[1]), b.value, (b.ci[0], b.ci[1]))
    ci = result.confidence_interval()
    return {"before": b.value, "difference": result.difference, "ci": [ci.low, ci.high], "z": result.statistic,
            "pvalue": result.pvalue, "significant": result.pvalue < ALPHA}


async def _comment_groups(data: ScoreData, spec: ReportSpec, period: Period, group: ScoreGroup,
                          scope_path: str, service_id: int | None) -> dict[str, Any]:
    """The newest comments of the scope, each under the criterion its author rated lowest (below the satisfied
    threshold), else under "satisfied"; masked, and only when the group reaches the comments minimum."""
    q = data.questionnaire
    comments = group.comments
    text_ids = [x.id for x in q.questions if x.type == "text"]
    result: dict[str, Any] = {"n": comments.n if comments else 0, "shown": False, "reason": None, "groups": []}
    if comments is None or not text_ids:
        return result
    if comments.suppressed:
        result["reason"] = comments.suppression_reason
        return result
    start, end = period.bounds(get_settings().timezone)
    scope = ResponseScope(q.id, start, end, scope_path, service_id, None)
    newest = (await newest_commented(scope, [CommentFilter()], COMMENTS_SHOWN))[0]
    texts = await extract_comments(scope, text_ids, response_ids=newest) if newest else []
    # the few authors' ratings, read for them alone
    numeric = [x.id for x in q.questions if x.is_numeric]
    frame = await extract_responses(replace(scope, response_ids=tuple(newest)), numeric) if newest else None
    row_of = {} if frame is None else {int(r): i for i, r in enumerate(frame.response_id.tolist())}
    criteria = _criteria(q)
    zone = ZoneInfo(get_settings().timezone)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for comment in texts:
        if not (comment.text or "").strip():
            continue
        row = row_of.get(comment.response_id)
        lowest, lowest_gap = "satisfied", 0.0
        if row is not None and frame is not None:
            for criterion in criteria:
                values = [frame.answers[row, frame.question_ids.index(x.id)] for x in q.questions_of(criterion.id)
                          if x.id in frame.question_ids]
                values = [v for v in values if v == v]
                if values:
                    gap = float(np.mean(values)) - criterion.satisfied_threshold
                    if gap < lowest_gap:
                        lowest, lowest_gap = criterion.id, gap
        grouped.setdefault(lowest, []).append({
            "text": mask_contact_details(comment.text or ""),
            "date": comment.submitted_at.astimezone(zone).strftime("%d/%m/%Y")})
    order = [c.id for c in criteria] + ["satisfied"]
    labels = {c.id: pick(c.title, spec.lang) for c in criteria}
    labels["satisfied"] = t("report.comments.satisfied", spec.lang)
    result["groups"] = [{"criterion": key, "label": labels[key], "items": grouped[key]} for key in order
                        if key in grouped]
    result["shown"] = True
    return result


def _findings(part: dict[str, Any], lang: str) -> list[str]:
    """The one to three findings that matter, in sentences: the index against its target, the change since the
    previous period when significant, the weakest criterion, a significant trend, a flag on the funnel."""
    out: list[str] = []
    index = part["index"]
    if index is None and part["has_index"]:
        return [t("report.findings.too_few", lang, n=part["n"], min_n=part["min_n"])]
    if index is not None and index["target"] is not None:
        key = "report.findings.target_met" if index["met"] else "report.findings.target_missed"
        out.append(t(key, lang, value=format_number(index["value"], lang),
                     target=format_number(index["target"], lang, 0)))
    change = part["change"]
    if change and change["significant"]:
        key = "report.findings.rose" if change["difference"] > 0 else "report.findings.fell"
        out.append(t(key, lang, points=format_number(abs(change["difference"]), lang), previous=part["previous_label"]))
    shown = [c for c in part["criteria"] if c["share"] is not None]
    if not shown and index is None:
        return [t("report.findings.too_few", lang, n=part["n"], min_n=part["min_n"])]
    for c in shown:
        moved = c["previous"]
        if index is None and moved and moved["significant"] and len(out) < 2:
            key = "report.findings.criterion_rose" if (moved["effect"] or 0) > 0 else "report.findings.criterion_fell"
            out.append(t(key, lang, criterion=c["label"], share=format_share(c["share"], lang),
                         previous=part["previous_label"]))
    if shown:
        weakest = min(shown, key=lambda c: c["share"])
        share = format_share(weakest["share"], lang)
        out.append(t("report.findings.weakest", lang, criterion=weakest["label"], share=share))
    trend = part["trend"]["test"]
    if trend and trend["significant"] and len(out) < 3:
        key = "report.findings.trend_up" if (trend["statistic"] or 0) > 0 else "report.findings.trend_down"
        out.append(t(key, lang))
    funnel = part["funnel"]
    if funnel and funnel["flagged"] and len(out) < 3:
        key = "report.findings.funnel_low" if funnel["position"].startswith("below") else "report.findings.funnel_high"
        out.append(t(key, lang, criterion=funnel["criterion"]))
    return out[:3]


async def _part(data: ScoreData, spec: ReportSpec, scope_path: str, service_id: int | None) -> dict[str, Any] | None:
    """One questionnaire's part of a unit or service report; None when the scope has no answer to it."""
    q, lang, period = data.questionnaire, spec.lang, spec.period_range
    score = _Scorer(data, spec, spec.unit, spec.service)
    report = await score(period, comments=True, comparisons=True)
    group = report.groups[0] if report.groups else None
    if group is None or group.n == 0:
        return None
    rule_min = report.min_n
    earlier_report = await score(previous(period))
    before = earlier_report.groups[0] if earlier_report.groups else None
    criteria_defs = _criteria(q)
    peers = _tests(group, "vs_peers", "two_proportion")
    earlier = _tests(group, "previous_period", "two_proportion")
    criteria = []
    for c, result in zip(criteria_defs, group.criteria, strict=False):
        criteria.append({"id": c.id, "label": pick(c.title, lang), "n": result.n, "share": result.satisfied_share,
                         "ci": result.ci, "mean": result.mean, "target": result.target, "met": result.met,
                         "reason": result.suppression_reason, "peers": _marker(peers.get(c.id)),
                         "previous": _marker(earlier.get(c.id))})
    distributions = []
    for question in group.questions:
        definition = next(x for x in q.questions if x.id == question.id)
        if question.suppressed or definition.scale is None or question.type not in ("rating", "ces", "nps"):
            continue
        points = definition.scale.points
        distributions.append({"label": pick(definition.text, lang), "n": question.n,
                              "counts": [question.distribution.get(str(p), 0) for p in points],
                              "points": [pick({k: v.get(p, str(p)) for k, v in definition.scale.labels.items()}, lang)
                                         or str(p) for p in points]})
    window = twelve_months(period)
    monthly = await score(window, ("month",))
    overall = await score(window, trend=True)
    months = {g.month: g for g in monthly.groups}
    labels = [add_months(window.start, i).strftime("%Y-%m") for i in range(12)]
    trend_points = []
    for label in labels:
        g = months.get(label)
        index = g.index if g else None
        shown = index is not None and index.value is not None
        trend_points.append({"label": label, "value": index.value if shown else None,
                             "low": index.ci[0] if shown and index.ci else None,
                             "high": index.ci[1] if shown and index.ci else None, "n": g.n if g else 0})
    trend_group = overall.groups[0] if overall.groups else None
    trend_test = None
    criterion_trends = []
    if trend_group is not None:
        found = next((x for x in trend_group.tests if x.comparison == "trend" and x.criterion is None), None)
        trend_test = _marker(found)
        if trend_test is None:
            # a unit too thin for a monthly index: each criterion's monthly counts (Cochran–Armitage)
            titles = {c.id: pick(c.title, lang) for c in criteria_defs}
            for x in trend_group.tests:
                marked = _marker(x) if x.comparison == "trend" and x.test == "cochran_armitage" else None
                if marked and x.criterion in titles:
                    criterion_trends.append({**marked, "label": titles[x.criterion]})
    channels = []
    by_channel = await score(period, ("channel",))
    for g in by_channel.groups:
        index = g.index
        channels.append({"channel": g.channel, "n": g.n, "value": index.value if index else None,
                         "ci": index.ci if index else None, "reason": index.suppression_reason if index else None,
                         "cells": [c.satisfied_share for c in g.criteria]})
    index = None
    if group.index is not None and group.index.value is not None:
        index = {"value": group.index.value, "ci": group.index.ci, "target": group.index.target,
                 "met": group.index.met, "criteria": [pick(c.title, lang) for c in criteria_defs
                                                      if c.id in group.index.criteria]}
    part: dict[str, Any] = {
        "questionnaire": q.id, "title": pick(q.title, lang), "n": group.n, "min_n": rule_min,
        "min_n_comments": report.min_n_comments, "response_rate": group.response_rate,
        "index": index, "index_reason": group.index.suppression_reason if group.index else None,
        "has_index": q.index is not None,
        "previous_label": previous(period).label, "change": _index_change(group, before),
        "criteria": criteria, "distributions": distributions,
        "trend": {"points": trend_points, "test": trend_test, "criteria": criterion_trends},
        "funnel": funnel_view(report, q, lang, focus={spec.unit}, highlight={spec.unit}),
        "channels": channels,
        "comments": await _comment_groups(data, spec, period, group, scope_path, service_id),
        "nps": group.nps, "ces": group.ces,
    }
    part["findings"] = _findings(part, lang)
    return part


def _methods(lang: str) -> list[dict[str, str]]:
    """The methodology appendix in the report's language, for the rule the reports score with (the defaults of
    :class:`ScoreRequest`)."""
    request = ScoreRequest("counter", "2026")
    rule = SmallSampleRule(request.min_n, request.min_n_comments, request.min_n_inference)
    return [{"title": s.title, "text": s.text} for s in methodology(rule, lang=lang)]


async def _league(data: ScoreData, spec: ReportSpec, units: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The leadership part of one questionnaire: the units under the centre with their index and interval, the
    heatmap, the best and worst five, the movers and the services."""
    q, lang, period = data.questionnaire, spec.lang, spec.period_range
    score = _Scorer(data, spec, None, None)
    now_units = await score(period, ("subunit",), comparisons=True)
    before_units = await score(previous(period), ("subunit",))
    by_service = await score(period, ("service",))
    before = {g.subunit: g for g in before_units.groups}
    criteria_defs = _criteria(q)
    rows = []
    for g in now_units.groups:
        if g.subunit is None or g.subunit not in units:
            continue
        index = g.index
        value = index.value if index else None
        below = sum(1 for x in g.tests if x.comparison == "vs_peers" and x.test == "two_proportion"
                    and x.q_value is not None and x.q_value < ALPHA and (x.effect_size or 0) < 0)
        above = sum(1 for x in g.tests if x.comparison == "vs_peers" and x.test == "two_proportion"
                    and x.q_value is not None and x.q_value < ALPHA and (x.effect_size or 0) > 0)
        rows.append({"unit": g.subunit, "name": _name(units[g.subunit], lang), "n": g.n, "value": value,
                     "ci": index.ci if index and value is not None else None,
                     "reason": index.suppression_reason if index else None,
                     "cells": [c.satisfied_share for c in g.criteria], "above": above, "below": below,
                     "change": _index_change(g, before.get(g.subunit))})
    changes = [r["change"] for r in rows if r["change"]]
    qs = bh_q_values([c["pvalue"] for c in changes]) if changes else []
    for change, q_value in zip(changes, qs, strict=True):
        change["q"] = float(q_value)
        change["significant"] = float(q_value) < ALPHA
    shown = sorted((r for r in rows if r["value"] is not None), key=lambda r: -r["value"])
    movers = sorted((r for r in rows if r["change"]), key=lambda r: -abs(r["change"]["difference"]))[:MOVERS]
    services = []
    names = {s["code"]: _name(s, lang) for s in (await Service.select(Service.code, Service.name_vi,
                                                                      Service.name_en))}
    for g in by_service.groups:
        index = g.index
        services.append({"service": g.service, "name": names.get(g.service or "", g.service or "–"), "n": g.n,
                         "value": index.value if index else None, "ci": index.ci if index else None,
                         "reason": index.suppression_reason if index else None})
    services.sort(key=lambda s: (s["value"] is None, -(s["value"] or 0)))
    return {"units": shown + [r for r in rows if r["value"] is None], "best": shown[:5], "worst": shown[-5:][::-1],
            "movers": movers, "services": services, "criteria": [pick(c.title, lang) for c in criteria_defs],
            "funnel": funnel_view(now_units, q, lang, focus={shown[-1]["unit"]}, highlight={shown[-1]["unit"]})
            if shown else None}


async def assemble(spec: ReportSpec, *, sources: Sources | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The content of ``spec``'s report (see the module docstring).

    Raises :class:`ReportParameterError` naming an unknown unit, service or questionnaire."""
    now = now or datetime.now(UTC)
    settings = get_settings()
    period = spec.period_range
    sources = sources or Sources(period)
    units, services = await sources.catalogue()
    unit_row = next((u for u in units if u["code"] == spec.unit), None) if spec.unit else None
    if spec.unit is not None and unit_row is None:
        raise ReportParameterError("unit", f"unknown unit {spec.unit!r}; allowed: "
                                   f"{', '.join(sorted(u['code'] for u in units))}")
    service_row = next((s for s in services if s["code"] == spec.service), None) if spec.service else None
    if spec.service is not None and service_row is None:
        raise ReportParameterError("service", f"unknown service {spec.service!r}; allowed: "
                                   f"{', '.join(s['code'] for s in services)}")
    published = await published_questionnaires()
    if spec.questionnaire is not None and spec.questionnaire not in published:
        raise ReportParameterError("questionnaire", f"{spec.questionnaire!r} is not published; allowed: "
                                   f"{', '.join(published)}")
    keys = [spec.questionnaire] if spec.questionnaire else published
    root = next((u for u in units if u["parent"] is None), None)
    scope_path = unit_row["path"] if unit_row else (root["path"] if root else "/")
    service_id = service_row["id"] if service_row else None
    lang = spec.lang
    parts, leagues = [], []
    by_code = {u["code"]: u for u in units}
    for key in keys:
        data = await sources.get(key)
        if spec.kind == "leadership":
            national = await _part(data, spec, scope_path, None)
            if national is None:
                continue
            parts.append(national)
            leagues.append(await _league(data, spec, by_code))
        else:
            part = await _part(data, spec, scope_path, service_id)
            if part is not None:
                parts.append(part)
    level = 1 if spec.kind == "leadership" else None
    start, end = period.bounds(settings.timezone)
    followups = [row.as_dict() for row in await sla_figures(scope_path, start, end, by_level=level,
                                                              service_id=service_id, now=now)]
    for row in followups:
        unit = next((u for u in units if u["path"] == row["path"]), None)
        row["name"] = _name(unit, lang) if unit else row["path"]
    scope = _name(unit_row, lang) if unit_row else t("report.scope.country", lang)
    title = " · ".join(x for x in (scope, _name(service_row, lang) if service_row else None) if x)
    local = now.astimezone(ZoneInfo(settings.timezone))
    return {
        "spec": spec, "kind": spec.kind, "kind_title": t(KIND_TITLES[spec.kind], lang), "lang": lang,
        "title": title, "scope": scope,
        "unit_code": spec.unit, "service": _name(service_row, lang) if service_row else None,
        "period": spec.period, "period_start": period.start.strftime("%d/%m/%Y"),
        "period_end": date.fromordinal(period.end.toordinal() - 1).strftime("%d/%m/%Y"),
        "generated_at": local.strftime("%d/%m/%Y %H:%M"), "parts": parts, "leagues": leagues,
        "followups": followups, "methods": _methods(lang), "min_n": parts[0]["min_n"] if parts else 30,
        "n": sum(p["n"] for p in parts), "national_target": 85.0, "national_target_2030": 90.0,
    }
