"""Channels that carry invitations: Twilio SMS, SMTP email, and the sandbox used until one is set up.

Every channel has one interface, ``await channel.send(message) -> DeliveryResult``, and never
raises for a provider's answer: a refusal, an opted-out number or a connection error comes back
as an outcome the worker acts on (``retry`` is retried with backoff, the rest are final).

A channel whose provider can be asked what it already sent also offers
``await channel.find_sent(message, since) -> DeliveryResult | None``: a worker taking over a send
that a stopped worker may have made asks first, and records the message found instead of sending
it twice. Twilio (its Messages list) and the sandbox (its store) can; SMTP cannot, so an email
interrupted between the server's acceptance and the database's commit is sent again.

Example::

    >>> import asyncio
    >>> stored = []
    >>> async def store(message, result):
    ...     stored.append((message.to, result.status))
    >>> sandbox = SandboxChannel(store)
    >>> result = asyncio.run(sandbox.send(OutgoingMessage("sms", "+84912345678", "BHXH VN: ...")))
    >>> result.status, result.provider_message_id.startswith("SB"), stored
    ('sent', True, [('+84912345678', 'sent')])
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from types import MappingProxyType
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import aiosmtplib
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

__all__ = [
    "Attachment",
    "Channel",
    "DeliveryOutcome",
    "DeliveryResult",
    "OutgoingMessage",
    "ReconcilingChannel",
    "SMTPEmailChannel",
    "SandboxChannel",
    "TwilioSMSChannel",
    "map_smtp_error",
    "map_twilio_error",
    "same_message",
]

DeliveryOutcome = Literal["sent", "opted_out", "not_mobile", "undeliverable", "rejected", "retry"]
TWILIO_API_BASE_URL = "https://api.twilio.com"


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email: its name as the recipient sees it, its MIME type and its bytes.

    >>> Attachment("report.pdf", "application/pdf", b"%PDF-1.7").maintype_subtype
    ('application', 'pdf')
    """

    filename: str
    content_type: str
    data: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not self.filename or any(char in self.filename for char in "/\\\r\n"):
            raise ValueError(f"an attachment needs a plain file name, got {self.filename!r}")
        if self.content_type.count("/") != 1:
            raise ValueError(f"an attachment's content type is type/subtype, got {self.content_type!r}")

    @property
    def maintype_subtype(self) -> tuple[str, str]:
        maintype, _, subtype = self.content_type.partition("/")
        return maintype, subtype

    def describe(self) -> str:
        """``report.pdf (application/pdf, 12,345 bytes)``: how the sandbox notes an attachment it does not keep."""
        return f"{self.filename} ({self.content_type}, {len(self.data):,} bytes)"


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to send. ``reference`` is the invitation id (or another sender's id, e.g. a report run's):
    it ties status callbacks and the email's Message-ID back to what was sent. ``attachments`` go with an
    email only."""

    channel: Literal["sms", "email"]
    to: str
    text: str
    subject: str | None = None
    html: str | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    reference: str = ""
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class DeliveryResult:
    """What the provider said: ``status`` sent or failed, and the ``outcome`` that decides what happens next."""

    status: Literal["sent", "failed"]
    outcome: DeliveryOutcome
    provider_message_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def retryable(self) -> bool:
        """Whether sending again later may succeed (rate limits, provider errors, connection trouble)."""
        return self.outcome == "retry"

    @classmethod
    def failed(cls, outcome: DeliveryOutcome, code: object, message: str) -> DeliveryResult:
        """A failure with the provider's code and message."""
        return cls(
            status="failed",
            outcome=outcome,
            error_code=None if code is None else str(code),
            error_message=message[:500],
        )


class Channel(Protocol):
    """The one interface every channel offers."""

    name: str

    async def send(self, message: OutgoingMessage) -> DeliveryResult: ...


class ReconcilingChannel(Channel, Protocol):
    """A channel that can also say whether a message was already sent (after a worker stopped mid-send)."""

    async def find_sent(self, message: OutgoingMessage, since: datetime) -> DeliveryResult | None:
        """The provider's record of ``message`` sent at or after ``since``, ``None`` when there is none;
        a ``retry`` outcome when the provider could not be asked."""
        ...


