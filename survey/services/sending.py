"""Sending invitations and reminders: the outbox job handlers, the channels chosen from the settings,
and Twilio's status callbacks applied to invitations.

Each handler loads what it needs, sends through a channel, and returns a :class:`JobResult` whose
effects (invitation status, provider message id, the reminder job) commit in the same transaction
that marks the job done.

The link token is made when the job is claimed, before anything is sent (:func:`prepare_sends`, run
in the claim's transaction for the whole batch): the invitation gets the token's hash and expiry, the
job's payload the token *encrypted* under the data keys (like the contact details) and a
``sending_since`` marker. So every message that leaves carries a link that works, and a retry or a
takeover sends the same link. The reminder carries the same link too, in its own payload; payloads
are scrubbed once their job is done.

A worker killed between the provider's answer and the outcome's commit leaves a job that a sent
message may belong to. The worker that takes it over (any attempt after the first, with the marker)
asks the channel first (``find_sent``: Twilio's Messages list, the sandbox's store) and records the
message found instead of sending it again. SMTP cannot be asked: an email is sent again, and its
history says so, so such duplicates can be counted.

Example::

    delivery = delivery_from_settings()
    result = await send_invitation(job, delivery)   # what the worker does for kind "send_invitation"
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from delivery.channels import (
    Channel,
    DeliveryResult,
    OutgoingMessage,
    SandboxChannel,
    SMTPEmailChannel,
    TwilioSMSChannel,
    same_message,
)
from delivery.composer import SMS_TEMPLATES, compose_sms, count_segments, render_template
from delivery.email import build_invitation_email
from delivery.rules import DeliveryPolicy, ReminderHistory, next_allowed_time, reminder_refusal
from delivery.throttle import TokenBucket
from delivery.tokens import new_token, token_hash
from delivery.twilio_status import callback_outcome, should_apply
from survey.crypto import InvalidToken, cipher, mask_address, mask_contact_details, normalised_address
from survey.db import aware, history_append_sql, run_sql, write_transaction
from survey.services.invitations import survey_url
from survey.services.outbox import ClaimedJob, JobResult, update_payloads
from survey.services.questionnaires import QuestionnaireVersions, get_version
from survey.settings import Settings, get_settings
from survey.tables import Invitation, InvitationStatus, SandboxMessage

__all__ = [
    "HANDLERS",
    "Delivery",
    "apply_twilio_status",
    "delivery_from_settings",
    "find_sandbox_message",
    "prepare_sends",
    "optout_url",
    "send_email",
    "send_invitation",
    "send_reminder",
    "status_callback_url",
    "store_sandbox_message",
]

log = logging.getLogger("survey.sending")

# Invitation outcomes that end the attempt to reach the person, from the channel's DeliveryResult
FINAL_FAILURES = ("opted_out", "not_mobile", "undeliverable", "rejected")
# a status callback that finds no invitation yet (its send may not have committed) is tried again this often
STATUS_CALLBACK_ATTEMPTS = 4
# the job payload's marker: a send of this job may have happened since then (set before the first send)
SENDING_SINCE = "sending_since"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Delivery:
    """What the handlers send with: a channel and a token bucket per kind (sms, email), the rules, a clock."""

    settings: Settings
    channels: Mapping[str, Channel]
    buckets: Mapping[str, TokenBucket]
    policy: DeliveryPolicy
    clock: Callable[[], datetime] = _utc_now
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    versions: QuestionnaireVersions = field(default_factory=QuestionnaireVersions)  # read once per sender

    def channel_label(self, kind: str) -> str:
        return getattr(self.channels[kind], "name", kind) if kind in self.channels else "none"

    async def aclose(self) -> None:
        for close in self.closers:
            try:
                await close()
            except Exception:  # closing is best effort; the process is ending anyway
                log.exception("closing a channel failed")


def status_callback_url(settings: Settings | None = None) -> str:
    """The public URL Twilio posts status callbacks to, and the one their signatures are checked against."""
    return f"{(settings or get_settings()).base_url}/webhooks/twilio/status"


def optout_url(token: str) -> str:
    """The opt-out address sent in every message (``List-Unsubscribe`` for email)."""
    return f"{get_settings().base_url}/o/{token}"


async def store_sandbox_message(message: OutgoingMessage, result: DeliveryResult) -> None:
    """The sandbox's store: one ``SandboxMessage`` row, shown at ``/staff/sandbox``.

    The recipient and the text (which holds the live link) are stored encrypted, like any contact detail,
    beside the recipient masked for lists and its lookup key.
    """
    encoding: str | None = None
    segments = 1
    if message.channel == "sms":
        counted = count_segments(message.text)
        encoding, segments = str(counted.encoding), counted.segments
    invitation_id = int(message.reference) if message.reference.isdigit() else None
    box = cipher()
    await SandboxMessage.insert(
        SandboxMessage(channel=message.channel, to_encrypted=box.encrypt(message.to),
                       to_masked=mask_address(message.to)[:200],
                       to_hmac=box.lookup_key(normalised_address(message.to)), subject=message.subject,
                       text_encrypted=box.encrypt(message.text),
                       html_encrypted=box.encrypt(message.html) if message.html else None, encoding=encoding,
                       segments=segments, invitation=invitation_id,
                       provider_message_id=result.provider_message_id or "", created_at=datetime.now(UTC))
    )


async def find_sandbox_message(message: OutgoingMessage, since: datetime) -> DeliveryResult | None:
    """The sandbox's lookup: the stored message of this invitation and channel, since ``since``, with the same links."""
    if not message.reference.isdigit():
        return None
    rows = await SandboxMessage.select(
        SandboxMessage.provider_message_id, SandboxMessage.text_encrypted, SandboxMessage.created_at
    ).where((SandboxMessage.invitation == int(message.reference)) & (SandboxMessage.channel == message.channel))
    box = cipher()
    for row in rows:
        created = aware(row["created_at"])
        if created is not None and created < since:
            continue
        try:
            text = box.decrypt(row["text_encrypted"])
        except InvalidToken:
            continue
        if same_message(text, message):
            return DeliveryResult(status="sent", outcome="sent", provider_message_id=row["provider_message_id"])
    return None


