"""The outbox: jobs written beside what caused them, claimed by workers under a lease, retried, dead-lettered.

A job is ``queued`` until a worker claims it (``running``, with ``lease_owner`` and ``lease_expires_at``),
then ``done``, back to ``queued`` with a later ``due_at`` (a retry, after exponential backoff with jitter),
or ``dead`` after its last attempt (shown at ``/staff/outbox``, where staff can queue it again). A worker
that dies leaves its jobs ``running``; once their lease has ended, any worker claims them again.

Claiming is one statement: an ``UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING`` in an immediate
transaction on SQLite, and with ``FOR UPDATE SKIP LOCKED`` in the sub-select on PostgreSQL, so that two
workers never claim the same job while its lease runs. A ``prepare`` step given to :func:`claim` runs in
the same transaction, for the whole batch: what it writes (a send's link token, its "sending" marker) is
committed with the claim, before any handler runs.

Example::

    async with write_transaction():
        await enqueue("send_invitation", {"invitation_id": 7}, due_at=datetime.now(UTC))
    jobs = await claim("worker-1", limit=50, lease_seconds=60)
    await finish([JobResult.done(jobs[0])])
"""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from survey.crypto import mask_contact_details
from survey.db import aware, is_sqlite, run_sql, write_transaction
from survey.settings import get_settings
from survey.tables import Job, JobStatus

__all__ = [
    "ClaimedJob",
    "DeadJob",
    "Effect",
    "JobResult",
    "backoff_delay",
    "claim",
    "counts_by_status",
    "dead_jobs",
    "enqueue",
    "finish",
    "retry_dead",
    "update_payloads",
]

# the first retry waits about BACKOFF_BASE, each next one twice as long, never more than BACKOFF_CAP
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=2)

Effect = Callable[[], Awaitable[None]]
"""A write that must commit together with its job's outcome (run inside the completion transaction)."""

Prepare = Callable[[list["ClaimedJob"]], Awaitable[list["ClaimedJob"]]]
"""Run inside the claim's transaction on the claimed batch; returns the jobs as prepared (new payloads)."""


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value or "{}")
    return dict(value or {})


@dataclass(frozen=True)
class ClaimedJob:
    """A job a worker holds under its lease; ``attempts`` counts this one."""

    id: int
    kind: str
    payload: Mapping[str, Any]
    attempts: int
    max_attempts: int
    due_at: datetime

    @property
    def last_attempt(self) -> bool:
        return self.attempts >= self.max_attempts

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ClaimedJob:
        return cls(id=int(row["id"]), kind=str(row["kind"]), payload=_json(row["payload"]),
                   attempts=int(row["attempts"]), max_attempts=int(row["max_attempts"]),
                   due_at=aware(row["due_at"]) or datetime.now(UTC))


@dataclass
class JobResult:
    """What became of one claimed job, and the writes that commit with it.

    ``state`` is ``done``, ``retry`` (an attempt failed: backoff, or dead after the last attempt) or
    ``reschedule`` (not attempted, e.g. quiet hours: due again at ``due_at``, the attempt not counted).
    """

    job: ClaimedJob
    state: str
    error: str | None = None
    due_at: datetime | None = None
    payload: Mapping[str, Any] | None = None  # replaces the job's payload (e.g. to drop a secret it carried)
    effects: list[Effect] = field(default_factory=list)
    # jobs to add when this outcome commits: (kind, payload, due_at), inserted for the whole group at once
    new_jobs: list[tuple[str, Mapping[str, Any], datetime]] = field(default_factory=list)

    @classmethod
    def done(cls, job: ClaimedJob, *effects: Effect, note: str | None = None,
             payload: Mapping[str, Any] | None = None) -> JobResult:
        return cls(job, "done", error=note, payload=payload, effects=list(effects))

    @classmethod
    def retry(cls, job: ClaimedJob, error: str, *effects: Effect) -> JobResult:
        return cls(job, "retry", error=error, effects=list(effects))

    @classmethod
    def reschedule(cls, job: ClaimedJob, due_at: datetime, note: str) -> JobResult:
        return cls(job, "reschedule", error=note, due_at=due_at)


@dataclass(frozen=True)
class DeadJob:
    """A job that used its last attempt, as staff see it."""

    id: int
    kind: str
    payload: Mapping[str, Any]
    attempts: int
    last_error: str | None
    updated_at: datetime | None
    created_at: datetime | None


