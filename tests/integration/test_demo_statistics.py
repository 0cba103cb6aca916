"""The statistics on the demo's year, as a quality team reads them with ``survey scores``: the patterns the demo
hides are found, and after the false-discovery control.

The demo is built once (60,000 responses, the demo's default) for a fixed day, 1 December 2026: its year runs
from December 2025 to November 2026, and the current quarter is 2026-Q4 (October and November).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BUILD = """
import asyncio, datetime
from survey.demo import build_demo
from survey.settings import get_settings
asyncio.run(build_demo(get_settings(), responses=60_000, seed=2026, today=datetime.date(2026, 12, 1)))
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    path = tmp_path_factory.mktemp("demo-statistics") / "demo.sqlite3"
    env = {**os.environ, "SURVEY_DATABASE_URL": f"sqlite:///{path}"}
    subprocess.run([sys.executable, "-c", BUILD], env=env, check=True, capture_output=True, timeout=600)
    yield env


def scores(env: dict[str, str], *args: str) -> dict[str, Any]:
    command = [str(Path(sys.executable).with_name("survey")), "scores", *args, "--format", "json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_an_index_is_shown_for_every_province_in_the_current_quarter(demo):
    report = scores(demo, "--questionnaire", "counter", "--period", "2026-Q4", "--by", "subunit")
    provinces = [g for g in report["groups"] if g["subunit"] != "VN"]
    assert len(provinces) == 12
    assert [g["subunit"] for g in provinces if g["index"]["suppressed"]] == []
    # where too few gave feedback, the index covers the other four elements and says so
    assert {tuple(g["index"]["criteria"]) for g in provinces} <= {
        ("access", "procedure", "civil_servant", "result", "feedback"), ("access", "procedure", "civil_servant",
                                                                         "result")}


def test_thu_duc_is_flagged_below_the_funnel_on_the_civil_servant(demo):
    report = scores(demo, "--questionnaire", "counter", "--period", "2026", "--by", "unit")
    (point,) = [f for f in report["funnel"] if f["unit"] == "HCM-TD" and f["criterion"] == "civil_servant"]
    assert point["position"].startswith("below") and point["flagged"] and point["q_value"] < 0.05
    family = next(f for f in report["funnel_families"]
                  if f["criterion"] == "civil_servant" and f["family"] == point["family"])
    assert family["n_units"] >= 5 and "HCM-TD" in family["units"]
    others = [f for f in report["funnel"] if f["family"] == point["family"] and f["criterion"] == "civil_servant"
              and f["unit"].startswith("HCM-") and f["unit"] != "HCM-TD"]
    assert others and not any(f["flagged"] and f["position"].startswith("above") for f in others)


def test_the_tet_dip_is_significant_after_the_q_value_control(demo):
    report = scores(demo, "--questionnaire", "counter", "--period", "2026-02")
    (group,) = report["groups"]
    dips = [t for t in group["tests"] if t["comparison"] == "previous_period" and t["test"] == "two_proportion"
            and t["criterion"] is not None]
    assert dips and all(t["statistic"] < 0 and t["q_value"] < 0.05 for t in dips)


def test_the_vssid_improvement_is_a_significant_trend_on_online_service(demo):
    report = scores(demo, "--questionnaire", "online-service", "--service", "VSSID", "--period", "2026")
    (group,) = report["groups"]
    trends = {(t["test"], t["criterion"]): t for t in group["tests"] if t["comparison"] == "trend"}
    for criterion in ("ease", "overall"):
        for test in ("mann_kendall", "cochran_armitage"):
            found = trends[(test, criterion)]
            assert found["statistic"] > 0 and found["q_value"] < 0.05, (test, criterion, found)


def test_weighting_coverage_counts_only_the_questionnaires_own_channels(demo):
    # every call cell of the hotline survey has respondents: the counter visits are no post-call population
    report = scores(demo, "--questionnaire", "post-call", "--period", "2026-Q3", "--weighted")
    (group,) = report["groups"]
    assert group["weighting"]["coverage"] == pytest.approx(1.0)


def test_thu_duc_s_year_report_prints_its_figures_and_its_weakest_criterion_within_the_page(demo, tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    from test_reports_pdf import ink_at_the_edges, poppler

    pdf = tmp_path / "hcm-td.pdf"
    command = [str(Path(sys.executable).with_name("survey")), "reports", "make", "--unit", "HCM-TD",
               "--questionnaire", "counter", "--period", "2026", "--lang", "en", "--output", str(pdf)]
    done = subprocess.run(command, env=demo, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    text = poppler("pdftotext", "-layout", str(pdf), "-")
    group = scores(demo, "--questionnaire", "counter", "--period", "2026", "--unit", "HCM-TD")["groups"][0]
    index = group["index"]["value"]
    assert f"Satisfaction index: {index:.1f}" in text
    weakest = min((c for c in group["criteria"] if c["satisfied_share"] is not None),
                  key=lambda c: c["satisfied_share"])
    assert weakest["id"] == "civil_servant"
    assert f"The weakest criterion: The civil servant who handled the case ({100 * weakest['satisfied_share']:.1f}% " \
           "satisfied)" in " ".join(text.split())
    pages = tmp_path / "pages"
    pages.mkdir()
    assert ink_at_the_edges(pdf.read_bytes(), pages) == []
