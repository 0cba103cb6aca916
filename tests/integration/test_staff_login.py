"""Signing in and out of the staff pages: passwords, CSRF, rate limits, sessions, audit."""

from __future__ import annotations

import asyncio
import re

import pytest

from survey.services.accounts import StaffError, create_user
from tests.support.staff import PASSWORD, csrf_token, sign_in


@pytest.fixture
async def lan(reference):
    return await create_user(username="lan.nt", password=PASSWORD, role="quality", unit_code="HN",
                             display_name="Nguyễn Thị Lan")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"username": "a b"}, "username 'a b' is not allowed"),
        ({"password": "short"}, "password: must be at least 10 characters"),
        ({"role": "boss"}, "role 'boss' is not one of admin, quality, leader, unit_manager"),
        ({"unit_code": "XX"}, "unknown unit 'XX'"),
        ({"display_name": "  "}, "display name: must be 1 to 120 characters"),
    ],
)
async def test_create_user_names_what_is_wrong(reference, changes, message):
    from survey.tables import StaffUser

    values = {"username": "minh", "password": PASSWORD, "role": "leader", "unit_code": "VN", "display_name": "Minh"}
    with pytest.raises(StaffError, match=re.escape(message)):
        await create_user(**{**values, **changes})
    assert await StaffUser.count() == 0


async def test_create_user_refuses_a_taken_username_whatever_its_case(lan):
    with pytest.raises(StaffError, match="username 'lan.nt' is taken"):
        await create_user(username="Lan.NT", password=PASSWORD, role="admin", unit_code="VN", display_name="Other")


async def test_create_user_stores_an_argon2_hash_not_the_password(lan):
    assert lan.password_hash.startswith("$argon2id$")
    assert PASSWORD not in lan.password_hash


async def test_cli_creates_a_user_and_reports_errors(reference):
    from click.testing import CliRunner

    from survey.cli import main

    # the CLI runs its own event loop: call it from a thread
    runner = CliRunner()
    ok = await asyncio.to_thread(runner.invoke, main, ["users", "create", "--username", "hoa", "--role", "leader",
                                                       "--unit", "HCM", "--password", PASSWORD])
    assert ok.exit_code == 0, ok.output
    assert "Created leader 'hoa' for unit HCM" in ok.output
    bad = await asyncio.to_thread(runner.invoke, main, ["users", "create", "--username", "hoa2", "--role", "leader",
                                                        "--unit", "ZZ", "--password", PASSWORD])
    assert bad.exit_code == 1
    assert "unknown unit 'ZZ'" in bad.output


async def test_login_page_is_vietnamese_with_english_beside_it(client):
    page = await client.get("/staff/login")
    assert page.status_code == 200
    assert "Đăng nhập cán bộ" in page.text
    assert '<label for="username">Tên đăng nhập</label>' in page.text
    english = await client.get("/staff/login?lang=en")
    assert "Staff sign in" in english.text and 'lang="en"' in english.text


async def test_signing_in_leads_to_the_staff_page_with_name_role_and_unit(client, lan):
    response = await sign_in(client, "Lan.NT")
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/"
    home = await client.get("/staff/")
    assert home.status_code == 200
    assert "Nguyễn Thị Lan" in home.text
    assert "Cán bộ quản lý chất lượng" in home.text
    assert "BHXH TP. Hà Nội" in home.text
    assert "Đăng xuất" in home.text


async def test_a_wrong_password_or_unknown_user_gets_the_same_plain_error(client, lan):
    wrong = await sign_in(client, "lan.nt", "not the password")
    unknown = await sign_in(client, "nobody", "not the password")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Sai tên đăng nhập hoặc mật khẩu" in response.text
    english = await client.post("/staff/login?lang=en", data={"username": "x", "password": "y",
                                                              "_csrf_token": await csrf_token(client)})
    assert english.status_code == 401 and "Wrong username or password" in english.text
    assert (await client.get("/staff/", follow_redirects=False)).status_code == 303


async def test_an_inactive_user_cannot_sign_in(client, lan):
    from survey.tables import StaffUser

    await StaffUser.update({StaffUser.active: False}).where(StaffUser.id == lan.id)
    assert (await sign_in(client, "lan.nt")).status_code == 401


async def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(client, lan):
    asked = await sign_in(client, "lan.nt", next="/staff/?page=2")
    assert asked.headers["location"] == "/staff/?page=2"
    await client.post("/staff/logout", data={"_csrf_token": await csrf_token(client, "/staff/")})
    elsewhere = await sign_in(client, "lan.nt", next="//evil.example/staff/")
    assert elsewhere.headers["location"] == "/staff/"


