"""API keys carry scopes (SQLite and PostgreSQL): ``survey apikeys create SOURCE --scope ...`` makes them, ``list``
shows them, each API route needs its own and answers 403 naming the one a key lacks; creating and revoking a key
from the command line is in the audit log, by "cli"."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

from click.testing import CliRunner

from survey.tables import ApiKey, AuditEvent

KEY = re.compile(r"sk_[0-9A-Za-z]{8}_[0-9A-Za-z]{32}")


async def cli(*args: str):
    from survey.cli import main

    # the CLI runs its own event loop: run it in a thread beside the test's loop
    return await asyncio.to_thread(CliRunner().invoke, main, ["apikeys", *args])


async def test_a_key_is_made_with_the_scopes_named_and_the_list_shows_them(reference):
    made = await cli("create", "queue", "--scope", "tickets", "--scope", "opt-outs")
    assert made.exit_code == 0, made.output
    assert KEY.search(made.output)
    listed = await cli("list")
    assert listed.exit_code == 0, listed.output
    [line] = [line for line in listed.output.splitlines() if " queue " in line]
    assert "tickets,opt-outs" in line and "contacts" not in line
    event = await AuditEvent.select(AuditEvent.actor_label, AuditEvent.actor, AuditEvent.object_id,
                                    AuditEvent.detail).where(AuditEvent.action == "apikey_created").first()
    prefix = line.split()[0]
    assert event["actor_label"] == "cli" and event["actor"] is None and event["object_id"] == prefix
    assert "tickets" in str(event["detail"])


async def test_a_key_needs_at_least_one_known_scope_and_nothing_is_written_without(reference):
    none = await cli("create", "queue")
    assert none.exit_code == 2 and "--scope" in none.output
    for allowed in ("contacts", "tickets", "opt-outs", "scores:read"):
        assert allowed in none.output
    unknown = await cli("create", "queue", "--scope", "scores")
    assert unknown.exit_code == 2 and "'scores'" in unknown.output and "scores:read" in unknown.output
    assert await ApiKey.count() == 0
    assert await AuditEvent.count().where(AuditEvent.action == "apikey_created") == 0


async def test_revoking_from_the_command_line_is_in_the_audit_log(reference):
    from survey.services.apikeys import create_api_key

    _, info = await create_api_key("portal", ["scores:read"])
    revoked = await cli("revoke", info.prefix)
    assert revoked.exit_code == 0, revoked.output
    event = await AuditEvent.select(AuditEvent.actor_label, AuditEvent.object_id).where(
        AuditEvent.action == "apikey_revoked").first()
    assert event == {"actor_label": "cli", "object_id": info.prefix}
    again = await cli("revoke", info.prefix)
    assert again.exit_code == 1 and info.prefix in again.output


async def test_each_route_needs_its_scope_and_the_refusal_names_it_and_writes_nothing(client):
    from survey.services.apikeys import create_api_key
    from survey.tables import Contact, Respondent

    key, _ = await create_api_key("switchboard", ["scores:read"])
    headers = {"authorization": f"Bearer {key}"}
    event = {"source": "switchboard", "external_id": "c-1", "channel": "call", "unit": "HN-BD",
             "service": "SIB", "occurred_at": "2026-05-04T09:00:00+07:00", "phone": "0912345678"}
    for path, body, scope in (("/api/v1/contacts", event, "contacts"),
                              ("/api/v1/tickets", {"counter": "HN-BD-Q1"}, "tickets"),
                              ("/api/v1/optouts", {"phone": "0912345678"}, "opt-outs")):
        refused = await client.post(path, json=body, headers=headers)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["scope"] == scope and scope in refused.json()["detail"]
    assert await Contact.count() == 0 and await Respondent.count() == 0

    contacts_only, _ = await create_api_key("switchboard", ["contacts"])
    for path, params in (("/api/v1/scores", {"questionnaire": "counter", "period": "2026"}),
                         ("/api/v1/contacts/decisions", {"from": "2026-01-01", "to": "2026-02-01"}),
                         ("/api/v1/follow-ups", {}), ("/api/v1/alerts", {})):
        refused = await client.get(path, params=params, headers={"authorization": f"Bearer {contacts_only}"})
        assert refused.status_code == 403 and refused.json()["scope"] == "scores:read", (path, refused.text)
        allowed = await client.get(path, params=params, headers=headers)
        assert allowed.status_code == 200, (path, allowed.text)
    accepted = await client.post("/api/v1/contacts", json=event, headers={"authorization": f"Bearer {contacts_only}"})
    assert accepted.status_code == 201, accepted.text


async def test_the_openapi_document_describes_the_refusal_of_a_missing_scope(client):
    document = (await client.get("/schema/openapi.json")).json()
    for path, method in (("/api/v1/contacts", "post"), ("/api/v1/tickets", "post"), ("/api/v1/optouts", "post"),
                         ("/api/v1/scores", "get"), ("/api/v1/contacts/decisions", "get"),
                         ("/api/v1/follow-ups", "get"), ("/api/v1/alerts", "get")):
        described = document["paths"][path][method]["responses"]
        assert "403" in described and "scope" in described["403"]["description"], path
    body = document["components"]["schemas"]["ProblemBody"]
    assert "scope" in body["properties"]


async def test_a_key_stored_without_scopes_has_all_four(reference):
    """As the migration gave the keys made before scopes existed: the column's default."""
    from survey.db import run_sql
    from survey.services.apikeys import list_api_keys

    await run_sql("INSERT INTO api_key (source, prefix, key_hash, created_at) VALUES ('old', 'OldKey01', {}, {})",
                  "0" * 64, datetime.now(UTC))
    [old] = await list_api_keys()
    assert old.scopes == ("contacts", "tickets", "opt-outs", "scores:read")
