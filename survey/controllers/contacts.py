"""Contact events in and opt-outs: ``POST /api/v1/contacts``, ``GET /api/v1/contacts/decisions``,
``POST /api/v1/optouts`` (API keys per source system) and the opt-out link ``/o/{token}``.

The opt-out link carries the same token as the survey link. A GET only shows a confirmation
page with a button: mail scanners and link previews follow links, and must not opt anyone out.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.enums import MediaType
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromPath, QueryParameter
from litestar.response import Response, Template

from delivery.phones import EmailError, PhoneError
from delivery.tokens import token_hash
from survey.controllers.public import check_link, link_failure, link_language
from survey.i18n import t
from survey.services import respondents
from survey.services.apikeys import ApiKeyInfo, authenticate
from survey.services.contacts import MAX_BATCH, ContactEvent, InvalidEvents, accept_contacts
from survey.services.decisions import decision_counts, decision_period, reason_texts
from survey.settings import get_settings
from survey.state import state_of

__all__ = ["LIFESPAN", "ROUTES"]


class ContactBatch(msgspec.Struct, forbid_unknown_fields=True):
    """Several contact events at once (at most 1,000)."""

    events: list[ContactEvent]


class OptOutRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A person who asked not to be surveyed, by phone and/or email."""

    phone: str | None = None
    email: str | None = None


def _json(body: Any, status: int = 200) -> Response[Any]:
    return Response(body, status_code=status, media_type=MediaType.JSON)


def problem_response(status: int, detail: str, **extra: Any) -> Response[Any]:
    return _json({"status_code": status, "detail": detail, **extra}, status)


