"""What the HTTP controllers share: who is asking (an integrator's API key, a signed-in member of staff), the
language and links of a request, the one problem body every refusal is answered with, the bounds of ids and
dates taken from a request, and the security headers of every response.

Every refusal is a :class:`Problem` (or another Litestar ``HTTPException``), answered by :func:`problem_handler`
as ``{"status_code": 404, "detail": "...", ...extra}``; any other exception is logged and answered the same way
with 500, never with a traceback page.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.di import Provide
from litestar.enums import MediaType, RequestEncodingType
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Operation, Schema
from litestar.params import Parameter
from litestar.plugins import OpenAPISchemaPlugin
from litestar.response import Redirect, Template
from litestar.types import ASGIApp, Guard, Message, Receive, Scope, Send
from litestar.typing import FieldDefinition

from delivery.tokens import is_well_formed
from survey.access_log import mask_tokens
from survey.i18n import N_, t
from survey.services.accounts import StaffIdentity
from survey.services.apikeys import ApiKeyInfo, authenticate
from survey.services.signin import session_identity
from survey.settings import Network, get_settings
from survey.state import state_of

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

__all__ = [
    "API_KEY",
    "CHANGES_NO_DATA",
    "API_KEY_SECURITY",
    "LOGIN_PATH",
    "MAX_ID",
    "ONE_OF_DECODERS",
    "STAFF",
    "DatabaseId",
    "OneOf",
    "OneOfSchema",
    "PageOrJson",
    "Problem",
    "ProblemBody",
    "StaffLoginRequired",
    "api_key_for",
    "bearer_key",
    "check_link",
    "client_address",
    "first_language",
    "format_local_time",
    "format_number",
    "is_json_media_type",
    "known_key",
    "link_failure",
    "link_language",
    "message_page",
    "over_public_limit",
    "page_context",
    "page_language",
    "page_or_json_body",
    "problem_handler",
    "problems",
    "provide_api_key",
    "provide_staff",
    "redirect_to_login",
    "require_json_content_type",
    "requires_role",
    "require_scope",
    "requires_staff",
    "safe_next",
    "security_headers",
    "strip_nul",
    "takes_json_body",
    "wants_json",
    "with_query",
    "without_nul",
]

log = logging.getLogger("survey.web")

LOGIN_PATH = "/staff/login"
HOME_PATH = "/staff/"
MAX_ID = 2**31 - 1  # the largest id both databases store (PostgreSQL's integer); a larger one is refused unread
DatabaseId = Annotated[int, Parameter(ge=1, le=MAX_ID, description=f"An id from 1 to {MAX_ID}")]
# the dates a request may name: wide enough for any real contact or report, narrow enough for every conversion


# --- problems -------------------------------------------------------------------------------------------------------


class Problem(HTTPException):
    """A refusal the client can act on, answered as ``{"status_code", "detail", **extra}``.

    >>> Problem(413, "too many events", limit=1000).extra
    {'limit': 1000}
    """

    def __init__(self, status_code: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail=detail, status_code=status_code, headers=headers, extra=extra)


class EventErrorBody(msgspec.Struct):
    """One invalid field of one event of a batch."""

    index: int | None
    field: str | None
    message: str


class ProblemBody(msgspec.Struct, omit_defaults=True):
    """The body of every refusal: the status, what went wrong, and what else helps (never all at once)."""

    status_code: int
    detail: str
    errors: list[EventErrorBody] | None = None
    parameter: str | None = None
    field: str | None = None
    allowed: list[str] | None = None
    limit: int | None = None
    scope: str | None = None
    extra: list[dict[str, Any]] | dict[str, Any] | None = None


STATUS_DESCRIPTIONS = {
    400: "The request is malformed: the detail names the parameter or field",
    401: "No valid API key or staff session",
    403: "The credentials do not allow this (an API key without the route's scope: `scope` names it)",
    404: "No such thing (or not in the caller's scope)",
    409: "Already done once (a link is single-use), or an id reused with other content: the detail names the fields",
    410: "Expired",
    413: "Too large: the detail gives the limit",
    415: "The body is not sent as JSON: use 'Content-Type: application/json'",
    422: "Well-formed but invalid: the detail names the field and the allowed values",
    429: "Too many requests: see Retry-After",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """The ``responses=`` of a handler that may refuse with ``statuses`` (each documented with the problem body)."""
    return {status: ResponseSpec(data_container=ProblemBody, description=STATUS_DESCRIPTIONS[status],
                                 generate_examples=False) for status in statuses}


def _body_errors(extra: Any) -> bool:
    return isinstance(extra, list) and bool(extra) and all(
        isinstance(e, dict) and e.get("source") == "body" and e.get("key") != "data" for e in extra)


def problem_handler(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """The one exception handler: a Litestar ``HTTPException`` as its problem body; anything else logged, 500."""
    if isinstance(error, HTTPException):
        status, detail, extra, headers = error.status_code, error.detail, error.extra, error.headers
    else:
        log.error("unhandled error in %s %s", request.method, mask_tokens(request.url.path), exc_info=error)
        status, detail, extra, headers = 500, "Internal Server Error", None, None
    if isinstance(error, ValidationException) and _body_errors(extra):
        # JSON that does not fit the body's schema: well-formed but invalid, as the API answered before
        status = 422
        detail = "invalid body: " + "; ".join(f"{e.get('key', 'body')}: {e.get('message', '')}" for e in extra)
    body: dict[str, Any] = {"status_code": status, "detail": detail}
    if isinstance(extra, dict):
        body.update(extra)
    elif extra:
        body["extra"] = extra  # Litestar's validation errors: a list of {message, key, source}
    return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)


# --- JSON bodies need a JSON content type ---------------------------------------------------------------------------

# Litestar decodes a handler's JSON body whatever the Content-Type says; a client that sends text/plain (or a form)
# to a JSON endpoint is confused about what it sends, and a browser form posted cross-site is text/plain or a form:
# both are refused before the body is read. Forms of the staff and public pages have their own bodies and pass.
JSON_MEDIA_TYPE = re.compile(r"application/(?:[a-z0-9!#$&^_.-]+\+)?json")


def is_json_media_type(content_type: str) -> bool:
    """Whether a ``Content-Type`` header names JSON: ``application/json`` or ``application/*+json``, any parameters.

    >>> [is_json_media_type(v) for v in ("application/json; charset=utf-8", "application/problem+json",
    ...                                   "text/plain", "application/jsonx", "")]
    [True, True, False, False, False]
    """
    return bool(JSON_MEDIA_TYPE.fullmatch(content_type.split(";", 1)[0].strip().lower()))


def takes_json_body(handler: BaseRouteHandler) -> bool:
    """Whether a route handler takes a JSON body (a ``data`` parameter that is not a form or a file upload)."""
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return False
    return getattr(data.kwarg_definition, "media_type", RequestEncodingType.JSON) == RequestEncodingType.JSON


async def require_json_content_type(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook: a JSON endpoint answers 415 to a body that is not declared as JSON."""
    if not takes_json_body(request.route_handler):
        return
    content_type = request.headers.get("content-type", "")
    if not is_json_media_type(content_type):
        given = f"Content-Type {content_type[:80]!r}" if content_type else "no Content-Type"
        raise Problem(415, f"this endpoint takes a JSON body: send it with 'Content-Type: application/json' "
                           f"(the request has {given})", allowed=["application/json", "application/*+json"])


# --- bodies of several shapes ---------------------------------------------------------------------------------------


class OneOf:
    """A JSON body that is one of several Structs (``types``), which the handler tells apart and converts.

    msgspec converts into one Struct of a union only by a tag field, which these bodies predate. The handler
    receives the decoded JSON as ``.value``; OpenAPI documents it as ``oneOf`` the ``types``.
    """

    types: ClassVar[tuple[type, ...]] = ()

    def __init__(self, value: Any) -> None:
        self.value = value


class OneOfSchema(OpenAPISchemaPlugin):
    """Documents a :class:`OneOf` body as ``oneOf`` its Structs."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return isinstance(value, type) and issubclass(value, OneOf)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        kinds = field_definition.annotation.types
        return Schema(one_of=[schema_creator.for_field_definition(FieldDefinition.from_annotation(kind))
                              for kind in kinds])


# ``type_decoders=`` of the app: a OneOf body keeps the decoded JSON as it came
ONE_OF_DECODERS: list[tuple[Callable[[Any], bool], Callable[[Any, Any], Any]]] = [
    (OneOfSchema.is_plugin_supported_type, lambda kind, value: kind(value)),
]


class PageOrJson(Operation):
    """The OpenAPI operation of a page that answers JSON to a JSON client: every response also as HTML."""

    def to_schema(self) -> dict[str, Any]:
        schema = super().to_schema()
        for response in schema.get("responses", {}).values():
            response.setdefault("content", {})["text/html"] = {"schema": {"type": "string"}}
        return schema


def page_or_json_body(struct: type[msgspec.Struct]) -> type[Operation]:
    """:class:`PageOrJson` for a handler that takes a form from browsers or ``struct`` as JSON.

    The handler decodes the body itself (Litestar takes one body encoding per handler); this documents both.
    """
    _, components = msgspec.json.schema_components([struct], ref_template="#/components/schemas/{name}")

    class Operation(PageOrJson):
        def to_schema(self) -> dict[str, Any]:
            schema = super().to_schema()
            schema["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": components[struct.__name__]},
                "application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": True}},
            }}
            return schema

    return Operation


# --- who is asking --------------------------------------------------------------------------------------------------

API_KEY_SECURITY: list[dict[str, list[str]]] = [{"apiKey": []}]


def bearer_key(request: Request[Any, Any, Any] | ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header, or ``None`` when there is none."""
    authorization = request.headers.get("authorization", "")
    return authorization[7:].strip() if authorization.lower().startswith("bearer ") else None


async def provide_api_key(request: Request[Any, Any, Any]) -> ApiKeyInfo:
    """The ``api_key`` dependency: the integrator's active key, else 401."""
    key = bearer_key(request)
    if key is None:
        raise NotAuthorizedException("send the source system's API key as 'Authorization: Bearer <key>'",
                                     headers={"WWW-Authenticate": "Bearer"})
    return await known_key(key)


async def known_key(key: str) -> ApiKeyInfo:
    """The active API key ``key`` is, else 401."""
    info = await authenticate(key)
    if info is None:
        raise NotAuthorizedException("unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    return info


API_KEY = {"api_key": Provide(provide_api_key)}


def require_scope(info: ApiKeyInfo, scope: str) -> ApiKeyInfo:
    """``info`` when its key may use ``scope``, else 403 naming the scope."""
    if not info.allows(scope):
        raise Problem(403, f"this API key lacks the scope {scope!r} (it has: {', '.join(info.scopes) or 'none'}); "
                           f"ask for a key made with 'survey apikeys create SOURCE --scope {scope}'", scope=scope)
    return info


def api_key_for(scope: str) -> dict[str, Provide]:
    """The ``api_key`` dependency of a route that needs ``scope``: 401 without an active key, 403 naming the scope
    when the key lacks it. Example: ``@post("/api/v1/tickets", dependencies=api_key_for(TICKETS), ...)``."""
    async def provide_scoped_api_key(request: Request[Any, Any, Any]) -> ApiKeyInfo:
        return require_scope(await provide_api_key(request), scope)

    return {"api_key": Provide(provide_scoped_api_key)}


class StaffLoginRequired(NotAuthorizedException):
    """No valid staff session: browsers go to the sign-in page, API clients get 401."""


async def requires_staff(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard: a signed-in, active member of staff whose session version is current.

    The identity is left in ``connection.state.staff`` (handlers take it as the ``staff`` dependency).
    """
    session = connection.scope.get("session")
    identity = await session_identity(session if isinstance(session, dict) else None)
    if identity is None:
        if session:
            connection.clear_session()  # an ended session: forget it in the browser too
        raise StaffLoginRequired("Authentication required")
    connection.state.staff = identity
    if (identity.read_only and connection.scope.get("method", "GET") not in READING_METHODS
            and not handler.opt.get(CHANGES_NO_DATA)):
        # a leader reads everything and changes nothing: every change is refused here, whatever the page
        raise PermissionDeniedException(f"your role ({identity.role}) reads only: it may not change anything")


READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# a handler's ``opt`` key: a POST that changes none of the data (a report made on demand), open to read-only roles
CHANGES_NO_DATA = "changes_no_data"


def requires_role(*roles: str) -> Guard:
    """Guard (after :func:`requires_staff`): the member of staff has one of ``roles``, else 403.

    Example: ``@post("/outbox/{job_id:int}/retry", guards=[requires_role("admin")])``.
    """
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        identity = getattr(connection.state, "staff", None)
        if not isinstance(identity, StaffIdentity) or identity.role not in roles:
            raise PermissionDeniedException(f"your role may not do this (allowed: {', '.join(sorted(roles))})")
    return guard


def provide_staff(request: Request[Any, Any, Any]) -> StaffIdentity:
    """The ``staff`` dependency: who is signed in (only on handlers guarded by :func:`requires_staff`)."""
    identity = getattr(request.state, "staff", None)
    if not isinstance(identity, StaffIdentity):
        raise StaffLoginRequired("Authentication required")
    return identity


STAFF = {"staff": Provide(provide_staff, sync_to_thread=False)}


def redirect_to_login(request: Request[Any, Any, Any], _: StaffLoginRequired) -> Response[Any]:
    """Browsers to the sign-in page (coming back here after); JSON clients a 401 problem."""
    if wants_json(request):
        return Response({"status_code": 401, "detail": "Authentication required"}, status_code=401)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(f"{LOGIN_PATH}?next={quote(target, safe='/')}", status_code=303)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a staff page of this site, never another site."""
    if not target:
        return HOME_PATH
    parts = urlsplit(target)
    on_staff_pages = parts.path == "/staff" or parts.path.startswith("/staff/")
    if parts.scheme or parts.netloc or not on_staff_pages or target.startswith("//"):
        return HOME_PATH
    if "\\" in target or parts.path.startswith(LOGIN_PATH):
        return HOME_PATH
    return target


def client_address(request: Request[Any, Any, Any] | ASGIConnection[Any, Any, Any, Any]) -> str:
    """Who is asking: the direct peer, or, when the peer is one of ``SURVEY_TRUSTED_PROXIES``, the right-most
    address of ``X-Forwarded-For`` that is not itself a trusted proxy (what the outermost trusted proxy saw;
    anything left of it was written by the client and proves nothing). The one answer every rate limit and the
    audit use.

    With no trusted proxies (the default) the header is ignored, so a client cannot pick its own address. Behind
    proxies 10.0.0.2 and 10.0.0.3 (``SURVEY_TRUSTED_PROXIES=10.0.0.0/24``), a request from 10.0.0.3 carrying
    ``X-Forwarded-For: 1.1.1.1, 203.0.113.7, 10.0.0.2`` is from 203.0.113.7.
    """
    peer = request.client.host if request.client else "unknown"
    trusted = state_of(request.app).settings.trusted_proxies
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    forwarded = ",".join(request.headers.getall("x-forwarded-for", []))
    for written in reversed([part for part in forwarded.split(",") if part.strip()]):
        hop = _hop_address(written)
        if hop is None:
            break  # not written by a proxy of ours: stop at the last hop that was
        if not _is_trusted(hop, trusted):
            return hop
        peer = hop
    return peer


def _hop_address(text: str) -> str | None:
    """The address of one ``X-Forwarded-For`` entry (some proxies add the port), else ``None``.

    >>> _hop_address(" 203.0.113.7"), _hop_address("203.0.113.7:5123"), _hop_address("[2001:db8::1]:443")
    ('203.0.113.7', '203.0.113.7', '2001:db8::1')
    >>> _hop_address("2001:db8::1"), _hop_address("unknown")
    ('2001:db8::1', None)
    """
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1:text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":")[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _is_trusted(host: str, trusted: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in trusted)


def wants_json(request: Request[Any, Any, Any]) -> bool:
    """A JSON client (``Accept: application/json``), not a browser."""
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


# --- language and links ---------------------------------------------------------------------------------------------


def first_language(*candidates: str | None) -> str:
    """The first of ``candidates`` that is an interface language, else the default one."""
    settings = get_settings()
    for candidate in candidates:
        if candidate in settings.languages:
            return str(candidate)
    return settings.default_language


def link_language(request: Request[Any, Any, Any], *fallbacks: str | None) -> str:
    """A public page's language: ``?lang=``, else the first of ``fallbacks`` that is one (draft, invitation)."""
    return first_language(request.query_params.get("lang"), *fallbacks)


def page_language(request: Request[Any, Any, Any] | ASGIConnection[Any, Any, Any, Any]) -> str:
    """A staff page's language: ``?lang=`` when given (and remembered in the session), else the session's."""
    session = request.scope.get("session")
    asked = request.query_params.get("lang")
    if asked in get_settings().languages:
        if isinstance(session, dict):
            session["lang"] = asked
        else:
            request.set_session({"lang": asked})
        return str(asked)
    return first_language(session.get("lang") if isinstance(session, dict) else None)


def with_query(request: Request[Any, Any, Any], **changes: object) -> str:
    """The request's query string with ``changes`` applied (for pagination and language links; ``None`` drops a
    parameter)."""
    params = {key: value for key, value in request.query_params.items()}
    params.update({key: str(value) for key, value in changes.items() if value is not None})
    for key in [key for key, value in changes.items() if value is None]:
        params.pop(key, None)
    return "&".join(f"{quote(key)}={quote(value)}" for key, value in params.items())


def format_local_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(get_settings().timezone)).strftime("%d/%m/%Y %H:%M")


def format_number(value: float | None, language: str, digits: int = 1) -> str:
    """``value`` with ``digits`` decimals as the reader writes numbers (a decimal comma in Vietnamese).

    >>> format_number(82.349, "vi"), format_number(82.349, "en"), format_number(None, "vi")
    ('82,3', '82.3', '—')
    """
    if value is None:
        return "—"
    written = f"{value:.{digits}f}"
    return written.replace(".", ",") if language == "vi" else written


def page_context(request: Request[Any, Any, Any], language: str, **values: Any) -> dict[str, Any]:
    """What every staff page template needs beside its own values."""
    other = "en" if language == "vi" else "vi"
    return {
        "lang": language,
        "num": lambda value, digits=1: format_number(value, language, digits),
        "local_time": format_local_time,
        "switch_href": f"{request.url.path}?{with_query(request, lang=other)}",
        **values,
    }


# --- the public pages' refusals ------------------------------------------------------------------------------------

MESSAGE_PAGES = {  # data-page → (HTTP status, JSON status, title key, body key)
    "thanks": (200, "complete", N_("survey.thanks.title"), N_("survey.thanks.body")),
    "expired": (410, "expired", N_("survey.expired.title"), N_("survey.expired.body")),
    "used": (409, "already_answered", N_("survey.used.title"), N_("survey.used.body")),
    "unknown": (404, "unknown", N_("survey.unknown.title"), N_("survey.unknown.body")),
    "rate-limited": (429, "rate_limited", N_("survey.limited.title"), N_("survey.limited.body")),
}


def message_page(request: Request[Any, Any, Any], kind: str, lang: str, *, retry_after: int = 0,
             cookies: list[Cookie] | None = None) -> Response[Any]:
    status, json_status, title, body = MESSAGE_PAGES[kind]
    headers = {"Retry-After": str(retry_after)} if kind == "rate-limited" else {}
    if wants_json(request):
        return Response({"status": json_status}, status_code=status, media_type=MediaType.JSON, headers=headers,
                        cookies=cookies)
    return Template(
        template_name="public/message.html",
        context={"lang": lang, "kind": kind, "title": t(title, lang),
                 "body": t(body, lang, minutes=max(1, (retry_after + 59) // 60))},
        status_code=status,
        headers=headers,
        cookies=cookies,
    )



def over_public_limit(request: Request[Any, Any, Any], lang: str) -> Response[Any] | None:
    """The flood limit of the public pages (in memory: this process's share of the allowance), else ``None``."""
    public = state_of(request.app).limits.public
    client = client_address(request)
    if not public.hit(client):
        return message_page(request, "rate-limited", lang, retry_after=public.retry_after(client))
    return None


async def link_failure(request: Request[Any, Any, Any], lang: str) -> Response[Any]:
    """An unknown or malformed link: counted against the client (in the database, for every process), answered
    with a plain 'not found', or 429 with ``Retry-After`` once the client is over its limit."""
    wait = await state_of(request.app).limits.links.failed(client_address(request))
    if wait > 0:
        return message_page(request, "rate-limited", lang, retry_after=wait)
    return message_page(request, "unknown", lang)


async def check_link(request: Request[Any, Any, Any], token: str, lang: str) -> Response[Any] | None:
    """The public flood limit, then the token's shape (a malformed one is never sent to the database); ``None``
    when the caller may look the token up. Past failures of the client are not read here: a valid link opens
    whatever they were, and an unknown one is counted (and refused past the limit) by :func:`link_failure`."""
    limited = over_public_limit(request, lang)
    if limited is not None:
        return limited
    if not is_well_formed(token):
        return await link_failure(request, lang)
    return None


# --- NUL characters -------------------------------------------------------------------------------------------------

# PostgreSQL text cannot hold U+0000 (SQLite would store it silently). Where it carries no meaning (paths, query
# strings, forms: a citizen's comment with one stray NUL is kept rather than lost to an error) it is removed as the
# request enters, the same on both databases. JSON bodies are typed: the survey's answers drop NUL as they are
# read, and a contact event or ticket with one is refused naming the field, as the CSV import refuses it.


def without_nul(body: bytes, content_type: bytes) -> bytes:
    r"""A form ``body`` without NUL characters (``%00`` escapes); other bodies as they are.

    >>> without_nul(b"comment=good%00", b"application/x-www-form-urlencoded")
    b'comment=good'
    >>> without_nul(rb'{"agent": "Lan\u0000"}', b"application/json")
    b'{"agent": "Lan\\u0000"}'
    """
    if content_type.startswith(b"application/x-www-form-urlencoded"):
        return body.replace(b"%00", b"")
    return body


def strip_nul(app: ASGIApp) -> ASGIApp:
    """Middleware: the request's path parameters, query string and form body without NUL characters."""
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        scope["query_string"] = scope.get("query_string", b"").replace(b"%00", b"")
        scope["path_params"] = {key: value.replace("\x00", "") if isinstance(value, str) else value
                                for key, value in scope.get("path_params", {}).items()}
        content_type = next((value.lower() for name, value in scope["headers"] if name == b"content-type"), b"")
        if not content_type.startswith(b"application/x-www-form-urlencoded"):
            await app(scope, receive, send)
            return
        read = False

        async def receive_cleaned() -> Message:
            nonlocal read
            if read:
                return await receive()
            read = True
            chunks: list[bytes] = []
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return message
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            return {"type": "http.request", "body": without_nul(b"".join(chunks), content_type), "more_body": False}

        await app(scope, receive_cleaned, send)

    return middleware


# --- security headers -----------------------------------------------------------------------------------------------

# No inline script or style anywhere: the pages load theirs from /static/. No page may be framed (clickjacking of
# the kiosk or the staff forms), and links carry tokens, so no referrer leaves the site.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# the API documentation pages (/schema) load their renderer from its CDN; still never framed
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://unpkg.com; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://unpkg.com https://fonts.googleapis.com; "
            "font-src https://fonts.gstatic.com data:; img-src 'self' data: https:; worker-src blob:; "
            "object-src 'none'; frame-ancestors 'none'")
HEADERS: Mapping[str, str] = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                              "X-Frame-Options": "DENY"}


async def security_headers(message: Message, scope: Scope) -> None:
    """``before_send`` hook: the security headers on every response; ``no-store`` on all but static files."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    path = scope.get("path", "")
    docs = path.startswith("/schema") and not path.endswith((".json", ".yaml"))
    headers["Content-Security-Policy"] = DOCS_CSP if docs else CSP
    for name, value in HEADERS.items():
        headers[name] = value
    if not path.startswith("/static/"):
        # pages show answers, tokens and personal data: nothing may keep them
        headers["Cache-Control"] = "no-store"
