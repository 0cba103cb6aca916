"""Reports asked for on the staff pages, made in the background of the server process that took the request.

Each run is an asyncio task: the content is assembled in the event loop, rendered in a rendering process of its own
(:class:`~survey.services.reports.batch.RenderPool`, one process, recycled: WeasyPrint keeps memory and matplotlib's
settings are per process, so neither the server nor two runs at once share them), and archived. The run's row says
how far it is: status, progress, and a lease renewed while it works, so that a run whose server died lists as
failed, :data:`~survey.services.reports.archive.INTERRUPTED`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from survey.services.reports.archive import INTERRUPTED, archive_report, update_run
from survey.services.reports.batch import RenderPool
from survey.services.reports.make import make_report
from survey.services.reports.spec import MadeReport, ReportSkipped, ReportSpec
from survey.settings import get_settings
from survey.tables import ReportRunStatus

__all__ = ["HEARTBEAT_SECONDS", "LEASE", "OnDemandReports", "RunProgress", "lease_end"]

log = logging.getLogger("survey.reports.on_demand")

LEASE = timedelta(minutes=10)
HEARTBEAT_SECONDS = 60.0  # the lease is renewed at least this often while a run renders (and on each progress)


def lease_end() -> datetime:
    """When a lease taken now runs out."""
    return datetime.now(UTC) + LEASE


# --- the background work ----------------------------------------------------------------------------------------


class RunProgress:
    """The ``progress`` callback of one run: remembers the latest value; :meth:`keep` writes it with a fresh lease."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.value = 0
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._stopped = False

    def __call__(self, value: int) -> None:
        self.value = int(value)
        # make_report may call it from another thread
        self._loop.call_soon_threadsafe(self._changed.set)

    async def keep(self) -> None:
        """Until :meth:`stop`: write the progress when it changes, and renew the lease at least every heartbeat."""
        while not self._stopped:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), HEARTBEAT_SECONDS)
            self._changed.clear()
            if self._stopped:
                return
            try:
                await update_run(self.run_id, progress=self.value, lease_expires_at=lease_end())
            except Exception:
                log.exception("recording the progress of report run %s failed", self.run_id)

    async def stop(self, keeper: asyncio.Task[None]) -> None:
        """End :meth:`keep` after its current write, so that nothing it writes follows the run's last state."""
        self._stopped = True
        self._changed.set()
        await keeper


class OnDemandReports:
    """The reports asked for on the staff pages that this server process is making, one asyncio task each.

    See the module docstring; the rendering process starts with the first run and stops with :meth:`stop`."""

    def __init__(self) -> None:
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self._pool: RenderPool | None = None

    @property
    def pool(self) -> RenderPool:
        if self._pool is None:
            self._pool = RenderPool(1, get_settings().report_recycle_after)
        return self._pool

    def start(self, run_id: int, spec: ReportSpec) -> None:
        task = asyncio.create_task(self._make(run_id, spec), name=f"report-run-{run_id}")
        self.tasks[run_id] = task
        task.add_done_callback(lambda _: self.tasks.pop(run_id, None))

    async def _render(self, run_id: int, spec: ReportSpec) -> MadeReport:
        await update_run(run_id, status=ReportRunStatus.rendering, lease_expires_at=lease_end())
        progress = RunProgress(run_id)
        keeper = asyncio.create_task(progress.keep())
        try:
            return await make_report(spec, progress=progress, pool=self.pool)
        finally:
            await progress.stop(keeper)

    async def _make(self, run_id: int, spec: ReportSpec) -> None:
        try:
            made = await self._render(run_id, spec)
            await archive_report(made, run_id=run_id)
        except ReportSkipped as skipped:  # too few answers: nothing to report, which is no failure
            await update_run(run_id, status=ReportRunStatus.skipped, error=str(skipped))
        except Exception as error:
            log.exception("report run %s (%s) failed", run_id, spec.title_key)
            await update_run(run_id, status=ReportRunStatus.failed, error=(str(error) or type(error).__name__)[:500])

    async def stop(self) -> None:
        """Cancel the runs still going (the server stops): each is recorded as failed, interrupted."""
        running = dict(self.tasks)
        for task in running.values():
            task.cancel()
        await asyncio.gather(*running.values(), return_exceptions=True)
        for run_id in running:
            with contextlib.suppress(Exception):
                await update_run(run_id, status=ReportRunStatus.failed, error=INTERRUPTED)
        if self._pool is not None:
            await asyncio.to_thread(self._pool.close)
            self._pool = None


