"""Importing responses from a wide CSV file (paper and phone surveys, history from older systems).

One row per response: ``response_id, questionnaire, version, unit, service, channel, submitted_at,
language``, then one column per question id (empty = not answered). The whole file is checked first;
every problem is reported with its row (the line of the file, the header being row 1), its column and
the allowed values, and nothing is written from a file with problems unless ``skip_invalid`` is set,
in which case the valid rows are written. Re-importing is harmless: a ``response_id`` already stored
(``Response.external_id``) is skipped.

Decisions:

* trust level ``poster``: an imported response cannot be tied to one person by a link or a ticket,
  so it gets the lowest level the model has (``TrustLevel`` has no ``imported`` value);
* imported responses are ``complete``, have no invitation, and open no follow-up case (they are history);
* scales, options and text lengths are enforced, and so is ``required``, with the questionnaire's
  skip logic: a required question left empty is a problem only where the respondent would have been
  asked it (a paper form with the answer missing is entered as its own row once the answer is known,
  or the file is imported with ``skip_invalid`` leaving that row out: a response without a required
  answer would count as answered in the scores' denominators but not in their numerators);
* a column that is not a question of the row's questionnaire version, filled in, is a problem (a typo
  in a question id must not pass as "not answered");
* text is stored exactly as given: ``=cmd|' /c calc'!A1`` stays text and is never evaluated (whoever
  exports it to a spreadsheet must neutralise it);
* ``submitted_at`` is ISO 8601; without an offset it is local time (``SURVEY_TIMEZONE``); a day alone
  means its midnight; it may not lie in the future.
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from questionnaires.answers import MULTI_SEPARATOR, from_storage, visible_questions
from questionnaires.model import CHANNELS, Question, Questionnaire
from survey.db import NUL, engine, is_sqlite, marks, run_sql, write_transaction
from survey.services.aggregates import count_responses

__all__ = ["FIXED_COLUMNS", "ImportProblem", "ImportResult", "import_responses", "read_rows"]

FIXED_COLUMNS = ("response_id", "questionnaire", "version", "unit", "service", "channel", "submitted_at", "language")
MAX_FIELD = 100_000  # characters; longer fields are reported, never stored
MAX_ID_LENGTH = 80
RESPONSE_BATCH = 500
ANSWER_BATCH = 5_000
IMPORT_TRUST = "poster"
EARLIEST_RESPONSE = datetime(2000, 1, 1)  # local time: an earlier submitted_at is a typo or a placeholder


@dataclass(frozen=True)
class ImportProblem:
    """One problem: ``row`` is the line of the CSV (header = 1; 0 for the file), ``column`` the column."""

    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = "file" if self.row == 0 else f"row {self.row}"
        return f"{where}, column {self.column}: {self.message}" if self.column else f"{where}: {self.message}"


@dataclass
class ImportResult:
    rows: int = 0
    imported: int = 0
    already_present: int = 0
    invalid_rows: int = 0
    problems: list[ImportProblem] = field(default_factory=list)
    written: bool = False


@dataclass
class _Row:
    line: int
    response_id: str
    version_row: int
    unit: int
    service: int | None
    channel: str
    submitted_at: datetime
    language: str
    answers: list[tuple[str, float | None, str | None]]


def read_rows(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]], list[ImportProblem]]:
    """Header and rows of a UTF-8 CSV (a BOM is allowed); a problem instead when the file cannot be read."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return [], [], [ImportProblem(line, None, f"the file is not UTF-8 (byte {error.start}: "
                                                  f"{data[error.start:error.start + 1]!r}); save it as CSV UTF-8")]
    if NUL in text:
        return [], [], [ImportProblem(0, None, "the file contains NUL characters: it is not a CSV text file")]
    csv.field_size_limit(max(MAX_FIELD * 4, csv.field_size_limit()))
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    try:
        header = next(reader, [])
        for record in reader:
            if any(cell.strip() for cell in record):
                rows.append((reader.line_num, record))
    except csv.Error as error:
        return [], [], [ImportProblem(reader.line_num, None, f"the file is not valid CSV: {error}")]
    return [h.strip() for h in header], rows, []