def backoff_delay(attempt: int, *, base: timedelta = BACKOFF_BASE, cap: timedelta = BACKOFF_CAP,
                  rng: random.Random | None = None) -> timedelta:
    """How long to wait after failed attempt number ``attempt`` (1, 2, ...): exponential, with jitter.

    The delay is drawn between half and all of ``base * 2**(attempt-1)`` (capped), so that jobs that
    failed together do not all come back together.

    >>> backoff_delay(1, rng=random.Random(1)) <= timedelta(seconds=30)
    True
    """
    ceiling = min(cap.total_seconds(), base.total_seconds() * 2 ** max(0, attempt - 1))
    draw = (rng or random).uniform(0.5, 1.0)
    return timedelta(seconds=ceiling * draw)


def _json_param(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), ensure_ascii=False)


async def enqueue(kind: str, payload: Mapping[str, Any], *, due_at: datetime | None = None,
                  max_attempts: int | None = None) -> None:
    """Add one job (inside the caller's transaction when there is one)."""
    await enqueue_many([(kind, payload, due_at or datetime.now(UTC))], max_attempts=max_attempts)


def jobs_statement(jobs: Sequence[tuple[str, Mapping[str, Any], datetime]], *,
                   max_attempts: int | None = None) -> tuple[str, list[Any]]:
    """The INSERT of ``jobs`` (at most 500) as one statement, for :func:`survey.db.run_sql_many` in a caller's
    transaction (the submission writer's last round trip)."""
    if not 0 < len(jobs) <= 500:
        raise ValueError(f"jobs_statement takes 1 to 500 jobs, got {len(jobs)}")
    attempts = max_attempts or get_settings().job_max_attempts
    now = datetime.now(UTC)
    args: list[Any] = []
    for kind, payload, due_at in jobs:
        args += [kind, _json_param(payload), str(JobStatus.queued), due_at, 0, attempts, now, now]
    return _INSERT + ", ".join(["(" + _ids(8) + ")"] * len(jobs)), args


async def enqueue_many(jobs: Sequence[tuple[str, Mapping[str, Any], datetime]], *,
                       max_attempts: int | None = None) -> None:
    """Add several jobs in one statement per 500."""
    for start in range(0, len(jobs), 500):
        query, args = jobs_statement(jobs[start : start + 500], max_attempts=max_attempts)
        await run_sql(query, *args)


_CLAIM = (
    "UPDATE job SET status = 'running', lease_owner = {{}}, lease_expires_at = {{}}, attempts = attempts + 1, "
    "updated_at = {{}} WHERE id IN (SELECT id FROM job WHERE (status = 'queued' AND due_at <= {{}}) "
    "OR (status = 'running' AND lease_expires_at < {{}}) ORDER BY due_at LIMIT {{}}{lock}) "
    "RETURNING id, kind, payload, attempts, max_attempts, due_at"
)


async def claim(worker_id: str, *, limit: int, lease_seconds: float, now: datetime | None = None,
                prepare: Prepare | None = None) -> list[ClaimedJob]:
    """Claim up to ``limit`` due jobs (or jobs whose lease ended) for ``worker_id``, oldest due first.

    ``prepare`` runs on the claimed jobs in the same transaction (see the module docstring).
    """
    now = now or datetime.now(UTC)
    lease_end = now + timedelta(seconds=lease_seconds)
    sql = _CLAIM.format(lock="" if is_sqlite() else " FOR UPDATE SKIP LOCKED")
    async with write_transaction():
        rows = await run_sql(sql, worker_id, lease_end, now, now, now, limit)
        jobs = [ClaimedJob.from_row(row) for row in rows]
        if prepare is not None and jobs:
            jobs = await prepare(jobs)
    jobs.sort(key=lambda job: job.due_at)
    return jobs


async def update_payloads(payloads: Mapping[int, Mapping[str, Any]]) -> None:
    """Replace the payloads of several jobs, one statement per 200 (inside the caller's transaction if any)."""
    cast = "" if is_sqlite() else "::json"
    items = list(payloads.items())
    for start in range(0, len(items), 200):
        chunk = items[start : start + 200]
        cases = " ".join([f"WHEN {{}} THEN {{}}{cast}"] * len(chunk))
        args = [value for job_id, payload in chunk for value in (job_id, _json_param(payload))]
        await run_sql(f"UPDATE job SET payload = CASE id {cases} END WHERE id IN ({_ids(len(chunk))})",  # noqa: S608
                      *args, *[job_id for job_id, _ in chunk])


