"""The public survey: ``/s/{token}`` (a one-time link) and ``/q/{counter_code}`` (the QR poster at a counter).

Server-rendered pages that work without JavaScript; skip logic is applied on the server. A JSON
client (``Accept: application/json``) gets the same outcomes as JSON and may post a whole
questionnaire at once: ``{"answers": {question_id: value}, "language": "vi"}``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import Cookie
from litestar.enums import MediaType
from litestar.params import FromPath
from litestar.response import Response, Template

from delivery.tokens import is_well_formed, token_hash
from questionnaires import (
    AnswerValue,
    Question,
    Questionnaire,
    as_form,
    plan_page,
    resume_page,
    visible_pages,
    visible_questions,
)
from survey.i18n import N_, pick, t
from survey.services.links import read_draft, read_link
from survey.services.questionnaires import latest_version
from survey.services.responses import NewResponse, Submission
from survey.settings import get_settings
from survey.state import state_of
from survey.tables import Counter, CounterService

__all__ = ["LIFESPAN", "ROUTES"]

DRAFT_COOKIE = "survey_counter_draft"
DRAFT_COOKIE_MAX_AGE = 2 * 3600  # a visit to a counter: the draft of an anonymous visitor lives two hours


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _client(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def link_language(request: Request[Any, Any, Any], *fallbacks: str | None) -> str:
    languages = get_settings().languages
    for candidate in (request.query_params.get("lang"), *fallbacks):
        if candidate in languages:
            return candidate  # type: ignore[return-value]
    return get_settings().default_language


# --- pages ------------------------------------------------------------------------------------------------------

MESSAGE_PAGES = {  # data-page → (HTTP status, JSON status, title key, body key)
    "thanks": (200, "complete", N_("survey.thanks.title"), N_("survey.thanks.body")),
    "expired": (410, "expired", N_("survey.expired.title"), N_("survey.expired.body")),
    "used": (409, "already_answered", N_("survey.used.title"), N_("survey.used.body")),
    "unknown": (404, "unknown", N_("survey.unknown.title"), N_("survey.unknown.body")),
    "rate-limited": (429, "rate_limited", N_("survey.limited.title"), N_("survey.limited.body")),
}


def _message(request: Request[Any, Any, Any], kind: str, lang: str, *, retry_after: int = 0,
             cookies: list[Cookie] | None = None) -> Response[Any]:
    status, json_status, title, body = MESSAGE_PAGES[kind]
    headers = {"Retry-After": str(retry_after)} if kind == "rate-limited" else {}
    if _wants_json(request):
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


def _choices(question: Question, lang: str, chosen: list[str]) -> list[dict[str, Any]]:
    if question.scale is not None:
        labels = question.scale.labels.get(lang) or question.scale.labels.get("vi") or {}
        return [{"value": str(p), "label": str(p), "caption": labels.get(p, ""), "checked": str(p) in chosen}
                for p in question.scale.points]
    return [{"value": o.value, "label": pick(o.label, lang), "caption": "", "checked": o.value in chosen}
            for o in question.options]


def question_view(question: Question, number: int, lang: str, form: Mapping[str, list[str]],
                   errors: Mapping[str, str]) -> dict[str, Any]:
    given = [v for v in form.get(question.id, []) if v]
    return {
        "id": question.id,
        "number": number,
        "type": question.type,
        "text": pick(question.text, lang),
        "help": pick(question.help, lang) if question.help else "",
        "required": question.required,
        "error": errors.get(question.id, ""),
        "multi": question.type == "multi",
        "scale": question.scale is not None,
        "choices": _choices(question, lang, given) if question.type != "text" else [],
        "text_value": given[0] if given and question.type == "text" else "",
        "max_length": question.max_length,
    }


@dataclass
class _ServiceChoice:
    """The counter's services, asked on the first page when it handles several."""

    options: list[tuple[str, str]]
    chosen: str
    error: str


