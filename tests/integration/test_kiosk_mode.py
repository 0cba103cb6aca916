"""Kiosk tablets: registered by staff (CSRF, scope), refused elsewhere, responses stored with trust kiosk."""

from __future__ import annotations

import re

import pytest

from tests.support.staff import CSRF_INPUT, csrf_token, sign_in_as


async def _sign_in(client, username: str, role: str = "unit_manager", unit: str = "HN-BD") -> None:
    await sign_in_as(client, role, unit, username=username)


async def _register(client, counter: str = "HN-BD-Q1", label: str = "Máy tính bảng quầy 1"):
    token = await csrf_token(client, "/staff/kiosks/")
    return await client.post("/staff/kiosks/", data={"counter": counter, "label": label, "_csrf_token": token},
                             follow_redirects=False)


async def test_a_unit_manager_registers_this_browser_as_the_kiosk_of_a_counter(client):
    from survey.tables import AuditEvent, Kiosk

    await _sign_in(client, "quanly.bd")
    listing = await client.get("/staff/kiosks/")
    assert listing.status_code == 200
    assert 'value="HN-BD-Q1"' in listing.text and 'value="HCM-Q1-Q1"' not in listing.text  # counters in scope only
    reply = await _register(client)
    assert reply.status_code == 303 and reply.headers["location"].startswith("/kiosk/HN-BD-Q1")
    cookie = reply.headers["set-cookie"]
    assert cookie.startswith("survey_kiosk=") and "HttpOnly" in cookie and "Path=/kiosk/" in cookie
    assert "Max-Age=34560000" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    [kiosk] = await Kiosk.select()
    value = cookie.split(";")[0].split("=", 1)[1].strip('"')
    secret = value.split(".")[1]
    assert kiosk["label"] == "Máy tính bảng quầy 1" and secret not in str(kiosk) and len(kiosk["secret_hash"]) == 64
    assert await AuditEvent.exists().where(AuditEvent.action == "kiosk_registered")

    start = await client.get("/kiosk/HN-BD-Q1")
    assert start.status_code == 200 and 'data-page="kiosk-start"' in start.text
    assert start.text.count('name="overall"') == 5 and 'aria-label="Rất hài lòng"' in start.text
    assert 'http-equiv="refresh" content="30;url=/kiosk/HN-BD-Q1' in start.text
    listed = await client.get("/staff/kiosks/")
    assert "Máy tính bảng quầy 1" in listed.text