async def test_a_wrong_csrf_token_is_refused_on_login_and_logout(client, lan):
    await csrf_token(client)  # the CSRF cookie is set
    forged = await client.post("/staff/login", data={"username": "lan.nt", "password": PASSWORD,
                                                     "_csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    missing = await client.post("/staff/login", data={"username": "lan.nt", "password": PASSWORD})
    assert missing.status_code == 403

    assert (await sign_in(client, "lan.nt")).status_code == 303
    forged_logout = await client.post("/staff/logout", data={"_csrf_token": "forged"}, follow_redirects=False)
    assert forged_logout.status_code == 403
    assert (await client.get("/staff/", follow_redirects=False)).status_code == 200  # still signed in


async def test_logout_ends_the_session(client, lan):
    await sign_in(client, "lan.nt")
    token = await csrf_token(client, "/staff/")
    response = await client.post("/staff/logout", data={"_csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/login")
    assert (await client.get("/staff/", follow_redirects=False)).status_code == 303
    assert "Bạn đã đăng xuất" in (await client.get(response.headers["location"])).text


async def test_failures_make_the_address_wait_with_429_and_the_public_limiter_is_untouched(client, lan):
    from survey.settings import get_settings
    from survey.state import state_of

    for attempt in range(get_settings().login_free_failures + 1):
        response = await sign_in(client, f"guess{attempt}", "wrong password")
        assert response.status_code == 401
    # from this address, even the right password waits now (a second, growing with each further failure)
    blocked = await sign_in(client, "lan.nt")
    assert blocked.status_code == 429
    assert "Đăng nhập sai quá nhiều lần" in blocked.text
    assert int(blocked.headers["retry-after"]) > 0
    public = state_of(client.app).limits.public
    assert not public.blocked("testclient")
    assert public.retry_after("testclient") == 0


async def test_a_nul_character_in_the_sign_in_form_is_removed_and_never_reaches_the_database(client, lan):
    # forms lose NUL as the request enters (PostgreSQL cannot hold it): the name is the one without it
    assert (await sign_in(client, "lan.nt\x00")).status_code == 303
    await client.post("/staff/logout", data={"_csrf_token": await csrf_token(client, "/staff/")})
    wrong = await sign_in(client, "lan.\x00nt", password="wrong password")
    assert wrong.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in wrong.text


async def test_unauthenticated_browsers_are_sent_to_login_and_api_clients_get_401(client):
    browser = await client.get("/staff/?page=2", follow_redirects=False)
    assert browser.status_code == 303
    assert browser.headers["location"] == "/staff/login?next=/staff%3Fpage%3D2"
    api = await client.get("/staff/", headers={"Accept": "application/json"}, follow_redirects=False)
    assert api.status_code == 401
    assert api.json()["detail"] == "Authentication required"


async def test_a_new_session_version_signs_the_user_out_everywhere(client, lan):
    from survey.services.accounts import sign_out_everywhere

    await sign_in(client, "lan.nt")
    assert (await client.get("/staff/", follow_redirects=False)).status_code == 200
    await sign_out_everywhere(lan.id)
    response = await client.get("/staff/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/login")


async def test_logins_are_audited(client, lan):
    from survey.tables import AuditEvent

    await sign_in(client, "lan.nt", "wrong password")
    await sign_in(client, "lan.nt")
    await client.get("/staff/")
    events = await AuditEvent.select(AuditEvent.action, AuditEvent.actor, AuditEvent.actor_label,
                                     AuditEvent.detail, AuditEvent.client_address).order_by(AuditEvent.id)
    actions = [event["action"] for event in events]
    assert actions[:3] == ["login_failed", "login_ok", "dashboard_viewed"]
    failed, ok = events[0], events[1]
    assert failed["actor"] is None and "lan.nt" in str(failed["detail"])
    assert ok["actor"] == lan.id and ok["actor_label"] == "lan.nt"
    assert ok["client_address"] == "testclient"


async def test_signing_in_updates_last_login_and_upgrades_an_old_hash(client, lan):
    from argon2 import PasswordHasher

    from survey.tables import StaffUser

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    await StaffUser.update({StaffUser.password_hash: weak}).where(StaffUser.id == lan.id)
    await sign_in(client, "lan.nt")
    row = await StaffUser.select(StaffUser.password_hash, StaffUser.last_login_at).where(
        StaffUser.id == lan.id).first()
    assert row["last_login_at"] is not None
    assert row["password_hash"] != weak and not PasswordHasher().check_needs_rehash(row["password_hash"])


async def test_signing_out_ends_the_users_sessions_on_other_devices_too(client, lan):
    from litestar.testing import AsyncTestClient

    from survey.app import create_app

    async with AsyncTestClient(app=create_app(), base_url="http://testserver.local") as other_device:
        await sign_in(other_device, "lan.nt")
        await sign_in(client, "lan.nt")
        await client.post("/staff/logout", data={"_csrf_token": await csrf_token(client, "/staff/")})
        assert (await other_device.get("/staff/", follow_redirects=False)).status_code == 303