def delivery_from_settings(settings: Settings | None = None, *, clock: Callable[[], datetime] | None = None,
                           sms_rate: float | None = None, email_rate: float | None = None) -> Delivery:
    """Twilio for SMS and SMTP for email when they are configured, the sandbox otherwise."""
    settings = settings or get_settings()
    channels: dict[str, Channel] = {}
    closers: list[Callable[[], Awaitable[None]]] = []
    sandbox = SandboxChannel(store_sandbox_message, find_sandbox_message)
    if settings.twilio_configured:
        twilio = TwilioSMSChannel(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            messaging_service_sid=settings.twilio_messaging_service_sid or None,
            from_=None if settings.twilio_messaging_service_sid else settings.twilio_from,
            status_callback=status_callback_url(settings),
            api_base_url=settings.twilio_api_base_url or None,
        )
        channels["sms"] = twilio
        closers.append(twilio.aclose)
    else:
        channels["sms"] = sandbox
    if settings.smtp_configured:
        channels["email"] = SMTPEmailChannel(
            settings.smtp_host,
            settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            use_tls=settings.smtp_tls == "tls",
            start_tls={"auto": None, "starttls": True, "tls": False, "none": False}[settings.smtp_tls],
            from_address=settings.smtp_from,
        )
    else:
        channels["email"] = sandbox
    # a burst of 1/20 s worth: sends are spaced evenly (no second holds more than the limit + the burst),
    # and timer lateness is made up instead of lost
    sms_limit = sms_rate or settings.sms_rate_per_second
    email_limit = email_rate or settings.email_rate_per_second
    buckets = {
        "sms": TokenBucket(sms_limit, burst=max(1, int(sms_limit / 20))),
        "email": TokenBucket(email_limit, burst=max(1, int(email_limit / 20))),
    }
    from survey.services.contacts import delivery_policy  # the one policy the planning rules use too

    return Delivery(settings=settings, channels=channels, buckets=buckets, policy=delivery_policy(),
                    clock=clock or _utc_now, closers=closers)


