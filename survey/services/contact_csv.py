"""Contact events from a CSV file (the ``survey contacts import`` command): read, checked row by row.

A file is UTF-8 (with or without BOM), comma-separated, with a header naming the columns of
:data:`CSV_COLUMNS`. Every problem names its line and column; a file with any error imports
nothing (see :func:`survey.services.contacts.import_contacts`).

Example::

    reading = read_contacts_csv(path.read_bytes(), source="switchboard")
    await check_csv_references(reading)
    reading.errors  # [(line, "unit: unknown unit 'XX' ..."), ...]
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from survey.services.contacts import ContactEvent, ReferenceCache, check_events, conflicting_events
from survey.settings import get_settings

__all__ = ["CSV_COLUMNS", "CSV_MAX_FIELD", "CSV_MAX_ROWS", "CsvReading", "check_csv_references", "read_contacts_csv"]


CSV_COLUMNS = ("source", "external_id", "channel", "unit", "service", "occurred_at", "phone", "email", "language",
               "agent", "counter")
CSV_REQUIRED = ("external_id", "channel", "unit", "occurred_at")
CSV_MAX_FIELD = 1000  # characters; no field of a contact is longer, a bigger one is a broken or hostile file
CSV_MAX_ROWS = 200_000  # one transaction per file: larger exports are split by the source system
DATE_HELP = ("use ISO 8601, e.g. 2026-11-23T14:05:00+07:00; a time without an offset is read as "
             "{zone} local time")


@dataclass
class CsvReading:
    """A CSV file read and checked: its events (with their row numbers), errors and warnings."""

    events: list[ContactEvent] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # the file's line of each event
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row, message); row 0: the whole file
    warnings: list[str] = field(default_factory=list)

    @property
    def fatal(self) -> bool:
        """Errors about the whole file (encoding, header): no row can be imported."""
        return any(row == 0 for row, _ in self.errors)


def _decode(data: bytes) -> tuple[str | None, str | None]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, "the file is UTF-16 encoded; save it as UTF-8 (in Excel: 'CSV UTF-8')"
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        guess = "Windows-1258 or Windows-1252" if any(0x80 <= b <= 0xFF for b in data[error.start : error.start + 1]) \
            else "not UTF-8"
        return None, (f"the file is not UTF-8 (byte 0x{data[error.start]:02x} on line {line}; it looks like {guess}); "
                      "save it as UTF-8 (in Excel: 'CSV UTF-8')")


_PATH = re.compile(r"`\$\.?([a-z_]*)`")


def _row_event(values: dict[str, Any], row: int) -> tuple[ContactEvent | None, list[str]]:
    zone = get_settings().timezone
    raw_date = values.get("occurred_at") or ""
    try:
        values["occurred_at"] = datetime.fromisoformat(raw_date.replace("Z", "+00:00"))
    except ValueError:
        return None, [f"occurred_at: {raw_date!r} is not a date and time; " + DATE_HELP.format(zone=zone)]
    try:
        return msgspec.convert(values, ContactEvent), []
    except msgspec.ValidationError as error:
        message = str(error)
        found = _PATH.search(message)
        name = found[1] if found and found[1] else "row"
        return None, [f"{name}: {_PATH.sub('', message).rstrip(' -')}"]


def read_contacts_csv(data: bytes, *, source: str | None = None, now: datetime | None = None) -> CsvReading:
    """Read contact events from CSV bytes (UTF-8, with or without BOM), checking every row's shape.

    References (units, services, counters) are checked by :func:`check_csv_references`.
    """
    reading = CsvReading()
    text, problem = _decode(data)
    if text is None:
        reading.errors.append((0, problem or "unreadable file"))
        return reading
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        reading.errors.append((0, "the file is empty: it needs a header row"))
        return reading
    except csv.Error as error:
        reading.errors.append((0, f"line 1: {error}"))
        return reading
    names = [name.strip().lower() for name in header]
    if len(names) == 1 and ";" in names[0]:
        reading.errors.append((0, "the columns are separated by ';': use commas"))
        return reading
    required = [c for c in CSV_REQUIRED if c not in names] + ([] if source or "source" in names else ["source"])
    if required:
        reading.errors.append((0, f"missing required column(s): {', '.join(required)} "
                                  f"(columns: {', '.join(CSV_COLUMNS)}; source may be given with --source)"))
        return reading
    extra = [name for name in names if name not in CSV_COLUMNS]
    if extra:
        reading.warnings.append(f"ignored column(s) not used by the import: {', '.join(extra)}")
    duplicates = [name for name in set(names) if names.count(name) > 1 and name in CSV_COLUMNS]
    if duplicates:
        reading.errors.append((0, f"column(s) given twice: {', '.join(sorted(duplicates))}"))
        return reading
    first_row: dict[str, int] = {}
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            reading.errors.append((reader.line_num, f"{error}; nothing after it can be read"))
            break
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(reading.events) + len(reading.errors) >= CSV_MAX_ROWS:
            reading.errors.append((0, f"more than {CSV_MAX_ROWS:,} rows: split the file"))
            break
        if len(cells) != len(names):
            reading.errors.append((line, f"{len(cells)} fields where the header has {len(names)}"))
            continue
        long = [n for n, cell in zip(names, cells, strict=True) if len(cell) > CSV_MAX_FIELD]
        if long:
            reading.errors.append((line, f"{long[0]}: longer than {CSV_MAX_FIELD} characters"))
            continue
        values: dict[str, Any] = {n: cell.strip() for n, cell in zip(names, cells, strict=True)
                                  if n in CSV_COLUMNS and cell.strip()}
        if source and not values.get("source"):
            values["source"] = source
        elif source and values.get("source") != source:
            reading.errors.append((line, f"source: {values['source']!r} differs from --source {source!r}"))
            continue
        event, problems = _row_event(values, line)
        if event is None:
            reading.errors.extend((line, p) for p in problems)
            continue
        key = f"{event.source}:{event.external_id}"
        if key in first_row:
            reading.errors.append((line, f"external_id: {event.external_id!r} repeats row {first_row[key]}"))
            continue
        first_row[key] = line
        reading.events.append(event)
        reading.rows.append(line)
    return reading


async def check_csv_references(reading: CsvReading, *, now: datetime | None = None,
                               reference: ReferenceCache | None = None) -> None:
    """Add to ``reading.errors`` what the database knows is wrong (unknown units ..., an external id imported
    before with other content); drops those rows."""
    errors = await check_events(reading.events, now=now, reference=reference)
    errors += await conflicting_events(reading.events, now=now, reference=reference)
    if not errors:
        return
    bad = {e.index for e in errors}
    reading.errors.extend((reading.rows[e.index], f"{e.field}: {e.message}") for e in errors)
    reading.errors.sort()
    keep = [i for i in range(len(reading.events)) if i not in bad]
    reading.events = [reading.events[i] for i in keep]
    reading.rows = [reading.rows[i] for i in keep]
