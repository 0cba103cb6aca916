"""The kept counts: every write path counts in its own transaction, scores read them, and `survey aggregates rebuild
| verify` recount and check them against the raw rows, on both databases."""

from __future__ import annotations

import asyncio
import re

import pytest
from click.testing import CliRunner

from questionnaires import DEFINITIONS_DIR, load_bundled, load_text
from survey.cli import main
from survey.services.aggregates import rebuild, verify
from survey.services.response_import import import_responses
from survey.services.scores import ScoreRequest, compute_scores

FIXED = "response_id,questionnaire,version,unit,service,channel,submitted_at,language"
COLUMNS = ("access_place", "procedure_public", "servant_attitude", "result_time", "overall", "comment", "complained")


def _csv(rows: int, *, month: int = 5, start: int = 0) -> bytes:
    lines = [f"{FIXED},{','.join(COLUMNS)}"]
    for i in range(start, start + rows):
        unit = ("HN-BD", "HN-CG", "HCM-Q1")[i % 3]
        answers = [str(1 + (i * 7 + j) % 5) for j in range(5)] + ["Góp ý" if i % 4 == 0 else "", "no"]
        when = f"2026-{month:02d}-{1 + i % 27:02d} 09:30"
        lines.append(f"p{i},counter,2,{unit},SIB,counter,{when},vi,{','.join(answers)}")
    return ("\n".join(lines) + "\n").encode()


async def _kept_total(key: str = "counter") -> int:
    from survey.db import run_sql

    rows = await run_sql("SELECT COALESCE(SUM(k.n), 0) AS n FROM score_cell k JOIN questionnaire_version qv "
                         "ON qv.id = k.questionnaire WHERE qv.key = {}", key)
    return int(rows[0]["n"])


async def _complete(key: str = "counter") -> int:
    from survey.db import run_sql

    rows = await run_sql("SELECT COUNT(*) AS n FROM response r JOIN questionnaire_version qv ON qv.id = "
                         "r.questionnaire WHERE qv.key = {} AND r.status = 'complete'", key)
    return int(rows[0]["n"])


async def _cli(*args: str):
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), catch_exceptions=False)


async def test_an_import_is_counted_in_its_transaction_and_verifies(reference):
    result = await import_responses(_csv(90))
    assert result.problems == [] and result.imported == 90
    assert await _kept_total() == await _complete() == 90
    assert await verify() == []


async def test_scores_read_the_kept_counts_and_a_rebuild_mends_them(reference):
    from survey.db import run_sql

    await import_responses(_csv(120))
    request = ScoreRequest("counter", "2026-Q2", min_n=5)
    before = await compute_scores(request)
    assert before.groups[0].n == 120
    # a kept cell tampered with: scores show it (they read the counts, not the rows), verify names it
    [cell] = await run_sql("SELECT MIN(id) AS id FROM score_cell")
    await run_sql("UPDATE score_cell SET n = n + 7 WHERE id = {}", cell["id"])
    assert (await compute_scores(request)).groups[0].n == 127
    found = await verify()
    assert len(found) == 1 and re.search(r"counter 2026-05: version=\d+, unit=\d+, .*responses -7 \(raw against "
                                         r"kept\)", found[0]), found
    outcome = await _cli("aggregates", "verify")
    assert outcome.exit_code == 1 and "responses -7" in outcome.output
    assert "1 difference(s)" in outcome.output
    outcome = await _cli("aggregates", "rebuild")
    assert outcome.exit_code == 0, outcome.output
    assert "counter: 120 response(s) in 3 cell(s)" in outcome.output
    assert await verify() == []
    assert (await compute_scores(request)).groups[0].n == 120
    outcome = await _cli("aggregates", "verify")
    assert outcome.exit_code == 0 and "agree with the raw rows" in outcome.output


async def test_a_rebuild_of_some_months_recounts_only_those(reference):
    from survey.db import run_sql

    await import_responses(_csv(30, month=4))
    await import_responses(_csv(30, month=6, start=100))
    await run_sql("DELETE FROM score_cell")  # both months lost
    outcome = await _cli("aggregates", "rebuild", "--from", "2026-06", "--to", "2026-06")
    assert outcome.exit_code == 0, outcome.output
    assert await _kept_total() == 30
    assert [line for line in await verify() if "2026-04" in line]  # April still missing, named
    assert not [line for line in await verify() if "2026-06" in line]
    assert (await _cli("aggregates", "rebuild", "--from", "2026-Q2")).exit_code == 0
    assert await verify() == []


