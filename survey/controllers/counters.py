"""At the counter: ``POST /api/v1/tickets`` (a one-time link and QR code for a queue ticket), the kiosk tablet
page ``/kiosk/{counter_code}``, and the staff pages that register kiosks (``/staff/kiosks``).

A kiosk page answers only a browser that staff registered for that counter: registration sets a
long-lived, signed, httponly device cookie on the tablet. The kiosk reuses the public survey's page
logic (question views, answer checks, the group-committing writer); its responses have trust
``kiosk`` and channel ``counter``.
"""

from __future__ import annotations

import base64
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, URLEncodedBody
from litestar.response import Redirect, Response, Template

from delivery.qr import qr_png, qr_svg
from questionnaires import AnswerValue, Questionnaire, parse_answers, visible_questions
from survey.i18n import t
from survey.question_views import question_view
from survey.services import audit
from survey.services.accounts import StaffIdentity
from survey.services.apikeys import TICKETS, ApiKeyInfo
from survey.services.counters import (
    CounterCard,
    KioskInfo,
    TicketError,
    counter_card,
    counters_in_scope,
    issue_ticket,
    kiosk_from_cookie,
    kiosks_in_scope,
    may_register_kiosks,
    register_kiosk,
    revoke_kiosk,
)
from survey.services.questionnaires import latest_version
from survey.services.responses import NewResponse, Submission
from survey.settings import get_settings
from survey.state import state_of
from survey.web import (
    API_KEY_SECURITY,
    STAFF,
    DatabaseId,
    Problem,
    api_key_for,
    client_address,
    first_language,
    over_public_limit,
    page_context,
    page_language,
    problems,
    requires_staff,
)

__all__ = ["KIOSK_COOKIE", "LIFESPAN", "ROUTES", "KioskStaffController", "TicketReply", "TicketRequest"]

KIOSK_COOKIE = "survey_kiosk"
KIOSK_COOKIE_MAX_AGE = 400 * 24 * 3600  # browsers keep a cookie at most 400 days; staff register again after that
IDLE_SECONDS = 30
THANKS_SECONDS = 6
OVERALL = "overall"
# a short kiosk: after the faces, the civil servant and the waiting time for a low score, then the required rest
LOW_SCORE_AT_MOST = 3
LOW_SCORE_QUESTIONS = ("servant_attitude", "result_time")
ALWAYS_QUESTIONS = ("comment",)
FACES = {1: "😞", 2: "🙁", 3: "😐", 4: "🙂", 5: "😄"}

# --- POST /api/v1/tickets ---------------------------------------------------------------------------------------


class TicketRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A queue ticket being printed: the counter, the service asked for, and what QR image to return."""

    counter: str
    service: str | None = None
    ticket_number: str | None = None
    language: str = "vi"
    format: str = "svg"


class TicketReply(msgspec.Struct, omit_defaults=True):
    """The ticket's one-time link and its QR code (SVG text, or PNG in base64)."""

    url: str
    expires_at: str
    counter: str
    service: str | None
    ticket_number: str | None
    trust: str = "ticket"
    qr_svg: str | None = None
    qr_png_base64: str | None = None


@post("/api/v1/tickets", summary="A one-time survey link and its QR code for a queue ticket", status_code=201,
      dependencies=api_key_for(TICKETS), security=API_KEY_SECURITY, responses=problems(400, 401, 403, 415, 422))
async def post_ticket(data: JSONBody[TicketRequest], api_key: NamedDependency[ApiKeyInfo]) -> TicketReply:
    """``{"counter", "service", "ticket_number", "language", "format": "svg"|"png"}`` → ``{"url", "expires_at",
    "qr_svg"}`` (or ``qr_png_base64``). The link opens the counter's questionnaire once; its response has trust
    ``ticket``. A counter or service that does not fit is answered 422 with the allowed values."""
    if data.format not in {"svg", "png"}:
        raise Problem(422, f"format: {data.format!r} is not one of svg, png", field="format", allowed=["svg", "png"])
    try:
        ticket = await issue_ticket(data.counter, data.service, data.language)
    except TicketError as error:
        raise Problem(422, str(error), field=error.field, allowed=list(error.allowed)) from None
    reply = TicketReply(url=ticket.url, expires_at=ticket.expires_at.isoformat(), counter=ticket.counter_code,
                        service=ticket.service_code, ticket_number=data.ticket_number)
    if data.format == "png":
        reply.qr_png_base64 = base64.b64encode(qr_png(ticket.url, box_size=6)).decode("ascii")
    else:
        reply.qr_svg = qr_svg(ticket.url)
    return reply


# --- /kiosk/{counter_code} --------------------------------------------------------------------------------------


def _kiosk_language(request: Request[Any, Any, Any], posted: str | None = None) -> str:
    return first_language(posted, request.query_params.get("lang"))


def _refused(request: Request[Any, Any, Any], lang: str) -> Template:
    return Template(template_name="public/kiosk_refused.html", status_code=403,
                    context={"lang": lang, "title": t("kiosk.refused.title", lang)})


