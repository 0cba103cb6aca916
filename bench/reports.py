"""``python -m bench.reports``: the PDF reports on the demo's data, against WeasyPrint rendering a plain page.

The demo is built once (60,000 responses, seed 2026, as of 1 December 2026: its last full quarter is 2026-Q3) in a
temporary directory; every measured part then runs in a subprocess of its own with that environment, so each
starts clean:

1. **page**: a unit-quarter report (``unit HN-BD 2026-Q3``), seconds per page end to end (``make_report``:
   assemble + render) and render only (``render_report`` of assembled content), each as a ratio to the seconds of
   a plain A4 page of paragraphs in the report fonts (WeasyPrint, the same ``@font-face`` rules, tagged PDF/UA-1),
   measured in the same process; both warmed up once, the best of 3 runs each. Target: the rendering (charts +
   WeasyPrint) ≤ 3×, the baseline being a rendering; end to end (with the report's own reading of the database,
   which a batch shares) is printed beside it.
2. **speed-up**: ``make_all("2026-Q3")`` with 1 process and with 2, on an evenly spaced sample of the period's
   plan (``--sample``, the whole plan takes minutes per run); wall time, and how it splits: the plan (the data read
   once), the main process's CPU (assembly, in the event loop) and the workers' CPU (rendering). Target ≥ 1.8×.
3. **memory**: one worker process (spawned, as :class:`~survey.services.reports.batch.RenderPool`'s are) rendering
   ``--reports`` pre-assembled reports of five units in turn without recycling, its peak RSS (``VmHWM``) read after
   each report, and the same with the default recycling (``SURVEY_REPORT_RECYCLE_AFTER``), as ``--all`` runs them:
   the highest worker peak up to report 100 against the highest up to report 10. Target: growth ≤ 10%, judged on
   the recycled workers; the run without recycling shows why they are recycled (WeasyPrint keeps ~0.35 MiB a
   report). The two runs go side by side, one core each (memory, not time, is what they measure).
4. **--all**: the demo's ``make_all("2026-Q3")`` with the default processes, the whole plan: reports made and
   skipped, pages, wall time (no target).

Figures are printed and written to ``bench/results/reports-<time>.json``. Exit status 0 when the three targets
hold. About 10 minutes on 2 CPUs; ``--quick`` takes about two (20 reports, a sample of 8, no --all).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import pickle
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGET_PAGE_RATIO = 3.0
TARGET_SPEEDUP = 1.8
TARGET_GROWTH = 0.10
DEMO_RESPONSES, DEMO_SEED, DEMO_TODAY = 60_000, 2026, date(2026, 12, 1)
PERIOD = "2026-Q3"
UNIT = "HN-BD"
MEMORY_UNITS = ("HN-BD", "HN-CG", "HCM-Q1", "HCM-TD", "HN")  # four districts and a province
MEMORY_FROM = 10  # growth: the peak after the last report against the peak after this one
RUNS = 3
SAMPLE = 24  # of the period's 217 reports: the whole plan takes minutes per run
PART_TIMEOUT_S = 900
PLAIN_PARAGRAPH = (
    "Người dân và doanh nghiệp đánh giá mức độ hài lòng về việc tiếp cận dịch vụ, thủ tục hành chính, sự phục vụ "
    "của công chức và kết quả giải quyết công việc tại bộ phận một cửa của cơ quan bảo hiểm xã hội. "
)


def plain_page_html() -> str:
    """One A4 page of plain paragraphs in the report fonts: the baseline."""
    from survey.services.pdf import FONT_STACK, font_faces_css

    paragraphs = "".join(f"<p>{PLAIN_PARAGRAPH * 3}</p>" for _ in range(5))  # a full page: six run over
    return (f'<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Trang</title><style>'
            f"{font_faces_css()} @page {{ size: A4; margin: 20mm 18mm; }} "
            f"body {{ font-family: {FONT_STACK}; font-size: 10.5pt; line-height: 1.45; }}</style></head>"
            f"<body><h1>Báo cáo</h1>{paragraphs}</body></html>")


def _clock(action: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


# --- the parts, each run in a subprocess of its own ----------------------------------------------------------------


def part_build() -> dict[str, Any]:
    from survey.demo import build_demo
    from survey.settings import get_settings

    get_settings.cache_clear()
    started = time.perf_counter()
    result = asyncio.run(build_demo(get_settings(), responses=DEMO_RESPONSES, seed=DEMO_SEED, today=DEMO_TODAY))
    return {"seconds": time.perf_counter() - started, "counts": result.counts}


async def _page(runs: int) -> dict[str, Any]:
    from weasyprint import HTML

    from survey.services.reports import ReportSpec, make_report
    from survey.services.reports.assemble import assemble
    from survey.services.reports.render import render_report

    html = plain_page_html()

    def plain() -> int:
        document = HTML(string=html).render()
        document.write_pdf(pdf_variant="pdf/ua-1")
        return len(document.pages)

    spec = ReportSpec("unit", PERIOD, unit=UNIT)
    plain_pages = plain()  # warm-up: fonts load on first use
    if plain_pages != 1:
        raise RuntimeError(f"the plain page came out as {plain_pages} pages")
    made = await make_report(spec)  # warm-up: imports, matplotlib, the templates
    content = await assemble(spec)
    plain_s, e2e_s, assemble_s, render_s = [], [], [], []
    for _ in range(runs):
        plain_s.append(_clock(plain)[0])
        started = time.perf_counter()
        made = await make_report(spec)
        e2e_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        await assemble(spec)
        assemble_s.append(time.perf_counter() - started)
        seconds, (_, pages) = _clock(lambda: render_report(content))
        render_s.append(seconds)
        if pages != made.pages:
            raise RuntimeError(f"render_report gave {pages} pages, make_report {made.pages}")
    plain_page_s = min(plain_s)
    e2e_page_s, render_page_s = min(e2e_s) / made.pages, min(render_s) / made.pages
    return {"report": spec.title_key, "pages": made.pages, "pdf_bytes": len(made.pdf), "runs": runs,
            "plain_page_s": plain_page_s, "plain_runs_s": plain_s,
            "end_to_end_s": min(e2e_s), "end_to_end_runs_s": e2e_s, "assemble_s": min(assemble_s),
            "render_s": min(render_s), "render_runs_s": render_s,
            "end_to_end_per_page_s": e2e_page_s, "render_per_page_s": render_page_s,
            "end_to_end_ratio": e2e_page_s / plain_page_s, "render_ratio": render_page_s / plain_page_s}


def part_page(runs: int) -> dict[str, Any]:
    return asyncio.run(_page(runs))


async def _batch(processes: int | None, sample: int) -> dict[str, Any]:
    from survey.services.reports import batch

    plan: dict[str, Any] = {}
    whole_plan = batch.plan_all

    async def sampled_plan(*args: Any, **kwargs: Any) -> Any:
        started, cpu = time.perf_counter(), time.process_time()
        planned, skipped = await whole_plan(*args, **kwargs)
        plan.update(plan_s=time.perf_counter() - started, plan_cpu_s=time.process_time() - cpu, planned=len(planned))
        if sample and sample < len(planned):  # evenly spaced: every kind of report, in the plan's order
            planned = [planned[index * len(planned) // sample] for index in range(sample)]
        return planned, skipped

    batch.plan_all = sampled_plan  # type: ignore[assignment]  # this subprocess only: make_all itself is measured
    load = os.getloadavg()[0]
    parent, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = await batch.make_all(PERIOD, "vi", processes=processes)
    wall = time.perf_counter() - started
    parent_after, children_after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)  # the workers have been joined: their CPU is counted here

    def cpu(before: Any, after: Any) -> float:
        return float(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)

    from survey.settings import get_settings

    resolved = processes if processes is not None else (get_settings().report_processes or os.cpu_count() or 1)
    return {"processes": resolved, "sample": sample or None, **plan, "made": len(result.made),
            "skipped": len(result.skipped), "pages": sum(m.pages for m in result.made), "wall_s": wall,
            "parent_cpu_s": cpu(parent, parent_after), "workers_cpu_s": cpu(children, children_after),
            "load_before": load, "load_after": os.getloadavg()[0]}


def part_batch(processes: int | None, sample: int) -> dict[str, Any]:
    return asyncio.run(_batch(processes, sample))


def part_contents(path: Path) -> dict[str, Any]:
    from survey.services.reports import ReportSpec
    from survey.services.reports.assemble import Sources, assemble

    async def contents() -> list[dict[str, Any]]:
        sources = Sources(ReportSpec("unit", PERIOD, unit=UNIT).period_range)
        return [await assemble(ReportSpec("unit", PERIOD, unit=unit), sources=sources) for unit in MEMORY_UNITS]

    from survey.settings import get_settings

    assembled = asyncio.run(contents())
    path.write_bytes(pickle.dumps(assembled))
    return {"units": list(MEMORY_UNITS), "bytes": path.stat().st_size,
            "recycle_after": get_settings().report_recycle_after}


def _memory_status() -> dict[str, int]:
    """This process's VmRSS and VmHWM (the peak) in KiB."""
    status = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            status[key] = int(value.split()[0])
    return status


