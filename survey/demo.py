"""``survey demo``: a fresh SQLite database with a year of realistic data, then the server.

Seeds the organisation, the service catalogue, the bundled questionnaires, one staff user per
role, and twelve months of simulated contacts and responses (:mod:`survey.simulation`); then
prints where to click. The bulk rows go through one ``sqlite3`` connection in one transaction
(``executemany``): Piccolo's per-row objects would take minutes for ~600,000 answers.

Example::

    run_demo(serve=False, responses=3_000, seed=1, host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from piccolo.columns import Column
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from questionnaires import to_storage
from survey.settings import Settings, get_settings
from survey.simulation import VN_TZ, DemoFindings, Simulation, findings, simulate
from survey.tables import Answer, Contact, Counter, FollowUp, QuestionnaireVersion, Response, Service, Unit

__all__ = ["DemoResult", "DemoUser", "build_demo", "run_demo"]

# (role, username, unit, display name): a second unit manager shows that managers see only their own units
DEMO_USERS: tuple[tuple[str, str, str, str], ...] = (
    ("admin", "admin", "VN", "Quản trị hệ thống"),
    ("quality", "chatluong", "VN", "Tổ quản lý chất lượng"),
    ("leader", "lanhdao", "VN", "Lãnh đạo Trung tâm"),
    ("unit_manager", "badinh", "HN-BD", "Giám đốc BHXH quận Ba Đình"),
    ("unit_manager", "quan1", "HCM-Q1", "Giám đốc BHXH Quận 1"),
)
DEMO_COUNTER = "HN-BD-Q1"
WRITE_CHUNK = 20_000
_WORDS = ("sen", "mai", "dao", "lua", "song", "bien", "trang", "gio", "nang", "may", "tre", "cau", "hoa", "nui",
          "sao", "la", "com", "che", "ca", "ban")


@dataclass(frozen=True)
class DemoUser:
    role: str
    username: str
    password: str
    unit_code: str
    display_name: str


@dataclass(frozen=True)
class DemoResult:
    """What :func:`build_demo` made, for the summary printed at the end."""

    database: Path
    counts: dict[str, int]
    users: tuple[DemoUser, ...]
    links: tuple[tuple[str, str], ...]  # (what, url)
    counter_url: str
    login_url: str
    findings: DemoFindings
    seconds: float
    api_key: str = ""  # a key of the 'switchboard' source, to post contact events
    base_url: str = ""


class _Stages:
    """A progress bar per stage (or nothing, when no ``Progress`` is given)."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def add(self, name: str, description: str, total: float) -> None:
        if self.progress is not None:
            self.tasks[name] = self.progress.add_task(description, total=total)

    def advance(self, name: str, amount: float = 1) -> None:
        if self.progress is not None:
            self.progress.advance(self.tasks[name], amount)


def _demo_settings(host: str, port: int) -> Settings:
    """The settings, with links pointing at the demo server; refuses anything but SQLite."""
    if "SURVEY_BASE_URL" not in os.environ:
        shown_host = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104 (only compared)
        os.environ["SURVEY_BASE_URL"] = f"http://{shown_host}:{port}"
        get_settings.cache_clear()
    settings = get_settings()
    if not settings.database.is_sqlite:
        raise click.ClickException(
            "survey demo builds a fresh SQLite database and would not touch PostgreSQL: unset "
            "SURVEY_DATABASE_URL (or set it to sqlite:///path) to run the demo"
        )
    return settings


def _readable_password() -> str:
    words = [secrets.choice(_WORDS) for _ in range(3)]
    return f"{words[0]}-{words[1]}-{secrets.randbelow(10_000):04d}-{words[2]}"


def _timestamp(value: datetime | None) -> str | None:
    # the text Piccolo writes for a Timestamptz on SQLite: '2026-01-02 03:04:05.000678+00:00'
    return None if value is None else value.astimezone(UTC).isoformat(sep=" ")


def _insert(connection: sqlite3.Connection, columns: Sequence[Column], rows: Iterable[tuple[Any, ...]],
            stages: _Stages, stage: str) -> int:
    """Insert ``rows`` (values in the order of ``columns``) in chunks; returns the number of rows."""
    table = columns[0]._meta.table._meta.tablename
    names = ", ".join(f'"{c._meta.db_column_name}"' for c in columns)
    sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" for _ in columns)})'  # noqa: S608 (our names)
    count = 0
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == WRITE_CHUNK:
            connection.executemany(sql, chunk)
            count += len(chunk)
            stages.advance(stage, len(chunk))
            chunk = []
    if chunk:
        connection.executemany(sql, chunk)
        count += len(chunk)
        stages.advance(stage, len(chunk))
    return count