# --- loading ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """An invitation with its person, as the handlers need it."""

    id: int
    status: str
    channel: str
    language: str
    questionnaire_id: int
    reminder_state: str
    opened_at: datetime | None
    responded_at: datetime | None
    expires_at: datetime | None
    token_hash: str | None
    phone_encrypted: str | None
    email_encrypted: str | None
    opted_out_at: datetime | None

    def address(self) -> str | None:
        encrypted = self.phone_encrypted if self.channel == "sms" else self.email_encrypted
        if not encrypted:
            return None
        try:
            return cipher().decrypt(encrypted)
        except InvalidToken:
            return None


# one query by hand: building the joined select through the query builder costs more than running it
_LOAD = (
    "SELECT i.id, i.status, i.channel, i.language, i.questionnaire, i.reminder_state, i.opened_at, i.responded_at, "
    "i.expires_at, i.token_hash, r.phone_encrypted, r.email_encrypted, r.opted_out_at FROM invitation i "
    "LEFT JOIN contact c ON c.id = i.contact LEFT JOIN respondent r ON r.id = c.respondent WHERE i.id = {}"
)


async def _load(invitation_id: int) -> _Target | None:
    rows = await run_sql(_LOAD, invitation_id)
    row = rows[0] if rows else None
    if row is None:
        return None
    return _Target(id=row["id"], status=row["status"], channel=row["channel"], language=row["language"] or "vi",
                   questionnaire_id=row["questionnaire"], reminder_state=row["reminder_state"] or "none",
                   opened_at=aware(row["opened_at"]), responded_at=aware(row["responded_at"]),
                   expires_at=aware(row["expires_at"]), token_hash=row["token_hash"],
                   phone_encrypted=row["phone_encrypted"],
                   email_encrypted=row["email_encrypted"], opted_out_at=aware(row["opted_out_at"]))


# --- effects (run inside the completion transaction) ----------------------------------------------------------


def _entry(status: str, at: datetime, detail: str) -> str:
    return json.dumps({"status": status, "at": at.isoformat(), "detail": detail}, ensure_ascii=False)


def _mark(invitation_id: int, *, status: str, at: datetime, detail: str, only_if: tuple[str, ...],
          skip_reason: str | None = None, reminder_state: str | None = None) -> Callable[[], Awaitable[None]]:
    """An effect: move the invitation to ``status`` (when it is still in one of ``only_if``), with history."""

    async def effect() -> None:
        sets = ["status = {}", f"status_history = {history_append_sql()}"]
        args: list[Any] = [status, _entry(status, at, detail)]
        if skip_reason is not None:
            sets.append("skip_reason = {}")
            args.append(skip_reason)
        if reminder_state is not None:
            sets.append("reminder_state = {}")
            args.append(reminder_state)
        placeholders = ", ".join(["{}"] * len(only_if))
        await run_sql(f"UPDATE invitation SET {', '.join(sets)} WHERE id = {{}} AND status IN ({placeholders})",  # noqa: S608
                      *args, invitation_id, *only_if)

    return effect


# the link works from the claim on: someone may open (or answer) it before the send's outcome commits
_SENT = (
    "UPDATE invitation SET status = CASE WHEN status = 'planned' THEN 'sent' ELSE status END, sent_at = {}, "
    "provider_message_id = {}, expires_at = {}, reminder_state = {}, status_history = {history} "
    "WHERE id = {} AND sent_at IS NULL AND status IN ('planned', 'opened', 'responded')"
)


def _sent(invitation_id: int, *, at: datetime, provider_message_id: str | None, expires_at: datetime,
          detail: str, remind_at: datetime | None) -> Callable[[], Awaitable[None]]:
    async def effect() -> None:
        await run_sql(
            _SENT.replace("{history}", history_append_sql()), at, provider_message_id, expires_at,
            "scheduled" if remind_at else "none", _entry("sent", at, detail), invitation_id,
        )

    return effect


