"""The Litestar application: ``create_app()`` composes controllers, templates, sessions and CSRF."""

from __future__ import annotations

import contextlib
import gc
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from litestar import Litestar, Response, get
from litestar.config.csrf import CSRFConfig
from litestar.exceptions import HTTPException
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from survey.access_log import install as mask_tokens_in_access_log
from survey.services.health import Health, check_health
from survey.settings import PROJECT_ROOT, Settings, get_settings
from survey.web import (
    ONE_OF_DECODERS,
    OneOfSchema,
    StaffLoginRequired,
    problem_handler,
    redirect_to_login,
    require_json_content_type,
    security_headers,
    strip_nul,
)

__all__ = ["create_app"]

TEMPLATES_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = Path(__file__).parent / "static"

# Public pages carry their own capability (the link token) and must stay light: no session, no CSRF cookie.
PUBLIC_PATHS = ["^/s/", "^/o/", "^/q/", "^/kiosk/", "^/api/", "^/webhooks/", "^/static/", "^/health", "^/schema"]
# the scores, follow-ups and alerts API also answer a signed-in member of staff, so they read the session cookie
# (GET only: no CSRF)
SESSIONLESS_PATHS = [p if p != "^/api/" else "^/api/(?!v1/(?:scores|follow-ups|alerts))" for p in PUBLIC_PATHS]


@get("/health", summary="Liveness and database reachability",
     responses={503: ResponseSpec(data_container=Health, generate_examples=False,
                                  description="The database is unreachable")})
async def health() -> Response[Health]:
    """Liveness and database reachability: 200 when the database answers, 503 when it does not."""
    state = await check_health()
    return Response(state, status_code=200 if state.ok else 503)


def _session_secret(settings: Settings) -> bytes:
    return hashlib.sha256(f"session:{settings.secret_key}".encode()).digest()


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the application for ``settings`` (read from the environment by default)."""
    settings = settings or get_settings()
    # link tokens never reach the access log, however the app is served (survey serve, its workers, the demo)
    mask_tokens_in_access_log()
    from survey.controllers import api, audit, browsing, contacts, counters, followups, outbox, public, reports, staff
    from survey.state import app_state

    route_handlers: list[Any] = [health, *public.ROUTES, *staff.ROUTES, *api.ROUTES, *contacts.ROUTES, *outbox.ROUTES]
    route_handlers += [*counters.ROUTES, *reports.ROUTES, *followups.ROUTES, *browsing.ROUTES]
    route_handlers += audit.ROUTES
    from survey.controllers import rights

    route_handlers += rights.ROUTES
    route_handlers.append(create_static_files_router(path="/static", directories=[STATIC_DIR]))
    lifespans: list[Any] = [*public.LIFESPAN, *staff.LIFESPAN, *api.LIFESPAN, *contacts.LIFESPAN, *outbox.LIFESPAN]
    lifespans += [*counters.LIFESPAN, *reports.LIFESPAN]  # reports: the on-demand runs' tasks

    @contextlib.asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        from piccolo.engine.postgres import PostgresEngine

        from survey.db import engine
        from survey.services.questionnaires import publish_bundled

        db = engine()
        pooled = isinstance(db, PostgresEngine) and settings.database_pool
        if pooled:
            await db.start_connection_pool(min_size=2, max_size=20)
        try:
            await publish_bundled()
            # long-lived start-up objects leave the collector's view, and young collections run less
            # often: a server allocates many short-lived objects per request (about +10% throughput)
            gc.collect()
            gc.freeze()
            gc.set_threshold(50_000, 20, 20)
            yield
        finally:
            if pooled:
                await db.close_connection_pool()
            close_pool = getattr(db, "close_pool", None)
            if close_pool is not None:
                await close_pool()

    def template_engine(engine: JinjaTemplateEngine) -> None:
        from survey.crypto import mask_contact_details
        from survey.i18n import register

        register(engine.engine)
        engine.engine.filters["mask_contacts"] = mask_contact_details  # comments on staff pages (ui.user)

    return Litestar(
        route_handlers=route_handlers,
        lifespan=[database, app_state, *lifespans],
        template_config=TemplateConfig(directory=TEMPLATES_DIR, engine=JinjaTemplateEngine,
                                       engine_callback=template_engine),
        middleware=[
            strip_nul,
            # Secure whenever SURVEY_BASE_URL is https (SURVEY_SECURE_COOKIES overrides), the CSRF cookie alike
            CookieBackendConfig(
                secret=_session_secret(settings),
                key="survey_session",
                max_age=settings.session_max_age_seconds,
                secure=settings.secure_cookies,
                httponly=True,
                samesite="lax",
                exclude=SESSIONLESS_PATHS,
            ).middleware
        ],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="survey_csrf",
            cookie_secure=settings.secure_cookies,
            cookie_samesite="lax",
            exclude=PUBLIC_PATHS,
        ),
        # one problem body for every refusal, and for any error a handler did not expect (logged, never a traceback)
        exception_handlers={HTTPException: problem_handler, Exception: problem_handler,
                            StaffLoginRequired: redirect_to_login},
        before_send=[security_headers],
        before_request=require_json_content_type,  # JSON endpoints: 415 to a body not declared as JSON
        plugins=[OneOfSchema()],
        type_decoders=ONE_OF_DECODERS,
        openapi_config=OpenAPIConfig(
            title="Customer satisfaction surveys", version="1",
            description="Contact events, opt-outs, queue tickets and scores for integrators (API keys) and staff.",
            components=Components(security_schemes={"apiKey": SecurityScheme(
                type="http", scheme="bearer", description="A source system's API key: `Authorization: Bearer sk_...`",
            )}),
        ),
        debug=settings.debug,
        state={"settings": settings},
    )