def _number(question: Question, raw: str) -> tuple[float | None, str | None, str | None]:
    scale = question.scale
    assert scale is not None
    allowed = f"a whole number from {scale.min} to {scale.max}"
    try:
        value = float(raw)
    except ValueError:
        return None, None, f"{raw[:40]!r} is not a number; allowed: {allowed}"
    if not math.isfinite(value) or value != int(value) or not scale.min <= value <= scale.max:
        return None, None, f"{raw[:40]!r} is off the scale; allowed: {allowed}"
    return float(int(value)), None, None


def _answer(question: Question, raw: str) -> tuple[float | None, str | None, str | None]:
    """``(number, text, error)`` of one cell."""
    if question.is_numeric:
        return _number(question, raw)
    if question.type == "single":
        if raw not in question.option_values:
            return None, None, f"{raw[:40]!r} is not an option; allowed: {', '.join(question.option_values)}"
        return None, raw, None
    if question.type == "multi":
        chosen = [v.strip() for v in raw.split(MULTI_SEPARATOR) if v.strip()]
        wrong = [v for v in chosen if v not in question.option_values]
        if wrong:
            return None, None, (f"{wrong[0][:40]!r} is not an option; allowed: {', '.join(question.option_values)}, "
                                f"several joined with '{MULTI_SEPARATOR}'")
        ordered = [v for v in question.option_values if v in chosen]
        return None, MULTI_SEPARATOR.join(ordered), None
    limit = question.max_length or 1000
    if len(raw) > limit:
        return None, None, f"the text has {len(raw)} characters; allowed: at most {limit}"
    return None, raw, None


def _allowed_answers(question: Question) -> str:
    if question.is_numeric and question.scale is not None:
        return f"a whole number from {question.scale.min} to {question.scale.max}"
    if question.type in ("single", "multi"):
        return ", ".join(question.option_values)
    return "any text"


def _parse_time(raw: str, zone: ZoneInfo, now: datetime) -> tuple[datetime | None, str | None]:
    allowed = "an ISO 8601 date and time such as 2026-05-03 14:30 or 2026-05-03T14:30:00+07:00"
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None, f"{raw[:40]!r} is not a date and time; allowed: {allowed}"
    # checked before the conversion to UTC, which overflows at the ends of the calendar
    if moment.replace(tzinfo=None) < EARLIEST_RESPONSE:
        return None, f"{raw[:40]!r} is before 2000; allowed: {allowed}"
    if moment.replace(tzinfo=None) > now.replace(tzinfo=None) + timedelta(days=1):
        return None, f"{raw[:40]!r} lies in the future; allowed: {allowed}, not after now"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    moment = moment.astimezone(UTC)
    if moment > now:
        return None, f"{raw[:40]!r} lies in the future; allowed: {allowed}, not after now"
    return moment, None


async def _reference() -> dict[str, Any]:
    from survey.services.questionnaires import get_version
    from survey.tables import QuestionnaireVersion, Service, Unit

    versions: dict[tuple[str, int], tuple[int, Questionnaire]] = {}
    for row in await QuestionnaireVersion.select(QuestionnaireVersion.id, QuestionnaireVersion.key,
                                                 QuestionnaireVersion.version):
        versions[(row["key"], row["version"])] = (row["id"], (await get_version(row["id"])).questionnaire)
    return {
        "versions": versions,
        "units": {r["code"]: r["id"] for r in await Unit.select(Unit.id, Unit.code)},
        "services": {r["code"]: r["id"] for r in await Service.select(Service.id, Service.code)},
    }


