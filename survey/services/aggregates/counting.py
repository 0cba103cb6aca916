"""Keeping the counts: every write path counts the responses it completes in its own transaction
(:func:`count_responses`); :func:`rebuild` recounts them from the raw rows, :func:`verify` compares.

Who calls :func:`count_responses`: the public survey's submissions (``survey.services.responses``), the paper
import (``survey.services.response_import``); the demo's seeding and the migration rebuild; publishing a version
whose coding differs recounts its questionnaire (:func:`questionnaire_published`).

Concurrency: a rebuild takes the kept counts for itself first (SQLite: the write lock of its transaction;
PostgreSQL: ``LOCK TABLE score_cell``), then reads the committed responses, so a submission either committed
before it (and is read) or counts itself after it (and is added).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from questionnaires.model import CHANNELS, Questionnaire
from scoring.coding import Coding
from survey.db import Statement, aware, is_sqlite, marks, run_sql, run_sql_rows, write_transaction
from survey.services.aggregates.store import (
    STALE,
    CodingState,
    cell_rows,
    cells_of_rows,
    coding_state,
    delete_cells,
    insert_cells,
    kept_cells,
    kept_of,
    locked_cells_sql,
    merge_cells,
    merged_cells_sql,
    month_cell_rows,
    month_of,
    set_coding,
)
from survey.services.extract import (
    META_COLUMNS,
    ResponseFrame,
    ResponseScope,
    extract_in_transaction,
    extract_responses,
)
from survey.services.questionnaires import get_version, latest_version
from survey.services.scores.cells import ScoreCells, cells_of_frame
from survey.services.scores.reading import text_question_ids
from survey.services.scores.volumes import recount as recount_volumes
from survey.settings import get_settings

__all__ = [
    "Completed",
    "Rebuilt",
    "count_reads",
    "count_responses",
    "count_writes",
    "mark_answered",
    "questionnaire_published",
    "rebuild",
    "verify",
]

log = logging.getLogger(__name__)
FIRST, LAST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
COUNT_CHUNK = 500  # responses counted per query


@dataclass(frozen=True)
class _Keyed:
    """The complete responses of one questionnaire among those to count, its latest version and its kept state."""

    ids: list[int]
    latest_id: int
    checksum: str
    state: CodingState | None


async def _keys_of(response_ids: Sequence[int]) -> dict[str, _Keyed]:
    """One query per chunk: each response's questionnaire, the questionnaire's latest version and kept state."""
    found: dict[str, _Keyed] = {}
    for start in range(0, len(response_ids), COUNT_CHUNK):
        chunk = [int(i) for i in response_ids[start:start + COUNT_CHUNK]]
        rows = await run_sql(
            "SELECT r.id AS id, qv.key AS key, latest.id AS latest_id, latest.checksum AS checksum, "  # noqa: S608
            "sc.fingerprint AS fingerprint, sc.timezone AS timezone FROM response r "
            "JOIN questionnaire_version qv ON qv.id = r.questionnaire "
            "JOIN questionnaire_version latest ON latest.id = (SELECT l.id FROM questionnaire_version l "
            "WHERE l.key = qv.key ORDER BY l.version DESC LIMIT 1) "
            "LEFT JOIN score_coding sc ON sc.questionnaire = qv.key "
            f"WHERE r.status = 'complete' AND r.id IN ({marks(len(chunk))})", *chunk)
        for row in rows:
            keyed = found.get(row["key"])
            if keyed is None:
                state = None if row["fingerprint"] is None else CodingState(row["fingerprint"], row["timezone"])
                keyed = found[row["key"]] = _Keyed([], int(row["latest_id"]), row["checksum"], state)
            keyed.ids.append(int(row["id"]))
    return found


_CODINGS: dict[str, tuple[Questionnaire, Coding]] = {}  # by a version's checksum: a version never changes


async def _coded(version_id: int, checksum: str) -> tuple[Questionnaire, Coding]:
    """A published version and its coding, the definition parsed once per version."""
    found = _CODINGS.get(checksum)
    if found is None:
        questionnaire = (await get_version(version_id)).questionnaire
        found = _CODINGS[checksum] = (questionnaire, Coding.of(questionnaire))
    return found


async def _others_complete(key: str, response_ids: Sequence[int]) -> bool:
    """Whether ``key`` has complete responses besides ``response_ids``."""
    rows = await run_sql(
        "SELECT COUNT(*) AS n FROM response r JOIN questionnaire_version qv ON qv.id = r.questionnaire "
        "WHERE qv.key = {} AND r.status = 'complete'", key)
    return int(rows[0]["n"]) > len(set(response_ids))


async def _counted(key: str, state: CodingState | None, coding: Coding, timezone: str,
                   response_ids: Sequence[int]) -> bool:
    """Whether ``key``'s kept counts take the responses ``response_ids`` (the caller counts them then); when they
    cannot (never kept while other responses exist, kept in another coding or timezone), they are marked stale."""
    if state is None:
        if await _others_complete(key, response_ids):
            # counts that were never kept cannot be added to: read raw until a rebuild
            await set_coding(key, STALE, timezone)
            log.warning("kept counts of %r were missing; scores read the raw rows until "
                        "`survey aggregates rebuild`", key)
            return False
        await set_coding(key, coding.fingerprint, timezone)
        return True
    if state.fingerprint == STALE:
        return False
    if not state.matches(coding, timezone):
        await delete_cells(key)
        await set_coding(key, STALE, timezone)
        log.warning("kept counts of %r were counted with another coding or timezone; scores read the raw rows "
                    "until `survey aggregates rebuild`", key)
        return False
    return True


async def count_responses(response_ids: Sequence[int]) -> None:
    """Add the complete responses ``response_ids`` to the kept counts, inside the caller's write transaction
    (read back from the rows written; a write path that has the answers in hand uses :func:`count_reads` and
    :func:`count_writes` instead)."""
    if not response_ids:
        return
    timezone = get_settings().timezone
    for key, keyed in (await _keys_of(response_ids)).items():
        ids = keyed.ids
        questionnaire, coding = await _coded(keyed.latest_id, keyed.checksum)
        await mark_commented(key, questionnaire, ids)
        await mark_answered(key, questionnaire, ids)
        if not await _counted(key, keyed.state, coding, timezone, ids):
            continue
        texts = text_question_ids(questionnaire)
        for start in range(0, len(ids), COUNT_CHUNK):
            scope = ResponseScope(key, FIRST, LAST, response_ids=tuple(ids[start:start + COUNT_CHUNK]))
            frame = await extract_in_transaction(scope, coding.question_ids, texts)
            await merge_cells(month_cell_rows(frame, coding, timezone))


@dataclass(frozen=True)
class Completed:
    """A response a write path completes, as it writes it: counted from these values, not read back.

    ``answers`` are the stored values, ``(question_id, value_number, value_text)``. ``response_id`` may be 0 for
    :func:`count_reads` (the cells and states do not depend on it); :func:`count_writes` needs it.
    """

    key: str
    version_id: int
    unit_id: int
    service_id: int | None
    channel: str
    invited: bool
    submitted_at: datetime
    answers: Sequence[tuple[str, float | None, str | None]]
    response_id: int = 0

    def cell(self, zone: ZoneInfo) -> tuple[int, ...]:
        """Its month cell's key (the :data:`~survey.services.aggregates.store.CELL_COLUMNS`)."""
        return (self.version_id, month_of(self.submitted_at, zone), self.unit_id, self.service_id or 0,
                CHANNELS.index(self.channel) if self.channel in CHANNELS else -1, int(self.invited))


