"""``python -m bench.delivery``: outbox worker sends per second to the local Twilio stub.

Two runs on a fresh SQLite database (or ``--database postgres`` with ``SURVEY_BENCH_POSTGRES_URL``):
throttled by the SMS token bucket at ``--rate`` (default 100/s; target ≥ 95% of it) and unthrottled
(the ceiling: the real ``twilio`` SDK over loopback, the claims and the group commits). Each run plans
its invitations through the contacts service, then times ``Worker.run_once`` until all are sent.
Exit status 0 when the throttled run reaches the target and every message went out exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SHARE = 0.95


def _prepare_environment(args: argparse.Namespace, work: Path) -> None:
    os.environ["SURVEY_VAR_DIR"] = str(work)
    os.environ.setdefault("SURVEY_SECRET_KEY", "bench-secret-key-" + "x" * 32)
    if args.database == "postgres":
        url = os.environ.get("SURVEY_BENCH_POSTGRES_URL")
        if not url:
            sys.exit("--database postgres needs SURVEY_BENCH_POSTGRES_URL (an empty database)")
        os.environ["SURVEY_DATABASE_URL"] = url
    else:
        os.environ["SURVEY_DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite3'}"
    os.environ["SURVEY_WORKER_IN_PROCESS"] = "false"
    os.environ["PICCOLO_CONF"] = "survey.piccolo_conf"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


async def _plan(count: int, start: int, now: datetime) -> None:
    from survey.db import run_sql as execute
    from survey.services.contacts import ContactEvent, accept_contacts

    for first in range(start, start + count, 1000):
        events = [ContactEvent(source="bench", external_id=f"b-{i}", channel="call", unit="HN-BD", service="HOTLINE",
                               occurred_at=now - timedelta(minutes=30), phone=f"0913{i:06d}")
                  for i in range(first, min(first + 1000, start + count))]
        await accept_contacts(events, now=now)
    await execute("UPDATE job SET due_at = {} WHERE status = 'queued' AND kind = 'send_invitation'",
                  now - timedelta(seconds=1))


async def _run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from survey.db import migrate
    from survey.reference import seed_reference
    from survey.services.questionnaires import publish_bundled
    from survey.services.sending import delivery_from_settings
    from survey.settings import get_settings
    from survey.worker import Worker
    from tests.support.twilio_stub import TwilioStub

    await migrate()
    await seed_reference()
    await publish_bundled()
    # 10:00 in Hà Nội today: outside quiet hours whatever the time of the run
    from zoneinfo import ZoneInfo

    now = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).replace(hour=10, minute=0, second=0).astimezone(UTC)
    figures: dict[str, float] = {}
    ok = True
    with TwilioStub(latency=args.latency) as stub:
        settings = replace(get_settings(), twilio_account_sid=stub.account_sid, twilio_auth_token=stub.auth_token,
                           twilio_messaging_service_sid="MG" + "0" * 32, twilio_api_base_url=stub.base_url)
        start = 0
        for label, rate, count in (("throttled", args.rate, int(args.rate * args.seconds)),
                                   ("unthrottled", 1_000_000.0, args.ceiling_messages)):
            await _plan(count, start, now)
            start += count
            stub.reset()
            delivery = delivery_from_settings(settings, clock=lambda: now, sms_rate=rate)
            worker = Worker(delivery, worker_id=f"bench-{label}", concurrency=args.concurrency)
            began = time.perf_counter()
            await worker.run_once()
            elapsed = time.perf_counter() - began
            await delivery.aclose()
            sent = Counter(message["To"] for message in stub.messages)
            exactly_once = len(sent) == count and set(sent.values()) == {1}
            ok &= exactly_once
            figures[label] = count / elapsed
            print(f"{label:<12} {count:>6} messages in {elapsed:6.2f} s: {count / elapsed:8.1f} sends/s"
                  + (f" (limit {rate:.0f}/s: {count / elapsed / rate:.1%})" if label == "throttled" else "")
                  + ("" if exactly_once else "  NOT exactly once"))
    share = figures["throttled"] / args.rate
    passed = ok and share >= TARGET_SHARE
    print(f"throttled share of the limit {share:.1%} (target ≥ {TARGET_SHARE:.0%}); ceiling "
          f"{figures['unthrottled']:.0f} sends/s; {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery", description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rate", type=float, default=100.0, help="throttled run: messages per second (100)")
    parser.add_argument("--seconds", type=float, default=5.0, help="throttled run length in seconds (5)")
    parser.add_argument("--ceiling-messages", type=int, default=2000, help="messages of the unthrottled run (2000)")
    parser.add_argument("--concurrency", type=int, default=8, help="worker concurrency (8)")
    parser.add_argument("--latency", type=float, default=0.0, help="stub answer delay in seconds (0)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as work:
        _prepare_environment(args, Path(work))
        sys.exit(asyncio.run(_run(args)))


if __name__ == "__main__":
    main()
