"""Staff pages under ``/staff``: sign in and out, the recent responses of the units a user may see, and
their scores (``/staff/scores``: the user's unit and each unit under it, with intervals).

Sessions are signed, encrypted cookies holding ``{"uid", "sv"}`` (user id and session version); every
request reloads the user, so deactivating a user or bumping ``session_version`` ends their sessions.
Forms carry Litestar's CSRF token (``{{ csrf_input | safe }}``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template

from survey.i18n import t
from survey.services import audit
from survey.services.accounts import (
    StaffIdentity,
    authenticate,
    identity_of,
    load_identity,
    normalise_username,
    sign_out_everywhere,
)
from survey.services.browsing import recent_responses, response_detail
from survey.services.scores import (
    DEFAULT_PERIOD_CHOICE,
    DEFAULT_SCORE_QUESTIONNAIRE,
    PERIOD_CHOICES,
    SCORE_BREAKDOWNS,
    SCORE_QUESTIONNAIRES,
    ScoreParameterError,
    scope_scores,
)
from survey.settings import get_settings
from survey.state import state_of

__all__ = [
    "LIFESPAN",
    "ROUTES",
    "LoginForm",
    "StaffController",
    "StaffLoginRequired",
    "client_address",
    "format_local_time",
    "format_number",
    "page_language",
    "provide_staff",
    "redirect_to_login",
    "requires_staff",
    "with_query",
]

LOGIN_PATH = "/staff/login"
HOME_PATH = "/staff/"
SCORES_PATH = "/staff/scores"
PER_PAGE = 50


class LoginForm(msgspec.Struct):
    """The sign-in form (``_csrf_token`` is checked by the CSRF middleware before this is read)."""

    username: str = ""
    password: str = ""
    next: str = ""


class StaffLoginRequired(NotAuthorizedException):
    """No valid staff session: browsers go to the sign-in page, API clients get 401."""


def page_language(request: Request[Any, Any, Any] | ASGIConnection[Any, Any, Any, Any]) -> str:
    """``?lang=`` when given (and remembered in the session), else the session's, else the default."""
    settings = get_settings()
    session = request.scope.get("session")
    asked = request.query_params.get("lang")
    if asked in settings.languages:
        if isinstance(session, dict):
            session["lang"] = asked
        else:
            request.set_session({"lang": asked})
        return str(asked)
    remembered = session.get("lang") if isinstance(session, dict) else None
    if remembered in settings.languages:
        return str(remembered)
    return settings.default_language


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def _safe_next(target: str | None) -> str:
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


async def _session_identity(connection: ASGIConnection[Any, Any, Any, Any]) -> StaffIdentity | None:
    session = connection.scope.get("session")
    if not session or not isinstance(session, dict):
        return None
    user_id, version = session.get("uid"), session.get("sv")
    if not isinstance(user_id, int) or not isinstance(version, int):
        return None
    return await load_identity(user_id, version)


