"""``bench.scale`` at a tiny size, so the benchmark cannot rot: its year is drawn, loaded into a fresh SQLite file
through the bench's own subprocesses (``survey migrate``, then the bulk load), and the JSON it times has the groups
a user expects."""

from __future__ import annotations

from pathlib import Path

RESPONSES = 2_000
SEED = 7


def test_the_scale_bench_times_scores_with_a_group_for_every_unit_and_month_that_has_answers(tmp_path: Path) -> None:
    from bench.scale import DISTRICT, load_year, measure_case, open_database, rebuild_aggregates
    from bench.scale_data import national_year

    year = national_year(RESPONSES, SEED)
    db, loaded_before = open_database("sqlite", tmp_path, kept=False)
    assert not loaded_before
    loaded = load_year(db, tmp_path, RESPONSES, SEED)
    assert (loaded["responses"], loaded["answers"]) == (RESPONSES, year.answer_count)
    rebuilt = rebuild_aggregates(db)  # the bulk load bypasses the write paths, as the bench does
    assert rebuilt is not None and rebuilt > 0

    national = measure_case(db, tmp_path, "national year", repeat=1)
    shown = {(unit, month): n for unit, month, n in national["group_keys"]}
    assert shown == year.cells()  # every unit × month with answers, each with its responses, and nothing else
    assert national["groups"] == len(shown) and national["json_bytes"] > 0
    assert national["best_s"] > 0 and national["timings"]["extract_s"] > 0

    quarter = measure_case(db, tmp_path, "district quarter", repeat=1)
    district = sum(n for (unit, month), n in year.cells().items() if unit == DISTRICT and month >= "2026-10")
    assert quarter["group_keys"] == [[None, None, district]]  # one group: the district's quarter, all of it
