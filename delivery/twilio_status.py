"""Twilio status callbacks: signature checks, out-of-order updates, and what a status means.

Twilio signs each callback (``X-Twilio-Signature``: HMAC-SHA1 of the URL and the sorted form
fields, keyed by the auth token) and retries, so callbacks may repeat and arrive out of order.
``should_apply`` keeps the furthest status: a late ``sent`` never overwrites ``delivered``.

Example::

    >>> should_apply("delivered", "sent"), should_apply("sent", "delivered")
    (False, True)
    >>> callback_outcome("undelivered", "30003")
    'undeliverable'
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from twilio.request_validator import RequestValidator

from delivery.channels import map_twilio_error

__all__ = ["STATUS_RANK", "CallbackOutcome", "callback_outcome", "should_apply", "signature_valid"]

CallbackOutcome = Literal["sent", "delivered", "failed", "opted_out", "not_mobile", "undeliverable"]

# How far along a message is. Failures are terminal (rank 4) but rank below delivered (5), so a
# stray failure never undoes a delivery receipt, and nothing moves a failure back to sending.
STATUS_RANK: Mapping[str, int] = MappingProxyType(
    {
        "queued": 0,
        "accepted": 0,
        "scheduled": 0,
        "sending": 1,
        "sent": 2,
        "failed": 4,
        "undelivered": 4,
        "canceled": 4,
        "delivered": 5,
        "read": 5,  # WhatsApp/RCS only; as good as delivered
    }
)


def signature_valid(auth_token: str, url: str, params: Mapping[str, str], signature: str | None) -> bool:
    """Whether ``signature`` is Twilio's for this ``url`` (the public URL Twilio called) and form.

    >>> validator = RequestValidator("token")
    >>> fields = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    >>> signed = validator.compute_signature("https://ks.example.vn/webhooks/twilio/status", fields)
    >>> signature_valid("token", "https://ks.example.vn/webhooks/twilio/status", fields, signed)
    True
    >>> signature_valid("token", "https://ks.example.vn/webhooks/twilio/status", fields, None)
    False
    """
    if not signature or not auth_token:
        return False
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))


def should_apply(current_status: str | None, new_status: str) -> bool:
    """Whether a callback with ``new_status`` should replace ``current_status``.

    Only a move forward applies; repeats and unknown statuses do not. A failure after
    ``sent`` applies (the carrier gave up), a failure after ``delivered`` does not.
    """
    new_rank = STATUS_RANK.get(new_status)
    if new_rank is None:
        return False
    if current_status is None:
        return True
    current_rank = STATUS_RANK.get(current_status, -1)
    return new_rank > current_rank


def callback_outcome(message_status: str, error_code: str | int | None) -> CallbackOutcome:
    """What a callback means for the invitation: sent, delivered, or why it failed.

    >>> callback_outcome("delivered", None), callback_outcome("failed", 21610)
    ('delivered', 'opted_out')
    """
    if message_status in ("delivered", "read"):
        return "delivered"
    if message_status in ("failed", "undelivered", "canceled"):
        code = _code(error_code)
        outcome = map_twilio_error(code, None) if code is not None else "failed"
        if outcome in ("opted_out", "not_mobile", "undeliverable"):
            return outcome
        return "failed"
    return "sent"


def _code(error_code: str | int | None) -> int | None:
    if error_code is None or error_code == "":
        return None
    try:
        return int(error_code)
    except (TypeError, ValueError):
        return None
