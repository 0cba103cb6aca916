"""Contact events in and opt-outs: ``POST /api/v1/contacts``, ``GET /api/v1/contacts/decisions``,
``POST /api/v1/optouts`` (API keys per source system) and the opt-out link ``/o/{token}``.

The opt-out link carries the same token as the survey link. A GET only shows a confirmation
page with a button: mail scanners and link previews follow links, and must not opt anyone out.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Response, Template

from delivery.phones import EmailError, PhoneError
from delivery.tokens import token_hash
from survey.i18n import t
from survey.services import respondents
from survey.services.apikeys import CONTACTS, OPT_OUTS, SCORES_READ, ApiKeyInfo
from survey.services.contacts import (
    MAX_BATCH,
    ConflictingEvents,
    ContactEvent,
    ContactOutcome,
    InvalidEvents,
    accept_contacts,
)
from survey.services.decisions import DecisionReport, UnknownUnit, decision_period, decision_report
from survey.settings import get_settings
from survey.state import state_of
from survey.web import (
    API_KEY_SECURITY,
    OneOf,
    Problem,
    api_key_for,
    check_link,
    link_failure,
    link_language,
    problems,
)

__all__ = ["LIFESPAN", "ROUTES", "ContactBatch", "ContactsBody", "OptOutReply", "OptOutRequest"]


class ContactBatch(msgspec.Struct, forbid_unknown_fields=True):
    """Several contact events at once (at most 1,000)."""

    events: list[ContactEvent]


class ContactsBody(OneOf):
    """One contact event, or ``{"events": [...]}``."""

    types: ClassVar[tuple[type, ...]] = (ContactEvent, ContactBatch)


class ContactResults(msgspec.Struct):
    """What was decided for each event of a batch, in its order."""

    results: list[ContactOutcome]


class OptOutRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A person who asked not to be surveyed, by phone and/or email."""

    phone: str | None = None
    email: str | None = None


class OptOutReply(msgspec.Struct):
    """The person is opted out; ``already`` when they were before."""

    opted_out: bool
    already: bool


_PATH = re.compile(r"`\$(?:\.events\[(\d+)\])?\.?([A-Za-z_]*)[^`]*`")


def _invalid_body(error: msgspec.ValidationError, batch: bool) -> Problem:
    message = str(error)
    found = _PATH.search(message)
    index = int(found[1]) if found and found[1] else (0 if not batch else None)
    missing = re.search(r"missing required field `(\w+)`", message)
    field = found[2] if found and found[2] else (missing[1] if missing else None)
    detail = _PATH.sub("", message).rstrip(" -")
    return Problem(422, f"invalid event: {message}", errors=[{"index": index, "field": field, "message": detail}])


def _events(body: Any) -> tuple[list[ContactEvent], bool]:
    """The events of a body (one event, or a batch) and whether it was a batch; a :class:`Problem` if invalid."""
    batch = isinstance(body, dict) and "events" in body
    if batch and isinstance(body["events"], list) and len(body["events"]) > MAX_BATCH:
        raise Problem(413, f"{len(body['events'])} events in one request; the limit is {MAX_BATCH:,}: split the batch",
                      limit=MAX_BATCH)
    try:
        events = msgspec.convert(body, ContactBatch).events if batch else [msgspec.convert(body, ContactEvent)]
    except msgspec.ValidationError as error:
        raise _invalid_body(error, batch) from None
    if batch and not events:
        raise Problem(422, "the batch has no events")
    return events, batch


@post("/api/v1/contacts", summary="Report contact events (one, or a batch of up to 1,000)", status_code=201,
      dependencies=api_key_for(CONTACTS), security=API_KEY_SECURITY,
      responses=problems(400, 401, 403, 409, 413, 415, 422))
async def post_contacts(
    request: Request[Any, Any, Any], data: JSONBody[ContactsBody], api_key: NamedDependency[ApiKeyInfo]
) -> Response[ContactOutcome | ContactResults]:
    """One event as a JSON object, or ``{"events": [...]}``. Idempotent on (source, external_id).

    Each reply says what was decided: ``planned`` (channel, send_at) or ``skipped`` (reason);
    ``duplicate`` when the event was reported before. 201 when anything was created, else 200.
    An external id reported before with other content is refused with 409 naming the differing fields
    (nothing of the batch is written).
    """
    events, batch = _events(data.value)
    wrong = [(i, e.source) for i, e in enumerate(events) if e.source != api_key.source]
    if wrong:
        index, source = wrong[0]
        raise Problem(403, f"this API key is for source {api_key.source!r}; event {index} has source {source!r}")
    try:
        state = state_of(request.app)
        outcomes = await accept_contacts(events, writer=state.contact_events, reference=state.reference)
    except ConflictingEvents as error:
        raise Problem(409, str(error), errors=[{"index": e.index, "field": e.field, "message": e.message}
                                               for e in error.errors]) from None
    except InvalidEvents as error:
        raise Problem(422, str(error), errors=[{"index": e.index, "field": e.field, "message": e.message}
                                               for e in error.errors]) from None
    status = 201 if any(not o.duplicate for o in outcomes) else 200
    return Response(ContactResults(outcomes) if batch else outcomes[0], status_code=status)


