"""Personal data at rest: after a demo-like run (the demo seeded, contact events posted, invitations and reminders
sent to the sandbox), no phone number, email address or live link token can be read from the SQLite file or its
WAL; the sandbox page shows recipients masked, and links only to administrators; job payloads keep no contact
details or tokens in clear."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import fields, is_dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.support.sandbox import sandbox_messages
from tests.support.staff import sign_in_as

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from test_outbox_worker import daytime, sandbox_delivery, worker_for  # noqa: E402

PHONE = re.compile(r"^\+?[\d .-]{9,15}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
TOKEN = re.compile(r"/[so]/([0-9A-Za-z]{10,})")


@pytest.fixture
def demo_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The demo's SQLite file in a temporary directory; the previous engine and settings come back afterwards."""
    from survey.db import bind, engine
    from survey.settings import get_settings

    previous = engine()
    path = tmp_path / "demo.sqlite3"
    monkeypatch.setenv("SURVEY_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    try:
        yield path
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        bind(previous)


def _contact_details(value: object) -> Iterator[str]:
    """Every string in a simulated record that looks like a phone number or an email address."""
    if is_dataclass(value) and not isinstance(value, type):
        for field in fields(value):
            yield from _contact_details(getattr(value, field.name))
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _contact_details(item)
    elif isinstance(value, str) and (PHONE.match(value) or EMAIL.match(value)):
        yield value


def _spellings(detail: str) -> set[str]:
    """The ways a phone number or email can be written down: as posted, E.164, national, its last nine digits."""
    if "@" in detail:
        return {detail, detail.lower()}
    digits = re.sub(r"\D", "", detail)
    national = digits[2:] if digits.startswith("84") else digits.lstrip("0")
    return {detail, f"+84{national}", f"0{national}", national}


def _read(*paths: Path) -> dict[str, bytes]:
    """The bytes of each file, by name."""
    return {path.name: path.read_bytes() for path in paths}


def _demo_event(api_help: str) -> dict:
    """The contact event the demo prints as its curl example."""
    return json.loads(api_help.split(" -d '", 1)[1].rstrip("'"))


async def test_no_contact_detail_or_link_token_of_a_demo_run_is_readable_in_the_database_file_or_its_wal(
        demo_database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from litestar.testing import AsyncTestClient

    import survey.demo as demo
    from survey.app import create_app
    from survey.db import run_sql
    from survey.settings import get_settings
    from survey.tables import Job, Respondent

    simulations = []
    simulate = demo.simulate

    def captured(*args: object, **kwargs: object) -> object:
        simulations.append(simulate(*args, **kwargs))  # type: ignore[arg-type]
        return simulations[-1]

    monkeypatch.setattr(demo, "simulate", captured)
    result = await demo.build_demo(get_settings(), responses=300, seed=11, today=date(2026, 11, 23))

    # the people's details, in clear, before anything stores them: the demo's own and the contacts posted below
    details = {detail for sim in simulations for detail in _contact_details(sim.contacts)}
    command, _ = demo._contact_event_help(result)
    events = [_demo_event(command)]
    events += [{**events[0], "external_id": f"call-{i}", "phone": f"09{i}8 765 43{i}"} for i in range(4)]
    events += [{**events[0], "external_id": f"mail-{i}", "phone": None, "channel": "email",
                "email": f"Nguoi.Dan{i}@Example.vn"} for i in range(3)]
    for event in events:
        event["occurred_at"] = (daytime() - timedelta(minutes=30)).isoformat()
        details.update(value for value in (event.get("phone"), event.get("email")) if value)
    assert len(details) >= 8

    app = create_app(replace(get_settings(), worker_in_process=False))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        for event in events:
            reply = await client.post("/api/v1/contacts", json={k: v for k, v in event.items() if v is not None},
                                      headers={"authorization": f"Bearer {result.api_key}"})
            assert reply.status_code in (200, 201), reply.text
        await run_sql("UPDATE job SET due_at = {}", daytime() - timedelta(seconds=1))
        clock = [daytime()]
        worker = worker_for(sandbox_delivery(clock=lambda: clock[0]))
        sent = await worker.run_once()
        assert sent == len(events)
        clock[0] += timedelta(hours=49)  # the reminders, with the same links
        assert await worker.run_once() == len(events)

        # what was sent is all there, readable through the keys
        messages = await sandbox_messages()
        assert len(messages) == 2 * len(events)
        tokens = {token for m in messages for token in TOKEN.findall(m["body_text"])}
        tokens |= {url.rsplit("/", 1)[1] for _, url in result.links}
        assert len(tokens) >= len(events) + 3
        assert await Respondent.count() == len(events)

        # the sandbox page: masked recipients for everyone, links for administrators only; each view audited
        await sign_in_as(client, "admin", "VN", username="quantri")
        admin_page = (await client.get("/staff/sandbox")).text
        await sign_in_as(client, "unit_manager", "HN", username="hanoi")
        manager_page = (await client.get("/staff/sandbox")).text
        for page in (admin_page, manager_page):
            assert "+84 91* *** 678" in page and "n***@example.vn" in page
        assert any(f"/s/{token}" in admin_page for token in tokens)
        assert not any(token in manager_page for token in tokens) and "/s/••••••" in manager_page
        views = await run_sql("SELECT actor_label, detail FROM audit_event WHERE action = 'sandbox_viewed' ORDER BY id")
        shown = [json.loads(v["detail"]) if isinstance(v["detail"], str) else v["detail"] for v in views]
        assert [(v["actor_label"], d["links_shown"], d["messages"]) for v, d in zip(views, shown, strict=True)] == [
            ("quantri", True, 2 * len(events)), ("hanoi", False, 2 * len(events))]

        # job payloads: ids, and the link token sealed
        for job in await Job.select(Job.payload):
            payload = job["payload"] if isinstance(job["payload"], str) else json.dumps(job["payload"])
            assert not any(token in payload for token in tokens), payload
            assert not any(spelling in payload for d in details for spelling in _spellings(d)), payload

        # read while the connections are open: closing the last one would fold the WAL into the file and delete it
        stored = _read(demo_database, demo_database.with_name(demo_database.name + "-wal"))
        assert stored[f"{demo_database.name}-wal"]  # the run's writes are (also) in the WAL: it is searched as it is
        # the search sees what is kept in clear: the units' mailboxes (the organisation's, not a person's)
        assert any(b"hn-bd@bhxh.example.vn" in data for data in stored.values())
        for name, data in stored.items():
            for detail in details:
                for spelling in _spellings(detail):
                    assert spelling.encode() not in data, f"{spelling!r} readable in {name}"
            for token in tokens:
                assert token.encode() not in data, f"link token {token!r} readable in {name}"


async def test_a_twilio_status_queued_for_later_keeps_no_phone_number(reference: str) -> None:
    """A status callback that finds no invitation yet is queued as a job: with its message id and status only."""
    from litestar.testing import AsyncTestClient
    from twilio.request_validator import RequestValidator

    from survey.app import create_app
    from survey.settings import get_settings
    from survey.tables import Job

    token = "t" * 32
    settings = replace(get_settings(), worker_in_process=False, twilio_account_sid="AC" + "0" * 32,
                       twilio_auth_token=token, twilio_from="+15005550006")
    params = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered", "To": "+84912345678",
              "From": "+15005550006", "AccountSid": settings.twilio_account_sid, "ApiVersion": "2010-04-01"}
    url = "http://testserver.local/webhooks/twilio/status"
    signature = RequestValidator(token).compute_signature(url, params)
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as client:
        answer = await client.post("/webhooks/twilio/status", data=params, headers={"X-Twilio-Signature": signature})
        assert answer.status_code == 204
        for _ in range(200):  # the update runs after the answer: wait for its job
            if await Job.count():
                break
            await asyncio.sleep(0.02)
    [job] = await Job.select(Job.kind, Job.payload)
    payload = job["payload"] if isinstance(job["payload"], dict) else json.loads(job["payload"])
    assert job["kind"] == "twilio_status"
    assert payload == {"params": {"MessageSid": params["MessageSid"], "MessageStatus": "delivered"}}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def unmigrated(request: pytest.FixtureRequest, tmp_path: Path, engines: dict[str, object]) -> AsyncIterator[str]:
    """An empty database of each kind, nothing migrated yet (a scratch database on the PostgreSQL server)."""
    from urllib.parse import urlparse, urlunparse

    import asyncpg

    from survey.db import bind, create_engine, engine
    from survey.settings import DatabaseSettings

    previous = engine()
    scratch = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    else:
        server = urlparse(os.environ["SURVEY_TEST_POSTGRES_URL"])
        scratch = f"upgrade_{os.getpid()}_{id(tmp_path) % 100_000}"
        admin = await asyncpg.connect(urlunparse(server._replace(path="/postgres")))
        try:
            await admin.execute(f"CREATE DATABASE {scratch}")
        finally:
            await admin.close()
        url = urlunparse(server._replace(path=f"/{scratch}"))
    db = create_engine(DatabaseSettings(url=url))
    bind(db)
    try:
        yield request.param
    finally:
        bind(previous)
        if scratch is not None:
            admin = await asyncpg.connect(urlunparse(server._replace(path="/postgres")))
            try:
                await admin.execute(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)")
            finally:
                await admin.close()


async def test_the_migration_encrypts_the_sandbox_rows_kept_in_clear(unmigrated: str, tmp_path: Path) -> None:
    """An install upgraded with clear sandbox rows: they are encrypted, the clear columns gone (on SQLite, the
    clear text gone from the file too)."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from survey.crypto import cipher
    from survey.db import engine, migrate, run_sql

    migrations = sorted(p.stem for p in (Path(ROOT) / "survey" / "piccolo_migrations").glob("survey_*.py"))
    before = migrations[migrations.index("survey_2026_12_04t19_10_00_000000") - 1]
    date_part, time_part = before.removeprefix("survey_").split("t")
    previous_id = f"{date_part.replace('_', '-')}T{time_part[:8].replace('_', ':')}:{time_part[9:]}"
    assert (await run_forwards("survey", migration_id=previous_id)).success

    link = "http://testserver.local/s/Ab12Cd34Ef56Gh"
    await run_sql(
        "INSERT INTO sandbox_message (channel, to_address, subject, body_text, body_html, encoding, segments, "
        "provider_message_id, created_at) VALUES ('sms', '+84987654321', NULL, {}, NULL, 'gsm7', 1, 'SB1', {}), "
        "('email', 'Hoa.Tran@example.vn', 'Khảo sát', {}, {}, NULL, 1, 'SB2', {})",
        f"BHXH VN: {link}", daytime(), f"Moi: {link}x", f"<a href='{link}x'>link</a>", daytime())
    path = tmp_path / "old.sqlite3"
    if unmigrated == "sqlite":
        await run_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # as on a running install: the clear rows are in the file
        assert b"Hoa.Tran@example.vn" in _read(path)[path.name]
    await migrate()

    messages = await sandbox_messages()
    assert [(m["to_address"], m["to_masked"], m["body_text"], m["body_html"]) for m in messages] == [
        ("+84987654321", "+84 98* *** 321", f"BHXH VN: {link}", None),
        ("Hoa.Tran@example.vn", "H***@example.vn", f"Moi: {link}x", f"<a href='{link}x'>link</a>")]
    assert [m["to_hmac"] for m in messages] == [cipher().lookup_key("+84987654321"),
                                                cipher().lookup_key("hoa.tran@example.vn")]
    [stored] = await run_sql("SELECT * FROM sandbox_message WHERE id = {}", messages[0]["id"])
    assert not {"to_address", "body_text", "body_html"} & set(stored)  # the clear columns are gone
    if unmigrated == "sqlite":
        await engine().close_pool()  # the last connection folds the WAL into the file
        data = _read(path)[path.name]
        for clear in (b"+84987654321", b"987654321", b"Hoa.Tran@example.vn", b"Ab12Cd34Ef56Gh"):
            assert clear not in data, clear
