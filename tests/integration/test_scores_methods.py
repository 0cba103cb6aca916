"""The methods of the scores on a small dataset whose answers are known: nothing below the minimum n leaves the
system in any format, one definition of peers, a year compared once, the inference minimum with Fisher's exact
test, q-values over the report's tests, funnels of one level, weighting over the questionnaire's own channels.

post-call answers in May 2026 (the threshold is 4; 5 satisfies, 2 and 1 do not):

    HN (the city's own hotline desk)  40 answers of 1
    HN-BD                             40: 30 of 5, 10 of 2        (and 40 of 2 in April)
    HN-CG                             40 of 4
    HN-DD                             29 of 5, each with a comment: one below the minimum of 30
                                      (and 40 of 5 in March: a month of its trend that is shown on its own)
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import re
from typing import Any

import msgspec
import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

from survey.services.response_import import import_responses
from survey.services.scores import ScoreRequest, compute_scores

QUESTIONS = ("reach", "waiting_time", "courtesy", "clarity", "usefulness", "resolved", "overall", "recommend",
             "comment")
HEADER = "response_id,questionnaire,version,unit,service,channel,submitted_at,language," + ",".join(QUESTIONS)
KEY = "sk_methodss_" + "m" * 32
SMALL = "HN-DD"

# the fields that carry what answers say: below the minimum they must be empty
ANSWER_FIELDS = {"satisfied_share", "satisfied", "mean", "sd", "value", "ci", "share", "other_share", "promoters",
                 "passives", "detractors", "distribution", "k", "risk_difference", "statistic", "pvalue", "q_value",
                 "effect_size", "common_language", "r", "z", "lower_95", "upper_95", "lower_998", "upper_998",
                 "tau", "sen_slope_per_month", "slope", "design_effect", "effective_n", "response_rate", "values",
                 "latest"}


def row(rid: str, unit: str, rating: int, day: str = "2026-05-10 09:00", service: str = "HOTLINE",
        channel: str = "call", comment: str = "") -> str:
    nps = 10 if rating >= 4 else 3
    return f"{rid},post-call,1,{unit},{service},{channel},{day},vi," + ",".join([str(rating)] * 5) + \
        f",yes,{rating},{nps},{comment}"


def rows(prefix: str, unit: str, count: int, rating: int, **kw: Any) -> list[str]:
    return [row(f"{prefix}-{i}", unit, rating, **kw) for i in range(count)]


async def load(lines: list[str]) -> None:
    result = await import_responses(("\n".join([HEADER, *lines]) + "\n").encode())
    assert result.problems == [] and result.imported == len(lines)


@pytest.fixture
async def seeded(reference):
    await load([*rows("hn", "HN", 40, 1), *rows("bd", "HN-BD", 30, 5), *rows("bdx", "HN-BD", 10, 2),
                *rows("cg", "HN-CG", 40, 4), *rows("dd", SMALL, 29, 5, comment="Cảm ơn tổng đài viên"),
                *rows("dd-mar", SMALL, 40, 5, day="2026-03-10 09:00"),
                *rows("bd-apr", "HN-BD", 40, 2, day="2026-04-10 09:00")])
    return reference


def leaks(value: Any, path: str = "") -> list[str]:
    """The paths below ``value`` (a group's or funnel point's JSON) where an answer-derived figure is not empty."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}"
            if key in ANSWER_FIELDS and item not in (None, {}, []) and not (
                    isinstance(item, list) and all(v is None for v in item)):
                found.append(f"{here}={item!r}")
            elif key not in ANSWER_FIELDS:
                found.extend(leaks(item, here))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(leaks(item, f"{path}[{i}]"))
    return found


def small_parts(report: dict[str, Any]) -> list[Any]:
    """Everything of the report that is about the small group alone."""
    parts: list[Any] = [g for g in report["groups"] if g["unit"] == SMALL]
    parts += [f for f in report["funnel"] if f["unit"] == SMALL]
    for test in report["tests"]:
        parts += [p for p in test["details"].get("dunn_holm", []) if SMALL in (p["unit1"], p["unit2"])]
    return parts


