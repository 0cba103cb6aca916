"""The data subjects' requests for administrators: ``/staff/rights`` records a request (kind, phone or email, note)
and lists them with their due dates (overdue ones marked, subjects masked); each can be acknowledged, exported
(a JSON attachment), erased (after a confirmation step) or marked done. The rules live in
:mod:`survey.services.rights`; every step is audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template

from survey.i18n import N_, t
from survey.services.accounts import StaffIdentity
from survey.services.rights import (
    RIGHTS_KINDS,
    RequestNotFound,
    RightsError,
    acknowledge_request,
    complete_request,
    erase_request,
    export_request,
    read_subject,
    record_audit,
    record_request,
    request_subject,
    rights_requests,
)
from survey.web import STAFF, DatabaseId, client_address, page_context, page_language, requires_role, requires_staff

__all__ = ["LIFESPAN", "ROUTES", "RightsController"]

NOTICES = {"recorded": N_("staff.rights.done.recorded"), "acknowledged": N_("staff.rights.done.acknowledged"),
           "erased": N_("staff.rights.done.erased"), "completed": N_("staff.rights.done.completed")}


class RequestForm(msgspec.Struct):
    """A request as the form records it."""

    kind: str = ""
    subject: str = ""
    note: str = ""


class NoteForm(msgspec.Struct):
    """What was done, when a request is marked done."""

    note: str = ""


class RightsController(Controller):
    """Data subjects' requests: administrators only."""

    path = "/staff/rights"
    guards = [requires_staff, requires_role("admin")]
    dependencies = STAFF
    include_in_schema = False

    async def _page(self, request: Request[Any, Any, Any], staff: StaffIdentity, *, error: str | None = None,
                    notice: str | None = None, status_code: int = 200,
                    form: dict[str, str] | None = None) -> Template:
        language = page_language(request)
        return Template(template_name="staff/rights.html", status_code=status_code, context=page_context(
            request, language, me=staff, requests=await rights_requests(), kinds=RIGHTS_KINDS,
            now=datetime.now(UTC), error=error, notice=notice, form=form or {}))

    @get("/", name="staff:rights")
    async def show(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                   done: Annotated[str, QueryParameter(max_length=20)] = "") -> Template:
        """The form to record a request, and the requests with their due dates, newest first."""
        notice = t(NOTICES[done], page_language(request)) if done in NOTICES else None
        return await self._page(request, staff, notice=notice)

    @post("/", name="staff:rights-record", status_code=303)
    async def record(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                     data: URLEncodedBody[RequestForm]) -> Template | Redirect:
        """Record a request received now; its due dates follow from the working calendar."""
        try:
            line = await record_request(data.kind, read_subject(data.subject), handled_by=staff.username,
                                        note=data.note)
        except RightsError as error:
            return await self._page(request, staff, error=str(error), status_code=400,
                                    form=msgspec.structs.asdict(data))
        await record_audit("rights_recorded", actor=staff, object_id=line.id, client_address=client_address(request),
                           detail={"kind": line.kind, "subject": line.subject_masked})
        return Redirect("/staff/rights?done=recorded", status_code=303)

    @post("/{request_id:int}/acknowledge", name="staff:rights-acknowledge", status_code=303)
    async def acknowledge(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                          request_id: DatabaseId) -> Template | Redirect:
        """Mark the request acknowledged (the person was told it is being handled)."""
        try:
            line = await acknowledge_request(request_id)
        except RightsError as error:
            return await self._page(request, staff, error=str(error), status_code=404)
        await record_audit("rights_acknowledged", actor=staff, object_id=line.id,
                           client_address=client_address(request), detail={"kind": line.kind})
        return Redirect("/staff/rights?done=acknowledged", status_code=303)

    @post("/{request_id:int}/complete", name="staff:rights-complete", status_code=303)
    async def complete(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                       request_id: DatabaseId, data: URLEncodedBody[NoteForm]) -> Template | Redirect:
        """Mark the request carried out (a correction or restriction done by hand), with what was done."""
        note = " ".join(data.note.split())
        if not note:
            return await self._page(request, staff, error=t("staff.rights.note_required", page_language(request)),
                                    status_code=400)
        try:
            line = await complete_request(request_id, note=note[:500])
        except RightsError as error:
            return await self._page(request, staff, error=str(error), status_code=404)
        await record_audit("rights_completed", actor=staff, object_id=line.id, client_address=client_address(request),
                           detail={"kind": line.kind, "note": note[:500]})
        return Redirect("/staff/rights?done=completed", status_code=303)

    @post("/{request_id:int}/export", name="staff:rights-export", status_code=200)
    async def export(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                     request_id: DatabaseId) -> Template | Response[bytes]:
        """Everything held about the request's subject, as a JSON attachment; the request is then carried out."""
        try:
            held, line = await export_request(await request_subject(request_id), actor=staff,
                                              handled_by=staff.username, request_id=request_id,
                                              client_address=client_address(request))
        except RightsError as error:
            return await self._page(request, staff, error=str(error),
                                    status_code=404 if isinstance(error, RequestNotFound) else 409)
        if held is None:
            return await self._page(request, staff, status_code=404, error=_unknown(request, line.subject_masked))
        body = json.dumps(held, ensure_ascii=False, indent=2).encode()
        return Response(body, media_type="application/json", headers={
            "content-disposition": f'attachment; filename="rights-request-{request_id}.json"',
            "cache-control": "no-store"})

    @get("/{request_id:int}/erase", name="staff:rights-erase-confirm")
    async def confirm_erase(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                            request_id: DatabaseId) -> Template:
        """The confirmation step before an erasure: what will go and what stays."""
        found = await rights_requests(ids=[request_id])
        if not found:
            return await self._page(request, staff, error=t("staff.rights.no_request", page_language(request),
                                                            id=request_id), status_code=404)
        return Template(template_name="staff/rights_erase.html", context=page_context(
            request, page_language(request), me=staff, line=found[0]))

    @post("/{request_id:int}/erase", name="staff:rights-erase", status_code=303)
    async def erase(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                    request_id: DatabaseId) -> Template | Redirect:
        """Erase the request's subject (confirmed on the previous step); the request is then carried out."""
        try:
            summary, line = await erase_request(await request_subject(request_id), actor=staff,
                                                handled_by=staff.username, request_id=request_id,
                                                client_address=client_address(request))
        except RightsError as error:
            return await self._page(request, staff, error=str(error),
                                    status_code=404 if isinstance(error, RequestNotFound) else 409)
        if summary is None:
            return await self._page(request, staff, status_code=404, error=_unknown(request, line.subject_masked))
        return Redirect("/staff/rights?done=erased", status_code=303)


def _unknown(request: Request[Any, Any, Any], subject: str) -> str:
    return t("staff.rights.unknown", page_language(request), subject=subject)


ROUTES: list[Any] = [RightsController]
LIFESPAN: list[Any] = []
