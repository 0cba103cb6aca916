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

Re-posting an event (same source and external id) returns the stored outcome with
``duplicate=True`` and writes nothing.

Example::

    [outcome] = await accept_contacts([ContactEvent(source="switchboard", external_id="c-1", channel="call",
                                                    unit="HN-BD", service="HOTLINE", phone="0912 345 678",
                                                    occurred_at=datetime.now(UTC))])
    outcome.outcome, outcome.channel  # ('planned', 'sms')
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import msgspec
from msgspec import Meta
from piccolo.query.functions.aggregate import Count

from delivery.phones import EmailError, Phone, PhoneError, normalise_email, normalise_phone
from delivery.rules import CONTACT_CHANNELS, SKIP_REASONS, ContactFacts, DeliveryPolicy, PersonHistory, decide
from survey.crypto import cipher
from survey.db import aware, engine, is_unique_violation, write_transaction
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
    "CSV_COLUMNS",
    "MAX_BATCH",
    "ContactEvent",
    "ContactOutcome",
    "CsvReading",
    "EventError",
    "InvalidEvents",
    "accept_contacts",
    "check_events",
    "decision_counts",
    "delivery_policy",
    "import_contacts",
    "read_contacts_csv",
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
_IN_CHUNK = 500  # values per IN (...) and rows per multi-row insert: well under both databases' parameter limits


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


# --- reference data and checks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reference:
    units: dict[str, tuple[int, str]]  # code -> (id, path)
    services: dict[str, int]
    counters: dict[str, tuple[int, int]]  # code -> (id, unit id)

    @classmethod
    async def load(cls, events: Sequence[ContactEvent] = ()) -> _Reference:
        """The reference data, read again only when an event names a code not seen before (it can grow)."""
        cached = _reference.get(id(engine()))
        if cached is not None and cached.knows(events):
            return cached
        units = {r["code"]: (r["id"], r["path"]) for r in await Unit.select(Unit.id, Unit.code, Unit.path)}
        services = {r["code"]: r["id"] for r in await Service.select(Service.id, Service.code)}
        counters = {r["code"]: (r["id"], r["unit"]) for r in await Counter.select(Counter.id, Counter.code,
                                                                                   Counter.unit)}
        reference = _reference[id(engine())] = cls(units, services, counters)
        return reference

    def knows(self, events: Sequence[ContactEvent]) -> bool:
        return all(
            e.unit in self.units and (e.service is None or e.service in self.services)
            and (not e.counter or e.counter in self.counters)
            for e in events
        )


# per database: codes and ids of units, services and counters never change; new ones are read on first use
_reference: dict[int, _Reference] = {}


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


async def check_events(events: Sequence[ContactEvent], *, now: datetime | None = None) -> list[EventError]:
    """Every problem of ``events`` (unknown unit, service, channel, counter; unreadable phone or email ...)."""
    now = now or datetime.now(UTC)
    ref = await _Reference.load(events)
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


@dataclass
class _Person:
    """A respondent as the batch sees it: stored or about to be, with the history the rules need."""

    id: int | None
    phone_hmac: str | None
    email_hmac: str | None
    opted_out: bool = False
    last_surveyed_at: datetime | None = None
    row: Respondent | None = None  # a new respondent, inserted before the contacts
    add_phone: tuple[str, str] | None = None  # (hmac, encrypted) to attach to a stored respondent
    add_email: tuple[str, str] | None = None


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


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _decision_json(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value or {})


def _outcome(external_id: str, contact_id: int, decision: Mapping[str, Any], duplicate: bool) -> ContactOutcome:
    return ContactOutcome(
        external_id=external_id, contact_id=contact_id, outcome=decision["outcome"], channel=decision.get("channel"),
        send_at=aware(decision.get("send_at")), reason=decision.get("reason"), duplicate=duplicate,
    )


# --- accepting a batch ------------------------------------------------------------------------------------------


