"""``python -m bench.contacts``: contact events accepted per second through ``POST /api/v1/contacts``.

Three runs against the real server (uvicorn, same settings as ``python -m bench``) on a fresh SQLite
database (or ``--database postgres``): single events from 32 clients, batches of 100 and batches of
1,000; each against the hello-world baseline (requests per second with the same clients), measured before
and after in the same run. Every event has a unique external id; afterwards the database is read back
and every acknowledged event must be stored exactly once (``source_key`` is unique, so "at most once"
holds by construction; the check is that none is missing and nothing unacknowledged appeared twice).
Exit status 0 when nothing is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.__main__ import (
    BENCH_PUBLIC_REQUESTS_PER_WINDOW,
    RESULTS_DIR,
    ROOT,
    bench_hello,
    database,
    free_port,
    run_load,
    serving,
    uvicorn_command,
)

PREPARE = """
import asyncio, sys
from survey.reference import seed_reference
from survey.services.apikeys import create_api_key

async def main():
    await seed_reference()
    key, _ = await create_api_key("bench")
    print(key)

asyncio.run(main())
"""

VERIFY = """
import asyncio, json, sys
from survey.tables import Contact

async def main():
    rows = await Contact.select(Contact.external_id).where(Contact.source == "bench")
    ids = [r["external_id"] for r in rows]
    print(json.dumps({"stored": len(ids), "distinct": len(set(ids)), "ids": ids}))

