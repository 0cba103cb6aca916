"""Schemathesis over ``/schema/openapi.json`` (SQLite and PostgreSQL): generated requests, valid and invalid, to
every documented operation, once with an integrator's API key and once with a staff session. No answer is a
server error, and every answer is documented: its status code, its content type and its body's schema.

The requests go through the app's own test client (one event loop with the database fixtures); Hypothesis
draws the cases first, a bounded number per operation and mode, with a fixed seed so a run repeats.
"""

from __future__ import annotations

import contextlib
import json
import re
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from survey.services.accounts import create_user
from survey.services.apikeys import create_api_key

EXAMPLES = 6  # per operation and generation mode: enough to reach every refusal, small enough for two databases
TIME_BOUND_SECONDS = 120
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def document() -> dict:
    """The OpenAPI document the app serves."""
    from survey.app import create_app

    return json.loads(json.dumps(create_app().openapi_schema.to_schema()))


@pytest.fixture(scope="module")
def cases(document: dict) -> list:
    """Every documented operation's generated cases, valid and invalid (drawn once for both databases)."""
    schema = schemathesis.openapi.from_dict(document)
    cases: list = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @seed(8)
            @settings(max_examples=EXAMPLES, database=None, deadline=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def collect(case) -> None:
                cases.append(case)

            with contextlib.suppress(Unsatisfiable):  # nothing to make invalid (no parameters, no body)
                collect()
    return cases


def _request(case, headers: dict[str, str]) -> dict:
    """The case as the test client's keyword arguments."""
    sent = case.as_transport_kwargs(base_url="http://testserver.local", headers=headers)
    request = {key: sent[key] for key in ("method", "url", "headers", "params", "cookies") if sent.get(key)}
    if "json" in sent:
        request["json"] = sent["json"]
    elif isinstance(sent.get("data"), (bytes, str)):
        request["content"] = sent["data"]
    elif sent.get("data") is not None:
        request["data"] = sent["data"]
    return request


async def _run(client, document: dict, cases: list, headers: dict[str, str]) -> list[str]:
    assert (await client.get("/schema/openapi.json")).json() == document
    failures: list[str] = []
    started = time.monotonic()
    for case in cases:
        if time.monotonic() - started > TIME_BOUND_SECONDS:
            break
        request = _request(case, headers)
        response = await client.request(**request)
        try:
            case.validate_response(response, checks=CHECKS, headers=request.get("headers"))
        except FailureGroup as failure:
            failures.append(f"{request['method']} {request['url']}: {response.status_code} {failure}"[:600])
    return failures


async def test_an_integrator_meets_only_documented_answers(client, document, cases):
    key, _ = await create_api_key("switchboard")
    assert await _run(client, document, cases, {"authorization": f"Bearer {key}"}) == []


async def test_a_member_of_staff_meets_only_documented_answers(client, document, cases):
    await create_user(username="lan.nt", password=PASSWORD, role="quality", unit_code="HN",
                      display_name="Nguyễn Thị Lan")
    page = await client.get("/staff/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    signed_in = await client.post("/staff/login", data={"username": "lan.nt", "password": PASSWORD,
                                                        "_csrf_token": token}, follow_redirects=False)
    assert signed_in.status_code == 303
    assert await _run(client, document, cases, {}) == []

