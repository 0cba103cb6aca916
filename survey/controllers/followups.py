"""The follow-up loop on the staff pages: the queue of cases (``/staff/follow-ups``), one case with its journal
and its next step (``/staff/follow-ups/{id}``), a case opened by hand from a response, the alerts
(``/staff/alerts``) and the working calendar the due times stand on (``/staff/calendar``, administrators); the
same cases and alerts as JSON for integrators (``/api/v1/follow-ups``, ``/api/v1/alerts``).

The rules live in :mod:`survey.services.followups` and :mod:`survey.services.working_calendar`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import Parameter, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template

from survey.controllers.api import Caller, provide_caller
from survey.i18n import N_, t
from survey.services import audit
from survey.services.accounts import REVEALING_ROLES, StaffIdentity, scope_prefix
from survey.services.alerts import ALERT_STATUSES, AlertError, AlertLine, AlertNotFound, acknowledge_alert, alert_lines
from survey.services.followups import (
    CLOSED,
    STATUS_ORDER,
    CaseDetail,
    CaseError,
    CaseLine,
    CaseNotFound,
    Closing,
    JournalEntry,
    case_detail,
    case_queue,
    change_status,
    open_case,
    reassign_case,
    reveal_contact,
)
from survey.services.working_calendar import (
    CalendarError,
    add_calendar_day,
    add_calendar_swap,
    remove_calendar_day,
    working_calendar,
)
from survey.web import (
    API_KEY_SECURITY,
    STAFF,
    DatabaseId,
    Problem,
    client_address,
    page_context,
    page_language,
    problems,
    requires_role,
    requires_staff,
    with_query,
)

__all__ = ["LIFESPAN", "ROUTES"]

PER_PAGE = 50
CASE_NOTICES = {"status": N_("staff.case.done.status"), "reassigned": N_("staff.case.done.reassigned"),
                "opened": N_("staff.case.done.opened")}
ALERT_FILTERS = ("active", *ALERT_STATUSES, "all")
ALERT_NOTICE = N_("staff.alerts.acknowledged")
CALENDAR_NOTICES = {"added": N_("staff.calendar.done.added"), "removed": N_("staff.calendar.done.removed")}
QUEUE_STATUSES = ("active", *STATUS_ORDER, "all")


class StatusForm(msgspec.Struct):
    """The next step of a case: ``to`` its next status, with a comment (closing: the outcome and the rest)."""

    to: str = ""
    comment: str = ""
    outcome: str = ""
    root_cause: str = ""
    resolved: str = ""
    note: str = ""
    version: str = ""


class ReassignForm(msgspec.Struct):
    unit: str = ""
    comment: str = ""
    version: str = ""


class OpenForm(msgspec.Struct):
    comment: str = ""


class DayForm(msgspec.Struct):
    day: str = ""
    kind: str = ""
    name: str = ""


class SwapForm(msgspec.Struct):
    day_off: str = ""
    day_worked: str = ""
    name: str = ""


def _version(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None


class FollowUpController(Controller):
    """The queue, a case and its steps, and a case opened by hand."""

    path = "/staff"
    guards = [requires_staff]
    dependencies = STAFF
    include_in_schema = False

    @get("/follow-ups", name="staff:follow-ups")
    async def queue(
        self,
        request: Request[Any, Any, Any],
        staff: NamedDependency[StaffIdentity],
        status: Annotated[str, QueryParameter(max_length=20)] = "active",
        unit: Annotated[str, QueryParameter(max_length=32)] = "",
        overdue: Annotated[str, QueryParameter(max_length=5)] = "",
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    ) -> Template:
        """The cases of the user's units by due time, soonest first; 400 naming a bad filter."""
        language = page_language(request)
        form = {"status": status, "unit": unit, "overdue": overdue}
        now = datetime.now(UTC)
        try:
            listing = await case_queue(scope_prefix(staff), status=status, unit_code=unit or None,
                                       overdue_only=overdue in ("1", "true", "on"), page=page, per_page=PER_PAGE,
                                       now=now)
        except CaseError as error:
            return Template(template_name="staff/follow_ups.html", status_code=400, context=page_context(
                request, language, me=staff, listing=None, error=str(error), form=form, statuses=QUEUE_STATUSES,
                now=now))
        await audit.record("follow_ups_listed", actor=staff, object_type="follow_up", detail={**form, "page": page},
                           client_address=client_address(request))
        return Template(template_name="staff/follow_ups.html", context=page_context(
            request, language, me=staff, listing=listing, error=None, form=form, statuses=QUEUE_STATUSES, now=now,
            previous_href=f"/staff/follow-ups?{with_query(request, page=page - 1)}",
            next_href=f"/staff/follow-ups?{with_query(request, page=page + 1)}"))

    async def _case_page(self, request: Request[Any, Any, Any], staff: StaffIdentity, case_id: int, *,
                         error: str | None = None, error_field: str | None = None, status_code: int = 200,
                         notice: str | None = None, contact: dict[str, str | None] | None = None,
                         form: dict[str, str] | None = None) -> Template:
        language = page_language(request)
        try:
            detail = await case_detail(scope_prefix(staff), case_id)
        except CaseNotFound:
            return Template(template_name="staff/not_found.html", status_code=404,
                            context=page_context(request, language, me=staff))
        return Template(template_name="staff/follow_up.html", status_code=status_code, context=page_context(
            request, language, me=staff, case=detail, error=error, error_field=error_field, notice=notice,
            contact=contact, form=form or {}, now=datetime.now(UTC)))

    @get("/follow-ups/{case_id:int}", name="staff:follow-up")
    async def case(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                   case_id: DatabaseId, done: Annotated[str, QueryParameter(max_length=20)] = "") -> Template:
        """One case: the response behind it, its journal and its next step; 404 outside the user's units."""
        notice = t(CASE_NOTICES[done], page_language(request)) if done in CASE_NOTICES else None
        page = await self._case_page(request, staff, case_id, notice=notice)
        if page.status_code == 200:
            await audit.record("follow_up_viewed", actor=staff, object_type="follow_up", object_id=case_id,
                               client_address=client_address(request))
        return page

    @post("/follow-ups/{case_id:int}/status", name="staff:follow-up-status", status_code=303)
    async def status(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                     case_id: DatabaseId, data: URLEncodedBody[StatusForm]) -> Template | Redirect:
        """Move the case to its next status with a comment; closing asks the outcome, root cause, resolved, note."""
        closing = None
        if data.to == CLOSED:
            resolved = {"yes": True, "no": False}.get(data.resolved)
            if resolved is None:
                return await self._case_page(request, staff, case_id, status_code=400, error_field="resolved",
                                             error=t("staff.case.errors.resolved", page_language(request)),
                                             form=msgspec.structs.asdict(data))
            closing = Closing(data.outcome, data.root_cause, resolved, data.note)
        try:
            await change_status(staff, case_id, data.to, data.comment, closing=closing,
                                expected_version=_version(data.version))
        except CaseNotFound:
            return await self._case_page(request, staff, case_id)
        except CaseError as error:
            return await self._case_page(request, staff, case_id, status_code=409 if error.conflict else 400,
                                         error=str(error), error_field=error.field_name,
                                         form=msgspec.structs.asdict(data))
        await audit.record("follow_up_status", actor=staff, object_type="follow_up", object_id=case_id,
                           detail={"to": data.to}, client_address=client_address(request))
        return Redirect(f"/staff/follow-ups/{case_id}?done=status", status_code=303)

    @post("/follow-ups/{case_id:int}/reassign", name="staff:follow-up-reassign", status_code=303)
    async def reassign(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                       case_id: DatabaseId, data: URLEncodedBody[ReassignForm]) -> Template | Redirect:
        """Give the case to another unit of the user's, with a comment (that unit is emailed)."""
        try:
            await reassign_case(staff, case_id, data.unit, data.comment, expected_version=_version(data.version))
        except CaseNotFound:
            return await self._case_page(request, staff, case_id)
        except CaseError as error:
            return await self._case_page(request, staff, case_id, status_code=409 if error.conflict else 400,
                                         error=str(error), error_field=f"reassign-{error.field_name}",
                                         form=msgspec.structs.asdict(data))
        await audit.record("follow_up_reassigned", actor=staff, object_type="follow_up", object_id=case_id,
                           detail={"unit": data.unit}, client_address=client_address(request))
        return Redirect(f"/staff/follow-ups/{case_id}?done=reassigned", status_code=303)

    @post("/follow-ups/{case_id:int}/reveal", name="staff:follow-up-reveal", status_code=200,
          guards=[requires_role(*REVEALING_ROLES)])
    async def reveal(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                     case_id: DatabaseId) -> Template:
        """Show the person's phone and email to call back (written to the audit log and the case's journal)."""
        try:
            contact = await reveal_contact(staff, case_id, client_address=client_address(request))
        except CaseNotFound:
            return await self._case_page(request, staff, case_id)
        except CaseError as error:
            return await self._case_page(request, staff, case_id, status_code=409, error=str(error))
        page = await self._case_page(request, staff, case_id, contact=contact)
        page.headers["Cache-Control"] = "no-store"
        return page

    @post("/responses/{response_id:int}/follow-up", name="staff:follow-up-open", status_code=303)
    async def open_by_hand(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                           response_id: DatabaseId, data: URLEncodedBody[OpenForm]) -> Template | Redirect:
        """Open a case from a response, with a comment saying why."""
        language = page_language(request)
        try:
            case_id = await open_case(staff, response_id, data.comment)
        except CaseNotFound:
            return Template(template_name="staff/not_found.html", status_code=404,
                            context=page_context(request, language, me=staff))
        except CaseError as error:
            return Template(template_name="staff/message.html", status_code=409 if error.conflict else 400,
                            context=page_context(request, language, me=staff, title=t("staff.case.open_failed",
                                                                                       language),
                                                 message=str(error), back=f"/staff/responses/{response_id}"))
        await audit.record("follow_up_opened", actor=staff, object_type="follow_up", object_id=case_id,
                           detail={"response": response_id}, client_address=client_address(request))
        return Redirect(f"/staff/follow-ups/{case_id}?done=opened", status_code=303)


