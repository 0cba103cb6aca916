"""The demo's simulated year: seeded, shaped like the questionnaires, and hiding the patterns it promises."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from questionnaires import load_bundled, visible_questions
from survey.simulation import VN_TZ, SimulatedResponse, Simulation, add_working_hours, findings, simulate

TODAY = date(2026, 11, 23)
BUNDLED = load_bundled()


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(responses=12_000, seed=11, today=TODAY)


def satisfied_share(responses: list[SimulatedResponse], question_id: str) -> float:
    values = [r.answers[question_id] for r in responses if question_id in r.answers]
    assert values, f"no answers to {question_id}"
    return sum(v >= 4 for v in values) / len(values)


def complete(sim: Simulation) -> list[SimulatedResponse]:
    return [r for r in sim.responses if r.status == "complete"]


def local_month(r: SimulatedResponse) -> date:
    return r.started_at.astimezone(VN_TZ).date().replace(day=1)


def test_same_seed_same_data_other_seed_other_data() -> None:
    first = simulate(responses=1_500, seed=3, today=TODAY)
    again = simulate(responses=1_500, seed=3, today=TODAY)
    other = simulate(responses=1_500, seed=4, today=TODAY)
    assert first == again
    assert first.responses != other.responses


def test_twelve_months_ending_last_month_with_the_requested_complete_responses(sim: Simulation) -> None:
    assert (sim.period_start, sim.period_end) == (date(2025, 11, 1), date(2026, 11, 1))
    assert len(complete(sim)) == 12_000
    incomplete = [r for r in sim.responses if r.status == "incomplete"]
    assert 0 < len(incomplete) < 0.1 * len(sim.responses)
    silent = [c for c in sim.contacts if c.response is None]
    assert 0.2 < len(silent) / len(sim.contacts) < 0.3  # about a quarter of the contacts never answer
    months = Counter(local_month(r) for r in complete(sim))
    assert len(months) == 12 and min(months.values()) > 500
    start = datetime(2025, 11, 1, tzinfo=VN_TZ)
    end = datetime(2026, 11, 1, tzinfo=VN_TZ)
    for c in sim.contacts:
        assert start <= c.occurred_at < end
    languages = Counter(r.language for r in sim.responses)
    assert 0.03 < languages["en"] / len(sim.responses) < 0.08


def test_each_response_belongs_to_its_contact_and_times_are_aware_and_ordered(sim: Simulation) -> None:
    end = datetime(2026, 11, 1, tzinfo=VN_TZ)
    for index, r in enumerate(sim.responses):
        contact = sim.contacts[r.contact]
        assert contact.response == index
        assert (contact.channel, contact.unit_code, contact.service_code, contact.counter_code) == (
            r.channel, r.unit_code, r.service_code, r.counter_code)
        assert r.started_at.tzinfo is UTC
        assert contact.occurred_at <= r.started_at < end
        if r.status == "complete":
            assert r.submitted_at is not None and r.submitted_at.tzinfo is UTC
            assert r.started_at < r.submitted_at < end
        else:
            assert r.submitted_at is None
    counter_trust = Counter(r.trust for r in sim.responses if r.channel == "counter")
    assert set(counter_trust) == {"ticket", "kiosk", "poster"}
    assert {r.trust for r in sim.responses if r.channel != "counter"} == {"one_time_link"}
    assert {r.questionnaire_key for r in sim.responses if r.channel == "call"} == {"post-call"}


def test_answers_obey_scales_options_and_skip_logic(sim: Simulation) -> None:
    for r in sim.responses:
        q = BUNDLED[r.questionnaire_key]
        shown = {x.id for x in visible_questions(q, r.answers)}
        assert set(r.answers) <= shown, (r, set(r.answers) - shown)
        for question_id, value in r.answers.items():
            question = q.question(question_id)
            if question.scale is not None:
                assert isinstance(value, int) and value in question.scale
            elif question.type == "single":
                assert value in question.option_values
            else:
                assert isinstance(value, str) and value
                assert question.max_length is None or len(value) <= question.max_length
        if r.status == "complete":
            required = {x.id for x in visible_questions(q, r.answers) if x.required}
            assert required <= set(r.answers)
        else:
            assert all(q.question(x).page < r.page for x in r.answers)


def test_skip_logic_branches_are_taken_both_ways(sim: Simulation) -> None:
    counter = [r for r in complete(sim) if r.questionnaire_key == "counter"]
    said_yes = [r for r in counter if r.answers["complained"] == "yes"]
    assert said_yes and len(said_yes) < len(counter) / 4
    assert any("feedback_handled" in r.answers for r in said_yes)
    assert not any("feedback_handled" in r.answers for r in counter if r.answers["complained"] == "no")
    online = [r for r in complete(sim) if r.questionnaire_key == "online-service"]
    assert any("wrong_info_detail" in r.answers for r in online)


def test_one_district_office_is_clearly_worse_above_all_on_the_civil_servant(sim: Simulation) -> None:
    worse = sim.patterns.worse_unit
    counter = [r for r in complete(sim) if r.channel == "counter"]
    at_worse = [r for r in counter if r.unit_code == worse]
    elsewhere = [r for r in counter if r.unit_code != worse]
    assert len(at_worse) > 150
    gap = satisfied_share(elsewhere, "overall") - satisfied_share(at_worse, "overall")
    servant_gap = satisfied_share(elsewhere, "servant_attitude") - satisfied_share(at_worse, "servant_attitude")
    assert 0.1 < gap < 0.3
    assert servant_gap > gap + 0.1
    # no other office comes close
    by_unit: dict[str, list[SimulatedResponse]] = {}
    for r in elsewhere:
        by_unit.setdefault(r.unit_code, []).append(r)
    runner_up = min(satisfied_share(rs, "servant_attitude") for rs in by_unit.values() if len(rs) > 100)
    assert runner_up - satisfied_share(at_worse, "servant_attitude") > 0.15


def test_the_improving_service_ends_the_year_far_better_than_it_began(sim: Simulation) -> None:
    service = [r for r in complete(sim) if r.service_code == sim.patterns.improving_service]
    months = sorted({local_month(r) for r in service})
    first = [r for r in service if local_month(r) in months[:3]]
    last = [r for r in service if local_month(r) in months[-3:]]
    assert satisfied_share(last, "overall") - satisfied_share(first, "overall") > 0.2
    others = [r for r in complete(sim) if r.service_code != sim.patterns.improving_service]
    other_first = [r for r in others if local_month(r) in months[:3]]
    other_last = [r for r in others if local_month(r) in months[-3:]]
    assert abs(satisfied_share(other_last, "overall") - satisfied_share(other_first, "overall")) < 0.1


def test_tet_month_dips_with_more_waiting_complaints(sim: Simulation) -> None:
    tet_month = date(2026, 2, 1)  # Tết 2026 is 17 February
    in_tet = [r for r in complete(sim) if local_month(r) == tet_month]
    rest = [r for r in complete(sim) if local_month(r) != tet_month]
    assert satisfied_share(rest, "overall") - satisfied_share(in_tet, "overall") > 0.1
    calls_tet = [r for r in in_tet if r.questionnaire_key == "post-call"]
    calls_rest = [r for r in rest if r.questionnaire_key == "post-call"]
    assert satisfied_share(calls_rest, "waiting_time") - satisfied_share(calls_tet, "waiting_time") > 0.2
    # and no month other than February is as low
    by_month = Counter(local_month(r) for r in rest)
    for month in by_month:
        month_share = satisfied_share([r for r in rest if local_month(r) == month], "overall")
        assert month_share > satisfied_share(in_tet, "overall") + 0.08


def test_comments_are_mostly_vietnamese_and_follow_the_language(sim: Simulation) -> None:
    commented = [r for r in complete(sim) if "comment" in r.answers]
    assert 0.1 < len(commented) / len(complete(sim)) < 0.4
    vietnamese_letters = set("ăâđêôơưàảãáạếềểễệốồổỗộớờởỡợứừửữự")
    for r in commented:
        words = str(r.answers["comment"]).replace("Tết", "Tet").lower()  # English text says Tết too
        has_accents = bool(set(words) & vietnamese_letters)
        assert has_accents == (r.language == "vi"), r.answers["comment"]
    vssid_login = [r for r in commented if "VssID" in str(r.answers["comment"]) and r.answers["overall"] <= 2]
    assert vssid_login


def test_follow_ups_exactly_where_the_rule_fires_old_closed_recent_open(sim: Simulation) -> None:
    expected = {i for i, r in enumerate(sim.responses) if r.status == "complete"
                and BUNDLED[r.questionnaire_key].follow_up.triggered_by(r.answers)}
    assert {f.response for f in sim.follow_ups} == expected
    end = datetime(2026, 11, 1, tzinfo=VN_TZ)
    for f in sim.follow_ups:
        assert f.reasons and f.unit_code == sim.responses[f.response].unit_code
        assert f.created_at < f.due_at
        if f.status == "closed":
            assert f.closed_at is not None and f.closed_at > f.created_at and f.notes
        else:
            assert f.closed_at is None
        if f.status == "open":
            assert end - f.created_at < timedelta(days=5)
    statuses = Counter(f.status for f in sim.follow_ups)
    assert statuses["closed"] > 0.9 * len(sim.follow_ups)
    assert statuses["open"] > 0


def test_working_hours_skip_lunch_nights_and_weekends() -> None:
    def local(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=VN_TZ)

    assert add_working_hours(local("2026-03-04 09:00"), 1) == local("2026-03-04 10:00")
    assert add_working_hours(local("2026-03-04 11:00"), 1) == local("2026-03-04 13:30")
    assert add_working_hours(local("2026-03-06 16:00"), 1) == local("2026-03-09 08:00")  # Friday → Monday
    assert add_working_hours(local("2026-03-07 10:00"), 1) == local("2026-03-09 08:30")  # Saturday
    assert add_working_hours(local("2026-03-04 20:00"), 1, holidays=[date(2026, 3, 5)]) == local("2026-03-06 08:30")


def test_findings_report_the_patterns(sim: Simulation) -> None:
    f = findings(sim)
    assert f.worse_unit_share < f.other_units_share - 0.1
    assert f.worse_unit_servant_share < f.other_units_servant_share - 0.2
    assert f.last_quarter_share > f.first_quarter_share + 0.2
    assert f.tet_month == date(2026, 2, 1) and f.tet_month_share < f.other_months_share - 0.1


def test_rejects_no_responses() -> None:
    with pytest.raises(ValueError, match="responses"):
        simulate(responses=0, seed=1, today=TODAY)
