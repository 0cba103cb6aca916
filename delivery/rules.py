"""Who gets a survey invitation, on which channel and when: pure functions, history passed in.

``decide`` applies the rules in a fixed order and returns a ``Decision`` whose skip reason a
quality team can read (``SKIP_REASONS``). Nothing here reads a database or a clock: the caller
passes the person's history, today's send counts and ``now``.

Example::

    >>> from datetime import datetime, timezone
    >>> from delivery.phones import normalise_phone
    >>> facts = ContactFacts(
    ...     source="switchboard", external_id="c-1", channel="call", unit_code="HN", unit_path="VN.HN",
    ...     service_code=None, occurred_at=datetime(2024, 5, 6, 3, 0, tzinfo=timezone.utc), language="vi",
    ...     phone=normalise_phone("0912 345 678"), email=None)
    >>> decision = decide(facts, PersonHistory(), DeliveryPolicy(), facts.occurred_at, {})
    >>> decision.outcome, decision.channel, decision.send_at.isoformat()
    ('planned', 'sms', '2024-05-06T03:10:00+00:00')
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from delivery.phones import Phone

__all__ = [
    "CONTACT_CHANNELS",
    "DELIVERY_CHANNELS",
    "SKIP_REASONS",
    "ContactFacts",
    "Decision",
    "DeliveryPolicy",
    "PersonHistory",
    "ReminderHistory",
    "choose_channel",
    "decide",
    "next_allowed_time",
    "reminder_refusal",
    "sampled",
]

DeliveryChannel = Literal["sms", "email"]
CONTACT_CHANNELS = ("call", "counter", "online", "email", "fanpage")
DELIVERY_CHANNELS: tuple[DeliveryChannel, ...] = ("sms", "email")

SKIP_REASONS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "opted_out": {
            "vi": "Người này đã yêu cầu không nhận khảo sát.",
            "en": "The person asked not to receive surveys.",
        },
        "quarantined": {
            "vi": "Người này đã được mời khảo sát trong thời gian gần đây.",
            "en": "The person was invited to a survey recently (quarantine period).",
        },
        "not_sampled": {
            "vi": "Lượt liên hệ không nằm trong mẫu khảo sát (tỷ lệ lấy mẫu).",
            "en": "The contact was not selected by the sampling rate.",
        },
        "no_contact_details": {
            "vi": "Không có số điện thoại di động hay địa chỉ email để gửi lời mời.",
            "en": "No mobile number or email address to send the invitation to.",
        },
        "landline_only": {
            "vi": "Chỉ có số điện thoại cố định, không nhận được tin nhắn SMS.",
            "en": "Only a landline number was given, which cannot receive SMS.",
        },
        "daily_cap": {
            "vi": "Đã đạt giới hạn số tin gửi trong ngày của kênh này.",
            "en": "The daily sending limit for this channel was reached.",
        },
        "too_old": {
            "vi": "Lượt liên hệ đã quá lâu để mời khảo sát.",
            "en": "The contact happened too long ago to be surveyed.",
        },
        "duplicate_contact": {
            "vi": "Lượt liên hệ này đã có lời mời khảo sát.",
            "en": "An invitation already exists for this contact.",
        },
    }
)


@dataclass(frozen=True)
class ContactFacts:
    """What is known about one contact when it is reported: where, when, and how to reach the person."""

    source: str
    external_id: str
    channel: str  # call | counter | online | email | fanpage
    unit_code: str
    unit_path: str
    service_code: str | None
    occurred_at: datetime  # aware
    language: str
    phone: Phone | None
    email: str | None


@dataclass(frozen=True)
class PersonHistory:
    """The person's past, across channels: whether they opted out and when they were last surveyed."""

    opted_out: bool = False
    last_surveyed_at: datetime | None = None


def _default_delays() -> Mapping[str, timedelta]:
    return MappingProxyType(
        {
            "call": timedelta(minutes=10),
            "counter": timedelta(minutes=10),
            "online": timedelta(minutes=10),
            "email": timedelta(minutes=30),
            "fanpage": timedelta(minutes=30),
        }
    )