def _states_sql(keys: Sequence[str]) -> Statement:
    return ("SELECT qv.key AS key, qv.id AS latest_id, qv.checksum AS checksum, sc.fingerprint AS fingerprint, "  # noqa: S608
            "sc.timezone AS timezone FROM questionnaire_version qv "
            "LEFT JOIN score_coding sc ON sc.questionnaire = qv.key "
            f"WHERE qv.key IN ({marks(len(keys))}) AND qv.version = "
            "(SELECT MAX(l.version) FROM questionnaire_version l WHERE l.key = qv.key)", list(keys))


def count_reads(completed: Sequence[Completed]) -> list[Statement]:
    """What counting ``completed`` reads (each questionnaire's latest version and kept state, the kept cells,
    locked), to run in the caller's round trip; the rows go to :func:`count_writes`."""
    if not completed:
        return []
    zone = ZoneInfo(get_settings().timezone)
    keys = sorted({c.key for c in completed})
    cells = sorted({c.cell(zone) for c in completed})
    return [_states_sql(keys), *locked_cells_sql(cells)]


async def count_writes(completed: Sequence[Completed], read: Sequence[Sequence[dict[str, object]]]) -> list[Statement]:
    """The statements that add ``completed`` (with their response ids now) to the kept counts and mark their
    comments, given the rows of :func:`count_reads`; the caller runs them in its transaction. The rare cases (a
    questionnaire's first counts, counts to mark stale) write what they need themselves first."""
    if not completed:
        return []
    timezone = get_settings().timezone
    states, kept = read[0], kept_of(read[1:])
    statements: list[Statement] = []
    rows: list[tuple[object, ...]] = []
    for state_row in states:
        key = str(state_row["key"])
        mine = [c for c in completed if c.key == key]
        questionnaire, coding = await _coded(int(state_row["latest_id"]), str(state_row["checksum"]))  # type: ignore[call-overload]
        texts = set(text_question_ids(questionnaire))
        commented = [c.response_id for c in mine if any(q in texts and text for q, _, text in c.answers)]
        if commented:
            statements.append((f"UPDATE response SET commented = 1 WHERE id IN ({marks(len(commented))})",  # noqa: S608
                               commented))
        if mine:
            statements.append(_answered_statement(questionnaire, [c.response_id for c in mine]))
        fingerprint = state_row["fingerprint"]
        state = None if fingerprint is None else CodingState(str(fingerprint), str(state_row["timezone"]))
        if await _counted(key, state, coding, timezone, [c.response_id for c in mine]):
            rows += month_cell_rows(_frame_of(mine, coding, texts), coding, timezone)
    return statements + merged_cells_sql(sorted(rows, key=lambda r: r[:6]), kept)  # type: ignore[arg-type]


