"""A report's content as plain data (picklable, for a rendering process): every figure from
:mod:`survey.services.scores`, read once per questionnaire and period through :class:`Sources`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from survey.i18n import pick, t
from survey.services.reports.spec import ReportParameterError, ReportSpec
from survey.services.scores import ScoreParameterError, ScoreRequest
from survey.services.scores.periods import Period
from survey.services.scores.queries import published_questionnaires
from survey.services.scores.service import ScoreData, load_score_data, score_loaded
from survey.settings import get_settings
from survey.tables import Service, Unit

__all__ = ["Sources", "assemble"]


@dataclass
class Sources:
    """Data read once and shared by the reports of one batch: per questionnaire, its :class:`ScoreData`."""

    periods: list[Period]
    data: dict[str, ScoreData] = field(default_factory=dict)

    async def get(self, questionnaire: str) -> ScoreData:
        if questionnaire not in self.data:
            self.data[questionnaire] = await load_score_data(questionnaire, self.periods)
        return self.data[questionnaire]


async def _names(spec: ReportSpec) -> dict[str, str | None]:
    names: dict[str, str | None] = {"unit": None, "service": None}
    column = "name_vi" if spec.lang == "vi" else "name_en"
    if spec.unit is not None:
        row = await Unit.select(Unit.code, getattr(Unit, column)).where(Unit.code == spec.unit).first()
        if row is None:
            codes = [r["code"] for r in await Unit.select(Unit.code).order_by(Unit.code)]
            raise ReportParameterError("unit", f"unknown unit {spec.unit!r}; allowed: {', '.join(codes)}")
        names["unit"] = row[column]
    if spec.service is not None:
        row = await Service.select(getattr(Service, column)).where(Service.code == spec.service).first()
        if row is None:
            codes = [r["code"] for r in await Service.select(Service.code).order_by(Service.code)]
            raise ReportParameterError("service", f"unknown service {spec.service!r}; allowed: {', '.join(codes)}")
        names["service"] = row[column]
    return names


async def assemble(spec: ReportSpec, *, sources: Sources | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The content of ``spec``'s report."""
    now = now or datetime.now(UTC)
    period = spec.period_range
    sources = sources or Sources([period])
    names = await _names(spec)
    keys = [spec.questionnaire] if spec.questionnaire else await published_questionnaires()
    parts = []
    for key in keys:
        try:
            data = await sources.get(key)
            report = await score_loaded(data, ScoreRequest(key, spec.period, unit=spec.unit, service=spec.service))
        except ScoreParameterError as error:
            raise ReportParameterError(error.parameter, str(error).split(": ", 1)[-1]) from None
        group = report.groups[0] if report.groups else None
        if group is None or group.n == 0:
            continue
        parts.append({"questionnaire": key, "title": pick(data.questionnaire.title, spec.lang), "n": group.n,
                      "index": group.index})
    scope = names["unit"] or t("report.scope.country", spec.lang)
    title = " · ".join(x for x in (scope, names["service"]) if x)
    local = now.astimezone(__import__("zoneinfo").ZoneInfo(get_settings().timezone))
    return {"spec": spec, "lang": spec.lang, "title": title, "period": spec.period, "parts": parts,
            "generated_at": local.strftime("%Y-%m-%d %H:%M")}
