"""The audit log for administrators: ``/staff/audit`` (newest first, filtered by action, actor and local days,
paged). What the events are and how they are read lives in :mod:`survey.services.audit`."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Template

from survey.services.accounts import StaffIdentity
from survey.services.audit import AuditFilter, AuditFilterError, audit_actions, audit_page
from survey.settings import get_settings
from survey.web import STAFF, page_context, page_language, requires_role, requires_staff, with_query

__all__ = ["LIFESPAN", "ROUTES", "AuditController"]

PER_PAGE = 50


class AuditController(Controller):
    """Who signed in, saw or changed what: administrators only."""

    path = "/staff/audit"
    guards = [requires_staff, requires_role("admin")]
    dependencies = STAFF
    include_in_schema = False

    @get("/", name="staff:audit")
    async def log(
        self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
        action: Annotated[str, QueryParameter(max_length=40)] = "",
        actor: Annotated[str, QueryParameter(max_length=120)] = "",
        date_from: Annotated[str, QueryParameter(name="from", max_length=10)] = "",
        date_to: Annotated[str, QueryParameter(name="to", max_length=10)] = "",
        page: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1,
    ) -> Template:
        """The events the filter keeps, newest first, 50 a page; 400 naming a bad filter. Reading the log is not
        itself logged (it would fill the log with its own readings)."""
        language = page_language(request)
        selection = AuditFilter(action=action.strip(), actor=actor.strip(), date_from=date_from.strip(),
                                date_to=date_to.strip())
        context = {"me": staff, "form": selection, "actions": await audit_actions()}
        try:
            listing = await audit_page(selection, timezone=get_settings().timezone, page=page, per_page=PER_PAGE)
        except AuditFilterError as error:
            return Template(template_name="staff/audit.html", status_code=400, context=page_context(
                request, language, listing=None, error=str(error), error_field=error.field, **context))
        return Template(template_name="staff/audit.html", context=page_context(
            request, language, listing=listing, error=None, error_field=None, **context,
            previous_href=f"/staff/audit?{with_query(request, page=page - 1)}",
            next_href=f"/staff/audit?{with_query(request, page=page + 1)}"))


ROUTES: list[Any] = [AuditController]
LIFESPAN: list[Any] = []