async def accept_contacts(events: Sequence[ContactEvent], *, now: datetime | None = None) -> list[ContactOutcome]:
    """Decide and store ``events`` in one write transaction; one outcome per event, in order.

    Raises :class:`InvalidEvents` (nothing written) when any event fails a check. An event already
    stored (same source and external id, also earlier in the same batch) gets its stored outcome
    with ``duplicate=True``. Without ``now``, concurrent callers are group-committed: the batches
    waiting while one transaction runs are written together in the next one (one commit for many
    single-event requests), each caller still getting only its own outcomes.
    """
    if not events:
        return []
    checked = await _checked_or_raise(events, (now or datetime.now(UTC)).astimezone(UTC))
    if now is not None:
        return await _accept_with_retry(checked, now.astimezone(UTC))
    return await _group_commit(checked)


async def _accept_with_retry(checked: Sequence[_Checked], now: datetime) -> list[ContactOutcome]:
    for attempt in range(3):
        try:
            async with write_transaction():
                return await _accept_checked(checked, now)
        except Exception as error:  # a concurrent request stored the same event or person first: decide again
            if attempt == 2 or not is_unique_violation(error):
                raise
    raise AssertionError("unreachable")


@dataclass
class _Group:
    pending: list[tuple[list[_Checked], asyncio.Future[list[ContactOutcome]]]] = field(default_factory=list)
    busy: bool = False


_groups: dict[asyncio.AbstractEventLoop, _Group] = {}


async def _group_commit(checked: list[_Checked]) -> list[ContactOutcome]:
    loop = asyncio.get_running_loop()
    group = _groups.setdefault(loop, _Group())
    future: asyncio.Future[list[ContactOutcome]] = loop.create_future()
    group.pending.append((checked, future))
    if not group.busy:  # this caller writes for everyone waiting, until nobody is
        group.busy = True
        try:
            while group.pending:
                taken, size = [], 0
                while group.pending and (not taken or size + len(group.pending[0][0]) <= MAX_BATCH):
                    item = group.pending.pop(0)
                    taken.append(item)
                    size += len(item[0])
                await _write_group(taken)
        finally:
            group.busy = False
    return await future


async def _write_group(taken: list[tuple[list[_Checked], asyncio.Future[list[ContactOutcome]]]]) -> None:
    combined = [item for part, _ in taken for item in part]
    try:
        outcomes = await _accept_with_retry(combined, datetime.now(UTC))
    except Exception as error:
        for _, future in taken:
            if not future.done():
                future.set_exception(error)
        return
    start = 0
    for part, future in taken:
        if not future.done():
            future.set_result(outcomes[start : start + len(part)])
        start += len(part)


