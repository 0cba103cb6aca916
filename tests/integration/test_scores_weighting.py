"""`survey scores --weighted`: post-stratification to contact volumes by channel × service, checked by hand.

The sample over-represents counter visitors for SIB (60 of 100 answers, 30% of contacts); calls are
under-represented. Cells (channel, service): answers n_h, satisfied k_h, contacts N_h in May 2026 at HN-BD:

    counter, SIB   n=60  k=54 (0.9)   N=300      w = (300/1000)/(60/100) = 0.5
    counter, HIC   n=20  k=16 (0.8)   N=200      w = (200/1000)/(20/100) = 1
    call,    SIB   n=10  k=4  (0.4)   N=300      w = (300/1000)/(10/100) = 3
    call,    HIC   n=10  k=3  (0.3)   N=200      w = (200/1000)/(10/100) = 2
    online,  SIB   n=0                N=250      (not a channel of post-call, and nobody answered online: not counted)

Unweighted share 77/100 = 0.77; weighted Σ (N_h/N)·p_h = 0.3·0.9 + 0.2·0.8 + 0.3·0.4 + 0.2·0.3 = 0.61.
Kish: Σw = 30 + 20 + 30 + 20 = 100, Σw² = 15 + 20 + 90 + 40 = 165, deff = 100·165/100² = 1.65,
effective n = 100/1.65 = 60.61. Contacts of April, of another unit and of a channel the questionnaire does not serve
must not count, so every contact counted is covered (coverage 1).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from scoring import wilson_interval
from survey.services.response_import import import_responses
from survey.services.scores import ScoreRequest, compute_scores

QUESTIONS = ("reach", "waiting_time", "courtesy", "clarity", "usefulness", "resolved", "overall", "recommend",
             "comment")
HEADER = "response_id,questionnaire,version,unit,service,channel,submitted_at,language," + ",".join(QUESTIONS)

# (channel, service): (answers, satisfied, contacts)
CELLS = {
    ("counter", "SIB"): (60, 54, 300),
    ("counter", "HIC"): (20, 16, 200),
    ("call", "SIB"): (10, 4, 300),
    ("call", "HIC"): (10, 3, 200),
    ("online", "SIB"): (0, 0, 250),
}
N = 100
WEIGHTED_SHARE = 0.3 * 0.9 + 0.2 * 0.8 + 0.3 * 0.4 + 0.2 * 0.3  # 0.61
DEFF = N * (60 * 0.5**2 + 20 * 1**2 + 10 * 3**2 + 10 * 2**2) / (60 * 0.5 + 20 * 1 + 10 * 3 + 10 * 2) ** 2  # 1.65
EFFECTIVE_N = N / DEFF


def dataset() -> bytes:
    lines = [HEADER]
    for (channel, service), (n, k, _) in CELLS.items():
        for i in range(n):
            rating = 5 if i < k else 2  # threshold 4: 5 is satisfied, 2 is not
            lines.append(f"{channel}-{service}-{i},post-call,1,HN-BD,{service},{channel},2026-05-12 10:00,vi,"
                         + ",".join([str(rating)] * 5) + f",yes,{rating},{9 if rating == 5 else 3},")
    return ("\n".join(lines) + "\n").encode()


async def add_contacts() -> None:
    from survey.tables import Contact, Service, Unit

    units = {r["code"]: r["id"] for r in await Unit.select(Unit.id, Unit.code)}
    services = {r["code"]: r["id"] for r in await Service.select(Service.id, Service.code)}
    rows = []

    def add(unit: str, channel: str, service: str, count: int, when: datetime) -> None:
        for i in range(count):
            key = f"{unit}-{channel}-{service}-{when:%m}-{i}"
            rows.append(Contact(source="test", external_id=key, source_key=f"test:{key}", channel=channel,
                                unit=units[unit], service=services[service], occurred_at=when))

    may, april = datetime(2026, 5, 14, 3, 0, tzinfo=UTC), datetime(2026, 4, 14, 3, 0, tzinfo=UTC)
    for (channel, service), (_, _, contacts) in CELLS.items():
        add("HN-BD", channel, service, contacts, may)
    add("HN-BD", "counter", "SIB", 700, april)  # another period: must not count
    add("HN-CG", "call", "HIC", 900, may)  # another unit: must not count
    for start in range(0, len(rows), 500):  # PostgreSQL allows at most 32,767 bind parameters a query
        await Contact.insert(*rows[start:start + 500])


@pytest.fixture
async def seeded(reference):
    result = await import_responses(dataset())
    assert result.problems == [] and result.imported == N
    await add_contacts()
    return reference


async def test_hand_computed_weights_shares_and_kish_design_effect(seeded):
    assert round(WEIGHTED_SHARE, 12) == 0.61
    assert round(DEFF, 12) == 1.65
    plain = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN-BD"))
    report = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN-BD", weighted=True))
    assert report.weighted and not plain.weighted
    (unweighted,), (group,) = plain.groups, report.groups
    assert group.n == N and unweighted.weighting is None
    assert group.weighting is not None
    assert group.weighting.design_effect == pytest.approx(DEFF)
    assert group.weighting.effective_n == pytest.approx(EFFECTIVE_N)
    assert group.weighting.coverage == pytest.approx(1.0)  # the online contacts are no post-call population
    assert group.weighting.cells == 4
    for before, after in zip(unweighted.criteria, group.criteria, strict=True):
        assert before.weighted is None
        assert (before.satisfied_share, after.satisfied_share) == (pytest.approx(0.77), pytest.approx(0.77))
        w = after.weighted
        assert w is not None and not w.suppressed
        # moved from 0.77 toward the under-represented calls, by exactly the post-stratified amount
        assert w.satisfied_share == pytest.approx(WEIGHTED_SHARE)
        assert after.satisfied_share - w.satisfied_share == pytest.approx(0.77 - 0.61)
        assert w.design_effect == pytest.approx(DEFF) and w.effective_n == pytest.approx(EFFECTIVE_N)
        # Wilson's interval with n replaced by the effective n (and k by share × effective n): wider than
        # the unweighted interval would be at n = 100
        low, high = wilson_interval(WEIGHTED_SHARE * EFFECTIVE_N, EFFECTIVE_N)
        assert w.ci == [pytest.approx(low), pytest.approx(high)]
        plain_low, plain_high = wilson_interval(WEIGHTED_SHARE * N, N)
        assert high - low > plain_high - plain_low
    # the index keeps its unweighted value, and gets the weighted one beside it
    assert group.index is not None and unweighted.index is not None
    assert group.index.value == pytest.approx(unweighted.index.value) == pytest.approx(77.0)
    assert group.index.ci == pytest.approx(unweighted.index.ci)
    assert unweighted.index.weighted is None
    weighted_index = group.index.weighted
    assert weighted_index is not None and not weighted_index.suppressed
    assert weighted_index.value == pytest.approx(100 * WEIGHTED_SHARE)  # every criterion moved to 0.61
    assert weighted_index.met is False  # the target is 80
    # everyone answered every criterion alike, so the index is a weighted mean of z_i (1 satisfied, 0 not):
    # var = m/(m−1) · Σ (w_i (z_i − z̄_w))² / (Σ w_i)², by hand over the four cells
    cells = [(n, k, (contacts / 1000) / (n / N)) for n, k, contacts in CELLS.values() if n]
    total_w = sum(n * w for n, _, w in cells)
    squares = sum(w * w * (k * (1 - WEIGHTED_SHARE) ** 2 + (n - k) * WEIGHTED_SHARE**2) for n, k, w in cells)
    se = 100 * (N / (N - 1) * squares / total_w**2) ** 0.5
    assert weighted_index.ci == [pytest.approx(100 * WEIGHTED_SHARE - 1.959964 * se, abs=1e-4),
                                 pytest.approx(100 * WEIGHTED_SHARE + 1.959964 * se, abs=1e-4)]
    assert weighted_index.design_effect == pytest.approx(DEFF)


async def test_a_questionnaire_that_declares_weighting_is_weighted_by_its_cells(seeded):
    from dataclasses import replace

    from questionnaires import load_bundled
    from questionnaires.model import Weighting
    from survey.services.questionnaires import publish

    # version 2 of post-call declares weighting by channel only
    await publish(replace(load_bundled()["post-call"], version=2, weighting=Weighting(("channel",))))
    report = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN-BD"))
    assert report.weighted and report.version == 2
    (group,) = report.groups
    # channel cells: counter 80 answers (70 satisfied) for 500 contacts, call 20 (7) for 500; online is no channel
    # of post-call and nobody answered online, so its 250 contacts are not counted
    assert group.weighting.by == ["channel"] and group.weighting.cells == 2
    assert group.weighting.coverage == pytest.approx(1.0)
    share = 0.5 * 70 / 80 + 0.5 * 7 / 20  # 0.6125
    assert group.criteria[0].weighted.satisfied_share == pytest.approx(share)
    assert group.index.weighted.value == pytest.approx(100 * share)
    # the command can still ask for the plain numbers
    plain = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN-BD", weighted=False))
    assert not plain.weighted and plain.groups[0].index.weighted is None


async def test_groups_reuse_the_scope_weights(seeded):
    report = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN-BD", by=("channel",), weighted=True,
                                               min_n=10))
    groups = {g.channel: g for g in report.groups}
    counter, call = groups["counter"], groups["call"]
    # counter: weights 0.5 (60 answers) and 1 (20): Σw = 50, Σw² = 35, deff = 80·35/50² = 1.12
    assert counter.weighting.design_effect == pytest.approx(1.12)
    assert counter.weighting.effective_n == pytest.approx(80 / 1.12)
    assert counter.criteria[0].weighted.satisfied_share == pytest.approx((0.5 * 54 + 1 * 16) / 50)  # 0.86
    # call: weights 3 (10) and 2 (10): Σw = 50, Σw² = 130, deff = 20·130/50² = 1.04
    assert call.weighting.design_effect == pytest.approx(1.04)
    assert call.criteria[0].weighted.satisfied_share == pytest.approx((3 * 4 + 2 * 3) / 50)  # 0.36
    assert call.criteria[0].weighted.effective_n == pytest.approx(20 / 1.04)


async def test_weighted_share_is_suppressed_on_its_effective_n(seeded):
    # n = 100 passes min_n = 61 but the effective n (60.6) does not
    report = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN-BD", weighted=True, min_n=61))
    (group,) = report.groups
    criterion = group.criteria[0]
    assert not criterion.suppressed and criterion.satisfied_share == pytest.approx(0.77)
    assert criterion.weighted.suppressed and criterion.weighted.satisfied_share is None
    assert criterion.weighted.ci is None
    assert "effective n" in criterion.weighted.suppression_reason


async def test_cli_weighted_json_reports_design_effect_and_effective_n(seeded):
    import asyncio

    from click.testing import CliRunner

    from survey.cli import main

    result = await asyncio.to_thread(CliRunner().invoke, main, [
        "scores", "--questionnaire", "post-call", "--period", "2026-05", "--unit", "HN-BD", "--weighted",
        "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["weighted"] is True
    (group,) = data["groups"]
    assert group["weighting"]["design_effect"] == pytest.approx(DEFF)
    assert group["weighting"]["effective_n"] == pytest.approx(EFFECTIVE_N)
    weighted = group["criteria"][0]["weighted"]
    assert weighted["satisfied_share"] == pytest.approx(WEIGHTED_SHARE)
    assert weighted["design_effect"] == pytest.approx(DEFF)
    assert weighted["effective_n"] == pytest.approx(EFFECTIVE_N)