def _reminder_done(invitation_id: int, *, state: str, at: datetime, detail: str) -> Callable[[], Awaitable[None]]:
    async def effect() -> None:
        await run_sql(
            f"UPDATE invitation SET reminder_state = {{}}, status_history = {history_append_sql()} WHERE id = {{}}",  # noqa: S608
            state, json.dumps({"status": f"reminder_{state}", "at": at.isoformat(), "detail": detail}), invitation_id,
        )

    return effect


# --- composing --------------------------------------------------------------------------------------------------


async def _compose(target: _Target, token: str, kind: str, delivery: Delivery, address: str) -> OutgoingMessage:
    settings = delivery.settings
    url, optout = survey_url(token), optout_url(token)
    language = target.language if target.language in ("vi", "en") else settings.default_language
    if target.channel == "sms":
        templates = SMS_TEMPLATES[kind]
        text = render_template(templates.get(language) or templates["vi"], brand=settings.sms_brand, url=url,
                               optout_url=optout)
        composed = compose_sms(text, mode=settings.sms_encoding)  # type: ignore[arg-type]
        return OutgoingMessage("sms", address, composed.text, reference=str(target.id))
    questionnaire = (await get_version(target.questionnaire_id, delivery.versions)).questionnaire
    rating = next((q for q in questionnaire.questions if q.type == "rating" and q.scale is not None), None)
    first_question = None
    question_text = None
    if rating is not None and rating.scale is not None:
        labels = rating.scale.labels.get(language) or {}
        first_question = (rating.id, [(value, labels.get(value, str(value))) for value in rating.scale.points])
        question_text = rating.text.get(language) or next(iter(rating.text.values()), None)
    subject, text, html = build_invitation_email(
        language=language, brand=settings.sms_brand,
        title=questionnaire.title.get(language) or next(iter(questionnaire.title.values()), ""),
        intro=questionnaire.intro.get(language) or next(iter(questionnaire.intro.values()), ""),
        survey_url=url, optout_url=optout, first_question=first_question, first_question_text=question_text,
        kind="reminder" if kind == "reminder" else "invitation",
    )
    return OutgoingMessage("email", address, text, subject=subject, html=html,
                           headers={"List-Unsubscribe": f"<{optout}>"}, reference=str(target.id))


async def _send(delivery: Delivery, message: OutgoingMessage) -> DeliveryResult:
    await delivery.buckets[message.channel].acquire()
    try:
        return await delivery.channels[message.channel].send(message)
    except Exception as error:  # a channel bug must not kill the worker: the attempt is retried, then dead-lettered
        log.exception("channel %s raised", message.channel)
        return DeliveryResult.failed("retry", None, f"{type(error).__name__}: {error}")


async def _send_once(job: ClaimedJob, delivery: Delivery, message: OutgoingMessage) -> tuple[DeliveryResult, str]:
    """Send ``message``, unless an earlier attempt of ``job`` may have sent it and the channel finds it sent.

    Returns the result and a note for the history ("" for a plain send).
    """
    since = aware(job.payload.get(SENDING_SINCE))
    if job.attempts <= 1 or since is None:
        return await _send(delivery, message), ""
    channel = delivery.channels[message.channel]
    find = getattr(channel, "find_sent", None)
    if find is None:
        log.warning("job %s: an earlier attempt may have sent invitation %s; %s cannot be asked, sending again",
                    job.id, message.reference, getattr(channel, "name", message.channel))
        return await _send(delivery, message), "sent again: an earlier attempt may have sent it (cannot be checked)"
    try:
        found: DeliveryResult | None = await find(message, since)
    except Exception as error:  # like a failed send: the attempt is retried
        log.exception("channel %s could not look up a message", message.channel)
        found = DeliveryResult.failed("retry", None, f"looking up an earlier send: {type(error).__name__}: {error}")
    if found is not None:
        if found.outcome == "sent":
            log.info("job %s: invitation %s was already sent (%s), not sending it again", job.id,
                     message.reference, found.provider_message_id)
        return found, "found at the provider: sent by an earlier attempt, not sent again"
    return await _send(delivery, message), ""


def _token_of(job: ClaimedJob) -> str | None:
    """The link token the job carries (encrypted), ``None`` when it has none; ``""`` when it cannot be read."""
    sealed = job.payload.get("token")
    if not sealed:
        return None
    try:
        return cipher().decrypt(str(sealed))
    except InvalidToken:
        return ""


