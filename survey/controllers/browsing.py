"""The responses a member of staff reads: ``/staff/responses`` (filtered, newest first; what a figure's
drill-down lands on) and ``/staff/responses/export?format=csv|xlsx`` (what the filter shows, streamed, written to
the audit log). The filters and their SQL live in :mod:`survey.services.browsing`."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Stream, Template

from survey.i18n import t
from survey.services import audit
from survey.services.accounts import StaffIdentity
from survey.services.browsing import (
    CASE_FILTERS,
    EXPORT_FORMATS,
    ResponseFilter,
    ResponseFilterError,
    export_responses,
    filtered_responses,
)
from survey.services.questionnaires import latest_version
from survey.services.scores import SCORE_QUESTIONNAIRES
from survey.state import state_of
from survey.tables import ContactChannel
from survey.web import STAFF, client_address, page_context, page_language, requires_staff, with_query

__all__ = ["LIFESPAN", "ROUTES"]

PER_PAGE = 50
Text = Annotated[str, QueryParameter(max_length=40)]


def _selection(questionnaire: str, period: str, unit: str, service: str, channel: str, comment: str, case: str,
               overall_max: int | None, criterion: str = "") -> ResponseFilter:
    return ResponseFilter(questionnaire=questionnaire.strip(), period=period.strip(), unit=unit.strip(),
                          service=service.strip(), channel=channel.strip(), comment=comment in ("1", "true", "on"),
                          case=case.strip(), overall_max=overall_max, criterion=criterion.strip())


async def _criteria(questionnaire: str) -> list[Any]:
    """The criteria of the chosen questionnaire's latest version (the criterion filter's choices)."""
    if not questionnaire:
        return []
    try:
        return list((await latest_version(questionnaire)).questionnaire.criteria)
    except LookupError:
        return []


class ResponsesController(Controller):
    """The filtered list and its export."""

    path = "/staff/responses"
    guards = [requires_staff]
    dependencies = STAFF
    include_in_schema = False

    @get("/", name="staff:responses")
    async def responses(
        self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
        questionnaire: Text = "", period: Text = "", unit: Text = "", service: Text = "", channel: Text = "",
        comment: Text = "", case: Text = "",
        overall_max: Annotated[int | None, QueryParameter(ge=1, le=10)] = None,
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1, criterion: Text = "",
    ) -> Template:
        """The complete responses of the user's units that the filter keeps, newest first, with how many in all."""
        language = page_language(request)
        selection = _selection(questionnaire, period, unit, service, channel, comment, case, overall_max, criterion)
        context = {"me": staff, "form": selection, "questionnaires": SCORE_QUESTIONNAIRES,
                   "channels": [c.value for c in ContactChannel], "cases": CASE_FILTERS, "formats": EXPORT_FORMATS,
                   "criteria": await _criteria(selection.questionnaire)}
        try:
            listing = await filtered_responses(staff, selection, page=page, per_page=PER_PAGE,
                                               versions=state_of(request.app).versions)
        except ResponseFilterError as error:
            return Template(template_name="staff/responses.html", status_code=400, context=page_context(
                request, language, listing=None, error=str(error), error_field=error.field_name, **context))
        await audit.record("responses_listed", actor=staff, object_type="response",
                           detail={**selection.query(), "page": page}, client_address=client_address(request))
        return Template(template_name="staff/responses.html", context=page_context(
            request, language, listing=listing, error=None, error_field=None,
            export_query=with_query(request, page=None), **context,
            previous_href=f"/staff/responses?{with_query(request, page=page - 1)}",
            next_href=f"/staff/responses?{with_query(request, page=page + 1)}"))

    @get("/export", name="staff:responses-export")
    async def export(
        self, request: Request[Any, Any, Any], staff: NamedDependency[StaffIdentity],
        format: Annotated[str, QueryParameter(max_length=8)] = "csv",  # noqa: A002 - the interface's name
        questionnaire: Text = "", period: Text = "", unit: Text = "", service: Text = "", channel: Text = "",
        comment: Text = "", case: Text = "",
        overall_max: Annotated[int | None, QueryParameter(ge=1, le=10)] = None, criterion: Text = "",
    ) -> Stream | Template:
        """What the list's filter shows as CSV (UTF-8 with a byte-order mark, for Excel) or XLSX, streamed."""
        language = page_language(request)
        selection = _selection(questionnaire, period, unit, service, channel, comment, case, overall_max, criterion)
        try:
            if format not in EXPORT_FORMATS:
                raise ResponseFilterError("format", f"must be one of {', '.join(EXPORT_FORMATS)}; got {format!r}")
            columns, chunks = await export_responses(staff, selection, versions=state_of(request.app).versions,
                                                     language=language)
        except ResponseFilterError as error:
            return Template(template_name="staff/message.html", status_code=400, context=page_context(
                request, language, me=staff, title=t("staff.responses.export_failed", language),
                message=str(error), back=f"/staff/responses?{with_query(request, format=None)}"))
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%MZ")
        filename = f"responses-{staff.unit_code}-{stamp}.{format}"
        counted = [0]

        async def recorded(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
            async for part in body:
                yield part
            await audit.record("responses_exported", actor=staff, object_type="response",
                               detail={**selection.query(), "format": format, "rows": counted[0]},
                               client_address=client_address(request))

        body = _csv(columns, chunks, counted) if format == "csv" else _xlsx(columns, chunks, counted)
        media_type = ("text/csv; charset=utf-8" if format == "csv"
                      else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        return Stream(recorded(body), media_type=media_type, headers={
            "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


async def _csv(columns: list[str], chunks: Any, counted: list[int]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield ("\ufeff" + buffer.getvalue()).encode()
    async for rows in chunks:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(rows)
        counted[0] += len(rows)
        yield buffer.getvalue().encode()


async def _xlsx(columns: list[str], chunks: Any, counted: list[int]) -> AsyncIterator[bytes]:
    """XlsxWriter in constant-memory mode (rows go to disk as they come), then the file in 64 KiB parts."""
    import xlsxwriter

    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_numbers": False,
                                          "strings_to_formulas": False, "strings_to_urls": False})
        sheet = book.add_worksheet("responses")
        bold = book.add_format({"bold": True})
        sheet.write_row(0, 0, columns, bold)
        line = 1
        async for rows in chunks:
            for row in rows:
                sheet.write_row(line, 0, row)
                line += 1
            counted[0] += len(rows)
        await asyncio.to_thread(book.close)
        with open(path, "rb") as file:  # noqa: ASYNC230 - a local temporary file, read in parts
            while part := file.read(65536):
                yield part
    finally:
        os.unlink(path)


ROUTES: list[Any] = [ResponsesController]
LIFESPAN: list[Any] = []
