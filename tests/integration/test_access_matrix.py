"""Who may use which route: every path × method of the application against an explicit table (SQLite and
PostgreSQL).

The table below is written by hand from the rules (README, "Roles"), not read from the code's guards: a route
added without a line here fails :func:`test_every_route_has_an_expectation` with its name. Each route is then
asked by everyone: nobody signed in, an integrator's key with and without the route's scope, and members of
staff of each role. The unit managers manage Ba Đình (HN-BD, where every record lives) and District 1 of Ho Chi
Minh City (HCM-Q1, which must not even learn that Ba Đình's records exist); admin, quality and leader sit in
other districts and still see Ba Đình, as they see every unit.

What a cell says: a status (exactly that), ``LOGIN`` (a browser is sent to the sign-in page, an API client gets
401), or ``ACTS`` (the request gets past every check of who asks: any answer but 401, 403, 404 or a server
error: a form refused for its content, a case already moved on, are the route doing its work).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.support.responses import add_counter_responses
from tests.support.staff import sign_in_as

Expected = int | str | tuple[int, ...]  # a status, a category below, or one of several statuses
LOGIN = "login"
ACTS = "acts"
PUBLIC = "public"  # anyone, signed in or not: any answer but a refusal of who asks or a server error

STAFF_PRINCIPALS = ("admin", "quality", "leader", "um_in", "um_out")
SCOPES = ("contacts", "tickets", "opt-outs", "scores:read")


@dataclass(frozen=True)
class Rule:
    """Who may use one route: what nobody signed in gets (``anonymous``), what each staff principal gets
    (``staff``), and the API key scope it needs (``scope``; ``None``: a key is no credential there, its holder is
    answered as anybody)."""

    anonymous: Expected
    staff: dict[str, Expected] = field(default_factory=dict)
    scope: str | None = None


def public(status: Expected = PUBLIC) -> Rule:
    """Open to anyone: the same answer whoever asks."""
    return Rule(status, {who: status for who in STAFF_PRINCIPALS})


def readers(status: Expected = 200, *, out: Expected | None = None) -> Rule:
    """A read page for every role; ``out``: what the other district's unit manager gets (a record of Ba Đình)."""
    return Rule(LOGIN, {"admin": status, "quality": status, "leader": status, "um_in": status,
                        "um_out": status if out is None else out})


def actors(*, out: Expected = 404) -> Rule:
    """A change that admin, quality and the unit's manager make; the leader reads only (403); ``out``: what the
    other district's unit manager gets (404 for a record of Ba Đình)."""
    return Rule(LOGIN, {"admin": ACTS, "quality": ACTS, "leader": 403, "um_in": ACTS, "um_out": out})


def admins(status: Expected = 200) -> Rule:
    """Administrators only: 403 for every other role."""
    return Rule(LOGIN, {"admin": status, "quality": 403, "leader": 403, "um_in": 403, "um_out": 403})


def api_key(scope: str) -> Rule:
    """An integrator's route: a key with ``scope``; a staff session is no credential (401)."""
    return Rule(401, {who: 401 for who in STAFF_PRINCIPALS}, scope=scope)


def api_reads(*, out: Expected = 200) -> Rule:
    """JSON reads for a key with ``scores:read`` or any member of staff (their scope)."""
    return Rule(401, {"admin": 200, "quality": 200, "leader": 200, "um_in": 200, "um_out": out},
                scope="scores:read")


