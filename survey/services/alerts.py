"""Alerts: a unit whose people are suddenly unhappier than chance allows is told within minutes, and the alert
closes itself when the unit recovers.

Every minute the worker (:func:`evaluate_alerts`) takes the rolling window of the last
``SURVEY_ALERT_WINDOW_HOURS`` working hours (7.5: a working day, on the working calendar) and, for each unit with
at least ``SURVEY_ALERT_MIN_N`` rated responses in it, the share of dissatisfied ratings (overall at most 2 of 5).
Each unit's share is set against the funnel limits of :func:`scoring.funnel_limits` around the share of every unit
in the window (the exact binomial limits for the unit's own n, so that a small unit does not alarm on noise; no
peer sets its threshold by sample size):

- above the 99.8% upper limit, an alert opens (one per unit at a time): the unit's mailbox and the quality team
  (``SURVEY_QUALITY_TEAM_EMAIL``) are emailed, the dashboard and ``/staff/alerts`` show it;
- staff acknowledge it with a comment (the journal keeps who and why);
- back at or below the 95% upper limit (hysteresis: it does not flap around one line), it closes itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from survey.db import aware, run_sql, write_transaction
from survey.i18n import N_
from survey.services.accounts import StaffIdentity, can_see
from survey.services.extract import subtree_pattern
from survey.services.followups import ChangeRefused, journal_entry
from survey.settings import get_settings
from survey.tables import AlertStatus

__all__ = [
    "ALERT_STATUSES",
    "DISSATISFIED_AT_MOST",
    "AlertError",
    "AlertLine",
    "AlertNotFound",
    "Evaluation",
    "acknowledge_alert",
    "alert_lines",
    "evaluate_alerts",
    "send_alert_email",
]

DISSATISFIED_AT_MOST = 2  # an overall rating of 1 or 2 on the 5-point scale
OVERALL_QUESTION = "overall"
ALERT_STATUSES = tuple(status.value for status in AlertStatus)
EMAIL_TEXTS = (N_("alert.email.subject"), N_("alert.email.body"))


class AlertError(ChangeRefused):
    """A change to an alert that cannot be made."""


class AlertNotFound(LookupError):
    """No alert with this id in the member of staff's units."""


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation did."""

    window_start: datetime
    units_judged: int
    raised: tuple[str, ...]
    closed: tuple[str, ...]
    centre_share: float | None


def _moment(value: Any) -> datetime:
    moment = aware(value)
    assert moment is not None
    return moment


async def evaluate_alerts(now: datetime | None = None) -> Evaluation:
    """Judge every unit's dissatisfied share over the rolling window; open and close alerts (see the module)."""
    from scoring import SmallSampleRule, funnel_limits
    from survey.services.outbox import enqueue_many
    from survey.services.working_calendar import working_calendar

    now = now or datetime.now(UTC)
    settings = get_settings()
    start = (await working_calendar()).window_start(now, settings.alert_window_hours)
    rows = await run_sql(
        "SELECT r.unit AS unit, u.code AS code, COUNT(*) AS n, "
        "SUM(CASE WHEN a.value_number <= {} THEN 1 ELSE 0 END) AS bad FROM response r "
        "JOIN answer a ON a.response = r.id AND a.question_id = {} JOIN unit u ON u.id = r.unit "
        "WHERE r.status = 'complete' AND r.submitted_at >= {} AND r.submitted_at < {} AND a.value_number IS NOT NULL "
        "GROUP BY r.unit, u.code ORDER BY r.unit", DISSATISFIED_AT_MOST, OVERALL_QUESTION, start, now)
    rule = SmallSampleRule(settings.alert_min_n, settings.alert_min_n, settings.alert_min_n)
    raised: list[str] = []
    closed: list[str] = []
    async with write_transaction():
        active = {int(row["unit"]): row for row in await run_sql(
            "SELECT id, unit, notes FROM alert WHERE status IN ('open', 'acknowledged')")}
        if not rows:
            return Evaluation(start, 0, (), (), None)
        counts = [int(row["bad"] or 0) for row in rows]
        sizes = [int(row["n"]) for row in rows]
        centre = sum(counts) / sum(sizes)
        funnel = funnel_limits(counts, sizes, target=centre, rule=rule, min_units=1, overdispersion=False)
        jobs: list[tuple[str, dict[str, Any], datetime]] = []
        judged = 0
        for row, point in zip(rows, funnel.points, strict=True):
            unit = int(row["unit"])
            if point.suppression_reason is not None or point.share is None or point.upper_998 is None:
                continue  # too few ratings to judge: an open alert stays as it is
            judged += 1
            alert = active.get(unit)
            if alert is None and point.share > point.upper_998:
                inserted = await run_sql(
                    "INSERT INTO alert (unit, status, opened_at, window_start, n, dissatisfied, share, upper_limit, "
                    "centre_share, checked_at, last_share, notes) VALUES ({}, 'open', {}, {}, {}, {}, {}, {}, {}, {}, "
                    "{}, {}) RETURNING id", unit, now, start, point.n, point.k, point.share, point.upper_998, centre,
                    now, point.share, json.dumps([journal_entry("raised", at=now, text=f"{point.k}/{point.n}")]))
                raised.append(str(row["code"]))
                jobs += [("alert_email", {"alert_id": int(inserted[0]["id"]), "to": "unit"}, now),
                         ("alert_email", {"alert_id": int(inserted[0]["id"]), "to": "quality"}, now)]
            elif alert is not None and point.upper_95 is not None and point.share <= point.upper_95:
                notes = json.loads(alert["notes"]) if isinstance(alert["notes"], str) else list(alert["notes"] or [])
                notes.append(journal_entry("recovered", at=now, text=f"{point.k}/{point.n}"))
                await run_sql("UPDATE alert SET status = 'closed', closed_at = {}, checked_at = {}, last_share = {}, "
                              "notes = {} WHERE id = {}", now, now, point.share, json.dumps(notes), alert["id"])
                closed.append(str(row["code"]))
            elif alert is not None:
                await run_sql("UPDATE alert SET checked_at = {}, last_share = {} WHERE id = {}", now, point.share,
                              alert["id"])
        await enqueue_many(jobs)
    return Evaluation(start, judged, tuple(raised), tuple(closed), centre)


