"""The response CSV importer with malformed and hostile files: clear problems, nothing half-written."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from survey.services.response_import import import_responses
from survey.tables import Answer, Response

HEADER = "response_id,questionnaire,version,unit,service,channel,submitted_at,language,reach,overall,resolved,comment"


def csv(*rows: str, header: str = HEADER, bom: bool = False) -> bytes:
    return (("\ufeff" if bom else "") + "\n".join([header, *rows]) + "\n").encode()


GOOD = "r-1,post-call,1,HN-BD,HOTLINE,call,2026-05-03 10:00,vi,5,4,yes,Cảm ơn"
GOOD2 = "r-2,post-call,1,HN-CG,,call,2026-05-04T08:30:00+07:00,en,3,2,no,"


async def count() -> tuple[int, int]:
    return await Response.count(), await Answer.count()


async def test_a_good_file_imports_with_or_without_bom_and_again_changes_nothing(reference):
    result = await import_responses(csv(GOOD, GOOD2, bom=True))
    assert (result.imported, result.problems) == (2, [])
    assert await count() == (2, 7)
    again = await import_responses(csv(GOOD, GOOD2))
    assert (again.imported, again.already_present) == (0, 2)
    assert await count() == (2, 7)
    row = await Response.select().where(Response.external_id == "r-1").first()
    assert (row["status"], row["trust"], row["channel"]) == ("complete", "poster", "call")


@pytest.mark.parametrize(("row", "column", "fragment"), [
    ("r-9,post-call,1,HN-BD,HOTLINE,call,2026-05-03 10:00,vi,7,4,yes,", "reach", "allowed: a whole number from 1 to 5"),
    ("r-9,post-call,1,HN-BD,HOTLINE,call,2026-05-03 10:00,vi,4.5,4,yes,", "reach", "off the scale"),
    ("r-9,post-call,1,HN-BD,HOTLINE,call,2026-05-03 10:00,vi,4,4,maybe,", "resolved", "allowed: yes, partly, no"),
    ("r-9,post-call,1,XX,HOTLINE,call,2026-05-03 10:00,vi,4,4,yes,", "unit", "allowed: BDG"),
    ("r-9,post-call,1,HN-BD,NOPE,call,2026-05-03 10:00,vi,4,4,yes,", "service", "allowed: COLLECT"),
    ("r-9,post-call,1,HN-BD,HOTLINE,sms,2026-05-03 10:00,vi,4,4,yes,", "channel", "allowed: call, counter"),
    ("r-9,post-call,1,HN-BD,HOTLINE,call,03/05/2026,vi,4,4,yes,", "submitted_at", "allowed: an ISO 8601"),
    ("r-9,post-call,1,HN-BD,HOTLINE,call,2099-01-01,vi,4,4,yes,", "submitted_at", "future"),
    ("r-9,post-call,1,HN-BD,HOTLINE,call,9999-12-31T23:59:59-12:00,vi,4,4,yes,", "submitted_at", "future"),
    ("r-9,post-call,1,HN-BD,HOTLINE,call,0001-01-01T00:00:00+01:00,vi,4,4,yes,", "submitted_at", "before 2000"),
    ("r-9,post-call,9,HN-BD,HOTLINE,call,2026-05-03 10:00,vi,4,4,yes,", "version", "allowed: 1"),
    ("r-9,nope,1,HN-BD,HOTLINE,call,2026-05-03 10:00,vi,4,4,yes,", "questionnaire", "allowed: counter"),
    ("r-9,post-call,1,HN-BD,HOTLINE,call,2026-05-03 10:00,fr,4,4,yes,", "language", "allowed: vi, en"),
    ("r-9,post-call,1,HN-BD,HOTLINE,call,2026-05-03 10:00,vi,4,4,yes," + "x" * 1001, "comment", "at most 1000"),
])
async def test_each_problem_names_row_column_and_allowed_values_and_nothing_is_written(reference, row, column,
                                                                                        fragment):
    result = await import_responses(csv(GOOD, row))
    assert len(result.problems) == 1, result.problems
    (problem,) = result.problems
    assert (problem.row, problem.column) == (3, column)
    assert fragment in problem.message
    assert str(problem).startswith(f"row 3, column {column}:")
    assert not result.written and await count() == (0, 0)


async def test_skip_invalid_imports_the_good_rows(reference):
    bad = "r-9,post-call,1,HN-BD,HOTLINE,call,2026-05-03 10:00,vi,9,4,yes,"
    result = await import_responses(csv(GOOD, bad, GOOD2), skip_invalid=True)
    assert (result.imported, result.invalid_rows, len(result.problems)) == (2, 1, 1)
    assert await Response.count() == 2


async def test_duplicate_response_ids_in_the_file_are_reported(reference):
    result = await import_responses(csv(GOOD, GOOD.replace("HN-BD", "HN-CG")))
    assert [(p.row, p.column) for p in result.problems] == [(3, "response_id")]
    assert "first on row 2" in result.problems[0].message
    assert await count() == (0, 0)


async def test_header_problems_missing_and_unknown_columns(reference):
    missing = await import_responses(csv("r-1,post-call,1", header="response_id,questionnaire,version"))
    assert missing.problems[0].row == 1 and "unit" in missing.problems[0].column
    unknown = await import_responses(csv(GOOD + ",5", header=HEADER + ",wrong_q"))
    assert [(p.row, p.column) for p in unknown.problems] == [(1, "wrong_q")]
    assert "allowed" in unknown.problems[0].message
    assert await count() == (0, 0)


async def test_wrong_encoding_and_binary_files_are_refused(reference):
    latin = csv(GOOD).decode().encode("utf-16")
    assert "not UTF-8" in (await import_responses(latin)).problems[0].message
    cp1258 = csv("r-1,post-call,1,HN-BD,HOTLINE,call,2026-05-03 10:00,vi,5,4,yes,caf\xe9").replace(b"\xc3\xa9", b"\xe9")
    assert "not UTF-8" in (await import_responses(cp1258)).problems[0].message
    assert await count() == (0, 0)


async def test_formula_injection_is_stored_as_text_never_evaluated(reference):
    formula = "=cmd|' /c calc'!A1"
    result = await import_responses(csv(f'r-1,post-call,1,HN-BD,HOTLINE,call,2026-05-03 10:00,vi,5,4,yes,"{formula}"'))
    assert result.imported == 1
    stored = await Answer.select(Answer.value_text).where(Answer.question_id == "comment").first()
    assert stored["value_text"] == formula


async def test_huge_fields_are_reported_not_stored(reference):
    huge = "x" * 200_000
    result = await import_responses(csv(f"r-1,post-call,1,HN-BD,HOTLINE,call,2026-05-03 10:00,vi,5,4,yes,{huge}"))
    assert result.problems and result.problems[0].column == "comment" and "at most" in result.problems[0].message
    assert await count() == (0, 0)


async def test_the_cli_reports_problems_and_exits_1(reference, tmp_path: Path):
    from survey.cli import main

    path = tmp_path / "responses.csv"
    path.write_bytes(csv(GOOD, "r-9,post-call,1,HN-BD,HOTLINE,call,2026-05-03 10:00,vi,9,4,yes,"))
    result = await asyncio.to_thread(CliRunner().invoke, main, ["responses", "import", str(path)])
    assert result.exit_code == 1
    assert "row 3, column reach" in result.output and "Nothing was imported" in result.output
    result = await asyncio.to_thread(CliRunner().invoke, main, ["responses", "import", str(path), "--skip-invalid"])
    assert result.exit_code == 0 and "1 imported" in result.output
