"""Staff pages of the report archive under ``/staff/reports``: the archived PDF reports within the user's scope,
each one's download, and a form that makes one on demand, in the background of this server process.

- ``GET /staff/reports``: the archive (newest first, ``?period=`` filters) and the form;
- ``POST /staff/reports``: a new run (queued) started as an asyncio task held by :class:`OnDemandReports`, the
  application's state from :func:`on_demand_reports` (its lifespan); 303 to the run's page;
- ``GET /staff/reports/{id}``: the run's status and progress, reloaded every 2 s while it is pending;
- ``GET /staff/reports/{id}/download``: the PDF, recorded in the audit log.

A run outside the user's scope answers 404, as a run that does not exist. A run holds a lease, renewed while it
works; a run whose server stopped or died lists as failed, "interrupted" (:data:`~survey.services.reports.archive.
INTERRUPTED`): it is not requeued (another server might still hold it), the user asks again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Litestar, Request, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter, URLEncodedBody
from litestar.response import File, Redirect, Template

from survey.i18n import N_, t
from survey.services import audit
from survey.services.accounts import StaffIdentity, can_see, scope_prefix
from survey.services.reports import (
    REPORT_KINDS,
    REPORT_LANGUAGES,
    ArchivedReport,
    ReportParameterError,
    ReportSpec,
    list_runs,
    report_period,
    run_path,
)
from survey.services.reports.archive import INTERRUPTED, queue_run
from survey.services.reports.on_demand import OnDemandReports, lease_end
from survey.services.scores import period_for
from survey.services.scores.queries import published_questionnaires, service_codes, unit_tree
from survey.settings import get_settings
from survey.tables import ReportRunStatus
from survey.web import CHANGES_NO_DATA, STAFF, DatabaseId, client_address, page_context, page_language, requires_staff

__all__ = ["LIFESPAN", "ROUTES", "ReportForm", "ReportsController", "on_demand_reports"]

log = logging.getLogger("survey.controllers.reports")

REPORTS_PATH = "/staff/reports"
STATE_KEY = "report_runs"
PENDING = (ReportRunStatus.queued, ReportRunStatus.rendering)
DOWNLOADABLE = (ReportRunStatus.archived, ReportRunStatus.sent)
FIELDS = {  # the form's fields as the messages name them
    "kind": N_("staff.reports.kind"), "unit": N_("staff.reports.unit"), "service": N_("staff.reports.service"),
    "questionnaire": N_("staff.reports.questionnaire"), "period": N_("staff.reports.period"),
    "lang": N_("staff.reports.language"),
}

KIND_NAMES = {"unit": N_("staff.reports.kinds.unit"), "service": N_("staff.reports.kinds.service"),
              "leadership": N_("staff.reports.kinds.leadership")}
STATUS_NAMES = {
    "queued": N_("staff.reports.statuses.queued"), "rendering": N_("staff.reports.statuses.rendering"),
    "archived": N_("staff.reports.statuses.archived"), "sent": N_("staff.reports.statuses.sent"),
    "skipped": N_("staff.reports.statuses.skipped"), "failed": N_("staff.reports.statuses.failed"),
}


@contextlib.asynccontextmanager
async def on_demand_reports(app: Litestar) -> AsyncIterator[None]:
    """Lifespan: the application's :class:`OnDemandReports`, stopped with the server."""
    runs = OnDemandReports()
    app.state[STATE_KEY] = runs
    try:
        yield
    finally:
        await runs.stop()


def _runs_of(request: Request[Any, Any, Any]) -> OnDemandReports:
    runs: OnDemandReports = request.app.state[STATE_KEY]
    return runs


# --- the form ---------------------------------------------------------------------------------------------------


class ReportForm(msgspec.Struct):
    """The on-demand form (``_csrf_token`` is checked by the CSRF middleware before this is read)."""

    kind: str = "unit"
    unit: str = ""
    service: str = ""
    questionnaire: str = ""
    period: str = ""
    lang: str = "vi"


@dataclass(frozen=True)
class Choices:
    """What the form offers a user: the units of their subtree, the services, the questionnaires."""

    units: list[str]
    unit_paths: dict[str, str]
    services: list[str]
    questionnaires: list[str]
    whole_country: bool

    @property
    def kinds(self) -> tuple[str, ...]:
        return REPORT_KINDS if self.whole_country else ("unit",)