def _survey(request: Request[Any, Any, Any], questionnaire: Questionnaire, page: int, lang: str,
            answers: Mapping[str, AnswerValue], form: Mapping[str, list[str]] | None = None,
            errors: Mapping[str, str] | None = None, service: _ServiceChoice | None = None,
            cookies: list[Cookie] | None = None) -> Response[Any]:
    """The survey page ``page``: its shown questions, filled with ``form`` (as posted) or ``answers``."""
    errors = errors or {}
    if _wants_json(request):
        if errors:
            return Response({"status": "invalid", "errors": dict(errors)}, status_code=422, media_type=MediaType.JSON)
        return Response({"status": "open", "questionnaire": questionnaire.id, "page": page},
                        media_type=MediaType.JSON, cookies=cookies)
    values = dict(as_form(answers))
    if form is not None:
        on_page = {q.id for q in questionnaire.questions_on(page)}
        values.update({k: v for k, v in form.items() if k in on_page})
    pages = visible_pages(questionnaire, answers) or questionnaire.pages
    if page not in pages:
        pages = tuple(sorted({*pages, page}))
    shown = visible_questions(questionnaire, answers, page)
    offset = sum(len(visible_questions(questionnaire, answers, p)) for p in pages if p < page)
    return Template(
        template_name="public/survey.html",
        context={
            "lang": lang,
            "title": pick(questionnaire.title, lang),
            "intro": pick(questionnaire.intro, lang) if page == pages[0] else "",
            "page": page,
            "page_index": pages.index(page) + 1,
            "page_count": len(pages),
            "last": page == pages[-1],
            "first": page == pages[0],
            "questions": [question_view(q, offset + i + 1, lang, values, errors) for i, q in enumerate(shown)],
            "errors": bool(errors) or bool(service and service.error),
            "service": service,
            "action": request.url.path,
            # a person reached by a one-time link can stop all surveys from here (a confirmation page first)
            "optout_url": "/o/" + request.url.path[3:] + "?from=survey" if request.url.path.startswith("/s/") else None,
        },
        status_code=200,
        cookies=cookies,
    )


# --- guards -----------------------------------------------------------------------------------------------------


def over_public_limit(request: Request[Any, Any, Any], lang: str) -> Response[Any] | None:
    public = state_of(request.app).limits.public
    client = _client(request)
    if not public.hit(client):
        return _message(request, "rate-limited", lang, retry_after=public.retry_after(client))
    return None


def link_failure(request: Request[Any, Any, Any], lang: str) -> Response[Any]:
    """An unknown or malformed link: counted against the client, answered with a plain 'not found'."""
    failures = state_of(request.app).limits.token_failures
    client = _client(request)
    if not failures.hit(client):
        return _message(request, "rate-limited", lang, retry_after=failures.retry_after(client))
    return _message(request, "unknown", lang)


def check_link(request: Request[Any, Any, Any], token: str, lang: str) -> Response[Any] | None:
    """Rate limits first (before any look-up), then the token's shape (never sent to the database)."""
    limited = over_public_limit(request, lang)
    if limited is not None:
        return limited
    failures = state_of(request.app).limits.token_failures
    client = _client(request)
    if failures.blocked(client):
        return _message(request, "rate-limited", lang, retry_after=failures.retry_after(client))
    if not is_well_formed(token):
        return link_failure(request, lang)
    return None


# --- /s/{token} -------------------------------------------------------------------------------------------------


