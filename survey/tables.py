"""The domain in tables (see shared/DESIGN.md). Columns only: the rules live in ``survey.services``."""

from __future__ import annotations

from enum import StrEnum

from piccolo.columns import (
    JSON,
    Boolean,
    Bytea,
    Date,
    DoublePrecision,
    Float,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

__all__ = [
    "Alert",
    "AlertStatus",
    "ApiKey",
    "Answer",
    "AuditEvent",
    "CalendarDay",
    "CalendarDayKind",
    "Contact",
    "ContactCell",
    "Counter",
    "CounterService",
    "FollowUp",
    "Invitation",
    "InvitationCell",
    "Job",
    "Kiosk",
    "QuestionnaireVersion",
    "RateCounter",
    "ReportFrequency",
    "ReportRun",
    "ReportRunStatus",
    "ReportSchedule",
    "Respondent",
    "RightsKind",
    "RightsRequest",
    "Response",
    "SamplingRule",
    "SandboxMessage",
    "ScoreCell",
    "ScoreCoding",
    "Service",
    "StaffUser",
    "Unit",
]


class UnitLevel(StrEnum):
    centre = "centre"
    province = "province"
    district = "district"


class ContactChannel(StrEnum):
    call = "call"
    counter = "counter"
    online = "online"
    email = "email"
    fanpage = "fanpage"


class InvitationChannel(StrEnum):
    sms = "sms"
    email = "email"
    ticket = "ticket"
    kiosk = "kiosk"
    link = "link"


class InvitationStatus(StrEnum):
    planned = "planned"
    sent = "sent"
    delivered = "delivered"
    failed = "failed"
    opened = "opened"
    responded = "responded"
    expired = "expired"
    skipped = "skipped"


class TrustLevel(StrEnum):
    """How sure we are that a response is one real person's: one-time link > ticket > kiosk > poster."""

    one_time_link = "one_time_link"
    ticket = "ticket"
    kiosk = "kiosk"
    poster = "poster"


class ResponseStatus(StrEnum):
    incomplete = "incomplete"
    complete = "complete"


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    dead = "dead"


class FollowUpStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    closed = "closed"


class StaffRole(StrEnum):
    admin = "admin"
    quality = "quality"
    leader = "leader"
    unit_manager = "unit_manager"


# Kept counts of the responses, maintained by every write path (survey.services.aggregates).
class ScoreCell(Table):
    """Complete responses counted per questionnaire version × local month × unit × service × channel × invited
    (survey.services.aggregates): ``n`` responses, ``counts`` their code counts packed."""

    questionnaire = Integer()
    month = Integer()
    unit = Integer()
    service = Integer(help_text="0: no service")
    channel = Integer(help_text="The index of the response's channel in questionnaires.model.CHANNELS")
    invited = Integer(help_text="1: answered from an invitation")
    n = Integer()
    counts = Bytea(help_text="(position, count) pairs, little-endian uint32 and int32, positions ascending")


class ScoreCoding(Table):
    """How a questionnaire's kept counts were coded: the coding's fingerprint and the timezone of the months."""

    questionnaire = Varchar(length=64, unique=True, help_text="The questionnaire's key")
    fingerprint = Varchar(length=32)
    timezone = Varchar(length=64)


# Kept counts, maintained by triggers (survey.services.scores.volumes); declared before the tables they count, so a
# test's reset (which empties the tables in reverse order) empties them after the rows whose triggers touch them.
class InvitationCell(Table):
    """Delivered invitations per questionnaire version × local month × unit × service × contact channel."""

    questionnaire = Integer()
    month = Integer()
    unit = Integer()
    service = Integer(help_text="0: no service")
    channel = Varchar(length=16, help_text="The contact's channel; empty for none")
    delivered = Integer()


class ContactCell(Table):
    """Contacts per local month × unit × service × channel."""

    month = Integer()
    unit = Integer()
    service = Integer(help_text="0: no service")
    channel = Varchar(length=16)
    contacts = Integer()


class Unit(Table):
    """The organisation tree: the centre, its provinces, their district offices."""

    code = Varchar(length=32, unique=True, help_text="Short code, e.g. HN or HN-BD")
    name_vi = Varchar(length=200)
    name_en = Varchar(length=200)
    level = Varchar(length=16, choices=UnitLevel)
    parent = ForeignKey("self", null=True, help_text="Empty for the centre")
    path = Varchar(length=400, index=True, help_text="Materialised path '/VN/HN/HN-BD/': a subtree is a prefix")
    active = Boolean(default=True)
    email = Varchar(length=200, null=True, default=None,
                    help_text="The unit's mailbox: its follow-up cases, the cases escalated to it, its alerts")


class Service(Table):
    """The service catalogue: hotline advice, social insurance book, health insurance card, ..."""

    code = Varchar(length=32, unique=True)
    name_vi = Varchar(length=200)
    name_en = Varchar(length=200)
    active = Boolean(default=True)


class QuestionnaireVersion(Table):
    """One published, immutable version of a questionnaire; responses keep the version they answered."""

    key = Varchar(length=64, index=True, help_text="Questionnaire id, e.g. counter")
    version = Integer()
    key_version = Varchar(length=80, unique=True, help_text="'counter@1': one row per published version")
    checksum = Varchar(length=64, help_text="sha256 of the canonical definition: a change needs a new version")
    definition = JSON(help_text="The canonical definition (questionnaires.Questionnaire.to_dict())")
    published_at = Timestamptz(default=TimestamptzNow())


class Counter(Table):
    """A physical service point of a unit; owns a QR code (/q/{code})."""

    code = Varchar(length=40, unique=True)
    unit = ForeignKey(Unit, index=True)
    name_vi = Varchar(length=200)
    name_en = Varchar(length=200)
    questionnaire_key = Varchar(length=64, default="counter")
    active = Boolean(default=True)


class CounterService(Table):
    """Which services a counter handles (the visitor picks one when there are several)."""

    counter = ForeignKey(Counter, index=True)
    service = ForeignKey(Service, index=True)


class Respondent(Table):
    """A person reachable by phone or email. Contact details are encrypted; HMACs are the lookup keys."""

    phone_hmac = Varchar(length=64, null=True, unique=True, default=None)
    email_hmac = Varchar(length=64, null=True, unique=True, default=None)
    phone_encrypted = Text(null=True, default=None)
    email_encrypted = Text(null=True, default=None)
    opted_out_at = Timestamptz(null=True, default=None)
    opt_out_source = Varchar(length=32, null=True, default=None, help_text="link, survey, staff, api, twilio")
    last_surveyed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Contact(Table):
    """One interaction that may be surveyed; (source, external_id) is unique so re-posting is idempotent."""

    source = Varchar(length=40)
    external_id = Varchar(length=120)
    source_key = Varchar(length=170, unique=True, help_text="'source:external_id'")
    channel = Varchar(length=16, choices=ContactChannel)
    unit = ForeignKey(Unit, index=True)
    service = ForeignKey(Service, null=True, index=True)
    counter = ForeignKey(Counter, null=True)
    agent = Varchar(length=80, null=True, default=None)
    occurred_at = Timestamptz(index=True)
    language = Varchar(length=8, default="vi")
    respondent = ForeignKey(Respondent, null=True, index=True)
    decision = JSON(default="{}", help_text="What the delivery rules decided, returned again on a re-post")
    created_at = Timestamptz(default=TimestamptzNow())


class Invitation(Table):
    """One survey offer (link) for one contact, ticket or kiosk; the token is stored only as a hash."""

    contact = ForeignKey(Contact, null=True, unique=True, help_text="One invitation per contact")
    questionnaire = ForeignKey(QuestionnaireVersion)
    channel = Varchar(length=16, choices=InvitationChannel)
    trust = Varchar(length=16, choices=TrustLevel, default=TrustLevel.one_time_link)
    token_hash = Varchar(length=64, null=True, unique=True, default=None)
    unit = ForeignKey(Unit, index=True)
    service = ForeignKey(Service, null=True)
    counter = ForeignKey(Counter, null=True)
    language = Varchar(length=8, default="vi")
    status = Varchar(length=16, choices=InvitationStatus, default=InvitationStatus.planned, index=True)
    status_history = JSON(default="[]", help_text="[{status, at, detail}] in order")
    skip_reason = Varchar(length=40, null=True, default=None)
    provider_message_id = Varchar(length=80, null=True, default=None, index=True)
    reminder_state = Varchar(length=16, default="none")
    created_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)
    opened_at = Timestamptz(null=True, default=None)
    responded_at = Timestamptz(null=True, default=None)
    expires_at = Timestamptz(null=True, default=None)