async def _registered(request: Request[Any, Any, Any], counter_code: str) -> tuple[KioskInfo, CounterCard] | None:
    """The kiosk whose device cookie came with the request, when it is registered for this very counter."""
    kiosk = await kiosk_from_cookie(request.cookies.get(KIOSK_COOKIE, ""))
    if kiosk is None or kiosk.counter_code != counter_code:
        return None
    card = await counter_card(counter_code)
    return (kiosk, card) if card is not None else None


def _follow_up_ids(questionnaire: Questionnaire, overall: int) -> list[str]:
    """The kiosk's questions after the faces: short, but every question the questionnaire requires."""
    known = {q.id for q in questionnaire.questions}
    wanted = [*(LOW_SCORE_QUESTIONS if overall <= LOW_SCORE_AT_MOST else ()), *ALWAYS_QUESTIONS]
    required = [q.id for q in visible_questions(questionnaire, {OVERALL: overall}) if q.required and q.id != OVERALL]
    ids = [q for q in wanted if q in known] + required
    return [q.id for q in questionnaire.questions if q.id in ids]  # in the questionnaire's order


def _faces(questionnaire: Questionnaire, lang: str) -> list[dict[str, Any]]:
    question = questionnaire.question(OVERALL)
    labels = (question.scale.labels.get(lang) or question.scale.labels.get("vi") or {}) if question.scale else {}
    points = question.scale.points if question.scale else tuple(FACES)
    return [{"value": p, "face": FACES.get(p, str(p)), "label": labels.get(p, str(p))} for p in points]


def _kiosk_page(request: Request[Any, Any, Any], card: CounterCard, questionnaire: Questionnaire, lang: str,
                step: str, *, overall: int | None = None, form: dict[str, list[str]] | None = None,
                errors: dict[str, str] | None = None, service_error: str = "", status_code: int = 200) -> Template:
    errors = errors or {}
    faces = _faces(questionnaire, lang)
    questions: list[dict[str, Any]] = []
    if step == "more" and overall is not None:
        ids = _follow_up_ids(questionnaire, overall)
        questions = [question_view(questionnaire.question(q), n + 1, lang, form or {}, errors)
                     for n, q in enumerate(ids)]
    services = [(code, vi if lang == "vi" else en) for code, vi, en in card.services] if len(card.services) > 1 else []
    chosen = (form or {}).get("service", [""])[0]
    return Template(
        template_name="public/kiosk.html",
        status_code=status_code,
        context={
            "lang": lang, "step": step, "title": t("kiosk.title", lang),
            "action": f"/kiosk/{card.code}", "home": f"/kiosk/{card.code}?lang={lang}",
            "counter_name": card.name_vi if lang == "vi" else card.name_en,
            "unit_name": card.unit_name_vi if lang == "vi" else card.unit_name_en,
            "faces": faces, "overall": overall,
            "chosen_face": next((f for f in faces if f["value"] == overall), None),
            "questions": questions, "errors": bool(errors) or bool(service_error),
            "services": services, "service_chosen": chosen, "service_error": service_error,
            "idle_seconds": IDLE_SECONDS if step != "thanks" else THANKS_SECONDS,
        },
    )


@get("/kiosk/{counter_code:str}", name="kiosk", include_in_schema=False)
async def kiosk_start(request: Request[Any, Any, Any], counter_code: FromPath[str]) -> Response[Any]:
    """The start screen: five faces for the overall question."""
    lang = _kiosk_language(request)
    registered = await _registered(request, counter_code)
    if registered is None:
        limited = over_public_limit(request, lang)
        return limited if limited is not None else _refused(request, lang)
    _, card = registered
    questionnaire = (await latest_version(card.questionnaire_key, state_of(request.app).versions)).questionnaire
    return _kiosk_page(request, card, questionnaire, lang, "start")