class FormRefused(Exception):
    """The form cannot be made into a report: ``status`` 400 (bad ``field``) or 403 (outside the scope)."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


def _whole_country(me: StaffIdentity) -> bool:
    # every unit, or the root's subtree '/VN/': as list_runs decides who sees the reports with no unit
    return scope_prefix(me).count("/") <= 2


async def _choices(me: StaffIdentity) -> Choices:
    tree = await unit_tree()
    paths = {tree.code[unit]: path for unit, path in tree.path.items()}
    units = sorted((code for code, path in paths.items() if can_see(me, path)), key=lambda code: paths[code])
    return Choices(units=units, unit_paths=paths, services=sorted((await service_codes()).values()),
                   questionnaires=await published_questionnaires(), whole_country=_whole_country(me))


def _spec_of(form: ReportForm, me: StaffIdentity, choices: Choices, language: str) -> ReportSpec:
    """The report the form asks for, within ``me``'s scope; raises :class:`FormRefused` naming the field."""
    kind = form.kind.strip()
    if kind not in REPORT_KINDS:
        raise FormRefused(400, "kind", f"kind: {kind!r} is not one of {', '.join(REPORT_KINDS)}")
    unit = form.unit.strip() if kind == "unit" else None
    service = (form.service.strip() or None) if kind != "leadership" else None
    questionnaire = form.questionnaire.strip() or None
    try:
        report_period(form.period)
    except ReportParameterError as error:
        raise FormRefused(400, "period", str(error)) from None
    if form.lang not in REPORT_LANGUAGES:
        raise FormRefused(400, "lang", f"lang: {form.lang!r} is not one of {', '.join(REPORT_LANGUAGES)}")
    if kind == "unit":
        if not unit:
            raise FormRefused(400, "unit", "unit: a unit report needs a unit")
        if unit not in choices.unit_paths:
            raise FormRefused(400, "unit", f"unit: unknown unit {unit!r}")
        if not can_see(me, choices.unit_paths[unit]):
            raise FormRefused(403, "unit", t("staff.reports.outside_scope", language, unit=unit))
    elif not choices.whole_country:
        raise FormRefused(403, "kind", t("staff.reports.country_only", language))
    if kind == "service" and service is None:
        raise FormRefused(400, "service", "service: a service report needs a service")
    if service is not None and service not in choices.services:
        raise FormRefused(400, "service", f"service: unknown service {service!r}; allowed: "
                                          f"{', '.join(choices.services)}")
    if questionnaire is not None and questionnaire not in choices.questionnaires:
        raise FormRefused(400, "questionnaire", f"questionnaire: unknown questionnaire {questionnaire!r}; "
                                                f"allowed: {', '.join(choices.questionnaires)}")
    try:
        return ReportSpec(kind, form.period.strip(), unit=unit, service=service,
                          questionnaire=questionnaire, lang=form.lang)
    except ReportParameterError as error:
        raise FormRefused(400, error.parameter, str(error)) from None


def _default_form(me: StaffIdentity, language: str) -> ReportForm:
    today = datetime.now(ZoneInfo(get_settings().timezone)).date()
    return ReportForm(unit=me.unit_code, period=period_for("last_month", today), lang=language)


# --- the pages --------------------------------------------------------------------------------------------------


def spec_of_run(run: ArchivedReport) -> ReportSpec:
    """The spec a run was made from (its file's download name)."""
    return ReportSpec(run.kind, run.period, unit=run.unit, service=run.service,  # type: ignore[arg-type]
                      questionnaire=run.questionnaire or None, lang=run.language)


def _context(request: Request[Any, Any, Any], language: str, **values: Any) -> dict[str, Any]:
    """What every staff page needs, and the names of the kinds and statuses of runs (a code shows as itself)."""
    return page_context(request, language, kind_name=lambda code: t(KIND_NAMES[code], language)
                        if code in KIND_NAMES else code, status_name=lambda code: t(STATUS_NAMES[code], language)
                        if code in STATUS_NAMES else code, interrupted=INTERRUPTED, **values)


def _not_found(request: Request[Any, Any, Any], language: str, me: StaffIdentity) -> Template:
    return Template(template_name="staff/not_found.html", context=_context(request, language, me=me),
                    status_code=404)


