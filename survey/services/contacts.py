"""Contact events in: who is surveyed, on which channel and when, decided and written in one transaction.

An integrating system reports a contact (a call, a visit to a counter, an online service used)
through ``POST /api/v1/contacts`` or a CSV file. :func:`accept_contacts` checks every event
against the reference data, applies the delivery rules (``delivery.rules.decide``) with the
person's history across channels, and writes, for the whole batch in ONE write transaction:

- the ``Contact`` with the decision (``{"outcome", "reason", "channel", "send_at"}``): every skip
  keeps its reason there, so a quality team can count why people were not surveyed
  (:func:`decision_counts`); a skipped contact gets no ``Invitation`` row, because an invitation
  is a survey offer that exists (the worker, the response rates and the reminders count them);
- the ``Respondent`` (found by the HMAC of the normalised phone or email, created when new, contact
  details encrypted);
- when planned: the ``Invitation`` (status ``planned``, no token yet: the sender creates the token
  when it composes the message, so no plain token is ever stored) and its outbox ``Job``
  (``send_invitation``, due at the planned send time).

Re-posting an event (same source and external id) with the same content returns the stored outcome
with ``duplicate=True`` and writes nothing; with different content (another unit, time, phone ...) it
is refused (:class:`ConflictingEvents`, naming the fields that differ): an external id names one
contact, and a source system that reuses one has a bug that must not pass silently. The first
posting's content is what is compared: the contact's own columns, and the keyed hashes of the phone
and email as posted (kept with the decision, never the details in clear).

Example::

    [outcome] = await accept_contacts([ContactEvent(source="switchboard", external_id="c-1", channel="call",
                                                    unit="HN-BD", service="HOTLINE", phone="0912 345 678",
                                                    occurred_at=datetime.now(UTC))])
    outcome.outcome, outcome.channel  # ('planned', 'sms')
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import msgspec
from msgspec import Meta
from piccolo.query.functions.aggregate import Count

from delivery.phones import EmailError, Phone, PhoneError, normalise_email, normalise_phone
from delivery.rules import CONTACT_CHANNELS, ContactFacts, DeliveryPolicy, PersonHistory, decide
from survey.crypto import cipher
from survey.db import NUL, aware, is_unique_violation, write_transaction
from survey.services.group_commit import GroupWriter
from survey.services.people import CHUNK, People, Person
from survey.services.questionnaires import latest_version
from survey.settings import get_settings
from survey.tables import (
    Contact,
    Counter,
    Invitation,
    InvitationStatus,
    Job,
    JobStatus,
    Respondent,
    SamplingRule,
    Service,
    Unit,
)

__all__ = [
    "MAX_BATCH",
    "ContactEvent",
    "ContactOutcome",
    "ContactWriter",
    "ConflictingEvents",
    "EventError",
    "InvalidEvents",
    "ReferenceCache",
    "accept_contacts",
    "check_events",
    "conflicting_events",
    "decision_json",
    "contact_writer",
    "delivery_policy",
    "import_contacts",
]

MAX_BATCH = 1000
# the questionnaire that follows each kind of contact
QUESTIONNAIRE_FOR_CHANNEL = {
    "call": "post-call",
    "counter": "counter",
    "online": "online-service",
    "email": "online-service",
    "fanpage": "online-service",
}
SEND_JOB = "send_invitation"
FUTURE_TOLERANCE = timedelta(days=1)  # clocks of source systems drift; a contact days ahead is a data error
EARLIEST_CONTACT = datetime(2000, 1, 1)  # local time; before it, a contact time is a typo or a placeholder
LATEST_CONTACT = datetime(2100, 1, 1)  # local time; the future tolerance refuses most later ones
TEXT_FIELDS = ("source", "external_id", "channel", "unit", "service", "phone", "email", "language", "agent",
               "counter")


# --- the boundary -----------------------------------------------------------------------------------------------


class ContactEvent(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One contact as a source system reports it. ``occurred_at`` without an offset is local time."""

    source: Annotated[str, Meta(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
    external_id: Annotated[str, Meta(min_length=1, max_length=120)]
    channel: Annotated[str, Meta(min_length=1, max_length=16)]
    unit: Annotated[str, Meta(min_length=1, max_length=32)]
    occurred_at: datetime
    service: Annotated[str, Meta(min_length=1, max_length=32)] | None = None
    phone: Annotated[str, Meta(max_length=40)] | None = None
    email: Annotated[str, Meta(max_length=254)] | None = None
    language: Annotated[str, Meta(min_length=2, max_length=8)] | None = None
    agent: Annotated[str, Meta(max_length=80)] | None = None
    counter: Annotated[str, Meta(max_length=40)] | None = None


class ContactOutcome(msgspec.Struct, kw_only=True):
    """What was decided for one event: an invitation planned (channel, when) or skipped (reason)."""

    external_id: str
    contact_id: int
    outcome: Literal["planned", "skipped"]
    channel: str | None
    send_at: datetime | None
    reason: str | None
    duplicate: bool = False


@dataclass(frozen=True)
class EventError:
    """A problem with event ``index`` (0-based in its batch), naming the field."""

    index: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"event {self.index}: {self.field}: {self.message}"


class InvalidEvents(ValueError):
    """Some events of a batch cannot be accepted; nothing of the batch was written."""

    def __init__(self, errors: Sequence[EventError]) -> None:
        self.errors = list(errors)
        shown = "; ".join(str(e) for e in self.errors[:5])
        more = f" (and {len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(f"{len(self.errors)} invalid event(s): {shown}{more}")


class ConflictingEvents(InvalidEvents):
    """Some events reuse an external id that was posted before with other content; nothing was written.

    Each error's ``field`` is ``external_id`` and its message names the differing fields, e.g.
    ``external_id 'C-1' was posted before with different unit, occurred_at``.
    """

    def __init__(self, errors: Sequence[EventError]) -> None:
        super().__init__(errors)
        self.args = ("; ".join(e.message for e in self.errors[:5])
                     + (f" (and {len(self.errors) - 5} more)" if len(self.errors) > 5 else ""),)


# --- reference data and checks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reference:
    units: dict[str, tuple[int, str]]  # code -> (id, path)
    services: dict[str, int]
    counters: dict[str, tuple[int, int]]  # code -> (id, unit id)

    @classmethod
    async def read(cls) -> _Reference:
        units = {r["code"]: (r["id"], r["path"]) for r in await Unit.select(Unit.id, Unit.code, Unit.path)}
        services = {r["code"]: r["id"] for r in await Service.select(Service.id, Service.code)}
        counters = {r["code"]: (r["id"], r["unit"]) for r in await Counter.select(Counter.id, Counter.code,
                                                                                   Counter.unit)}
        return cls(units, services, counters)

    def knows(self, events: Sequence[ContactEvent]) -> bool:
        return all(
            e.unit in self.units and (e.service is None or e.service in self.services)
            and (not e.counter or e.counter in self.counters)
            for e in events
        )


class ReferenceCache:
    """The codes and ids of units, services and counters, as the contact checks need them (one per application).

    Codes and ids never change, and new ones are read on first use: the data is read again only
    when an event names a code not seen before.
    """

    def __init__(self) -> None:
        self._known: _Reference | None = None

    async def covering(self, events: Sequence[ContactEvent]) -> _Reference:
        if self._known is None or not self._known.knows(events):
            self._known = await _Reference.read()
        return self._known


async def _reference_for(events: Sequence[ContactEvent], cache: ReferenceCache | None) -> _Reference:
    return await cache.covering(events) if cache is not None else await _Reference.read()


@dataclass
class _Checked:
    """An event that passed every check, with its values resolved."""

    index: int
    event: ContactEvent
    source_key: str
    occurred_at: datetime  # aware
    phone: Phone | None
    email: str | None
    unit_id: int
    unit_path: str
    service_id: int | None
    counter_id: int | None
    language: str


def _allowed(values: Iterable[str], limit: int = 40) -> str:
    ordered = sorted(values)
    shown = ", ".join(ordered[:limit])
    return shown + (f", … ({len(ordered)} in all)" if len(ordered) > limit else "")


def _check(index: int, event: ContactEvent, ref: _Reference, now: datetime) -> tuple[_Checked | None, list[EventError]]:
    settings = get_settings()
    errors: list[EventError] = []

    def fail(field_name: str, message: str) -> None:
        errors.append(EventError(index, field_name, message))

    for name in TEXT_FIELDS:
        value = getattr(event, name)
        if isinstance(value, str) and NUL in value:
            fail(name, "contains a NUL character (U+0000), which no contact field may hold")
    if event.channel not in CONTACT_CHANNELS:
        fail("channel", f"{event.channel!r} is not a contact channel; allowed: {', '.join(CONTACT_CHANNELS)}")
    unit = ref.units.get(event.unit)
    if unit is None:
        fail("unit", f"unknown unit {event.unit!r}; known units: {_allowed(ref.units)}")
    service_id = None
    if event.service is not None:
        service_id = ref.services.get(event.service)
        if service_id is None:
            fail("service", f"unknown service {event.service!r}; known services: {_allowed(ref.services)}")
    counter_id = None
    if event.counter:
        found = ref.counters.get(event.counter)
        if found is None:
            fail("counter", f"unknown counter {event.counter!r}")
        elif unit is not None and found[1] != unit[0]:
            owner = next((code for code, (uid, _) in ref.units.items() if uid == found[1]), "?")
            fail("counter", f"counter {event.counter!r} belongs to unit {owner!r}, not {event.unit!r}")
        else:
            counter_id = found[0]
    language = event.language or settings.default_language
    if language not in settings.languages:
        fail("language", f"{language!r} is not offered; allowed: {', '.join(settings.languages)}")
    occurred_at = event.occurred_at
    if occurred_at.tzinfo is None or occurred_at.utcoffset() is None:
        occurred_at = occurred_at.replace(tzinfo=ZoneInfo(settings.timezone))
    if not EARLIEST_CONTACT <= occurred_at.replace(tzinfo=None) < LATEST_CONTACT:
        # checked before the conversion to UTC, which overflows at the ends of the calendar
        fail("occurred_at", f"{event.occurred_at.isoformat()} is not a plausible contact time: it must lie "
                            f"between {EARLIEST_CONTACT:%Y-%m-%d} and a day from now")
        occurred_at = now
    occurred_at = occurred_at.astimezone(UTC)
    if occurred_at > now + FUTURE_TOLERANCE:
        fail("occurred_at", f"{event.occurred_at.isoformat()} is more than a day in the future")
    phone = None
    if event.phone is not None and event.phone.strip():
        try:
            phone = normalise_phone(event.phone)
        except PhoneError as error:
            fail("phone", str(error))
    email = None
    if event.email is not None and event.email.strip():
        try:
            email = normalise_email(event.email)
        except EmailError as error:
            fail("email", str(error))
    if errors or unit is None:
        return None, errors
    checked = _Checked(
        index=index, event=event, source_key=f"{event.source}:{event.external_id}", occurred_at=occurred_at,
        phone=phone, email=email, unit_id=unit[0], unit_path=unit[1], service_id=service_id, counter_id=counter_id,
        language=language,
    )
    return checked, []


async def check_events(events: Sequence[ContactEvent], *, now: datetime | None = None,
                       reference: ReferenceCache | None = None) -> list[EventError]:
    """Every problem of ``events`` (unknown unit, service, channel, counter; unreadable phone or email ...)."""
    now = now or datetime.now(UTC)
    ref = await _reference_for(events, reference)
    return [error for index, event in enumerate(events) for error in _check(index, event, ref, now)[1]]


# --- the rules' inputs ------------------------------------------------------------------------------------------


def delivery_policy() -> DeliveryPolicy:
    """The centre's delivery policy: the settings' quiet hours, quarantine and delay, in its time zone."""
    settings = get_settings()
    start, end = (time.fromisoformat(value) for value in settings.quiet_hours)
    delay = timedelta(minutes=settings.contact_delay_minutes)
    defaults = DeliveryPolicy()
    # the configured delay is the one after a call; the others keep their proportion to the default
    scale = delay / defaults.delay_after["call"] if defaults.delay_after["call"] else 1
    return DeliveryPolicy(
        timezone=settings.timezone,
        quiet_start=start,
        quiet_end=end,
        quarantine_days=settings.quarantine_days,
        delay_after={channel: value * scale for channel, value in defaults.delay_after.items()},
    )


@dataclass(frozen=True)
class _Rule:
    unit_path: str | None
    service_id: int | None
    channel: str | None
    rate: float
    rule_id: int

    def matches(self, checked: _Checked) -> bool:
        return (
            (self.unit_path is None or checked.unit_path.startswith(self.unit_path))
            and (self.service_id is None or self.service_id == checked.service_id)
            and (self.channel is None or self.channel == checked.event.channel)
        )

    @property
    def specificity(self) -> tuple[int, int, int]:
        fields = (self.unit_path is not None) + (self.service_id is not None) + (self.channel is not None)
        return fields, len(self.unit_path or ""), self.rule_id


async def _sampling_rules() -> list[_Rule]:
    rows = await SamplingRule.select(
        SamplingRule.id, SamplingRule.unit.path.as_alias("unit_path"), SamplingRule.service, SamplingRule.channel,
        SamplingRule.rate,
    )
    rules = [_Rule(r["unit_path"], r["service"], r["channel"], float(r["rate"]), r["id"]) for r in rows]
    # the most specific rule first: more fields set, then a deeper unit, then the newest
    return sorted(rules, key=lambda rule: rule.specificity, reverse=True)


def _sampling_rate(rules: Sequence[_Rule], checked: _Checked) -> float | None:
    return next((rule.rate for rule in rules if rule.matches(checked)), None)


def _local_midnight(now: datetime) -> datetime:
    zone = ZoneInfo(get_settings().timezone)
    return datetime.combine(now.astimezone(zone).date(), datetime.min.time(), tzinfo=zone).astimezone(UTC)


async def _planned_today(now: datetime) -> dict[str, int]:
    """Invitations by SMS and email planned or sent since local midnight (the daily caps' counts)."""
    rows = await Invitation.select(Invitation.channel, Count(Invitation.id, alias="n")).where(
        (Invitation.created_at >= _local_midnight(now))
        & Invitation.channel.is_in(["sms", "email"])
        & (Invitation.status != InvitationStatus.skipped)
    ).group_by(Invitation.channel)
    return {row["channel"]: int(row["n"]) for row in rows}


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def decision_json(value: Any) -> dict[str, Any]:
    """A contact's stored decision as a dict (JSON text on SQLite, a value on PostgreSQL)."""
    return json.loads(value) if isinstance(value, str) else dict(value or {})


def _outcome(external_id: str, contact_id: int, decision: Mapping[str, Any], duplicate: bool) -> ContactOutcome:
    return ContactOutcome(
        external_id=external_id, contact_id=contact_id, outcome=decision["outcome"], channel=decision.get("channel"),
        send_at=aware(decision.get("send_at")), reason=decision.get("reason"), duplicate=duplicate,
    )


# --- re-posts: the same event, or another one under a used external id ----------------------------------------

# what an event's content is compared by on a re-post, in the order the differences are named
COMPARED_FIELDS = ("channel", "unit", "service", "counter", "agent", "occurred_at", "language", "phone", "email")
STORED_COLUMNS = (Contact.id, Contact.source_key, Contact.decision, Contact.channel, Contact.unit, Contact.service,
                  Contact.counter, Contact.agent, Contact.occurred_at, Contact.language)


def _posted_keys(item: _Checked) -> dict[str, str | None]:
    """The keyed hashes (HMAC) of the phone and email as posted: compared on a re-post, never the details."""
    box = cipher()
    return {"phone": box.lookup_key(item.phone.e164) if item.phone else None,
            "email": box.lookup_key(item.email) if item.email else None}


def _content(item: _Checked) -> dict[str, Any]:
    """What a re-post of ``item`` must repeat, in the stored form (ids, UTC time, hashed phone and email)."""
    return {"channel": item.event.channel, "unit": item.unit_id, "service": item.service_id,
            "counter": item.counter_id, "agent": item.event.agent or None, "occurred_at": item.occurred_at,
            "language": item.language, **_posted_keys(item)}


def _stored_content(row: Mapping[str, Any]) -> dict[str, Any]:
    """The content of a stored contact (a ``STORED_COLUMNS`` row); phone and email only when they were kept."""
    decision = decision_json(row["decision"])
    content = {"channel": row["channel"], "unit": row["unit"], "service": row["service"], "counter": row["counter"],
               "agent": row["agent"] or None, "occurred_at": aware(row["occurred_at"]), "language": row["language"]}
    posted = decision.get("posted")
    if isinstance(posted, dict):  # contacts stored before the comparison existed have none: not compared
        content.update(phone=posted.get("phone"), email=posted.get("email"))
    return content


def _differences(item: _Checked, first: Mapping[str, Any]) -> list[str]:
    """The fields in which ``item`` differs from the ``first`` posting's content (only those it has)."""
    content = _content(item)
    return [name for name in COMPARED_FIELDS if name in first and content[name] != first[name]]


def _conflict(item: _Checked, fields: Sequence[str]) -> EventError:
    return EventError(item.index, "external_id", f"external_id {item.event.external_id!r} was posted before with "
                                                 f"different {', '.join(fields)}")


async def _stored_rows(keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for part in _chunks(list(dict.fromkeys(keys))):
        for row in await Contact.select(*STORED_COLUMNS).where(Contact.source_key.is_in(list(part))):
            rows[row["source_key"]] = row
    return rows


async def conflicting_events(events: Sequence[ContactEvent], *, now: datetime | None = None,
                             reference: ReferenceCache | None = None) -> list[EventError]:
    """The events (valid ones) that reuse a stored external id with other content, naming the differing fields.

    The CSV import reports them with their rows before writing anything; :func:`accept_contacts`
    refuses them again inside its transaction (a concurrent post may store one meanwhile).
    """
    now = now or datetime.now(UTC)
    ref = await _reference_for(events, reference)
    checked = [item for index, event in enumerate(events) if (item := _check(index, event, ref, now)[0]) is not None]
    stored = await _stored_rows([c.source_key for c in checked])
    errors = []
    for item in checked:
        row = stored.get(item.source_key)
        if row is not None and (fields := _differences(item, _stored_content(row))):
            errors.append(_conflict(item, fields))
    return errors


# --- accepting a batch ------------------------------------------------------------------------------------------


async def accept_contacts(events: Sequence[ContactEvent], *, now: datetime | None = None,
                          writer: ContactWriter | None = None,
                          reference: ReferenceCache | None = None) -> list[ContactOutcome]:
    """Decide and store ``events`` in one write transaction; one outcome per event, in order.

    Raises :class:`InvalidEvents` (nothing written) when any event fails a check. An event already
    stored (same source and external id, also earlier in the same batch) with the same content gets
    its stored outcome with ``duplicate=True``; with other content, :class:`ConflictingEvents`
    (nothing written). Through the application's ``writer`` (:func:`contact_writer`), without
    ``now``, concurrent callers are group-committed: the batches waiting while one transaction runs
    are written together in the next one (one commit for many single-event requests), each caller
    still getting only its own outcomes.
    """
    if not events:
        return []
    checked = await _checked_or_raise(events, (now or datetime.now(UTC)).astimezone(UTC), reference)
    if now is not None or writer is None:
        return await _accept_with_retry(checked, (now or datetime.now(UTC)).astimezone(UTC))
    return await writer.submit(checked)


ContactWriter = GroupWriter[list[_Checked], list[ContactOutcome]]


def contact_writer(max_batch: int = MAX_BATCH) -> ContactWriter:
    """The process's writer of contact events (started and stopped by the application's lifespan).

    An item is one caller's checked events; a batch holds at most ``max_batch`` events in all.
    """

    async def write(parts: list[list[_Checked]]) -> list[list[ContactOutcome]]:
        outcomes = await _accept_with_retry([item for part in parts for item in part], datetime.now(UTC))
        replies, start = [], 0
        for part in parts:
            replies.append(outcomes[start : start + len(part)])
            start += len(part)
        return replies

    return GroupWriter(write, name="contact events", max_batch=max_batch, size=len)


async def _accept_with_retry(checked: Sequence[_Checked], now: datetime) -> list[ContactOutcome]:
    for attempt in range(3):
        try:
            async with write_transaction():
                return await _accept_checked(checked, now)
        except Exception as error:  # a concurrent request stored the same event or person first: decide again
            if attempt == 2 or not is_unique_violation(error):
                raise
    raise AssertionError("unreachable")


async def _checked_or_raise(events: Sequence[ContactEvent], now: datetime,
                            reference: ReferenceCache | None = None) -> list[_Checked]:
    ref = await _reference_for(events, reference)
    checked: list[_Checked] = []
    errors: list[EventError] = []
    for index, event in enumerate(events):
        ok, problems = _check(index, event, ref, now)
        errors.extend(problems)
        if ok is not None:
            checked.append(ok)
    if errors:
        raise InvalidEvents(errors)
    return checked


async def _accept_checked(checked: Sequence[_Checked], now: datetime) -> list[ContactOutcome]:
    """The batch inside the caller's write transaction: grouped reads, decisions, grouped writes."""
    # 1. events already stored, and repeats within the batch
    rows = await _stored_rows([c.source_key for c in checked])
    stored = {key: (row["id"], decision_json(row["decision"])) for key, row in rows.items()}
    first_content = {key: _stored_content(row) for key, row in rows.items()}
    fresh: list[_Checked] = []
    conflicts: list[EventError] = []
    for item in checked:
        if item.source_key in first_content:
            if fields := _differences(item, first_content[item.source_key]):
                conflicts.append(_conflict(item, fields))
            continue
        first_content[item.source_key] = _content(item)
        fresh.append(item)
    if conflicts:
        raise ConflictingEvents(conflicts)

    # 2. the people, by the keyed hashes of their normalised contact details
    people = await People.load(cipher(), phones=[c.phone.e164 for c in fresh if c.phone],
                               emails=[c.email for c in fresh if c.email])

    # 3. what the rules need besides the person
    policy = delivery_policy()
    rules = await _sampling_rules()
    sent_today = await _planned_today(now)
    versions: dict[str, int] = {}

    # 4. decide, in order, updating the batch's view of each person and of today's counts
    decided: list[tuple[_Checked, Person | None, dict[str, Any]]] = []
    for item in fresh:
        person, others = people.find_or_add(item.phone.e164 if item.phone else None, item.email)
        records = [p for p in (person, *others) if p is not None]
        history = PersonHistory(
            opted_out=any(p.opted_out for p in records),
            last_surveyed_at=max((p.last_surveyed_at for p in records if p.last_surveyed_at), default=None),
        )
        facts = ContactFacts(
            source=item.event.source, external_id=item.event.external_id, channel=item.event.channel,
            unit_code=item.event.unit, unit_path=item.unit_path, service_code=item.event.service,
            occurred_at=item.occurred_at, language=item.language, phone=item.phone, email=item.email,
        )
        decision = decide(facts, history, policy, now, sent_today, sampling_rate=_sampling_rate(rules, item))
        if decision.outcome == "planned" and decision.channel is not None:
            sent_today[decision.channel] = sent_today.get(decision.channel, 0) + 1
            assert person is not None
            person.last_surveyed_at = now
            key = QUESTIONNAIRE_FOR_CHANNEL[item.event.channel]
            if key not in versions:
                versions[key] = (await latest_version(key)).row_id
        decided.append((item, person, {**decision.to_dict(), "decided_at": now.isoformat(),
                                       "posted": _posted_keys(item)}))

    # 5. write: the people (new ones, details learnt), contacts, invitations with their jobs, last surveyed
    await people.write([p for _, p, _ in decided if p is not None])
    contact_rows = [
        Contact(
            source=item.event.source, external_id=item.event.external_id, source_key=item.source_key,
            channel=item.event.channel, unit=item.unit_id, service=item.service_id, counter=item.counter_id,
            agent=item.event.agent, occurred_at=item.occurred_at, language=item.language,
            respondent=person.id if person is not None else None, decision=decision, created_at=now,
        )
        for item, person, decision in decided
    ]
    for part in _chunks(contact_rows):
        await Contact.insert(*part)
    await _plan_invitations(decided, contact_rows, versions, now)
    planned_people = sorted({p.id for _, p, d in decided if p is not None and p.id is not None
                             and d["outcome"] == "planned"})
    for part in _chunks(planned_people):
        await Respondent.update({Respondent.last_surveyed_at: now}).where(Respondent.id.is_in(list(part)))

    # 6. the replies, in the order of the events
    for (item, _, decision), row in zip(decided, contact_rows, strict=True):
        stored[item.source_key] = (row.id, decision)
    new_ids = {row.id for row in contact_rows}
    outcomes: list[ContactOutcome] = []
    seen: set[str] = set()
    for item in checked:
        contact_id, decision = stored[item.source_key]
        duplicate = contact_id not in new_ids or item.source_key in seen
        seen.add(item.source_key)
        outcomes.append(_outcome(item.event.external_id, contact_id, decision, duplicate))
    return outcomes


async def _plan_invitations(decided: Sequence[tuple[_Checked, Person | None, dict[str, Any]]],
                            contacts: Sequence[Contact], versions: Mapping[str, int], now: datetime) -> None:
    ttl = timedelta(days=get_settings().token_ttl_days)
    invitations: list[Invitation] = []
    due: list[datetime] = []
    for (item, _, decision), contact in zip(decided, contacts, strict=True):
        if decision["outcome"] != "planned":
            continue
        send_at = aware(decision["send_at"])
        assert send_at is not None
        history = [{"status": "planned", "at": now.isoformat(),
                    "detail": f"{decision['channel']} at {send_at.isoformat()}"}]
        invitations.append(Invitation(
            contact=contact.id, questionnaire=versions[QUESTIONNAIRE_FOR_CHANNEL[item.event.channel]],
            channel=decision["channel"], token_hash=None, unit=item.unit_id, service=item.service_id,
            counter=item.counter_id, language=item.language, status=InvitationStatus.planned,
            status_history=history, created_at=now, expires_at=send_at + ttl,
        ))
        due.append(send_at)
    for part in _chunks(invitations):
        await Invitation.insert(*part)
    jobs = [
        Job(kind=SEND_JOB, payload={"invitation_id": invitation.id}, status=JobStatus.queued, due_at=send_at,
            created_at=now, updated_at=now)
        for invitation, send_at in zip(invitations, due, strict=True)
    ]
    for part in _chunks(jobs):
        await Job.insert(*part)


# --- files -----------------------------------------------------------------------------------------------------


async def import_contacts(events: Sequence[ContactEvent], *, now: datetime | None = None,
                          progress: Callable[[int], None] | None = None) -> list[ContactOutcome]:
    """Accept the events of one file (:mod:`survey.services.contact_csv`) in batches of :data:`MAX_BATCH`,
    all in ONE transaction (all or nothing)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    checked = await _checked_or_raise(events, now)
    outcomes: list[ContactOutcome] = []
    async with write_transaction():
        for part in _chunks(checked, MAX_BATCH):
            outcomes.extend(await _accept_checked(part, now))
            if progress is not None:
                progress(len(part))
    return outcomes