def _overall(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if number in FACES else None


@post("/kiosk/{counter_code:str}", name="kiosk-post", status_code=200, include_in_schema=False)
async def kiosk_answer(request: Request[Any, Any, Any], counter_code: FromPath[str]) -> Response[Any]:
    """A tapped face (shows the follow-up questions) or the follow-up questions (stores the response)."""
    form_data = await request.form()
    raw = {key: form_data.getall(key) for key in form_data}
    lang = _kiosk_language(request, (raw.get("lang") or [None])[0])
    registered = await _registered(request, counter_code)
    if registered is None:
        limited = over_public_limit(request, lang)
        return limited if limited is not None else _refused(request, lang)
    kiosk, card = registered
    published = await latest_version(card.questionnaire_key, state_of(request.app).versions)
    questionnaire = published.questionnaire
    overall = _overall((raw.get(OVERALL) or [None])[0])
    if overall is None:
        return _kiosk_page(request, card, questionnaire, lang, "start", errors={OVERALL: t("kiosk.choose_face", lang)},
                           status_code=422)
    if (raw.get("step") or [""])[0] != "more":
        return _kiosk_page(request, card, questionnaire, lang, "more", overall=overall)

    ids = _follow_up_ids(questionnaire, overall)
    asked = {key: values for key, values in raw.items() if key in ids}
    check = parse_answers(questionnaire, {**asked, OVERALL: [str(overall)]}, None, lang)
    errors = {q: e for q, e in check.errors.items() if q in ids}
    service_id, service_error = _service(card, raw, lang)
    if errors or service_error:
        return _kiosk_page(request, card, questionnaire, lang, "more", overall=overall, form=raw, errors=errors,
                           service_error=service_error, status_code=422)
    answers: dict[str, AnswerValue] = {k: v for k, v in check.values.items() if k in {*ids, OVERALL}}
    new = NewResponse(published.row_id, card.unit_id, service_id, card.id, channel="counter", trust="kiosk")
    outcome = await state_of(request.app).submissions.submit(
        Submission(new_response=new, answers=answers, complete=True, language=lang))
    if outcome.status != "complete":
        # the writer could not store it (the database is busy or gone): the visitor may try again
        return _kiosk_page(request, card, questionnaire, lang, "start", status_code=503)
    return _kiosk_page(request, card, questionnaire, lang, "thanks")


def _service(card: CounterCard, raw: dict[str, list[str]], lang: str) -> tuple[int | None, str]:
    """The service of the visit: the counter's only one, or the one the visitor chose among several."""
    if not card.services:
        return None, ""
    if len(card.services) == 1:
        return card.service_ids[card.services[0][0]], ""
    chosen = (raw.get("service") or [""])[0]
    if chosen not in card.service_codes:
        return None, t("survey.service_error", lang)
    return card.service_ids[chosen], ""


# --- /staff/kiosks ----------------------------------------------------------------------------------------------


class KioskForm(msgspec.Struct):
    """Register the browser this form is posted from as the kiosk of a counter."""

    counter: str = ""
    label: str = ""




class KioskStaffController(Controller):
    """List, register and revoke the kiosk tablets at the counters of the signed-in user's units."""

    path = "/staff/kiosks"
    guards = [requires_staff]
    dependencies = STAFF
    include_in_schema = False

    async def _page(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity], *, error: str = "",
                    notice: str = "", form: KioskForm | None = None, status_code: int = 200) -> Template:
        language = page_language(request)
        context = page_context(request, language, me=staff,
                               kiosks=await kiosks_in_scope(staff), counters=await counters_in_scope(staff),
                               allowed=may_register_kiosks(staff), error=error, notice=notice,
                               form=form or KioskForm())
        return Template(template_name="public/kiosk_staff.html", status_code=status_code, context=context)

    @get("/", name="staff:kiosks")
    async def list_kiosks(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity]) -> Template:
        """The kiosks in scope and the registration form."""
        return await self._page(request, staff)

    @post("/", name="staff:kiosks-register", status_code=303)
    async def register(self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
                       data: URLEncodedBody[KioskForm]) -> Response[Any]:
        """Register this browser as the kiosk of a counter and open the kiosk page in it."""
        lang = page_language(request)
        if not may_register_kiosks(staff):
            return await self._page(request, staff, error=t("staff.kiosks.not_allowed", lang), status_code=403)
        try:
            kiosk, cookie = await register_kiosk(staff, data.counter, data.label)
        except (ValueError, LookupError) as error:
            return await self._page(request, staff, error=str(error).split(": ", 1)[-1], form=data, status_code=422)
        await audit.record("kiosk_registered", actor=staff, object_type="kiosk", object_id=kiosk.id,
                           detail={"counter": kiosk.counter_code, "label": kiosk.label},
                           client_address=client_address(request))
        settings = get_settings()
        redirect = Redirect(f"/kiosk/{kiosk.counter_code}?lang={lang}", status_code=303)
        redirect.cookies.append(Cookie(key=KIOSK_COOKIE, value=cookie, max_age=KIOSK_COOKIE_MAX_AGE, path="/kiosk/",
                                       httponly=True, secure=settings.secure_cookies, samesite="strict"))
        return redirect

    @post("/{kiosk_id:int}/revoke", name="staff:kiosks-revoke", status_code=200)
    async def revoke(
        self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity], kiosk_id: DatabaseId
    ) -> Template:
        """Revoke a kiosk: its device cookie is refused from now on."""
        lang = page_language(request)
        kiosk = await revoke_kiosk(staff, kiosk_id)
        if kiosk is None:
            return await self._page(request, staff, error=t("staff.not_found.title", lang), status_code=404)
        await audit.record("kiosk_revoked", actor=staff, object_type="kiosk", object_id=kiosk.id,
                           detail={"counter": kiosk.counter_code}, client_address=client_address(request))
        return await self._page(request, staff, notice=t("staff.kiosks.revoked_notice", lang, label=kiosk.label))


ROUTES: list[Any] = [post_ticket, kiosk_start, kiosk_answer, KioskStaffController]
LIFESPAN: list[Any] = []