def _ids(connection: sqlite3.Connection, table: type[Any], key: Column) -> dict[str, int]:
    sql = f'SELECT "id", "{key._meta.db_column_name}" FROM "{table._meta.tablename}"'  # noqa: S608 (our names)
    return {code: row_id for row_id, code in connection.execute(sql)}


def _max_id(connection: sqlite3.Connection, table: type[Any]) -> int:
    sql = f'SELECT max("id") FROM "{table._meta.tablename}"'  # noqa: S608 (our names)
    return int(connection.execute(sql).fetchone()[0] or 0)


def _write_simulation(path: Path, sim: Simulation, stages: _Stages) -> dict[str, int]:
    """Write contacts, responses, answers and follow-up cases in one transaction; ids are assigned here."""
    from questionnaires import load_bundled

    bundled = load_bundled()
    questions = {key: {x.id: x for x in q.questions} for key, q in bundled.items()}
    with contextlib.closing(sqlite3.connect(path, timeout=30.0, isolation_level=None)) as connection:
        connection.execute("PRAGMA foreign_keys = ON")
        units = _ids(connection, Unit, Unit.code)
        services = _ids(connection, Service, Service.code)
        counters = _ids(connection, Counter, Counter.code)
        versions = _ids(connection, QuestionnaireVersion, QuestionnaireVersion.key)
        first_contact = 1 + _max_id(connection, Contact)
        first_response = 1 + _max_id(connection, Response)
        counters_of = {None: None, **counters}
        services_of = {None: None, **services}
        decision = json.dumps({"eligible": True, "source": "demo"})

        def contact_rows() -> Iterator[tuple[Any, ...]]:
            for index, c in enumerate(sim.contacts):
                at = _timestamp(c.occurred_at)
                yield (first_contact + index, c.source, c.external_id, f"{c.source}:{c.external_id}", c.channel,
                       units[c.unit_code], services_of[c.service_code], counters_of[c.counter_code], c.agent, at,
                       c.language, decision, at)

        def response_rows() -> Iterator[tuple[Any, ...]]:
            for index, r in enumerate(sim.responses):
                yield (first_response + index, versions[r.questionnaire_key], units[r.unit_code],
                       services_of[r.service_code], counters_of[r.counter_code], r.channel, r.language, r.trust,
                       r.status, r.page, _timestamp(r.started_at), _timestamp(r.submitted_at))

        def answer_rows() -> Iterator[tuple[Any, ...]]:
            for index, r in enumerate(sim.responses):
                asked = questions[r.questionnaire_key]
                for question_id, value in r.answers.items():
                    number, text = to_storage(asked[question_id], value)
                    yield (first_response + index, question_id, number, text)

        def follow_up_rows() -> Iterator[tuple[Any, ...]]:
            for f in sim.follow_ups:
                yield (first_response + f.response, units[f.unit_code], json.dumps(list(f.reasons)), f.status,
                       _timestamp(f.due_at), json.dumps(list(f.notes), ensure_ascii=False),
                       _timestamp(f.created_at), _timestamp(f.closed_at))

        counts: dict[str, int] = {}
        connection.execute("BEGIN IMMEDIATE")
        try:
            counts["contacts"] = _insert(connection, [
                Contact.id, Contact.source, Contact.external_id, Contact.source_key, Contact.channel, Contact.unit,
                Contact.service, Contact.counter, Contact.agent, Contact.occurred_at, Contact.language,
                Contact.decision, Contact.created_at], contact_rows(), stages, "write")
            counts["responses"] = _insert(connection, [
                Response.id, Response.questionnaire, Response.unit, Response.service, Response.counter,
                Response.channel, Response.language, Response.trust, Response.status, Response.page,
                Response.started_at, Response.submitted_at], response_rows(), stages, "write")
            counts["answers"] = _insert(connection, [
                Answer.response, Answer.question_id, Answer.value_number, Answer.value_text],
                answer_rows(), stages, "write")
            counts["follow_ups"] = _insert(connection, [
                FollowUp.response, FollowUp.unit, FollowUp.reasons, FollowUp.status, FollowUp.due_at,
                FollowUp.notes, FollowUp.created_at, FollowUp.closed_at], follow_up_rows(), stages, "write")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("ANALYZE")  # fresh statistics, so the dashboards' queries pick their indexes
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # fold the big write into the file, not a 60 MB WAL
    return counts


async def _fresh_database(settings: Settings) -> None:
    from survey.db import bind, create_engine, migrate

    path = settings.database.sqlite_path
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    bind(create_engine(settings.database))
    with contextlib.redirect_stdout(io.StringIO()):  # the migration runner prints its own chatter
        await migrate()