def _default_caps() -> Mapping[str, int]:
    return MappingProxyType({"sms": 50_000, "email": 50_000})


@dataclass(frozen=True)
class DeliveryPolicy:
    """The centre's delivery settings; a bad combination raises ``ValueError`` naming the field.

    ``delay_after`` is keyed by contact channel, ``daily_caps`` by delivery channel (sms, email).
    Quiet hours run from ``quiet_start`` to ``quiet_end`` local time and may cross midnight.
    """

    quarantine_days: int = 30
    delay_after: Mapping[str, timedelta] = field(default_factory=_default_delays)
    quiet_start: time = time(20, 0)
    quiet_end: time = time(8, 0)
    timezone: str = "Asia/Ho_Chi_Minh"
    daily_caps: Mapping[str, int] = field(default_factory=_default_caps)
    max_contact_age: timedelta = timedelta(days=2)
    sampling_rate: float = 1.0

    def __post_init__(self) -> None:
        if self.quarantine_days < 0:
            raise ValueError(f"quarantine_days must be 0 or more, got {self.quarantine_days}")
        for channel, delay in self.delay_after.items():
            if delay < timedelta(0):
                raise ValueError(f"delay_after[{channel!r}] must not be negative, got {delay}")
        if self.quiet_start.tzinfo is not None or self.quiet_end.tzinfo is not None:
            raise ValueError("quiet_start and quiet_end are local times: give them without a time zone")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone {self.timezone!r} is not a known IANA time zone") from None
        for channel, cap in self.daily_caps.items():
            if channel not in DELIVERY_CHANNELS:
                raise ValueError(f"daily_caps has unknown channel {channel!r}; allowed: sms, email")
            if cap < 0:
                raise ValueError(f"daily_caps[{channel!r}] must be 0 or more, got {cap}")
        if self.max_contact_age <= timedelta(0):
            raise ValueError(f"max_contact_age must be positive, got {self.max_contact_age}")
        if not 0.0 <= self.sampling_rate <= 1.0:
            raise ValueError(f"sampling_rate must be between 0 and 1, got {self.sampling_rate}")

    @property
    def zone(self) -> ZoneInfo:
        """The local time zone of quiet hours."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Decision:
    """What happens to a contact: an invitation planned (channel, send time) or skipped (reason)."""

    outcome: Literal["planned", "skipped"]
    reason: str | None
    channel: DeliveryChannel | None
    send_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form: the send time as ISO 8601 UTC."""
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "channel": self.channel,
            "send_at": self.send_at.isoformat() if self.send_at else None,
        }

    @classmethod
    def skipped(cls, reason: str) -> Decision:
        """A skip for one of ``SKIP_REASONS``."""
        if reason not in SKIP_REASONS:
            raise ValueError(f"unknown skip reason {reason!r}; known: {', '.join(SKIP_REASONS)}")
        return cls(outcome="skipped", reason=reason, channel=None, send_at=None)


