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

Example::

    worker = Worker(delivery_from_settings(), worker_id="w1", concurrency=8)
    processed = await worker.run_once()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

from survey.services.outbox import ClaimedJob, JobResult, Prepare, claim, finish
from survey.services.sending import HANDLERS, Delivery, Handler, prepare_sends

__all__ = ["Worker", "WorkerStats", "default_worker_id"]

log = logging.getLogger("survey.worker")


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
        self.stats = WorkerStats()
        self._stopping = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._results: asyncio.Queue[JobResult | None] = asyncio.Queue()
        self._in_flight: set[asyncio.Task[None]] = set()
        # one job per invitation at a time, until its outcome is committed (a duplicated job then sees it sent)
        self._busy: dict[tuple[str, object], asyncio.Event] = {}
        self._holding: dict[int, tuple[str, object]] = {}

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

    async def run(self) -> WorkerStats:
        """Work until :meth:`stop` is called."""
        log.info("worker %s started (concurrency %d, lease %ss)", self.worker_id, self.concurrency,
                 self.lease_seconds)
        await self._loop(until_idle=False)
        return self.stats

    async def run_once(self) -> int:
        """Work until no job is due; returns how many job outcomes were committed."""
        before = self.stats.done + self.stats.retried + self.stats.rescheduled
        await self._loop(until_idle=True)
        return self.stats.done + self.stats.retried + self.stats.rescheduled - before