# method, path (as the app declares it) -> who may use it
EXPECTED: dict[tuple[str, str], Rule] = {
    ("GET", "/health"): public(200),
    ("GET", "/static/{file_path:path}"): public(200),
    ("HEAD", "/static/{file_path:path}"): public(200),
    # the public survey, the counter page, the opt-out link: the link or the counter is the capability
    ("GET", "/s/{token:str}"): public(),
    ("POST", "/s/{token:str}"): public(),
    ("GET", "/q/{counter_code:str}"): public(),
    ("POST", "/q/{counter_code:str}"): public(),
    ("GET", "/o/{token:str}"): public(),
    ("POST", "/o/{token:str}"): public(),
    # a kiosk answers only a registered tablet; Twilio's callbacks only with its signature
    ("GET", "/kiosk/{counter_code:str}"): public(403),
    ("POST", "/kiosk/{counter_code:str}"): public(403),
    ("POST", "/webhooks/twilio/status"): public(403),
    # the API's documentation
    **{("GET", path): public() for path in (
        "/schema", "/schema/openapi.json", "/schema/openapi.yaml", "/schema/openapi.yml", "/schema/redoc",
        "/schema/swagger", "/schema/elements", "/schema/rapidoc", "/schema/oauth2-redirect.html",
        "/schema/{path:str}")},
    # signing in and out
    ("GET", "/staff/login"): public(),
    # no such user: the form again, refused for a while once this address failed too often
    ("POST", "/staff/login"): public((401, 429)),
    ("POST", "/staff/logout"): public(303),
    # the integrators' API
    ("POST", "/api/v1/contacts"): api_key("contacts"),
    ("POST", "/api/v1/tickets"): api_key("tickets"),
    ("POST", "/api/v1/optouts"): api_key("opt-outs"),
    ("GET", "/api/v1/contacts/decisions"): api_key("scores:read"),
    ("GET", "/api/v1/scores"): api_reads(),
    ("GET", "/api/v1/follow-ups"): api_reads(),
    ("GET", "/api/v1/follow-ups/{case_id:int}"): api_reads(out=404),
    ("GET", "/api/v1/alerts"): api_reads(),
    # staff pages that read
    ("GET", "/staff"): readers(),
    ("GET", "/staff/scores"): readers(),
    ("GET", "/staff/responses"): readers(),
    ("GET", "/staff/responses/export"): readers(),
    ("GET", "/staff/responses/{response_id:int}"): readers(out=404),
    ("GET", "/staff/follow-ups"): readers(),
    ("GET", "/staff/follow-ups/{case_id:int}"): readers(out=404),
    ("GET", "/staff/alerts"): readers(),
    ("GET", "/staff/kiosks"): readers(),
    ("GET", "/staff/reports"): readers(),
    ("GET", "/staff/reports/{run_id:int}"): readers(out=404),
    ("GET", "/staff/reports/{run_id:int}/download"): readers(out=404),
    # staff changes: a leader reads only; the other district's manager does not see Ba Đình's records
    ("POST", "/staff/follow-ups/{case_id:int}/status"): actors(),
    ("POST", "/staff/follow-ups/{case_id:int}/reassign"): actors(),
    ("POST", "/staff/follow-ups/{case_id:int}/reveal"): actors(),
    ("POST", "/staff/responses/{response_id:int}/follow-up"): actors(),
    ("POST", "/staff/alerts/{alert_id:int}/acknowledge"): actors(),
    ("POST", "/staff/kiosks"): actors(out=422),  # the counter is not among the manager's: the form names it
    ("POST", "/staff/kiosks/{kiosk_id:int}/revoke"): actors(),
    # a report made on demand changes no data: the leaders make them too; a unit outside the manager's is refused
    ("POST", "/staff/reports"): Rule(LOGIN, {"admin": ACTS, "quality": ACTS, "leader": ACTS, "um_in": ACTS,
                                             "um_out": 403}),
    # every role reads the sandbox of its scope, recipients masked; the links only administrators (checked in
    # test_personal_data_at_rest)
    ("GET", "/staff/sandbox"): Rule(LOGIN, {"admin": 200, "quality": 200, "leader": 200, "um_in": 200,
                                            "um_out": 200}),
    # administrators' functions
    ("GET", "/staff/calendar"): admins(),
    ("POST", "/staff/calendar/days"): admins(ACTS),
    ("POST", "/staff/calendar/swaps"): admins(ACTS),
    ("POST", "/staff/calendar/days/{day:str}/remove"): admins(ACTS),
    ("GET", "/staff/outbox"): admins(),
    ("POST", "/staff/outbox/{job_id:int}/retry"): admins(ACTS),
    ("GET", "/staff/audit"): admins(),
    # personal-data rights requests: administrators (no request is seeded here, so an administrator's answer may
    # be a 404 of a missing request or a form refused for its content: anything but a refusal of who asks)
    **{(method, path): admins(PUBLIC) for method, path in (
        ("GET", "/staff/rights"), ("POST", "/staff/rights"),
        ("POST", "/staff/rights/{request_id:int}/acknowledge"), ("POST", "/staff/rights/{request_id:int}/complete"),
        ("GET", "/staff/rights/{request_id:int}/erase"), ("POST", "/staff/rights/{request_id:int}/erase"),
        ("POST", "/staff/rights/{request_id:int}/export"))},
}


def app_routes() -> list[tuple[str, str]]:
    """Every (method, path) the application answers, but the OPTIONS that Litestar adds to each path."""
    from survey.app import create_app

    found = set()
    for route in create_app().routes:
        for handler in getattr(route, "route_handlers", []):
            for method in getattr(handler, "http_methods", None) or ():
                if method != "OPTIONS":
                    found.add((method, route.path))
    return sorted(found)


