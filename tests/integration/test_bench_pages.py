"""``bench.pages`` on a small demo, so the benchmark cannot rot: every staff page it times answers 200 to the
administrator it signs in, and each has a time and a ratio to hello-world."""

from __future__ import annotations

from pathlib import Path


def test_the_pages_bench_times_every_staff_page_of_a_small_demo(tmp_path: Path) -> None:
    from bench.pages import _demo, measure

    result = measure("demo", _demo(tmp_path, 400), tmp_path, requests=1)
    names = {page["page"] for page in result["pages"]}
    assert {"dashboard", "dashboard of a unit below", "responses", "responses, a drill-down", "one response",
            "scores", "follow-up queue", "alerts", "calendar", "reports"} <= names
    assert result["hello_ms"] > 0
    for page in result["pages"]:
        assert page["median_ms"] > 0 and page["ratio"] > 0 and page["bytes"] > 1000, page