def _frame_of(completed: Sequence[Completed], coding: Coding, texts: set[str]) -> ResponseFrame:
    """``completed`` as the :class:`ResponseFrame` an extract of their rows gives (``coding``'s questions)."""
    column = {q: j for j, q in enumerate(coding.question_ids)}
    matrix = np.full((len(completed), len(META_COLUMNS) + len(column)), np.nan)
    for i, c in enumerate(completed):
        commented = any(q in texts and text for q, _, text in c.answers)
        matrix[i, :len(META_COLUMNS)] = (
            c.response_id, c.unit_id, c.service_id or 0, CHANNELS.index(c.channel) if c.channel in CHANNELS else -1,
            int(c.submitted_at.timestamp()), int(c.invited), c.version_id, int(commented))
        for question_id, number, _ in c.answers:
            j = column.get(question_id)
            if j is not None and number is not None:
                matrix[i, len(META_COLUMNS) + j] = number
    return ResponseFrame.from_matrix(coding.question_ids, matrix)


def _text_ids_sql(texts: Sequence[str]) -> str:
    return ("EXISTS (SELECT 1 FROM answer a WHERE a.response = response.id AND a.question_id IN "  # noqa: S608
            f"({marks(len(texts))}) AND a.value_text IS NOT NULL AND a.value_text <> '')")


