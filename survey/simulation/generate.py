"""The simulation itself: answers that follow each questionnaire's scales and skip logic, and follow-up cases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import numpy as np

from questionnaires import AnswerValue, Questionnaire, load_bundled, visible_questions
from survey.reference import CENTRE, PROVINCES
from survey.services.followups import add_working_hours
from survey.simulation.comments import COMMENTS, NOTES, WRONG_DATA, comment_topic
from survey.simulation.contacts import (
    CHANNEL_QUESTIONNAIRE,
    COUNTER_TRUST,
    Draws,
    concat_draws,
    draw_contacts,
    period_before,
    tet_closure,
    weighted_choice,
)
from survey.simulation.records import (
    VN_TZ,
    DemoPatterns,
    SimulatedContact,
    SimulatedFollowUp,
    SimulatedResponse,
    Simulation,
    holiday_window,
)

__all__ = ["simulate"]


def _rating(base: float, latent: np.ndarray, noise: np.ndarray, low: int, high: int) -> np.ndarray:
    return np.clip(np.rint(base + latent + noise), low, high).astype(int)


def simulate(
    responses: int = 60_000,
    seed: int = 2026,
    today: date | None = None,
    patterns: DemoPatterns = DemoPatterns(),
    questionnaires: Mapping[str, Questionnaire] | None = None,
) -> Simulation:
    """Twelve months of contacts ending the month before ``today``, with ``responses`` complete responses.

    About 6% more responses are left incomplete, and a quarter of the contacts never respond.
    The same ``seed``, ``today`` and ``patterns`` give the same data.
    """
    if responses < 1:
        raise ValueError(f"responses: must be at least 1, got {responses}")
    today = today or datetime.now(VN_TZ).date()
    questionnaires = questionnaires or load_bundled()
    start, end = period_before(today)
    days = [start + timedelta(days=k) for k in range((end - start).days)]
    rng = np.random.default_rng(seed)

    incomplete = max(1, round(responses * 0.06))
    answering = responses + incomplete
    silent = round(answering / 3)  # a quarter of the contacts never answer
    mix_answering = {"call": 0.36, "counter": 0.44, "online": 0.20}
    mix_silent = {"call": 0.45, "counter": 0.25, "online": 0.30}

    # Draw each channel's contacts as columns, answering ones first.
    counts = {ch: (round(answering * mix_answering[ch]), round(silent * mix_silent[ch])) for ch in mix_answering}
    counts["online"] = (answering - counts["call"][0] - counts["counter"][0], counts["online"][1])
    draws: dict[str, Draws] = {}
    for channel, (n_answering, n_silent) in counts.items():
        draws[channel] = concat_draws([draw_contacts(rng, channel, n_answering, days, patterns),
                                  draw_contacts(rng, channel, n_silent, days, patterns)], channel)

    # Time of each contact (UTC, seconds since the epoch), and a stable order of all contacts.
    epoch_day0 = (datetime.combine(start, datetime.min.time(), VN_TZ)).timestamp()
    rows: list[tuple[float, str, int, bool]] = []
    for channel, d in draws.items():
        seconds = epoch_day0 + d.day * 86400.0 + d.minute * 60.0
        n_answering = counts[channel][0]
        rows.extend((float(s), channel, i, i < n_answering) for i, s in enumerate(seconds))
    rows.sort()
    end_ts = datetime.combine(end, datetime.min.time(), VN_TZ).timestamp()

    # The latent satisfaction of each answering contact (shared by all its answers) and its effects.
    day_of = {ch: draws[ch].day for ch in draws}
    month_of_day = np.array([(d.year - start.year) * 12 + d.month - start.month for d in days])
    in_holiday = np.array([(w := holiday_window(d, patterns)) is not None and w[0] <= d <= w[1] for d in days])
    weekday_effect = np.array([{0: -0.12, 4: 0.05}.get(d.weekday(), 0.0) for d in days])
    unit_codes = sorted({CENTRE.code} | {p.code for p in PROVINCES} | {c for p in PROVINCES for c, _, _ in p.districts})
    unit_effect = dict(zip(unit_codes, rng.normal(0.0, 0.07, len(unit_codes)), strict=True))

    responses_out: list[SimulatedResponse] = []
    contacts_out: list[SimulatedContact] = []
    incomplete_set: set[tuple[str, int]] = set()
    answering_keys = [(ch, i) for _, ch, i, answers in rows if answers]
    for k in rng.choice(len(answering_keys), size=incomplete, replace=False):
        incomplete_set.add(answering_keys[int(k)])

    # Per channel: the answers as numpy columns, then one record per response.
    built: dict[tuple[str, int], SimulatedResponse] = {}
    for channel, d in draws.items():
        n = counts[channel][0]
        key = CHANNEL_QUESTIONNAIRE[channel]
        q = questionnaires[key]
        day = day_of[channel][:n]
        month = month_of_day[day]
        holiday = in_holiday[day]
        service = d.service[:n]
        unit = d.unit[:n]
        progress = month / 11.0
        improving = np.where(service == patterns.improving_service,
                             patterns.improving_from + (patterns.improving_to - patterns.improving_from) * progress,
                             0.0)
        worse = (unit == patterns.worse_unit) if channel == "counter" else np.zeros(n, dtype=bool)
        latent = (rng.normal(0.0, 0.5, n) + np.array([unit_effect[u] for u in unit]) + improving
                  + np.where(holiday, patterns.holiday_effect, 0.0) + weekday_effect[day]
                  + np.where(worse, patterns.worse_unit_effect, 0.0)
                  + {"call": 0.05, "counter": 0.0, "online": -0.1}[channel])
        waiting_extra = np.where(holiday, patterns.holiday_waiting_effect, 0.0)
        servant_extra = np.where(worse, patterns.worse_unit_servant_effect, 0.0)

        numbers: dict[str, np.ndarray] = {}
        for question in q.questions:
            if question.scale is None:
                continue
            scale = question.scale
            noise = rng.normal(0.0, 0.6, n)
            if question.type == "nps":
                numbers[question.id] = _rating(8.2, 2.2 * latent, 1.3 * noise, 0, 10)
            elif question.type == "ces":
                numbers[question.id] = _rating(5.7, 1.5 * latent, 1.3 * noise, scale.min, scale.max)
            else:
                extra = np.zeros(n)
                if question.id in ("waiting_time", "reach", "result_time", "access_facilities"):
                    extra = waiting_extra
                if question.criterion == "civil_servant":
                    extra = servant_extra
                numbers[question.id] = _rating(4.2, latent + extra, noise, scale.min, scale.max)
        rated = [x.id for x in q.questions if x.type == "rating" and x.id != "overall" and x.show_if is None]
        overall_mean = np.mean([numbers[x] for x in rated], axis=0) if rated else 4.2 + latent
        numbers["overall"] = np.clip(np.rint(overall_mean + rng.normal(0.0, 0.45, n)), 1, 5).astype(int)
        skipped = rng.random((n, len(q.questions))) < 0.03  # optional questions left blank now and then
        outcome = latent + rng.normal(0.0, 0.5, n)
        choice_roll = rng.random((n, 4))
        comment_roll = rng.random(n)
        pick = rng.integers(0, 1_000_000, (n, 2))
        trust = (weighted_choice(rng, COUNTER_TRUST, n) if channel == "counter"
                 else np.full(n, "one_time_link", dtype=object))
        pages = np.array(q.pages)
        stop_page = rng.choice(pages, size=n)
        seconds = epoch_day0 + day * 86400.0 + d.minute[:n] * 60.0
        delay = {"call": rng.lognormal(np.log(6 * 60), 0.8, n), "counter": rng.uniform(20, 600, n),
                 "online": rng.lognormal(np.log(2 * 3600), 1.0, n)}[channel]
        duration = rng.uniform(45, 300, n)
        # nobody answers after the period: shorten the delay of the last evening's contacts
        room = np.maximum(end_ts - 60.0 - seconds - duration, 1.0)
        delay = np.where(delay > room, rng.uniform(0.05, 1.0, n) * room, delay)
        started = seconds + delay
        submitted = started + duration

        for i in range(n):
            answers: dict[str, AnswerValue] = {}
            for j, question in enumerate(q.questions):
                if question.id in numbers and (question.required or not skipped[i, j]):
                    answers[question.id] = int(numbers[question.id][i])
            o = float(outcome[i])
            if key == "post-call":
                answers["resolved"] = "yes" if o > -0.45 else ("partly" if o > -1.05 else "no")
            elif key == "counter":
                answers["complained"] = "yes" if choice_roll[i, 0] < (0.2 if o < -0.6 else 0.05) else "no"
            else:
                if service[i] == "VSSID":
                    answers["platform"] = "vssid"
                else:
                    answers["platform"] = "vss-portal" if choice_roll[i, 1] < 0.7 else "national-portal"
                answers["result"] = "done" if o > -0.3 else ("waiting" if o > -1.1 else "not-done")
                wrong = choice_roll[i, 2] < (0.12 if o < -0.8 else 0.04)
                answers["wrong_info"] = "yes" if wrong else "no"
            english = bool(d.english[i])
            overall = answers["overall"]
            assert isinstance(overall, int)
            wants_comment = comment_roll[i] < (0.55 if overall <= 2 else (0.3 if overall == 3 else 0.18))
            if wants_comment:
                waiting_id = {"post-call": "waiting_time", "counter": "result_time"}.get(key)
                waiting_value = answers.get(waiting_id) if waiting_id else None
                waiting_low = (isinstance(waiting_value, int) and waiting_value <= 2) or bool(holiday[i])
                servant = answers.get("servant_attitude")
                servant_low = isinstance(servant, int) and servant <= 2
                topic = comment_topic(key, service[i], overall, waiting_low, month[i] >= 8, servant_low)
                options = COMMENTS[topic]
                answers["comment"] = options[int(pick[i, 0]) % len(options)][1 if english else 0]
            if answers.get("wrong_info") == "yes" and choice_roll[i, 3] < 0.9:
                answers["wrong_info_detail"] = WRONG_DATA[int(pick[i, 1]) % len(WRONG_DATA)][1 if english else 0]
            # answers in question order, keeping only what the skip logic shows
            shown = visible_questions(q, answers)
            complete = (channel, i) not in incomplete_set
            page = int(stop_page[i]) if not complete else q.pages[-1]
            answers = {x.id: answers[x.id] for x in shown if x.id in answers and (complete or x.page < page)}
            built[(channel, i)] = SimulatedResponse(
                contact=-1,
                questionnaire_key=key,
                channel=channel,
                unit_code=str(unit[i]),
                service_code=str(service[i]),
                counter_code=None if d.counter[i] is None else str(d.counter[i]),
                language="en" if english else "vi",
                trust=str(trust[i]),
                status="complete" if complete else "incomplete",
                page=page,
                started_at=datetime.fromtimestamp(float(started[i]), UTC),
                submitted_at=datetime.fromtimestamp(float(submitted[i]), UTC) if complete else None,
                answers=answers,
            )

    sources = {"call": "switchboard", "counter": "queue", "online": "portal"}
    agents = rng.integers(1, 180, len(rows))
    for number, (seconds, channel, i, answers_it) in enumerate(rows):
        d = draws[channel]
        response_index: int | None = None
        if answers_it:
            response_index = len(responses_out)
            r = built[(channel, i)]
            responses_out.append(replace(r, contact=len(contacts_out)))
        contacts_out.append(SimulatedContact(
            source=sources[channel],
            external_id=f"{channel[:2].upper()}{start:%y%m}-{number + 1:07d}",
            channel=channel,
            unit_code=str(d.unit[i]),
            service_code=str(d.service[i]),
            counter_code=None if d.counter[i] is None else str(d.counter[i]),
            agent=f"TV{int(agents[number]):03d}" if channel == "call" else None,
            occurred_at=datetime.fromtimestamp(seconds, UTC),
            language="en" if d.english[i] else "vi",
            response=response_index,
        ))

    follow_ups = _follow_ups(rng, responses_out, questionnaires, end)
    return Simulation(start, end, patterns, tuple(contacts_out), tuple(responses_out), tuple(follow_ups))


def _follow_ups(rng: np.random.Generator, responses: Sequence[SimulatedResponse],
                questionnaires: Mapping[str, Questionnaire], end: date) -> list[SimulatedFollowUp]:
    """Cases for complete responses that trip their questionnaire's rule: old ones closed, recent ones open."""
    end_at = datetime.combine(end, datetime.min.time(), VN_TZ)
    holidays = sorted(tet_closure([end - timedelta(days=k) for k in range(0, 400, 20)]))
    cases: list[SimulatedFollowUp] = []
    for index, r in enumerate(responses):
        if r.status != "complete" or r.submitted_at is None:
            continue
        rule = questionnaires[r.questionnaire_key].follow_up
        reasons = rule.triggered_by(r.answers) if rule is not None else ()
        if not reasons:
            continue
        assert rule is not None
        created = r.submitted_at
        due = add_working_hours(created, rule.due_working_hours, holidays)
        age = end_at - created
        roll = float(rng.random())
        if age < timedelta(days=5):
            status = "open" if roll < 0.5 else ("in_progress" if roll < 0.75 else "closed")
        else:
            status = "closed" if roll < 0.997 else "in_progress"
        closed_at: datetime | None = None
        notes: tuple[dict[str, str], ...] = ()
        if status != "open":
            # most cases are answered within the hour; some take days
            late = float(rng.random()) < 0.15
            worked = float(rng.uniform(1.0, 24.0)) if late else float(rng.uniform(0.1, 0.95))
            noted_at = add_working_hours(created, worked * rule.due_working_hours, holidays)
            notes = ({"at": noted_at.isoformat(), "by": "Tổ chất lượng",
                      "text": NOTES[int(rng.integers(0, len(NOTES)))]},)
            if status == "closed":
                closed_at = noted_at
        cases.append(SimulatedFollowUp(index, r.unit_code, reasons, status, created, due, closed_at, notes))
    return cases