class Job(Table):
    """The outbox: work written in the same transaction as what caused it, claimed by workers under a lease."""

    kind = Varchar(length=40)
    payload = JSON(default="{}")
    status = Varchar(length=16, choices=JobStatus, default=JobStatus.queued, index=True)
    due_at = Timestamptz(index=True)
    attempts = Integer(default=0)
    max_attempts = Integer(default=6)
    lease_owner = Varchar(length=80, null=True, default=None)
    lease_expires_at = Timestamptz(null=True, default=None)
    last_error = Text(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Response(Table):
    """One submission of one questionnaire version. ``invitation`` is unique: a link is answered once."""

    invitation = ForeignKey(Invitation, null=True, unique=True)
    questionnaire = ForeignKey(QuestionnaireVersion, index=True)
    unit = ForeignKey(Unit, index=True)
    service = ForeignKey(Service, null=True, index=True)
    counter = ForeignKey(Counter, null=True)
    channel = Varchar(length=16, choices=ContactChannel)
    language = Varchar(length=8, default="vi")
    trust = Varchar(length=16, choices=TrustLevel)
    status = Varchar(length=16, choices=ResponseStatus, default=ResponseStatus.incomplete, index=True)
    page = Integer(default=1, help_text="The page the person reached; where they resume")
    external_id = Varchar(length=80, null=True, unique=True, default=None, help_text="response_id of an import")
    started_at = Timestamptz(default=TimestamptzNow())
    submitted_at = Timestamptz(null=True, default=None, index=True)
    commented = Integer(default=0, help_text="1: left a comment; kept with the score counts (count_responses)")
    answered = Integer(default=0, help_text="Bit i: answered the latest version's i-th criterion; kept with the "
                       "score counts (mark_answered)")


class Answer(Table):
    """One answer: numeric (rating, NPS, CES) or text (choices joined by ';', comments)."""

    response = ForeignKey(Response, index=True)
    question_id = Varchar(length=64)
    value_number = Float(null=True, default=None)
    value_text = Text(null=True, default=None)


class StaffUser(Table):
    """A member of staff; sees only the units under ``unit``."""

    username = Varchar(length=64, unique=True)
    display_name = Varchar(length=120)
    password_hash = Varchar(length=200)
    role = Varchar(length=16, choices=StaffRole)
    unit = ForeignKey(Unit, help_text="Root of the subtree of units this user may see")
    active = Boolean(default=True)
    session_version = Integer(default=1, help_text="Bumped to sign out every session of the user")
    created_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)


