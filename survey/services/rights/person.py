"""What is held about a person (:func:`export_person`) and its erasure (:func:`erase_person`), each also as a request
carried out and audited (:func:`export_request`, :func:`erase_request`); see :mod:`survey.services.rights`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from survey.crypto import InvalidToken, cipher
from survey.db import aware, marks, run_sql, write_transaction
from survey.services.rights.requests import (
    ERASED_COMMENT,
    RightsLine,
    Subject,
    complete_request,
    record_audit,
    record_request,
)

__all__ = [
    "ErasureSummary",
    "erase_person",
    "erase_request",
    "export_person",
    "export_request",
]


# --- what is held about a person ------------------------------------------------------------------------------------


async def _respondent_ids(subject: Subject) -> list[int]:
    column = "phone_hmac" if subject.kind == "phone" else "email_hmac"
    rows = await run_sql(f"SELECT id FROM respondent WHERE {column} = {{}} ORDER BY id", subject.hmac)  # noqa: S608
    return [int(row["id"]) for row in rows]


def _json(value: Any, default: Any) -> Any:
    if value is None:
        return default
    return json.loads(value) if isinstance(value, str) else value


def _iso(value: Any) -> str | None:
    moment = aware(value)
    return moment.isoformat() if moment is not None else None


def _decrypted(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return cipher().decrypt(token)
    except InvalidToken:
        return "(cannot be decrypted with the current key)"


async def export_person(subject: Subject) -> dict[str, Any] | None:
    """Everything held about the person named by ``subject``, as JSON-ready data; ``None`` when nobody is known.

    The respondent records (contact details decrypted, opt-out), their contacts (source, external id, channel,
    unit, service, when) with the invitation of each and its statuses, the responses with their answers and
    comments, the follow-up cases of those responses, and the requests the person made.
    """
    ids = await _respondent_ids(subject)
    if not ids:
        return None
    people = await run_sql(f"SELECT id, phone_encrypted, email_encrypted, opted_out_at, opt_out_source, "  # noqa: S608
                           f"last_surveyed_at, created_at FROM respondent WHERE id IN ({marks(len(ids))}) "
                           "ORDER BY id", *ids)
    contacts = await run_sql(
        "SELECT c.id, c.respondent, c.source, c.external_id, c.channel, c.occurred_at, c.language, "  # noqa: S608
        "u.code AS unit, s.code AS service, i.id AS invitation_id, i.channel AS invitation_channel, "
        "i.status AS invitation_status, i.status_history, i.skip_reason, i.sent_at, i.opened_at, i.responded_at, "
        "i.expires_at FROM contact c JOIN unit u ON u.id = c.unit LEFT JOIN service s ON s.id = c.service "
        f"LEFT JOIN invitation i ON i.contact = c.id WHERE c.respondent IN ({marks(len(ids))}) "
        "ORDER BY c.occurred_at, c.id", *ids)
    invitation_ids = [int(c["invitation_id"]) for c in contacts if c["invitation_id"] is not None]
    responses = await _responses_of(invitation_ids)
    requests = await run_sql("SELECT id, kind, received_at, acknowledge_due, complete_due, acknowledged_at, "
                             "completed_at FROM rights_request WHERE subject_hmac = {} ORDER BY id", subject.hmac)
    return {
        "subject": {"kind": subject.kind, "value": subject.value},
        "exported_at": datetime.now(UTC).isoformat(),
        "respondents": [{
            "id": int(p["id"]), "phone": _decrypted(p["phone_encrypted"]), "email": _decrypted(p["email_encrypted"]),
            "opted_out_at": _iso(p["opted_out_at"]), "opt_out_source": p["opt_out_source"],
            "last_surveyed_at": _iso(p["last_surveyed_at"]), "created_at": _iso(p["created_at"]),
            "contacts": [{
                "source": c["source"], "external_id": c["external_id"], "channel": c["channel"],
                "unit": c["unit"], "service": c["service"], "occurred_at": _iso(c["occurred_at"]),
                "language": c["language"],
                "invitation": None if c["invitation_id"] is None else {
                    "id": int(c["invitation_id"]), "channel": c["invitation_channel"],
                    "status": c["invitation_status"], "skip_reason": c["skip_reason"],
                    "status_history": _json(c["status_history"], []), "sent_at": _iso(c["sent_at"]),
                    "opened_at": _iso(c["opened_at"]), "responded_at": _iso(c["responded_at"]),
                    "expires_at": _iso(c["expires_at"]),
                },
            } for c in contacts if int(c["respondent"]) == int(p["id"])],
        } for p in people],
        "responses": responses,
        "rights_requests": [{
            "id": int(r["id"]), "kind": r["kind"], "received_at": _iso(r["received_at"]),
            "acknowledge_due": _iso(r["acknowledge_due"]), "complete_due": _iso(r["complete_due"]),
            "acknowledged_at": _iso(r["acknowledged_at"]), "completed_at": _iso(r["completed_at"]),
        } for r in requests],
    }


async def _responses_of(invitation_ids: Sequence[int]) -> list[dict[str, Any]]:
    if not invitation_ids:
        return []
    rows = await run_sql(
        "SELECT r.id, r.invitation, r.channel, r.language, r.status, r.started_at, r.submitted_at, "  # noqa: S608
        "qv.key_version, u.code AS unit, s.code AS service FROM response r "
        "JOIN questionnaire_version qv ON qv.id = r.questionnaire JOIN unit u ON u.id = r.unit "
        f"LEFT JOIN service s ON s.id = r.service WHERE r.invitation IN ({marks(len(invitation_ids))}) "
        "ORDER BY r.id", *invitation_ids)
    ids = [int(r["id"]) for r in rows]
    if not ids:
        return []
    answers = await run_sql(f"SELECT response, question_id, value_number, value_text FROM answer "  # noqa: S608
                            f"WHERE response IN ({marks(len(ids))}) ORDER BY id", *ids)
    cases = await run_sql(f"SELECT id, response, status, reasons, created_at, due_at, closed_at, outcome, "  # noqa: S608
                          f"resolved FROM follow_up WHERE response IN ({marks(len(ids))}) ORDER BY id", *ids)
    return [{
        "id": int(r["id"]), "questionnaire": r["key_version"], "unit": r["unit"], "service": r["service"],
        "channel": r["channel"], "language": r["language"], "status": r["status"],
        "started_at": _iso(r["started_at"]), "submitted_at": _iso(r["submitted_at"]),
        "answers": [{"question": a["question_id"], "number": a["value_number"], "text": a["value_text"]}
                    for a in answers if int(a["response"]) == int(r["id"])],
        "follow_up_cases": [{
            "id": int(c["id"]), "status": c["status"], "reasons": _json(c["reasons"], []),
            "created_at": _iso(c["created_at"]), "due_at": _iso(c["due_at"]), "closed_at": _iso(c["closed_at"]),
            "outcome": c["outcome"], "resolved": None if c["resolved"] is None else bool(c["resolved"]),
        } for c in cases if int(c["response"]) == int(r["id"])],
    } for r in rows]


# --- erasure --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErasureSummary:
    """What an erasure changed: respondent records removed (or, opted out, kept with only their lookup keys),
    contacts unlinked, comments replaced, sandbox messages deleted, invitations skipped, jobs closed or scrubbed."""

    respondents: int
    kept_for_opt_out: int
    contacts: int
    responses: int
    comments: int
    sandbox_messages: int
    invitations_skipped: int
    jobs: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


async def _text_questions(response_ids: Sequence[int]) -> set[str]:
    """The ids of the free-text questions of the questionnaires (every version) these responses answered."""
    from questionnaires import Questionnaire

    rows = await run_sql(f"SELECT qv.id, qv.definition FROM questionnaire_version qv "  # noqa: S608
                         "WHERE qv.key IN (SELECT v.key FROM questionnaire_version v JOIN response r "
                         f"ON r.questionnaire = v.id WHERE r.id IN ({marks(len(response_ids))}))", *response_ids)
    texts: set[str] = set()
    for row in rows:
        questionnaire = Questionnaire.from_dict(_json(row["definition"], {}))
        texts.update(question.id for question in questionnaire.questions if question.type == "text")
    return texts


async def erase_person(subject: Subject, *, now: datetime | None = None) -> ErasureSummary | None:
    """Erase the person named by ``subject`` (see the module docstring) in one transaction; ``None`` when nobody
    is known by it."""
    from survey.crypto import mask_contact_details

    now = now or datetime.now(UTC)
    async with write_transaction():
        ids = await _respondent_ids(subject)
        if not ids:
            return None
        people = await run_sql(f"SELECT id, opted_out_at FROM respondent WHERE id IN ({marks(len(ids))})", *ids)  # noqa: S608
        contacts = [int(r["id"]) for r in await run_sql(
            f"SELECT id FROM contact WHERE respondent IN ({marks(len(ids))})", *ids)]  # noqa: S608
        invitations = await run_sql(f"SELECT id, status, status_history FROM invitation "  # noqa: S608
                                    f"WHERE contact IN ({marks(len(contacts))})", *contacts) if contacts else []
        invitation_ids = [int(r["id"]) for r in invitations]
        responses = [int(r["id"]) for r in await run_sql(
            f"SELECT id FROM response WHERE invitation IN ({marks(len(invitation_ids))})",  # noqa: S608
            *invitation_ids)] if invitation_ids else []

        comments = 0
        if responses:
            texts = sorted(await _text_questions(responses))
            if texts:
                where = (f"response IN ({marks(len(responses))}) AND question_id IN ({marks(len(texts))}) "
                         "AND value_text IS NOT NULL AND value_text <> '' AND value_text <> {}")
                found = await run_sql(f"SELECT COUNT(*) AS n FROM answer WHERE {where}",  # noqa: S608
                                      *responses, *texts, ERASED_COMMENT)
                comments = int(found[0]["n"])
                if comments:
                    # still a non-empty comment: the kept comment counts stay equal to the raw rows
                    await run_sql(f"UPDATE answer SET value_text = {{}} WHERE {where}",  # noqa: S608
                                  ERASED_COMMENT, *responses, *texts, ERASED_COMMENT)
            await _mask_case_journals(responses, mask_contact_details)

        skipped = 0
        jobs = 0
        if invitation_ids:
            skipped = await _skip_waiting([r for r in invitations if r["status"] == "planned"], now)
            jobs = await _close_jobs(set(invitation_ids), now)

        # what the sandbox "sent" them: by invitation, and by address (the recipient's lookup key)
        mine = f"to_hmac = {{}}{f' OR invitation IN ({marks(len(invitation_ids))})' if invitation_ids else ''}"
        found = await run_sql(f"SELECT COUNT(*) AS n FROM sandbox_message WHERE {mine}",  # noqa: S608
                              subject.hmac, *invitation_ids)
        sandbox = int(found[0]["n"])
        if sandbox:
            await run_sql(f"DELETE FROM sandbox_message WHERE {mine}", subject.hmac, *invitation_ids)  # noqa: S608

        if contacts:
            await run_sql(f"UPDATE contact SET respondent = NULL WHERE id IN ({marks(len(contacts))})",  # noqa: S608
                          *contacts)
        opted_out = [int(p["id"]) for p in people if p["opted_out_at"] is not None]
        removed = [int(p["id"]) for p in people if p["opted_out_at"] is None]
        if opted_out:
            await run_sql(f"UPDATE respondent SET phone_encrypted = NULL, email_encrypted = NULL "  # noqa: S608
                          f"WHERE id IN ({marks(len(opted_out))})", *opted_out)
        if removed:
            await run_sql(f"DELETE FROM respondent WHERE id IN ({marks(len(removed))})", *removed)  # noqa: S608
    return ErasureSummary(respondents=len(removed), kept_for_opt_out=len(opted_out), contacts=len(contacts),
                          responses=len(responses), comments=comments, sandbox_messages=sandbox,
                          invitations_skipped=skipped, jobs=jobs)


async def _mask_case_journals(response_ids: Sequence[int], mask: Any) -> None:
    """Phone numbers and addresses written into the cases' journals and outcomes replaced by ``[…]``."""
    cases = await run_sql(f"SELECT id, notes, outcome FROM follow_up "  # noqa: S608
                          f"WHERE response IN ({marks(len(response_ids))})", *response_ids)
    for case in cases:
        notes = _json(case["notes"], [])
        masked = [{**entry, "text": mask(str(entry["text"]))} if isinstance(entry, dict) and entry.get("text")
                  else entry for entry in notes]
        outcome = mask(case["outcome"]) if case["outcome"] else case["outcome"]
        if masked != notes or outcome != case["outcome"]:
            await run_sql("UPDATE follow_up SET notes = {}, outcome = {} WHERE id = {}", json.dumps(masked), outcome,
                          int(case["id"]))


