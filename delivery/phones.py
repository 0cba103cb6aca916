"""Phone numbers and email addresses as people write them, normalised for look-up and sending.

Phone numbers go through Google's ``phonenumbers`` (libphonenumber) metadata, so the national
formats, the ``+84``/``84`` prefixes and the mobile/landline ranges stay right as Vietnam renumbers.

Example::

    >>> normalise_phone("0912 345 678")
    Phone(e164='+84912345678', kind='mobile')
    >>> normalise_phone("(024) 3936 1234").kind
    'landline'
    >>> normalise_email("  An.Nguyen@Example.VN ")
    'an.nguyen@example.vn'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

__all__ = ["EmailError", "Phone", "PhoneError", "normalise_email", "normalise_phone"]

PhoneKind = Literal["mobile", "landline", "other"]

_MOBILE_TYPES = {PhoneNumberType.MOBILE}
# Vietnamese fixed-line ranges are listed apart from mobile ones; FIXED_LINE_OR_MOBILE is ambiguous,
# and an ambiguous number is not trusted with an SMS.
_LANDLINE_TYPES = {PhoneNumberType.FIXED_LINE}
# People write "84 912 345 678" without the plus; libphonenumber would read the 84 as a trunk digit.
_COUNTRY_CODE_WITHOUT_PLUS = re.compile(r"^\s*\(?(?:00)?84[\s.\-)]*(?=[1-9])")


@dataclass(frozen=True)
class Phone:
    """A phone number in E.164 form (``+84912345678``) and what kind of line it is."""

    e164: str
    kind: PhoneKind


class PhoneError(ValueError):
    """A phone number that cannot be read; the message names the number and the problem."""


class EmailError(ValueError):
    """An email address that cannot be used; the message names the address and the problem."""


def normalise_phone(raw: str, region: str = "VN") -> Phone:
    """Read a phone number as people write it and return it in E.164 form with its kind.

    ``region`` is the country assumed for numbers written without a country code.

    >>> normalise_phone("84-912-345-678").e164
    '+84912345678'
    >>> normalise_phone("0912")
    Traceback (most recent call last):
      ...
    delivery.phones.PhoneError: '0912' is not a valid phone number in VN
    """
    text = raw.strip()
    if not text:
        raise PhoneError("the phone number is empty")
    if len(text) > 40:
        raise PhoneError(f"{text[:20]!r}… is too long to be a phone number")
    if region == "VN" and not text.startswith("+"):
        candidate = _COUNTRY_CODE_WITHOUT_PLUS.sub("+84", text, count=1)
        # "84..." could also be a national number; keep the reading that is a valid number.
        if candidate != text and _valid(candidate, region):
            text = candidate
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        raise PhoneError(f"{raw.strip()!r} is not a phone number: {_reason(error)}") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"{raw.strip()!r} is not a valid phone number in {_region_of(number, region)}")
    number_type = phonenumbers.number_type(number)
    kind: PhoneKind
    if number_type in _MOBILE_TYPES:
        kind = "mobile"
    elif number_type in _LANDLINE_TYPES:
        kind = "landline"
    else:
        kind = "other"
    return Phone(e164=phonenumbers.format_number(number, PhoneNumberFormat.E164), kind=kind)


def _valid(text: str, region: str) -> bool:
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(text, region)))
    except phonenumbers.NumberParseException:
        return False


def _region_of(number: phonenumbers.PhoneNumber, default: str) -> str:
    region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    return region if region and region != "ZZ" else default


def _reason(error: phonenumbers.NumberParseException) -> str:
    reasons = {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
        phonenumbers.NumberParseException.NOT_A_NUMBER: "it does not look like a number",
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
        phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
        phonenumbers.NumberParseException.TOO_LONG: "too long",
    }
    return reasons.get(error.error_type, str(error))


# Deliberately modest: one @, a dot-atom local part, a domain of LDH labels with a dot. Anything
# stranger (quoted local parts, IP literals) is not worth a survey invitation.
_LOCAL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def normalise_email(raw: str) -> str:
    """Trim an email address and lower-case it, after a syntax check (no DNS look-up).

    The local part is lower-cased too: strictly it is case-sensitive, but no mail provider in
    use treats ``An@x.vn`` and ``an@x.vn`` as different people, and one respondent must have one
    look-up key (the HMAC of this normalised form).

    >>> normalise_email("bad@")
    Traceback (most recent call last):
      ...
    delivery.phones.EmailError: 'bad@' is not a valid email address: the domain is missing
    """
    text = raw.strip()
    if not text:
        raise EmailError("the email address is empty")
    shown = text if len(text) <= 60 else text[:57] + "..."
    if len(text) > 254:
        raise EmailError(f"{shown!r} is not a valid email address: longer than 254 characters")
    if text.count("@") != 1:
        raise EmailError(f"{shown!r} is not a valid email address: it must contain exactly one @")
    local, domain = text.lower().split("@")
    if not local:
        raise EmailError(f"{shown!r} is not a valid email address: the part before @ is missing")
    if not domain:
        raise EmailError(f"{shown!r} is not a valid email address: the domain is missing")
    if len(local) > 64 or not _LOCAL.fullmatch(local):
        raise EmailError(f"{shown!r} is not a valid email address: the part before @ has characters not allowed")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise EmailError(f"{shown!r} is not a valid email address: the domain is not a valid name") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise EmailError(f"{shown!r} is not a valid email address: the domain {domain!r} is not a valid name")
    return f"{local}@{domain}"
