"""Staff pages under ``/staff``: sign in and out, the recent responses of the units a user may see, and
their scores (``/staff/scores``: the user's unit and each unit under it, with intervals).

The sign-in rules (lockout, session version) live in :mod:`survey.services.signin`; the session guard and the
``staff`` dependency in :mod:`survey.web`. Forms carry Litestar's CSRF token (``{{ csrf_input | safe }}``).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template

from survey.i18n import t
from survey.services import audit
from survey.services.accounts import StaffIdentity
from survey.services.alerts import alert_lines
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
from survey.services.signin import session_identity, session_of, sign_in, sign_out
from survey.state import state_of
from survey.web import (
    HOME_PATH,
    LOGIN_PATH,
    STAFF,
    DatabaseId,
    client_address,
    page_context,
    page_language,
    requires_staff,
    safe_next,
    with_query,
)

__all__ = ["LIFESPAN", "ROUTES", "LoginForm", "StaffController"]

PER_PAGE = 50


class LoginForm(msgspec.Struct):
    """The sign-in form (``_csrf_token`` is checked by the CSRF middleware before this is read)."""

    username: str = ""
    password: str = ""
    next: str = ""


def _context(request: Request[Any, Any, Any], language: str, **values: Any) -> dict[str, Any]:
    """What every staff page template needs beside its own values."""
    return page_context(request, language, **values)


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
    dependencies = STAFF
    include_in_schema = False

    @get("/login", name="staff:login")
    async def login_form(
        self, request: Request[Any, Any, Any], next_path: Annotated[str | None, QueryParameter(name="next")] = None
    ) -> Template | Redirect:
        """The sign-in form (or straight on when already signed in)."""
        language = page_language(request)
        if await session_identity(request.scope.get("session")) is not None:
            return Redirect(safe_next(next_path), status_code=303)
        return _login_page(request, language, next_path=safe_next(next_path) if next_path else "")

    @post("/login", name="staff:login-submit", status_code=303)
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: URLEncodedBody[LoginForm],
    ) -> Template | Redirect:
        """Check the password; on success start a fresh session and go to the staff home page."""
        language = page_language(request)
        outcome = await sign_in(data.username, data.password, address=client_address(request),
                                limiter=state_of(request.app).limits.login_failures)
        if outcome.blocked:
            return _login_page(request, language, username=outcome.username, next_path=data.next,
                               error=t("staff.login.blocked", language, minutes=max(1, -(-outcome.retry_after // 60))),
                               status_code=429, headers={"Retry-After": str(outcome.retry_after)})
        if outcome.identity is None:
            return _login_page(request, language, username=outcome.username, next_path=data.next,
                               error=t("staff.login.failed", language), status_code=401)
        # a new session, not the one the form was shown in (no fixation of what came before)
        request.clear_session()
        request.set_session({**session_of(outcome.identity), "lang": language})
        redirect = Redirect(safe_next(data.next), status_code=303)
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
        identity = await session_identity(request.scope.get("session"))
        if identity is not None:
            await sign_out(identity, address=client_address(request))
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
        active_alerts = await alert_lines(me.unit_path, status="active")
        await audit.record("responses_listed", actor=me, object_type="response", detail={"page": page},
                           client_address=client_address(request))
        return Template(
            template_name="staff/home.html",
            context=_context(
                request, language, me=me, listing=listing, summary=summary, active_alerts=active_alerts,
                previous_href=f"{HOME_PATH}?{with_query(request, page=page - 1)}",
                next_href=f"{HOME_PATH}?{with_query(request, page=page + 1)}",
            ),
        )

    @get("/responses/{response_id:int}", name="staff:response", guards=[requires_staff])
    async def response(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                       response_id: DatabaseId) -> Template:
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
