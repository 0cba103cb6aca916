"""Nobody is locked out by someone else: growing sign-in delays, link limits that count only failures, the client
address behind trusted proxies only, limits shared by server processes, Secure cookies, and no token in a log.

Addresses: the test client connects as ``testclient``; :class:`Peers` lets each request come from an address of
its choice, as a server's connection would (``scope["client"]``). The proxy tests run the app under uvicorn on a
loopback port, where the peer is really 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import logging
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from survey.services.accounts import create_user
from survey.services.invitations import LinkSpec, create_links
from tests.support.staff import PASSWORD, csrf_token

ATTACKER = "198.51.100.66"
ADMIN_DESK = "203.0.113.10"
JSON = {"accept": "application/json"}


class Clock:
    """Seconds since the epoch that move only when a test says so (the limits' ``clock``)."""

    def __init__(self, now: float = 1_900_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Peers:
    """An ASGI wrapper: each request comes from ``address`` (what a server puts in ``scope["client"]``)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.address = "testclient"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "client": (self.address, 50000)}
        await self.app(scope, receive, send)


@pytest.fixture
async def admin(reference):
    return await create_user(username="admin", password=PASSWORD, role="admin", unit_code="VN",
                             display_name="Quản trị")


@contextlib.asynccontextmanager
async def peers_client(settings: Any = None) -> AsyncIterator[tuple[Any, Peers, Clock]]:
    """A test client whose requests come from ``peers.address``; the app's limits run on ``clock``."""
    from litestar.testing import AsyncTestClient

    from survey.app import create_app
    from survey.state import state_of

    app = create_app(settings)
    peers, clock = Peers(app), Clock()
    async with AsyncTestClient(app=peers, base_url="http://testserver.local") as client:  # type: ignore[arg-type]
        state_of(app).limits.counters.clock = clock
        yield client, peers, clock


@pytest.fixture
async def peers(reference) -> AsyncIterator[tuple[Any, Peers, Clock]]:
    async with peers_client() as made:
        yield made


async def attempt(client: Any, username: str, password: str) -> httpx.Response:
    """One sign-in as a new browser would make it (its own CSRF cookie)."""
    client.cookies.clear()
    token = await csrf_token(client)
    return await client.post("/staff/login", data={"username": username, "password": password, "_csrf_token": token},
                             follow_redirects=False)


async def test_a_lockout_attempt_on_the_admin_does_not_keep_her_out_from_her_own_address(peers, admin):
    from survey.settings import get_settings
    from survey.tables import AuditEvent

    client, peer, clock = peers
    peer.address = ATTACKER
    refused = 0
    for _ in range(40):  # many guesses, waiting out every delay so that each one counts
        reply = await attempt(client, "admin", "guess-password")
        if reply.status_code == 429:
            refused += 1
            clock.advance(int(reply.headers["retry-after"]))
        else:
            assert reply.status_code == 401
    assert refused > 0
    # the attacker now waits, even with the right password
    assert (await attempt(client, "admin", PASSWORD)).status_code == 429

    peer.address = ADMIN_DESK
    signed_in = await attempt(client, "admin", PASSWORD)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/staff/"
    assert (await client.get("/staff/", follow_redirects=False)).status_code == 200

    # a fresh address of the attacker's gets one free try, then waits on the account's delay
    peer.address = "192.0.2.77"
    assert (await attempt(client, "admin", "another-guess")).status_code == 401
    assert (await attempt(client, "admin", "one-more-guess")).status_code == 429
    assert get_settings().login_free_failures < 40

    actions = await AuditEvent.select(AuditEvent.action, AuditEvent.client_address).order_by(AuditEvent.id)
    assert {"login_failed", "login_blocked", "login_ok"} <= {row["action"] for row in actions}
    assert {"action": "login_ok", "client_address": ADMIN_DESK} in actions
    assert {"action": "login_blocked", "client_address": ATTACKER} in actions


async def test_each_further_failure_doubles_the_wait(peers, admin):
    from survey.settings import get_settings

    client, peer, clock = peers
    peer.address = ATTACKER
    for _ in range(get_settings().login_free_failures):
        assert (await attempt(client, "admin", "wrong password")).status_code == 401
    waits = []
    for _ in range(4):
        assert (await attempt(client, "admin", "wrong password")).status_code == 401
        blocked = await attempt(client, "admin", "wrong password")
        assert blocked.status_code == 429
        assert "Đăng nhập sai quá nhiều lần" in blocked.text
        waits.append(int(blocked.headers["retry-after"]))
        clock.advance(waits[-1])
    assert waits == [1, 2, 4, 8]


async def test_a_success_clears_the_failures_of_that_account_from_that_address(peers, admin):
    from survey.tables import RateCounter

    client, peer, clock = peers
    peer.address = ADMIN_DESK
    assert (await attempt(client, "admin", "typo password")).status_code == 401
    assert (await attempt(client, "admin", PASSWORD)).status_code == 303
    keys = {row["key"] for row in await RateCounter.select(RateCounter.key)}
    assert f"signin:pair:admin|{ADMIN_DESK}" not in keys
    assert f"signin:address:{ADMIN_DESK}" in keys  # the address's own count stays


async def _link() -> str:
    [token] = await create_links([LinkSpec("counter", "HN-BD", service_code="HIC")])
    return token


async def test_a_valid_link_opens_from_an_address_that_failed_a_hundred_times(peers):
    client, peer, clock = peers
    token, other = await _link(), await _link()
    peer.address = ATTACKER
    statuses = [(await client.get(f"/s/Unknown{n:05d}")).status_code for n in range(100)]
    assert statuses.count(404) == 20 and statuses[-1] == 429
    limited = await client.get("/s/AAAAAAAAAAAA")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert (await client.post("/s/BBBBBBBBBBBB", json={"answers": {"overall": 5}}, headers=JSON)).status_code == 429
    assert (await client.get("/o/CCCCCCCCCCCC")).status_code == 429
    assert (await client.get("/s/not-a-token!")).status_code == 429

    page = await client.get(f"/s/{token}")
    assert page.status_code == 200 and "<form" in page.text
    answer = await client.post(f"/s/{token}", json={"answers": {"overall": 5, "complained": "no"}}, headers=JSON)
    assert (answer.status_code, answer.json()) == (200, {"status": "complete"})
    form = await client.post(f"/s/{other}", data={"page": "1", "overall": "4", "action": "next"})
    assert form.status_code == 200
    assert (await client.get(f"/o/{other}")).status_code == 200

    # another address behind the same NAT is not refused either, and its own guesses are counted apart
    peer.address = "203.0.113.200"
    assert (await client.get("/s/DDDDDDDDDDDD")).status_code == 404


async def test_two_app_instances_on_one_database_share_the_counters(reference, admin):
    from survey.settings import get_settings

    # two app objects stand for two server processes: nothing but the database is shared (their clocks agree)
    async with peers_client() as (first, first_peer, _), peers_client() as (second, second_peer, _):
        first_peer.address = second_peer.address = ATTACKER
        for _ in range(get_settings().login_free_failures + 1):
            assert (await attempt(first, "admin", "wrong password")).status_code == 401
        # the other process sees the wait the first one set
        assert (await attempt(second, "admin", PASSWORD)).status_code == 429
        for _ in range(get_settings().token_failures_per_window):
            await first.get("/s/AAAAAAAAAAAA")
        assert (await second.get("/s/BBBBBBBBBBBB")).status_code == 429


# --- behind a proxy, under uvicorn on a loopback port ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def served(settings: Any = None) -> Iterator[str]:
    """The app under uvicorn (as ``survey serve`` runs it: no proxy headers of uvicorn's) on a loopback port, in a
    thread of this process so that it uses the test's database; yields its base URL."""
    import uvicorn

    from survey.app import create_app

    port = _free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, proxy_headers=False, log_config=None,
                            log_level="info", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(600):
            if server.started:
                break
            thread.join(0.05)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


async def _failed_sign_in_address(base_url: str, forwarded: str) -> str:
    """The address the audit records for a wrong password sent with ``X-Forwarded-For: forwarded``."""
    from survey.tables import AuditEvent

    async with httpx.AsyncClient(base_url=base_url) as browser:
        token = await csrf_token(browser)
        reply = await browser.post("/staff/login", headers={"X-Forwarded-For": forwarded},
                                   data={"username": "nobody", "password": "wrong password", "_csrf_token": token})
    assert reply.status_code == 401
    row = await AuditEvent.select(AuditEvent.client_address).where(AuditEvent.action == "login_failed").order_by(
        AuditEvent.id, ascending=False).first()
    return str(row["client_address"])


async def test_a_spoofed_forwarded_for_is_ignored_when_the_peer_is_not_a_trusted_proxy(reference):
    from survey.settings import get_settings

    settings = dataclasses.replace(get_settings(), token_failures_per_window=2)
    with served(settings) as base_url:
        assert await _failed_sign_in_address(base_url, "203.0.113.5") == "127.0.0.1"
        async with httpx.AsyncClient(base_url=base_url) as browser:
            for forwarded in ("203.0.113.5", "203.0.113.5"):
                await browser.get("/s/AAAAAAAAAAAA", headers={"X-Forwarded-For": forwarded})
            # a new made-up address changes nothing: the limit is the connection's
            again = await browser.get("/s/AAAAAAAAAAAA", headers={"X-Forwarded-For": "198.51.100.9"})
    assert again.status_code == 429


async def test_the_forwarded_for_of_a_trusted_proxy_names_the_client(reference):
    from survey.settings import get_settings

    proxy = (ipaddress.ip_network("127.0.0.1/32"),)
    settings = dataclasses.replace(get_settings(), token_failures_per_window=2, trusted_proxies=proxy)
    with served(settings) as base_url:
        assert await _failed_sign_in_address(base_url, "203.0.113.5") == "203.0.113.5"
        # what the client wrote left of the address the proxy saw proves nothing; trusted hops are skipped
        assert await _failed_sign_in_address(base_url, "6.6.6.6, 203.0.113.7") == "203.0.113.7"
        assert await _failed_sign_in_address(base_url, "203.0.113.8, 127.0.0.1") == "203.0.113.8"
        async with httpx.AsyncClient(base_url=base_url) as browser:
            statuses = [(await browser.get("/s/AAAAAAAAAAAA", headers={"X-Forwarded-For": "203.0.113.5"})).status_code
                        for _ in range(3)]
            other = await browser.get("/s/AAAAAAAAAAAA", headers={"X-Forwarded-For": "198.51.100.9"})
    assert statuses == [404, 404, 429]
    assert other.status_code == 404


class Lines(logging.Handler):
    """The formatted lines a logger writes (Litestar's logging set-up replaces the root's handlers, so pytest's
    capture of the root logger sees nothing of uvicorn's)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def test_link_tokens_are_masked_in_the_access_log(reference):
    token = await _link()
    access, capture = logging.getLogger("uvicorn.access"), Lines()
    access.addHandler(capture)
    try:
        with served() as base_url:  # the filter is the one create_app installs, as under survey serve
            async with httpx.AsyncClient(base_url=base_url) as browser:
                assert (await browser.get(f"/s/{token}?lang=en")).status_code == 200
                assert (await browser.get(f"/o/{token}")).status_code == 200
                assert (await browser.get("/s/Unknown00000")).status_code == 404
    finally:
        access.removeHandler(capture)
    lines = capture.lines
    assert any('"GET /s/***?lang=en HTTP/1.1" 200' in line for line in lines), lines
    assert any('"GET /o/*** HTTP/1.1" 200' in line for line in lines), lines
    assert any('"GET /s/*** HTTP/1.1" 404' in line for line in lines), lines
    assert not any(token in line or "Unknown00000" in line for line in lines), lines


# --- cookies --------------------------------------------------------------------------------------------------------


async def test_cookies_are_secure_when_the_base_url_is_https(reference, admin, monkeypatch):
    from litestar.testing import AsyncTestClient

    from survey.app import create_app
    from survey.settings import get_settings

    monkeypatch.setenv("SURVEY_BASE_URL", "https://khaosat.example.vn")
    get_settings.cache_clear()
    try:
        assert get_settings().secure_cookies
        async with AsyncTestClient(app=create_app(), base_url="https://khaosat.example.vn") as client:
            form = await client.get("/staff/login")
            assert "survey_csrf=" in form.headers["set-cookie"] and "Secure" in form.headers["set-cookie"]
            token = await csrf_token(client)
            signed_in = await client.post("/staff/login", data={"username": "admin", "password": PASSWORD,
                                                                "_csrf_token": token}, follow_redirects=False)
            session = [c for c in signed_in.headers.get_list("set-cookie") if c.startswith("survey_session=")]
            assert session and all("Secure" in cookie for cookie in session)
        monkeypatch.setenv("SURVEY_SECURE_COOKIES", "false")  # the override, for a test bench without TLS
        get_settings.cache_clear()
        assert not get_settings().secure_cookies
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert not get_settings().secure_cookies  # http://testserver.local


def test_survey_serve_ignores_forwarded_for_and_masks_tokens_in_its_access_log(tmp_path):
    """``survey serve`` itself, in a process of its own on a database of its own (an SQLite file)."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    port = _free_port()
    env = {**os.environ, "SURVEY_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
           "SURVEY_VAR_DIR": str(tmp_path), "SURVEY_BASE_URL": f"http://127.0.0.1:{port}"}
    env.pop("SURVEY_TRUSTED_PROXIES", None)
    log = tmp_path / "serve.log"
    command = [str(Path(sys.executable).parent / "survey"), "serve", "--port", str(port)]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            reply = httpx.get(f"http://127.0.0.1:{port}/s/Secret123456?lang=vi",
                              headers={"X-Forwarded-For": "203.0.113.5"})
            assert reply.status_code == 404
            opt_out = httpx.get(f"http://127.0.0.1:{port}/o/Secret654321", headers={"X-Forwarded-For": "203.0.113.5"})
            assert opt_out.status_code == 404
        finally:
            server.terminate()
            server.wait(30)
    lines = [line for line in log.read_text().splitlines() if '"GET /' in line]
    assert any('127.0.0.1:' in line and '"GET /s/***?lang=vi HTTP/1.1" 404' in line for line in lines), lines
    assert any('"GET /o/*** HTTP/1.1" 404' in line for line in lines), lines
    assert not any("Secret" in line or "203.0.113.5" in line for line in lines), lines