def render_and_sample(content: dict[str, Any]) -> dict[str, int]:
    """In a rendering process: render ``content``, then read this process's memory."""
    from survey.services.reports.render import render_report

    _, pages = render_report(content)
    status = _memory_status()
    return {"pid": os.getpid(), "pages": pages, "rss_kib": status["VmRSS"], "hwm_kib": status["VmHWM"]}


def part_memory(contents_path: Path, reports: int, recycle_after: int | None) -> dict[str, Any]:
    contents = pickle.loads(contents_path.read_bytes())  # noqa: S301 - written by this bench a moment ago
    started = time.perf_counter()
    samples = []
    # spawned, as RenderPool's workers are (a ProcessPoolExecutor with max_tasks_per_child spawns)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, max_tasks_per_child=recycle_after) as pool:
        for number in range(reports):
            samples.append(pool.submit(render_and_sample, contents[number % len(contents)]).result())
    peaks: dict[int, int] = {}
    for sample in samples:
        peaks[sample["pid"]] = max(peaks.get(sample["pid"], 0), sample["hwm_kib"])
    return {"reports": reports, "recycle_after": recycle_after, "seconds": time.perf_counter() - started,
            "pages": sum(s["pages"] for s in samples), "processes": len(peaks),
            "process_peaks_kib": list(peaks.values()), "samples": samples}