async def _skip_waiting(waiting: Sequence[dict[str, Any]], now: datetime) -> int:
    for row in waiting:
        history = _json(row["status_history"], [])
        history.append({"status": "skipped", "at": now.isoformat(), "detail": "erased on the person's request"})
        await run_sql("UPDATE invitation SET status = 'skipped', skip_reason = 'erased', status_history = {} "
                      "WHERE id = {} AND status = 'planned'", json.dumps(history), int(row["id"]))
    return len(waiting)


async def _close_jobs(invitation_ids: set[int], now: datetime) -> int:
    """The outbox jobs of these invitations not yet done: queued ones closed, every one's payload reduced to its ids
    (a done job's payload was reduced when it finished)."""
    rows = await run_sql("SELECT id, status, payload FROM job WHERE kind IN ('send_invitation', 'send_reminder') "
                         "AND status <> 'done'")
    touched = 0
    for row in rows:
        payload = _json(row["payload"], {})
        if not isinstance(payload, dict) or payload.get("invitation_id") not in invitation_ids:
            continue
        ids_only = json.dumps({key: value for key, value in payload.items() if key.endswith("_id")})
        if row["status"] == "queued":
            await run_sql("UPDATE job SET payload = {}, status = 'done', last_error = {}, updated_at = {} "
                          "WHERE id = {}", ids_only, "erased on the person's request", now, int(row["id"]))
        else:
            await run_sql("UPDATE job SET payload = {}, updated_at = {} WHERE id = {}", ids_only, now, int(row["id"]))
        touched += 1
    return touched