@dataclass(frozen=True)
class AlertLine:
    id: int
    unit_code: str
    unit_name: dict[str, str]
    status: str
    opened_at: datetime
    window_start: datetime
    n: int
    dissatisfied: int
    share: float
    upper_limit: float
    centre_share: float
    last_share: float
    checked_at: datetime
    acknowledged_at: datetime | None
    closed_at: datetime | None
    journal: tuple[dict[str, Any], ...]


_ALERT_SQL = (
    "SELECT a.*, u.code AS unit_code, u.path AS unit_path, u.name_vi, u.name_en FROM alert a "
    "JOIN unit u ON u.id = a.unit "
)


def _line(row: dict[str, Any]) -> AlertLine:
    notes = row["notes"]
    if isinstance(notes, str):
        notes = json.loads(notes or "[]")
    return AlertLine(
        id=int(row["id"]), unit_code=str(row["unit_code"]), unit_name={"vi": row["name_vi"], "en": row["name_en"]},
        status=str(row["status"]), opened_at=_moment(row["opened_at"]), window_start=_moment(row["window_start"]),
        n=int(row["n"]), dissatisfied=int(row["dissatisfied"]), share=float(row["share"]),
        upper_limit=float(row["upper_limit"]), centre_share=float(row["centre_share"]),
        last_share=float(row["last_share"]), checked_at=_moment(row["checked_at"]),
        acknowledged_at=aware(row["acknowledged_at"]), closed_at=aware(row["closed_at"]),
        journal=tuple({**entry, "at": aware(entry.get("at"))} for entry in notes or ()))