async def require_api_key(request: Request[Any, Any, Any]) -> ApiKeyInfo:
    authorization = request.headers.get("authorization", "")
    if not authorization.lower().startswith("bearer "):
        raise NotAuthorizedException("send the source system's API key as 'Authorization: Bearer <key>'",
                                     headers={"WWW-Authenticate": "Bearer"})
    key = await authenticate(authorization[7:])
    if key is None:
        raise NotAuthorizedException("unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    return key


_PATH = re.compile(r"`\$(?:\.events\[(\d+)\])?\.?([A-Za-z_]*)[^`]*`")


def _invalid_body(error: msgspec.ValidationError, batch: bool) -> Response[Any]:
    message = str(error)
    found = _PATH.search(message)
    index = int(found[1]) if found and found[1] else (0 if not batch else None)
    missing = re.search(r"missing required field `(\w+)`", message)
    field = found[2] if found and found[2] else (missing[1] if missing else None)
    detail = _PATH.sub("", message).rstrip(" -")
    return problem_response(422, f"invalid event: {message}",
                    errors=[{"index": index, "field": field, "message": detail}])


@post("/api/v1/contacts", summary="Report contact events (one, or a batch of up to 1,000)", status_code=201)
async def post_contacts(request: Request[Any, Any, Any]) -> Response[Any]:
    """One event as a JSON object, or ``{"events": [...]}``. Idempotent on (source, external_id).

    Each reply says what was decided: ``planned`` (channel, send_at) or ``skipped`` (reason);
    ``duplicate`` when the event was reported before. 201 when anything was created, else 200.
    """
    key = await require_api_key(request)
    try:
        data = msgspec.json.decode(await request.body())
    except msgspec.DecodeError as error:
        return problem_response(400, f"the body is not JSON: {error}")
    batch = isinstance(data, dict) and "events" in data
    if batch and isinstance(data["events"], list) and len(data["events"]) > MAX_BATCH:
        return problem_response(413, f"{len(data['events'])} events in one request; the limit is {MAX_BATCH:,}: "
                             "split the batch", limit=MAX_BATCH)
    try:
        events = msgspec.convert(data, ContactBatch).events if batch else [msgspec.convert(data, ContactEvent)]
    except msgspec.ValidationError as error:
        return _invalid_body(error, batch)
    if batch and not events:
        return problem_response(422, "the batch has no events")
    wrong = [(i, e.source) for i, e in enumerate(events) if e.source != key.source]
    if wrong:
        index, source = wrong[0]
        return problem_response(403, f"this API key is for source {key.source!r}; event {index} has source {source!r}")
    try:
        state = state_of(request.app)
        outcomes = await accept_contacts(events, writer=state.contact_events, reference=state.reference)
    except InvalidEvents as error:
        return problem_response(422, str(error), errors=[{"index": e.index, "field": e.field, "message": e.message}
                                                 for e in error.errors])
    status = 201 if any(not o.duplicate for o in outcomes) else 200
    body: Any = {"results": outcomes} if batch else outcomes[0]
    return _json(body, status)


@get("/api/v1/contacts/decisions", summary="Contacts by decision: planned, and skipped by reason")
async def get_decisions(
    request: Request[Any, Any, Any],
    period_from: Annotated[str, QueryParameter(name="from", description="Start (ISO 8601 date or date and time)")],
    period_to: Annotated[str, QueryParameter(name="to", description="End, exclusive (ISO 8601)")],
    unit: Annotated[str | None, QueryParameter(description="Unit code (includes its subtree)")] = None,
) -> Response[Any]:
    """How many contacts of the period were planned, and skipped by reason (with the reasons explained)."""
    await require_api_key(request)
    try:
        start, end = decision_period(period_from, period_to)
    except ValueError as error:
        return problem_response(400, str(error))
    prefix = None
    if unit:
        from survey.tables import Unit

        rows = await Unit.select(Unit.path).where(Unit.code == unit)
        if not rows:
            return problem_response(400, f"unknown unit {unit!r}")
        prefix = rows[0]["path"]
    counts = await decision_counts(start, end, prefix)
    texts = reason_texts()
    skipped = {reason: n for reason, n in sorted(counts.items()) if reason != "planned"}
    return _json({
        "from": start.isoformat(), "to": end.isoformat(), "unit": unit,
        "total": sum(n for reason, n in counts.items() if not reason.startswith("cancelled:")),
        "planned": counts.get("planned", 0),
        "skipped": skipped,
        "reasons": {reason: dict(texts[reason.split(":")[-1]]) for reason in skipped
                    if reason.split(":")[-1] in texts},
    })


@post("/api/v1/optouts", summary="A person asked not to be surveyed (by phone and/or email)", status_code=200)
async def post_optout(request: Request[Any, Any, Any]) -> Response[Any]:
    """Opt a person out across channels; their invitations still waiting are cancelled."""
    await require_api_key(request)
    try:
        body = msgspec.json.decode(await request.body(), type=OptOutRequest)
    except msgspec.ValidationError as error:
        return problem_response(422, str(error))
    except msgspec.DecodeError:
        return problem_response(400, "the body is not JSON")
    if not (body.phone or body.email):
        return problem_response(422, "give phone and/or email")
    try:
        newly = await respondents.opt_out(phone=body.phone, email=body.email, source="api")
    except (PhoneError, EmailError) as error:
        return problem_response(422, str(error))
    return _json({"opted_out": True, "already": not newly})


# --- /o/{token} -------------------------------------------------------------------------------------------------

def _optout_page(kind: str, lang: str, action: str = "", origin: str = "link") -> Template:
    title = t("optout.done.title", lang) if kind == "done" else t("optout.title", lang)
    return Template(template_name="public/optout.html",
                    context={"lang": lang, "kind": kind, "title": title, "action": action,
                             "origin": origin})


async def _holder(request: Request[Any, Any, Any], token: str) -> tuple[Response[Any] | None, Any, str]:
    lang = link_language(request)
    rejected = check_link(request, token, lang)
    if rejected is not None:
        return rejected, None, lang
    holder = await respondents.invitation_for_token_hash(token_hash(token, get_settings().secret_key))
    if holder is None:
        return link_failure(request, lang), None, lang
    return None, holder, link_language(request, holder.language)


@get("/o/{token:str}", name="optout-link")
async def optout_page(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[Any]:
    """The opt-out link of a message or survey page: a confirmation page (a GET changes nothing)."""
    rejected, holder, lang = await _holder(request, token)
    if rejected is not None:
        return rejected
    if not holder.has_person:
        return _optout_page("nobody", lang)
    if holder.opted_out:
        return _optout_page("done", lang)
    origin = "survey" if request.query_params.get("from") == "survey" else "link"
    return _optout_page("confirm", lang, action=f"/o/{token}", origin=origin)


@post("/o/{token:str}", name="optout-link-post", status_code=200)
async def optout_confirm(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[Any]:
    """The confirmation: the person behind the link is opted out of every survey."""
    rejected, holder, lang = await _holder(request, token)
    if rejected is not None:
        return rejected
    if not holder.has_person:
        return _optout_page("nobody", lang)
    form = await request.form()
    source = "survey" if form.get("from") == "survey" else "link"
    await respondents.opt_out_by_invitation(holder.invitation_id, source)
    return _optout_page("done", link_language(request, form.get("lang"), holder.language))


ROUTES: list[Any] = [post_contacts, get_decisions, post_optout, optout_page, optout_confirm]
LIFESPAN: list[Any] = []
