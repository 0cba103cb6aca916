"""Each group's newest comments are found however far back they lie: pages of a group's newest responses, then
which of them commented, until the group has its few."""

from __future__ import annotations

from datetime import UTC, datetime

from survey.services.extract import ResponseScope, extract_comments
from survey.services.response_import import import_responses
from survey.services.scores.comments import CommentFilter, newest_commented

FIXED = "response_id,questionnaire,version,unit,service,channel,submitted_at,language"


def _csv(commented: dict[str, set[int]], per_unit: int) -> bytes:
    """``per_unit`` responses a unit in May 2026, one every few hours; response ``i`` of a unit comments when
    ``i`` is in ``commented[unit]`` (0 is the oldest)."""
    lines = [f"{FIXED},overall,complained,comment"]
    for unit, chosen in commented.items():
        for i in range(per_unit):
            day, hour = 1 + i // 6, 7 + (i % 6) * 2
            text = f"{unit} ý kiến {i}" if i in chosen else ""
            lines.append(f"{unit}-{i},counter,2,{unit},SIB,counter,2026-05-{day:02d} {hour:02d}:15,vi,4,no,{text}")
    return ("\n".join(lines) + "\n").encode()


async def test_the_newest_comments_of_each_group_even_when_they_are_far_back(reference):
    from survey.tables import Unit

    commented = {"HN-BD": {0, 1}, "HN-CG": set(range(0, 150, 10)), "HCM-Q1": set()}
    result = await import_responses(_csv(commented, 150))
    assert result.problems == [] and result.imported == 450
    units = {r["code"]: r["id"] for r in await Unit.select(Unit.id, Unit.code)}
    scope = ResponseScope("counter", datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
    filters = [CommentFilter(unit_ids=(units[code],)) for code in commented]
    found = await newest_commented(scope, filters, 3)
    every = await extract_comments(scope, ["comment"])  # newest first, all of them
    for filter_, ids in zip(filters, found, strict=True):
        expected = [c.response_id for c in every if c.unit_id == filter_.unit_ids[0]][:3]
        assert ids == expected
    assert [len(ids) for ids in found] == [2, 3, 0]  # the oldest two of 150, the newest three, none
    # knowing the counts changes nothing but where the search stops
    assert await newest_commented(scope, filters, 3, expected=[2, 15, 0]) == found
    # a service and a window of days: the responses of another service or outside the days are not read
    from survey.tables import Service

    sib = (await Service.select(Service.id).where(Service.code == "SIB").first())["id"]
    low, high = datetime(2026, 5, 9, 17, tzinfo=UTC), datetime(2026, 5, 19, 17, tzinfo=UTC)  # 10–20 May, local
    windowed = [CommentFilter((units["HN-CG"],), sib, None, low, high), CommentFilter((units["HN-CG"],), 0),
                CommentFilter((units["HN-CG"],), sib, "call")]
    found = await newest_commented(scope, windowed, 3)
    expected = [c.response_id for c in every if c.unit_id == units["HN-CG"] and low <= c.submitted_at < high][:3]
    assert found == [expected, [], []] and len(expected) == 3