async def test_registration_needs_the_csrf_token_a_session_and_a_counter_in_scope(client):
    from survey.tables import Kiosk

    anonymous = await client.get("/staff/kiosks/", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/staff/login")
    await _sign_in(client, "quanly.bd")
    forged = await client.post("/staff/kiosks/", data={"counter": "HN-BD-Q1", "label": "x", "_csrf_token": "forged"},
                               follow_redirects=False)
    assert forged.status_code == 403
    elsewhere = await _register(client, counter="HCM-Q1-Q1")
    assert elsewhere.status_code == 422 and "HCM-Q1-Q1" in elsewhere.text
    nameless = await _register(client, label="   ")
    assert nameless.status_code == 422
    assert await Kiosk.count() == 0


async def test_a_leader_may_look_but_not_register(client):
    from survey.tables import Kiosk

    await _sign_in(client, "lanhdao", role="leader", unit="VN")
    page = await client.get("/staff/kiosks/")
    assert page.status_code == 200 and 'id="kiosk-register"' not in page.text
    refused = await client.post("/staff/kiosks/", data={"counter": "HN-BD-Q1", "label": "x",
                                                        "_csrf_token": CSRF_INPUT.search(
                                                            (await client.get("/staff/")).text)[1]},
                                follow_redirects=False)
    assert refused.status_code == 403
    assert await Kiosk.count() == 0


async def test_the_kiosk_page_is_refused_without_a_cookie_with_a_forged_one_or_for_another_counter(client):
    bare = await client.get("/kiosk/HN-BD-Q1")
    assert bare.status_code == 403 and 'data-page="kiosk-refused"' in bare.text and "đăng ký" in bare.text
    posted = await client.post("/kiosk/HN-BD-Q1", data={"overall": "5"})
    assert posted.status_code == 403
    client.cookies.set("survey_kiosk", "1.secret.0000", path="/kiosk/")
    assert (await client.get("/kiosk/HN-BD-Q1")).status_code == 403
    client.cookies.clear()

    await _sign_in(client, "quanly.bd")
    await _register(client, counter="HN-BD-Q2")
    assert (await client.get("/kiosk/HN-BD-Q2")).status_code == 200
    assert (await client.get("/kiosk/HN-BD-Q1")).status_code == 403  # registered for the other counter


async def test_a_revoked_kiosk_is_refused(client):
    from survey.tables import Kiosk

    await _sign_in(client, "quanly.bd")
    await _register(client)
    assert (await client.get("/kiosk/HN-BD-Q1")).status_code == 200
    [kiosk] = await Kiosk.select(Kiosk.id)
    token = await csrf_token(client, "/staff/kiosks/")
    revoked = await client.post(f"/staff/kiosks/{kiosk['id']}/revoke", data={"_csrf_token": token})
    assert revoked.status_code == 200 and "Đã thu hồi" in revoked.text
    assert (await client.get("/kiosk/HN-BD-Q1")).status_code == 403


async def test_someone_outside_the_unit_cannot_revoke(client):
    from survey.tables import Kiosk

    await _sign_in(client, "quanly.bd")
    await _register(client)
    [kiosk] = await Kiosk.select(Kiosk.id)
    await client.post("/staff/logout", data={"_csrf_token": await csrf_token(client, "/staff/")})
    await _sign_in(client, "quanly.q1", unit="HCM-Q1")
    token = await csrf_token(client, "/staff/kiosks/")
    reply = await client.post(f"/staff/kiosks/{kiosk['id']}/revoke", data={"_csrf_token": token})
    assert reply.status_code == 404
    assert (await Kiosk.select(Kiosk.revoked_at))[0]["revoked_at"] is None


@pytest.mark.parametrize(("overall", "asked"), [(2, {"servant_attitude", "result_time", "complained", "comment"}),
                                                (5, {"complained", "comment"})])
async def test_a_kiosk_submission_is_stored_with_trust_kiosk(client, overall, asked):
    from survey.tables import Answer, FollowUp, Response

    await _sign_in(client, "quanly.bd")
    await _register(client)
    more = await client.post("/kiosk/HN-BD-Q1", data={"overall": str(overall)})
    assert more.status_code == 200 and 'data-page="kiosk-more"' in more.text
    shown = set(re.findall(r'<fieldset class="question[^"]*" id="q-([a-z_]+)"', more.text))
    assert shown == asked | {"service"}  # the counter handles several services: the visitor picks one

    missing = await client.post("/kiosk/HN-BD-Q1", data={"step": "more", "overall": str(overall)})
    assert missing.status_code == 422 and 'id="err-complained"' in missing.text and 'id="err-service"' in missing.text
    assert await Response.count() == 0

    answers = {"step": "more", "overall": str(overall), "service": "PENSION", "complained": "no",
               "comment": "Cán bộ nhiệt tình"}
    if overall <= 3:
        answers |= {"servant_attitude": "2", "result_time": "1"}
    thanks = await client.post("/kiosk/HN-BD-Q1", data=answers)
    assert thanks.status_code == 200 and 'data-page="kiosk-thanks"' in thanks.text
    assert 'content="6;url=/kiosk/HN-BD-Q1' in thanks.text  # back to the start
    [row] = await Response.select(Response.id, Response.trust, Response.channel, Response.status,
                                  Response.unit.code, Response.service.code, Response.counter.code)
    assert (row["trust"], row["channel"], row["status"]) == ("kiosk", "counter", "complete")
    assert (row["unit.code"], row["service.code"], row["counter.code"]) == ("HN-BD", "PENSION", "HN-BD-Q1")
    stored = {a["question_id"] for a in await Answer.select(Answer.question_id).where(Answer.response == row["id"])}
    assert stored == asked | {"overall"}
    assert await FollowUp.count() == (1 if overall <= 2 else 0)


async def test_a_single_service_counter_does_not_ask_the_service(client):
    from survey.tables import Response

    await _sign_in(client, "quanly.bd")
    await _register(client, counter="HN-BD-Q2")
    more = await client.post("/kiosk/HN-BD-Q2", data={"overall": "4"})
    assert 'id="q-service"' not in more.text
    done = await client.post("/kiosk/HN-BD-Q2", data={"step": "more", "overall": "4", "complained": "no"})
    assert 'data-page="kiosk-thanks"' in done.text
    [row] = await Response.select(Response.service.code, Response.trust)
    assert row == {"service.code": "HIC", "trust": "kiosk"}
