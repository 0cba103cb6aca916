"""The delivery rules as a table of cases: who is invited, on which channel, when, or why not."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from delivery.phones import Phone, normalise_phone
from delivery.rules import (
    SKIP_REASONS,
    ContactFacts,
    Decision,
    DeliveryPolicy,
    PersonHistory,
    ReminderHistory,
    choose_channel,
    decide,
    next_allowed_time,
    reminder_refusal,
    sampled,
)

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
MOBILE = normalise_phone("0912 345 678")
LANDLINE = normalise_phone("(024) 3936 1234")
# 02:00 UTC = 09:00 in Hà Nội: office hours.
MORNING = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)


def contact(**changes: object) -> ContactFacts:
    facts = ContactFacts(
        source="switchboard",
        external_id="call-0001",
        channel="call",
        unit_code="HN",
        unit_path="VN.HN",
        service_code="BHYT_CARD",
        occurred_at=MORNING,
        language="vi",
        phone=MOBILE,
        email="an.nguyen@example.vn",
    )
    return replace(facts, **changes)  # type: ignore[arg-type]


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 5, day, hour, minute, tzinfo=HANOI)


def planned(channel: str, send_at: datetime) -> Decision:
    return Decision(outcome="planned", reason=None, channel=channel, send_at=send_at.astimezone(UTC))  # type: ignore[arg-type]


def skipped(reason: str) -> Decision:
    return Decision(outcome="skipped", reason=reason, channel=None, send_at=None)


POLICY = DeliveryPolicy()
NOW = MORNING

CASES = [
    # (id, facts, history, now, sent_today, expected)
    ("mobile after a call: SMS 10 minutes later", contact(), PersonHistory(), NOW, {}, planned("sms", local(6, 9, 10))),
    ("opted out: never", contact(), PersonHistory(opted_out=True), NOW, {}, skipped("opted_out")),
    (
        "opted out wins over every other reason",
        contact(phone=None, email=None, occurred_at=NOW - timedelta(days=9)),
        PersonHistory(opted_out=True, last_surveyed_at=NOW),
        NOW,
        {"sms": 10**9},
        skipped("opted_out"),
    ),
    (
        "surveyed 29 days ago: quarantined",
        contact(),
        PersonHistory(last_surveyed_at=NOW - timedelta(days=29)),
        NOW,
        {},
        skipped("quarantined"),
    ),
    (
        "surveyed 31 days ago: invited",
        contact(),
        PersonHistory(last_surveyed_at=NOW - timedelta(days=31)),
        NOW,
        {},
        planned("sms", local(6, 9, 10)),
    ),
    (
        "quarantine is across channels: surveyed by SMS, now an email-only contact",
        contact(phone=None, channel="email"),
        PersonHistory(last_surveyed_at=NOW - timedelta(days=3)),
        NOW,
        {},
        skipped("quarantined"),
    ),
    (
        "no phone: email 30 minutes after an email contact",
        contact(phone=None, channel="email"),
        PersonHistory(),
        NOW,
        {},
        planned("email", local(6, 9, 30)),
    ),
    ("landline and email: email", contact(phone=LANDLINE), PersonHistory(), NOW, {}, planned("email", local(6, 9, 10))),
    ("landline only", contact(phone=LANDLINE, email=None), PersonHistory(), NOW, {}, skipped("landline_only")),
    ("nothing to reach", contact(phone=None, email=None), PersonHistory(), NOW, {}, skipped("no_contact_details")),
    (
        "an 'other' number (premium, unknown type) and no email: treated like a landline",
        contact(phone=Phone("+8419009068", "other"), email=None),
        PersonHistory(),
        NOW,
        {},
        skipped("landline_only"),
    ),
    (
        "contact three days old",
        contact(occurred_at=NOW - timedelta(days=3)),
        PersonHistory(),
        NOW,
        {},
        skipped("too_old"),
    ),
    (
        "contact a day old: sent now, the delay long passed",
        contact(occurred_at=NOW - timedelta(days=1)),
        PersonHistory(),
        NOW,
        {},
        planned("sms", NOW),
    ),
    ("SMS cap reached", contact(), PersonHistory(), NOW, {"sms": 50_000}, skipped("daily_cap")),
    ("SMS cap not yet reached", contact(), PersonHistory(), NOW, {"sms": 49_999}, planned("sms", local(6, 9, 10))),
    (
        "the email cap does not stop SMS",
        contact(),
        PersonHistory(),
        NOW,
        {"email": 10**6},
        planned("sms", local(6, 9, 10)),
    ),
    (
        "19:55 local with a 10-minute delay: next morning 08:00 local",
        contact(occurred_at=local(6, 19, 55)),
        PersonHistory(),
        local(6, 19, 55),
        {},
        planned("sms", local(7, 8, 0)),
    ),
    (
        "19:45 local with a 10-minute delay: 19:55 the same evening",
        contact(occurred_at=local(6, 19, 45)),
        PersonHistory(),
        local(6, 19, 45),
        {},
        planned("sms", local(6, 19, 55)),
    ),
    (
        "a call at 02:30 local: waits for 08:00 the same day",
        contact(occurred_at=local(7, 2, 30)),
        PersonHistory(),
        local(7, 2, 30),
        {},
        planned("sms", local(7, 8, 0)),
    ),
    (
        "decided later than the delay: sent at once, not in the past",
        contact(occurred_at=local(6, 10, 0)),
        PersonHistory(),
        local(6, 11, 0),
        {},
        planned("sms", local(6, 11, 0)),
    ),
]


@pytest.mark.parametrize(
    ("facts", "history", "now", "sent_today", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_decision_table(
    facts: ContactFacts, history: PersonHistory, now: datetime, sent_today: dict[str, int], expected: Decision
) -> None:
    decision = decide(facts, history, POLICY, now, sent_today)
    assert decision == expected
    if decision.send_at is not None:
        assert decision.send_at.utcoffset() == timedelta(0)
        assert decision.send_at >= now


def test_a_utc_morning_is_a_local_morning() -> None:
    # 02:00 UTC is 09:00 in Hà Nội: no quiet hours, the invitation goes after the delay.
    decision = decide(contact(), PersonHistory(), POLICY, MORNING, {})
    assert decision.send_at == MORNING + timedelta(minutes=10)


def test_quiet_hours_follow_the_policy_time_zone() -> None:
    # 13:00 UTC is 20:00 in Hà Nội (quiet) but 14:00 in Paris (fine).
    moment = datetime(2024, 5, 6, 13, 0, tzinfo=UTC)
    assert next_allowed_time(moment, POLICY) == datetime(2024, 5, 7, 1, 0, tzinfo=UTC)
    paris = DeliveryPolicy(timezone="Europe/Paris")
    assert next_allowed_time(moment, paris) == moment


def test_quiet_hours_across_a_daylight_saving_change() -> None:
    # Paris springs forward on 2024-03-31; 08:00 local that morning is 06:00 UTC, the day before 07:00 UTC.
    paris = DeliveryPolicy(timezone="Europe/Paris")
    assert next_allowed_time(datetime(2024, 3, 30, 22, 0, tzinfo=UTC), paris) == datetime(2024, 3, 31, 6, 0, tzinfo=UTC)
    assert next_allowed_time(datetime(2024, 3, 29, 22, 0, tzinfo=UTC), paris) == datetime(2024, 3, 30, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("local_moment", "expected"),
    [
        (local(6, 7, 59), local(6, 8, 0)),
        (local(6, 8, 0), local(6, 8, 0)),
        (local(6, 19, 59), local(6, 19, 59)),
        (local(6, 20, 0), local(7, 8, 0)),
        (local(6, 23, 59), local(7, 8, 0)),
        (local(7, 0, 0), local(7, 8, 0)),
        (datetime(2024, 12, 31, 21, 0, tzinfo=HANOI), datetime(2025, 1, 1, 8, 0, tzinfo=HANOI)),
    ],
)
def test_quiet_hours_cross_midnight(local_moment: datetime, expected: datetime) -> None:
    result = next_allowed_time(local_moment, POLICY)
    assert result == expected
    assert result.tzinfo == UTC


def test_quiet_hours_within_one_day_and_none() -> None:
    lunch = DeliveryPolicy(quiet_start=time(12, 0), quiet_end=time(13, 30))
    assert next_allowed_time(local(6, 12, 15), lunch) == local(6, 13, 30)
    assert next_allowed_time(local(6, 13, 30), lunch) == local(6, 13, 30)
    assert next_allowed_time(local(6, 23, 0), lunch) == local(6, 23, 0)
    never_quiet = DeliveryPolicy(quiet_start=time(0, 0), quiet_end=time(0, 0))
    assert next_allowed_time(local(6, 3, 0), never_quiet) == local(6, 3, 0)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        next_allowed_time(datetime(2024, 5, 6, 9, 0), POLICY)
    with pytest.raises(ValueError, match="now must carry a time zone"):
        decide(contact(), PersonHistory(), POLICY, datetime(2024, 5, 6, 9, 0), {})


def test_sampling_decides_the_same_on_a_rerun() -> None:
    policy = DeliveryPolicy(sampling_rate=0.3)
    facts = [contact(external_id=f"call-{n}") for n in range(200)]
    first = [decide(f, PersonHistory(), policy, NOW, {}) for f in facts]
    again = [decide(f, PersonHistory(), policy, NOW, {}) for f in facts]
    assert first == again
    assert {d.reason for d in first} == {None, "not_sampled"}


def test_sampling_takes_about_the_rate_share() -> None:
    keys = [f"switchboard:call-{n}" for n in range(10_000)]
    for rate in (0.1, 0.25, 0.5, 0.9):
        share = sum(sampled(key, rate) for key in keys) / len(keys)
        assert abs(share - rate) < 0.02, (rate, share)
    assert all(sampled(key, 1.0) for key in keys[:100])
    assert not any(sampled(key, 0.0) for key in keys[:100])


def test_samples_are_nested_so_raising_the_rate_only_adds_people() -> None:
    keys = [f"portal:{n}" for n in range(2_000)]
    low = {key for key in keys if sampled(key, 0.2)}
    high = {key for key in keys if sampled(key, 0.5)}
    assert low <= high


def test_a_sampling_rate_passed_in_overrides_the_policy() -> None:
    # e.g. a per-unit and per-service rate looked up by the application
    assert decide(contact(), PersonHistory(), POLICY, NOW, {}, sampling_rate=0.0) == skipped("not_sampled")
    everyone = DeliveryPolicy(sampling_rate=0.0)
    assert decide(contact(), PersonHistory(), everyone, NOW, {}, sampling_rate=1.0).outcome == "planned"


def test_sampling_key_is_source_and_external_id() -> None:
    policy = DeliveryPolicy(sampling_rate=0.5)
    facts = contact(external_id="call-42")
    expected = sampled("switchboard:call-42", 0.5)
    assert (decide(facts, PersonHistory(), policy, NOW, {}).outcome == "planned") is expected


def test_custom_delays_and_quarantine() -> None:
    policy = DeliveryPolicy(quarantine_days=7, delay_after={"counter": timedelta(minutes=0)})
    assert decide(contact(channel="counter"), PersonHistory(), policy, NOW, {}).send_at == NOW
    surveyed = PersonHistory(last_surveyed_at=NOW - timedelta(days=8))
    assert decide(contact(), surveyed, policy, NOW, {}).outcome == "planned"


def test_choose_channel() -> None:
    assert choose_channel(contact()) == "sms"
    assert choose_channel(contact(phone=LANDLINE)) == "email"
    assert choose_channel(contact(phone=LANDLINE, email=None)) is None
    assert choose_channel(contact(phone=None, email=None)) is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"quarantine_days": -1}, "quarantine_days"),
        ({"sampling_rate": 1.5}, "sampling_rate must be between 0 and 1"),
        ({"sampling_rate": -0.1}, "sampling_rate"),
        ({"delay_after": {"call": timedelta(minutes=-5)}}, "delay_after\\['call'\\]"),
        ({"timezone": "Asia/Hanoi_City"}, "Asia/Hanoi_City"),
        ({"daily_caps": {"sms": -1}}, "daily_caps\\['sms'\\]"),
        ({"daily_caps": {"fax": 10}}, "unknown channel 'fax'"),
        ({"max_contact_age": timedelta(0)}, "max_contact_age"),
        ({"quiet_start": time(20, 0, tzinfo=UTC)}, "local times"),
    ],
)
def test_a_bad_policy_is_refused_with_a_message_naming_the_setting(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeliveryPolicy(**changes)  # type: ignore[arg-type]


def test_policy_defaults() -> None:
    policy = DeliveryPolicy()
    assert policy.quarantine_days == 30
    assert policy.delay_after["call"] == timedelta(minutes=10)
    assert policy.delay_after["email"] == timedelta(minutes=30)
    assert (policy.quiet_start, policy.quiet_end) == (time(20, 0), time(8, 0))
    assert policy.daily_caps["sms"] >= 10_000


def test_every_skip_reason_is_explained_in_vietnamese_and_english() -> None:
    expected = {
        "opted_out",
        "quarantined",
        "not_sampled",
        "no_contact_details",
        "landline_only",
        "daily_cap",
        "too_old",
        "duplicate_contact",
    }
    assert set(SKIP_REASONS) == expected
    for reason, texts in SKIP_REASONS.items():
        assert texts["vi"] and texts["en"], reason
        assert texts["vi"] != texts["en"]


def test_decisions_serialise_to_json() -> None:
    decision = decide(contact(), PersonHistory(), POLICY, NOW, {})
    assert json.loads(json.dumps(decision.to_dict())) == {
        "outcome": "planned",
        "reason": None,
        "channel": "sms",
        "send_at": "2024-05-06T02:10:00+00:00",
    }
    assert skipped("landline_only").to_dict() == {
        "outcome": "skipped",
        "reason": "landline_only",
        "channel": None,
        "send_at": None,
    }
    assert Decision.skipped("duplicate_contact").reason == "duplicate_contact"
    with pytest.raises(ValueError, match="unknown skip reason"):
        Decision.skipped("bored")


# --- the reminder ------------------------------------------------------------------------------------------------

SENT = ReminderHistory(status="delivered", reminder_state="scheduled", expires_at=MORNING + timedelta(days=7))


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({}, None),
        ({"status": "sent"}, None),
        ({"reminder_state": "sent"}, "reminder already sent"),
        ({"reminder_state": "skipped"}, "reminder already skipped"),
        ({"opted_out_at": MORNING - timedelta(hours=1)}, "opted out"),
        ({"responded_at": MORNING - timedelta(hours=1)}, "answered"),
        ({"status": "responded"}, "answered"),
        ({"opened_at": MORNING - timedelta(hours=1)}, "opened"),
        ({"status": "opened"}, "opened"),
        ({"status": "failed"}, "invitation failed"),
        ({"status": "planned"}, "invitation planned"),
        ({"expires_at": MORNING}, "link expired"),
        ({"expires_at": None}, None),
        # the first reason that holds is given: an answered invitation is not reported as opened
        ({"opened_at": MORNING, "responded_at": MORNING, "opted_out_at": MORNING}, "opted out"),
    ],
)
def test_reminder_table(changes: dict[str, object], refusal: str | None) -> None:
    assert reminder_refusal(replace(SENT, **changes), MORNING) == refusal  # type: ignore[arg-type]


def test_the_reminder_rule_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="now"):
        reminder_refusal(SENT, MORNING.replace(tzinfo=None))