# --- a request carried out ------------------------------------------------------------------------------------------


async def export_request(subject: Subject, *, actor: Any = None, handled_by: str = "cli", note: str = "",
                         request_id: int | None = None,
                         client_address: str | None = None) -> tuple[dict[str, Any] | None, RightsLine]:
    """Export what is held about ``subject`` and keep it as carried out: request ``request_id``, or a new one
    (received and done now); audited ``person_exported``. The data is ``None`` when nobody is known."""
    held = await export_person(subject)
    outcome = "" if held is not None else "nobody is known by this subject: nothing is held"
    if request_id is None:
        line = await record_request("export", subject, handled_by=handled_by,
                                    note="; ".join(part for part in (note, outcome) if part), done=True)
    else:
        line = await complete_request(request_id, note=outcome)
    await record_audit("person_exported", actor=actor, object_id=line.id, client_address=client_address,
                       detail={"found": held is not None, "respondents": len(held["respondents"]) if held else 0,
                               "responses": len(held["responses"]) if held else 0})
    return held, line


async def erase_request(subject: Subject, *, actor: Any = None, handled_by: str = "cli", note: str = "",
                        request_id: int | None = None,
                        client_address: str | None = None) -> tuple[ErasureSummary | None, RightsLine]:
    """Erase ``subject`` (:func:`erase_person`) and keep it as carried out: request ``request_id``, or a new one
    (received and done now); audited ``person_erased``. The requests about the person keep their dates and masked
    subject, no longer the subject itself. The summary is ``None`` when nobody is known."""
    if request_id is None:
        line = await record_request("erase", subject, handled_by=handled_by, note=note, done=True)
        request_id = line.id
    summary = await erase_person(subject)
    await run_sql("UPDATE rights_request SET subject_encrypted = '' WHERE subject_hmac = {}", subject.hmac)
    line = await complete_request(request_id, note="" if summary is not None
                                  else "nobody is known by this subject: nothing is held")
    await record_audit("person_erased", actor=actor, object_id=line.id, client_address=client_address,
                       detail={"found": summary is not None, **(summary.as_dict() if summary else {})})
    return summary, line