async def _checked_or_raise(events: Sequence[ContactEvent], now: datetime) -> list[_Checked]:
    ref = await _Reference.load(events)
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
    box = cipher()
    # 1. events already stored, and repeats within the batch
    keys = list(dict.fromkeys(c.source_key for c in checked))
    stored: dict[str, tuple[int, dict[str, Any]]] = {}
    for part in _chunks(keys):
        for row in await Contact.select(Contact.id, Contact.source_key, Contact.decision).where(
            Contact.source_key.is_in(list(part))
        ):
            stored[row["source_key"]] = (row["id"], _decision_json(row["decision"]))
    fresh: list[_Checked] = []
    first_of: dict[str, _Checked] = {}
    for item in checked:
        if item.source_key not in stored and item.source_key not in first_of:
            first_of[item.source_key] = item
            fresh.append(item)

    # 2. the people, by the keyed hashes of their normalised contact details
    phone_keys = {c.phone.e164: box.lookup_key(c.phone.e164) for c in fresh if c.phone}
    email_keys = {c.email: box.lookup_key(c.email) for c in fresh if c.email}
    by_phone, by_email = await _stored_people(list(phone_keys.values()), list(email_keys.values()))

    # 3. what the rules need besides the person
    policy = delivery_policy()
    rules = await _sampling_rules()
    sent_today = await _planned_today(now)
    versions: dict[str, int] = {}

    # 4. decide, in order, updating the batch's view of each person and of today's counts
    decided: list[tuple[_Checked, _Person | None, dict[str, Any]]] = []
    touched: dict[int, _Person] = {}
    for item in fresh:
        phone_key = phone_keys.get(item.phone.e164) if item.phone else None
        email_key = email_keys.get(item.email) if item.email else None
        person, others = _person_for(phone_key, email_key, item, by_phone, by_email, box)
        people = [p for p in (person, *others) if p is not None]
        history = PersonHistory(
            opted_out=any(p.opted_out for p in people),
            last_surveyed_at=max((p.last_surveyed_at for p in people if p.last_surveyed_at), default=None),
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
        if person is not None and person.id is not None:
            touched[person.id] = person
        decided.append((item, person, {**decision.to_dict(), "decided_at": now.isoformat()}))

    # 5. write: new people, contacts, invitations with their jobs, then the people's updates
    await _insert_people([p for _, p, _ in decided if p is not None and p.row is not None])
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
    await _attach_details(touched.values())

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


async def _stored_people(phone_keys: list[str], email_keys: list[str]) -> tuple[dict[str, _Person], dict[str, _Person]]:
    columns = (Respondent.id, Respondent.phone_hmac, Respondent.email_hmac, Respondent.opted_out_at,
               Respondent.last_surveyed_at)
    rows: dict[int, dict[str, Any]] = {}
    for column, keys in ((Respondent.phone_hmac, phone_keys), (Respondent.email_hmac, email_keys)):
        for part in _chunks(keys):
            rows.update({r["id"]: r for r in await Respondent.select(*columns).where(column.is_in(list(part)))})
    by_phone: dict[str, _Person] = {}
    by_email: dict[str, _Person] = {}
    for row in rows.values():
        person = _Person(row["id"], row["phone_hmac"], row["email_hmac"], row["opted_out_at"] is not None,
                         aware(row["last_surveyed_at"]))
        if person.phone_hmac:
            by_phone[person.phone_hmac] = person
        if person.email_hmac:
            by_email[person.email_hmac] = person
    return by_phone, by_email


def _person_for(phone_key: str | None, email_key: str | None, item: _Checked, by_phone: dict[str, _Person],
                by_email: dict[str, _Person], box: Any) -> tuple[_Person | None, list[_Person]]:
    """The respondent of an event (found or new) and any other record of the same person (by the other detail)."""
    if phone_key is None and email_key is None:
        return None, []
    found_phone = by_phone.get(phone_key) if phone_key else None
    found_email = by_email.get(email_key) if email_key else None
    if found_phone is None and found_email is None:
        person = _Person(None, phone_key, email_key)
        person.row = Respondent(
            phone_hmac=phone_key, email_hmac=email_key,
            phone_encrypted=box.encrypt(item.phone.e164) if item.phone else None,
            email_encrypted=box.encrypt(item.email) if item.email else None,
        )
        if phone_key:
            by_phone[phone_key] = person
        if email_key:
            by_email[email_key] = person
        return person, []
    person = found_phone or found_email
    assert person is not None
    other = found_email if found_phone is not None and found_email is not person else None
    # a detail not yet known for this person, and no one else's: remember it with them
    if phone_key and found_phone is None and person.phone_hmac is None and item.phone:
        person.phone_hmac = phone_key
        by_phone[phone_key] = person
        if person.row is not None:
            person.row.phone_hmac, person.row.phone_encrypted = phone_key, box.encrypt(item.phone.e164)
        else:
            person.add_phone = (phone_key, box.encrypt(item.phone.e164))
    if email_key and found_email is None and person.email_hmac is None and item.email:
        person.email_hmac = email_key
        by_email[email_key] = person
        if person.row is not None:
            person.row.email_hmac, person.row.email_encrypted = email_key, box.encrypt(item.email)
        else:
            person.add_email = (email_key, box.encrypt(item.email))
    return person, [other] if other is not None else []


async def _insert_people(people: Sequence[_Person]) -> None:
    unique = list({id(p): p for p in people}.values())
    rows = [p.row for p in unique if p.row is not None]
    for part in _chunks(rows):
        await Respondent.insert(*part)
    for person in unique:
        assert person.row is not None
        person.id = person.row.id
        person.row = None


async def _attach_details(people: Iterable[_Person]) -> None:
    for person in people:
        values: dict[Any, Any] = {}
        if person.add_phone:
            values[Respondent.phone_hmac], values[Respondent.phone_encrypted] = person.add_phone
        if person.add_email:
            values[Respondent.email_hmac], values[Respondent.email_encrypted] = person.add_email
        if values:
            await Respondent.update(values).where(Respondent.id == person.id)
            person.add_phone = person.add_email = None


async def _plan_invitations(decided: Sequence[tuple[_Checked, _Person | None, dict[str, Any]]],
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


# --- counts by decision -----------------------------------------------------------------------------------------


async def decision_counts(period_from: datetime, period_to: datetime,
                          unit_path_prefix: str | None = None) -> dict[str, int]:
    """Contacts of ``[period_from, period_to)`` by decision: ``planned`` and one key per skip reason.

    Invitations planned and later cancelled (the person opted out before the send) are counted
    under ``cancelled:<reason>``.
    """
    where = (Contact.occurred_at >= period_from) & (Contact.occurred_at < period_to)
    if unit_path_prefix:
        where &= Contact.unit.path.like(unit_path_prefix.replace("%", "").replace("_", "\\_") + "%")
    counts: Tally[str] = Tally()
    for row in await Contact.select(Contact.decision).where(where):
        decision = _decision_json(row["decision"])
        counts[decision.get("reason") or decision.get("outcome", "unknown")] += 1
    cancelled_where = (
        (Invitation.status == InvitationStatus.skipped)
        & (Invitation.contact.occurred_at >= period_from)
        & (Invitation.contact.occurred_at < period_to)
    )
    if unit_path_prefix:
        cancelled_where &= Invitation.unit.path.like(unit_path_prefix.replace("%", "").replace("_", "\\_") + "%")
    for row in await Invitation.select(Invitation.skip_reason).where(cancelled_where):
        counts[f"cancelled:{row['skip_reason'] or 'unknown'}"] += 1
    return dict(counts)


def reason_texts() -> Mapping[str, Mapping[str, str]]:
    """Each skip reason explained in Vietnamese and English."""
    return SKIP_REASONS


# --- CSV files --------------------------------------------------------------------------------------------------

CSV_COLUMNS = ("source", "external_id", "channel", "unit", "service", "occurred_at", "phone", "email", "language",
               "agent", "counter")
CSV_REQUIRED = ("external_id", "channel", "unit", "occurred_at")
CSV_MAX_FIELD = 1000  # characters; no field of a contact is longer, a bigger one is a broken or hostile file
CSV_MAX_ROWS = 200_000  # one transaction per file: larger exports are split by the source system
DATE_HELP = ("use ISO 8601, e.g. 2026-11-23T14:05:00+07:00; a time without an offset is read as "
             "{zone} local time")


@dataclass
class CsvReading:
    """A CSV file read and checked: its events (with their row numbers), errors and warnings."""

    events: list[ContactEvent] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # the file's line of each event
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row, message); row 0: the whole file
    warnings: list[str] = field(default_factory=list)

    @property
    def fatal(self) -> bool:
        """Errors about the whole file (encoding, header): no row can be imported."""
        return any(row == 0 for row, _ in self.errors)


def _decode(data: bytes) -> tuple[str | None, str | None]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, "the file is UTF-16 encoded; save it as UTF-8 (in Excel: 'CSV UTF-8')"
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        guess = "Windows-1258 or Windows-1252" if any(0x80 <= b <= 0xFF for b in data[error.start : error.start + 1]) \
            else "not UTF-8"
        return None, (f"the file is not UTF-8 (byte 0x{data[error.start]:02x} on line {line}; it looks like {guess}); "
                      "save it as UTF-8 (in Excel: 'CSV UTF-8')")


_PATH = re.compile(r"`\$\.?([a-z_]*)`")


def _row_event(values: dict[str, Any], row: int) -> tuple[ContactEvent | None, list[str]]:
    zone = get_settings().timezone
    raw_date = values.get("occurred_at") or ""
    try:
        values["occurred_at"] = datetime.fromisoformat(raw_date.replace("Z", "+00:00"))
    except ValueError:
        return None, [f"occurred_at: {raw_date!r} is not a date and time; " + DATE_HELP.format(zone=zone)]
    try:
        return msgspec.convert(values, ContactEvent), []
    except msgspec.ValidationError as error:
        message = str(error)
        found = _PATH.search(message)
        name = found[1] if found and found[1] else "row"
        return None, [f"{name}: {_PATH.sub('', message).rstrip(' -')}"]


def read_contacts_csv(data: bytes, *, source: str | None = None, now: datetime | None = None) -> CsvReading:
    """Read contact events from CSV bytes (UTF-8, with or without BOM), checking every row's shape.

    References (units, services, counters) are checked by :func:`check_csv_references`.
    """
    reading = CsvReading()
    text, problem = _decode(data)
    if text is None:
        reading.errors.append((0, problem or "unreadable file"))
        return reading
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        reading.errors.append((0, "the file is empty: it needs a header row"))
        return reading
    except csv.Error as error:
        reading.errors.append((0, f"line 1: {error}"))
        return reading
    names = [name.strip().lower() for name in header]
    if len(names) == 1 and ";" in names[0]:
        reading.errors.append((0, "the columns are separated by ';': use commas"))
        return reading
    required = [c for c in CSV_REQUIRED if c not in names] + ([] if source or "source" in names else ["source"])
    if required:
        reading.errors.append((0, f"missing required column(s): {', '.join(required)} "
                                  f"(columns: {', '.join(CSV_COLUMNS)}; source may be given with --source)"))
        return reading
    extra = [name for name in names if name not in CSV_COLUMNS]
    if extra:
        reading.warnings.append(f"ignored column(s) not used by the import: {', '.join(extra)}")
    duplicates = [name for name in set(names) if names.count(name) > 1 and name in CSV_COLUMNS]
    if duplicates:
        reading.errors.append((0, f"column(s) given twice: {', '.join(sorted(duplicates))}"))
        return reading
    first_row: dict[str, int] = {}
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            reading.errors.append((reader.line_num, f"{error}; nothing after it can be read"))
            break
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(reading.events) + len(reading.errors) >= CSV_MAX_ROWS:
            reading.errors.append((0, f"more than {CSV_MAX_ROWS:,} rows: split the file"))
            break
        if len(cells) != len(names):
            reading.errors.append((line, f"{len(cells)} fields where the header has {len(names)}"))
            continue
        long = [n for n, cell in zip(names, cells, strict=True) if len(cell) > CSV_MAX_FIELD]
        if long:
            reading.errors.append((line, f"{long[0]}: longer than {CSV_MAX_FIELD} characters"))
            continue
        values: dict[str, Any] = {n: cell.strip() for n, cell in zip(names, cells, strict=True)
                                  if n in CSV_COLUMNS and cell.strip()}
        if source and not values.get("source"):
            values["source"] = source
        elif source and values.get("source") != source:
            reading.errors.append((line, f"source: {values['source']!r} differs from --source {source!r}"))
            continue
        event, problems = _row_event(values, line)
        if event is None:
            reading.errors.extend((line, p) for p in problems)
            continue
        key = f"{event.source}:{event.external_id}"
        if key in first_row:
            reading.errors.append((line, f"external_id: {event.external_id!r} repeats row {first_row[key]}"))
            continue
        first_row[key] = line
        reading.events.append(event)
        reading.rows.append(line)
    return reading


async def check_csv_references(reading: CsvReading, *, now: datetime | None = None) -> None:
    """Add to ``reading.errors`` what the database knows is wrong (unknown units ...); drops those rows."""
    errors = await check_events(reading.events, now=now)
    if not errors:
        return
    bad = {e.index for e in errors}
    reading.errors.extend((reading.rows[e.index], f"{e.field}: {e.message}") for e in errors)
    reading.errors.sort()
    keep = [i for i in range(len(reading.events)) if i not in bad]
    reading.events = [reading.events[i] for i in keep]
    reading.rows = [reading.rows[i] for i in keep]


async def import_contacts(events: Sequence[ContactEvent], *, now: datetime | None = None,
                          progress: Callable[[int], None] | None = None) -> list[ContactOutcome]:
    """Accept the events of one file in batches of :data:`MAX_BATCH`, all in ONE transaction (all or nothing)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    checked = await _checked_or_raise(events, now)
    outcomes: list[ContactOutcome] = []
    async with write_transaction():
        for part in _chunks(checked, MAX_BATCH):
            outcomes.extend(await _accept_checked(part, now))
            if progress is not None:
                progress(len(part))
    return outcomes