def _check_header(header: list[str], questionnaires: Iterable[Questionnaire]) -> list[ImportProblem]:
    problems = []
    missing = [c for c in FIXED_COLUMNS if c not in header]
    if missing:
        problems.append(ImportProblem(1, ", ".join(missing),
                                      f"missing column(s); required: {', '.join(FIXED_COLUMNS)}"))
    seen: set[str] = set()
    known = {x.id for q in questionnaires for x in q.questions}
    for name in header:
        if name in seen:
            problems.append(ImportProblem(1, name[:60], "the column appears twice"))
        seen.add(name)
        if name not in FIXED_COLUMNS and name not in known:
            problems.append(ImportProblem(1, name[:60], "unknown question column; allowed: the question ids of the "
                                          f"questionnaires ({', '.join(sorted(known))})"))
    return problems


def _check_row(line: int, record: list[str], header: list[str], ref: dict[str, Any], zone: ZoneInfo,
               now: datetime, languages: tuple[str, ...], first_seen: dict[str, int]) -> tuple[_Row | None,
                                                                                                list[ImportProblem]]:
    problems: list[ImportProblem] = []

    def bad(column: str | None, message: str) -> None:
        problems.append(ImportProblem(line, column, message))

    if len(record) != len(header):
        bad(None, f"{len(record)} fields where the header has {len(header)}")
        return None, problems
    cells = dict(zip(header, record, strict=True))
    for name, value in cells.items():
        if len(value) > MAX_FIELD:
            bad(name[:60], f"the field has {len(value)} characters; allowed: at most {MAX_FIELD}")
    if problems:
        return None, problems
    response_id = cells["response_id"].strip()
    if not response_id or len(response_id) > MAX_ID_LENGTH:
        bad("response_id", f"must be 1 to {MAX_ID_LENGTH} characters")
    elif response_id in first_seen:
        bad("response_id", f"{response_id[:40]!r} appears again (first on row {first_seen[response_id]}); "
                           "allowed: one row per response_id")
    else:
        first_seen[response_id] = line
    key = cells["questionnaire"].strip()
    keys = sorted({k for k, _ in ref["versions"]})
    questionnaire = None
    version_row = 0
    if key not in keys:
        bad("questionnaire", f"{key[:40]!r} is not published; allowed: {', '.join(keys)}")
    else:
        published = sorted(v for k, v in ref["versions"] if k == key)
        try:
            version = int(cells["version"].strip())
        except ValueError:
            version = -1
        if (key, version) not in ref["versions"]:
            bad("version", f"{cells['version'][:40]!r} is not a published version of {key!r}; allowed: "
                           f"{', '.join(map(str, published))}")
        else:
            version_row, questionnaire = ref["versions"][(key, version)]
    unit = ref["units"].get(cells["unit"].strip())
    if unit is None:
        bad("unit", f"unknown unit {cells['unit'][:40]!r}; allowed: {', '.join(sorted(ref['units']))}")
    service_code = cells["service"].strip()
    service = None
    if service_code:
        service = ref["services"].get(service_code)
        if service is None:
            bad("service", f"unknown service {service_code[:40]!r}; allowed: {', '.join(sorted(ref['services']))} "
                           "or empty")
    channel = cells["channel"].strip()
    if channel not in CHANNELS:
        bad("channel", f"{channel[:40]!r} is not a channel; allowed: {', '.join(CHANNELS)}")
    submitted, error = _parse_time(cells["submitted_at"].strip(), zone, now)
    if error:
        bad("submitted_at", error)
    language = cells["language"].strip() or languages[0]
    if language not in languages:
        bad("language", f"{language[:40]!r} is not a language of the survey; allowed: {', '.join(languages)}")
    answers: list[tuple[str, float | None, str | None]] = []
    if questionnaire is not None:
        ids = {x.id for x in questionnaire.questions}
        for name, value in cells.items():
            if name in FIXED_COLUMNS or value == "":
                continue
            if name not in ids:
                bad(name[:60], f"{questionnaire.id} version {questionnaire.version} has no such question; leave it "
                               "empty")
                continue
            question = questionnaire.question(name)
            raw = value if question.type == "text" else value.strip()
            number, text, message = _answer(question, raw)
            if message:
                bad(name, message)
            elif number is not None or text:
                answers.append((name, number, text))
        if not problems:
            given = {q: from_storage(questionnaire.question(q), number, text) for q, number, text in answers}
            for question in visible_questions(questionnaire, given):
                if question.required and question.id not in given:
                    bad(question.id, f"a required answer is empty; allowed: {_allowed_answers(question)}")
    if problems or submitted is None or unit is None:
        return None, problems
    return _Row(line, response_id, version_row, unit, service, channel, submitted, language, answers), []