def sampled(key: str, rate: float) -> bool:
    """Whether ``key`` falls in a sample of share ``rate``, the same answer on every rerun.

    The SHA-256 of the key, read as a number in [0, 1), is compared with the rate.

    >>> sampled("switchboard:c-1", 1.0), sampled("switchboard:c-1", 0.0)
    (True, False)
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"sampling rate must be between 0 and 1, got {rate}")
    draw = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64
    return draw < rate


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must carry a time zone, got the naive {moment.isoformat()}")


def next_allowed_time(moment: datetime, policy: DeliveryPolicy) -> datetime:
    """The first moment at or after ``moment`` outside quiet hours, as an aware UTC datetime.

    >>> from datetime import timezone
    >>> late = datetime(2024, 5, 6, 13, 30, tzinfo=timezone.utc)  # 20:30 in Hà Nội
    >>> next_allowed_time(late, DeliveryPolicy()).isoformat()
    '2024-05-07T01:00:00+00:00'
    """
    _require_aware(moment, "moment")
    zone = policy.zone
    local = moment.astimezone(zone)
    start, end = policy.quiet_start, policy.quiet_end
    clock = local.time().replace(tzinfo=None)
    if start == end:  # no quiet hours
        return moment.astimezone(UTC)
    if start < end:
        quiet = start <= clock < end
        wake_day = local.date()
    else:  # crossing midnight: quiet from start until midnight and from midnight until end
        quiet = clock >= start or clock < end
        wake_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not quiet:
        return moment.astimezone(UTC)
    wake = datetime.combine(wake_day, end, tzinfo=zone)
    return wake.astimezone(UTC)


def choose_channel(facts: ContactFacts) -> DeliveryChannel | None:
    """SMS to a mobile number, else email when there is an address, else nothing."""
    if facts.phone is not None and facts.phone.kind == "mobile":
        return "sms"
    if facts.email:
        return "email"
    return None


def decide(
    facts: ContactFacts,
    history: PersonHistory,
    policy: DeliveryPolicy,
    now: datetime,
    sent_today: Mapping[str, int],
    sampling_rate: float | None = None,
) -> Decision:
    """Decide whether and when to invite the person of ``facts``.

    The rules, in order: opted out; contact too old; a channel (else no contact details, or a
    landline only); quarantined (surveyed within ``quarantine_days``); not sampled (key
    ``"{source}:{external_id}"``, ``sampling_rate`` overriding the policy's, e.g. per unit and
    service); daily cap of the channel; else planned after the channel's delay, out of quiet hours.
    """
    _require_aware(now, "now")
    _require_aware(facts.occurred_at, "occurred_at")
    if history.opted_out:
        return Decision.skipped("opted_out")
    if now - facts.occurred_at > policy.max_contact_age:
        return Decision.skipped("too_old")
    channel = choose_channel(facts)
    if channel is None:
        landline = facts.phone is not None and facts.phone.kind != "mobile"
        return Decision.skipped("landline_only" if landline else "no_contact_details")
    if history.last_surveyed_at is not None:
        _require_aware(history.last_surveyed_at, "last_surveyed_at")
        if now - history.last_surveyed_at < timedelta(days=policy.quarantine_days):
            return Decision.skipped("quarantined")
    rate = policy.sampling_rate if sampling_rate is None else sampling_rate
    if not sampled(f"{facts.source}:{facts.external_id}", rate):
        return Decision.skipped("not_sampled")
    cap = policy.daily_caps.get(channel)
    if cap is not None and sent_today.get(channel, 0) >= cap:
        return Decision.skipped("daily_cap")
    delay = policy.delay_after.get(facts.channel, timedelta(0))
    send_at = next_allowed_time(max(now, facts.occurred_at + delay), policy)
    return Decision(outcome="planned", reason=None, channel=channel, send_at=send_at)


@dataclass(frozen=True)
class ReminderHistory:
    """What happened to an invitation so far, as the reminder rule needs it (aware datetimes)."""

    status: str  # the invitation's status: planned, sent, delivered, opened, responded, failed, expired, skipped
    reminder_state: str  # none, scheduled, sent, skipped, failed
    opted_out_at: datetime | None = None
    opened_at: datetime | None = None
    responded_at: datetime | None = None
    expires_at: datetime | None = None


def reminder_refusal(history: ReminderHistory, now: datetime) -> str | None:
    """Why the one reminder of an invitation is not sent, or ``None`` when it is due.

    Only an invitation sent or delivered, neither opened nor answered, whose link still works and
    whose person has not opted out, gets its scheduled reminder.

    >>> sent = ReminderHistory(status="delivered", reminder_state="scheduled")
    >>> now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    >>> reminder_refusal(sent, now) is None
    True
    >>> reminder_refusal(ReminderHistory(status="opened", reminder_state="scheduled"), now)
    'opened'
    """
    _require_aware(now, "now")
    if history.reminder_state != "scheduled":
        return f"reminder already {history.reminder_state}"
    if history.opted_out_at is not None:
        return "opted out"
    if history.responded_at is not None or history.status == "responded":
        return "answered"
    if history.opened_at is not None or history.status == "opened":
        return "opened"
    if history.status not in ("sent", "delivered"):
        return f"invitation {history.status}"
    if history.expires_at is not None and history.expires_at <= now:
        return "link expired"
    return None
