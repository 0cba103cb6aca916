"""A local stand-in for Twilio's Messages API, on loopback, for the real SDK to talk to.

It serves ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` like Twilio does: checks
HTTP basic auth (account SID + auth token), records the form fields, and answers 201 with a
Message resource (``sid`` "SM" + 32 hex digits, ``status`` "queued"). It can be told to answer
errors and to be slow, for the channel, worker and benchmark tests.

``GET`` on the same path lists the accepted messages like Twilio: newest first, filtered by ``To``,
``From``, ``DateSent`` / ``DateSent>`` / ``DateSent<`` (the SDK's ``date_sent_after`` is sent as
``DateSent>=...``; compared by day, as Twilio documents), paged with ``PageSize`` and ``Page`` and
Twilio's paging fields (``messages``, ``page``, ``page_size``, ``start``, ``end``, ``uri``,
``first_page_uri``, ``next_page_uri``, ``previous_page_uri``). Listed messages are ``sent``, with a
``date_sent``.

Use it as a context manager and point the channel at ``stub.base_url``::

    with TwilioStub() as stub:
        channel = TwilioSMSChannel(stub.account_sid, stub.auth_token,
                                   messaging_service_sid="MG" + "0" * 32, api_base_url=stub.base_url)
        result = await channel.send(OutgoingMessage("sms", "+84912345678", "BHXH VN: ..."))
        assert stub.messages[0]["Body"] == "BHXH VN: ..."

Knobs (safe to change while it runs):

- ``stub.fail_next(code=21610, status=400, message=..., times=1)``: the next ``times`` requests
  answer a Twilio error document ``{"code", "message", "more_info", "status"}``.
- ``stub.errors_for["+8490..."] = (21614, 400)``: every message to that number fails that way.
- ``stub.latency`` (seconds slept before answering) and ``stub.max_per_second`` (above it the
  stub answers 429 with code 20429, like Twilio's queue limit; ``None`` for no limit).
- ``stub.messages`` (the recorded form fields, in order, as dicts of str), ``stub.requests``
  (count of all requests, failed ones included), ``stub.list_requests`` (count of list requests),
  ``stub.resources`` (the accepted Message resources, with their ``sid``), ``stub.reset()``.
"""

from __future__ import annotations

import base64
import json
import secrets
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode

__all__ = ["StubError", "TwilioStub"]

_PATH_PREFIX = "/2010-04-01/Accounts/"


@dataclass(frozen=True)
class StubError:
    """A Twilio error the stub answers with."""

    code: int
    status: int = 400
    message: str = "Stubbed error"