class AcknowledgeForm(msgspec.Struct):
    comment: str = ""


class AlertsController(Controller):
    """The alerts of the user's units; staff acknowledge an open one with a comment."""

    path = "/staff/alerts"
    guards = [requires_staff]
    dependencies = STAFF
    include_in_schema = False

    async def _page(self, request: Request[Any, Any, Any], staff: StaffIdentity, status: str, *,
                    error: str | None = None, error_id: int | None = None, notice: str | None = None,
                    status_code: int = 200) -> Template:
        language = page_language(request)
        try:
            alerts = await alert_lines(scope_prefix(staff), status=status)
        except AlertError as error_:
            alerts, error, status_code = [], str(error_), 400
        return Template(template_name="staff/alerts.html", status_code=status_code, context=page_context(
            request, language, me=staff, alerts=alerts, status=status, statuses=ALERT_FILTERS, error=error,
            error_id=error_id, notice=notice))

    @get("/", name="staff:alerts")
    async def alerts(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                     status: Annotated[str, QueryParameter(max_length=20)] = "active",
                     done: Annotated[str, QueryParameter(max_length=20)] = "") -> Template:
        """Open and acknowledged alerts (or those of ``status``), newest first."""
        notice = t(ALERT_NOTICE, page_language(request)) if done == "acknowledged" else None
        return await self._page(request, staff, status, notice=notice)

    @post("/{alert_id:int}/acknowledge", name="staff:alert-acknowledge", status_code=303)
    async def acknowledge(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                          alert_id: DatabaseId, data: URLEncodedBody[AcknowledgeForm]) -> Template | Redirect:
        """Acknowledge an open alert, saying what is being done."""
        try:
            await acknowledge_alert(staff, alert_id, data.comment)
        except AlertNotFound:
            return Template(template_name="staff/not_found.html", status_code=404,
                            context=page_context(request, page_language(request), me=staff))
        except AlertError as error:
            return await self._page(request, staff, "active", error=str(error), error_id=alert_id,
                                    status_code=409 if error.conflict else 400)
        await audit.record("alert_acknowledged", actor=staff, object_type="alert", object_id=alert_id,
                           client_address=client_address(request))
        return Redirect("/staff/alerts?done=acknowledged", status_code=303)


