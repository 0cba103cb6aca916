"""A real SMTP server (aiosmtpd) on loopback that keeps what it receives, for the email tests.

Example::

    with SMTPServer() as server:
        channel = SMTPEmailChannel(server.host, server.port, from_address="khaosat@example.vn")
        await channel.send(message)
        received = server.messages[0]          # an email.message.EmailMessage
        server.refuse["bounce@example.vn"] = "550 5.1.1 No such user"
        server.refuse["busy@example.vn"] = "451 4.3.0 Try again later"

``messages`` holds the parsed messages in arrival order, ``envelopes`` the raw
``(mail_from, rcpt_tos, data)`` triples. A recipient listed in ``refuse`` is answered with that
reply at ``RCPT TO``.
"""

from __future__ import annotations

import email
import email.policy
import socket
from email.message import EmailMessage
from types import TracebackType

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

__all__ = ["SMTPServer"]


class _Collector:
    def __init__(self, owner: SMTPServer) -> None:
        self.owner = owner

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        refusal = self.owner.refuse.get(address.lower())
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data: bytes = envelope.original_content or b""
        self.owner.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos), data))
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.owner.messages.append(parsed)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SMTPServer:
    """aiosmtpd's Controller on 127.0.0.1 with a handler that collects messages."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.port = _free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str], bytes]] = []
        self.refuse: dict[str, str] = {}
        self._controller: Controller | None = None

    def start(self) -> SMTPServer:
        self._controller = Controller(_Collector(self), hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SMTPServer:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def clear(self) -> None:
        self.messages.clear()
        self.envelopes.clear()
        self.refuse.clear()

    def __repr__(self) -> str:
        return f"SMTPServer({self.host}:{self.port}, {len(self.messages)} messages)"
