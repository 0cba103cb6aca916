"""Delivered invitations and contacts are counted per local month by the database, in the transaction that writes
them: the counts read for a period equal a count of the raw rows, whatever happened to the rows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from questionnaires.model import CHANNELS
from survey.db import run_sql, write_transaction
from survey.services.scores.volumes import (
    _raw_invitations,
    contact_volumes,
    delivered_invitations,
    kept_timezone,
    recount,
)
from survey.settings import get_settings
from survey.tables import Contact, Invitation, QuestionnaireVersion, Service, Unit

# 2026-04-30 17:30 UTC is 1 May 00:30 in Hanoi: a local month's first minutes
MAY_FIRST_LOCAL = datetime(2026, 4, 30, 17, 30, tzinfo=UTC)
APRIL_LAST_LOCAL = datetime(2026, 4, 30, 16, 30, tzinfo=UTC)


async def ids() -> tuple[dict[str, int], dict[str, int], int]:
    units = {r["code"]: r["id"] for r in await Unit.select(Unit.id, Unit.code)}
    services = {r["code"]: r["id"] for r in await Service.select(Service.id, Service.code)}
    version = (await QuestionnaireVersion.select(QuestionnaireVersion.id).where(
        QuestionnaireVersion.key == "post-call").first())["id"]
    return units, services, version


@pytest.fixture
async def rows(reference):
    """Contacts and their invitations in April and May 2026 (some at the local month's edge), moved through the
    statuses a delivery goes through, one deleted."""
    units, services, version = await ids()
    rng = np.random.default_rng(5)
    contacts = []
    for i in range(240):
        when = [MAY_FIRST_LOCAL, APRIL_LAST_LOCAL, datetime(2026, 5, 20, 3, tzinfo=UTC),
                datetime(2026, 4, 10, 3, tzinfo=UTC), datetime(2026, 6, 3, 3, tzinfo=UTC)][i % 5]
        unit = ("HN-BD", "HN-CG", "HCM-TD")[int(rng.integers(3))]
        contacts.append(Contact(source="test", external_id=str(i), source_key=f"test:{i}",
                                channel=("call", "counter")[i % 2], unit=units[unit],
                                service=None if i % 7 == 0 else services[("HOTLINE", "HIC")[i % 3 == 0]],
                                occurred_at=when))
    await Contact.insert(*contacts)
    stored = await Contact.select(Contact.id, Contact.unit, Contact.service, Contact.occurred_at)
    invitations = [Invitation(contact=c["id"], questionnaire=version, channel="sms", unit=c["unit"],
                              service=c["service"], status="planned", created_at=c["occurred_at"]) for c in stored]
    await Invitation.insert(*invitations)
    invitation_ids = [r["id"] for r in await Invitation.select(Invitation.id).order_by(Invitation.id)]
    for k, status in enumerate(("sent", "delivered", "opened", "responded", "failed", "expired")):
        chosen = invitation_ids[k::4]
        await run_sql(f"UPDATE invitation SET status = {{}} WHERE id IN ({', '.join(['{}'] * len(chosen))})",
                      status, *chosen)
    # one contact moves to another unit, one invitation and one contact are deleted
    await run_sql("UPDATE contact SET unit = {} WHERE id = {}", units["HN-DD"], stored[3]["id"])
    await run_sql("DELETE FROM invitation WHERE id = {}", invitation_ids[1])
    await run_sql("DELETE FROM invitation WHERE contact = {}", stored[8]["id"])
    await run_sql("DELETE FROM contact WHERE id = {}", stored[8]["id"])
    return reference


def local(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), ZoneInfo(get_settings().timezone))


async def raw_delivered(start: date, end: date) -> dict[tuple[int, int, int, int], int]:
    """The delivered invitations of the days counted from the invitation rows themselves."""
    rows = await _raw_invitations("post-call", local(start), local(end), "/", None, None, get_settings().timezone)
    return totals(rows)


def totals(rows: np.ndarray) -> dict[tuple[int, int, int, int], int]:
    out: dict[tuple[int, int, int, int], int] = {}
    for unit, service, channel, month, n in rows.tolist():
        out[(unit, service, channel, month)] = out.get((unit, service, channel, month), 0) + n
    return {k: v for k, v in out.items() if v}


@pytest.mark.parametrize(("start", "end"), [(date(2026, 4, 1), date(2026, 7, 1)), (date(2026, 5, 1), date(2026, 6, 1)),
                                            (date(2026, 4, 15), date(2026, 6, 10))])
async def test_kept_delivered_invitations_equal_the_raw_count(rows, start, end):
    timezone = get_settings().timezone
    assert await kept_timezone() == timezone
    kept = totals(await delivered_invitations("post-call", start, end, "/", None, None, timezone))
    assert kept == await raw_delivered(start, end)
    assert sum(kept.values()) > 30  # the comparison covers many invitations
    may = totals(await delivered_invitations("post-call", date(2026, 5, 1), date(2026, 6, 1), "/", None, None,
                                             timezone))
    assert {month for (_, _, _, month) in may} == {2026 * 12 + 4}  # the 00:30 of 1 May counts in May


async def test_kept_contacts_equal_the_raw_count_and_a_recount_mends_them(rows):
    timezone = get_settings().timezone
    for start, end in [(date(2026, 4, 1), date(2026, 7, 1)), (date(2026, 5, 1), date(2026, 6, 1))]:
        kept = await contact_volumes(start, end, "/VN/", None, None, timezone)
        by_hand = await run_sql(
            "SELECT channel, COALESCE(service, 0) AS service, COUNT(*) AS n FROM contact WHERE occurred_at >= {} "
            "AND occurred_at < {} GROUP BY channel, COALESCE(service, 0)", local(start), local(end))
        expected = sorted((CHANNELS.index(r["channel"]), r["service"], r["n"]) for r in by_hand)
        assert sorted(map(tuple, kept.tolist())) == expected
    may_before = await contact_volumes(date(2026, 5, 1), date(2026, 6, 1), "/VN/", None, None, timezone)
    await run_sql("UPDATE contact_cell SET contacts = contacts + 5")  # tampered
    assert not np.array_equal(await contact_volumes(date(2026, 5, 1), date(2026, 6, 1), "/VN/", None, None,
                                                    timezone), may_before)
    async with write_transaction():
        await recount(timezone)
    assert np.array_equal(await contact_volumes(date(2026, 5, 1), date(2026, 6, 1), "/VN/", None, None, timezone),
                          may_before)


async def test_another_timezone_reads_the_raw_rows(rows):
    # the kept months are Hanoi's; asked in UTC, the 00:30 of 1 May (local) is 30 April
    utc = totals(await delivered_invitations("post-call", date(2026, 5, 1), date(2026, 6, 1), "/", None, None, "UTC"))
    local = totals(await delivered_invitations("post-call", date(2026, 5, 1), date(2026, 6, 1), "/", None, None,
                                               get_settings().timezone))
    assert sum(utc.values()) != sum(local.values())
    assert {month for (_, _, _, month) in utc} == {2026 * 12 + 4}