def _day(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise CalendarError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None


class CalendarController(Controller):
    """The working calendar of a year; administrators enter and remove days and swaps."""

    path = "/staff/calendar"
    guards = [requires_staff]
    dependencies = STAFF
    include_in_schema = False

    async def _page(self, request: Request[Any, Any, Any], staff: StaffIdentity, year: int, *,
                    error: str | None = None, notice: str | None = None, status_code: int = 200,
                    form: dict[str, str] | None = None) -> Template:
        language = page_language(request)
        if not staff.is_admin:
            return Template(template_name="staff/calendar.html", status_code=403,
                            context=page_context(request, language, me=staff, forbidden=True))
        try:
            year_calendar = (await working_calendar()).year(year)
        except CalendarError as error:
            year_calendar, error, status_code = None, str(error), 400
        return Template(template_name="staff/calendar.html", status_code=status_code, context=page_context(
            request, language, me=staff, forbidden=False, year=year, calendar=year_calendar, error=error,
            notice=notice, form=form or {}))

    @get("/", name="staff:calendar")
    async def show(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                   year: Annotated[int | None, QueryParameter(ge=2000, le=2100)] = None,
                   done: Annotated[str, QueryParameter(max_length=20)] = "") -> Template:
        """The year's days off and make-up days, the working days per month, and the forms to change them."""
        notice = t(CALENDAR_NOTICES[done], page_language(request)) if done in CALENDAR_NOTICES else None
        return await self._page(request, staff, year or datetime.now(UTC).year, notice=notice)

    @post("/days", name="staff:calendar-day", status_code=303, guards=[requires_role("admin")])
    async def add_day(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                      data: URLEncodedBody[DayForm]) -> Template | Redirect:
        """Enter one day off or one working day."""
        try:
            day = _day(data.day, "day")
            await add_calendar_day(day, data.kind, data.name, actor_id=staff.id)
        except CalendarError as error:
            return await self._page(request, staff, _year_of(data.day), error=str(error), status_code=400,
                                    form=msgspec.structs.asdict(data))
        await audit.record("calendar_changed", actor=staff, object_type="calendar_day", object_id=day.isoformat(),
                           detail={"kind": data.kind, "name": data.name}, client_address=client_address(request))
        return Redirect(f"/staff/calendar?year={day.year}&done=added", status_code=303)

    @post("/swaps", name="staff:calendar-swap", status_code=303, guards=[requires_role("admin")])
    async def add_swap(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                       data: URLEncodedBody[SwapForm]) -> Template | Redirect:
        """Enter an announced swap: a working day off, a weekend day worked instead."""
        try:
            day_off, day_worked = _day(data.day_off, "day off"), _day(data.day_worked, "day worked")
            await add_calendar_swap(day_off, day_worked, data.name, actor_id=staff.id)
        except CalendarError as error:
            return await self._page(request, staff, _year_of(data.day_off), error=str(error), status_code=400,
                                    form=msgspec.structs.asdict(data))
        await audit.record("calendar_changed", actor=staff, object_type="calendar_day",
                           object_id=day_off.isoformat(), detail={"swap_with": day_worked.isoformat(),
                                                                  "name": data.name},
                           client_address=client_address(request))
        return Redirect(f"/staff/calendar?year={day_off.year}&done=added", status_code=303)

    @post("/days/{day:str}/remove", name="staff:calendar-remove", status_code=303, guards=[requires_role("admin")])
    async def remove_day(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                         day: Annotated[str, Parameter(max_length=10)]) -> Template | Redirect:
        """Remove an administrators' entry (and the other day of its swap)."""
        try:
            removed = await remove_calendar_day(_day(day, "day"))
        except CalendarError as error:
            return await self._page(request, staff, _year_of(day), error=str(error), status_code=400)
        await audit.record("calendar_changed", actor=staff, object_type="calendar_day", object_id=day,
                           detail={"removed": [d.isoformat() for d in removed]},
                           client_address=client_address(request))
        return Redirect(f"/staff/calendar?year={removed[0].year}&done=removed", status_code=303)


def _year_of(text: str) -> int:
    try:
        return date.fromisoformat(text.strip()).year
    except ValueError:
        return datetime.now(UTC).year


# --- JSON for integrators -------------------------------------------------------------------------------------------


class FollowUpCase(msgspec.Struct):
    """A follow-up case; ``overdue``: still open after its due time, or closed after it."""

    id: int
    response_id: int
    status: str
    reasons: list[str]
    unit: str
    created_at: datetime
    due_at: datetime
    closed_at: datetime | None
    escalated_at: datetime | None
    overdue: bool
    overall: float | None
    outcome: str | None = None
    root_cause: str | None = None
    resolved: bool | None = None
    escalated_to: str | None = None
    journal: list[JournalEntry] | None = None


class FollowUpPage(msgspec.Struct):
    cases: list[FollowUpCase]
    total: int
    overdue: int
    page: int
    per_page: int


def _case_json(line: CaseLine, now: datetime, detail: CaseDetail | None = None) -> FollowUpCase:
    case = FollowUpCase(id=line.id, response_id=line.response_id, status=line.status, reasons=list(line.reasons),
                        unit=line.unit_code, created_at=line.created_at, due_at=line.due_at,
                        closed_at=line.closed_at, escalated_at=line.escalated_at, overdue=line.overdue(now),
                        overall=line.overall)
    if detail is not None:
        case.outcome, case.root_cause, case.resolved = detail.outcome, detail.root_cause, detail.resolved
        case.escalated_to = detail.escalated_to
        case.journal = list(detail.journal)
    return case


class FollowUpApiController(Controller):
    path = "/api/v1/follow-ups"
    tags = ["follow-ups"]
    dependencies = {"caller": Provide(provide_caller)}

    @get("/", summary="Follow-up cases by due time", security=API_KEY_SECURITY, responses=problems(400, 401, 403))
    async def list_cases(
        self,
        caller: NamedDependency[Caller],
        status: Annotated[str, Parameter(description="active (open or in progress), open, in_progress, closed or "
                                                     "all", max_length=20)] = "active",
        unit: Annotated[str | None, Parameter(description="Unit code (includes its subtree)", max_length=32)] = None,
        overdue: Annotated[bool, Parameter(description="Only the overdue cases")] = False,
        page: Annotated[int, Parameter(ge=1, le=100_000)] = 1,
        per_page: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> FollowUpPage:
        """The cases of the caller's units (API keys: all), soonest due first."""
        now = datetime.now(UTC)
        try:
            listing = await case_queue(caller.visible_path or "/", status=status, unit_code=unit,
                                       overdue_only=overdue, page=page, per_page=per_page, now=now)
        except CaseError as error:
            raise Problem(400, str(error), parameter=error.field_name) from None
        return FollowUpPage([_case_json(line, now) for line in listing.rows], listing.total, listing.overdue,
                            listing.page, listing.per_page)

    @get("/{case_id:int}", summary="One follow-up case with its journal", security=API_KEY_SECURITY,
         responses=problems(401, 403, 404))
    async def one_case(self, caller: NamedDependency[Caller],
                       case_id: Annotated[int, Parameter(ge=1, le=2**31 - 1)]) -> FollowUpCase:
        """One case of the caller's units, with its journal (never the person's contact details)."""
        try:
            detail = await case_detail(caller.visible_path or "/", case_id)
        except CaseNotFound as error:
            raise Problem(404, str(error)) from None
        return _case_json(detail.line, datetime.now(UTC), detail)


class AlertJson(msgspec.Struct):
    """An alert: the unit's dissatisfied share over the window against its 99.8% upper funnel limit."""

    id: int
    unit: str
    status: str
    opened_at: datetime
    window_start: datetime
    n: int
    dissatisfied: int
    share: float
    upper_limit: float
    centre_share: float
    last_share: float
    checked_at: datetime
    acknowledged_at: datetime | None
    closed_at: datetime | None


def _alert_json(line: AlertLine) -> AlertJson:
    return AlertJson(line.id, line.unit_code, line.status, line.opened_at, line.window_start, line.n,
                     line.dissatisfied, line.share, line.upper_limit, line.centre_share, line.last_share,
                     line.checked_at, line.acknowledged_at, line.closed_at)


class AlertApiController(Controller):
    path = "/api/v1/alerts"
    tags = ["alerts"]
    dependencies = {"caller": Provide(provide_caller)}

    @get("/", summary="Alerts: units unhappier than their funnel limits allow", security=API_KEY_SECURITY,
         responses=problems(400, 401, 403))
    async def list_alerts(
        self, caller: NamedDependency[Caller],
        status: Annotated[str, Parameter(description="active (open or acknowledged), open, acknowledged, closed or "
                                                     "all", max_length=20)] = "active",
    ) -> list[AlertJson]:
        """The alerts of the caller's units (API keys: all), newest first."""
        try:
            return [_alert_json(line) for line in await alert_lines(caller.visible_path or "/", status=status)]
        except AlertError as error:
            raise Problem(400, str(error), parameter=error.field_name) from None


ROUTES: list[Any] = [FollowUpController, CalendarController, AlertsController, FollowUpApiController,
                     AlertApiController]
LIFESPAN: list[Any] = []