class ReportsController(Controller):
    """The report archive of the user's scope, its downloads, and reports made on demand."""

    path = REPORTS_PATH
    guards = [requires_staff]
    dependencies = STAFF
    include_in_schema = False

    async def _page(self, request: Request[Any, Any, Any], me: StaffIdentity, language: str, *, form: ReportForm,
                    period: str = "", error: str | None = None, error_field: str = "", status_code: int = 200,
                    bad_period: bool = False) -> Template:
        runs = [] if bad_period else await list_runs(visible_path=scope_prefix(me), period=period or None)
        return Template(template_name="staff/reports.html", status_code=status_code, context=_context(
            request, language, me=me, runs=runs, period=period, form=form, error=error, error_field=error_field,
            choices=await _choices(me), downloadable=DOWNLOADABLE))

    @get("/", name="staff:reports")
    async def archive(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                      period: Annotated[str, QueryParameter(max_length=40)] = "") -> Template:
        """The archive within the user's scope, newest first (of one period with ``?period=``), and the form."""
        language = page_language(request)
        period = period.strip()
        if period:
            try:
                report_period(period)
            except ReportParameterError as error:
                return await self._page(request, staff, language, form=_default_form(staff, language), period=period,
                                        error=t("staff.reports.bad_field", language,
                                                field=t(FIELDS["period"], language), detail=str(error)),
                                        status_code=400, bad_period=True)
        await audit.record("reports_listed", actor=staff, object_type="report_run",
                           detail={"period": period or None}, client_address=client_address(request))
        return await self._page(request, staff, language, form=_default_form(staff, language), period=period)

    @post("/", name="staff:reports-make", status_code=303, opt={CHANGES_NO_DATA: True})  # leaders make reports too
    async def make(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                   data: URLEncodedBody[ReportForm]) -> Template | Redirect:
        """Queue the report the form asks for and start it in the background; 303 to its page."""
        language = page_language(request)
        try:
            spec = _spec_of(data, staff, await _choices(staff), language)
        except FormRefused as refused:
            message = (refused.message if refused.status == 403 else t(
                "staff.reports.bad_field", language, field=t(FIELDS.get(refused.field, refused.field), language),
                detail=refused.message))
            return await self._page(request, staff, language, form=data, error=message, error_field=refused.field,
                                    status_code=refused.status)
        run_id = await queue_run(spec, requested_by=staff.id, lease_expires_at=lease_end())
        _runs_of(request).start(run_id, spec)
        await audit.record("report_requested", actor=staff, object_type="report_run", object_id=run_id,
                           detail={"report": spec.title_key, "lang": spec.lang},
                           client_address=client_address(request))
        return Redirect(f"{REPORTS_PATH}/{run_id}", status_code=303)

    @get("/{run_id:int}", name="staff:report-run")
    async def run(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                  run_id: DatabaseId) -> Template:
        """One run: its status and progress (reloading while pending), and its download once archived."""
        language = page_language(request)
        found = await list_runs(visible_path=scope_prefix(staff), run_id=run_id, limit=1)
        if not found:
            return _not_found(request, language, staff)
        run = found[0]
        return Template(template_name="staff/report_run.html", context=_context(
            request, language, me=staff, run=run, pending=run.status in PENDING,
            downloadable=run.status in DOWNLOADABLE and run_path(run) is not None,
            file_name=spec_of_run(run).filename))

    @get("/{run_id:int}/download", name="staff:report-download")
    async def download(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                       run_id: DatabaseId) -> File | Template:
        """The archived PDF (an attachment named as the report); 404 outside the scope or before it is archived."""
        language = page_language(request)
        found = await list_runs(visible_path=scope_prefix(staff), run_id=run_id, limit=1)
        path = run_path(found[0]) if found and found[0].status in DOWNLOADABLE else None
        if path is None:
            return _not_found(request, language, staff)
        run = found[0]
        name = spec_of_run(run).filename
        await audit.record("report_downloaded", actor=staff, object_type="report_run", object_id=run_id,
                           detail={"file": name, "checksum": run.checksum}, client_address=client_address(request))
        return File(path, filename=name, media_type="application/pdf", content_disposition_type="attachment")


ROUTES: list[Any] = [ReportsController]
LIFESPAN: list[Any] = [on_demand_reports]