async def _demo_mailboxes() -> None:
    """Every unit a mailbox at an example domain (the demo's messages go to the sandbox, shown at /staff/sandbox)."""
    from survey.db import run_sql

    await run_sql("UPDATE unit SET email = LOWER(code) || '@bhxh.example.vn' WHERE email IS NULL")


async def build_demo(settings: Settings, *, responses: int, seed: int, progress: Progress | None = None,
                     today: date | None = None) -> DemoResult:
    """Build the demo database at ``settings.database.sqlite_path`` (deleted first) and return what was made."""
    from survey.reference import seed_reference
    from survey.services.accounts import create_user
    from survey.services.invitations import LinkSpec, create_links, survey_url
    from survey.services.questionnaires import publish_bundled

    started = time.perf_counter()
    stages = _Stages(progress)
    stages.add("database", "Database, organisation, questionnaires", 3)
    stages.add("simulate", f"Simulating 12 months, {responses:,} responses", 1)
    stages.add("write", "Writing contacts, responses, answers", 1)
    stages.add("count", "Counting the scores' cells", responses)
    stages.add("users", "Staff users", len(DEMO_USERS))
    stages.add("links", "Live survey links", 1)

    await _fresh_database(settings)
    stages.advance("database")
    await seed_reference()
    await _demo_mailboxes()
    stages.advance("database")
    await publish_bundled()
    stages.advance("database")

    sim = await asyncio.to_thread(simulate, responses=responses, seed=seed, today=today)
    stages.advance("simulate")
    if progress is not None:
        total = len(sim.contacts) + len(sim.responses) + sum(len(r.answers) for r in sim.responses)
        progress.update(stages.tasks["write"], total=total + len(sim.follow_ups))
        progress.update(stages.tasks["count"], total=sum(1 for r in sim.responses if r.status == "complete"))
    path = settings.database.sqlite_path
    counts = await asyncio.to_thread(_write_simulation, path, sim, stages)
    from survey.services.aggregates import rebuild

    # the bulk write bypasses the write paths: count the scores' kept cells from it (the volumes' triggers ran)
    await rebuild(volumes=False, progress=lambda n: stages.advance("count", n))

    users: list[DemoUser] = []
    for role, username, unit_code, display_name in DEMO_USERS:
        password = _readable_password()
        await create_user(username=username, password=password, role=role, unit_code=unit_code,
                          display_name=display_name)
        users.append(DemoUser(role, username, password, unit_code, display_name))
        stages.advance("users")

    specs = [
        LinkSpec(questionnaire_key="post-call", unit_code="HN", service_code="HOTLINE", channel="link"),
        LinkSpec(questionnaire_key="counter", unit_code="HN-BD", service_code="SIB", channel="ticket", trust="ticket",
                 counter_code=DEMO_COUNTER),
        LinkSpec(questionnaire_key="online-service", unit_code="HN", service_code="VSSID", channel="link"),
    ]
    tokens = await create_links(specs)
    from survey.services.apikeys import create_api_key

    api_key, _ = await create_api_key("switchboard")
    # leadership's quarterly report, from the last closed quarter: the worker makes and mails it (to the sandbox)
    from survey.services.reports.schedules import add_schedule

    day = today or datetime.now(VN_TZ).date()
    year, quarter = (day.year, (day.month - 1) // 3) if day.month > 3 else (day.year - 1, 4)
    await add_schedule("Báo cáo quý cho lãnh đạo Trung tâm", None, kind="leadership", frequency="quarterly",
                       recipients=["lanhdao@baohiemxahoi.example"], first_period=f"{year}-Q{quarter}")
    stages.advance("links")
    labels = ("After a hotline call (post-call)", "Counter ticket at BHXH quận Ba Đình", "Online service / VssID")
    base_url = settings.base_url
    return DemoResult(
        database=path,
        counts={**counts, "users": len(users)},
        users=tuple(users),
        links=tuple((label, survey_url(token)) for label, token in zip(labels, tokens, strict=True)),
        counter_url=f"{base_url}/q/{DEMO_COUNTER}",
        login_url=f"{base_url}/staff/login",
        findings=findings(sim),
        seconds=time.perf_counter() - started,
        api_key=api_key,
        base_url=base_url,
    )


def _what_to_look_for(f: DemoFindings) -> str:
    tet = f"{f.tet_month:%m/%Y}" if f.tet_month else "the Tết month"
    return (
        f"[bold]What to look for.[/bold] At the counters, [bold]{f.worse_unit}[/bold] ({_unit_name(f.worse_unit)}) is "
        f"clearly "
        f"worse: {f.worse_unit_share:.0%} satisfied overall against {f.other_units_share:.0%} elsewhere, and only "
        f"{f.worse_unit_servant_share:.0%} on the civil servant's manner ({f.other_units_servant_share:.0%} "
        f"elsewhere); its comments speak of rude, unhelpful officers. The [bold]{f.improving_service}[/bold] service "
        f"improves over the year: {f.first_quarter_share:.0%} satisfied in the first quarter, "
        f"{f.last_quarter_share:.0%} in the last (login errors give way to praise for the new version). Around "
        f"[bold]Tết[/bold] ({tet}) satisfaction dips to {f.tet_month_share:.0%} (other months "
        f"{f.other_months_share:.0%}), with waiting time the main complaint. Mondays are a little worse."
    )


def _unit_name(code: str) -> str:
    from survey.reference import PROVINCES

    names = {p.code: p.name_vi for p in PROVINCES} | {c: name for p in PROVINCES for c, name, _ in p.districts}
    return names.get(code, code)


def _print_summary(console: Console, result: DemoResult) -> None:
    counts = ", ".join(f"{value:,} {name.replace('_', '-')}" for name, value in result.counts.items())
    console.print(f"[green]Demo database ready[/green] in {result.seconds:.1f} s: {result.database}\n{counts}")

    links = Table(show_header=False, box=None, pad_edge=False)
    for label, url in result.links:
        links.add_row(label, f"[link={url}]{url}[/link]")
    links.add_row("Counter page (QR below)", result.counter_url)
    console.print(Panel(links, title="Survey links (each works once)", expand=False))

    qr_text = _qr_ascii(result.counter_url)
    console.print(f"QR code of counter {DEMO_COUNTER} ({result.counter_url}):")
    console.print(qr_text, markup=False, highlight=False, soft_wrap=True)

    users = Table(title=f"Staff login: {result.login_url}", title_justify="left")
    for column in ("role", "username", "password", "sees"):
        users.add_column(column)
    for user in result.users:
        users.add_row(user.role, user.username, user.password, f"{user.unit_code}: {user.display_name}")
    console.print(users)
    console.print(Panel(_what_to_look_for(result.findings), expand=False))
    if result.api_key:
        command, explanation = _contact_event_help(result)
        console.print("[bold]Follow a contact event to an answered survey.[/bold] Post a hotline call as the "
                      "switchboard would (the API key was made for the demo):")
        # printed bare, on one line, so it can be copied and pasted
        console.print(command, markup=False, highlight=False, soft_wrap=True)
        console.print(explanation)


def _contact_event_help(result: DemoResult) -> tuple[str, str]:
    """A curl command that posts a hotline call as the switchboard would, and where its SMS shows up."""
    occurred = (datetime.now(UTC) - timedelta(minutes=15)).replace(microsecond=0).isoformat()
    event = {"source": "switchboard", "external_id": f"demo-call-{secrets.randbelow(10**6)}", "channel": "call",
             "unit": "HN", "service": "HOTLINE", "occurred_at": occurred, "phone": "0912 345 678",
             "language": "vi"}
    command = (f"curl -s -X POST {result.base_url}/api/v1/contacts -H 'Authorization: Bearer {result.api_key}' "
               f"-H 'Content-Type: application/json' -d '{json.dumps(event, ensure_ascii=False)}'")
    return command, (
        "The reply says what the delivery rules decided. The SMS goes to the sandbox (no provider is configured): "
        f"sign in and open {result.base_url}/staff/sandbox, then click its link. Quiet hours apply "
        "(20:00-08:00 Asia/Ho_Chi_Minh, SURVEY_QUIET_HOURS): at night the message waits for the morning, and the "
        "same person is not surveyed twice within 30 days, so change the phone number to try again."
    )


def _qr_ascii(url: str) -> str:
    import qrcode

    qr = qrcode.QRCode(border=1)
    qr.add_data(url)
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    return out.getvalue()


def run_demo(serve: bool, responses: int, seed: int, host: str, port: int) -> None:
    """Build a fresh demo database, print where to click, then serve on ``host:port`` unless ``serve`` is false."""
    if responses < 1:
        raise click.BadParameter("must be at least 1", param_hint="--responses")
    settings = _demo_settings(host, port)
    console = Console()
    columns = (TextColumn("{task.description:<42}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        result = asyncio.run(build_demo(settings, responses=responses, seed=seed, progress=progress,
                                        today=datetime.now(VN_TZ).date()))
    _print_summary(console, result)
    if not serve:
        return
    import uvicorn

    console.print(f"Serving on http://{host}:{port} (Ctrl+C to stop)")
    uvicorn.run("survey.app:create_app", factory=True, host=host, port=port, log_level="info", proxy_headers=False)
