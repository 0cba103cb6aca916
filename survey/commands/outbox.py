"""``survey worker`` and ``survey jobs``: run the outbox worker, look at jobs, queue dead ones again."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys

import click

from survey.commands import run

__all__ = ["register"]


@click.command("worker")
@click.option("--once", is_flag=True, help="Work until no job is due, then exit.")
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Messages sent at the same time by this worker.")
@click.option("--id", "worker_id", default=None, help="Name of this worker in job leases (default: host:pid).")
@click.option("--lease", "lease_seconds", default=None, type=click.FloatRange(1, 3600),
              help="Lease on claimed jobs in seconds (default: SURVEY_JOB_LEASE_SECONDS).")
@click.option("--report-schedules/--no-report-schedules", default=True, show_default=True,
              help="Also make the due scheduled reports (at start, then every minute) and mail them.")
def worker(once: bool, concurrency: int, worker_id: str | None, lease_seconds: float | None,
           report_schedules: bool) -> None:
    """Send the due invitations and reminders from the outbox (Twilio, SMTP or the sandbox).

    Run several beside the server in production; each claims jobs under a lease, so none is sent
    twice while its lease runs, and the jobs of a worker that died are taken over once it ends.
    Stops cleanly on Ctrl-C or SIGTERM after committing what it has sent. It also makes the
    scheduled PDF reports once their period has closed (``survey reports schedule``) and mails them.
    """
    from survey.services.sending import delivery_from_settings
    from survey.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("twilio", "piccolo", "aiosmtplib"):  # a line per request or query otherwise
        logging.getLogger(chatty).setLevel(logging.WARNING)

    async def go() -> None:
        from piccolo.engine.postgres import PostgresEngine

        from survey.db import engine

        db = engine()
        pooled = isinstance(db, PostgresEngine)
        if pooled:  # without a pool every transaction opens a connection: a longer window between send and commit
            await db.start_connection_pool(min_size=2, max_size=4)
        delivery = delivery_from_settings()
        runner = Worker(delivery, worker_id=worker_id, concurrency=concurrency, lease_seconds=lease_seconds,
                        schedules_every=60.0 if report_schedules else None)
        channels = ", ".join(f"{kind}: {delivery.channel_label(kind)}" for kind in ("sms", "email"))
        click.echo(f"worker {runner.worker_id}: {channels}; concurrency {concurrency}, lease {runner.lease_seconds}s",
                   err=True)
        loop = asyncio.get_running_loop()
        if not once:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, runner.stop)
        try:
            if once:
                await runner.run_once(schedules=report_schedules)
            else:
                await runner.run()
        finally:
            await delivery.aclose()
            if pooled:
                await db.close_connection_pool()
            close_pool = getattr(db, "close_pool", None)
            if close_pool is not None:
                await close_pool()
        stats = runner.stats
        click.echo(f"worker {runner.worker_id}: {stats.done} done, {stats.retried} retried, "
                   f"{stats.rescheduled} rescheduled, in {stats.commits} commits", err=True)

    run(go())


@click.group("jobs")
def jobs() -> None:
    """Look at the outbox: counts, dead letters; queue a dead job again."""


@jobs.command("list")
def jobs_list() -> None:
    """How many jobs are queued, running, done and dead."""
    from survey.services.outbox import counts_by_status

    counts = run(counts_by_status())
    for status, count in counts.items():
        click.echo(f"{status:<8} {count:>8}")


@jobs.command("dead")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def jobs_dead(limit: int, as_json: bool) -> None:
    """The jobs that failed their last attempt, most recent first, with their last error."""
    from survey.services.outbox import dead_jobs

    rows = run(dead_jobs(limit))
    if not rows:
        click.echo("no dead jobs")
        return
    for job in rows:
        if as_json:
            click.echo(json.dumps({"id": job.id, "kind": job.kind, "payload": {k: v for k, v in job.payload.items()
                                                                               if k != "token"},
                                   "attempts": job.attempts, "last_error": job.last_error,
                                   "failed_at": job.updated_at.isoformat() if job.updated_at else None},
                                  ensure_ascii=False))
        else:
            target = job.payload.get("invitation_id")
            click.echo(f"#{job.id} {job.kind}" + (f" invitation {target}" if target else "")
                       + f" after {job.attempts} attempts: {job.last_error or '-'}")


@jobs.command("retry")
@click.argument("job_id", type=int)
def jobs_retry(job_id: int) -> None:
    """Queue dead job JOB_ID again, due now, with fresh attempts."""
    from survey.services.outbox import retry_dead

    if not run(retry_dead(job_id)):
        click.echo(f"job {job_id} is not a dead job (unknown, or not dead)", err=True)
        sys.exit(1)
    click.echo(f"job {job_id} queued again")


def register(main: click.Group) -> None:
    """Add ``worker`` and ``jobs`` to ``main``."""
    main.add_command(worker)
    main.add_command(jobs)