async def prepare_sends(jobs: Sequence[ClaimedJob]) -> list[ClaimedJob]:
    """Before anything is sent: a link token for each invitation to send, and the "sending" marker.

    Runs inside the claim's transaction, a few statements for the whole batch: each ``send_invitation``
    job whose payload has no token yet, for a planned invitation without one, gets a fresh token (its
    hash and expiry on the invitation, the token encrypted in the payload) and ``sending_since``; a
    ``send_reminder`` job gets ``sending_since``. Returns the jobs with their new payloads.
    """
    settings = get_settings()
    stamp = datetime.now(UTC).isoformat()  # the providers' clock, not the worker's (tests move that one)
    payloads: dict[int, dict[str, Any]] = {}
    wanting = [job for job in jobs if job.kind == "send_invitation" and not job.payload.get("token")]
    if wanting:
        ids = sorted({int(job.payload["invitation_id"]) for job in wanting})
        marks = ", ".join(["{}"] * len(ids))
        rows = await run_sql(
            f"SELECT id FROM invitation WHERE id IN ({marks}) AND status = 'planned' AND token_hash IS NULL", *ids  # noqa: S608
        )
        tokens = {int(row["id"]): new_token(settings.token_length) for row in rows}
        if tokens:
            cases = " ".join(["WHEN {} THEN {}"] * len(tokens))
            pairs = [value for key, token in tokens.items() for value in (key, token_hash(token, settings.secret_key))]
            # the expiry counts from the claim; the send's commit sets it again from the moment it was sent
            expires_at = datetime.now(UTC) + timedelta(days=settings.token_ttl_days)
            await run_sql(
                f"UPDATE invitation SET token_hash = CASE id {cases} END, expires_at = {{}} "  # noqa: S608
                f"WHERE id IN ({', '.join(['{}'] * len(tokens))}) AND token_hash IS NULL",
                *pairs, expires_at, *tokens,
            )
        box = cipher()
        for job in wanting:
            # pop: a second job for the same invitation in this batch gets no token (the first one sends it)
            token = tokens.pop(int(job.payload["invitation_id"]), None)
            if token is not None:
                payloads[job.id] = {**job.payload, "token": box.encrypt(token), SENDING_SINCE: stamp}
    for job in jobs:
        if job.kind == "send_reminder" and job.payload.get("token") and SENDING_SINCE not in job.payload:
            payloads[job.id] = {**job.payload, SENDING_SINCE: stamp}
    await update_payloads(payloads)
    return [replace(job, payload=payloads[job.id]) if job.id in payloads else job for job in jobs]


def _describe(result: DeliveryResult) -> str:
    parts = [result.outcome]
    if result.error_code:
        parts.append(f"code {result.error_code}")
    if result.error_message:  # a provider's message may quote the recipient: kept masked
        parts.append(mask_contact_details(result.error_message))
    return ": ".join(parts[:1]) + (f" ({', '.join(parts[1:])})" if len(parts) > 1 else "")


async def _opt_out(invitation_id: int) -> None:
    from survey.services.respondents import opt_out_by_invitation

    await opt_out_by_invitation(invitation_id, source="twilio")


# --- the handlers ----------------------------------------------------------------------------------------------