class FollowUp(Table):
    """A case opened by a low score or a complaint; due within working hours (SLA: 1 working hour)."""

    response = ForeignKey(Response, unique=True)
    unit = ForeignKey(Unit, index=True, help_text="The unit that must follow up")
    reasons = JSON(default="[]")
    status = Varchar(length=16, choices=FollowUpStatus, default=FollowUpStatus.open, index=True)
    due_at = Timestamptz()
    assignee = ForeignKey(StaffUser, null=True)
    notes = JSON(default="[]", help_text="The journal: [{at, by, action, from, to, unit, text}], oldest first")
    created_at = Timestamptz(default=TimestamptzNow())
    closed_at = Timestamptz(null=True, default=None)
    outcome = Text(null=True, default=None, help_text="What was done (asked to close)")
    root_cause = Varchar(length=64, null=True, default=None, help_text="A criterion id of the questionnaire, or other")
    resolved = Boolean(null=True, default=None, help_text="Was the issue resolved? (asked to close)")
    escalated_at = Timestamptz(null=True, default=None, help_text="When it was still open at its due time")
    escalated_to = ForeignKey(Unit, null=True, default=None, help_text="The parent unit told then")
    notified_at = Timestamptz(null=True, default=None, help_text="When the assigned unit's mailbox was first told")
    version = Integer(default=0, help_text="Raised by every change: a change made on a stale page is refused")


class AlertStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    closed = "closed"


