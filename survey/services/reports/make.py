"""Making one report: assemble its content (the database, in the event loop), then render it (CPU: WeasyPrint),
here or in a rendering process (:class:`~survey.services.reports.batch.RenderPool`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from survey.services.reports.assemble import Sources, assemble
from survey.services.reports.render import render_report
from survey.services.reports.spec import MadeReport, ReportSpec

if TYPE_CHECKING:
    from survey.services.reports.batch import RenderPool

__all__ = ["make_report"]


async def make_report(spec: ReportSpec, *, now: datetime | None = None, sources: Sources | None = None,
                      pool: RenderPool | None = None, progress: Callable[[int], Any] | None = None) -> MadeReport:
    """The PDF of ``spec``. ``sources`` shares data read once between reports (a batch); ``pool`` renders in a
    worker process (else in a thread of this one); ``progress`` is called with 0-100 as the work goes.

    Raises :class:`~survey.services.reports.spec.ReportParameterError` naming an unknown unit, service or
    questionnaire."""
    if progress:
        progress(5)
    content = await assemble(spec, sources=sources, now=now)
    if progress:
        progress(50)
    if pool is not None:
        pdf, pages = await pool.render(content)
    else:
        pdf, pages = await asyncio.to_thread(render_report, content)
    if progress:
        progress(100)
    return MadeReport(spec=spec, pdf=pdf, pages=pages, title=str(content["title"]))
