"""Delivery's HTTP side: Twilio status callbacks, the sandbox and outbox staff pages, the in-process worker.

- ``POST /webhooks/twilio/status``: the signature is checked against ``{SURVEY_BASE_URL}/webhooks/twilio/status``
  with the auth token (403 and nothing changed when it is missing or wrong); the answer (204) goes out at
  once and the update is applied afterwards, or queued as a job when its invitation is not committed yet.
- ``GET /staff/sandbox``: the messages the sandbox channel kept (encoding and segments), for the invitations of
  the units a user may see: recipients masked, the links clickable for administrators only (masked for the
  others), each view audited (``sandbox_viewed``: the page, how many messages, whether links were shown).
- ``GET /staff/outbox``: job counts and the dead-letter jobs (administrators), each with a Retry button
  (``POST /staff/outbox/{id}/retry``, CSRF-protected).
- ``LIFESPAN``: the worker loop inside the server process when ``SURVEY_WORKER_IN_PROCESS`` is true.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from litestar import Controller, Litestar, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from delivery.twilio_status import signature_valid
from survey.services import audit, outbox
from survey.services.accounts import StaffIdentity, scope_prefix
from survey.services.sandbox import sandbox_messages
from survey.services.sending import STATUS_CALLBACK_ATTEMPTS, apply_twilio_status
from survey.settings import get_settings
from survey.web import (
    STAFF,
    DatabaseId,
    client_address,
    page_context,
    page_language,
    requires_role,
    requires_staff,
    with_query,
)

__all__ = ["LIFESPAN", "ROUTES", "DeliveryStaffController", "in_process_worker", "twilio_status_callback"]

log = logging.getLogger("survey.controllers.outbox")

PER_PAGE = 50
# the parameters of a Twilio status callback that apply_twilio_status reads
STATUS_FIELDS = ("MessageSid", "SmsSid", "MessageStatus", "SmsStatus", "ErrorCode")


def _context(request: Request[Any, Any, Any], language: str, **values: Any) -> dict[str, Any]:
    return page_context(request, language, **values)


# --- Twilio status callbacks -------------------------------------------------------------------------------------


async def _apply_later(params: dict[str, str]) -> None:
    """After the 204: apply the callback, or queue it when its invitation is not committed yet."""
    try:
        if await apply_twilio_status(params):
            return
    except Exception:
        log.exception("applying a Twilio status callback failed; queueing it")
    # the job keeps what applying the status reads, never the callback's To and From (a person's phone number)
    kept = {name: params[name] for name in STATUS_FIELDS if name in params}
    await outbox.enqueue("twilio_status", {"params": kept}, due_at=datetime.now(UTC) + timedelta(seconds=5),
                         max_attempts=STATUS_CALLBACK_ATTEMPTS)


@post("/webhooks/twilio/status", name="webhooks:twilio-status", status_code=204, include_in_schema=False)
async def twilio_status_callback(request: Request[Any, Any, Any]) -> Response[None]:
    """A message status from Twilio: checked, answered at once, applied afterwards."""
    state = request.app.state
    settings = (state.get("settings") if isinstance(state, dict) else None) or get_settings()
    form = await request.form()
    params = {str(key): str(value) for key, value in form.items()}
    signature = request.headers.get("X-Twilio-Signature")
    url = f"{settings.base_url}/webhooks/twilio/status"
    if not settings.twilio_auth_token or not signature_valid(settings.twilio_auth_token, url, params, signature):
        return Response(None, status_code=403)
    return Response(None, status_code=204, background=BackgroundTask(_apply_later, params))


# --- staff pages ----------------------------------------------------------------------------------------------------


class DeliveryStaffController(Controller):
    """The sandbox's messages and the outbox's dead letters."""

    path = "/staff"
    guards = [requires_staff]
    dependencies = STAFF
    include_in_schema = False

    # every role reads what was sent in its scope, recipients masked; the links (which open real surveys) only
    # administrators
    @get("/sandbox", name="staff:sandbox")
    async def sandbox(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                      page: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1) -> Template:
        """Messages the sandbox kept, newest first, for the invitations in the user's scope; only administrators
        see the live links (nobody else can answer a survey on a citizen's behalf)."""
        language = page_language(request)
        # every role sees the recipients masked; the live links only administrators (masked for the others)
        show_links = staff.is_admin
        entries = await sandbox_messages(scope_prefix(staff), include_unlinked=staff.is_admin, show_links=show_links,
                                         limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE)
        shown = entries[:PER_PAGE]
        await audit.record("sandbox_viewed", actor=staff, object_type="sandbox_message",
                           detail={"page": page, "messages": len(shown), "links_shown": show_links},
                           client_address=client_address(request))
        return Template(template_name="staff/sandbox.html", context=_context(
            request, language, me=staff, entries=shown, page=page, links_shown=show_links,
            has_previous=page > 1, has_next=len(entries) > PER_PAGE,
            previous_href=f"/staff/sandbox?{with_query(request, page=page - 1)}",
            next_href=f"/staff/sandbox?{with_query(request, page=page + 1)}",
        ))

    @get("/outbox", name="staff:outbox")
    async def outbox_page(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                          retried: Annotated[int | None, QueryParameter()] = None,
                          not_dead: Annotated[int | None, QueryParameter()] = None) -> Template:
        """Jobs by status and the dead letters with a Retry button (administrators only)."""
        language = page_language(request)
        if not staff.is_admin:
            return Template(template_name="staff/outbox.html", status_code=403,
                            context=_context(request, language, me=staff, forbidden=True))
        counts = await outbox.counts_by_status()
        dead = await outbox.dead_jobs()
        return Template(template_name="staff/outbox.html", context=_context(
            request, language, me=staff, forbidden=False, counts=counts, dead=dead, retried=retried,
            not_dead=not_dead,
        ))

    @post("/outbox/{job_id:int}/retry", name="staff:outbox-retry", status_code=303, guards=[requires_role("admin")])
    async def retry(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                    job_id: DatabaseId) -> Redirect:
        """Queue a dead job again with fresh attempts (administrators only)."""
        requeued = await outbox.retry_dead(job_id)
        if requeued:
            await audit.record("job_retried", actor=staff, object_type="job", object_id=job_id,
                               client_address=client_address(request))
        flag = "retried" if requeued else "not_dead"
        return Redirect(f"/staff/outbox?{flag}={job_id}", status_code=303)


# --- the worker inside the server (the demo) --------------------------------------------------------------------


@contextlib.asynccontextmanager
async def in_process_worker(app: Litestar) -> AsyncIterator[None]:
    """Run the outbox worker beside the server when ``SURVEY_WORKER_IN_PROCESS`` is true."""
    state = app.state if isinstance(app.state, dict) else {}
    settings = state.get("settings") or get_settings()
    if not settings.worker_in_process:
        yield
        return
    from survey.services.sending import delivery_from_settings
    from survey.worker import Worker, default_worker_id

    delivery = delivery_from_settings(settings)
    worker = Worker(delivery, worker_id=f"{default_worker_id()}:server", concurrency=4)
    task = asyncio.create_task(worker.run())
    try:
        yield
    finally:
        worker.stop()
        try:
            await asyncio.wait_for(task, timeout=20)
        except (TimeoutError, Exception):
            log.exception("the in-process worker did not stop cleanly")
            task.cancel()
        await delivery.aclose()


ROUTES: list[Any] = [twilio_status_callback, DeliveryStaffController]
LIFESPAN: list[Any] = [in_process_worker]
