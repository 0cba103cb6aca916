"""Scores on a small seeded dataset whose answers are known: shares, index, NPS, suppression, the JSON contract."""

from __future__ import annotations

import json

import msgspec
import pytest
from click.testing import CliRunner

from survey.services.response_import import import_responses
from survey.services.scores import ScoreParameterError, ScoreRequest, compute_scores

QUESTIONS = ("reach", "waiting_time", "courtesy", "clarity", "usefulness", "resolved", "overall", "recommend",
             "comment")
HEADER = "response_id,questionnaire,version,unit,service,channel,submitted_at,language," + ",".join(QUESTIONS)


def row(rid: str, unit: str, rating: int, nps: int, day: str = "2026-05-10 09:00") -> str:
    return f"{rid},post-call,1,{unit},HOTLINE,call,{day},vi," + ",".join([str(rating)] * 5) + f",yes,{rating},{nps},"


def dataset() -> bytes:
    lines = [HEADER]
    lines += [row(f"bd-{i}", "HN-BD", 5, 10) for i in range(30)]  # 30 satisfied
    lines += [row(f"bd-x{i}", "HN-BD", 2, 3) for i in range(10)]  # 10 dissatisfied: share 0.75
    lines += [row(f"cg-{i}", "HN-CG", 4, 8) for i in range(40)]  # all satisfied, all passives
    lines += [row(f"dd-{i}", "HN-DD", 5, 10) for i in range(10)]  # too few: suppressed
    lines += [row(f"old-{i}", "HN-BD", 2, 3, "2026-04-10 09:00") for i in range(40)]  # previous month: all unhappy
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
async def seeded(reference):
    result = await import_responses(dataset())
    assert result.problems == [] and result.imported == 130
    return reference


def by_unit(report):
    return {g.unit: g for g in report.groups}


async def test_shares_index_and_nps_are_the_hand_computed_ones(seeded):
    report = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN", by=("unit",)))
    groups = by_unit(report)
    bd, cg, dd = groups["HN-BD"], groups["HN-CG"], groups["HN-DD"]
    assert (bd.n, cg.n, dd.n) == (40, 40, 10)
    for criterion in bd.criteria:
        assert (criterion.n, criterion.satisfied_share, criterion.mean) == (40, 0.75, 4.25)
        low, high = criterion.ci
        assert low < 0.75 < high and low >= 0 and high <= 1
    assert bd.index.value == pytest.approx(75.0) and bd.index.target == 80 and bd.index.met is False
    assert cg.index.value == pytest.approx(100.0) and cg.index.met is True
    assert bd.nps.value == pytest.approx(50.0) and cg.nps.value == pytest.approx(0.0)
    assert bd.response_rate is None  # no invitations: no rate
    overall = next(q for q in bd.questions if q.id == "overall")
    assert overall.distribution == {"1": 0, "2": 10, "3": 0, "4": 0, "5": 30}


async def test_small_groups_are_suppressed_and_left_out_of_tests(seeded):
    report = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN", by=("unit",)))
    dd = by_unit(report)["HN-DD"]
    assert dd.index.value is None and dd.index.suppressed
    assert all(c.suppressed and c.satisfied_share is None and c.suppression_reason == "n=10 < 30" for c in dd.criteria)
    assert all(t.suppressed and t.statistic is None for t in dd.tests if t.comparison == "vs_peers")
    kruskal = [t for t in report.tests if t.test == "kruskal_wallis"]
    assert kruskal and all("HN-DD" in [e["unit"] for e in t.details["excluded"]] for t in kruskal)
    funnel = {(f.unit, f.criterion): f.position for f in report.funnel}
    assert funnel[("HN-DD", "overall")] == "suppressed"


