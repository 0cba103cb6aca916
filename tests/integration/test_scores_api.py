"""GET /api/v1/scores on both databases: API key or staff session, limited to the caller's units."""

from __future__ import annotations

import hashlib

import pytest

from survey.services.response_import import import_responses
from survey.tables import ApiKey
from tests.support.staff import add_staff_user, sign_in

KEY = "sk_testtest_" + "k" * 32  # the shape of a key `survey` makes: sk_<8-character prefix>_<32-character secret>
HEADER = "response_id,questionnaire,version,unit,service,channel,submitted_at,language,reach,overall,resolved"


@pytest.fixture
async def seeded(reference):
    lines = [HEADER] + [f"r{i},post-call,1,{'HN-BD' if i % 2 else 'HN-CG'},HOTLINE,call,2026-05-0{1 + i % 9} 10:00,vi,"
                        f"{4 + i % 2},{3 + i % 3},yes" for i in range(100)]
    assert (await import_responses(("\n".join(lines) + "\n").encode())).imported == 100
    await ApiKey(source="portal", prefix="testtest", key_hash=hashlib.sha256(KEY.encode()).hexdigest()).save()
    await add_staff_user("bd.manager", "unit_manager", "HN-BD", display_name="Quản lý Ba Đình")
    return reference


@pytest.fixture
async def api(seeded):
    # the data goes in before the app starts (the app's lifespan shares the engine)
    from litestar.testing import AsyncTestClient

    from survey.app import create_app

    async with AsyncTestClient(app=create_app(), base_url="http://testserver.local") as test_client:
        yield test_client


async def test_authentication_is_required(api):
    reply = await api.get("/api/v1/scores", params={"questionnaire": "post-call", "period": "2026-05"})
    assert reply.status_code == 401
    reply = await api.get("/api/v1/scores", params={"questionnaire": "post-call", "period": "2026-05"},
                          headers={"Authorization": "Bearer wrong"})
    assert reply.status_code == 401


async def test_an_api_key_reads_centre_wide(api):
    reply = await api.get("/api/v1/scores", params={"questionnaire": "post-call", "period": "2026-05", "unit": "HN",
                                                    "by": ["unit"]}, headers={"Authorization": f"Bearer {KEY}"})
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert {g["unit"] for g in data["groups"]} == {"HN-BD", "HN-CG"}
    group = data["groups"][0]
    assert group["n"] == 50 and {"value", "ci", "target", "met"} <= set(group["index"])


async def test_a_unit_manager_sees_their_unit_and_nothing_else(api):
    assert (await sign_in(api, "bd.manager")).status_code == 303
    mine = await api.get("/api/v1/scores", params={"questionnaire": "post-call", "period": "2026-05"})
    assert mine.status_code == 200, mine.text
    assert mine.json()["unit"] == "HN-BD" and mine.json()["groups"][0]["n"] == 50
    other = await api.get("/api/v1/scores", params={"questionnaire": "post-call", "period": "2026-05", "unit": "HN"})
    assert other.status_code == 403
    assert "outside the units you may see" in other.text


async def test_a_unit_manager_never_sees_a_sibling_unit_named_in_comparisons(api):
    assert (await sign_in(api, "bd.manager")).status_code == 303
    reply = await api.get("/api/v1/scores", params={"questionnaire": "post-call", "period": "2026-05"})
    assert reply.status_code == 200, reply.text
    data = reply.json()
    # HN-BD is compared with its peers (HN-CG answered too), but HN-CG's own figures are never shown
    assert "HN-CG" not in reply.text
    assert {point["unit"] for point in data["funnel"]} <= {"HN-BD"}
    assert any(t["comparison"] == "vs_peers" for t in data["groups"][0]["tests"])


@pytest.mark.parametrize(("params", "parameter", "allowed"), [
    ({"period": "last month"}, "period", "2026-Q2"),
    ({"period": "2026-05", "by": ["province"]}, "by", "unit, service, channel, month"),
    ({"period": "2026-05", "channel": "sms"}, "channel", "call, counter"),
])
async def test_bad_parameters_are_400_naming_the_parameter(api, params, parameter, allowed):
    reply = await api.get("/api/v1/scores", params={"questionnaire": "post-call", **params},
                          headers={"Authorization": f"Bearer {KEY}"})
    assert reply.status_code == 400
    assert parameter in reply.text and allowed in reply.text


@pytest.mark.parametrize(("params", "parameter", "allowed"), [
    ({"period": "0226-01-01..2026-12-31"}, "period", "2000..2100"),  # a typo for 2026
    ({"period": "9999-12"}, "period", "2000..2100"),
    ({"period": "2026-01-01..9999-12-31"}, "period", "2000..2100"),
    ({"period": "0001"}, "period", "2000..2100"),
    ({"period": "2026-02-30..2026-03-01"}, "period", "2026-Q2"),
    ({"period": "2026-05", "questionnaire": "nope"}, "questionnaire", "post-call"),
    ({"period": "2026-05", "questionnaire": "Post Call\u0000"}, "questionnaire", "post-call"),
    ({"period": "2026-05", "unit": "XX"}, "unit", "HN-BD"),
    ({"period": "2026-05", "service": "XX"}, "service", "HOTLINE"),
    ({"period": "2026-05", "by": ["unit", "unit"]}, "by", "at most once"),
    ({"period": "2026-05", "by": ["unit", "subunit"]}, "by", "unit or subunit"),
    ({"period": "2026-05", "min_n": "100000000000000000000"}, "min_n", "1 to 1000000"),
    ({"period": "2026-05", "min_n": "1000001"}, "min_n", "1 to 1000000"),
])
async def test_out_of_range_and_unknown_parameters_are_400_never_500(api, params, parameter, allowed):
    reply = await api.get("/api/v1/scores", params={"questionnaire": "post-call", **params},
                          headers={"Authorization": f"Bearer {KEY}"})
    assert reply.status_code == 400, reply.text
    assert parameter in reply.text and allowed in reply.text


async def test_min_n_below_one_is_400(api):
    reply = await api.get("/api/v1/scores", params={"questionnaire": "post-call", "period": "2026-05", "min_n": "0"},
                          headers={"Authorization": f"Bearer {KEY}"})
    assert reply.status_code == 400
    assert "min_n" in reply.text


async def test_the_scores_endpoint_is_in_the_openapi_schema(api):
    schema = (await api.get("/schema/openapi.json")).json()
    assert "/api/v1/scores" in schema["paths"]
    assert "ScoreReport" in str(schema["components"]["schemas"])
