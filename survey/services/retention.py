"""Contact details are kept only as long as surveying needs them: ``SURVEY_CONTACT_RETENTION_DAYS`` (90) after a
person's last contact, the worker erases them (Law 91/2025/QH15: data kept no longer than its purpose needs).

What goes, counted from the person's last contact (the newer of ``respondent.last_surveyed_at`` and their newest
contact's ``occurred_at``; the record's creation when they have neither):

- the respondent's encrypted phone and email, and their lookup keys (HMACs): an opted-out person keeps the lookup
  keys and the opt-out, the only way to keep honouring it when they are contacted again;
- the sandbox's messages older than the period (recipient, text and link), deleted;
- in the outbox, finished jobs older than the period: payloads reduced to their ids and phone numbers or
  addresses in their last error masked.
- the phone or email of data subjects' requests carried out before the period (their dates, kind and masked
  subject stay, as the record that they were answered).

Responses, answers, scores and the kept counts are not touched (``survey aggregates verify`` still agrees), nor
are contacts (source, external id, unit, service, when), which no longer lead to anyone. Follow-up cases hold no
copy of the contact details (they read them from the respondent when staff reveal them), so they need nothing.

Each run works in batches (one transaction each), is idempotent (a second run finds nothing), and writes one
audit event ``retention_erased`` with its counts when it erased anything.

Example::

    summary = await erase_expired_contacts()   # RetentionSummary(respondents=12, sandbox_messages=30, jobs=4, ...)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from survey.db import marks, run_sql, write_transaction
from survey.settings import get_settings

__all__ = ["BATCH", "RetentionSummary", "erase_expired_contacts"]

BATCH = 500  # rows per transaction: short write locks on SQLite, well under both databases' parameter limits


@dataclass(frozen=True)
class RetentionSummary:
    """What one run erased, and from which moment on contacts count as recent (``cutoff``)."""

    cutoff: datetime
    respondents: int = 0
    kept_for_opt_out: int = 0
    sandbox_messages: int = 0
    jobs: int = 0
    rights_requests: int = 0

    @property
    def erased_anything(self) -> bool:
        return bool(self.respondents or self.sandbox_messages or self.jobs or self.rights_requests)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cutoff": self.cutoff.isoformat()}


# a respondent with something left to erase, whose last contact is older than the cutoff
_EXPIRED = (
    "SELECT p.id, p.opted_out_at FROM respondent p WHERE (p.phone_encrypted IS NOT NULL "
    "OR p.email_encrypted IS NOT NULL OR (p.opted_out_at IS NULL AND (p.phone_hmac IS NOT NULL "
    "OR p.email_hmac IS NOT NULL))) AND COALESCE(p.last_surveyed_at, p.created_at) < {} "
    "AND NOT EXISTS (SELECT 1 FROM contact c WHERE c.respondent = p.id AND c.occurred_at >= {}) "
    "AND p.id > {} ORDER BY p.id LIMIT {}"
)


async def _erase_respondents(cutoff: datetime, batch: int) -> tuple[int, int]:
    erased = kept = 0
    after = 0
    while True:
        async with write_transaction():
            rows = await run_sql(_EXPIRED, cutoff, cutoff, after, batch)
            if not rows:
                return erased, kept
            after = int(rows[-1]["id"])
            opted_out = [int(r["id"]) for r in rows if r["opted_out_at"] is not None]
            others = [int(r["id"]) for r in rows if r["opted_out_at"] is None]
            if opted_out:
                await run_sql(f"UPDATE respondent SET phone_encrypted = NULL, email_encrypted = NULL "  # noqa: S608
                              f"WHERE id IN ({marks(len(opted_out))})", *opted_out)
            if others:
                await run_sql(f"UPDATE respondent SET phone_encrypted = NULL, email_encrypted = NULL, "  # noqa: S608
                              f"phone_hmac = NULL, email_hmac = NULL WHERE id IN ({marks(len(others))})", *others)
        erased += len(rows)
        kept += len(opted_out)


async def _delete_sandbox(cutoff: datetime, batch: int) -> int:
    deleted = 0
    while True:
        async with write_transaction():
            rows = await run_sql("SELECT id FROM sandbox_message WHERE created_at < {} ORDER BY id LIMIT {}",
                                 cutoff, batch)
            if not rows:
                return deleted
            ids = [int(r["id"]) for r in rows]
            await run_sql(f"DELETE FROM sandbox_message WHERE id IN ({marks(len(ids))})", *ids)  # noqa: S608
        deleted += len(ids)


def _payload(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def _scrub_jobs(cutoff: datetime, batch: int) -> int:
    from survey.crypto import mask_contact_details

    scrubbed = 0
    after = 0
    while True:
        async with write_transaction():
            rows = await run_sql(
                "SELECT id, payload, last_error FROM job WHERE status IN ('done', 'dead') AND updated_at < {} "
                "AND id > {} AND (CAST(payload AS TEXT) LIKE '%token%' OR CAST(payload AS TEXT) LIKE '%@%' "
                "OR last_error LIKE '%@%' OR last_error LIKE '%+%') ORDER BY id LIMIT {}", cutoff, after, batch)
            if not rows:
                return scrubbed
            after = int(rows[-1]["id"])
            for row in rows:
                payload = _payload(row["payload"])
                ids_only = ({key: value for key, value in payload.items() if key.endswith("_id")}
                            if isinstance(payload, dict) else {})
                error = mask_contact_details(row["last_error"]) if row["last_error"] else row["last_error"]
                if ids_only == payload and error == row["last_error"]:
                    continue
                await run_sql("UPDATE job SET payload = {}, last_error = {} WHERE id = {}", json.dumps(ids_only),
                              error, int(row["id"]))
                scrubbed += 1


async def _forget_request_subjects(cutoff: datetime) -> int:
    async with write_transaction():
        found = await run_sql("SELECT COUNT(*) AS n FROM rights_request WHERE completed_at < {} "
                              "AND subject_encrypted <> ''", cutoff)
        if int(found[0]["n"]):
            await run_sql("UPDATE rights_request SET subject_encrypted = '' WHERE completed_at < {} "
                          "AND subject_encrypted <> ''", cutoff)
    return int(found[0]["n"])


async def erase_expired_contacts(now: datetime | None = None, *, days: int | None = None,
                                 batch: int = BATCH) -> RetentionSummary:
    """Erase the contact details whose retention period (``days``, else ``SURVEY_CONTACT_RETENTION_DAYS``) ended
    before ``now`` (see the module docstring); audited once when anything was erased."""
    from survey.services import audit

    now = now or datetime.now(UTC)
    days = get_settings().contact_retention_days if days is None else days
    if days < 1:
        raise ValueError(f"the retention period must be at least 1 day, got {days}")
    cutoff = now - timedelta(days=days)
    respondents, kept = await _erase_respondents(cutoff, batch)
    summary = RetentionSummary(cutoff=cutoff, respondents=respondents, kept_for_opt_out=kept,
                               sandbox_messages=await _delete_sandbox(cutoff, batch),
                               jobs=await _scrub_jobs(cutoff, batch),
                               rights_requests=await _forget_request_subjects(cutoff))
    if summary.erased_anything:
        await audit.record("retention_erased", actor=None, object_type="retention",
                           detail={**summary.as_dict(), "retention_days": days})
    return summary
