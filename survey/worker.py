"""The outbox worker: claims due jobs under a lease, runs their handlers, commits their outcomes in groups.

One worker keeps up to ``2 × concurrency`` jobs claimed and ``concurrency`` of them sending at once
(each channel's token bucket paces the sends). Each claim also prepares its batch in the same
transaction (:func:`~survey.services.sending.prepare_sends`: link tokens and "sending" markers), so a
message never leaves before its link works. Outcomes are committed by one writer task as they
come in: whatever finished while the previous commit ran goes into the next one (group commit), so
the window between a provider accepting a message and the database knowing it stays one commit
long. A crash in that window leaves a job whose message may be out: the worker that takes it over
asks the provider before sending again (see :mod:`survey.services.sending`).

``survey worker`` runs :meth:`Worker.run` until SIGINT/SIGTERM; the demo server runs the same loop
in its own process (``SURVEY_WORKER_IN_PROCESS``). ``Worker.run_once`` works until nothing is due.

Beside the jobs, :meth:`Worker.run` makes the due scheduled reports, at start and every
``schedules_every`` seconds (:func:`~survey.services.reports.schedules.run_due_schedules`, in a task
of its own: rendering runs in a thread, so sending goes on meanwhile); their mailing is a job like any.
Each of those rounds also escalates overdue cases and evaluates the alerts; at start and hourly it erases the
contact details past their retention period (:meth:`Worker.retain`, ``SURVEY_CONTACT_RETENTION_DAYS``).

Example::

    worker = Worker(delivery_from_settings(), worker_id="w1", concurrency=8)
    processed = await worker.run_once()
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from survey.services.outbox import ClaimedJob, JobResult, Prepare, claim, finish
from survey.services.sending import HANDLERS, Delivery, Handler, prepare_sends

if TYPE_CHECKING:
    from survey.services.reports.schedules import ScheduleRunSummary

__all__ = ["Worker", "WorkerStats", "default_worker_id"]

log = logging.getLogger("survey.worker")
RETENTION_EVERY = 3600.0  # seconds between a worker's retention runs: contact details expire by the day


def default_worker_id() -> str:
    """``host:pid``, unique among the workers sharing a database."""
    return f"{socket.gethostname()}:{os.getpid()}"[:80]


@dataclass
class WorkerStats:
    claimed: int = 0
    done: int = 0
    retried: int = 0
    rescheduled: int = 0
    commits: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class Worker:
    """Claims and runs outbox jobs; see the module docstring."""

    def __init__(
        self,
        delivery: Delivery,
        *,
        worker_id: str | None = None,
        concurrency: int = 8,
        lease_seconds: float | None = None,
        poll_interval: float = 1.0,
        handlers: Mapping[str, Handler] | None = None,
        prepare: Prepare | None = prepare_sends,
        schedules_every: float | None = 60.0,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.delivery = delivery
        self.worker_id = worker_id or default_worker_id()
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds if lease_seconds is not None else delivery.settings.job_lease_seconds
        self.poll_interval = poll_interval
        self.handlers = dict(handlers or HANDLERS)
        self.prepare = prepare
        self.schedules_every = schedules_every  # None: this worker makes no scheduled reports
        self.stats = WorkerStats()
        self._stopping = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._results: asyncio.Queue[JobResult | None] = asyncio.Queue()
        self._in_flight: set[asyncio.Task[None]] = set()
        # one job per invitation at a time, until its outcome is committed (a duplicated job then sees it sent)
        self._busy: dict[tuple[str, object], asyncio.Event] = {}
        self._holding: dict[int, tuple[str, object]] = {}
        self._retained_at: float | None = None  # the loop's last retention run (monotonic seconds)

    def stop(self) -> None:
        """Claim nothing more; jobs in hand finish and are committed."""
        self._stopping.set()

    @property
    def _window(self) -> int:
        # claimed but not yet sending jobs wait for a slot; keep that wait well inside the lease
        rates = [bucket.rate_per_second for bucket in self.delivery.buckets.values()] or [1.0]
        by_lease = int(min(rates) * self.lease_seconds / 4)
        return max(1, min(2 * self.concurrency, max(by_lease, 1)))

    async def _run_job(self, job: ClaimedJob) -> None:
        key = (job.kind, job.payload.get("invitation_id", job.id))
        while key in self._busy:
            await self._busy[key].wait()
        self._busy[key] = asyncio.Event()
        self._holding[job.id] = key
        async with self._slots:
            handler = self.handlers.get(job.kind)
            try:
                if job.attempts > job.max_attempts:
                    # claimed again after its last attempt's lease ran out: its worker died mid-way
                    result = JobResult.retry(job, "lease expired during the last attempt (worker stopped?)")
                elif handler is None:
                    result = JobResult.retry(job, f"no handler for job kind {job.kind!r}")
                else:
                    result = await handler(job, self.delivery)
            except Exception as error:
                log.exception("job %s (%s) failed", job.id, job.kind)
                result = JobResult.retry(job, f"{type(error).__name__}: {error}")
        await self._results.put(result)

    async def _writer(self) -> None:
        """Commit outcomes as they come, grouping whatever is waiting (group commit)."""
        while True:
            first = await self._results.get()
            batch = [first] if first is not None else []
            stop = first is None
            while not self._results.empty():
                item = self._results.get_nowait()
                if item is None:
                    stop = True
                else:
                    batch.append(item)
            if batch:
                await self._commit(batch)
            if stop:
                return

    async def _commit(self, batch: list[JobResult]) -> None:
        try:
            await self._finish(batch)
        finally:
            for result in batch:
                key = self._holding.pop(result.job.id, None)
                event = self._busy.pop(key, None) if key is not None else None
                if event is not None:
                    event.set()

    async def _finish(self, batch: list[JobResult]) -> None:
        for attempt in range(5):
            try:
                await finish(batch, now=self.delivery.clock())
                break
            except Exception:
                # the jobs stay leased: after the lease another claim runs them (maybe a duplicate send)
                log.exception("committing %d job outcomes failed (try %d)", len(batch), attempt + 1)
                await asyncio.sleep(0.2 * (attempt + 1))
        else:
            return
        self.stats.commits += 1
        for result in batch:
            self.stats.by_kind[result.job.kind] = self.stats.by_kind.get(result.job.kind, 0) + 1
            if result.state == "done":
                self.stats.done += 1
            elif result.state == "retry":
                self.stats.retried += 1
            else:
                self.stats.rescheduled += 1

    async def _claim_more(self) -> int:
        room = self._window - len(self._in_flight)
        if room <= 0:
            return 0
        try:
            jobs = await claim(self.worker_id, limit=room, lease_seconds=self.lease_seconds,
                               now=self.delivery.clock(), prepare=self.prepare)
        except Exception:
            log.exception("claiming jobs failed")
            return 0
        self.stats.claimed += len(jobs)
        for job in jobs:
            task = asyncio.create_task(self._run_job(job))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(jobs)

    async def _loop(self, *, until_idle: bool) -> None:
        writer = asyncio.create_task(self._writer())
        try:
            while not self._stopping.is_set():
                claimed = await self._claim_more()
                if claimed:
                    # claim again once half the window has drained
                    while len(self._in_flight) > self._window // 2 and not self._stopping.is_set():
                        await asyncio.wait(set(self._in_flight), return_when=asyncio.FIRST_COMPLETED)
                    continue
                if self._in_flight:
                    await asyncio.wait(set(self._in_flight), return_when=asyncio.FIRST_COMPLETED)
                    continue
                if until_idle:
                    # nothing due and nothing running: wait for the writer, then look once more
                    await self._drain_writer(writer)
                    writer = asyncio.create_task(self._writer())
                    if not await self._claim_more():
                        break
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=self.poll_interval)
        finally:
            if self._in_flight:
                await asyncio.gather(*self._in_flight, return_exceptions=True)
            await self._drain_writer(writer)

    async def _drain_writer(self, writer: asyncio.Task[None]) -> None:
        if writer.done():
            return
        await self._results.put(None)
        await writer

    async def run_schedules(self) -> ScheduleRunSummary | None:
        """Make the due scheduled reports once and queue their mailing; ``None`` when that failed (logged)."""
        try:
            # the reports package loads the PDF renderer (about a second): not on the loop that sends
            module = await asyncio.to_thread(importlib.import_module, "survey.services.reports.schedules")
            summary: ScheduleRunSummary = await module.run_due_schedules(delivery=self.delivery,
                                                                         worker_id=self.worker_id)
        except Exception:
            log.exception("running the report schedules failed")
            return None
        for run in summary.runs:
            log.info("schedule %s (%s) %s: run %s %s", run.schedule_id, run.schedule_name, run.period, run.run_id,
                     run.status)
        return summary

    async def escalate(self) -> int | None:
        """Escalate the follow-up cases still open at their due time (once each); ``None`` when that failed."""
        from survey.services.followups import escalate_overdue

        try:
            escalated = await escalate_overdue(self.delivery.clock())
        except Exception:
            log.exception("escalating the overdue follow-up cases failed")
            return None
        if escalated:
            log.info("escalated %d overdue follow-up case(s)", escalated)
        return escalated

    async def watch(self) -> Any:
        """Open and close the alerts on the rolling window (:func:`survey.services.alerts.evaluate_alerts`)."""
        from survey.services.alerts import evaluate_alerts

        try:
            evaluation = await evaluate_alerts(self.delivery.clock())
        except Exception:
            log.exception("evaluating the alerts failed")
            return None
        if evaluation.raised or evaluation.closed:
            log.info("alerts raised for %s, closed for %s", ", ".join(evaluation.raised) or "none",
                     ", ".join(evaluation.closed) or "none")
        return evaluation

    async def retain(self) -> Any:
        """Erase the contact details past their retention period
        (:func:`~survey.services.retention.erase_expired_contacts`); ``None`` when that failed (logged)."""
        from survey.services.retention import erase_expired_contacts

        try:
            summary = await erase_expired_contacts(self.delivery.clock())
        except Exception:
            log.exception("erasing the expired contact details failed")
            return None
        if summary.erased_anything:
            log.info("retention: erased the contact details of %d respondent(s), %d sandbox message(s), %d job(s)",
                     summary.respondents, summary.sandbox_messages, summary.jobs)
        return summary

    async def _schedules_loop(self, every: float) -> None:
        while not self._stopping.is_set():
            await self.escalate()
            await self.watch()
            loop_time = asyncio.get_running_loop().time()
            if self._retained_at is None or loop_time - self._retained_at >= RETENTION_EVERY:
                self._retained_at = loop_time
                await self.retain()
            await self.run_schedules()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=every)

    async def run(self) -> WorkerStats:
        """Work until :meth:`stop` is called (and make the due scheduled reports, see the module docstring)."""
        log.info("worker %s started (concurrency %d, lease %ss)", self.worker_id, self.concurrency,
                 self.lease_seconds)
        schedules = (asyncio.create_task(self._schedules_loop(self.schedules_every))
                     if self.schedules_every is not None else None)
        try:
            await self._loop(until_idle=False)
        finally:
            if schedules is not None:
                # a report being made is left to its lease: the next worker takes the run over
                schedules.cancel()
                await asyncio.gather(schedules, return_exceptions=True)
        return self.stats

    async def run_once(self, *, schedules: bool = False) -> int:
        """Work until no job is due (first making the due scheduled reports, with ``schedules``); returns how many
        job outcomes were committed."""
        if schedules:
            await self.escalate()
            await self.watch()
            await self.retain()
            await self.run_schedules()
        before = self.stats.done + self.stats.retried + self.stats.rescheduled
        await self._loop(until_idle=True)
        return self.stats.done + self.stats.retried + self.stats.rescheduled - before


