"""Each group's free-text comments: how many respondents left one (counted with the answers), and the newest few,
read for the groups that quote them through an index, contact details masked, quoted only from groups of at least
``min_n_comments`` respondents (and never below ``min_n``).

>>> mask_contact_details("Gọi tôi 0912 345 678 hoặc an.nguyen@example.vn, cảm ơn")
'Gọi tôi […] hoặc […], cảm ơn'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from questionnaires.model import CHANNELS
from survey.db import is_sqlite, marks, run_sql
from survey.services.extract import Comment, ResponseScope, extract_comments
from survey.services.scores.context import Context
from survey.services.scores.contract import CommentExcerpt, CommentsResult

if TYPE_CHECKING:
    from survey.services.scores.assessment import ScoreAssessment

__all__ = ["LATEST_COMMENTS", "CommentFilter", "group_comments", "mask_contact_details", "newest_commented"]

LATEST_COMMENTS = 3  # comments quoted per group
_PHONE = re.compile(r"(?<![\w])\+?\d[\d .\-]{6,}\d")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(\.[\w\-]+)+")


def mask_contact_details(text: str) -> str:
    """A comment as a report may quote it: phone numbers and e-mail addresses replaced by ``[…]``."""
    return _EMAIL.sub("[…]", _PHONE.sub("[…]", text))


@dataclass(frozen=True)
class CommentFilter:
    """Which responses one group's comments come from, besides the request's scope: some units (``None``: the
    whole scope), a service (0: none), a channel and a time window."""

    unit_ids: tuple[int, ...] | None = None
    service_id: int | None = None
    channel: str | None = None
    start: datetime | None = None
    end: datetime | None = None


async def newest_commented(scope: ResponseScope, question_ids: Sequence[str], filters: Sequence[CommentFilter],
                           limit: int, *, expected: Sequence[int] | None = None) -> list[list[int]]:
    """Per filter: the ids of the newest ``limit`` responses in ``scope`` that left a comment (an answer to one of
    ``question_ids``), newest first; ``expected[k]``: how many of filter ``k``'s responses left one, when known (the
    counted comments), so that the search stops once it has them all.

    Each filter reads its newest responses a page at a time down the index on (unit, submitted_at), with no
    condition on the answers: with one, a database has to guess how many rows pass it and may scan the whole
    period instead of stopping early. Which of the page's responses left a comment is then looked up by id, in
    order, down the answers' index. A filter that has not found its ``limit`` reads on from where it stopped,
    pages growing fourfold; with one respondent in five commenting, the first page of :data:`FIRST_PAGE` nearly
    always suffices."""
    found: list[list[int]] = [[] for _ in filters]
    need = [limit if expected is None else min(limit, int(expected[k])) for k in range(len(filters))]
    after: list[tuple[Any, int] | None] = [None] * len(filters)
    active, page = [k for k in range(len(filters)) if need[k] > 0], FIRST_PAGE
    while active:
        candidates: dict[int, list[int]] = {k: [] for k in active}
        last: dict[int, tuple[Any, int]] = {}
        postgres = not is_sqlite()
        one_unit = [k for k in active if postgres and filters[k].unit_ids is not None and len(filters[k].unit_ids) == 1]
        rest = [k for k in active if k not in set(one_unit)]
        statements = [_lateral_sql(scope, [(k, filters[k], after[k]) for k in one_unit], page)] if one_unit else []
        per = FILTERS_PER_QUERY if not postgres else FILTERS_PER_QUERY_POSTGRES
        for first in range(0, len(rest), per):
            parts, args = [], []
            for k in rest[first:first + per]:
                sql, part_args = _newest_sql(scope, filters[k], page, k, after[k])
                parts.append(sql)
                args.extend(part_args)
            statements.append((" UNION ALL ".join(parts), args))
        for sql, args in statements:
            for row in await run_sql(sql, *args):
                k = int(row["k"])
                candidates[k].append(int(row["id"]))
                last[k] = (row["submitted_at"], int(row["id"]))
        commented = await _commented({i for ids in candidates.values() for i in ids}, question_ids)
        still = []
        for k in active:
            found[k].extend(i for i in candidates[k] if i in commented)
            del found[k][need[k]:]
            if len(found[k]) < need[k] and len(candidates[k]) == page:
                after[k] = last[k]
                still.append(k)
        active, page = still, page * 4
    return found


FILTERS_PER_QUERY = 400  # groups per statement: well under SQLite's 32,766 parameters
FILTERS_PER_QUERY_POSTGRES = 25  # PostgreSQL plans a long UNION ALL in more than linear time
FIRST_PAGE = 24  # responses a group reads first when looking for its newest comments
IDS_PER_QUERY = 5000  # parameters a statement: well under both databases' limits


async def _commented(response_ids: set[int], question_ids: Sequence[str]) -> set[int]:
    """Which of the responses left a comment (a non-empty answer to one of ``question_ids``)."""
    ids, out = sorted(response_ids), set()
    for first in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[first:first + IDS_PER_QUERY]
        rows = await run_sql(
            "SELECT DISTINCT a.response AS id FROM answer a "  # noqa: S608 - placeholders only
            f"WHERE a.response IN ({marks(len(chunk))}) AND a.question_id IN ({marks(len(question_ids))}) "
            "AND a.value_text IS NOT NULL AND a.value_text <> ''", *chunk, *question_ids)
        out.update(int(r["id"]) for r in rows)
    return out


def _lateral_sql(scope: ResponseScope, wanted: Sequence[tuple[int, CommentFilter, tuple[Any, int] | None]],
                 page: int) -> tuple[str, list[Any]]:
    """PostgreSQL: the newest ``page`` responses of many one-unit filters in one statement planned once, the
    filters as arrays joined LATERAL to a bounded scan each (a UNION ALL of hundreds of subqueries takes seconds
    to plan)."""
    columns: list[list[Any]] = [[], [], [], [], [], [], [], []]
    for k, f, after in wanted:
        assert f.unit_ids is not None
        values = (k, f.unit_ids[0], max(scope.start, f.start or scope.start), min(scope.end, f.end or scope.end),
                  f.service_id, f.channel, after[0] if after else None, after[1] if after else None)
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    args: list[Any] = [*columns, scope.questionnaire]
    where = ""
    for column, value in (("service", scope.service_id), ("channel", scope.channel)):
        if value is not None:
            where += f" AND r.{column} = {{}}"
            args.append(value)
    args.append(page)
    sql = ("SELECT f.k AS k, p.id AS id, p.submitted_at AS submitted_at FROM unnest({}::int[], {}::int[], "  # noqa: S608
           "{}::timestamptz[], {}::timestamptz[], {}::int[], {}::text[], {}::timestamptz[], {}::int[]) "
           "AS f(k, unit, lo, hi, service, channel, after_at, after_id) CROSS JOIN LATERAL ("
           "SELECT r.id, r.submitted_at FROM response r WHERE r.unit = f.unit AND r.questionnaire IN "
           "(SELECT qv.id FROM questionnaire_version qv WHERE qv.key = {}) AND r.status = 'complete' "
           f"AND r.submitted_at >= f.lo AND r.submitted_at < f.hi{where} "
           "AND (f.service IS NULL OR (f.service = 0 AND r.service IS NULL) OR r.service = f.service) "
           "AND (f.channel IS NULL OR r.channel = f.channel) "
           "AND (f.after_at IS NULL OR r.submitted_at < f.after_at "
           "OR (r.submitted_at = f.after_at AND r.id < f.after_id)) "
           "ORDER BY r.submitted_at DESC, r.id DESC LIMIT {}) AS p")
    return sql, args


def _newest_sql(scope: ResponseScope, f: CommentFilter, page: int, k: int,
                after: tuple[Any, int] | None) -> tuple[str, list[Any]]:
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
    if after is not None:  # on from the last response read (the stored value itself, compared as stored)
        where += " AND (r.submitted_at < {} OR (r.submitted_at = {} AND r.id < {}))"
        args.extend([after[0], after[0], after[1]])
    args.append(page)
    sql = (f"SELECT * FROM (SELECT {int(k)} AS k, r.id AS id, r.submitted_at AS submitted_at "  # noqa: S608
           "FROM response r WHERE r.questionnaire IN (SELECT qv.id FROM questionnaire_version qv WHERE qv.key = {}) "
           f"AND r.status = 'complete' AND r.submitted_at >= {{}} AND r.submitted_at < {{}}{where}"
           f" ORDER BY r.submitted_at DESC, r.id DESC LIMIT {{}}) AS newest{k}")
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
    picked = await newest_commented(scope, question_ids, _filters(assessment, context, wanted), LATEST_COMMENTS,
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
