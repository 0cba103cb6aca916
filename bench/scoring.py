"""``python -m bench.scoring``: the full assessment of a year of responses against a bare numpy group-by-mean.

1,000,000 responses × 10 questions (five criteria of two items) over 60 units × 10 services × 12 months
are generated in memory. Timed in the same run, on the same arrays:

* **baseline**: a bare numpy group-by-mean of the ten questions over unit × service × month
  (``np.bincount`` of counts and sums per question);
* **counting**: the responses counted into score cells (version × unit × service × channel × invited × month,
  :func:`survey.services.scores.cells.cells_of_frame` with the questionnaire's :class:`scoring.coding.Coding`),
  what scoring assesses; timed and printed apart, without a target (kept aggregates count once, not per request);
* **assessment**: :func:`survey.services.scores.assess` of those cells twice, as the quality team reads it:
  ``by unit, service, month`` (7,200 groups: every measure, Cronbach's alpha, each group against its
  peer units, Kruskal–Wallis + Dunn/Holm and funnel limits across the units) and ``by unit`` (60 groups:
  the same plus the previous period, the same period a year earlier and the monthly trend). Every statistic
  of every group is computed, as arrays; turning them into the per-group JSON objects
  (``ScoreAssessment.report()``) and encoding them are timed apart and printed beside the ratio.

Peak memory of counting and assessing (tracemalloc, which sees numpy's buffers) is compared with the size of
the answer arrays. Then the same responses are written to a fresh SQLite file and to a PostgreSQL
server (``scripts/pg.sh``, or ``SURVEY_BENCH_POSTGRES_URL``) and read back into arrays with
:func:`survey.services.extract.extract_responses`. Figures are printed and written as JSON to
``bench/results/scoring-<time>.json``. Targets: assessment ≤ 5× the baseline, peak ≤ 2× the answers.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGET_RATIO = 5.0
TARGET_MEMORY = 2.0
UNITS, SERVICES, MONTHS, QUESTIONS = 60, 10, 12, 10
YEAR = 2025


def _environment(workdir: Path) -> None:
    """Settings for a throwaway run, before anything reads them."""
    os.environ.setdefault("SURVEY_SECRET_KEY", secrets.token_urlsafe(48))
    os.environ["SURVEY_VAR_DIR"] = str(workdir / "var")
    os.environ["SURVEY_DATABASE_URL"] = f"sqlite:///{workdir / 'bench-scoring.sqlite3'}"
    os.environ["PICCOLO_CONF"] = "survey.piccolo_conf"


def questionnaire() -> Any:
    from questionnaires.model import Criterion, IndexDefinition, Question, Questionnaire, Scale

    criteria = tuple(Criterion(f"c{c}", {"vi": f"c{c}", "en": f"c{c}"}, 4, target=0.8) for c in range(5))
    questions = tuple(Question(f"q{j}", "rating", {"vi": f"q{j}", "en": f"q{j}"}, criterion=f"c{j // 2}",
                               scale=Scale(1, 5)) for j in range(QUESTIONS))
    return Questionnaire("bench", 1, ("vi", "en"), {"vi": "bench", "en": "bench"}, {"vi": "", "en": ""}, ("call",),
                         criteria, questions, IndexDefinition("mean_satisfied_share", 80.0))


def synthetic(n: int, seed: int = 2026) -> dict[str, np.ndarray]:
    """Responses of one year: unit ids 8..67 (ten districts under each of six provinces), services 1..10."""
    rng = np.random.default_rng(seed)
    unit = rng.integers(0, UNITS, n) + 8
    quality = rng.normal(0, 0.4, UNITS)[unit - 8]
    month = rng.integers(0, MONTHS, n)
    starts = np.array([datetime(YEAR, m + 1, 1, tzinfo=UTC).timestamp() for m in range(MONTHS)], dtype=np.int64)
    epoch = starts[month] + rng.integers(0, 27 * 86_400, n)
    latent = rng.normal(3.8, 0.9, n) + quality
    answers = np.clip(np.rint(latent[:, None] + rng.normal(0, 0.7, (n, QUESTIONS))), 1, 5)
    answers[rng.random((n, QUESTIONS)) < 0.05] = np.nan
    return {"response_id": np.arange(1, n + 1, dtype=np.int64), "unit": unit.astype(np.int64),
            "service": (rng.integers(0, SERVICES, n) + 1).astype(np.int64),
            "channel": rng.integers(0, 3, n).astype(np.int8), "epoch": epoch.astype(np.int64),
            "invited": rng.random(n) < 0.7, "answers": answers}


def frame_of(data: dict[str, np.ndarray]) -> Any:
    from survey.services.extract import ResponseFrame

    return ResponseFrame(tuple(f"q{j}" for j in range(QUESTIONS)), data["response_id"], data["unit"], data["service"],
                         data["channel"], data["epoch"], data["invited"], data["answers"],
                         version_id=np.ones(data["unit"].shape[0], dtype=np.int64),
                         commented=np.zeros(data["unit"].shape[0], dtype=np.bool_))


def unit_tree() -> Any:
    from survey.services.scores import UnitTree

    code, parent, path = {1: "VN"}, {1: 0}, {1: "/VN/"}
    for p in range(6):
        code[2 + p], parent[2 + p], path[2 + p] = f"P{p}", 1, f"/VN/P{p}/"
    for u in range(UNITS):
        unit, province = 8 + u, 2 + u // 10
        code[unit], parent[unit], path[unit] = f"P{u // 10}-D{u % 10}", province, f"{path[province]}D{u % 10}/"
    return UnitTree(code, parent, path)


def group_by_mean(answers: np.ndarray, groups: np.ndarray, size: int) -> float:
    """The bare numpy group-by-mean of every column of ``answers`` (NaN = not answered) over ``groups`` (codes in
    ``0..size-1``): ``np.bincount`` of each column's counts and sums, then the means; seconds."""
    started = time.perf_counter()
    for j in range(answers.shape[1]):
        column = answers[:, j]
        answered = ~np.isnan(column)
        counts = np.bincount(groups[answered], minlength=size)
        sums = np.bincount(groups[answered], weights=column[answered], minlength=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            _ = sums / counts
    return time.perf_counter() - started


def baseline(data: dict[str, np.ndarray]) -> float:
    """A bare group-by-mean of every question over unit × service × month."""
    started = time.perf_counter()
    month = (data["epoch"] - data["epoch"].min()) // (31 * 86_400)
    groups = ((data["unit"] - 8) * SERVICES + data["service"] - 1) * 13 + month
    grouped = time.perf_counter() - started
    return grouped + group_by_mean(data["answers"], groups, UNITS * SERVICES * 13)


def count_cells(data: dict[str, np.ndarray]) -> tuple[float, Any]:
    """The responses counted into score cells (version × unit × service × channel × invited × month,
    :func:`survey.services.scores.cells.cells_of_frame`): what scoring assesses; seconds and the cells."""
    from scoring.coding import Coding
    from survey.services.scores.cells import cells_of_frame

    frame = frame_of(data)
    started = time.perf_counter()
    cells = cells_of_frame(frame, Coding.of(questionnaire()), "UTC")
    return time.perf_counter() - started, cells


def assessment(cells: Any, report: bool = False) -> tuple[float, dict[str, Any]]:
    """Every measure and test for every group of both groupings, as arrays (:func:`survey.services.scores.assess`
    of the counted ``cells``); with ``report``, also the per-group JSON objects and their encoding, timed apart."""
    import msgspec

    from survey.services.scores import Context, Period, assess

    tree = unit_tree()
    services = {s: f"S{s}" for s in range(1, SERVICES + 1)}
    timings: dict[str, Any] = {}
    started = time.perf_counter()
    results = []
    for by in (("unit", "service", "month"), ("unit",)):
        context = Context(questionnaire(), Period(str(YEAR), date(YEAR, 1, 1), date(YEAR + 1, 1, 1)), "UTC", tree,
                          services, scope_unit=1, by=by)
        result = assess(cells, context)
        results.append(result)
        timings[",".join(by)] = {"groups": result.grouping.n_groups,
                                 **{k: round(v, 4) for k, v in result.timings.items()}}
    elapsed = time.perf_counter() - started
    if report:
        for by, result in zip((("unit", "service", "month"), ("unit",)), results, strict=True):
            clock = time.perf_counter()
            built = result.report()
            middle = time.perf_counter()
            encoded = msgspec.json.encode(built)
            timings[",".join(by)].update(report_s=round(middle - clock, 4),
                                         json_s=round(time.perf_counter() - middle, 4), json_bytes=len(encoded))
    return elapsed, timings


def measure_memory(data: dict[str, np.ndarray]) -> tuple[int, int, int]:
    """The peaks of counting the responses into cells and of assessing them (what scoring holds beside the answers),
    and the bytes the cells keep: (counting, assessing with the cells held, cells)."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    _, cells = count_cells(data)
    held, counting = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    assessment(cells)
    _, assessing = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return counting, assessing, held


# --- extraction from the databases --------------------------------------------------------------------------------


async def _load_and_extract(url: str, data: dict[str, np.ndarray]) -> dict[str, float]:
    from survey.db import bind, create_engine, migrate
    from survey.reference import seed_reference  # noqa: F401 - the tables' module graph
    from survey.services.extract import ResponseScope, extract_responses
    from survey.settings import DatabaseSettings

    db = create_engine(DatabaseSettings(url=url))
    bind(db)
    await migrate()
    started = time.perf_counter()
    await _load(db, url.startswith("sqlite"), data)
    loaded = time.perf_counter() - started
    scope = ResponseScope("bench", datetime(YEAR, 1, 1, tzinfo=UTC), datetime(YEAR + 1, 1, 1, tzinfo=UTC))
    timings = []
    for _ in range(2):  # the second read is the warm one
        started = time.perf_counter()
        frame = await extract_responses(scope, [f"q{j}" for j in range(QUESTIONS)])
        timings.append(time.perf_counter() - started)
    assert frame.n == data["answers"].shape[0], (frame.n, data["answers"].shape[0])
    assert np.array_equal(np.isnan(frame.answers).sum(), np.isnan(data["answers"]).sum())
    close = getattr(db, "close_pool", None)
    if close:
        await close()
    return {"load_s": loaded, "extract_cold_s": timings[0], "extract_warm_s": timings[1]}


def _rows(data: dict[str, np.ndarray]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    units = [(u, unit_tree().code[u], unit_tree().code[u], unit_tree().code[u],
              "centre" if u == 1 else ("province" if u < 8 else "district"), unit_tree().parent[u] or None,
              unit_tree().path[u]) for u in sorted(unit_tree().code)]
    services = [(s, f"S{s}", f"S{s}", f"S{s}") for s in range(1, SERVICES + 1)]
    definition = json.dumps(questionnaire().to_dict())
    return units, services, [(1, "bench", 1, "bench@1", questionnaire().checksum, definition)]


async def _load(db: Any, sqlite: bool, data: dict[str, np.ndarray]) -> None:
    units, services, versions = _rows(data)
    channels = np.array(["call", "counter", "online"])[data["channel"]]
    stamps = [str(datetime.fromtimestamp(int(e), UTC)) for e in data["epoch"]]
    n = data["answers"].shape[0]
    answered = ~np.isnan(data["answers"])
    rows_r, cols_q = np.nonzero(answered)
    if sqlite:
        import sqlite3

        with sqlite3.connect(db.path) as connection:
            connection.execute("PRAGMA synchronous = OFF")
            connection.executemany("INSERT INTO unit (id, code, name_vi, name_en, level, parent, path, active) "
                                   "VALUES (?, ?, ?, ?, ?, ?, ?, 1)", units)
            connection.executemany("INSERT INTO service (id, code, name_vi, name_en, active) VALUES (?, ?, ?, ?, 1)",
                                   services)
            connection.executemany("INSERT INTO questionnaire_version (id, key, version, key_version, checksum, "
                                   "definition, published_at) VALUES (?, ?, ?, ?, ?, ?, '2025-01-01 00:00:00+00:00')",
                                   versions)
            connection.executemany(
                "INSERT INTO response (id, questionnaire, unit, service, channel, language, trust, status, page, "
                "started_at, submitted_at) VALUES (?, 1, ?, ?, ?, 'vi', 'poster', 'complete', 1, ?, ?)",
                zip(data["response_id"].tolist(), data["unit"].tolist(), data["service"].tolist(), channels.tolist(),
                    stamps, stamps, strict=True))
            connection.executemany(
                "INSERT INTO answer (response, question_id, value_number) VALUES (?, ?, ?)",
                zip(data["response_id"][rows_r].tolist(), [f"q{j}" for j in cols_q.tolist()],
                    data["answers"][rows_r, cols_q].tolist(), strict=True))
        return
    connection = await db.get_new_connection()
    try:
        await connection.copy_records_to_table("unit", records=units, columns=[
            "id", "code", "name_vi", "name_en", "level", "parent", "path"])
        await connection.copy_records_to_table("service", records=services, columns=["id", "code", "name_vi",
                                                                                      "name_en"])
        await connection.execute(
            "INSERT INTO questionnaire_version (id, key, version, key_version, checksum, definition) "
            "VALUES ($1, $2, $3, $4, $5, $6::json)", *versions[0])
        moments = [datetime.fromtimestamp(int(e), UTC) for e in data["epoch"]]
        await connection.copy_records_to_table("response", records=zip(
            data["response_id"].tolist(), [1] * n, data["unit"].tolist(), data["service"].tolist(), channels.tolist(),
            ["vi"] * n, ["poster"] * n, ["complete"] * n, [1] * n, moments, moments, strict=True),
            columns=["id", "questionnaire", "unit", "service", "channel", "language", "trust", "status", "page",
                     "started_at", "submitted_at"])
        await connection.copy_records_to_table("answer", records=zip(
            data["response_id"][rows_r].tolist(), [f"q{j}" for j in cols_q.tolist()],
            data["answers"][rows_r, cols_q].tolist(), strict=True), columns=["response", "question_id",
                                                                                 "value_number"])
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def extraction(kind: str, workdir: Path, n: int) -> dict[str, float]:
    """Load ``n`` responses into a fresh database of ``kind`` and time reading them back (a subprocess each)."""
    url = f"sqlite:///{workdir / f'extract-{n}.sqlite3'}"
    stop = None
    if kind == "postgres":
        url = os.environ.get("SURVEY_BENCH_POSTGRES_URL", "")
        if not url:
            # not under workdir: as root, pg.sh runs the server as 'postgres', which cannot enter a 0700 directory
            pg_dir = Path(tempfile.mkdtemp(prefix="survey-bench-scoring-pg-"))
            started = subprocess.run([str(ROOT / "scripts" / "pg.sh"), "start", str(pg_dir)], capture_output=True,
                                     text=True)
            if started.returncode != 0:
                return {"error": started.stderr.strip()[-500:]}  # type: ignore[dict-item]
            url = started.stdout.strip().splitlines()[-1]
            stop = [str(ROOT / "scripts" / "pg.sh"), "stop", str(pg_dir)]
    try:
        out = workdir / f"extract-{kind}.json"
        subprocess.run([sys.executable, "-m", "bench.scoring", "--extract-only", url, "--responses", str(n),
                        "--out", str(out)], cwd=ROOT, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
                       timeout=1800)
        result: dict[str, float] = json.loads(out.read_text())
        return result
    finally:
        if stop:
            subprocess.run(stop, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scoring", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=1_000_000, help="responses to generate")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each side (the best counts)")
    parser.add_argument("--databases", default="sqlite,postgres", help="extraction from: sqlite,postgres or none")
    parser.add_argument("--extract-only", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="survey-bench-scoring-"))
    _environment(workdir)
    data = synthetic(args.responses)
    if args.extract_only:
        try:
            figures = asyncio.run(_load_and_extract(args.extract_only, data))
        finally:
            subprocess.run(["rm", "-rf", str(workdir)], check=False)
        Path(args.out).write_text(json.dumps(figures))
        return 0
    print(f"bench.scoring: {args.responses:,} responses × {QUESTIONS} questions, {UNITS} units × {SERVICES} services "
          f"× {MONTHS} months", flush=True)
    count_runs = [count_cells(data) for _ in range(args.repeat)]
    counted, cells = min(count_runs, key=lambda r: r[0])
    n_cells = cells.n_cells
    assessment(cells)  # warm-up: imports, scipy's first calls
    base = min(baseline(data) for _ in range(args.repeat))
    full_runs = [assessment(cells, report=True) for _ in range(args.repeat)]
    full, parts = min(full_runs, key=lambda r: r[0])
    del cells, count_runs
    peak_counting, peak_assessing, cells_bytes = measure_memory(data)
    peak = max(peak_counting, peak_assessing)
    answer_bytes = data["answers"].nbytes
    figures: dict[str, Any] = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"), "responses": args.responses, "cpus": os.cpu_count(),
        "baseline_s": base, "cells_s": counted, "cells_ratio": counted / base, "cells": n_cells,
        "assessment_s": full, "ratio": full / base, "target_ratio": TARGET_RATIO,
        "parts": parts, "peak_memory_bytes": peak, "answer_bytes": answer_bytes, "cells_bytes": cells_bytes,
        "peak_counting_bytes": peak_counting, "peak_assessing_bytes": peak_assessing,
        "memory_ratio": peak / answer_bytes, "target_memory_ratio": TARGET_MEMORY,
    }
    print(f"numpy group-by-mean (baseline)   {base * 1000:10.1f} ms")
    print(f"counting into cells              {counted * 1000:10.1f} ms   ratio {counted / base:.1f}× "
          f"({n_cells:,} cells; no target: kept aggregates count once, not per request)")
    print(f"full assessment of the cells     {full * 1000:10.1f} ms   "
          f"ratio {full / base:.1f}× (target ≤ {TARGET_RATIO:g}×)")
    for name, part in parts.items():
        print(f"  by {name:<28} {part}")
    print(f"peak memory (count + assess)     {peak / 2**20:8.1f} MiB / {answer_bytes / 2**20:.1f} MiB of answers = "
          f"{peak / answer_bytes:.2f}× (target ≤ {TARGET_MEMORY:g}×)")
    print(f"  counting {peak_counting / 2**20:.1f} MiB, assessing {peak_assessing / 2**20:.1f} MiB with the cells "
          f"held ({cells_bytes / 2**20:.1f} MiB)")
    for kind in [k for k in args.databases.split(",") if k in ("sqlite", "postgres")]:
        print(f"loading {args.responses:,} responses into {kind} and reading them back ...", flush=True)
        result = extraction(kind, workdir, args.responses)
        figures[f"extract_{kind}"] = result
        print(f"  {kind}: {result}")
    figures["passed"] = figures["ratio"] <= TARGET_RATIO and figures["memory_ratio"] <= TARGET_MEMORY
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"scoring-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(figures, indent=2))
    print(f"figures written to {out.relative_to(ROOT)}")
    subprocess.run(["rm", "-rf", str(workdir)], check=False)
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
