"""Each group's free-text comments: how many respondents left one (counted with the answers), and the newest few,
read for the groups that quote them through an index, contact details masked, quoted only from groups of at least
``min_n_comments`` respondents (and never below ``min_n``); the masking is
:func:`survey.crypto.mask_contact_details`, re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from questionnaires.model import CHANNELS
from survey.crypto import mask_contact_details
from survey.db import is_sqlite, marks, run_sql
from survey.services.extract import Comment, ResponseScope, extract_comments
from survey.services.scores.context import Context
from survey.services.scores.contract import CommentExcerpt, CommentsResult

if TYPE_CHECKING:
    from survey.services.scores.assessment import ScoreAssessment

__all__ = ["LATEST_COMMENTS", "CommentFilter", "group_comments", "mask_contact_details", "newest_commented"]

LATEST_COMMENTS = 3  # comments quoted per group
@dataclass(frozen=True)
class CommentFilter:
    """Which responses one group's comments come from, besides the request's scope: some units (``None``: the
    whole scope), a service (0: none), a channel and a time window."""

    unit_ids: tuple[int, ...] | None = None
    service_id: int | None = None
    channel: str | None = None
    start: datetime | None = None
    end: datetime | None = None


async def newest_commented(scope: ResponseScope, filters: Sequence[CommentFilter], limit: int, *,
                           expected: Sequence[int] | None = None) -> list[list[int]]:
    """Per filter: the ids of the newest ``limit`` responses in ``scope`` that left a comment, newest first;
    ``expected[k]``: how many of filter ``k``'s responses left one, when known (the counted comments: a filter
    with none is not read).

    A response that left a comment (a non-empty answer to a text question of its questionnaire's latest version)
    is marked ``response.commented`` when it is counted (:mod:`survey.services.aggregates`), and a
    partial index holds the commented responses by (unit, submitted_at): each filter reads its newest ``limit``
    straight from it. On PostgreSQL the one-unit filters go in one statement planned once (the filters as arrays
    joined LATERAL to a bounded scan each; a UNION ALL of hundreds of subqueries takes seconds to plan)."""
    found: list[list[int]] = [[] for _ in filters]
    need = [limit if expected is None else min(limit, int(expected[k])) for k in range(len(filters))]
    active = [k for k in range(len(filters)) if need[k] > 0]
    postgres = not is_sqlite()
    one_unit = [k for k in active if postgres and filters[k].unit_ids is not None and len(filters[k].unit_ids) == 1]
    chosen = set(one_unit)
    rest = [k for k in active if k not in chosen]
    statements = [_lateral_sql(scope, [(k, filters[k], need[k]) for k in one_unit])] if one_unit else []
    per = FILTERS_PER_QUERY_POSTGRES if postgres else FILTERS_PER_QUERY
    for first in range(0, len(rest), per):
        parts, args = [], []
        for k in rest[first:first + per]:
            sql, part_args = _newest_sql(scope, filters[k], need[k], k)
            parts.append(sql)
            args.extend(part_args)
        statements.append((" UNION ALL ".join(parts), args))
    for sql, args in statements:
        for row in await run_sql(sql, *args):
            found[int(row["k"])].append(int(row["id"]))
    return found


FILTERS_PER_QUERY = 400  # groups per statement: well under SQLite's 32,766 parameters
FILTERS_PER_QUERY_POSTGRES = 25  # PostgreSQL plans a long UNION ALL in more than linear time


def _lateral_sql(scope: ResponseScope, wanted: Sequence[tuple[int, CommentFilter, int]]) -> tuple[str, list[Any]]:
    """PostgreSQL: the newest commented responses of many one-unit filters in one statement planned once."""
    columns: list[list[Any]] = [[], [], [], [], [], [], []]
    for k, f, need in wanted:
        assert f.unit_ids is not None
        values = (k, f.unit_ids[0], max(scope.start, f.start or scope.start), min(scope.end, f.end or scope.end),
                  f.service_id, f.channel, need)
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    args: list[Any] = [*columns, scope.questionnaire]
    where = ""
    for column, value in (("service", scope.service_id), ("channel", scope.channel)):
        if value is not None:
            where += f" AND r.{column} = {{}}"
            args.append(value)
    sql = ("SELECT f.k AS k, p.id AS id FROM unnest({}::int[], {}::int[], {}::timestamptz[], "  # noqa: S608
           "{}::timestamptz[], {}::int[], {}::text[], {}::int[]) AS f(k, unit, lo, hi, service, channel, need) "
           "CROSS JOIN LATERAL (SELECT r.id FROM response r WHERE r.commented = 1 AND r.unit = f.unit "
           "AND r.submitted_at >= f.lo AND r.submitted_at < f.hi AND r.status = 'complete' AND r.questionnaire IN "
           f"(SELECT qv.id FROM questionnaire_version qv WHERE qv.key = {{}}){where} "
           "AND (f.service IS NULL OR (f.service = 0 AND r.service IS NULL) OR r.service = f.service) "
           "AND (f.channel IS NULL OR r.channel = f.channel) "
           "ORDER BY r.submitted_at DESC, r.id DESC LIMIT f.need) AS p")
    return sql, args


def _newest_sql(scope: ResponseScope, f: CommentFilter, need: int, k: int) -> tuple[str, list[Any]]:
    args: list[Any] = [scope.questionnaire, max(scope.start, f.start or scope.start),
                       min(scope.end, f.end or scope.end)]
    where = ""
    if f.unit_ids is not None:
        where += f" AND r.unit IN ({marks(len(f.unit_ids))})"
        args.extend(f.unit_ids)
    else:
        where += " AND r.unit IN (SELECT u.id FROM unit u WHERE u.path LIKE {} ESCAPE '\\')"
        args.append(scope.unit_path_pattern)
    for column, value in (("service", scope.service_id), ("channel", scope.channel)):
        if value is not None:
            where += f" AND r.{column} = {{}}"
            args.append(value)
    if f.service_id is not None:
        if f.service_id == 0:
            where += " AND r.service IS NULL"
        else:
            where += " AND r.service = {}"
            args.append(f.service_id)
    if f.channel is not None:
        where += " AND r.channel = {}"
        args.append(f.channel)
    args.append(need)
    sql = (f"SELECT * FROM (SELECT {int(k)} AS k, r.id AS id FROM response r "  # noqa: S608 - placeholders only
           "WHERE r.commented = 1 AND r.questionnaire IN (SELECT qv.id FROM questionnaire_version qv "
           f"WHERE qv.key = {{}}) AND r.status = 'complete' AND r.submitted_at >= {{}} AND r.submitted_at < {{}}"
           f"{where} ORDER BY r.submitted_at DESC, r.id DESC LIMIT {{}}) AS newest{k}")
    return sql, args


def _filters(assessment: ScoreAssessment, context: Context, wanted: Sequence[int]) -> list[CommentFilter]:
    """The filter of each wanted group: its unit (or the subtree of its subunit), service, channel and month."""
    by, units = context.by, context.units
    zone = ZoneInfo(context.timezone)
    filters = []
    for k in wanted:
        key = dict(zip(by, assessment.grouping.keys[k].tolist(), strict=True))
        unit_ids = None
        if "unit" in key:
            unit_ids = (int(key["unit"]),)
        elif "subunit" in key:
            subunit = int(key["subunit"])
            unit_ids = (subunit,) if subunit == context.scope_unit else tuple(sorted(units.subtree(subunit)))
        start = end = None
        if "month" in key:
            month = int(key["month"])
            start = datetime(month // 12, month % 12 + 1, 1, tzinfo=zone)
            end = datetime((month + 1) // 12, (month + 1) % 12 + 1, 1, tzinfo=zone)
        filters.append(CommentFilter(unit_ids, key.get("service"), CHANNELS[int(key["channel"])]
                                     if "channel" in key and int(key["channel"]) >= 0 else None, start, end))
    return filters


async def group_comments(assessment: ScoreAssessment, scope: ResponseScope, question_ids: list[str],
                         context: Context) -> list[CommentsResult]:
    """Per group: how many respondents left a comment (from the counts), and the newest :data:`LATEST_COMMENTS`
    where the group is big enough to quote (read for those groups alone)."""
    rule, units = context.rule, context.units
    counts, commented = assessment.counts.tolist(), assessment.commented.tolist()
    # a group below min_n shows nothing but its n, comments included, whatever min_n_comments says
    reasons = [rule.reason(n) or rule.comments_reason(n) for n in counts]
    wanted = [k for k, reason in enumerate(reasons) if reason is None and commented[k] > 0]
    picked = await newest_commented(scope, _filters(assessment, context, wanted), LATEST_COMMENTS,
                                    expected=[commented[k] for k in wanted]) if wanted else []
    newest = dict(zip(wanted, picked, strict=True))
    ids = sorted({rid for picked in newest.values() for rid in picked})
    texts = await extract_comments(scope, question_ids, response_ids=ids) if ids else []
    by_response: dict[int, list[Comment]] = {}
    for comment in texts:
        by_response.setdefault(comment.response_id, []).append(comment)
    zone = ZoneInfo(context.timezone)
    results = []
    for k, reason in enumerate(reasons):
        latest = [] if reason is not None else [
            CommentExcerpt(comment.question_id, mask_contact_details(comment.text or ""),
                           comment.submitted_at.astimezone(zone).isoformat(timespec="minutes"),
                           units.code.get(comment.unit_id))
            for rid in newest.get(k, ()) for comment in by_response.get(rid, [])]
        results.append(CommentsResult(commented[k], reason is not None, reason, latest))
    return results