async def send_invitation(job: ClaimedJob, delivery: Delivery) -> JobResult:
    """Send the invitation of ``job.payload["invitation_id"]`` once; see the module docstring."""
    invitation_id = int(job.payload["invitation_id"])
    scrubbed = {"invitation_id": invitation_id}
    now = delivery.clock()
    target = await _load(invitation_id)
    if target is None:
        return JobResult.done(job, note="the invitation no longer exists", payload=scrubbed)
    if target.status != InvitationStatus.planned:
        return JobResult.done(job, note=f"nothing to send: the invitation is {target.status}", payload=scrubbed)
    if target.opted_out_at is not None:
        return JobResult.done(job, _mark(invitation_id, status="skipped", at=now, detail="opted out before sending",
                                         only_if=("planned",), skip_reason="opted_out"), payload=scrubbed)
    allowed = next_allowed_time(now, delivery.policy)
    if allowed > now:
        return JobResult.reschedule(job, allowed, "quiet hours: due again in the morning")
    address = target.address()
    if not address:
        return JobResult.done(job, _mark(invitation_id, status="failed", at=now, only_if=("planned",),
                                         detail=f"no {target.channel} address", skip_reason="no_address"),
                              payload=scrubbed)
    settings = delivery.settings
    token = _token_of(job)
    if token is None:
        if target.token_hash is not None:
            return JobResult.done(job, note="another job for this invitation holds its link", payload=scrubbed)
        async with write_transaction():  # not claimed through a worker: prepare it here, before sending
            [job] = await prepare_sends([job])
        token = _token_of(job)
    if not token:
        return JobResult.retry(job, "the job's link token cannot be read (was the secret key changed?)")
    message = await _compose(target, token, "invitation", delivery, address)
    result, note = await _send_once(job, delivery, message)
    sent_at = delivery.clock()
    if result.outcome == "sent":
        remind_at = next_allowed_time(sent_at + timedelta(hours=settings.reminder_after_hours), delivery.policy)
        detail = f"sent by {delivery.channel_label(target.channel)}" + (f" ({note})" if note else "")
        outcome = JobResult.done(job, _sent(
            invitation_id, at=sent_at, provider_message_id=result.provider_message_id,
            expires_at=sent_at + timedelta(days=settings.token_ttl_days), detail=detail, remind_at=remind_at,
        ), payload=scrubbed)
        # the reminder carries the same link, encrypted; a second reminder job for one invitation finds it sent
        outcome.new_jobs.append(("send_reminder", {"invitation_id": invitation_id, "token": job.payload["token"]},
                                 remind_at))
        return outcome
    if result.outcome == "retry":
        return JobResult.retry(job, _describe(result))
    if result.outcome == "opted_out":
        await _opt_out(invitation_id)
    return JobResult.done(job, _mark(invitation_id, status="failed", at=sent_at, only_if=("planned",),
                                     detail=_describe(result), skip_reason=result.outcome), payload=scrubbed)


async def send_reminder(job: ClaimedJob, delivery: Delivery) -> JobResult:
    """Send the one reminder of an invitation that was neither opened nor answered, with the same link."""
    invitation_id = int(job.payload["invitation_id"])
    scrubbed = {"invitation_id": invitation_id}
    now = delivery.clock()
    target = await _load(invitation_id)
    if target is None:
        return JobResult.done(job, note="the invitation no longer exists", payload=scrubbed)
    reason = reminder_refusal(ReminderHistory(
        status=target.status, reminder_state=target.reminder_state, opted_out_at=target.opted_out_at,
        opened_at=target.opened_at, responded_at=target.responded_at, expires_at=target.expires_at,
    ), now)
    if reason is not None:
        effects = [] if target.reminder_state != "scheduled" else [
            _reminder_done(invitation_id, state="skipped", at=now, detail=f"no reminder: {reason}")]
        return JobResult.done(job, *effects, note=f"no reminder: {reason}", payload=scrubbed)
    allowed = next_allowed_time(now, delivery.policy)
    if allowed > now:
        return JobResult.reschedule(job, allowed, "quiet hours: due again in the morning")
    address = target.address()
    try:
        token = cipher().decrypt(str(job.payload.get("token", "")))
    except InvalidToken:
        token = ""
    if not address or not token:
        return JobResult.done(job, _reminder_done(invitation_id, state="skipped", at=now,
                                                  detail="no reminder: address or link unavailable"),
                              note="address or link unavailable", payload=scrubbed)
    message = await _compose(target, token, "reminder", delivery, address)
    result, note = await _send_once(job, delivery, message)
    sent_at = delivery.clock()
    if result.outcome == "sent":
        detail = f"reminder sent by {delivery.channel_label(target.channel)} ({result.provider_message_id})"
        detail += f" ({note})" if note else ""
        return JobResult.done(job, _reminder_done(invitation_id, state="sent", at=sent_at, detail=detail),
                              payload=scrubbed)
    if result.outcome == "retry":
        return JobResult.retry(job, _describe(result))
    if result.outcome == "opted_out":
        await _opt_out(invitation_id)
    return JobResult.done(job, _reminder_done(invitation_id, state="failed", at=sent_at, detail=_describe(result)),
                          note=_describe(result), payload=scrubbed)