# --- orchestration ---------------------------------------------------------------------------------------------------


def _environment(workdir: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "SURVEY_DATABASE_URL": f"sqlite:///{workdir / 'demo.sqlite3'}",
            "SURVEY_VAR_DIR": str(workdir), "SURVEY_SECRET_KEY": secrets.token_urlsafe(48),
            "PICCOLO_CONF": "survey.piccolo_conf"}


def _start(env: dict[str, str], workdir: Path, name: str, *options: str) -> tuple[subprocess.Popen[bytes], Path]:
    out = workdir / f"{name}-{time.monotonic_ns()}.json"
    command = [sys.executable, "-m", "bench.reports", "--part", name, "--out", str(out), *options]
    return subprocess.Popen(command, cwd=ROOT, env=env), out


def _finish(started: tuple[subprocess.Popen[bytes], Path], deadline: float) -> dict[str, Any]:
    process, out = started
    try:
        code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise RuntimeError(f"{' '.join(process.args[3:5])} did not finish in time") from None  # type: ignore[index]
    if code != 0:
        raise RuntimeError(f"{' '.join(process.args[3:5])} exited with {code}")  # type: ignore[index]
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def _run(env: dict[str, str], workdir: Path, name: str, *options: str) -> dict[str, Any]:
    return _finish(_start(env, workdir, name, *options), time.monotonic() + PART_TIMEOUT_S)


def _memory_figures(run: dict[str, Any]) -> dict[str, Any]:
    """The highest peak of any worker up to report 10 against the highest up to the last report."""
    samples = run["samples"]
    first = min(MEMORY_FROM, len(samples))
    at_first = max(s["hwm_kib"] for s in samples[:first])
    at_last = max(s["hwm_kib"] for s in samples)
    return {"after": first, "peak_after_first_kib": at_first, "peak_after_last_kib": at_last,
            "rss_after_first_kib": samples[first - 1]["rss_kib"], "rss_after_last_kib": samples[-1]["rss_kib"],
            "growth": at_last / at_first - 1}


def _mib(kib: float) -> str:
    return f"{kib / 1024:.0f} MiB"


