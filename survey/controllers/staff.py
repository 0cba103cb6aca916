"""Staff pages under ``/staff``: sign in and out, the dashboard of the units a user may see (``/staff/``), one
response in full, and the scores (``/staff/scores``: the user's unit and each unit under it, with intervals).

The sign-in rules (lockout, session version) live in :mod:`survey.services.signin`; the session guard and the
``staff`` dependency in :mod:`survey.web`. Forms carry Litestar's CSRF token (``{{ csrf_input | safe }}``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template

from questionnaires.model import CHANNELS
from survey.i18n import t
from survey.services import audit
from survey.services.accounts import StaffIdentity
from survey.services.alerts import alert_lines
from survey.services.browsing import response_detail
from survey.services.followups import case_queue
from survey.services.scores import (
    DEFAULT_PERIOD_CHOICE,
    DEFAULT_SCORE_QUESTIONNAIRE,
    PERIOD_CHOICES,
    SCORE_BREAKDOWNS,
    SCORE_QUESTIONNAIRES,
    ScoreParameterError,
    scope_scores,
)
from survey.services.scores.dashboard import SPARK_HEIGHT, SPARK_WIDTH, DashboardChoice, dashboard
from survey.services.signin import session_identity, session_of, sign_in, sign_out
from survey.state import state_of
from survey.tables import Service, Unit
from survey.web import (
    LOGIN_PATH,
    STAFF,
    DatabaseId,
    client_address,
    page_context,
    page_language,
    requires_staff,
    safe_next,
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
                                throttle=state_of(request.app).limits.signin)
        if outcome.blocked:
            wait = outcome.retry_after
            error = (t("staff.login.wait_seconds", language, seconds=wait) if wait < 60
                     else t("staff.login.blocked", language, minutes=-(-wait // 60)))
            return _login_page(request, language, username=outcome.username, next_path=data.next, error=error,
                               status_code=429, headers={"Retry-After": str(wait)})
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
        questionnaire: Annotated[str, QueryParameter(max_length=40)] = DEFAULT_SCORE_QUESTIONNAIRE,
        period: Annotated[str, QueryParameter(max_length=40)] = DEFAULT_PERIOD_CHOICE,
        unit: Annotated[str, QueryParameter(max_length=40)] = "",
        service: Annotated[str, QueryParameter(max_length=40)] = "",
        channel: Annotated[str, QueryParameter(max_length=40)] = "",
    ) -> Template:
        """The dashboard of the user's units: the index against its target, the criteria, their trends, the
        children's heatmap, the funnel, the open cases and alerts, each figure linked to its responses; 400
        naming a bad choice."""
        me = staff
        language = page_language(request)
        choice = DashboardChoice(questionnaire=questionnaire.strip(), period=period.strip(), unit=unit.strip(),
                                 service=service.strip(), channel=channel.strip())
        view, error, status = None, None, 200
        try:
            view = await dashboard(me, choice)
        except ScoreParameterError as error_found:
            error = str(error_found)
            # nothing published yet is no fault of the reader's: the cases and alerts still show
            status = 400 if request.query_params or error_found.parameter != "questionnaire" else 200
        scope_path = view.scope_path if view else me.unit_path
        cases = await case_queue(scope_path, per_page=5)
        active_alerts = await alert_lines(scope_path, status="active")
        services = await Service.select(Service.code, Service.name_vi, Service.name_en).order_by(Service.code)
        # the unit menu: the user's unit and the units directly under it (deeper ones are reached by drilling down)
        # (from the root for the roles that see every unit)
        base = "/" + me.unit_path.split("/")[1] + "/" if me.sees_all_units else me.unit_path
        depth = base.count("/") + 1
        units = [row for row in await Unit.select(Unit.code, Unit.name_vi, Unit.name_en, Unit.path).where(
            Unit.path.like(base + "%")).order_by(Unit.path)
                 if row["path"].startswith(base) and row["path"].count("/") <= depth]
        if view is not None and all(row["code"] != view.scope_code for row in units):
            units.append({"code": view.scope_code, "name_vi": view.scope_name["vi"], "name_en": view.scope_name["en"],
                          "path": view.scope_path})
        if view is not None:
            await audit.record("dashboard_viewed", actor=me, object_type="scores",
                               client_address=client_address(request),
                               detail={**choice.query(), "period": view.period})
        return Template(template_name="staff/home.html", status_code=status, context=_context(
            request, language, me=me, view=view, error=error, form=choice, cases=cases, active_alerts=active_alerts,
            questionnaires=SCORE_QUESTIONNAIRES, periods=PERIOD_CHOICES, channels=CHANNELS,
            services=[{"code": row["code"], "name": {"vi": row["name_vi"], "en": row["name_en"]}} for row in services],
            units=[{"code": row["code"], "name": {"vi": row["name_vi"], "en": row["name_en"]},
                    "depth": row["path"].count("/") - base.count("/")} for row in units],
            spark={"width": SPARK_WIDTH, "height": SPARK_HEIGHT}, now=datetime.now(UTC)))

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