_LINK = re.compile(r"https?://[^\s<>\"']+")


def same_message(sent_body: str | None, message: OutgoingMessage) -> bool:
    """Whether a body the provider reports is ``message``: it carries the same links (each survey link's
    token is unique), or, for a message without links, the same text.

    >>> same_message("BHXH VN: https://ks.vn/s/Ab12Cd34Ef56 ...", OutgoingMessage("sms", "+84", "https://ks.vn/s/Ab12Cd34Ef56"))
    True
    >>> same_message("BHXH VN: https://ks.vn/s/Zz99", OutgoingMessage("sms", "+84", "https://ks.vn/s/Ab12Cd34Ef56"))
    False
    """
    if sent_body is None:
        return False
    links = _LINK.findall(message.text)
    if not links:
        return sent_body.strip() == message.text.strip()
    return all(link in sent_body for link in links)


# Twilio error codes: https://www.twilio.com/docs/api/errors
_TWILIO_CODES: Mapping[int, DeliveryOutcome] = MappingProxyType(
    {
        21610: "opted_out",  # the recipient replied STOP
        21614: "not_mobile",  # 'To' is not a valid mobile number
        21211: "rejected",  # invalid 'To' phone number
        20429: "retry",  # too many requests
        **{code: "undeliverable" for code in range(30003, 30008)},  # unreachable, blocked, unknown, landline, filtered
    }
)


def map_twilio_error(code: int | None, http_status: int | None) -> DeliveryOutcome:
    """The outcome of a Twilio error, from its error code, else its HTTP status.

    Used for API errors and for the ``ErrorCode`` of status callbacks alike.

    >>> map_twilio_error(21610, 400), map_twilio_error(30005, None), map_twilio_error(None, 503)
    ('opted_out', 'undeliverable', 'retry')
    """
    if code is not None and code in _TWILIO_CODES:
        return _TWILIO_CODES[code]
    if http_status is None:
        return "rejected" if code is not None else "retry"
    if http_status == 429 or http_status >= 500:
        return "retry"
    if 400 <= http_status < 500:
        return "rejected"
    return "retry"


