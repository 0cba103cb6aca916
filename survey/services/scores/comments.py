"""Each group's free-text comments: how many respondents left one, and the newest few, contact details masked,
quoted only from groups of at least ``min_n_comments`` respondents (and never below ``min_n``).

>>> mask_contact_details("Gọi tôi 0912 345 678 hoặc an.nguyen@example.vn, cảm ơn")
'Gọi tôi […] hoặc […], cảm ơn'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import numpy as np

from survey.services.extract import Comment, ResponseScope, extract_comments, month_codes
from survey.services.scores.context import Context
from survey.services.scores.contract import CommentExcerpt, CommentsResult
from survey.services.scores.periods import month_label

__all__ = ["LATEST_COMMENTS", "group_comments", "mask_contact_details"]

LATEST_COMMENTS = 3  # comments quoted per group
_PHONE = re.compile(r"(?<![\w])\+?\d[\d .\-]{6,}\d")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(\.[\w\-]+)+")

GroupKey = tuple[str | None, ...]


def mask_contact_details(text: str) -> str:
    """A comment as a report may quote it: phone numbers and e-mail addresses replaced by ``[…]``."""
    return _EMAIL.sub("[…]", _PHONE.sub("[…]", text))


def _keys_of(marks: Sequence[Comment], context: Context) -> list[GroupKey]:
    """The group key (the codes of ``by``) of each comment."""
    by, units = context.by, context.units
    subunits = None
    if "subunit" in by:
        size = max([*units.code, *(c.unit_id for c in marks)], default=0) + 1
        subunits = units.subunit_array(context.scope_unit, size)
    months = month_codes(np.array([int(c.submitted_at.timestamp()) for c in marks], dtype=np.int64),
                         context.timezone).tolist() if marks else []
    keys = []
    for comment, month in zip(marks, months, strict=True):
        values = {"unit": units.code.get(comment.unit_id), "service": context.service_codes.get(comment.service_id),
                  "channel": comment.channel, "month": month_label(month),
                  "subunit": None if subunits is None else units.code.get(int(subunits[comment.unit_id]))}
        keys.append(tuple(values[d] for d in by))
    return keys


async def group_comments(groups: Sequence[tuple[GroupKey, int]], scope: ResponseScope, question_ids: list[str],
                         context: Context) -> list[CommentsResult]:
    """Per group (its key and its number of respondents): how many respondents left a comment, and the newest
    :data:`LATEST_COMMENTS` where the group is big enough to quote."""
    rule, units = context.rule, context.units
    marks = await extract_comments(scope, question_ids, with_text=False)
    respondents: dict[GroupKey, set[int]] = {}
    newest: dict[GroupKey, list[int]] = {}
    for comment, key in zip(marks, _keys_of(marks, context), strict=True):  # newest first
        seen = respondents.setdefault(key, set())
        if comment.response_id not in seen:
            seen.add(comment.response_id)
            picked = newest.setdefault(key, [])
            if len(picked) < LATEST_COMMENTS:
                picked.append(comment.response_id)
    # a group below min_n shows nothing but its n, comments included, whatever min_n_comments says
    reasons = [rule.reason(n) or rule.comments_reason(n) for _, n in groups]
    wanted = sorted({rid for (key, _), reason in zip(groups, reasons, strict=True) if reason is None
                     for rid in newest.get(key, ())})
    texts = await extract_comments(scope, question_ids, response_ids=wanted) if wanted else []
    by_response: dict[int, list[Comment]] = {}
    for comment in texts:
        by_response.setdefault(comment.response_id, []).append(comment)
    zone = ZoneInfo(context.timezone)
    results = []
    for (key, _), reason in zip(groups, reasons, strict=True):
        latest = [] if reason is not None else [
            CommentExcerpt(comment.question_id, mask_contact_details(comment.text or ""),
                           comment.submitted_at.astimezone(zone).isoformat(timespec="minutes"),
                           units.code.get(comment.unit_id))
            for rid in newest.get(key, ()) for comment in by_response.get(rid, [])]
        results.append(CommentsResult(len(respondents.get(key, ())), reason is not None, reason, latest))
    return results