async def test_bad_months_are_refused_by_name(reference):
    outcome = await _cli("aggregates", "rebuild", "--from", "2026-13")
    assert outcome.exit_code == 2 and "--from" in outcome.output
    outcome = await _cli("aggregates", "rebuild", "--from", "2026-06", "--to", "2026-05")
    assert outcome.exit_code == 2 and "--to must not come before --from" in outcome.output


async def test_a_survey_answered_online_is_counted_when_it_completes(client):
    from survey.services.invitations import LinkSpec, create_links

    bundled = load_bundled()["counter"]
    [token] = await create_links([LinkSpec("counter", "HN-BD", service_code="HIC")])
    page = await client.get(f"/s/{token}")
    for _ in range(10):
        shown = re.findall(r'<fieldset class="question[^"]*" id="q-([a-z0-9_]+)"', page.text)
        form = {"page": re.search(r'name="page" value="(\d+)"', page.text)[1]}
        for qid in shown:
            question = bundled.question(qid)
            form[qid] = [str(question.scale.max)] if question.scale is not None else \
                ["Tốt"] if question.type == "text" else ["no"] if "no" in question.option_values else \
                [question.option_values[0]]
        last = 'value="submit"' in page.text
        form["action"] = "submit" if last else "next"
        assert await _kept_total() == 0  # a draft is not counted
        page = await client.post(f"/s/{token}", data=form)
        if last:
            break
    assert 'data-page="thanks"' in page.text
    assert await _kept_total() == await _complete() == 1
    assert await verify() == []


async def test_a_new_version_that_codes_answers_otherwise_recounts_its_questionnaire(reference):
    from scoring.coding import Coding
    from survey.services.aggregates.store import coding_state
    from survey.services.questionnaires import latest_version, publish

    await import_responses(_csv(60))
    old = await coding_state("counter")
    text = (DEFINITIONS_DIR / "counter.yaml").read_text(encoding="utf-8")
    version = load_bundled()["counter"].version
    changed = text.replace(f"version: {version}", f"version: {version + 1}", 1).replace(
        "satisfied_threshold: 4", "satisfied_threshold: 5", 1)
    await publish(load_text(changed, "counter.yaml"))
    new = await coding_state("counter")
    latest = (await latest_version("counter")).questionnaire
    assert old is not None and new is not None and old.fingerprint != new.fingerprint
    assert new.fingerprint == Coding.of(latest).fingerprint
    assert await _kept_total() == 60 and await verify() == []


async def test_another_timezone_reads_the_raw_rows_until_rebuilt(reference, monkeypatch):
    from survey.settings import get_settings

    await import_responses(_csv(60))
    request = ScoreRequest("counter", "2026-05", min_n=5)
    expected = (await compute_scores(request)).groups[0].n
    monkeypatch.setenv("SURVEY_TIMEZONE", "Asia/Bangkok")  # the same offset: the same months, counted again
    get_settings.cache_clear()
    try:
        found = await verify()
        assert any("counted with another coding or timezone" in line for line in found), found
        assert (await compute_scores(request)).groups[0].n == expected  # from the raw rows
        await rebuild()
        assert await verify() == []
        assert (await compute_scores(request)).groups[0].n == expected
    finally:
        monkeypatch.delenv("SURVEY_TIMEZONE")
        get_settings.cache_clear()
        await rebuild()  # the kept months (local_month outlives a test's reset) back in the usual timezone


@pytest.mark.postgres
async def test_concurrent_writers_on_one_cell_lose_nothing(reference):
    if reference != "postgres":
        pytest.skip("SQLite serialises its writers")
    results = await asyncio.gather(*(import_responses(_csv(10, start=1000 + 10 * k)) for k in range(4)))
    assert all(r.imported == 10 for r in results)
    assert await _kept_total() == 40 and await verify() == []


async def test_each_response_keeps_the_criteria_it_answered_and_verify_names_a_wrong_mask(reference):
    from survey.db import run_sql

    await import_responses(_csv(30))
    rows = await run_sql("SELECT answered FROM response WHERE status = 'complete'")
    # the import answers access, procedure, civil servant and result (bits 0-3), not feedback (bit 4)
    assert {int(row["answered"]) for row in rows} == {0b01111}
    await run_sql("UPDATE response SET answered = 0 WHERE id IN (SELECT MIN(id) FROM response)")
    found = await verify()
    assert any("1 responses' answered criteria" in line for line in found), found
    await rebuild()
    assert await verify() == []