async def _existing(ids: list[str]) -> set[str]:
    from survey.tables import Response

    found: set[str] = set()
    for i in range(0, len(ids), RESPONSE_BATCH):
        chunk = ids[i:i + RESPONSE_BATCH]
        rows = await Response.select(Response.external_id).where(Response.external_id.is_in(chunk))
        found.update(r["external_id"] for r in rows)
    return found


async def _write(rows: list[_Row], progress: Callable[[int], None] | None) -> None:
    db = engine()
    sqlite = is_sqlite()
    columns = ("questionnaire", "unit", "service", "channel", "language", "trust", "status", "page", "external_id",
               "started_at", "submitted_at")
    async with write_transaction():
        for start in range(0, len(rows), RESPONSE_BATCH):
            batch = rows[start:start + RESPONSE_BATCH]
            values: list[Any] = []
            for row in batch:
                values += [row.version_row, row.unit, row.service, row.channel, row.language, IMPORT_TRUST,
                           "complete", 1, row.response_id, row.submitted_at, row.submitted_at]
            rows_sql = ", ".join(f"({marks(len(columns))})" for _ in batch)
            inserted = {r["external_id"]: r["id"] for r in await run_sql(
                f"INSERT INTO response ({', '.join(columns)}) VALUES {rows_sql} RETURNING id, external_id",  # noqa: S608
                *values)}
            answers = [(inserted[row.response_id], q, number, text) for row in batch for q, number, text in row.answers]
            if sqlite:
                connection = await db.current_transaction.get().begun()  # type: ignore[union-attr]
                await connection.executemany(
                    "INSERT INTO answer (response, question_id, value_number, value_text) VALUES (?, ?, ?, ?)", answers)
            elif answers:
                connection = db.current_transaction.get().connection  # type: ignore[union-attr]
                # PostgreSQL's COPY is several times faster than a multi-row INSERT for the answers
                await connection.copy_records_to_table("answer", records=answers,
                                                       columns=["response", "question_id", "value_number",
                                                                "value_text"])
            await count_responses(list(inserted.values()))  # the kept score cells, in this transaction
            if progress:
                progress(len(batch))


async def import_responses(path_or_data: Path | bytes, *, skip_invalid: bool = False,
                           progress: Callable[[int], None] | None = None) -> ImportResult:
    """Check the CSV and, when it has no problem (or ``skip_invalid``), store its new responses at once."""
    from survey.settings import get_settings

    settings = get_settings()
    data = await asyncio.to_thread(path_or_data.read_bytes) if isinstance(path_or_data, Path) else path_or_data
    result = ImportResult()
    header, records, problems = read_rows(data)
    result.rows = len(records)
    if problems:
        result.problems = problems
        return result
    ref = await _reference()
    header_problems = _check_header(header, (q for _, q in ref["versions"].values()))
    if header_problems:
        result.problems = header_problems
        return result
    zone, now = ZoneInfo(settings.timezone), datetime.now(UTC)
    first_seen: dict[str, int] = {}
    valid: list[_Row] = []
    for line, record in records:
        row, row_problems = _check_row(line, record, header, ref, zone, now, settings.languages, first_seen)
        if row is None:
            result.invalid_rows += 1
            result.problems.extend(row_problems)
        else:
            valid.append(row)
    if result.problems and not skip_invalid:
        return result
    present = await _existing([r.response_id for r in valid])
    new = [r for r in valid if r.response_id not in present]
    result.already_present = len(valid) - len(new)
    if new:
        await _write(new, progress)
        result.written = True
    result.imported = len(new)
    return result