async def mark_commented(key: str, questionnaire: Questionnaire, response_ids: Sequence[int] | None = None) -> None:
    """Set ``response.commented`` of ``key``'s complete responses (or of ``response_ids`` among them): 1 for a
    non-empty answer to a text question of ``questionnaire`` (its latest version), which each group's newest
    comments are read by."""
    texts = text_question_ids(questionnaire)
    if not texts:
        return
    where, args = "", [*texts, key]  # in the order of the statement's placeholders
    if response_ids is not None:
        if not response_ids:
            return
        where = f" AND id IN ({marks(len(response_ids))})"
        args += [int(i) for i in response_ids]
    await run_sql(f"UPDATE response SET commented = CASE WHEN {_text_ids_sql(texts)} THEN 1 ELSE 0 END "  # noqa: S608
                  "WHERE status = 'complete' AND questionnaire IN (SELECT qv.id FROM questionnaire_version qv "
                  f"WHERE qv.key = {{}}){where}", *args)


ANSWERED_BITS = 31  # criteria beyond the 31st have no bit: the responses list tests their answers instead


def answered_expression(questionnaire: Questionnaire) -> Statement:
    """The SQL of a response's ``answered`` mask (bit ``i``: it answered an item of ``questionnaire``'s ``i``-th
    criterion on the item's scale, what the criterion's n counts), read from its answers; ``response`` is the
    row's table name."""
    parts: list[str] = []
    args: list[object] = []
    for bit, criterion in enumerate(questionnaire.criteria[:ANSWERED_BITS]):
        items = [q for q in questionnaire.questions_of(criterion.id) if q.scale is not None]
        if not items:
            continue
        tests = " OR ".join(["(a.question_id = {} AND a.value_number BETWEEN {} AND {})"] * len(items))
        parts.append(f"COALESCE(MAX(CASE WHEN {tests} THEN {1 << bit} ELSE 0 END), 0)")
        args += [value for q in items for value in (q.id, q.scale.min, q.scale.max)]  # type: ignore[union-attr]
    if not parts:
        return "0", []
    return f"(SELECT {' + '.join(parts)} FROM answer a WHERE a.response = response.id)", args  # noqa: S608


def _answered_statement(questionnaire: Questionnaire, response_ids: Sequence[int]) -> Statement:
    expression, args = answered_expression(questionnaire)
    return (f"UPDATE response SET answered = {expression} WHERE id IN ({marks(len(response_ids))})",  # noqa: S608
            [*args, *(int(i) for i in response_ids)])


async def mark_answered(key: str, questionnaire: Questionnaire, response_ids: Sequence[int] | None = None) -> None:
    """Set ``response.answered`` (:func:`answered_expression`, over ``questionnaire``: the latest version) of
    ``key``'s complete responses, or of ``response_ids`` among them: what the responses list's criterion filter
    reads instead of probing every response's answers."""
    if response_ids is not None:
        if response_ids:
            sql, values = _answered_statement(questionnaire, response_ids)
            await run_sql(sql, *values)
        return
    expression, args = answered_expression(questionnaire)
    await run_sql(f"UPDATE response SET answered = {expression} WHERE status = 'complete' AND questionnaire IN "  # noqa: S608
                  "(SELECT qv.id FROM questionnaire_version qv WHERE qv.key = {})", *args, key)


async def questionnaire_published(key: str, *, mark: bool = True) -> None:
    """After a version of ``key`` is published (in the same transaction): start keeping its counts, or recount
    them when the new version codes answers differently."""
    questionnaire = (await latest_version(key)).questionnaire
    coding, timezone = Coding.of(questionnaire), get_settings().timezone
    state = await coding_state(key)
    if state is not None and state.matches(coding, timezone):
        return
    if state is None and not await _others_complete(key, ()):
        await set_coding(key, coding.fingerprint, timezone)
        return
    await _lock()
    await _rebuild_key(key, None, None, mark=mark)