asyncio.run(main())
"""


def _event(run: str, number: int, occurred_at: str) -> dict[str, Any]:
    return {"source": "bench", "external_id": f"{run}-{number}", "channel": "call", "unit": "HN-BD",
            "service": "HOTLINE", "occurred_at": occurred_at, "phone": f"0913{number % 1_000_000:06d}",
            "language": "vi", "agent": f"agent-{number % 40:02d}"}


Requests = list[dict[str, Any]]


def _requests(run: str, batch: int, count: int, headers: dict[str, str]) -> tuple[Requests, list[list[str]]]:
    """``count`` requests of ``batch`` events each (1: a single event object); and the external ids of each."""
    occurred_at = (datetime.now(UTC) - timedelta(minutes=2)).isoformat()
    requests, ids = [], []
    for index in range(count):
        events = [_event(run, index * batch + n, occurred_at) for n in range(batch)]
        body = events[0] if batch == 1 else {"events": events}
        requests.append({"method": "POST", "path": "/api/v1/contacts", "body": json.dumps(body), "headers": headers,
                         "key": str(index)})
        ids.append([e["external_id"] for e in events])
    return requests, ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.contacts", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="at most this long per run (10)")
    parser.add_argument("--requests", type=int, default=20_000, help="at most this many single-event requests")
    parser.add_argument("--concurrency", type=int, default=32, help="clients of the single-event run (32)")
    parser.add_argument("--batch-concurrency", type=int, default=4, help="clients of the batch runs (4)")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured hello-world requests first")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (database, logs)")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="survey-bench-contacts-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    print(f"bench.contacts: {args.seconds:g} s per run, {args.concurrency} clients (single), "
          f"{args.batch_concurrency} clients (batches), {args.database}; work directory {workdir}", flush=True)
    db = database(args.database, workdir)
    port = free_port()
    survey_env = {
        **env, "SURVEY_DATABASE_URL": db.url, "SURVEY_VAR_DIR": str(workdir / "var"),
        "SURVEY_SECRET_KEY": secrets.token_urlsafe(48), "SURVEY_BASE_URL": f"http://127.0.0.1:{port}",
        "SURVEY_PUBLIC_REQUESTS_PER_WINDOW": str(BENCH_PUBLIC_REQUESTS_PER_WINDOW),
        "SURVEY_WORKER_IN_PROCESS": "false",  # the sends are bench.delivery's; here only the intake is measured
        "PICCOLO_CONF": "survey.piccolo_conf",
    }
    runs = [("single", 1, args.concurrency, args.requests), ("batch100", 100, args.batch_concurrency, 2_000),
            ("batch1000", 1000, args.batch_concurrency, 200)]
    results: dict[str, Any] = {}
    try:
        hello_args = argparse.Namespace(concurrency=args.concurrency, requests=args.requests, seconds=args.seconds,
                                        client="raw", warmup=args.warmup)
        print("hello-world ...", flush=True)
        hello_before = bench_hello(hello_args, workdir, env)
        survey_cli = Path(sys.executable).parent / "survey"
        subprocess.run([str(survey_cli), "migrate"], cwd=ROOT, env=survey_env, check=True, capture_output=True)
        key = subprocess.run([sys.executable, "-c", PREPARE], cwd=ROOT, env=survey_env, check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()[-1]
        headers = {"Authorization": f"Bearer {key}"}
        acknowledged: list[str] = []
        command = uvicorn_command("survey.app:create_app", port, factory=True)
        with serving(command, port, "/health", survey_env, workdir / "survey.log"):
            for name, batch, clients, limit in runs:
                started = time.perf_counter()
                requests, ids = _requests(name, batch, limit, headers)
                print(f"{name}: {len(requests)} requests of {batch} event(s) prepared in "
                      f"{time.perf_counter() - started:.1f} s ...", flush=True)
                spec = {"host": "127.0.0.1", "port": port, "concurrency": clients, "max_requests": limit,
                        "seconds": args.seconds, "client": "raw", "requests": requests, "warmup": []}
                result = run_load(spec, workdir, name, env)
                done = [ids[index] for index, _, status in result["records"] if status in (200, 201)]
                acknowledged += [external_id for chunk in done for external_id in chunk]
                events = sum(len(chunk) for chunk in done)
                results[name] = {"batch": batch, "clients": clients, "requests": result["requests"],
                                 "statuses": result["statuses"], "elapsed_s": result["elapsed_s"],
                                 "events": events, "events_per_s": events / result["elapsed_s"],
                                 "requests_per_s": result["rate"], "p50_ms": result["p50_ms"],
                                 "p99_ms": result["p99_ms"]}
        print("hello-world again ...", flush=True)
        hello_after = bench_hello(hello_args, workdir, env)
        stored = json.loads(subprocess.run([sys.executable, "-c", VERIFY], cwd=ROOT, env=survey_env, check=True,
                                           capture_output=True, text=True).stdout.strip().splitlines()[-1])
    finally:
        if db.stop:
            subprocess.run(db.stop, capture_output=True)
        if not args.keep:
            subprocess.run(["rm", "-rf", str(workdir)], check=False)

    hello_rate = (hello_before["rate"] + hello_after["rate"]) / 2
    stored_ids = set(stored["ids"])
    missing = len(set(acknowledged) - stored_ids)
    twice = stored["stored"] - stored["distinct"]
    passed = missing == 0 and twice == 0
    rows = [("hello-world requests/s (mean)", f"{hello_rate:,.0f} (before {hello_before['rate']:,.0f}, "
                                              f"after {hello_after['rate']:,.0f})")]
    for name, figures in results.items():
        rows.append((f"{name}: events/s (ratio to hello)",
                     f"{figures['events_per_s']:,.0f} ({figures['events_per_s'] / hello_rate:.3f}); "
                     f"{figures['requests_per_s']:,.1f} requests/s, p50 {figures['p50_ms']:.0f} ms, "
                     f"p99 {figures['p99_ms']:.0f} ms; statuses "
                     + ", ".join(f"{k}: {v}" for k, v in sorted(figures["statuses"].items()))))
    rows += [("events acknowledged / stored", f"{len(acknowledged):,} / {stored['stored']:,}"),
             ("missing (must be 0)", str(missing)), ("stored twice (must be 0)", str(twice)),
             ("result", "PASS" if passed else "FAIL")]
    width = max(len(label) for label, _ in rows)
    print()
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"contacts-{args.database}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps({
        "at": datetime.now(UTC).isoformat(timespec="seconds"), "settings": vars(args), "cpus": os.cpu_count(),
        "hello_per_s": hello_rate, "hello": [{k: v for k, v in r.items() if k != "records"}
                                             for r in (hello_before, hello_after)],
        "runs": results, "acknowledged": len(acknowledged), "stored": stored["stored"], "missing": missing,
        "stored_twice": twice, "passed": passed,
    }, indent=2))
    print(f"\nfigures written to {out.relative_to(ROOT)}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