class Alert(Table):
    """A unit whose dissatisfied share over the rolling window rose above its funnel limit; open until the unit
    is back within its limits (staff acknowledge it with a comment meanwhile)."""

    unit = ForeignKey(Unit, index=True)
    status = Varchar(length=16, choices=AlertStatus, default=AlertStatus.open, index=True)
    opened_at = Timestamptz()
    window_start = Timestamptz(help_text="The rolling window it was raised on")
    n = Integer(help_text="Rated responses in the window")
    dissatisfied = Integer(help_text="Of them, overall ratings of 2 or less")
    share = Float()
    upper_limit = Float(help_text="The 99.8% upper funnel limit for n around the centre's share")
    centre_share = Float(help_text="The dissatisfied share of every unit in the window")
    checked_at = Timestamptz(help_text="The last evaluation that saw it")
    last_share = Float(help_text="The share at the last evaluation")
    acknowledged_at = Timestamptz(null=True, default=None)
    acknowledged_by = ForeignKey(StaffUser, null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    notes = JSON(default="[]", help_text="The journal: [{at, by, action, text}]")


class CalendarDayKind(StrEnum):
    holiday = "holiday"
    workday = "workday"


class CalendarDay(Table):
    """A day the administrators entered on the working calendar: a day off, or a working day (a make-up
    Saturday); it wins over the public holidays of the ``holidays`` package."""

    day = Date(unique=True)
    kind = Varchar(length=16, choices=CalendarDayKind)
    name = Varchar(length=200)
    swap_with = Date(null=True, default=None, help_text="The other day of an announced swap")
    created_by = ForeignKey(StaffUser, null=True)
    created_at = Timestamptz(default=TimestamptzNow())


class ApiKey(Table):
    """A key of an integrating system (switchboard, queue system, portal); only its hash is stored."""

    source = Varchar(length=40)
    prefix = Varchar(length=16, unique=True, help_text="Shown to staff to tell keys apart")
    key_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    revoked_at = Timestamptz(null=True, default=None)
    scopes = Text(default="contacts,tickets,opt-outs,scores:read",
                  help_text="What the key may use, comma-separated: contacts, tickets, opt-outs, scores:read")


class ReportFrequency(StrEnum):
    monthly = "monthly"
    quarterly = "quarterly"


class ReportRunStatus(StrEnum):
    queued = "queued"          # asked for (on demand): not started
    rendering = "rendering"    # claimed by a process (lease_expires_at): being assembled and rendered
    archived = "archived"      # the PDF is on disk with its checksum
    sent = "sent"              # mailed to the schedule's recipients (scheduled runs only)
    skipped = "skipped"        # too few answers for the scope: nothing made
    failed = "failed"


class ReportSchedule(Table):
    """Which PDF report is due when, and for whom: a unit subtree (optionally one service and one questionnaire),
    monthly or quarterly, in one language, mailed to the recipients after the period closes and its grace."""

    name = Varchar(length=120)
    unit = ForeignKey(Unit, help_text="Root of the scope: the unit with its subtree")
    service = ForeignKey(Service, null=True)
    questionnaire_key = Varchar(length=64, help_text="Empty: every questionnaire with answers")
    frequency = Varchar(length=16, choices=ReportFrequency, help_text="monthly or quarterly")
    recipients = JSON(default="[]")
    next_run_at = Timestamptz(help_text="When the next period falls due (its end plus the grace)")
    active = Boolean(default=True)
    language = Varchar(length=8, default="vi")
    kind = Varchar(length=16, default="unit", help_text="unit (the unit's report) or leadership")
    grace_days = Integer(default=3, help_text="Days after the period's end for late answers")
    first_period = Varchar(length=16, default="", help_text="The first period it reports (e.g. 2026-Q3)")
    created_at = Timestamptz(default=TimestamptzNow())


class ReportRun(Table):
    """One report made or being made: scope, period, language, the file with its checksum, and for a scheduled run
    whether it was sent. ``run_key`` is unique: a schedule's period is claimed once, across workers and restarts."""

    schedule = ForeignKey(ReportSchedule, null=True)
    unit = ForeignKey(Unit, null=True)
    service = ForeignKey(Service, null=True)
    questionnaire_key = Varchar(length=64)
    period_start = Timestamptz()
    period_end = Timestamptz()
    file_path = Varchar(length=400, null=True, default=None)
    checksum = Varchar(length=64, null=True, default=None)
    status = Varchar(length=16, default="pending")
    requested_by = ForeignKey(StaffUser, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    # unique through the index the migration creates (SQLite cannot add a UNIQUE column)
    run_key = Varchar(length=200, null=True, default=None, index=True,
                      help_text="'schedule:<id>:<period>' for scheduled runs: claimed once (a unique index)")
    kind = Varchar(length=16, default="unit", help_text="unit, service or leadership")
    period = Varchar(length=16, default="", help_text="2026-09, 2026-Q3 or 2026")
    language = Varchar(length=8, default="vi")
    pages = Integer(null=True, default=None)
    size_bytes = Integer(null=True, default=None)
    progress = Integer(default=0, help_text="0-100 while rendering")
    error = Text(null=True, default=None)
    lease_expires_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)


class AuditEvent(Table):
    """Who saw or changed what: logins, exports, views of personal data, follow-up changes. Append-only: the
    database refuses any UPDATE or DELETE of a row (triggers of migration 2026-12-04T19:20)."""

    at = Timestamptz(default=TimestamptzNow(), index=True)
    actor = ForeignKey(StaffUser, null=True)
    actor_label = Varchar(length=120)
    action = Varchar(length=40, index=True)
    object_type = Varchar(length=40, null=True, default=None)
    object_id = Varchar(length=80, null=True, default=None)
    detail = JSON(default="{}")
    client_address = Varchar(length=64, null=True, default=None)




class SandboxMessage(Table):
    """A message the sandbox channel 'sent': stored and shown at /staff/sandbox instead of leaving the building; its
    recipient and text are encrypted like any contact detail (they hold a phone number or email and a live link)."""

    channel = Varchar(length=16, help_text="sms or email")
    to_encrypted = Text(help_text="The phone number or email, encrypted (survey.crypto)")
    to_masked = Varchar(length=200, help_text="The recipient as lists show it, e.g. +84 91* *** 678")
    to_hmac = Varchar(length=64, index=True, help_text="The recipient's lookup key, as the respondent's")
    subject = Varchar(length=300, null=True, default=None)
    text_encrypted = Text(help_text="The text, encrypted: it holds the live link")
    html_encrypted = Text(null=True, default=None, help_text="The HTML of an email, encrypted")
    encoding = Varchar(length=16, null=True, default=None, help_text="gsm7 or ucs2 for SMS")
    segments = Integer(default=1)
    invitation = ForeignKey(Invitation, null=True, index=True)
    provider_message_id = Varchar(length=80, unique=True)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class SamplingRule(Table):
    """Which share of contacts is surveyed, per unit (subtree), service and channel; the most specific wins."""

    unit = ForeignKey(Unit, null=True, help_text="Empty: every unit")
    service = ForeignKey(Service, null=True, help_text="Empty: every service")
    channel = Varchar(length=16, null=True, default=None, help_text="Contact channel; empty: every channel")
    rate = Float(default=1.0, help_text="0..1")
    created_at = Timestamptz(default=TimestamptzNow())


class Kiosk(Table):
    """A tablet at a counter registered by staff; it proves itself with a signed device cookie."""

    counter = ForeignKey(Counter, index=True)
    label = Varchar(length=120)
    secret_hash = Varchar(length=64, unique=True)
    registered_by = ForeignKey(StaffUser, null=True)
    registered_at = Timestamptz(default=TimestamptzNow())
    revoked_at = Timestamptz(null=True, default=None)


class RightsKind(StrEnum):
    """What a data subject asked for (Law 91/2025/QH15): to know or see their data, to take it, to correct it, to
    restrict its use, to have it erased."""

    access = "access"
    export = "export"
    correct = "correct"
    restrict = "restrict"
    erase = "erase"


class RightsRequest(Table):
    """A data subject's request about their personal data, with its due dates on the working calendar
    (survey.services.rights): acknowledged within 2 working days, carried out within 15."""

    kind = Varchar(length=16, choices=RightsKind)
    subject_encrypted = Text(help_text="The phone or email the person gave, encrypted like any contact detail")
    subject_hmac = Varchar(length=64, index=True, help_text="The lookup key of the normalised phone or email")
    subject_masked = Varchar(length=80, help_text="The subject as staff see it in the list, e.g. +8491*****78")
    received_at = Timestamptz(index=True)
    acknowledge_due = Timestamptz()
    complete_due = Timestamptz()
    acknowledged_at = Timestamptz(null=True, default=None)
    completed_at = Timestamptz(null=True, default=None)
    handled_by = Varchar(length=120, help_text="Who recorded it: a staff username, or cli")
    note = Text(default="")


class RateCounter(Table):
    """A failure counter shared by every server process (survey.services.ratelimit): failed sign-ins per address,
    account and pair, unknown survey links per address. Times are seconds since the epoch."""

    key = Varchar(length=200, unique=True, help_text="signin:address:<ip>, signin:account:<name>, link:address:<ip>")
    failures = Integer(default=0)
    window_start = DoublePrecision(default=0.0, help_text="When this count began")
    last_failure_at = DoublePrecision(default=0.0, index=True)
    blocked_until = DoublePrecision(default=0.0, help_text="No attempt before this time (0: none)")
