"""Delivered invitations and contacts counted per month, kept by the database itself.

A response rate divides the responses by the invitations delivered; a weighted score weighs the sample to the
contact volumes. Both are counts of rows that outnumber the responses (every call is a contact), so they are kept
per local month × unit × service × channel (× questionnaire version for invitations) in ``invitation_cell`` and
``contact_cell``, by triggers on ``invitation`` and ``contact``: every write path, present or future, counts in
its own transaction, including an invitation whose status moves in or out of delivered (delivered, opened,
responded) and a row deleted. The triggers find a row's local month in ``local_month``, the months of 2000–2100
in the configured timezone (:func:`install`); if the timezone setting changes, the counts are read from the raw
rows until :func:`recount` has run (``survey aggregates rebuild``).

A period is read from the kept months it holds whole and from the raw rows of the days it cuts from a month.

>>> [month_label(m) for m in whole_months(date(2026, 4, 11), date(2026, 7, 1))]
['2026-05', '2026-06']
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from questionnaires.model import CHANNELS
from survey.db import aware, is_sqlite, run_sql
from survey.services.extract import month_codes, subtree_pattern

__all__ = ["DELIVERED_STATUSES", "contact_volumes", "delivered_invitations", "install", "kept_timezone",
           "raw_volume_rows", "recount", "whole_months"]

DELIVERED_STATUSES = ("delivered", "opened", "responded")
FIRST_MONTH, LAST_MONTH = 2000 * 12, 2101 * 12  # the months local_month holds: 2000-01 to 2100-12
_CHANNEL_CODE = {name: i for i, name in enumerate(CHANNELS)}
_DELIVERED = "({row}.status IN ('delivered', 'opened', 'responded'))"
_MONTH = ("COALESCE((SELECT m.month FROM local_month m WHERE {row}.{column} >= m.starts AND {row}.{column} < m.ends), "
          "-1)")


def whole_months(start: date, end: date) -> range:
    """The month codes of the months that lie whole within the days ``[start, end)``."""
    first = start.year * 12 + start.month - 1 + (0 if start.day == 1 else 1)
    return range(first, end.year * 12 + end.month - 1)


def _month_start(code: int, zone: ZoneInfo) -> datetime:
    return datetime(code // 12, code % 12 + 1, 1, tzinfo=zone).astimezone(UTC)


def _tables_sql(sqlite: bool) -> list[str]:
    key = "INTEGER PRIMARY KEY" if sqlite else "SERIAL PRIMARY KEY"
    stamp = "TEXT" if sqlite else "TIMESTAMPTZ"
    return [
        f"CREATE TABLE IF NOT EXISTS local_month (month INTEGER PRIMARY KEY, starts {stamp} NOT NULL, "
        f"ends {stamp} NOT NULL, timezone VARCHAR(64) NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS invitation_cell (id {key}, questionnaire INTEGER NOT NULL, "
        "month INTEGER NOT NULL, unit INTEGER NOT NULL, service INTEGER NOT NULL, channel VARCHAR(16) NOT NULL, "
        "delivered INTEGER NOT NULL)",
        "CREATE UNIQUE INDEX IF NOT EXISTS invitation_cell_key ON invitation_cell "
        "(questionnaire, month, unit, service, channel)",
        f"CREATE TABLE IF NOT EXISTS contact_cell (id {key}, month INTEGER NOT NULL, unit INTEGER NOT NULL, "
        "service INTEGER NOT NULL, channel VARCHAR(16) NOT NULL, contacts INTEGER NOT NULL)",
        "CREATE UNIQUE INDEX IF NOT EXISTS contact_cell_key ON contact_cell (month, unit, service, channel)",
    ]


def _invitation_upsert(row: str, delta: str) -> str:
    channel = f"COALESCE((SELECT c.channel FROM contact c WHERE c.id = {row}.contact), '')"  # noqa: S608
    # the SQL of a trigger: column names and row aliases from this module, no values
    return ("INSERT INTO invitation_cell (questionnaire, month, unit, service, channel, delivered) VALUES "  # noqa: S608
            f"({row}.questionnaire, {_MONTH.format(row=row, column='created_at')}, {row}.unit, "  # noqa: S608
            f"COALESCE({row}.service, 0), {channel}, {delta}) ON CONFLICT (questionnaire, month, unit, service, "
            "channel) DO UPDATE SET delivered = invitation_cell.delivered + excluded.delivered")


def _contact_upsert(row: str, delta: str) -> str:
    return ("INSERT INTO contact_cell (month, unit, service, channel, contacts) VALUES "  # noqa: S608
            f"({_MONTH.format(row=row, column='occurred_at')}, {row}.unit, COALESCE({row}.service, 0), "  # noqa: S608
            f"{row}.channel, {delta}) ON CONFLICT (month, unit, service, channel) DO UPDATE SET "
            "contacts = contact_cell.contacts + excluded.contacts")


def _sqlite_triggers() -> list[str]:
    delivered_new, delivered_old = _DELIVERED.format(row="NEW"), _DELIVERED.format(row="OLD")
    moved = "OLD.questionnaire IS NOT NEW.questionnaire OR OLD.unit IS NOT NEW.unit OR OLD.service IS NOT " \
            "NEW.service OR OLD.created_at IS NOT NEW.created_at OR OLD.contact IS NOT NEW.contact"
    contact_moved = "OLD.unit IS NOT NEW.unit OR OLD.service IS NOT NEW.service OR OLD.channel IS NOT " \
                    "NEW.channel OR OLD.occurred_at IS NOT NEW.occurred_at"
    trigger = "CREATE TRIGGER IF NOT EXISTS"
    invitation_update = "AFTER UPDATE OF status, questionnaire, unit, service, created_at, contact ON invitation"
    return [
        f"{trigger} invitation_cell_insert AFTER INSERT ON invitation WHEN {delivered_new} "
        f"BEGIN {_invitation_upsert('NEW', '1')}; END",
        f"{trigger} invitation_cell_delete AFTER DELETE ON invitation WHEN {delivered_old} "
        f"BEGIN {_invitation_upsert('OLD', '-1')}; END",
        f"{trigger} invitation_cell_update_old {invitation_update} WHEN {delivered_old} AND "
        f"(NOT {delivered_new} OR {moved}) BEGIN {_invitation_upsert('OLD', '-1')}; END",
        f"{trigger} invitation_cell_update_new {invitation_update} WHEN {delivered_new} AND "
        f"(NOT {delivered_old} OR {moved}) BEGIN {_invitation_upsert('NEW', '1')}; END",
        f"{trigger} contact_cell_insert AFTER INSERT ON contact BEGIN {_contact_upsert('NEW', '1')}; END",
        f"{trigger} contact_cell_delete AFTER DELETE ON contact BEGIN {_contact_upsert('OLD', '-1')}; END",
        f"{trigger} contact_cell_update AFTER UPDATE OF unit, service, channel, occurred_at ON contact "
        f"WHEN {contact_moved} BEGIN {_contact_upsert('OLD', '-1')}; {_contact_upsert('NEW', '1')}; END",
    ]


def _postgres_triggers() -> list[str]:
    delivered_new, delivered_old = _DELIVERED.format(row="NEW"), _DELIVERED.format(row="OLD")
    return [
        "CREATE OR REPLACE FUNCTION invitation_cell_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP IN ('UPDATE', 'DELETE') AND {delivered_old} THEN {_invitation_upsert('OLD', '-1')}; END IF; "
        f"IF TG_OP IN ('INSERT', 'UPDATE') AND {delivered_new} THEN {_invitation_upsert('NEW', '1')}; END IF; "
        "RETURN NULL; END $$",
        "DROP TRIGGER IF EXISTS invitation_cell_count ON invitation",
        "CREATE TRIGGER invitation_cell_count AFTER INSERT OR DELETE OR UPDATE OF status, questionnaire, unit, "
        "service, created_at, contact ON invitation FOR EACH ROW EXECUTE FUNCTION invitation_cell_count()",
        "CREATE OR REPLACE FUNCTION contact_cell_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {_contact_upsert('OLD', '-1')}; END IF; "
        f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {_contact_upsert('NEW', '1')}; END IF; RETURN NULL; END $$",
        "DROP TRIGGER IF EXISTS contact_cell_count ON contact",
        "CREATE TRIGGER contact_cell_count AFTER INSERT OR DELETE OR UPDATE OF unit, service, channel, occurred_at "
        "ON contact FOR EACH ROW EXECUTE FUNCTION contact_cell_count()",
    ]


async def install(timezone: str) -> None:
    """Create the kept counts, their triggers and the months of ``timezone`` (idempotent), then count the rows
    already there (run by the migration, inside its transaction)."""
    sqlite = is_sqlite()
    for statement in [*_tables_sql(sqlite), *(_sqlite_triggers() if sqlite else _postgres_triggers())]:
        await run_sql(statement)
    await recount(timezone)


async def recount(timezone: str) -> None:
    """The months of ``timezone`` and the counts recounted from the raw rows (call it in a transaction)."""
    zone = ZoneInfo(timezone)
    await run_sql("DELETE FROM local_month")
    starts = [_month_start(m, zone) for m in range(FIRST_MONTH, LAST_MONTH + 1)]
    for first in range(0, LAST_MONTH - FIRST_MONTH, 200):
        rows = range(first, min(first + 200, LAST_MONTH - FIRST_MONTH))
        values = ", ".join("({}, {}, {}, {})" for _ in rows)
        await run_sql(f"INSERT INTO local_month (month, starts, ends, timezone) VALUES {values}",  # noqa: S608
                      *[v for i in rows for v in (FIRST_MONTH + i, starts[i], starts[i + 1], timezone)])
    await run_sql("DELETE FROM invitation_cell")
    await run_sql("DELETE FROM contact_cell")
    month_i = _MONTH.format(row="i", column="created_at")
    await run_sql(
        "INSERT INTO invitation_cell (questionnaire, month, unit, service, channel, delivered) "  # noqa: S608
        f"SELECT i.questionnaire, {month_i}, i.unit, COALESCE(i.service, 0), COALESCE(c.channel, ''), COUNT(*) "
        "FROM invitation i LEFT JOIN contact c ON c.id = i.contact WHERE i.status IN ('delivered', 'opened', "
        f"'responded') GROUP BY i.questionnaire, {month_i}, i.unit, COALESCE(i.service, 0), COALESCE(c.channel, '')")
    month_c = _MONTH.format(row="c", column="occurred_at")
    await run_sql(
        "INSERT INTO contact_cell (month, unit, service, channel, contacts) "  # noqa: S608
        f"SELECT {month_c}, c.unit, COALESCE(c.service, 0), c.channel, COUNT(*) FROM contact c "
        f"GROUP BY {month_c}, c.unit, COALESCE(c.service, 0), c.channel")


def raw_volume_rows() -> list[tuple[str, str, str]]:
    """Per kept table: its name, the query of its kept counts and the query of the same counts from the raw rows
    (columns: the cell's keys, then the count), for ``survey aggregates verify``."""
    month_i = _MONTH.format(row="i", column="created_at")
    month_c = _MONTH.format(row="c", column="occurred_at")
    return [
        ("invitation_cell",
         "SELECT questionnaire, month, unit, service, channel, delivered FROM invitation_cell WHERE delivered <> 0",
         f"SELECT i.questionnaire, {month_i}, i.unit, COALESCE(i.service, 0), COALESCE(c.channel, ''), COUNT(*) "  # noqa: S608
         "FROM invitation i LEFT JOIN contact c ON c.id = i.contact WHERE i.status IN ('delivered', 'opened', "
         f"'responded') GROUP BY i.questionnaire, {month_i}, i.unit, COALESCE(i.service, 0), COALESCE(c.channel, '')"),
        ("contact_cell", "SELECT month, unit, service, channel, contacts FROM contact_cell WHERE contacts <> 0",
         f"SELECT {month_c}, c.unit, COALESCE(c.service, 0), c.channel, COUNT(*) FROM contact c "  # noqa: S608
         f"GROUP BY {month_c}, c.unit, COALESCE(c.service, 0), c.channel"),
    ]


async def kept_timezone() -> str | None:
    """The timezone the kept months were counted in (``None``: none kept)."""
    rows = await run_sql("SELECT timezone FROM local_month WHERE month = {}", FIRST_MONTH)
    return rows[0]["timezone"] if rows else None


def _filters(table: str, service_id: int | None, channel: str | None, args: list[Any]) -> str:
    where = ""
    if service_id is not None:
        args.append(service_id)
        where += f" AND {table}.service = {{}}"
    if channel is not None:
        args.append(channel)
        where += f" AND {table}.channel = {{}}"
    return where


def _rows(records: list[dict[str, Any]], columns: tuple[str, ...]) -> npt.NDArray[np.int64]:
    return np.array([[int(r[c]) for c in columns] for r in records], dtype=np.int64).reshape(-1, len(columns))


async def _spans(start: date, end: date, timezone: str) -> tuple[range, list[tuple[datetime, datetime]]]:
    """How the days ``[start, end)`` are read: the kept months they hold whole (none when the kept months are of
    another timezone), and the instants ``[low, high)`` left to read from the raw rows."""
    zone, months = ZoneInfo(timezone), whole_months(start, end)
    first, last = (datetime.combine(day, datetime.min.time(), zone) for day in (start, end))
    if not len(months) or await kept_timezone() != timezone:
        return range(0), [(first, last)] if first < last else []
    edges = [(first, _month_start(months.start, zone)), (_month_start(months.stop, zone), last)]
    return months, [(low, high) for low, high in edges if low < high]


async def delivered_invitations(key: str, start: date, end: date, path: str, service_id: int | None,
                                channel: str | None, timezone: str) -> npt.NDArray[np.int64]:
    """Delivered invitations (delivered, opened, responded) of questionnaire ``key`` in the days ``[start, end)``,
    as rows (unit, service, channel, month, count): the kept months, the cut days from the raw rows."""
    months, raw = await _spans(start, end, timezone)
    parts = []
    if len(months):
        args: list[Any] = [key, months.start, months.stop, subtree_pattern(path)]
        where = _filters("k", service_id, channel, args)
        rows = await run_sql(
            "SELECT k.unit AS unit, k.service AS service, k.channel AS channel, k.month AS month, "  # noqa: S608
            "SUM(k.delivered) AS n FROM invitation_cell k JOIN questionnaire_version qv ON qv.id = k.questionnaire "
            "JOIN unit u ON u.id = k.unit WHERE qv.key = {} AND k.month >= {} AND k.month < {} "
            f"AND u.path LIKE {{}} ESCAPE '\\'{where} GROUP BY k.unit, k.service, k.channel, k.month", *args)
        parts.append(_rows([{**r, "channel": _CHANNEL_CODE.get(r["channel"], -1)} for r in rows if r["n"]],
                           ("unit", "service", "channel", "month", "n")))
    for low, high in raw:
        parts.append(await _raw_invitations(key, low, high, path, service_id, channel, timezone))
    return np.concatenate(parts) if parts else np.zeros((0, 5), dtype=np.int64)


async def _raw_invitations(key: str, start: datetime, end: datetime, path: str, service_id: int | None,
                           channel: str | None, timezone: str) -> npt.NDArray[np.int64]:
    args: list[Any] = [key, *DELIVERED_STATUSES, start, end, subtree_pattern(path)]
    where = _filters("i", service_id, None, args)
    if channel is not None:
        args.append(channel)
        where += " AND c.channel = {}"
    sql = ("SELECT i.unit AS unit, COALESCE(i.service, 0) AS service, c.channel AS channel, i.created_at AS at "  # noqa: S608
           "FROM invitation i JOIN questionnaire_version qv ON qv.id = i.questionnaire JOIN unit u ON u.id = i.unit "
           "LEFT JOIN contact c ON c.id = i.contact "
           "WHERE qv.key = {} AND i.status IN ({}, {}, {}) AND i.created_at >= {} AND i.created_at < {} "
           "AND u.path LIKE {} ESCAPE '\\'" + where)
    rows = await run_sql(sql, *args)
    if not rows:
        return np.zeros((0, 5), dtype=np.int64)
    epoch = np.array([int(aware(r["at"]).timestamp()) for r in rows], dtype=np.int64)  # type: ignore[union-attr]
    return np.column_stack([
        np.array([r["unit"] for r in rows], dtype=np.int64),
        np.array([r["service"] for r in rows], dtype=np.int64),
        np.array([_CHANNEL_CODE.get(r["channel"], -1) for r in rows], dtype=np.int64),
        month_codes(epoch, timezone).astype(np.int64), np.ones(len(rows), dtype=np.int64)])


async def contact_volumes(start: date, end: date, path: str, service_id: int | None, channel: str | None,
                          timezone: str) -> npt.NDArray[np.int64]:
    """Contacts in the scope and the days ``[start, end)`` as rows (channel, service, count): the kept months, the
    cut days from the raw rows."""
    months, raw = await _spans(start, end, timezone)
    queries: list[tuple[str, list[Any]]] = []
    if len(months):
        args: list[Any] = [months.start, months.stop, subtree_pattern(path)]
        where = _filters("k", service_id, channel, args)
        queries.append(("SELECT k.channel AS channel, k.service AS service, SUM(k.contacts) AS n FROM contact_cell k "  # noqa: S608
                        "JOIN unit u ON u.id = k.unit WHERE k.month >= {} AND k.month < {} AND u.path LIKE {} "
                        f"ESCAPE '\\'{where} GROUP BY k.channel, k.service", args))
    for low, high in raw:
        args = [low, high, subtree_pattern(path)]
        where = _filters("c", service_id, channel, args)
        queries.append(("SELECT c.channel AS channel, COALESCE(c.service, 0) AS service, COUNT(*) AS n "  # noqa: S608
                        "FROM contact c JOIN unit u ON u.id = c.unit WHERE c.occurred_at >= {} AND c.occurred_at < {} "
                        f"AND u.path LIKE {{}} ESCAPE '\\'{where} GROUP BY c.channel, COALESCE(c.service, 0)", args))
    found: dict[tuple[str, int], int] = {}
    for sql, args in queries:
        for r in await run_sql(sql, *args):
            found[(r["channel"], int(r["service"]))] = found.get((r["channel"], int(r["service"])), 0) + int(r["n"])
    known = [(_CHANNEL_CODE[c], s, n) for (c, s), n in sorted(found.items()) if c in _CHANNEL_CODE and n]
    return np.array(known, dtype=np.int64).reshape(-1, 3)
