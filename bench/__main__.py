"""``python -m bench``: every benchmark in sequence: survey submissions per second against a bare Litestar
app, then ``bench.scoring``, ``bench.delivery``, ``bench.contacts``, ``bench.reports``, ``bench.scale`` and
``bench.pages`` (``--only NAME`` runs one).

See ``bench/README.md``. Exit status 0 when every run passes (for the submissions: ratio ≥ target, nothing
missing, no token answered twice), 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.survey_db import answer_set

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGET_RATIO = 0.25
# every public request counts against the caller's address; one load generator on 127.0.0.1 is one address
BENCH_PUBLIC_REQUESTS_PER_WINDOW = 1_000_000_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def uvicorn_command(app: str, port: int, *, factory: bool = False) -> list[str]:
    """The same server settings for both apps: one worker, httptools, uvloop when installed, quiet."""
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
               "--http", "httptools", "--loop", loop, "--log-level", "warning", "--no-access-log"]
    return [*command, "--factory"] if factory else command


@contextlib.contextmanager
def serving(command: list[str], port: int, ready_path: str, env: dict[str, str], log: Path) -> Iterator[None]:
    """Run the server ``command`` until the block ends; wait until ``ready_path`` answers 200."""
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{ready_path}", timeout=2) as reply:
                        if reply.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server not ready after 60 s:\n{log.read_text()[-3000:]}")
                time.sleep(0.1)
            yield
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def run_load(spec: dict[str, Any], workdir: Path, name: str, env: dict[str, str]) -> dict[str, Any]:
    """Run the load generator in its own process and return its result."""
    spec_path, result_path = workdir / f"{name}-spec.json", workdir / f"{name}-result.json"
    spec_path.write_text(json.dumps(spec))
    subprocess.run([sys.executable, "-m", "bench.load", str(spec_path), str(result_path)], cwd=ROOT, env=env,
                   check=True, timeout=spec["seconds"] + 120)
    return json.loads(result_path.read_text())


def submission(number: int) -> str:
    return json.dumps({"answers": answer_set(number), "language": "vi"}, ensure_ascii=False)


@dataclass
class Database:
    url: str
    kind: str
    stop: list[str] | None = None


def database(kind: str, workdir: Path) -> Database:
    if kind == "sqlite":
        return Database(f"sqlite:///{workdir / 'bench.sqlite3'}", kind)
    url = os.environ.get("SURVEY_BENCH_POSTGRES_URL")
    if url:
        return Database(url, kind)
    # a directory of its own: PostgreSQL runs as the 'postgres' user, who cannot enter the private work directory
    pg_dir = Path(tempfile.mkdtemp(prefix="survey-bench-pg-"))
    started = subprocess.run([str(ROOT / "scripts" / "pg.sh"), "start", str(pg_dir)], capture_output=True, text=True)
    if started.returncode != 0:
        raise SystemExit(f"could not start PostgreSQL with scripts/pg.sh: {started.stderr.strip()}\n"
                         "Set SURVEY_BENCH_POSTGRES_URL to an empty database instead.")
    return Database(started.stdout.strip().splitlines()[-1], kind, [str(ROOT / "scripts" / "pg.sh"), "stop",
                                                                      str(pg_dir)])


def bench_hello(args: argparse.Namespace, workdir: Path, env: dict[str, str]) -> dict[str, Any]:
    port = free_port()
    spec = {
        "host": "127.0.0.1", "port": port, "concurrency": args.concurrency, "max_requests": args.requests,
        "seconds": args.seconds, "client": args.client,
        "requests": [{"method": "POST", "path": "/", "body": submission(n)} for n in range(args.requests)],
        "warmup": [{"method": "POST", "path": "/", "body": submission(n)} for n in range(args.warmup)],
    }
    with serving(uvicorn_command("bench.hello:app", port), port, "/", env, workdir / "hello.log"):
        return run_load(spec, workdir, "hello", env)


def bench_survey(args: argparse.Namespace, workdir: Path, env: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    port = free_port()
    db = database(args.database, workdir)
    try:
        survey_env = {
            **env,
            "SURVEY_DATABASE_URL": db.url,
            "SURVEY_VAR_DIR": str(workdir / "var"),
            "SURVEY_SECRET_KEY": secrets.token_urlsafe(48),
            "SURVEY_BASE_URL": f"http://127.0.0.1:{port}",
            "SURVEY_PUBLIC_REQUESTS_PER_WINDOW": str(BENCH_PUBLIC_REQUESTS_PER_WINDOW),
            "PICCOLO_CONF": "survey.piccolo_conf",
        }
        started = time.perf_counter()
        survey_cli = Path(sys.executable).parent / "survey"
        subprocess.run([str(survey_cli), "migrate"], cwd=ROOT, env=survey_env, check=True, capture_output=True)
        tokens_path = workdir / "tokens.json"
        subprocess.run([sys.executable, "-m", "bench.survey_db", "prepare", str(args.requests + args.warmup),
                        str(tokens_path)], cwd=ROOT, env=survey_env, check=True)
        tokens: list[str] = json.loads(tokens_path.read_text())
        print(f"  prepared {len(tokens)} links in {time.perf_counter() - started:.1f} s", flush=True)
        measured, warmup = tokens[: args.requests], tokens[args.requests :]
        spec = {
            "host": "127.0.0.1", "port": port, "concurrency": args.concurrency, "max_requests": args.requests,
            "seconds": args.seconds, "client": args.client, "duplicate_share": args.duplicates,
            "requests": [{"method": "POST", "path": f"/s/{t}", "body": submission(n), "key": t}
                         for n, t in enumerate(measured)],
            "warmup": [{"method": "POST", "path": f"/s/{t}", "body": submission(n)} for n, t in enumerate(warmup)],
        }
        command = uvicorn_command("survey.app:create_app", port, factory=True)
        with serving(command, port, "/health", survey_env, workdir / "survey.log"):
            result = run_load(spec, workdir, "survey", env)
        # the server has stopped: now read back what it acknowledged
        acknowledged: Counter[int] = Counter(index for index, _, status in result["records"] if status == 200)
        expected = {measured[index]: answer_set(index) for index in acknowledged}
        expected_path, report_path = workdir / "expected.json", workdir / "verify.json"
        expected_path.write_text(json.dumps({"acknowledged": expected, "warmup": warmup}, ensure_ascii=False))
        subprocess.run([sys.executable, "-m", "bench.survey_db", "verify", str(expected_path), str(report_path)],
                       cwd=ROOT, env=survey_env, check=True)
        report = json.loads(report_path.read_text())
        report["warmup_submissions"] = len(warmup)
        report["acknowledged_twice"] = sum(1 for n in acknowledged.values() if n > 1)
        duplicates = [status for _, duplicate, status in result["records"] if duplicate]
        report["duplicates_sent"] = len(duplicates)
        report["duplicate_statuses"] = dict(Counter(str(s) for s in duplicates))
        return result, report
    finally:
        if db.stop:
            subprocess.run(db.stop, capture_output=True)


# the other benchmarks, run after the submissions as modules of their own (each prints its own figures)
OTHER_BENCHMARKS: dict[str, list[str]] = {
    "scoring": ["-m", "bench.scoring", "--repeat", "1"],
    "delivery": ["-m", "bench.delivery"],
    "contacts": ["-m", "bench.contacts"],
    "reports": ["-m", "bench.reports"],
    "scale": ["-m", "bench.scale"],
    "pages": ["-m", "bench.pages"],
}
BENCHMARKS = ("survey", *OTHER_BENCHMARKS)


def parser() -> argparse.ArgumentParser:
    """The options of ``python -m bench`` (those of the submission benchmark with them)."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=BENCHMARKS, default=None,
                        help="run one benchmark: survey (submissions; the options below are its), scoring, delivery, "
                             "contacts, reports, scale or pages")
    parser.add_argument("--requests", type=int, default=20_000, help="at most this many requests per target")
    parser.add_argument("--seconds", type=float, default=10.0, help="and at most this long per target")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent clients (keep-alive connections)")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite",
                        help="postgres: SURVEY_BENCH_POSTGRES_URL, or a server started with scripts/pg.sh")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw", help="load generator's HTTP client")
    parser.add_argument("--duplicates", type=float, default=0.02, help="share of re-sent (already used) tokens")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests before the clock starts")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (databases, logs)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    outcomes: dict[str, int] = {}
    for name in BENCHMARKS if args.only is None else (args.only,):
        print(f"\n=== {name} ===", flush=True)
        if name == "survey":
            outcomes[name] = bench_submissions(args)
        else:
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            outcomes[name] = subprocess.run([sys.executable, *OTHER_BENCHMARKS[name]], cwd=ROOT, env=env).returncode
    if len(outcomes) > 1:
        print("\n" + ", ".join(f"{name}: {'PASS' if code == 0 else 'FAIL'}" for name, code in outcomes.items()))
    return 0 if all(code == 0 for code in outcomes.values()) else 1