class TwilioStub:
    """A threaded HTTP server on 127.0.0.1 answering like Twilio's Messages API."""

    def __init__(
        self,
        account_sid: str = "AC" + "a" * 32,
        auth_token: str = "stub-auth-token",
        *,
        latency: float = 0.0,
        max_per_second: float | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.latency = latency
        self.max_per_second = max_per_second
        self.messages: list[dict[str, str]] = []
        self.requests = 0
        self.list_requests = 0
        # the Message resources accepted, in order, with their creation time (for the list endpoint)
        self._resources: list[tuple[datetime, dict[str, Any]]] = []
        self.errors_for: dict[str, tuple[int, int]] = {}
        self._pending_errors: deque[StubError] = deque()
        self._recent: deque[float] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> TwilioStub:
        stub = self

        class Handler(_Handler):
            owner = stub

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="twilio-stub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> TwilioStub:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "the stub is not running"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The URL to give as ``api_base_url`` (it replaces https://api.twilio.com)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def resources(self) -> list[dict[str, Any]]:
        """The Message resources accepted so far, oldest first, as the list endpoint shows them."""
        with self._lock:
            return [dict(resource) for _, resource in self._resources]

    # -- knobs -------------------------------------------------------------------------------
    def fail_next(self, code: int, status: int = 400, message: str = "Stubbed error", times: int = 1) -> None:
        """Answer the next ``times`` requests with this Twilio error."""
        with self._lock:
            self._pending_errors.extend(StubError(code, status, message) for _ in range(times))

    def reset(self) -> None:
        """Forget recorded messages, pending errors and per-number errors."""
        with self._lock:
            self.messages.clear()
            self._resources.clear()
            self.requests = 0
            self.list_requests = 0
            self.errors_for.clear()
            self._pending_errors.clear()
            self._recent.clear()

    # -- used by the handler -----------------------------------------------------------------
    def _answer(self, fields: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests += 1
            if self.max_per_second is not None:
                now = time.monotonic()
                while self._recent and now - self._recent[0] >= 1.0:
                    self._recent.popleft()
                if len(self._recent) >= self.max_per_second:
                    return _error(StubError(20429, 429, "Too Many Requests"))
                self._recent.append(now)
            if self._pending_errors:
                return _error(self._pending_errors.popleft())
            to = fields.get("To", "")
            if to in self.errors_for:
                code, status = self.errors_for[to]
                return _error(StubError(code, status, f"Stubbed error for {to}"))
            if not to:
                return _error(StubError(21604, 400, "A 'To' phone number is required."))
            if not fields.get("Body"):
                return _error(StubError(21602, 400, "Message body is required."))
            if not (fields.get("From") or fields.get("MessagingServiceSid")):
                return _error(StubError(21603, 400, "A 'From' or 'MessagingServiceSid' parameter is required."))
            self.messages.append(fields)
            created = datetime.now(UTC)
            resource = self._resource(fields, created)
            self._resources.append((created, resource))
        return 201, {**resource, "status": "queued", "date_sent": None}

    def _resource(self, fields: dict[str, str], created: datetime) -> dict[str, Any]:
        sid = "SM" + secrets.token_hex(16)
        created_text = formatdate(created.timestamp(), usegmt=True)
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "messaging_service_sid": fields.get("MessagingServiceSid"),
            "from": fields.get("From"),
            "to": fields["To"],
            "body": fields["Body"],
            "status": "sent",
            "direction": "outbound-api",
            "num_segments": "1",
            "num_media": "0",
            "price": None,
            "price_unit": "USD",
            "error_code": None,
            "error_message": None,
            "api_version": "2010-04-01",
            "date_created": created_text,
            "date_updated": created_text,
            "date_sent": created_text,
            "uri": f"{_PATH_PREFIX}{self.account_sid}/Messages/{sid}.json",
            "subresource_uris": {"media": f"{_PATH_PREFIX}{self.account_sid}/Messages/{sid}/Media.json"},
        }

    def _list(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """One page of the accepted messages, newest first, filtered like Twilio's Messages list."""
        try:
            page = int(query.get("Page", "0"))
            page_size = min(1000, max(1, int(query.get("PageSize", "50"))))
            on_day = _day(query.get("DateSent"))
            from_day = _day(query.get("DateSent>"))
            to_day = _day(query.get("DateSent<"))
        except ValueError as error:
            return _error(StubError(20001, 400, f"Invalid paging or date parameter: {error}"))
        with self._lock:
            self.requests += 1
            self.list_requests += 1
            resources = list(reversed(self._resources))
        chosen = [
            resource
            for created, resource in resources
            if (not query.get("To") or resource["to"] == query["To"])
            and (not query.get("From") or resource["from"] == query["From"])
            and (on_day is None or created.date() == on_day)
            and (from_day is None or created.date() >= from_day)
            and (to_day is None or created.date() <= to_day)
        ]
        start = page * page_size
        items = chosen[start : start + page_size]
        filters = {key: value for key, value in query.items() if key not in ("Page", "PageSize", "PageToken")}

        def page_uri(number: int) -> str:
            return f"{path}?{urlencode({**filters, 'PageSize': page_size, 'Page': number})}"

        more = start + page_size < len(chosen)
        return 200, {
            "messages": items,
            "page": page,
            "page_size": page_size,
            "start": start,
            "end": start + max(len(items) - 1, 0),
            "uri": page_uri(page),
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1) + f"&PageToken=PA{secrets.token_hex(8)}" if more else None,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
        }


def _day(value: str | None) -> date | None:
    """The day of a ``DateSent`` filter: ``YYYY-MM-DD`` or the SDK's ``YYYY-MM-DDTHH:MM:SSZ`` (Twilio keeps the day)."""
    return None if not value else date.fromisoformat(value[:10])


def _error(error: StubError) -> tuple[int, dict[str, Any]]:
    return error.status, {
        "code": error.code,
        "message": error.message,
        "more_info": f"https://www.twilio.com/docs/errors/{error.code}",
        "status": error.status,
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout tests, a killed worker) is not the stub's error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    owner: TwilioStub
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's aiohttp session expects

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence per-request logging
        return

    def do_GET(self) -> None:
        owner = self.owner
        path, _, query = self.path.partition("?")
        if path != f"{_PATH_PREFIX}{owner.account_sid}/Messages.json":
            self._send(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})
            return
        if not self._authorised():
            self._send(401, {"code": 20003, "message": "Authenticate", "status": 401})
            return
        status, document = owner._list(path, dict(parse_qsl(query, keep_blank_values=True)))
        self._send(status, document)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8")
        owner = self.owner
        expected_path = f"{_PATH_PREFIX}{owner.account_sid}/Messages.json"
        if self.path.split("?")[0] != expected_path:
            self._send(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})
            return
        if not self._authorised():
            self._send(401, {"code": 20003, "message": "Authenticate", "status": 401})
            return
        if owner.latency:
            time.sleep(owner.latency)
        status, document = owner._answer(dict(parse_qsl(body, keep_blank_values=True)))
        self._send(status, document)

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.owner.account_sid and password == self.owner.auth_token

    def _send(self, status: int, document: dict[str, Any]) -> None:
        payload = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