async def requires_staff(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: a signed-in, active member of staff whose session version is current.

    The identity is left in ``connection.state.staff`` (handlers take it as the ``staff`` dependency).
    """
    identity = await _session_identity(connection)
    if identity is None:
        if connection.scope.get("session"):
            connection.clear_session()  # an ended session: forget it in the browser too
        raise StaffLoginRequired("Authentication required")
    connection.state.staff = identity


def provide_staff(request: Request[Any, Any, Any]) -> StaffIdentity:
    """The ``staff`` dependency: who is signed in (only on handlers guarded by :func:`requires_staff`)."""
    identity = getattr(request.state, "staff", None)
    if not isinstance(identity, StaffIdentity):
        raise StaffLoginRequired("Authentication required")
    return identity


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def redirect_to_login(request: Request[Any, Any, Any], _: StaffLoginRequired) -> Response[Any]:
    if _wants_json(request):
        return Response({"status_code": 401, "detail": "Authentication required"}, status_code=401)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(f"{LOGIN_PATH}?next={quote(target, safe='/')}", status_code=303)


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


def _context(request: Request[Any, Any, Any], language: str, **values: Any) -> dict[str, Any]:
    """What every staff page template needs beside its own values."""
    def num(value: float | None, digits: int = 1) -> str:
        return format_number(value, language, digits)

    other = "en" if language == "vi" else "vi"
    return {
        "lang": language,
        "num": num,
        "local_time": format_local_time,
        "switch_href": f"{request.url.path}?{with_query(request, lang=other)}",
        **values,
    }


def with_query(request: Request[Any, Any, Any], **changes: object) -> str:
    params = {key: value for key, value in request.query_params.items()}
    params.update({key: str(value) for key, value in changes.items()})
    return "&".join(f"{quote(key)}={quote(value)}" for key, value in params.items())


def _login_page(request: Request[Any, Any, Any], language: str, *, username: str = "", next_path: str = "",
                error: str | None = None, status_code: int = 200, headers: dict[str, str] | None = None) -> Template:
    return Template(
        template_name="staff/login.html",
        context=_context(request, language, username=username, next_path=next_path, error=error, me=None),
        status_code=status_code,
        headers=headers,
    )


class StaffController(Controller):
    """Sign in and out, the recent responses list, one response, the scores of the user's scope."""

    path = "/staff"
    exception_handlers = {StaffLoginRequired: redirect_to_login}
    dependencies = {"staff": Provide(provide_staff, sync_to_thread=False)}

    @get("/login", name="staff:login")
    async def login_form(
        self, request: Request[Any, Any, Any], next_path: Annotated[str | None, QueryParameter(name="next")] = None
    ) -> Template | Redirect:
        """The sign-in form (or straight on when already signed in)."""
        language = page_language(request)
        if await _session_identity(request) is not None:
            return Redirect(_safe_next(next_path), status_code=303)
        return _login_page(request, language, next_path=_safe_next(next_path) if next_path else "")

    @post("/login", name="staff:login-submit", status_code=303)
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: URLEncodedBody[LoginForm],
    ) -> Template | Redirect:
        """Check the password; on success start a fresh session and go to the staff home page."""
        language = page_language(request)
        address = client_address(request)
        username = normalise_username(data.username)[:64]
        limiter = state_of(request.app).limits.login_failures
        # separate keys per address and per username, in their own bucket: the public link limiter is untouched
        keys = [f"staff-login:address:{address}", f"staff-login:user:{username}"]
        if any(limiter.blocked(key) for key in keys):
            retry_after = max(limiter.retry_after(key) for key in keys)
            await audit.record("login_blocked", actor=None, detail={"username": username}, client_address=address)
            return _login_page(request, language, username=username, next_path=data.next,
                               error=t("staff.login.blocked", language, minutes=max(1, -(-retry_after // 60))),
                               status_code=429, headers={"Retry-After": str(retry_after)})
        user = await authenticate(data.username, data.password)
        if user is None:
            for key in keys:
                limiter.hit(key)
            await audit.record("login_failed", actor=None, detail={"username": username}, client_address=address)
            return _login_page(request, language, username=username, next_path=data.next,
                               error=t("staff.login.failed", language), status_code=401)
        identity = await identity_of(user)
        # a new session, not the one the form was shown in (no fixation of what came before)
        request.clear_session()
        request.set_session({"uid": identity.id, "sv": identity.session_version, "lang": language})
        await audit.record("login_ok", actor=identity, client_address=address)
        redirect = Redirect(_safe_next(data.next), status_code=303)
        # and a new CSRF token once signed in: the next page sets a fresh cookie
        redirect.delete_cookie("survey_csrf", path="/")
        return redirect

    @post("/logout", name="staff:logout", status_code=303)
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        """End the session and return to the sign-in page.

        Session cookies live in the browser, so a copied cookie would outlive a plain logout: signing out
        bumps the user's session version, which ends every session of theirs.
        """
        language = page_language(request)
        identity = await _session_identity(request)
        if identity is not None:
            await sign_out_everywhere(identity.id)
            await audit.record("logout", actor=identity, client_address=client_address(request))
        request.clear_session()
        request.set_session({"lang": language})
        return Redirect(f"{LOGIN_PATH}?signed_out=1", status_code=303)

    @get("/", name="staff:home", guards=[requires_staff])
    async def home(
        self,
        request: Request[Any, Any, Any],
        staff: NamedDependency[StaffIdentity],
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    ) -> Template:
        """The most recent complete responses in the user's scope, newest first."""
        me = staff
        language = page_language(request)
        listing = await recent_responses(me, page=page, per_page=PER_PAGE, versions=state_of(request.app).versions)
        try:
            summary = await scope_scores(me, children=False)
        except ScoreParameterError:  # the questionnaire is not published (yet): the list still shows
            summary = None
        await audit.record("responses_listed", actor=me, object_type="response", detail={"page": page},
                           client_address=client_address(request))
        return Template(
            template_name="staff/home.html",
            context=_context(
                request, language, me=me, listing=listing, summary=summary,
                previous_href=f"{HOME_PATH}?{with_query(request, page=page - 1)}",
                next_href=f"{HOME_PATH}?{with_query(request, page=page + 1)}",
            ),
        )

    @get("/responses/{response_id:int}", name="staff:response", guards=[requires_staff])
    async def response(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                       response_id: FromPath[int]) -> Template:
        """One response with every answer; 404 when it is not in the user's scope (its existence stays hidden)."""
        me = staff
        language = page_language(request)
        detail = await response_detail(me, response_id, language=language,
                                       versions=state_of(request.app).versions)
        if detail is None:
            return Template(template_name="staff/not_found.html", context=_context(request, language, me=me),
                            status_code=404)
        await audit.record("response_viewed", actor=me, object_type="response", object_id=response_id,
                           client_address=client_address(request))
        return Template(template_name="staff/response.html", context=_context(request, language, me=me, detail=detail))

    @get("/scores", name="staff:scores", guards=[requires_staff])
    async def scores(
        self,
        request: Request[Any, Any, Any],
        staff: NamedDependency[StaffIdentity],
        questionnaire: Annotated[str, QueryParameter(max_length=40)] = DEFAULT_SCORE_QUESTIONNAIRE,
        period: Annotated[str, QueryParameter(max_length=40)] = DEFAULT_PERIOD_CHOICE,
        by: Annotated[str | None, QueryParameter(max_length=40)] = None,
    ) -> Template:
        """The scores of the user's unit and of each unit under it, with intervals; 400 naming a bad choice."""
        me = staff
        language = page_language(request)
        breakdown = by or None
        form = {"questionnaire": questionnaire, "period": period, "by": breakdown or ""}
        choices = {"questionnaires": SCORE_QUESTIONNAIRES, "periods": PERIOD_CHOICES, "breakdowns": SCORE_BREAKDOWNS}
        try:
            result = await scope_scores(me, questionnaire=questionnaire, period=period, by=breakdown)
        except ScoreParameterError as error:
            return Template(template_name="staff/scores.html", status_code=400, context=_context(
                request, language, me=me, scores=None, error=str(error), form=form, **choices))
        await audit.record("scores_viewed", actor=me, object_type="scores", client_address=client_address(request),
                           detail={"questionnaire": questionnaire, "period": result.period, "by": breakdown})
        return Template(template_name="staff/scores.html", context=_context(
            request, language, me=me, scores=result, error=None, form=form, **choices))


ROUTES: list[Any] = [StaffController]
LIFESPAN: list[Any] = []