def expectation(method: str, path: str) -> Rule | None:
    return EXPECTED.get((method, path))


def test_every_route_has_an_expectation():
    missing = [f"{method} {path}" for method, path in app_routes() if expectation(method, path) is None]
    assert missing == [], f"routes without a line in EXPECTED (who may use them?): {missing}"
    stale = [f"{method} {path}" for method, path in EXPECTED if (method, path) not in set(app_routes())]
    assert stale == [], f"lines of EXPECTED for routes that no longer exist: {stale}"


# --- the walk ------------------------------------------------------------------------------------------------------


@dataclass
class World:
    """The seeded records (all in Ba Đình) and one signed-in client per principal."""

    records: dict[str, Any]
    keys: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, dict[str, str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    client: Any = None


async def seed() -> dict[str, Any]:
    """A response with a case, a response without, an alert, a kiosk, an archived report and a dead job, all in
    Ba Đình; a day the administrators entered in the calendar."""
    from survey.db import run_sql
    from survey.services.accounts import identity_of
    from survey.services.alerts import evaluate_alerts
    from survey.services.counters import register_kiosk
    from survey.services.followups import open_case
    from survey.services.outbox import enqueue
    from survey.services.reports import MadeReport, ReportSpec, archive_report
    from survey.services.working_calendar import add_calendar_day
    from tests.support.staff import add_staff_user

    await add_counter_responses("HN-BD", 20, minutes_apart=1, ratings=[1] * 15 + [5] * 5)
    for unit in ("HN-CG", "HCM-Q1", "HCM-PN", "HN-DD"):
        await add_counter_responses(unit, 20, minutes_apart=1, ratings=[5] * 20)
    assert (await evaluate_alerts()).raised == ("HN-BD",)
    [alert] = await run_sql("SELECT id FROM alert")
    responses = [row["id"] for row in await run_sql(
        "SELECT r.id FROM response r JOIN unit u ON u.id = r.unit WHERE u.code = 'HN-BD' ORDER BY r.id")]
    setter = await identity_of(await add_staff_user("setter", "admin", "VN"))
    case_id = await open_case(setter, responses[0], "một trường hợp để thử")
    kiosk, _ = await register_kiosk(setter, "HN-BD-Q1", "Máy tính bảng 1")
    month = datetime.now(UTC).strftime("%Y-%m")
    spec = ReportSpec("unit", month, unit="HN-BD")
    run_id = await archive_report(MadeReport(spec=spec, pdf=b"%PDF-1.7\n%%EOF\n", pages=1, title=spec.title_key))
    await enqueue("send_invitation", {"invitation": 0})
    [job] = await run_sql("SELECT id FROM job ORDER BY id DESC LIMIT 1")
    await run_sql("UPDATE job SET status = 'dead' WHERE id = {}", job["id"])
    day = weekday(21)
    await add_calendar_day(day, "holiday", "Nghỉ bù", actor_id=setter.id)
    return {"case_id": case_id, "response_id": responses[1], "alert_id": alert["id"], "kiosk_id": kiosk.id,
            "run_id": run_id, "job_id": job["id"], "day": day.isoformat(), "month": month}


def weekday(from_day: int) -> date:
    """A Monday to Friday of next December from ``from_day`` on (no holiday there)."""
    day = date(datetime.now(UTC).year + 1, 12, from_day)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def concrete(path: str, records: dict[str, Any]) -> str:
    """The route's path with its parameters taken from the seeded records."""
    values = {**records, "request_id": 1, "token": "AAAAAAAAAAAAAAAAAAAAAAAA", "counter_code": "HN-BD-Q1",
              "file_path": "staff.css", "path": "no-such-page"}
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(values[m[1]]), path)


QUERIES = {
    "/api/v1/scores": {"questionnaire": "counter", "period": "2026"},
    "/api/v1/contacts/decisions": {"from": "2026-01-01", "to": "2026-02-01"},
    "/staff/responses/export": {"format": "csv"},
}


def form(method: str, path: str, records: dict[str, Any]) -> dict[str, str]:
    """A form that gets past who asks (its content may still be refused: that is the route at work)."""
    if path == "/staff/reports":
        return {"kind": "unit", "unit": "HN-BD", "period": records["month"], "lang": "vi",
                "questionnaire": "no-such-questionnaire"}  # refused after the scope check, so nothing is made
    if path == "/staff/kiosks":
        return {"counter": "HN-BD-Q1", "label": "Máy thử"}
    if path.endswith("/status"):
        return {"to": "in_progress", "comment": "đang gọi lại"}
    if path.endswith("/reassign"):
        return {"unit": "HN-BD", "comment": "giữ lại"}  # its own unit: refused by content, the case stays here
    if path.startswith("/staff/calendar/"):
        return {"day": weekday(14).isoformat(), "kind": "holiday", "name": "Nghỉ", "day_off": "", "day_worked": ""}
    return {"comment": "đã xem"} if method == "POST" else {}


