"""What scoring reads from the database besides the responses (:mod:`survey.services.extract`): the
organisation tree, the service codes, the published questionnaires, delivered invitations and contact volumes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from questionnaires.model import CHANNELS
from survey.db import aware, run_sql
from survey.services.extract import month_codes, subtree_pattern
from survey.services.scores.context import UnitTree
from survey.tables import QuestionnaireVersion, Service, Unit

__all__ = [
    "DELIVERED_STATUSES",
    "contact_volumes",
    "delivered_invitations",
    "published_questionnaires",
    "service_codes",
    "unit_tree",
]

DELIVERED_STATUSES = ("delivered", "opened", "responded")
_CHANNEL_CODE = {name: i for i, name in enumerate(CHANNELS)}


async def unit_tree() -> UnitTree:
    """Every unit's code, parent and path."""
    rows = await Unit.select(Unit.id, Unit.code, Unit.parent, Unit.path)
    return UnitTree(code={r["id"]: r["code"] for r in rows}, parent={r["id"]: r["parent"] or 0 for r in rows},
                    path={r["id"]: r["path"] for r in rows})


async def service_codes() -> dict[int, str]:
    """Every service's code by its id."""
    return {r["id"]: r["code"] for r in await Service.select(Service.id, Service.code)}


async def published_questionnaires() -> list[str]:
    """The keys of the published questionnaires, sorted."""
    return sorted({r["key"] for r in await QuestionnaireVersion.select(QuestionnaireVersion.key)})


def _scope_filter(table: str, service_id: int | None, channel: str | None, args: list[Any]) -> str:
    """The SQL limiting ``table``'s rows to a service and a channel (the contact's), adding their parameters."""
    where = ""
    if service_id is not None:
        args.append(service_id)
        where += f" AND {table}.service = {{}}"
    if channel is not None:
        args.append(channel)
        where += " AND c.channel = {}"
    return where


async def delivered_invitations(key: str, start: datetime, end: datetime, path: str, service_id: int | None,
                                channel: str | None, timezone: str) -> npt.NDArray[np.int64]:
    """Delivered invitations (delivered, opened, responded) as rows (unit, service, channel, month, count)."""
    args: list[Any] = [key, *DELIVERED_STATUSES, start, end, subtree_pattern(path)]
    sql = ("SELECT i.unit AS unit, COALESCE(i.service, 0) AS service, c.channel AS channel, i.created_at AS at "  # noqa: S608
           "FROM invitation i JOIN questionnaire_version qv ON qv.id = i.questionnaire JOIN unit u ON u.id = i.unit "
           "LEFT JOIN contact c ON c.id = i.contact "
           "WHERE qv.key = {} AND i.status IN ({}, {}, {}) AND i.created_at >= {} AND i.created_at < {} "
           "AND u.path LIKE {} ESCAPE '\\'" + _scope_filter("i", service_id, channel, args))
    rows = await run_sql(sql, *args)
    if not rows:
        return np.zeros((0, 5), dtype=np.int64)
    epoch = np.array([int(aware(r["at"]).timestamp()) for r in rows], dtype=np.int64)  # type: ignore[union-attr]
    return np.column_stack([
        np.array([r["unit"] for r in rows], dtype=np.int64),
        np.array([r["service"] for r in rows], dtype=np.int64),
        np.array([_CHANNEL_CODE.get(r["channel"], -1) for r in rows], dtype=np.int64),
        month_codes(epoch, timezone).astype(np.int64), np.ones(len(rows), dtype=np.int64)])


async def contact_volumes(start: datetime, end: datetime, path: str, service_id: int | None,
                          channel: str | None) -> npt.NDArray[np.int64]:
    """Contacts in the scope and period as rows (channel, service, count)."""
    args: list[Any] = [start, end, subtree_pattern(path)]
    sql = ("SELECT c.channel AS channel, COALESCE(c.service, 0) AS service, COUNT(*) AS n FROM contact c "  # noqa: S608
           "JOIN unit u ON u.id = c.unit WHERE c.occurred_at >= {} AND c.occurred_at < {} "
           "AND u.path LIKE {} ESCAPE '\\'" + _scope_filter("c", service_id, channel, args)
           + " GROUP BY c.channel, COALESCE(c.service, 0)")
    rows = await run_sql(sql, *args)
    known = [(_CHANNEL_CODE[r["channel"]], r["service"], r["n"]) for r in rows if r["channel"] in _CHANNEL_CODE]
    return np.array(known, dtype=np.int64).reshape(-1, 3)