async def apply_twilio_status(params: Mapping[str, str], *, now: datetime | None = None) -> bool:
    """Apply one (signature-checked) status callback; False when no invitation has its message id yet.

    Idempotent and order-proof: only a move forward applies (``should_apply``), so a late ``sent``
    never overwrites ``delivered``, and a repeat changes nothing. An opted-out error (21610) opts
    the person out.
    """
    now = now or datetime.now(UTC)
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    if not sid or not status:
        return True  # nothing we could ever apply
    row = await Invitation.select(Invitation.id, Invitation.status).where(
        Invitation.provider_message_id == sid).first()
    if row is None:
        return False
    outcome = callback_outcome(status, params.get("ErrorCode"))
    if outcome == "opted_out":
        await _opt_out(row["id"])
    current = row["status"]
    if current not in ("sent", "delivered", "failed"):
        return True  # planned (not ours yet), opened, responded, skipped: a receipt changes none of them
    if not should_apply(current, status):
        return True
    code = params.get("ErrorCode")
    detail = f"Twilio: {status}" + (f" (error {code})" if code else "")
    if outcome == "delivered":
        await _mark(row["id"], status="delivered", at=now, detail=detail, only_if=(current,))()
    elif outcome != "sent":
        await _mark(row["id"], status="failed", at=now, detail=detail, only_if=(current,),
                    skip_reason=outcome if outcome != "failed" else "undeliverable")()
    return True


async def apply_twilio_status_job(job: ClaimedJob, delivery: Delivery) -> JobResult:
    """A status callback that found no invitation at first (its send not yet committed): try again."""
    params = {str(k): str(v) for k, v in dict(job.payload.get("params", {})).items()}
    if await apply_twilio_status(params):
        return JobResult.done(job)
    if job.last_attempt:
        return JobResult.done(job, note=f"no invitation with message id {params.get('MessageSid')}")
    return JobResult.retry(job, "no invitation with this message id yet")


async def send_report_job(job: ClaimedJob, delivery: Delivery) -> JobResult:
    """A scheduled report mailed to its recipients: :func:`survey.services.reports.schedules.send_report`."""
    # imported here: the reports package loads the PDF renderer, which only this job needs
    from survey.services.reports.schedules import send_report

    return await send_report(job, delivery)


async def send_email(delivery: Delivery, message: OutgoingMessage) -> DeliveryResult:
    """Send one email of the staff side (a report, a case's notice) at the email channel's rate; a channel that
    raises gives a ``retry`` result (the job is tried again, then dead-lettered), never a dead worker."""
    await delivery.buckets["email"].acquire()
    try:
        return await delivery.channels["email"].send(message)
    except Exception as error:
        log.exception("the email channel raised")
        return DeliveryResult.failed("retry", None, f"{type(error).__name__}: {error}")


async def send_case_email_job(job: ClaimedJob, delivery: Delivery) -> JobResult:
    """A follow-up case's notice to a unit's mailbox: :func:`survey.services.followups.send_case_email`."""
    from survey.services.followups import send_case_email

    return await send_case_email(job, delivery)


async def send_alert_email_job(job: ClaimedJob, delivery: Delivery) -> JobResult:
    """An alert's notice: :func:`survey.services.alerts.send_alert_email`."""
    from survey.services.alerts import send_alert_email

    return await send_alert_email(job, delivery)


Handler = Callable[[ClaimedJob, Delivery], Awaitable[JobResult]]

HANDLERS: Mapping[str, Handler] = {
    "send_invitation": send_invitation,
    "send_reminder": send_reminder,
    "twilio_status": apply_twilio_status_job,
    "send_report": send_report_job,
    "case_email": send_case_email_job,
    "alert_email": send_alert_email_job,
}
