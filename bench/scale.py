"""``python -m bench.scale``: scores at national volume, end to end, from the database to the JSON.

A national year (1,000,000 responses: 60 units × 10 services × 12 months of 2026, on the bundled ``counter``
questionnaire; see :mod:`bench.scale_data`) is loaded once into a fresh SQLite file and a PostgreSQL database
migrated with ``survey migrate`` (:mod:`bench.scale_db`); then, when ``survey.services.aggregates`` exists, the
kept aggregates are built with ``survey aggregates rebuild`` and timed. Measured, each in a fresh subprocess with
that database's environment, best of ``--repeat`` after one warm-up: ``compute_scores`` plus
``msgspec.json.encode`` of its report for

* the national year by unit × month (``period=2026``, ``by=unit,month``; target ≤ 3× the baseline),
* one district's quarter (``unit=HN-01``, ``period=2026-Q4``; target ≤ 0.5×: it shows far fewer groups).

Baseline, in the same run: the numpy group-by-mean of every numeric question over unit × month of the in-memory
answers, best of 5. Then the submission benchmark (``python -m bench``'s, SQLite, bounded) against its hello-world
app: the cost of keeping the aggregates, target ≥ 0.27. Figures go to the terminal and to
``bench/results/scale-<time>.json``; exit status 0 when every target is met, 1 otherwise. ``--keep DIR`` keeps
the loaded databases in DIR, ``--reuse DIR`` measures them again without loading (see ``bench/README.md``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.scale_data import ANSWERING_UNITS, MONTHS, QUESTIONNAIRE, TIMEZONE, YEAR, Year, baseline, national_year

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
MANIFEST = "scale.json"
DISTRICT = "HN-01"
TARGET_NATIONAL = 3.0
TARGET_DISTRICT = 0.5
TARGET_SUBMISSIONS = 0.27
BASELINE_RUNS = 5
QUICK_RESPONSES = 100_000
CASES: dict[str, dict[str, Any]] = {
    "national year": {"questionnaire": QUESTIONNAIRE, "period": str(YEAR), "by": ["unit", "month"]},
    "district quarter": {"questionnaire": QUESTIONNAIRE, "period": f"{YEAR}-Q4", "unit": DISTRICT},
}
TARGETS = {"national year": TARGET_NATIONAL, "district quarter": TARGET_DISTRICT}


@dataclass
class BenchDatabase:
    """One bench database: its URL, the environment of its subprocesses and how to stop its server."""

    kind: str
    url: str
    env: dict[str, str]
    stop: list[list[str]] = field(default_factory=list)

    def close(self) -> None:
        for command in self.stop:
            subprocess.run(command, capture_output=True, check=False)


def _environment(url: str, var_dir: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "SURVEY_DATABASE_URL": url, "SURVEY_VAR_DIR": str(var_dir),
            "SURVEY_TIMEZONE": TIMEZONE, "SURVEY_SECRET_KEY": os.environ.get("SURVEY_SECRET_KEY")
            or secrets.token_urlsafe(48), "PICCOLO_CONF": "survey.piccolo_conf"}


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: [int(x) for x in p.parent.name.split(".")
                                                                            if x.isdigit()])
    if not found:
        raise SystemExit("PostgreSQL server binaries not found under /usr/lib/postgresql: run scripts/bootstrap.sh, or "
                         "set SURVEY_BENCH_POSTGRES_URL")
    return found[-1]


def _as_postgres(command: list[str]) -> list[str]:
    # as root the server runs as 'postgres' (what scripts/pg.sh does)
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _free_port() -> int:
    from bench.__main__ import free_port

    return free_port()


def open_database(kind: str, workdir: Path, kept: bool) -> tuple[BenchDatabase, bool]:
    """The database of ``kind`` under ``workdir`` (a PostgreSQL server started for it, or
    ``SURVEY_BENCH_POSTGRES_URL``), and whether it already holds a loaded year (``kept``: a cluster left there by
    ``--keep`` is started again)."""
    var_dir = workdir / f"var-{kind}"
    if kind == "sqlite":
        path = workdir / "scale.sqlite3"
        url = f"sqlite:///{path}"
        return BenchDatabase(kind, url, _environment(url, var_dir)), path.exists()
    url = os.environ.get("SURVEY_BENCH_POSTGRES_URL", "")
    if url:
        return BenchDatabase(kind, url, _environment(url, var_dir)), kept
    pg_dir = workdir / "pg"
    if os.geteuid() == 0:  # the 'postgres' user must reach the cluster's directory
        workdir.chmod(workdir.stat().st_mode | 0o011)
    if kept and (pg_dir / "data").is_dir():
        port = _free_port()
        subprocess.run(_as_postgres([str(_pg_bin() / "pg_ctl"), "-D", str(pg_dir / "data"), "-l",
                                     str(pg_dir / "server.log"), "-w", "-t", "60", "-o",
                                     f"-c listen_addresses=127.0.0.1 -p {port} -k {pg_dir} -c fsync=on "
                                     "-c max_connections=200", "start"]), check=True, capture_output=True)
        url = f"postgresql://postgres@127.0.0.1:{port}/survey_test"
        return BenchDatabase(kind, url, _environment(url, var_dir), [_pg_stop(pg_dir)]), True
    shutil.rmtree(pg_dir, ignore_errors=True)
    started = subprocess.run([str(ROOT / "scripts" / "pg.sh"), "start", str(pg_dir)], capture_output=True, text=True)
    if started.returncode != 0:
        raise SystemExit(f"could not start PostgreSQL with scripts/pg.sh: {started.stderr.strip()}\n"
                         "Set SURVEY_BENCH_POSTGRES_URL to an empty database instead.")
    url = started.stdout.strip().splitlines()[-1]
    return BenchDatabase(kind, url, _environment(url, var_dir), [_pg_stop(pg_dir)]), False


def _pg_stop(pg_dir: Path) -> list[str]:
    # the cluster stays on disk: the work directory goes (or stays, with --keep) as a whole
    return _as_postgres([str(_pg_bin() / "pg_ctl"), "-D", str(pg_dir / "data"), "-m", "fast", "-w", "stop"])


def _subprocess(db: BenchDatabase, command: str, spec: dict[str, Any], workdir: Path, name: str,
                timeout: float = 3600) -> dict[str, Any]:
    spec_path, result_path = workdir / f"{name}-spec.json", workdir / f"{name}-result.json"
    spec_path.write_text(json.dumps(spec))
    subprocess.run([sys.executable, "-m", "bench.scale_db", command, str(spec_path), str(result_path)], cwd=ROOT,
                   env=db.env, check=True, timeout=timeout)
    result: dict[str, Any] = json.loads(result_path.read_text())
    return result


def load_year(db: BenchDatabase, workdir: Path, responses: int, seed: int) -> dict[str, Any]:
    """``survey migrate`` and the year into a fresh database; the figures (seconds, rows)."""
    clock = time.perf_counter()
    subprocess.run([sys.executable, "-m", "survey.cli", "migrate"], cwd=ROOT, env=db.env, check=True,
                   capture_output=True)
    migrated = time.perf_counter() - clock
    figures = _subprocess(db, "load", {"responses": responses, "seed": seed}, workdir, f"load-{db.kind}")
    return {**figures, "migrate_s": migrated, "loaded_at": datetime.now(UTC).isoformat(timespec="seconds")}


def aggregates_available() -> bool:
    return importlib.util.find_spec("survey.services.aggregates") is not None


def rebuild_aggregates(db: BenchDatabase) -> float | None:
    """Seconds of ``survey aggregates rebuild`` on ``db``; ``None`` when there are no kept aggregates yet."""
    if not aggregates_available():
        return None
    clock = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "survey.cli", "aggregates", "rebuild"], cwd=ROOT, env=db.env,
                          capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"survey aggregates rebuild failed on {db.kind}:\n{done.stderr.strip()[-3000:]}")
    return time.perf_counter() - clock


def measure_case(db: BenchDatabase, workdir: Path, case: str, repeat: int) -> dict[str, Any]:
    """One case (see :data:`CASES`) in a fresh subprocess: best of ``repeat`` after a warm-up."""
    name = f"measure-{db.kind}-{case.replace(' ', '-')}"
    return _subprocess(db, "measure", {"request": CASES[case], "repeat": repeat}, workdir, name, timeout=1800)


def _read_manifest(workdir: Path) -> dict[str, Any]:
    path = workdir / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {}


def _check_reuse(manifest: dict[str, Any], responses: int, seed: int, workdir: Path) -> None:
    if manifest and (manifest.get("responses"), manifest.get("seed")) != (responses, seed):
        raise SystemExit(f"{workdir} holds {manifest.get('responses'):,} responses (seed {manifest.get('seed')}): "
                         f"run with --responses {manifest.get('responses')} --seed {manifest.get('seed')}, or load "
                         f"anew with --keep {workdir}")


def run_database(kind: str, workdir: Path, args: argparse.Namespace, manifest: dict[str, Any],
                 base: float) -> dict[str, Any]:
    """Load (or reuse), rebuild the aggregates and measure both cases on one database."""
    reuse = args.reuse is not None
    known = manifest.setdefault("databases", {}).get(kind)
    db, present = open_database(kind, workdir, kept=reuse and known is not None)
    try:
        if reuse and present and known:
            print(f"{kind}: reusing the year loaded {known['loaded_at']} ({known['load_s']:.1f} s then)", flush=True)
            # the code may have migrations the kept database has not run yet
            subprocess.run([sys.executable, "-m", "survey.cli", "migrate"], cwd=ROOT, env=db.env, check=True,
                           capture_output=True)
            loaded = {**known, "reused": True}
        else:
            if kind == "sqlite":
                for leftover in workdir.glob("scale.sqlite3*"):
                    leftover.unlink()
            print(f"{kind}: loading {args.responses:,} responses ...", flush=True)
            loaded = load_year(db, workdir, args.responses, args.seed)
            manifest["databases"][kind] = loaded
            (workdir / MANIFEST).write_text(json.dumps(manifest, indent=2))
            print(f"{kind}: loaded {loaded['responses']:,} responses, {loaded['answers']:,} answers in "
                  f"{loaded['load_s']:.1f} s (migrate {loaded['migrate_s']:.1f} s)", flush=True)
        rebuild = rebuild_aggregates(db)
        print(f"{kind}: aggregates rebuild " + ("n/a (no aggregates yet)" if rebuild is None else f"{rebuild:.1f} s"),
              flush=True)
        cases = {}
        for case in CASES:
            result = measure_case(db, workdir, case, args.repeat)
            result["ratio"] = result["best_s"] / base
            result["target"] = TARGETS[case]
            result["passed"] = result["ratio"] <= TARGETS[case]
            cases[case] = result
            print(f"{kind}: {case}: {result['best_s']:.3f} s = {result['ratio']:.1f}× the baseline", flush=True)
        return {"load": loaded, "rebuild_s": rebuild, "url": db.url if kind == "postgres" else None, "cases": cases}
    finally:
        db.close()


def run_submissions(args: argparse.Namespace) -> dict[str, Any]:
    """The submission benchmark of ``python -m bench`` on SQLite with this run's bounds; its figures."""
    from bench.__main__ import parser, submission_figures

    options = parser().parse_args(["--only", "survey", "--database", "sqlite", "--requests", str(args.requests),
                                   "--seconds", str(args.seconds)])
    figures = submission_figures(options)
    check = figures["verification"]
    # every acknowledged submission stored, no token answered twice: what that benchmark verifies beside its ratio
    verified = not (check["missing"] or check["acknowledged_twice"] or check["tokens_with_several_responses"])
    return {"ratio": figures["ratio"], "submissions_per_s": figures["submissions_per_s"],
            "hello_per_s": figures["hello_per_s"], "verified": verified, "target": TARGET_SUBMISSIONS,
            "passed": verified and figures["ratio"] >= TARGET_SUBMISSIONS}


