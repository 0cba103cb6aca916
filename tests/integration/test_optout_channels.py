"""Opting out: by the link in a message or on the survey page, by API, by staff (CLI), by Twilio's error."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner


async def _planned(external_id: str = "c-1", phone: str | None = "0912 345 678", email: str | None = None):
    """A call reported and planned; returns (outcome, invitation id)."""
    from survey.services.contacts import ContactEvent, accept_contacts
    from survey.tables import Invitation

    [outcome] = await accept_contacts([ContactEvent(
        source="switchboard", external_id=external_id, channel="call", unit="HN-BD", service="HOTLINE",
        occurred_at=datetime.now(UTC) - timedelta(minutes=1), phone=phone, email=email,
    )])
    assert outcome.outcome == "planned"
    [row] = await Invitation.select(Invitation.id).where(Invitation.contact == outcome.contact_id)
    return outcome, row["id"]


async def _sent_link(invitation_id: int) -> str:
    """What the sender does: a token for the invitation, its hash stored, the invitation sent."""
    from delivery.tokens import new_token, token_hash
    from survey.settings import get_settings
    from survey.tables import Invitation, Job

    token = new_token(12)
    await Invitation.update({Invitation.token_hash: token_hash(token, get_settings().secret_key),
                             Invitation.status: "sent"}).where(Invitation.id == invitation_id)
    await Job.update({Job.status: "done"}).where(Job.kind == "send_invitation")
    return token


async def _state(invitation_id: int) -> tuple[str, str | None, str]:
    from survey.tables import Invitation, Job

    [inv] = await Invitation.select(Invitation.status, Invitation.skip_reason).where(Invitation.id == invitation_id)
    jobs = await Job.select(Job.status, Job.payload)
    [job] = [j for j in jobs if (json.loads(j["payload"]) if isinstance(j["payload"], str)
                                 else j["payload"])["invitation_id"] == invitation_id]
    return inv["status"], inv["skip_reason"], job["status"]


async def _respondent() -> dict:
    from survey.tables import Respondent

    [row] = await Respondent.select(Respondent.opted_out_at, Respondent.opt_out_source)
    return row


async def test_the_link_shows_a_confirmation_and_only_the_post_opts_out(client):
    _, sent = await _planned("c-1")
    token = await _sent_link(sent)
    page = await client.get(f"/o/{token}")
    assert page.status_code == 200 and 'data-page="optout-confirm"' in page.text
    assert "Xác nhận ngừng nhận khảo sát" in page.text and f'action="/o/{token}"' in page.text
    assert (await _respondent())["opted_out_at"] is None  # a GET (a mail scanner) changes nothing
    done = await client.post(f"/o/{token}", data={"lang": "en", "from": "link"})
    assert done.status_code == 200 and 'data-page="optout-done"' in done.text and "Thank you" in done.text
    person = await _respondent()
    assert person["opted_out_at"] is not None and person["opt_out_source"] == "link"
    assert 'data-page="optout-done"' in (await client.get(f"/o/{token}")).text
    assert (await client.get("/o/NoSuchToken123")).status_code == 404


async def test_an_opt_out_skips_the_waiting_invitations_of_the_person_and_their_next_contacts(client):
    from survey.services.contacts import ContactEvent, accept_contacts
    from survey.services.respondents import opt_out_by_invitation

    _, invitation_id = await _planned("c-1", phone="0912 345 678", email="an@example.vn")
    assert await _state(invitation_id) == ("planned", None, "queued")
    assert await opt_out_by_invitation(invitation_id, "twilio")
    assert await _state(invitation_id) == ("skipped", "opted_out", "done")
    assert (await _respondent())["opt_out_source"] == "twilio"
    assert not await opt_out_by_invitation(invitation_id, "twilio")  # idempotent: Twilio retries
    [later] = await accept_contacts([ContactEvent(
        source="portal", external_id="p-1", channel="online", unit="HN-BD", email="AN@example.vn",
        occurred_at=datetime.now(UTC))])
    assert later.reason == "opted_out"
    decisions = await client.get("/api/v1/contacts/decisions", params={"from": "2000-01-01", "to": "2100-01-01"},
                                 headers={"authorization": f"Bearer {await _key('portal')}"})
    assert decisions.json()["skipped"] == {"cancelled:opted_out": 1, "opted_out": 1}


async def _key(source: str) -> str:
    from survey.services.apikeys import create_api_key

    return (await create_api_key(source))[0]


async def test_by_api_with_a_key_even_for_someone_never_contacted(client):
    key = await _key("portal")
    auth = {"authorization": f"Bearer {key}"}
    assert (await client.post("/api/v1/optouts", json={"phone": "0912 345 678"})).status_code == 401
    reply = await client.post("/api/v1/optouts", json={"phone": "+84 912 345 678"}, headers=auth)
    assert reply.status_code == 200 and reply.json() == {"opted_out": True, "already": False}
    assert (await client.post("/api/v1/optouts", json={"phone": "0912345678"}, headers=auth)).json()["already"]
    bad = await client.post("/api/v1/optouts", json={"phone": "12"}, headers=auth)
    assert bad.status_code == 422 and "12" in bad.json()["detail"]
    assert (await client.post("/api/v1/optouts", json={}, headers=auth)).status_code == 422
    person = await _respondent()
    assert person["opt_out_source"] == "api"
    from survey.services.contacts import ContactEvent, accept_contacts

    [first] = await accept_contacts([ContactEvent(source="switchboard", external_id="c-9", channel="call",
                                                  unit="HN-BD", phone="0912-345-678", occurred_at=datetime.now(UTC))])
    assert first.reason == "opted_out"


async def test_by_staff_on_the_command_line(reference):
    from survey.cli import main

    _, invitation_id = await _planned("c-1", email="an@example.vn")
    result = await asyncio.to_thread(CliRunner().invoke, main, ["optout", "--email", "An@Example.vn"])
    assert result.exit_code == 0, result.output
    assert "Opted out" in result.output
    assert await _state(invitation_id) == ("skipped", "opted_out", "done")
    again = await asyncio.to_thread(CliRunner().invoke, main, ["optout", "--phone", "0912345678"])
    assert "already" in again.output
    bad = await asyncio.to_thread(CliRunner().invoke, main, ["optout", "--phone", "12"])
    assert bad.exit_code == 2 and "--phone" in bad.output


async def test_api_keys_on_the_command_line(reference):
    from survey.cli import main

    created = await asyncio.to_thread(CliRunner().invoke, main, ["apikeys", "create", "--source", "switchboard",
                                                                    "--scope", "contacts"])
    assert created.exit_code == 0, created.output
    key = re.search(r"sk_\w{8}_\w{32}", created.output)[0]
    listed = await asyncio.to_thread(CliRunner().invoke, main, ["apikeys", "list"])
    prefix = key.split("_")[1]
    assert prefix in listed.output and "switchboard" in listed.output and key not in listed.output
    revoked = await asyncio.to_thread(CliRunner().invoke, main, ["apikeys", "revoke", prefix])
    assert revoked.exit_code == 0
    from survey.services.apikeys import authenticate

    assert await authenticate(key) is None
    bad = await asyncio.to_thread(CliRunner().invoke, main, ["apikeys", "create", "--source", "Bad Name",
                                                                "--scope", "contacts"])
    assert bad.exit_code == 2


async def test_the_survey_page_offers_to_stop_surveys(client):
    from survey.services.invitations import LinkSpec, create_links

    [token] = await create_links([LinkSpec(questionnaire_key="post-call", unit_code="HN", service_code="HOTLINE")])
    page = await client.get(f"/s/{token}")
    assert f'href="/o/{token}?from=survey"' in page.text
    assert "Không muốn nhận khảo sát nữa?" in page.text
    confirm = await client.get(f"/o/{token}?from=survey")
    assert confirm.status_code == 200
