"""Every report of a period (``survey reports make --all``): planned from data read once per questionnaire, assembled
in the event loop, rendered in worker processes (one per core), each replaced after a number of reports because
WeasyPrint does not give memory back (its issues 220 and 611)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from survey.services.reports.assemble import Sources
from survey.services.reports.make import make_report
from survey.services.reports.render import render_report
from survey.services.reports.spec import MadeReport, ReportSpec
from survey.services.scores.queries import published_questionnaires
from survey.settings import get_settings

__all__ = ["BatchResult", "RenderPool", "make_all", "plan_all"]


class RenderPool:
    """Rendering processes: ``processes`` (0: one per core), each replaced after ``recycle_after`` reports."""

    def __init__(self, processes: int = 0, recycle_after: int = 20) -> None:
        self.processes = processes or os.cpu_count() or 1
        self._executor = ProcessPoolExecutor(max_workers=self.processes, max_tasks_per_child=recycle_after)

    async def render(self, content: dict[str, Any]) -> tuple[bytes, int]:
        return await asyncio.get_running_loop().run_in_executor(self._executor, render_report, content)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


@dataclass
class BatchResult:
    made: list[MadeReport] = field(default_factory=list)
    skipped: list[tuple[ReportSpec, int]] = field(default_factory=list)  # the spec and its n


async def plan_all(period: str, lang: str, sources: Sources, questionnaire: str | None = None,
                   min_n: int = 30) -> tuple[list[ReportSpec], list[tuple[ReportSpec, int]]]:
    """The reports of ``period``: per unit (its subtree), per unit × service and per service nationally where the
    answers in the period reach ``min_n`` (else skipped, with the n), and the leadership report."""
    units, services = await sources.catalogue()
    start, end = sources.period.bounds(get_settings().timezone)
    keys = [questionnaire] if questionnaire else await published_questionnaires()
    unit_ids, service_ids, weights = [], [], []
    for key in keys:
        cells = (await sources.get(key)).cells
        inside = (cells.epoch >= int(start.timestamp())) & (cells.epoch < int(end.timestamp()))
        unit_ids.append(cells.unit_id[inside])
        service_ids.append(cells.service_id[inside])
        weights.append(cells.n[inside])
    unit_of = np.concatenate(unit_ids) if unit_ids else np.zeros(0, dtype=np.int64)
    service_of = np.concatenate(service_ids) if service_ids else np.zeros(0, dtype=np.int64)
    n_of = np.concatenate(weights) if weights else np.zeros(0, dtype=np.int64)
    path = {u["id"]: u["path"] for u in units}
    paths = np.array([path.get(int(u), "") for u in unit_of], dtype=object)
    planned: list[ReportSpec] = []
    skipped: list[tuple[ReportSpec, int]] = []

    def consider(spec: ReportSpec, n: int) -> None:
        (planned.append(spec) if n >= min_n else skipped.append((spec, n)))

    for unit in units:
        if unit["parent"] is None:
            continue
        mine = np.array([p.startswith(unit["path"]) for p in paths], dtype=bool) if paths.size else np.zeros(0, bool)
        consider(ReportSpec("unit", period, unit=unit["code"], questionnaire=questionnaire, lang=lang),
                 int(n_of[mine].sum()))
        for service in services:
            n = int(n_of[mine & (service_of == service["id"])].sum())
            if n:
                consider(ReportSpec("unit", period, unit=unit["code"], service=service["code"],
                                    questionnaire=questionnaire, lang=lang), n)
    for service in services:
        consider(ReportSpec("service", period, service=service["code"], questionnaire=questionnaire, lang=lang),
                 int(n_of[service_of == service["id"]].sum()))
    planned.append(ReportSpec("leadership", period, questionnaire=questionnaire, lang=lang))
    return planned, skipped


async def make_all(period: str, lang: str = "vi", *, questionnaire: str | None = None,
                   on_plan: Callable[[int], Any] | None = None,
                   on_made: Callable[[MadeReport], Any] | None = None, processes: int | None = None) -> BatchResult:
    """Make every report of ``period`` (see :func:`plan_all`): each questionnaire read once, the reports rendered
    in parallel processes as their content is assembled."""
    settings = get_settings()
    sources = Sources(ReportSpec("leadership", period).period_range)
    specs, skipped = await plan_all(period, lang, sources, questionnaire)
    if on_plan:
        on_plan(len(specs))
    pool = RenderPool(settings.report_processes if processes is None else processes, settings.report_recycle_after)
    result = BatchResult(skipped=skipped)
    limit = asyncio.Semaphore(pool.processes * 2)  # assembled contents waiting for a process: a few, not all

    async def one(spec: ReportSpec) -> None:
        async with limit:
            made = await make_report(spec, sources=sources, pool=pool)
        result.made.append(made)
        if on_made:
            on_made(made)

    try:
        await asyncio.gather(*(one(spec) for spec in specs))
    finally:
        pool.close()
    return result