async def test_tests_carry_statistic_pvalue_and_effect_size(seeded):
    report = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN-BD"))
    (group,) = report.groups
    comparisons = {t.comparison for t in group.tests}
    assert {"vs_peers", "previous_period", "same_period_last_year", "trend"} <= comparisons
    previous = next(t for t in group.tests if t.comparison == "previous_period" and t.test == "two_proportion")
    assert previous.details["share"] == 0.75 and previous.details["other_share"] == 0.0
    assert previous.pvalue < 0.001 and previous.effect_size > 0
    encoded = json.loads(msgspec.json.encode(report))
    for test in encoded["groups"][0]["tests"]:
        assert {"statistic", "pvalue", "effect_size"} <= set(test)


async def test_json_contract_of_the_cli(seeded):
    from survey.cli import main

    result = await _invoke(["scores", "--questionnaire", "post-call", "--period", "2026-05", "--unit", "HN",
                            "--by", "unit", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    group = data["groups"][0]
    assert {"unit", "n", "response_rate", "index", "criteria", "nps", "tests"} <= set(group)
    assert {"value", "ci", "target", "met"} <= set(group["index"])
    assert {"id", "n", "mean", "satisfied_share", "ci", "suppressed"} <= set(group["criteria"][0])
    assert main is not None


async def test_by_subunit_gives_each_child_with_its_subtree_as_scoring_it_alone_does(seeded):
    # the province's own counter answers belong to no district: they make a group of their own
    own = "\n".join([HEADER, *(row(f"hn-{i}", "HN", 3, 7) for i in range(35))]) + "\n"
    assert (await import_responses(own.encode())).imported == 35
    centre = await compute_scores(ScoreRequest("post-call", "2026-05", unit="VN", by=("subunit",)))
    assert {g.subunit: g.n for g in centre.groups} == {"HN": 125}  # the districts roll up into their province
    assert all(g.unit is None for g in centre.groups)
    report = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN", by=("subunit",)))
    groups = {g.subunit: g for g in report.groups}
    assert {code: g.n for code, g in groups.items()} == {"HN": 35, "HN-BD": 40, "HN-CG": 40, "HN-DD": 10}
    for code in ("HN-BD", "HN-CG"):
        (alone,) = (await compute_scores(ScoreRequest("post-call", "2026-05", unit=code))).groups
        assert groups[code].index == alone.index and groups[code].criteria == alone.criteria
        assert groups[code].nps == alone.nps and groups[code].questions == alone.questions
    # the districts are compared with each other: tests against their peers, Kruskal-Wallis and the funnel
    peers = [t for t in groups["HN-BD"].tests if t.comparison == "vs_peers" and t.test == "two_proportion"]
    assert peers and all(t.details["n2"] == 50 for t in peers)  # HN-CG and HN-DD, not the province's own
    kruskal = next(t for t in report.tests if t.test == "kruskal_wallis")
    assert set(kruskal.details["units"]) == {"HN-BD", "HN-CG"} and kruskal.details["parent"] == "HN"
    assert {f.unit for f in report.funnel} == {"HN-BD", "HN-CG", "HN-DD"}
    data = json.loads((await _invoke(["scores", "--questionnaire", "post-call", "--period", "2026-05", "--unit",
                                      "HN", "--by", "subunit", "--format", "json"])).output)
    assert {g["subunit"]: g["n"] for g in data["groups"]} == {"HN": 35, "HN-BD": 40, "HN-CG": 40, "HN-DD": 10}


async def test_comments_are_counted_and_quoted_only_from_ten_respondents(seeded):
    def commented(rid: str, unit: str, text: str) -> str:
        return row(rid, unit, 4, 8) + text

    lines = [HEADER, *(commented(f"c-bd-{i}", "HN-BD", f"Nhanh gọn lần {i}") for i in range(3)),
             commented("c-bd-phone", "HN-BD", "Gọi lại cho tôi: 0912 345 678 hoặc an@example.vn"),
             *(commented(f"c-hd-{i}", "HN-HD", "Chờ lâu") for i in range(9))]
    assert (await import_responses(("\n".join(lines) + "\n").encode())).imported == 13
    report = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN", by=("unit",)))
    groups = by_unit(report)
    bd, hd = groups["HN-BD"].comments, groups["HN-HD"].comments
    assert (bd.n, bd.suppressed, len(bd.latest)) == (4, False, 3)  # 44 respondents: the newest three quoted
    assert "Gọi lại cho tôi: […] hoặc […]" in [c.text for c in bd.latest]  # phone and e-mail masked
    assert "0912" not in str(bd.latest) and "an@example.vn" not in str(bd.latest)
    # nine respondents: below the minimum of 30, nothing about the group is shown but its n, comments included
    assert (hd.n, hd.suppressed, hd.suppression_reason, hd.latest) == (9, True, "n=9 < 30", [])
    assert groups["HN-CG"].comments.n == 0
    looser = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN-HD", min_n_comments=5))
    assert looser.groups[0].comments.latest == []  # min_n_comments below min_n changes nothing
    shown = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN-HD", min_n=9, min_n_comments=9))
    assert [c.text for c in shown.groups[0].comments.latest] == ["Chờ lâu"] * 3
    fewer = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN-HD", min_n=5, min_n_comments=10))
    assert fewer.groups[0].comments.suppression_reason == "n=9 < 10"  # and min_n below it keeps its own minimum


async def _invoke(args):
    import asyncio

    from survey.cli import main

    # the CLI runs its own event loop: run it in a thread beside the test's loop
    return await asyncio.to_thread(CliRunner().invoke, main, args)


@pytest.mark.parametrize(("changes", "parameter", "allowed"), [
    ({"period": "May 2026"}, "period", "2026-Q2"),
    ({"questionnaire": "nope"}, "questionnaire", "post-call"),
    ({"unit": "XX"}, "unit", "HN"),
    ({"service": "XX"}, "service", "HOTLINE"),
    ({"by": ("province",)}, "by", "unit, subunit, service, channel, month"),
    ({"by": ("unit", "subunit")}, "by", "unit or subunit, not both"),
])
async def test_bad_parameters_name_the_parameter_and_the_allowed_values(reference, changes, parameter, allowed):
    values = {"questionnaire": "post-call", "period": "2026-05", **changes}
    with pytest.raises(ScoreParameterError) as raised:
        await compute_scores(ScoreRequest(**values))
    assert raised.value.parameter == parameter and allowed in str(raised.value)


@pytest.mark.parametrize(("args", "option", "allowed"), [
    (["--period", "0226-01-01..2026-12-31"], "--period", "2000..2100"),  # a typo for 2026
    (["--period", "9999-12"], "--period", "2000..2100"),
    (["--period", "2026-05", "--questionnaire", "nope"], "--questionnaire", "post-call"),
    (["--period", "2026-05", "--unit", "XX"], "--unit", "HN-BD"),
    (["--period", "2026-05", "--service", "XX"], "--service", "HOTLINE"),
    (["--period", "2026-05", "--by", "unit", "--by", "subunit"], "--by", "unit or subunit"),
    (["--period", "2026-05", "--min-n", "0"], "--min-n", "1 to 1000000"),
    (["--period", "2026-05", "--min-n-comments", "99999999999999999999"], "--min-n-comments", "1 to 1000000"),
])
async def test_bad_parameters_are_a_cli_error_naming_the_option_not_a_traceback(reference, args, option, allowed):
    result = await _invoke(["scores", "--questionnaire", "post-call", *args])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for {option}" in result.output and allowed in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


async def test_questionnaires_show_json(reference):
    result = await _invoke(["questionnaires", "show", "counter", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    access = next(q for q in data["questions"] if q["id"] == "access_place")
    assert (access["type"], access["scale_min"], access["scale_max"], access["criterion"]) == ("rating", 1, 5, "access")
    assert {"id": "access", "threshold": 4, "weight": 1.0, "target": 0.8}.items() <= data["criteria"][0].items()
    assert data["index"]["formula"] == "mean_satisfied_share"