@get("/api/v1/contacts/decisions", summary="Contacts by decision: planned, and skipped by reason",
     dependencies=api_key_for(SCORES_READ), security=API_KEY_SECURITY, responses=problems(400, 401, 403))
async def get_decisions(
    api_key: NamedDependency[ApiKeyInfo],
    period_from: Annotated[str, QueryParameter(name="from", description="Start (ISO 8601 date or date and time)")],
    period_to: Annotated[str, QueryParameter(name="to", description="End, exclusive (ISO 8601)")],
    unit: Annotated[str | None, QueryParameter(description="Unit code (includes its subtree)")] = None,
) -> DecisionReport:
    """How many contacts of the period were planned, and skipped by reason (with the reasons explained)."""
    try:
        start, end = decision_period(period_from, period_to)
    except ValueError as error:
        raise Problem(400, str(error), parameter=str(error).split(":", 1)[0]) from None
    try:
        return await decision_report(start, end, unit)
    except UnknownUnit as error:
        raise Problem(400, str(error), parameter="unit") from None


@post("/api/v1/optouts", summary="A person asked not to be surveyed (by phone and/or email)", status_code=200,
      dependencies=api_key_for(OPT_OUTS), security=API_KEY_SECURITY, responses=problems(400, 401, 403, 415, 422))
async def post_optout(data: JSONBody[OptOutRequest], api_key: NamedDependency[ApiKeyInfo]) -> OptOutReply:
    """Opt a person out across channels; their invitations still waiting are cancelled."""
    if not (data.phone or data.email):
        raise Problem(422, "give phone and/or email")
    try:
        newly = await respondents.opt_out(phone=data.phone, email=data.email, source="api")
    except (PhoneError, EmailError) as error:
        raise Problem(422, str(error)) from None
    return OptOutReply(opted_out=True, already=not newly)


# --- /o/{token} -------------------------------------------------------------------------------------------------

def _optout_page(kind: str, lang: str, action: str = "", origin: str = "link") -> Template:
    title = t("optout.done.title", lang) if kind == "done" else t("optout.title", lang)
    return Template(template_name="public/optout.html",
                    context={"lang": lang, "kind": kind, "title": title, "action": action,
                             "origin": origin})


async def _holder(request: Request[Any, Any, Any], token: str) -> tuple[Response[Any] | None, Any, str]:
    lang = link_language(request)
    rejected = await check_link(request, token, lang)
    if rejected is not None:
        return rejected, None, lang
    holder = await respondents.invitation_for_token_hash(token_hash(token, get_settings().secret_key))
    if holder is None:
        return await link_failure(request, lang), None, lang
    lang = link_language(request, holder.language)
    if not holder.has_person:
        return _optout_page("nobody", lang), holder, lang
    return None, holder, lang


@get("/o/{token:str}", name="optout-link", include_in_schema=False)
async def optout_page(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[Any]:
    """The opt-out link of a message or survey page: a confirmation page (a GET changes nothing)."""
    rejected, holder, lang = await _holder(request, token)
    if rejected is not None:
        return rejected
    if holder.opted_out:
        return _optout_page("done", lang)
    origin = "survey" if request.query_params.get("from") == "survey" else "link"
    return _optout_page("confirm", lang, action=f"/o/{token}", origin=origin)


@post("/o/{token:str}", name="optout-link-post", status_code=200, include_in_schema=False)
async def optout_confirm(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[Any]:
    """The confirmation: the person behind the link is opted out of every survey."""
    rejected, holder, lang = await _holder(request, token)
    if rejected is not None:
        return rejected
    form = await request.form()
    source = "survey" if form.get("from") == "survey" else "link"
    await respondents.opt_out_by_invitation(holder.invitation_id, source)
    return _optout_page("done", link_language(request, form.get("lang"), holder.language))


ROUTES: list[Any] = [post_contacts, get_decisions, post_optout, optout_page, optout_confirm]
LIFESPAN: list[Any] = []