async def alert_lines(scope_path: str, *, status: str = "active", limit: int = 200) -> list[AlertLine]:
    """The alerts of the units under ``scope_path``, newest first (``status``: active, one status, or all)."""
    where, args = ["u.path LIKE {} ESCAPE '\\'"], [subtree_pattern(scope_path)]
    if status == "active":
        where.append("a.status IN ('open', 'acknowledged')")
    elif status in ALERT_STATUSES:
        where.append("a.status = {}")
        args.append(status)
    elif status != "all":
        raise AlertError(f"status must be active, all or one of {', '.join(ALERT_STATUSES)}; got {status!r}",
                         field_name="status")
    rows = await run_sql(_ALERT_SQL + "WHERE " + " AND ".join(where) + " ORDER BY a.opened_at DESC, a.id DESC "
                         "LIMIT {}", *args, limit)
    return [_line(row) for row in rows]


async def acknowledge_alert(identity: StaffIdentity, alert_id: int, comment: str | None, *,
                            now: datetime | None = None) -> AlertLine:
    """Acknowledge an open alert of ``identity``'s units with a comment (what is being done about it)."""
    now = now or datetime.now(UTC)
    text = " ".join((comment or "").split())
    if not text:
        raise AlertError("comment is required", field_name="comment")
    if len(text) > 2000:
        raise AlertError(f"comment is {len(text)} characters long; at most 2000", field_name="comment")
    async with write_transaction():
        rows = await run_sql(_ALERT_SQL + "WHERE a.id = {}", alert_id)
        if not rows or not can_see(identity, str(rows[0]["unit_path"])):
            raise AlertNotFound(f"no alert #{alert_id} in your units")
        row = rows[0]
        if row["status"] != "open":
            raise AlertError(f"alert #{alert_id} is {row['status']}: only an open alert is acknowledged",
                             conflict=True)
        notes = json.loads(row["notes"]) if isinstance(row["notes"], str) else list(row["notes"] or [])
        notes.append(journal_entry("acknowledged", at=now, by=identity.username, text=text))
        await run_sql("UPDATE alert SET status = 'acknowledged', acknowledged_at = {}, acknowledged_by = {}, "
                      "notes = {} WHERE id = {} AND status = 'open'", now, identity.id,
                      json.dumps(notes, ensure_ascii=False), alert_id)
    return _line((await run_sql(_ALERT_SQL + "WHERE a.id = {}", alert_id))[0])


async def send_alert_email(job: Any, delivery: Any) -> Any:
    """The ``alert_email`` job: tell the unit's mailbox or the quality team of a new alert."""
    from delivery.channels import OutgoingMessage
    from survey.i18n import t
    from survey.services.outbox import JobResult
    from survey.services.sending import send_email
    from survey.web import format_number

    rows = await run_sql(_ALERT_SQL.replace("u.name_en", "u.name_en, u.email") + "WHERE a.id = {}",
                         int(job.payload["alert_id"]))
    if not rows:
        return JobResult.done(job, note="the alert is gone")
    row, settings = rows[0], get_settings()
    address = settings.quality_team_email if job.payload.get("to") == "quality" else row["email"]
    if not address:
        return JobResult.done(job, note=f"no mailbox for the {job.payload.get('to', 'unit')}")
    line = _line(row)
    values = {"unit": line.unit_name["vi"] or line.unit_code, "share": format_number(100 * line.share, "vi"),
              "limit": format_number(100 * line.upper_limit, "vi"), "n": line.n, "bad": line.dissatisfied,
              "centre": format_number(100 * line.centre_share, "vi")}
    subject = t(EMAIL_TEXTS[0], "vi", brand=settings.sms_brand, **values)
    body = t(EMAIL_TEXTS[1], "vi", **values) + f"\n\n{settings.base_url}/staff/alerts\n"
    result = await send_email(delivery, OutgoingMessage("email", str(address), body, subject=subject,
                                                        reference=f"alert-{line.id}-{job.payload.get('to')}"))
    if result.outcome == "retry":
        return JobResult.retry(job, f"{result.error_code or '-'}: {result.error_message or ''}")
    if result.outcome != "sent":
        return JobResult.done(job, note=f"not delivered to {address}: {result.error_message or result.outcome}")
    return JobResult.done(job)