def bench_submissions(args: argparse.Namespace) -> int:
    """Survey submissions per second against the hello-world baseline; 0 when the run passes."""
    return 0 if submission_figures(args)["passed"] else 1


def submission_figures(args: argparse.Namespace) -> dict[str, Any]:
    """Run the submission benchmark with the options ``args`` (see :func:`parser`), print its table, write its JSON
    and return its figures (``ratio``, ``passed``, ...)."""
    workdir = Path(tempfile.mkdtemp(prefix="survey-bench-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    print(f"bench: {args.requests} requests or {args.seconds:g} s per target, {args.concurrency} clients, "
          f"{args.database}, client {args.client}; work directory {workdir}", flush=True)
    try:
        # the baseline runs before and after the survey: a machine whose load drifts moves both alike
        print("hello-world ...", flush=True)
        hello_before = bench_hello(args, workdir, env)
        print("survey submissions ...", flush=True)
        survey, report = bench_survey(args, workdir, env)
        print("hello-world again ...", flush=True)
        hello_after = bench_hello(args, workdir, env)
    finally:
        if not args.keep:
            subprocess.run(["rm", "-rf", str(workdir)], check=False)

    hello_runs = [hello_before, hello_after]
    hello_rate = sum(run["rate"] for run in hello_runs) / len(hello_runs)
    submissions_rate = survey["statuses"].get("200", 0) / survey["elapsed_s"]
    ratio = submissions_rate / hello_rate if hello_rate else 0.0
    passed = (ratio >= TARGET_RATIO and report["missing"] == 0 and report["acknowledged_twice"] == 0
              and report["tokens_with_several_responses"] == 0)
    rows = [
        ("hello-world requests/s (mean)", f"{hello_rate:,.0f} (before {hello_before['rate']:,.0f}, "
                                          f"after {hello_after['rate']:,.0f})"),
        ("hello-world p50 / p99 ms", "; ".join(f"{run['p50_ms']:.1f} / {run['p99_ms']:.1f}" for run in hello_runs)),
        ("survey submissions/s (200)", f"{submissions_rate:,.0f}"),
        ("survey p50 / p99 ms", f"{survey['p50_ms']:.1f} / {survey['p99_ms']:.1f}"),
        ("ratio (target >= 0.25)", f"{ratio:.3f}"),
        ("survey statuses", ", ".join(f"{k}: {v}" for k, v in sorted(survey["statuses"].items()))),
        ("acknowledged", f"{report['acknowledged']}"),
        ("missing (must be 0)", f"{report['missing']}"),
        ("duplicates: tokens answered twice (must be 0)",
         f"{report['acknowledged_twice'] + report['tokens_with_several_responses']}"),
        ("duplicates sent / their statuses",
         f"{report['duplicates_sent']} / {', '.join(f'{k}: {v}' for k, v in report['duplicate_statuses'].items())}"),
        ("complete but unacknowledged", f"{report['complete_unacknowledged']}"),
        ("result", "PASS" if passed else "FAIL"),
    ]
    width = max(len(label) for label, _ in rows)
    print()
    for label, value in rows:
        print(f"{label:<{width}}  {value}")

    RESULTS_DIR.mkdir(exist_ok=True)
    figures = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {k: v for k, v in vars(args).items() if k != "keep"},
        "cpus": os.cpu_count(),
        "hello_per_s": hello_rate,
        "hello": [{k: v for k, v in run.items() if k != "records"} for run in hello_runs],
        "survey": {k: v for k, v in survey.items() if k != "records"},
        "submissions_per_s": submissions_rate,
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "verification": report,
        "passed": passed,
    }
    out = RESULTS_DIR / f"bench-{args.database}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    print(f"\nfigures written to {out.relative_to(ROOT)}")
    return figures


if __name__ == "__main__":
    sys.exit(main())