def _split(run: dict[str, Any]) -> str:
    return (f"wall {run['wall_s']:.1f} s: plan {run['plan_s']:.1f} s; CPU main process {run['parent_cpu_s']:.1f} s "
            f"(plan {run['plan_cpu_s']:.1f} s + assembly), workers {run['workers_cpu_s']:.1f} s (rendering); "
            f"load {run['load_before']:.1f} → {run['load_after']:.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=100, help="reports the memory runs render (default 100)")
    parser.add_argument("--sample", type=int, default=SAMPLE,
                        help=f"reports of the plan in the 1- vs 2-process run (0: the whole plan; default {SAMPLE})")
    parser.add_argument("--quick", action="store_true", help="a smaller run: 20 reports, a sample of 8, no --all")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (the demo database)")
    parser.add_argument("--part", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--processes", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--recycle-after", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--contents", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.part:
        parts = {
            "build": part_build,
            "page": lambda: part_page(RUNS),
            "batch": lambda: part_batch(args.processes, args.sample),
            "contents": lambda: part_contents(Path(args.contents)),
            "memory": lambda: part_memory(Path(args.contents), args.reports, args.recycle_after),
        }
        Path(args.out).write_text(json.dumps(parts[args.part]()))
        return 0
    if args.quick:
        args.reports, args.sample = min(args.reports, 20), min(args.sample or 8, 8)
    if args.reports < MEMORY_FROM:
        parser.error(f"--reports must be at least {MEMORY_FROM}")
    return bench(args)


def bench(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="survey-bench-reports-"))
    env = _environment(workdir)
    began, load = time.perf_counter(), os.getloadavg()
    print(f"bench.reports: demo of {DEMO_RESPONSES:,} responses (seed {DEMO_SEED}, as of {DEMO_TODAY}), "
          f"period {PERIOD}, {os.cpu_count()} CPUs (load average {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}); "
          f"work directory {workdir}", flush=True)
    try:
        print("building the demo ...", flush=True)
        built = _run(env, workdir, "build")
        print(f"  {built['seconds']:.1f} s: {built['counts']}", flush=True)
        print(f"unit report {UNIT} {PERIOD} against a plain page, best of {RUNS} ...", flush=True)
        page = _run(env, workdir, "page")
        print(f"make_all {PERIOD}, a sample of {args.sample or 'all'} reports, 1 process then 2 ...", flush=True)
        one = _run(env, workdir, "batch", "--processes", "1", "--sample", str(args.sample))
        two = _run(env, workdir, "batch", "--processes", "2", "--sample", str(args.sample))
        contents = workdir / "contents.pickle"
        recycle_after = _run(env, workdir, "contents", "--contents", str(contents))["recycle_after"]
        print(f"memory: {args.reports} reports in one worker, without recycling and recycled every "
              f"{recycle_after} (side by side) ...", flush=True)
        deadline = time.monotonic() + PART_TIMEOUT_S
        flat = _start(env, workdir, "memory", "--contents", str(contents), "--reports", str(args.reports))
        recycled = _start(env, workdir, "memory", "--contents", str(contents), "--reports", str(args.reports),
                          "--recycle-after", str(recycle_after))
        memory_flat, memory_recycled = _finish(flat, deadline), _finish(recycled, deadline)
        everything = None
        if not args.quick:
            print(f"make_all {PERIOD}, the whole plan, default processes ...", flush=True)
            everything = _run(env, workdir, "batch", "--sample", "0")
    finally:
        if not args.keep:
            subprocess.run(["rm", "-rf", str(workdir)], check=False)

    speedup = one["wall_s"] / two["wall_s"]
    memory = _memory_figures(memory_flat)
    recycled_figures = _memory_figures(memory_recycled)
    failures = []
    # the baseline is a rendering, so the target is judged on the report's rendering (charts + WeasyPrint); the end
    # to end figure adds reading the database once for the report, which a batch shares and issue 11 makes cheap
    if page["render_ratio"] > TARGET_PAGE_RATIO:
        failures.append(f"seconds per page {page['render_ratio']:.2f}× the plain page > {TARGET_PAGE_RATIO:g}×")
    if speedup < TARGET_SPEEDUP:
        failures.append(f"speed-up {speedup:.2f}× < {TARGET_SPEEDUP:g}×")
    # judged on the workers as they run (recycled): a worker's peak across the reports; the run without recycling
    # shows why they are recycled
    if recycled_figures["growth"] > TARGET_GROWTH:
        failures.append(f"memory growth {100 * recycled_figures['growth']:.1f}% > {100 * TARGET_GROWTH:g}%")
    passed = not failures

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    n = page["pages"]
    rows = [
        ("plain page (WeasyPrint, 1 A4 page, PDF/UA-1)", f"{page['plain_page_s']:.3f} s/page"),
        (f"{page['report']}: {n} pages, end to end",
         f"{page['end_to_end_s']:.2f} s = {page['end_to_end_per_page_s']:.3f} s/page = "
         f"{page['end_to_end_ratio']:.2f}×"),
        ("  of which assemble (database, scoring)", f"{page['assemble_s']:.2f} s"),
        ("  render only (charts + WeasyPrint)",
         f"{page['render_s']:.2f} s = {page['render_per_page_s']:.3f} s/page = {page['render_ratio']:.2f}× "
         f"(target ≤ {TARGET_PAGE_RATIO:g}×, judged on this) {verdict(page['render_ratio'] <= TARGET_PAGE_RATIO)}"),
        (f"make_all, {one['made']} of {one['planned']} reports, 1 process", f"{one['pages']} pages, {_split(one)}"),
        (f"make_all, {two['made']} of {two['planned']} reports, 2 processes", f"{two['pages']} pages, {_split(two)}"),
        ("  speed-up", f"{speedup:.2f}× (target ≥ {TARGET_SPEEDUP:g}×) {verdict(speedup >= TARGET_SPEEDUP)}"),
        (f"memory, 1 worker, {args.reports} reports, no recycling",
         f"peak {_mib(memory['peak_after_first_kib'])} after report {memory['after']}, "
         f"{_mib(memory['peak_after_last_kib'])} after report {args.reports}: growth {100 * memory['growth']:.1f}% "
         f"(why the workers are recycled); RSS "
         f"{_mib(memory['rss_after_first_kib'])} → {_mib(memory['rss_after_last_kib'])}"),
        (f"memory, recycled every {recycle_after} (as --all runs)",
         f"{memory_recycled['processes']} processes, peaks "
         f"{', '.join(_mib(p) for p in memory_recycled['process_peaks_kib'])}: the highest after report "
         f"{recycled_figures['after']} {_mib(recycled_figures['peak_after_first_kib'])}, after report "
         f"{args.reports} {_mib(recycled_figures['peak_after_last_kib'])}: growth "
         f"{100 * recycled_figures['growth']:.1f}% (target ≤ {100 * TARGET_GROWTH:g}%, judged on this) "
         f"{verdict(recycled_figures['growth'] <= TARGET_GROWTH)}"),
    ]
    if everything is not None:
        rows.append((f"--all {PERIOD}, {everything['processes']} processes (default)",
                     f"{everything['made']} reports made, {everything['skipped']} skipped (too few answers), "
                     f"{everything['pages']} pages, {_split(everything)}"))
    else:
        rows.append((f"--all {PERIOD}", "not run (--quick)"))
    rows.append(("result", "PASS" if passed else "FAIL: " + "; ".join(failures)))
    width = max(len(label) for label, _ in rows)
    print()
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    load = os.getloadavg()
    print(f"(bench time {time.perf_counter() - began:.0f} s; load average now {load[0]:.1f}, {load[1]:.1f}, "
          f"{load[2]:.1f} on {os.cpu_count()} CPUs: other work on the machine takes CPUs from the 2-process runs)")

    RESULTS_DIR.mkdir(exist_ok=True)
    figures = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(), "load_end": load,
        "settings": {"reports": args.reports, "sample": args.sample, "quick": args.quick},
        "demo": {"responses": DEMO_RESPONSES, "seed": DEMO_SEED, "today": DEMO_TODAY.isoformat(), **built},
        "period": PERIOD, "page": page, "target_page_ratio": TARGET_PAGE_RATIO,
        "batch": {"one_process": one, "two_processes": two, "speedup": speedup}, "target_speedup": TARGET_SPEEDUP,
        "memory": {**memory, "no_recycling": memory_flat, "recycled": memory_recycled},
        "target_growth": TARGET_GROWTH, "all": everything, "passed": passed, "failures": failures,
    }
    out = RESULTS_DIR / f"reports-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    print(f"figures written to {out.relative_to(ROOT)}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