def _month_start(month: int, zone: ZoneInfo) -> datetime:
    return datetime(month // 12, month % 12 + 1, 1, tzinfo=zone).astimezone(UTC)


async def _span(key: str, zone: ZoneInfo) -> range:
    """The local months from ``key``'s first complete response to its last."""
    rows = await run_sql(
        "SELECT MIN(r.submitted_at) AS low, MAX(r.submitted_at) AS high FROM response r "
        "JOIN questionnaire_version qv ON qv.id = r.questionnaire WHERE qv.key = {} AND r.status = 'complete'", key)
    low, high = aware(rows[0]["low"]), aware(rows[0]["high"])
    if low is None or high is None:
        return range(0)
    return range(month_of(low, zone), month_of(high, zone) + 1)


async def _lock() -> None:
    if not is_sqlite():
        await run_sql("LOCK TABLE score_cell, score_coding IN SHARE ROW EXCLUSIVE MODE")


async def _raw_cells(key: str, questionnaire: Questionnaire, coding: Coding, months: range,
                     timezone: str) -> ScoreCells:
    """``key``'s committed complete responses in ``months``, counted into month cells."""
    zone = ZoneInfo(timezone)
    scope = ResponseScope(key, _month_start(months.start, zone), _month_start(months.stop, zone))
    frame = await extract_responses(scope, coding.question_ids, text_question_ids(questionnaire))
    return cells_of_frame(frame, coding, timezone)


@dataclass
class Rebuilt:
    """What a rebuild counted: per questionnaire, the responses and the cells kept."""

    responses: dict[str, int] = field(default_factory=dict)
    cells: dict[str, int] = field(default_factory=dict)


async def _rebuild_key(key: str, first: int | None, stop: int | None, progress: Callable[[int], None] | None = None,
                       rebuilt: Rebuilt | None = None, *, mark: bool = True) -> None:
    timezone = get_settings().timezone
    zone = ZoneInfo(timezone)
    questionnaire = (await latest_version(key)).questionnaire
    coding = Coding.of(questionnaire)
    state = await coding_state(key)
    partial = first is not None or stop is not None
    if partial and (state is None or not state.matches(coding, timezone)):
        raise ValueError(f"the kept counts of {key!r} were counted with another coding or timezone, or never: "
                         "rebuild them whole (without --from and --to)")
    if mark:  # (not in the migration that comes before response.commented)
        await mark_commented(key, questionnaire)
        await mark_answered(key, questionnaire)
    span = await _span(key, zone)
    low = first if first is not None else (span.start if len(span) else 0)
    high = stop if stop is not None else (span.stop if len(span) else 0)
    await delete_cells(key, range(low, high) if partial else None)
    await set_coding(key, coding.fingerprint, timezone)
    for month in range(low, high):
        cells = await _raw_cells(key, questionnaire, coding, range(month, month + 1), timezone)
        await insert_cells(cell_rows(cells))
        if rebuilt is not None:
            rebuilt.responses[key] = rebuilt.responses.get(key, 0) + int(cells.n.sum())
            rebuilt.cells[key] = rebuilt.cells.get(key, 0) + cells.n_cells
        if progress is not None:
            progress(int(cells.n.sum()))


async def published_keys() -> list[str]:
    return sorted({r["key"] for r in await run_sql("SELECT DISTINCT key FROM questionnaire_version")})


async def rebuild(first: int | None = None, stop: int | None = None, *, keys: Sequence[str] | None = None,
                  volumes: bool = True, progress: Callable[[int], None] | None = None) -> Rebuilt:
    """Recount the kept counts from the raw rows, in one transaction: every questionnaire (or ``keys``), the
    months ``[first, stop)`` (month codes; every month by default), and the kept invitation and contact volumes
    (``volumes``). ``progress`` is called with the responses counted after each month."""
    rebuilt = Rebuilt()
    async with write_transaction():
        await _lock()
        for key in keys if keys is not None else await published_keys():
            await _rebuild_key(key, first, stop, progress, rebuilt)
        if volumes:
            await recount_volumes(get_settings().timezone)
    return rebuilt


async def count_rebuild_work(first: int | None = None, stop: int | None = None) -> int:
    """How many complete responses a rebuild of the months ``[first, stop)`` reads (for a progress bar)."""
    zone = ZoneInfo(get_settings().timezone)
    args: list[object] = []
    where = ""
    if first is not None:
        where += " AND submitted_at >= {}"
        args.append(_month_start(first, zone))
    if stop is not None:
        where += " AND submitted_at < {}"
        args.append(_month_start(stop, zone))
    rows = await run_sql(f"SELECT COUNT(*) AS n FROM response WHERE status = 'complete'{where}", *args)  # noqa: S608
    return int(rows[0]["n"])


async def verify(limit: int = 50) -> list[str]:
    """What differs between the kept counts and the raw rows, named (questionnaire, cell, table, code; at most
    ``limit`` lines); empty when they agree. Also the kept invitation and contact volumes, and each response's
    ``answered`` mask against its answers."""
    timezone = get_settings().timezone
    zone = ZoneInfo(timezone)
    found: list[str] = []
    for key in await published_keys():
        questionnaire = (await latest_version(key)).questionnaire
        coding = Coding.of(questionnaire)
        state = await coding_state(key)
        span = await _span(key, zone)
        if state is None or not state.matches(coding, timezone):
            if len(span):
                why = "never kept" if state is None else \
                    "marked stale" if state.fingerprint == STALE else "counted with another coding or timezone"
                found.append(f"{key}: kept counts {why}: scores read the raw rows; run `survey aggregates rebuild`")
            continue
        expression, args = answered_expression(questionnaire)
        wrong = await run_sql(f"SELECT COUNT(*) AS n FROM response WHERE status = 'complete' AND questionnaire IN "  # noqa: S608
                              f"(SELECT qv.id FROM questionnaire_version qv WHERE qv.key = {{}}) AND "
                              f"answered <> {expression}", key, *args)
        if int(wrong[0]["n"]):
            found.append(f"{key}: {wrong[0]['n']} responses' answered criteria (response.answered) differ from "
                         "their answers; run `survey aggregates rebuild`")
        kept_rows = await kept_cells(key)
        months = sorted({int(r[1]) for r in kept_rows} | set(span))
        if not months:
            continue
        months_range = range(months[0], months[-1] + 1)
        for month in months_range:
            kept = cells_of_rows([r for r in kept_rows if int(r[1]) == month], coding, timezone)
            raw = await _raw_cells(key, questionnaire, coding, range(month, month + 1), timezone)
            for line in raw.tally.differences(kept.tally, limit=limit):
                found.append(f"{key} {month // 12}-{month % 12 + 1:02d}: {line} (raw against kept)")
            if len(found) >= limit:
                return found[:limit]
    found += await _verify_volumes(timezone)
    return found[:limit]


async def _verify_volumes(timezone: str) -> list[str]:
    from survey.services.scores.volumes import kept_timezone, raw_volume_rows

    if await kept_timezone() != timezone:
        return ["invitation and contact volumes: kept in another timezone; run `survey aggregates rebuild`"]
    found = []
    for table, kept_sql, raw_sql in raw_volume_rows():
        kept = {r[:-1]: int(r[-1]) for r in await run_sql_rows(kept_sql)}
        raw = {r[:-1]: int(r[-1]) for r in await run_sql_rows(raw_sql)}
        for cell in sorted(set(kept) | set(raw), key=str):
            if kept.get(cell, 0) != raw.get(cell, 0):
                found.append(f"{table} {cell}: raw {raw.get(cell, 0)} against kept {kept.get(cell, 0)}")
    return found