_INSERT = "INSERT INTO job (kind, payload, status, due_at, attempts, max_attempts, created_at, updated_at) VALUES "
_DONE = "UPDATE job SET status = 'done', lease_owner = NULL, lease_expires_at = NULL, updated_at = {} WHERE id IN "


def _ids(count: int) -> str:
    return ", ".join(["{}"] * count)


async def finish(results: Sequence[JobResult], *, now: datetime | None = None) -> None:
    """Record the outcome of claimed jobs, with their effects, in one transaction."""
    if not results:
        return
    now = now or datetime.now(UTC)
    async with write_transaction():
        for result in results:
            for effect in result.effects:
                await effect()
        await enqueue_many([job for result in results for job in result.new_jobs])
        # done without a note: one statement for the group, and one for the payloads they replace (scrubbed secrets)
        done = [r for r in results if r.state == "done" and r.error is None]
        if done:
            sql = _DONE + f"({_ids(len(done))})"
            await run_sql(sql, now, *[r.job.id for r in done])
            await update_payloads({r.job.id: r.payload for r in done if r.payload is not None})
        for result in results:
            if result.state == "done" and result.error is not None:
                payload = _json_param(result.payload if result.payload is not None else result.job.payload)
                await run_sql(
                    "UPDATE job SET status = 'done', lease_owner = NULL, lease_expires_at = NULL, last_error = {}, "
                    "payload = {}, updated_at = {} WHERE id = {}",
                    _error_text(result.error), payload, now, result.job.id,
                )
            elif result.state == "reschedule":
                await run_sql(
                    "UPDATE job SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, "
                    "attempts = attempts - 1, due_at = {}, last_error = {}, updated_at = {} WHERE id = {}",
                    result.due_at or now, _error_text(result.error), now, result.job.id,
                )
            elif result.state == "retry":
                job = result.job
                if job.last_attempt:
                    status, due_at = JobStatus.dead, job.due_at
                else:
                    status, due_at = JobStatus.queued, now + backoff_delay(job.attempts)
                await run_sql(
                    "UPDATE job SET status = {}, lease_owner = NULL, lease_expires_at = NULL, due_at = {}, "
                    "last_error = {}, updated_at = {} WHERE id = {}",
                    str(status), due_at, _error_text(result.error or "failed"), now, job.id,
                )


def _error_text(error: str | None) -> str | None:
    """What a job keeps of an error: bounded, and with any phone number or address in it masked (an SMTP or
    Twilio message may quote the recipient)."""
    return None if error is None else mask_contact_details(error)[:2000]


async def counts_by_status() -> dict[str, int]:
    """How many jobs are queued, running, done and dead."""
    rows = await run_sql("SELECT status, COUNT(*) AS n FROM job GROUP BY status")
    counts = {str(status): 0 for status in JobStatus}
    counts.update({row["status"]: int(row["n"]) for row in rows})
    return counts


async def dead_jobs(limit: int = 200) -> list[DeadJob]:
    """The dead-letter jobs, most recent first."""
    rows = await (
        Job.select(Job.id, Job.kind, Job.payload, Job.attempts, Job.last_error, Job.updated_at, Job.created_at)
        .where(Job.status == JobStatus.dead)
        .order_by(Job.updated_at, ascending=False)
        .limit(limit)
    )
    return [DeadJob(id=row["id"], kind=row["kind"], payload=_json(row["payload"]), attempts=row["attempts"],
                    last_error=row["last_error"], updated_at=aware(row["updated_at"]),
                    created_at=aware(row["created_at"])) for row in rows]


async def retry_dead(job_id: int, *, now: datetime | None = None) -> bool:
    """Queue dead job ``job_id`` again with fresh attempts, due now; False when it is not dead."""
    now = now or datetime.now(UTC)
    async with write_transaction():
        rows = await run_sql(
            "UPDATE job SET status = 'queued', attempts = 0, due_at = {}, lease_owner = NULL, "
            "lease_expires_at = NULL, updated_at = {} WHERE id = {} AND status = 'dead' RETURNING id",
            now, now, job_id,
        )
    return bool(rows)