def _timings_text(timings: dict[str, float]) -> str:
    shown = [(name.removesuffix("_s"), value) for name, value in timings.items() if value >= 0.0005]
    return ", ".join(f"{name} {value:.3f}" for name, value in shown)


def print_table(figures: dict[str, Any]) -> None:
    base = figures["baseline_s"]
    print(f"\nbench.scale: {figures['responses']:,} responses, {len(ANSWERING_UNITS)} units × 10 services × {MONTHS} "
          f"months of {YEAR}, '{QUESTIONNAIRE}' questionnaire, {figures['cpus']} CPUs")
    print(f"baseline: numpy group-by-mean of {figures['questions']} questions over unit × month, best of "
          f"{BASELINE_RUNS}: {base * 1000:.1f} ms\n")
    header = ("database", "case", "time s", "ratio", "target", "groups", "JSON", "result")
    rows = []
    for kind, result in figures["databases"].items():
        for case, c in result["cases"].items():
            rows.append((kind, case, f"{c['best_s']:.3f}", f"{c['ratio']:.1f}×", f"≤ {c['target']:g}×",
                         f"{c['groups']:,}", f"{c['json_bytes'] / 1e6:.2f} MB", "PASS" if c["passed"] else "FAIL"))
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows] if rows else []:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    if figures["databases"]:
        print("\ntimings, s: the report's own (extract: reading the responses or the kept counts into cells), json "
              "(encoding)\nand rest (what they do not cover: counting each group's comments, the invitations, lookups)")
    for kind, result in figures["databases"].items():
        load = result["load"]
        rebuild = "n/a (no aggregates yet)" if result["rebuild_s"] is None else f"{result['rebuild_s']:.1f} s"
        print(f"{kind}: load {load['load_s']:.1f} s{' (reused)' if load.get('reused') else ''}, "
              f"{load['answers']:,} answers; aggregates rebuild {rebuild}")
        for case, c in result["cases"].items():
            runs = ", ".join(f"{s:.3f}" for s in c["runs_s"])
            print(f"  {case}: runs {runs} s; timings {_timings_text(c['timings'])}")
    sub = figures.get("submissions")
    if sub:
        print(f"submissions (SQLite): {sub['submissions_per_s']:,.0f}/s against hello-world {sub['hello_per_s']:,.0f}/s"
              f" = {sub['ratio']:.3f} (target ≥ {TARGET_SUBMISSIONS:g}"
              f"{'' if sub['verified'] else ', and the verification FAILED'}) {'PASS' if sub['passed'] else 'FAIL'}")
    print(f"result: {'PASS' if figures['passed'] else 'FAIL'}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=None,
                        help="responses in the year (default 1,000,000; --quick: 100,000)")
    parser.add_argument("--quick", action="store_true", help=f"a smoke run of {QUICK_RESPONSES:,} responses")
    parser.add_argument("--databases", default="sqlite,postgres",
                        help="sqlite,postgres (default), one of them, or none (the baseline and submissions only); "
                             "postgres: SURVEY_BENCH_POSTGRES_URL (an empty database) or a server of scripts/pg.sh")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each case after one warm-up (best counts)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the year (same seed, same answers)")
    keeping = parser.add_mutually_exclusive_group()
    keeping.add_argument("--keep", metavar="DIR", default=None,
                         help="load the databases into DIR and keep them there (a later --reuse DIR measures them)")
    keeping.add_argument("--reuse", metavar="DIR", default=None,
                         help="measure the databases kept in DIR without loading them again (one missing is loaded "
                              "there); the year must be of the same --responses and --seed")
    parser.add_argument("--requests", type=int, default=5_000,
                        help="submission benchmark: at most this many requests per target (0: skip it)")
    parser.add_argument("--seconds", type=float, default=10.0, help="submission benchmark: and at most this long")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.responses is None:
        args.responses = QUICK_RESPONSES if args.quick else 1_000_000
    kinds = [] if args.databases == "none" else args.databases.split(",")
    if any(kind not in ("sqlite", "postgres") for kind in kinds) or args.responses < 1 or args.repeat < 1:
        raise SystemExit("--databases: sqlite, postgres, both (comma-separated) or none; --responses and --repeat "
                         "at least 1")
    kept = args.keep or args.reuse
    workdir = Path(kept).resolve() if kept else Path(tempfile.mkdtemp(prefix="survey-bench-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(workdir) if args.reuse else {}
    _check_reuse(manifest, args.responses, args.seed, workdir)
    manifest.update(responses=args.responses, seed=args.seed)
    started = time.perf_counter()
    try:
        year: Year = national_year(args.responses, args.seed)
        baseline(year)  # warm-up
        base = min(baseline(year) for _ in range(BASELINE_RUNS))
        print(f"bench.scale: {year.n:,} responses; baseline {base * 1000:.1f} ms; work directory {workdir}",
              flush=True)
        figures: dict[str, Any] = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"), "responses": year.n, "seed": args.seed,
            "cpus": os.cpu_count(), "questions": year.answers.shape[1], "baseline_s": base,
            "aggregates": aggregates_available(), "databases": {},
            "invitations": "none: every response came without an invitation",
        }
        for kind in kinds:
            figures["databases"][kind] = run_database(kind, workdir, args, manifest, base)
        if args.requests > 0:
            print("\nsubmissions (python -m bench, SQLite) ...", flush=True)
            figures["submissions"] = run_submissions(args)
    finally:
        if not kept:
            shutil.rmtree(workdir, ignore_errors=True)
    figures["wall_s"] = time.perf_counter() - started
    figures["passed"] = all(c["passed"] for d in figures["databases"].values() for c in d["cases"].values()) and \
        figures.get("submissions", {}).get("passed", True)
    for result in figures["databases"].values():
        for case in result["cases"].values():
            case.pop("group_keys")  # the test reads them; the figures need only the count
    print_table(figures)
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"scale-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    print(f"figures written to {out.relative_to(ROOT)} (wall {figures['wall_s']:.0f} s)")
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