async def cli(*args: str) -> str:
    from survey.cli import main

    result = await asyncio.to_thread(CliRunner(env={"COLUMNS": "400"}).invoke, main, ["scores", *args])
    assert result.exit_code == 0, result.output
    return result.output


async def test_nothing_about_a_group_one_below_min_n_leaves_the_system_in_any_format(seeded, client):
    args = ("--questionnaire", "post-call", "--period", "2026-05", "--unit", "HN", "--by", "unit")
    # the service's own result and the command's JSON
    report = msgspec.to_builtins(await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN", by=("unit",))))
    cli_json = json.loads(await cli(*args, "--format", "json"))
    for source in (report, cli_json):
        parts = small_parts(source)
        (group,) = [p for p in parts if p.get("unit") == SMALL and "criteria" in p]
        assert group["n"] == 29 and all(c["n"] == 29 for c in group["criteria"])  # the n may stay
        assert group["index"]["suppressed"] and group["index"]["suppression_reason"].endswith("n=29 < 30")
        assert [leak for part in parts for leak in leaks(part)] == []
        assert any(t["comparison"] == "vs_peers" for t in group["tests"])  # tests are there, but empty
        assert any(t["comparison"] == "trend" and t["suppressed"] for t in group["tests"])  # no March beside May
        assert group["comments"]["n"] == 29 and group["comments"]["suppressed"]  # ten would do, not below 30
        excluded = [e for t in source["tests"] for e in t["details"]["excluded"]]
        assert {"unit": SMALL, "reason": "n=29 < 30"} in excluded
    # CSV: the small group's rows carry no value and no interval
    table = list(csv.DictReader(io.StringIO(await cli(*args, "--format", "csv"))))
    small = [r for r in table if r["unit"] == SMALL]
    assert small and all(r["value"] == r["ci_low"] == r["ci_high"] == r["met"] == "" for r in small)
    assert all(r["n"] == "29" for r in small)
    # the table for people: the row shows the n and the reasons, no percentage
    text = await cli(*args)
    (line,) = [line for line in text.splitlines() if re.match(rf"│ {SMALL}\b", line)]
    assert "29" in line and not re.search(r"\d+\.\d", line.replace("n=29 < 30", ""))
    # the API (with a key) gives the same empty group
    from survey.tables import ApiKey

    await ApiKey(source="portal", prefix="methodss", key_hash=hashlib.sha256(KEY.encode()).hexdigest()).save()
    reply = await client.get("/api/v1/scores", params={"questionnaire": "post-call", "period": "2026-05",
                                                       "unit": "HN", "by": "unit"},
                             headers={"Authorization": f"Bearer {KEY}"})
    assert reply.status_code == 200
    assert [leak for part in small_parts(reply.json()) for leak in leaks(part)] == []


async def test_peers_are_the_sibling_units_in_every_mode_never_the_parents_own_answers(seeded):
    alone = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN-BD"))
    by_unit = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN", by=("unit",)))
    (bd_alone,) = alone.groups
    bd_in_unit = next(g for g in by_unit.groups if g.unit == "HN-BD")

    def peers(group: Any) -> Any:
        return next(t for t in group.tests if t.comparison == "vs_peers" and t.test == "two_proportion"
                    and t.criterion == "overall")

    one, other = peers(bd_alone), peers(bd_in_unit)
    assert one.details["n2"] == other.details["n2"] == 40 + 29  # HN-CG and HN-DD; not the 40 of HN itself
    assert one.statistic == pytest.approx(other.statistic) and one.pvalue == pytest.approx(other.pvalue)
    assert one.details["other_share"] == pytest.approx(69 / 69)
    hn = next(g for g in by_unit.groups if g.unit == "HN")
    # the city's own desk is a group of its own: no district is its peer (its peers would be other cities' desks)
    assert hn.n == 40 and [t for t in hn.tests if t.comparison == "vs_peers"] == []


async def test_a_year_is_compared_once_and_a_reference_below_min_n_is_no_comparison(seeded):
    await load(rows("dec", "HN-BD", 5, 5, day="2025-12-10 09:00"))
    report = await compute_scores(ScoreRequest("post-call", "2026", unit="HN-BD"))
    (group,) = report.groups
    comparisons = [t.comparison for t in group.tests]
    assert "previous_period" in comparisons and "same_period_last_year" not in comparisons
    previous = [t for t in group.tests if t.comparison == "previous_period"]
    assert previous and all(t.suppressed and t.statistic is None for t in previous)
    assert {t.suppression_reason for t in previous} == {"no comparison: too few answers in 2025 (n=5 < 30)"}
    month = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN-BD"))
    tested = next(t for t in month.groups[0].tests if t.comparison == "previous_period" and t.criterion == "overall")
    assert not tested.suppressed and tested.details["compared_with"] == "2026-04"
    assert tested.details["reference_months_with_answers"] == tested.details["reference_months"] == 1


async def test_below_the_inference_minimum_counts_show_but_no_test_runs_and_fisher_takes_small_counts(reference):
    # one satisfied answer in May against 4 of 31 in April
    await load([*rows("may", "HN-BD", 1, 5), *rows("apr-ok", "HN-BD", 4, 5, day="2026-04-10 09:00"),
                *rows("apr-no", "HN-BD", 27, 2, day="2026-04-11 09:00")])
    shown = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN-BD", min_n=1))
    (group,) = shown.groups
    overall = next(c for c in group.criteria if c.id == "overall")
    assert (overall.n, overall.satisfied_share, overall.suppressed) == (1, 1.0, False)
    test = next(t for t in group.tests if t.comparison == "previous_period" and t.test == "two_proportion"
                and t.criterion == "overall")
    assert test.suppressed and test.pvalue is None and test.suppression_reason == "n1=1 < 10"
    assert shown.min_n_inference == 10
    tested = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN-BD", min_n=1, min_n_inference=1))
    test = next(t for t in tested.groups[0].tests if t.comparison == "previous_period" and t.test == "two_proportion"
                and t.criterion == "overall")
    fisher = stats.fisher_exact([[1, 0], [4, 27]]).pvalue
    assert test.details["method"] == "fisher_exact" and test.pvalue == pytest.approx(fisher)
    assert round(fisher, 3) == 0.156  # the z test would say 0.018


async def test_every_p_value_has_its_benjamini_hochberg_q_value_over_the_whole_report(seeded):
    report = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN", by=("unit",)))
    tests = [t for g in report.groups for t in g.tests] + list(report.tests)
    p = np.array([t.pvalue for t in tests if t.pvalue is not None] + [f.pvalue for f in report.funnel
                                                                     if f.pvalue is not None])
    q = np.array([t.q_value for t in tests if t.pvalue is not None] + [f.q_value for f in report.funnel
                                                                      if f.pvalue is not None])
    assert report.multiple_testing["method"] == "benjamini_hochberg" and report.multiple_testing["m"] == p.size
    assert np.allclose(q, stats.false_discovery_control(p, method="bh"))
    assert np.all(q >= p - 1e-15)
    assert all(t.q_value is None for t in tests if t.pvalue is None)


async def test_a_funnel_compares_units_of_one_level_and_needs_five_of_them(seeded):
    few = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN", by=("unit",)))
    districts = next(f for f in few.funnel_families if f.level == 2 and f.criterion == "overall")
    assert districts.suppressed and districts.suppression_reason == "too few units to compare: 2 < 5"
    assert districts.family == "level 2"  # Hà Nội has four districts: they are compared with the country's
    # six districts with answers across the country: one funnel; Thủ Đức's 40 unhappy answers stand out
    lines = []
    for unit in ("HCM-Q1", "HCM-PN", "HP-LC", "DN-HC", "CT-NK"):
        lines += rows(unit, unit, 32, 5) + rows(unit + "x", unit, 8, 2)
    await load([*lines, *rows("td", "HCM-TD", 40, 2)])
    report = await compute_scores(ScoreRequest("post-call", "2026-05", by=("unit",)))
    family = next(f for f in report.funnel_families if f.level == 2 and f.criterion == "overall")
    assert not family.suppressed and family.n_units == 8 and family.target == 0.8
    assert family.target_source == "declared" and family.phi is not None and family.tau2 is not None
    points = {f.unit: f for f in report.funnel if f.criterion == "overall" and f.family == "level 2"}
    assert points["HCM-TD"].position == "below_998" and points["HCM-TD"].flagged
    assert points["HCM-TD"].q_value is not None and points["HCM-TD"].q_value < 0.05
    assert (points["HCM-TD"].phi, points["HCM-TD"].tau2, points["HCM-TD"].widened) == (
        family.phi, family.tau2, family.widened)
    assert points[SMALL].position == "suppressed" and points[SMALL].k is None and not points[SMALL].flagged
    provinces = next(f for f in report.funnel_families if f.level == 1 and f.criterion == "overall")
    assert provinces.family == "VN"  # twelve provinces under the centre: compared with each other


async def test_weighting_counts_the_contacts_of_the_questionnaires_own_channels(reference):
    from datetime import UTC, datetime

    from survey.tables import Contact, Service, Unit

    await load(rows("call", "HN-BD", 40, 5))
    unit = (await Unit.select(Unit.id).where(Unit.code == "HN-BD").first())["id"]
    services = {r["code"]: r["id"] for r in await Service.select(Service.id, Service.code)}
    when = datetime(2026, 5, 12, 3, 0, tzinfo=UTC)
    contacts = [("call", "HOTLINE", 100), ("call", "SIB", 50), ("counter", "SIB", 500)]
    await Contact.insert(*[Contact(source="t", external_id=f"{c}-{s}-{i}", source_key=f"t:{c}-{s}-{i}", channel=c,
                                   unit=unit, service=services[s], occurred_at=when)
                           for c, s, count in contacts for i in range(count)])
    report = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN-BD", weighted=True))
    (group,) = report.groups
    # the counter visits are no post-call population; the SIB calls had no respondent
    assert group.weighting.coverage == pytest.approx(100 / 150)


async def test_a_unit_too_thin_for_a_monthly_index_still_gets_a_trend_from_its_monthly_counts(reference):
    # 20 answers a month, never the 30 a monthly index needs, from 4 of 20 satisfied in January to 20 in June
    lines = []
    for month in range(1, 7):
        satisfied = 4 + (month - 1) * 16 // 5  # 4, 7, 10, 13, 16, 20
        day = f"2026-{month:02d}-10 09:00"
        lines += rows(f"m{month}ok", "HN-BD", satisfied, 5, day=day) + rows(f"m{month}no", "HN-BD", 20 - satisfied, 2,
                                                                          day=day)
    await load(lines)
    report = await compute_scores(ScoreRequest("post-call", "2026-Q2", unit="HN-BD"))
    (group,) = report.groups
    (index_trend,) = [t for t in group.tests if t.comparison == "trend" and t.test == "mann_kendall"]
    assert index_trend.suppressed and index_trend.suppression_reason == "periods=0 < 4"
    counts = {t.criterion: t for t in group.tests if t.comparison == "trend" and t.test == "cochran_armitage"}
    assert set(counts) == {"access", "agent", "answer", "overall"}
    assert all(t.statistic > 0 and t.q_value < 0.05 for t in counts.values())
    # a unit with enough answers a month keeps the index's test alone
    await load(rows("big", "HN-CG", 40, 5, day="2026-06-11 09:00") + [
        row(f"big{m}-{i}", "HN-CG", 5, day=f"2026-{m:02d}-11 09:00") for m in range(1, 6) for i in range(40)])
    steady = await compute_scores(ScoreRequest("post-call", "2026-Q2", unit="HN-CG"))
    tests = [t.test for t in steady.groups[0].tests if t.comparison == "trend"]
    assert tests == ["mann_kendall"]