@get("/s/{token:str}", name="survey-link")
async def open_link(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[Any]:
    """A survey link: the page reached so far, with the answers given so far."""
    lang = link_language(request)
    rejected = check_link(request, token, lang)
    if rejected is not None:
        return rejected
    hashed = token_hash(token, get_settings().secret_key)
    link = await read_link(hashed, state_of(request.app).versions)
    if link is None:
        return link_failure(request, lang)
    lang = link_language(request, link.draft.language if link.draft else None, link.language)
    if link.answered:
        return _message(request, "used", lang)
    if link.expired():
        return _message(request, "expired", lang)
    if link.opened_at is None:
        await state_of(request.app).submissions.submit(Submission(token_hash=hashed, mark_opened=True))
    answers = link.draft.answers if link.draft else {}
    page = resume_page(link.questionnaire, answers, link.draft.page if link.draft else None)
    return _survey(request, link.questionnaire, page, lang, answers)


class JsonSubmission(msgspec.Struct, forbid_unknown_fields=True):
    """A whole questionnaire posted at once by a JSON client."""

    answers: dict[str, int | str | list[int | str] | None]
    language: str | None = None


def _json_form(answers: Mapping[str, object]) -> dict[str, list[str]]:
    form: dict[str, list[str]] = {}
    for key, value in answers.items():
        if value is None:
            continue
        form[key] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return form


@post("/s/{token:str}", name="survey-link-post", status_code=200)
async def answer_link(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[Any]:
    """A posted page of a survey link (or, from a JSON client, the whole questionnaire)."""
    lang = link_language(request)
    rejected = check_link(request, token, lang)
    if rejected is not None:
        return rejected
    hashed = token_hash(token, get_settings().secret_key)
    if request.content_type[0] == MediaType.JSON:
        return await _answer_link_json(request, hashed)
    form = await request.form()
    raw = {key: form.getall(key) for key in form}
    link = await read_link(hashed, state_of(request.app).versions)
    if link is None:
        return link_failure(request, lang)
    lang = link_language(request, _first(raw, "lang"), link.draft.language if link.draft else None, link.language)
    if link.answered:
        return _message(request, "used", lang)
    if link.expired():
        return _message(request, "expired", lang)
    stored = link.draft.answers if link.draft else {}
    step = plan_page(link.questionnaire, stored, raw, _page(raw), lang, _first(raw, "action") or "next")
    if step.errors:
        return _survey(request, link.questionnaire, step.page, lang, step.answers, raw, step.errors)
    outcome = await state_of(request.app).submissions.submit(Submission(
        token_hash=hashed, answers=step.save, replace=step.replace, page=step.page, complete=step.complete,
        language=lang,
    ))
    if outcome.status in {"used", "expired", "unknown"}:
        return _message(request, outcome.status, lang)
    if step.complete:
        return _message(request, "thanks", lang)
    return _survey(request, link.questionnaire, step.page, lang, step.answers)


async def _answer_link_json(request: Request[Any, Any, Any], hashed: str) -> Response[Any]:
    try:
        body = msgspec.json.decode(await request.body(), type=JsonSubmission)
    except msgspec.ValidationError as error:
        return Response({"status": "invalid", "detail": str(error)}, status_code=400, media_type=MediaType.JSON)
    except msgspec.DecodeError:
        return Response({"status": "invalid", "detail": "the body is not JSON"}, status_code=400,
                        media_type=MediaType.JSON)
    language = body.language if body.language in get_settings().languages else None
    outcome = await state_of(request.app).submissions.submit(
        Submission(token_hash=hashed, raw=_json_form(body.answers), complete=True, language=language)
    )
    if outcome.status == "invalid":
        return Response({"status": "invalid", "errors": outcome.errors}, status_code=422, media_type=MediaType.JSON)
    if outcome.status == "unknown":
        return link_failure(request, language or "vi")
    kind = {"complete": "thanks", "used": "used", "expired": "expired"}.get(outcome.status, "used")
    return _message(request, kind, language or "vi")


def _first(form: Mapping[str, list[str]], key: str) -> str | None:
    values = form.get(key)
    return values[0] if values else None


def _page(form: Mapping[str, list[str]]) -> int:
    try:
        return int(_first(form, "page") or 1)
    except ValueError:
        return 1


# --- /q/{counter_code} ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CounterInfo:
    id: int
    code: str
    unit_id: int
    questionnaire_key: str
    services: tuple[tuple[int, str, dict[str, str]], ...]  # (id, code, names)


async def _counter(code: str) -> _CounterInfo | None:
    rows = await Counter.select(Counter.id, Counter.code, Counter.unit, Counter.questionnaire_key).where(
        (Counter.code == code) & (Counter.active == True)  # noqa: E712 (a Piccolo expression)
    )
    if not rows:
        return None
    row = rows[0]
    links = await CounterService.select(
        CounterService.service.id.as_alias("id"), CounterService.service.code.as_alias("code"),
        CounterService.service.name_vi.as_alias("name_vi"), CounterService.service.name_en.as_alias("name_en"),
    ).where((CounterService.counter == row["id"]) & (CounterService.service.active == True))  # noqa: E712
    services = tuple(sorted(((s["id"], s["code"], {"vi": s["name_vi"], "en": s["name_en"]}) for s in links),
                            key=lambda s: s[1]))
    return _CounterInfo(row["id"], row["code"], row["unit"], row["questionnaire_key"], services)


def _draft_signature(counter_code: str, response_id: int, issued: int) -> str:
    key = hashlib.sha256(f"counter-draft:{get_settings().secret_key}".encode()).digest()
    return hmac.new(key, f"{counter_code}:{response_id}:{issued}".encode(), hashlib.sha256).hexdigest()[:32]


def _draft_cookie(counter_code: str, response_id: int | None) -> Cookie:
    settings = get_settings()
    if response_id is None:
        return Cookie(key=DRAFT_COOKIE, value="", max_age=0, path=f"/q/{counter_code}", httponly=True,
                      samesite="lax", secure=settings.secure_cookies)
    issued = int(time.time())
    value = f"{response_id}.{issued}.{_draft_signature(counter_code, response_id, issued)}"
    return Cookie(key=DRAFT_COOKIE, value=value, max_age=DRAFT_COOKIE_MAX_AGE, path=f"/q/{counter_code}",
                  httponly=True, samesite="lax", secure=settings.secure_cookies)


def _draft_id(request: Request[Any, Any, Any], counter_code: str) -> int | None:
    """The anonymous visitor's draft, from the signed, short-lived cookie (``None`` if absent or not ours)."""
    value = request.cookies.get(DRAFT_COOKIE, "")
    try:
        response_id_text, issued_text, signature = value.split(".")
        response_id, issued = int(response_id_text), int(issued_text)
    except ValueError:
        return None
    if time.time() - issued > DRAFT_COOKIE_MAX_AGE:
        return None
    if not hmac.compare_digest(signature, _draft_signature(counter_code, response_id, issued)):
        return None
    return response_id


def _service_choice(counter: _CounterInfo, lang: str, chosen: str = "", error: str = "") -> _ServiceChoice | None:
    if len(counter.services) < 2:
        return None
    return _ServiceChoice([(code, pick(names, lang)) for _, code, names in counter.services], chosen, error)


@get("/q/{counter_code:str}", name="counter")
async def open_counter(request: Request[Any, Any, Any], counter_code: FromPath[str]) -> Response[Any]:
    """The survey of a counter, for an anonymous visitor who scanned its QR code."""
    lang = link_language(request)
    limited = over_public_limit(request, lang)
    if limited is not None:
        return limited
    counter = await _counter(counter_code)
    if counter is None:
        return _message(request, "unknown", lang)
    published = await latest_version(counter.questionnaire_key, state_of(request.app).versions)
    draft_id = _draft_id(request, counter.code)
    draft = await read_draft(draft_id, state_of(request.app).versions) if draft_id is not None else None
    if draft is not None and not draft.complete:
        lang = link_language(request, draft.language)
        page = resume_page(published.questionnaire, draft.answers, draft.page)
        return _survey(request, published.questionnaire, page, lang, draft.answers)
    page = resume_page(published.questionnaire, {}, None)
    return _survey(request, published.questionnaire, page, lang, {}, service=_service_choice(counter, lang))


@post("/q/{counter_code:str}", name="counter-post", status_code=200)
async def answer_counter(request: Request[Any, Any, Any], counter_code: FromPath[str]) -> Response[Any]:
    """A posted page of a counter's survey; the first page creates the visitor's anonymous draft."""
    lang = link_language(request)
    limited = over_public_limit(request, lang)
    if limited is not None:
        return limited
    counter = await _counter(counter_code)
    if counter is None:
        return _message(request, "unknown", lang)
    form = await request.form()
    raw = {key: form.getall(key) for key in form}
    lang = link_language(request, _first(raw, "lang"))
    draft_id = _draft_id(request, counter.code)
    draft = await read_draft(draft_id, state_of(request.app).versions) if draft_id is not None else None
    if draft is not None and draft.complete:
        draft = None  # a finished visit: the next visitor on this kiosk starts afresh
    published = await latest_version(counter.questionnaire_key, state_of(request.app).versions)
    questionnaire = published.questionnaire
    step = plan_page(questionnaire, draft.answers if draft else {}, raw, _page(raw), lang,
                     _first(raw, "action") or "next")
    service_id = None
    choice = None
    if draft is None:
        chosen = _first(raw, "service") or ""
        by_code = {code: sid for sid, code, _ in counter.services}
        if len(counter.services) == 1:
            service_id = counter.services[0][0]
        elif chosen in by_code:
            service_id = by_code[chosen]
        if len(counter.services) > 1:
            error = "" if service_id is not None else t("survey.service_error", lang)
            choice = _service_choice(counter, lang, chosen, error)
        if choice is not None and choice.error:
            return _survey(request, questionnaire, resume_page(questionnaire, {}, _page(raw)), lang,
                           step.answers, raw, step.errors, service=choice)
    if step.errors:
        return _survey(request, questionnaire, step.page, lang, step.answers, raw, step.errors, service=choice)
    if draft is None:
        target = Submission(new_response=NewResponse(published.row_id, counter.unit_id, service_id, counter.id))
    else:
        target = Submission(response_id=draft.response_id)
    outcome = await state_of(request.app).submissions.submit(Submission(
        token_hash=None, response_id=target.response_id, new_response=target.new_response, answers=step.save,
        replace=step.replace, page=step.page, complete=step.complete, language=lang,
    ))
    if outcome.status != "saved" and outcome.status != "complete":
        return _message(request, "used" if outcome.status == "used" else "unknown", lang,
                        cookies=[_draft_cookie(counter.code, None)])
    if step.complete:
        return _message(request, "thanks", lang, cookies=[_draft_cookie(counter.code, None)])
    return _survey(request, questionnaire, step.page, lang, step.answers,
                   cookies=[_draft_cookie(counter.code, outcome.response_id)])


ROUTES: list[Any] = [open_link, answer_link, open_counter, answer_counter]
LIFESPAN: list[Any] = []
