"""Scores from counts equal the raw computation: on random responses, every measure and test of every group.

The reference scores each response as a cell of its own (the raw computation: one respondent, one row) over the
whole country; the service reads what the request needs (its unit's subtree, its peers in its period), counted
per month and unit and service and channel (and per day where a custom range cuts a month), from the kept counts
where it has them. Both must give the same JSON: integers exactly, every other number to 1e-9.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import msgspec
import numpy as np
import pytest

from scoring.coding import Coding
from survey.services.extract import ResponseScope, extract_responses
from survey.services.response_import import import_responses
from survey.services.scores import ScoreRequest, compute_scores
from survey.services.scores.cells import cells_of_frame
from survey.services.scores.reading import text_question_ids
from survey.services.scores.service import load_score_data, score_loaded
from survey.settings import get_settings

POST_CALL = ("reach", "waiting_time", "courtesy", "clarity", "usefulness", "resolved", "overall", "recommend",
             "comment")
COUNTER = ("access_place", "access_facilities", "procedure_public", "procedure_documents", "servant_attitude",
           "servant_guidance", "result_time", "result_accuracy", "complained", "feedback_easy", "feedback_handled",
           "overall", "comment")
FIXED = "response_id,questionnaire,version,unit,service,channel,submitted_at,language"
UNITS = ("HN", "HN-BD", "HN-CG", "HN-DD", "HCM", "HCM-Q1", "HCM-TD", "QB", "QB-DH", "KH")
MONTHS = [(2025, m) for m in range(9, 13)] + [(2026, m) for m in range(1, 12)]  # up to November: not after now


def _rating(rng: np.random.Generator, base: float, skip: float = 0.06) -> str:
    return "" if rng.random() < skip else str(int(np.clip(round(base + rng.normal(0, 0.9)), 1, 5)))


def dataset(seed: int = 14) -> bytes:
    """About 2,700 responses of both questionnaires over 15 months, 10 units, some services and channels."""
    rng = np.random.default_rng(seed)
    quality = {unit: rng.normal(3.9, 0.4) for unit in UNITS}
    lines = [f"{FIXED},{','.join(dict.fromkeys(POST_CALL + COUNTER))}"]
    columns = list(dict.fromkeys(POST_CALL + COUNTER))
    for i in range(2700):
        unit = UNITS[int(rng.integers(len(UNITS)))]
        year, month = MONTHS[int(rng.integers(len(MONTHS)))]
        day, hour, minute = int(rng.integers(1, 29)), int(rng.integers(7, 18)), int(rng.integers(60))
        when = f"{year}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}"
        base = quality[unit] + (0.3 if month > 6 and year == 2026 else 0.0)
        comment = "Góp ý số " + str(i) if rng.random() < 0.25 else ""
        values: dict[str, str] = {}
        if rng.random() < 0.5:
            key, version, service = "post-call", 1, ("HOTLINE", "HIC", "PENSION")[int(rng.integers(3))]
            channel = "call"
            for q in ("reach", "waiting_time", "courtesy", "clarity", "usefulness", "overall"):
                values[q] = _rating(rng, base, skip=0 if q == "overall" else 0.06)  # overall is required
            values["resolved"] = ("yes", "partly", "no")[int(rng.integers(3))]
            values["recommend"] = "" if rng.random() < 0.05 else str(int(np.clip(round(base * 2 + rng.normal(0, 2)),
                                                                                  0, 10)))
        else:
            key, version, service = "counter", 2, ("SIB", "HIC", "COLLECT", "")[int(rng.integers(4))]
            channel = "counter"
            for q in COUNTER[:8] + ("overall",):
                values[q] = _rating(rng, base, skip=0 if q == "overall" else 0.06)  # overall is required
            complained = rng.random() < 0.3
            values["complained"] = "yes" if complained else "no"
            if complained:
                values["feedback_easy"], values["feedback_handled"] = _rating(rng, base - 0.5), _rating(rng, base)
        values["comment"] = comment
        answers = ",".join(values.get(c, "") for c in columns)
        lines.append(f"r{i},{key},{version},{unit},{service},{channel},{when},vi,{answers}")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
async def seeded(reference):
    result = await import_responses(dataset())
    assert result.problems == [], result.problems[:3]
    return reference


async def raw_reference(request: ScoreRequest) -> Any:
    """The request scored from the whole country's raw rows, each response a cell of its own."""
    data = await load_score_data(request.questionnaire, [request.period_range], channel=request.channel,
                                 service=request.service)
    settings = get_settings()
    q = data.questionnaire
    coding = Coding.of(q)
    start, end = data.window.bounds(settings.timezone)
    service_id = next((i for i, c in data.services.items() if c == request.service), None)
    frame = await extract_responses(ResponseScope(q.id, start, end, "/", service_id, request.channel),
                                    coding.question_ids, text_question_ids(q))
    single = cells_of_frame(frame, coding, settings.timezone, single=True)
    assert single.n_cells == frame.n and int(single.n.sum()) == frame.n
    return await score_loaded(dataclasses.replace(data, cells=single), request)


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two JSON values differ: integers, strings and booleans exactly, floats to 1e-9."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(a.keys() ^ b.keys())}"]
        return [d for k in a if k != "timings" for d in differences(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items against {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and not isinstance(a, bool):
        if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9):
            return []
        return [f"{path}: {a!r} against {b!r}"]
    return [] if a == b and type(a) is type(b) else [f"{path}: {a!r} against {b!r}"]


REQUESTS = [
    ScoreRequest("post-call", "2026", by=("unit", "month"), min_n=5),
    ScoreRequest("counter", "2026", by=("unit", "month"), min_n=5, min_n_comments=3),
    ScoreRequest("post-call", "2026-Q2"),
    ScoreRequest("counter", "2026-Q2", by=("service",)),
    ScoreRequest("counter", "2026-Q3", by=("subunit",), min_n=10),
    ScoreRequest("post-call", "2026-Q3", unit="HN", by=("unit",), min_n=10),
    ScoreRequest("counter", "2026-Q3", unit="HN", by=("subunit", "service"), min_n=5),
    ScoreRequest("counter", "2026-05", unit="HN-BD", min_n=5),
    ScoreRequest("post-call", "2026-Q3", unit="HN-BD", by=("service",), min_n=5, min_n_comments=3),
    ScoreRequest("post-call", "2026-04-11..2026-06-20", unit="HCM", by=("unit",), min_n=10),
    ScoreRequest("counter", "2026-02-15..2026-03-14", by=("unit",), min_n=5),
    ScoreRequest("counter", "2026", service="HIC", unit="HCM-TD", min_n=10),
    ScoreRequest("post-call", "2026-Q1", channel="call", by=("channel", "service"), min_n=5),
]


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: f"{r.questionnaire} {r.period} {r.unit or 'VN'} "
                                                            f"{'×'.join(r.by) or '-'} {r.service or ''}")
async def test_scores_from_counts_equal_the_raw_computation(seeded, request_):
    counted = msgspec.to_builtins(await compute_scores(request_))
    raw = msgspec.to_builtins(await raw_reference(request_))
    assert counted["groups"], "the request should have groups"
    assert differences(counted, raw) == []
    # the comparison is not empty: the requests show figures, tests and comments
    shown = [g for g in counted["groups"] if g["index"] and g["index"]["value"] is not None]
    tests = [t for g in counted["groups"] for t in g["tests"] if t["pvalue"] is not None]
    assert shown and tests