class TwilioSMSChannel:
    """SMS through Twilio's Messages API with the official SDK, asynchronously.

    Give exactly one of ``messaging_service_sid`` (recommended: it holds the registered brand
    name) or ``from_``. ``api_base_url`` replaces ``https://api.twilio.com``, for a local stub.
    """

    name = "sms"
    # find_sent: our clock and Twilio's may differ a little; messages to one number within a day are few
    CLOCK_SKEW = timedelta(minutes=5)
    FIND_LIMIT = 200

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        messaging_service_sid: str | None = None,
        from_: str | None = None,
        status_callback: str | None = None,
        api_base_url: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        if not account_sid or not auth_token:
            raise ValueError("TwilioSMSChannel needs an account_sid and an auth_token")
        if (messaging_service_sid is None) == (from_ is None):
            raise ValueError("TwilioSMSChannel needs exactly one of messaging_service_sid or from_")
        if api_base_url is not None and urlsplit(api_base_url).scheme not in ("http", "https"):
            raise ValueError(f"api_base_url must be an http(s) URL, got {api_base_url!r}")
        self.account_sid = account_sid
        self._auth_token = auth_token
        self.messaging_service_sid = messaging_service_sid
        self.from_ = from_
        self.status_callback = status_callback
        self.api_base_url = (api_base_url or TWILIO_API_BASE_URL).rstrip("/")
        self.timeout = timeout
        # The aiohttp session behind the SDK belongs to one event loop; one client per loop.
        self._clients: dict[asyncio.AbstractEventLoop, tuple[Client, AsyncTwilioHttpClient]] = {}

    def _client(self) -> Client:
        loop = asyncio.get_running_loop()
        entry = self._clients.get(loop)
        if entry is None:
            # Forget the clients of finished loops (each asyncio.run of a short-lived worker).
            for finished in [known for known in self._clients if known.is_closed()]:
                del self._clients[finished]
            http_client = AsyncTwilioHttpClient(timeout=self.timeout)
            client = Client(self.account_sid, self._auth_token, http_client=http_client)
            client.api.base_url = self.api_base_url
            entry = (client, http_client)
            self._clients[loop] = entry
        return entry[0]

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        """Send one SMS; Twilio errors and connection trouble come back as outcomes."""
        options: dict[str, Any] = {"to": message.to, "body": message.text}
        if self.messaging_service_sid is not None:
            options["messaging_service_sid"] = self.messaging_service_sid
        else:
            options["from_"] = self.from_
        if self.status_callback is not None:
            options["status_callback"] = self.status_callback
        try:
            # The SDK's async client ignores its own timeout setting, so the deadline is kept here.
            # A timed-out request may still have reached Twilio: the worker's retry can duplicate it.
            async with asyncio.timeout(self.timeout):
                created = await self._client().messages.create_async(**options)
        except TwilioRestException as error:
            return DeliveryResult.failed(
                map_twilio_error(error.code, error.status), error.code or error.status, error.msg
            )
        except (TwilioException, OSError, TimeoutError) as error:
            return DeliveryResult.failed("retry", None, f"{type(error).__name__}: {error}")
        except Exception as error:  # aiohttp's ClientError and friends: the network, not the message
            if type(error).__module__.startswith("aiohttp"):
                return DeliveryResult.failed("retry", None, f"{type(error).__name__}: {error}")
            raise
        return DeliveryResult(status="sent", outcome="sent", provider_message_id=created.sid)

    async def find_sent(self, message: OutgoingMessage, since: datetime) -> DeliveryResult | None:
        """The message Twilio already accepted for ``message`` (same recipient, same links), sent since ``since``.

        Lists the account's messages to ``message.to``, newest first, and keeps the first outbound one
        created since ``since`` whose body carries the same links. The list is not filtered by
        ``DateSent``: Twilio fills that in only when a message leaves its queue, so a message accepted
        seconds before a crash would be missed; quarantine keeps the messages to one number few.
        """
        after = since - self.CLOCK_SKEW
        try:
            async with asyncio.timeout(self.timeout):
                records = await self._client().messages.stream_async(
                    to=message.to, page_size=50, limit=self.FIND_LIMIT
                )
                async for record in records:
                    if not str(record.direction or "").startswith("outbound"):
                        continue
                    if record.date_created is not None and record.date_created < after:
                        continue
                    if same_message(record.body, message):
                        return DeliveryResult(status="sent", outcome="sent", provider_message_id=record.sid)
        except TwilioRestException as error:
            return DeliveryResult.failed("retry", error.code or error.status, f"listing messages: {error.msg}")
        except (TwilioException, OSError, TimeoutError) as error:
            return DeliveryResult.failed("retry", None, f"listing messages: {type(error).__name__}: {error}")
        except Exception as error:  # aiohttp's ClientError and friends
            if type(error).__module__.startswith("aiohttp"):
                return DeliveryResult.failed("retry", None, f"listing messages: {type(error).__name__}: {error}")
            raise
        return None

    async def aclose(self) -> None:
        """Close the HTTP session of the current event loop."""
        entry = self._clients.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[1].close()


def map_smtp_error(code: int | None) -> DeliveryOutcome:
    """The outcome of an SMTP reply code: 5xx is final (undeliverable), 4xx or none is retried.

    >>> map_smtp_error(550), map_smtp_error(451), map_smtp_error(None)
    ('undeliverable', 'retry', 'retry')
    """
    if code is not None and 500 <= code < 600:
        return "undeliverable"
    return "retry"