async def ask(world: World, who: str, method: str, path: str) -> Any:
    url = concrete(path, world.records)
    client = world.client
    client.cookies.clear()
    for name, value in world.cookies[who].items():
        client.cookies.set(name, value)
    headers = {}
    if who.startswith("key:"):
        headers["authorization"] = f"Bearer {world.keys[who[4:]]}"
    if path.startswith("/api/"):
        headers["accept"] = "application/json"
        body = {"json": {}} if method == "POST" else {}
    elif method == "POST":
        body = {"data": {**form(method, path, world.records), "_csrf_token": world.tokens[who]}}
    else:
        body = {}
    return await client.request(method, url, params=QUERIES.get(path), headers=headers, follow_redirects=False,
                                **body)


def judged(expected: Expected, answer: Any) -> bool:
    status = answer.status_code
    if status >= 500:
        return False
    if expected == LOGIN:
        return status == 401 or (status == 303 and answer.headers.get("location", "").startswith("/staff/login"))
    if expected == ACTS:
        return status not in (401, 403, 404)
    if expected == PUBLIC:
        return status not in (401, 403)
    return status in expected if isinstance(expected, tuple) else status == expected


@pytest.fixture
async def world(client) -> Any:
    """The records, the keys, and the session cookies of each principal (one client, its cookies swapped)."""
    from survey.services.apikeys import create_api_key

    world = World(await seed())
    for scope in SCOPES:
        world.keys[scope], _ = await create_api_key("switchboard", [scope])
    users = {"admin": ("admin", "HCM-PN"), "quality": ("quality", "HCM-Q1"), "leader": ("leader", "HN-CG"),
             "um_in": ("unit_manager", "HN-BD"), "um_out": ("unit_manager", "HCM-Q1")}
    for who in ("anonymous", *STAFF_PRINCIPALS):
        client.cookies.clear()
        if who != "anonymous":
            role, unit = users[who]
            await sign_in_as(client, role, unit, username=who.replace("_", "-"))
        page = await client.get("/staff/login" if who == "anonymous" else "/staff/follow-ups")
        world.tokens[who] = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
        world.cookies[who] = dict(client.cookies.items())
    for scope in SCOPES:  # an integrator has no session: as anybody, with a key
        world.cookies[f"key:{scope}"] = world.cookies["anonymous"]
        world.tokens[f"key:{scope}"] = world.tokens["anonymous"]
    world.client = client
    return world


async def test_every_route_answers_each_role_as_the_table_says(world):
    wrong: list[str] = []
    # signing out last: it ends the session the rest of the walk needs
    routes = sorted(app_routes(), key=lambda route: route == ("POST", "/staff/logout"))
    for method, path in routes:
        rule = expectation(method, path)
        assert rule is not None, f"{method} {path} has no expectation"
        cells: list[tuple[str, Expected]] = [("anonymous", rule.anonymous), *rule.staff.items()]
        for scope in SCOPES:
            cells.append((f"key:{scope}", (ACTS if scope == rule.scope else 403) if rule.scope else rule.anonymous))
        for who, expected in cells:
            answer = await ask(world, who, method, path)
            if not judged(expected, answer):
                wrong.append(f"{method} {path} as {who}: expected {expected}, got {answer.status_code} "
                             f"{answer.text[:120]!r}")
            if who.startswith("key:") and expected == 403 and rule.scope and answer.json().get("scope") != rule.scope:
                wrong.append(f"{method} {path} as {who}: the 403 does not name the scope {rule.scope!r}")
    assert wrong == [], "\n".join(wrong)


async def test_a_leader_is_offered_no_form_that_would_change_something(world):
    pages = [f"/staff/follow-ups/{world.records['case_id']}", f"/staff/responses/{world.records['response_id']}",
             "/staff/alerts"]
    for who, offered in (("leader", False), ("quality", True)):
        for path in pages:
            answer = await ask(world, who, "GET", path)
            assert answer.status_code == 200, (who, path)
            actions = re.findall(r'<form method="post" action="([^"]+)"', answer.text)
            actions += re.findall(r'<form class="[^"]*" method="post" action="([^"]+)"', answer.text)
            changes = [action for action in actions if action != "/staff/logout"]
            assert bool(changes) == offered, (who, path, changes)