class SMTPEmailChannel:
    """Email through an SMTP server with aiosmtplib: a multipart/alternative message (text + HTML).

    ``use_tls`` connects with implicit TLS (port 465); ``start_tls`` None upgrades when the
    server offers STARTTLS, True requires it, False never does.
    """

    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        use_tls: bool = False,
        start_tls: bool | None = None,
        from_address: str,
        timeout: float = 15,
    ) -> None:
        if use_tls and start_tls:
            raise ValueError("use_tls (implicit TLS) and start_tls cannot both be set")
        if (username is None) != (password is None):
            raise ValueError("SMTP username and password go together: give both or neither")
        if "@" not in from_address:
            raise ValueError(f"from_address must be an email address, got {from_address!r}")
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self.use_tls = use_tls
        self.start_tls = start_tls
        self.from_address = from_address
        self.timeout = timeout

    def build_message(self, message: OutgoingMessage) -> EmailMessage:
        """The MIME message: text part, HTML alternative, the attachments, Message-ID carrying the reference,
        headers."""
        email = EmailMessage()
        email["From"] = self.from_address
        email["To"] = message.to
        email["Subject"] = message.subject or ""
        email["Date"] = formatdate(localtime=False)
        domain = self.from_address.rpartition("@")[2]
        email["Message-ID"] = make_msgid(idstring=_msgid_part(message.reference) or None, domain=domain)
        for name, value in message.headers.items():
            if name.lower() in ("from", "to", "subject", "date", "message-id"):
                continue
            email[name] = value
        if "List-Unsubscribe" in email and "List-Unsubscribe-Post" not in email:
            # RFC 8058 one-click: mail providers show an unsubscribe button that POSTs to the link.
            email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email.set_content(message.text, charset="utf-8")
        if message.html is not None:
            email.add_alternative(message.html, subtype="html", charset="utf-8")
        for attachment in message.attachments:  # the text and HTML become the first part of a multipart/mixed
            maintype, subtype = attachment.maintype_subtype
            email.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
        return email

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        """Send one email; refusals and connection trouble come back as outcomes."""
        email = self.build_message(message)
        try:
            _errors, reply = await aiosmtplib.send(
                email,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self._password,
                use_tls=self.use_tls,
                start_tls=self.start_tls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            first = error.recipients[0] if error.recipients else None
            code = first.code if first else None
            text = first.message if first else str(error)
            return DeliveryResult.failed(map_smtp_error(code), code, text)
        except aiosmtplib.SMTPResponseException as error:
            return DeliveryResult.failed(map_smtp_error(error.code), error.code, error.message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            return DeliveryResult.failed("retry", None, f"{type(error).__name__}: {error}")
        return DeliveryResult(status="sent", outcome="sent", provider_message_id=str(email["Message-ID"]))


def _msgid_part(reference: str) -> str:
    return "".join(char for char in reference if char.isalnum() or char in "-_.")[:64]


class SandboxChannel:
    """The default channel: nothing leaves the machine; each message is handed to ``store``.

    ``find`` looks a message up in that store (for :meth:`find_sent`); without it nothing is ever found.
    """

    name = "sandbox"

    def __init__(
        self,
        store: Callable[[OutgoingMessage, DeliveryResult], Awaitable[None]],
        find: Callable[[OutgoingMessage, datetime], Awaitable[DeliveryResult | None]] | None = None,
    ) -> None:
        self._store = store
        self._find = find

    async def find_sent(self, message: OutgoingMessage, since: datetime) -> DeliveryResult | None:
        """The stored message for ``message`` since ``since``, if ``find`` was given and has it."""
        return None if self._find is None else await self._find(message, since)

    async def send(self, message: OutgoingMessage) -> DeliveryResult:
        """Record the message as sent, with a provider id ``SB`` + 32 hex digits.

        Attachments are not stored: the body handed to ``store`` ends with a line naming each one.
        """
        result = DeliveryResult(status="sent", outcome="sent", provider_message_id="SB" + secrets.token_hex(16))
        if message.attachments:
            noted = "\n".join(f"[attachment: {attachment.describe()}]" for attachment in message.attachments)
            message = replace(message, text=f"{message.text.rstrip()}\n\n{noted}", attachments=())
        await self._store(message, result)
        return result
