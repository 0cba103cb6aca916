"""SMS texts: segment counting (GSM-7 and UCS-2), the unaccented Vietnamese fallback, templates.

One Vietnamese diacritic turns the whole message into UCS-2: 70 characters a segment (67 when
split) instead of 160 (153). Sending the unaccented form is the usual local practice and halves
the cost, so ``compose_sms(mode="auto")`` falls back to it when the accented text needs more
segments.

Example::

    >>> count_segments("BHXH VN: moi ban danh gia").segments
    1
    >>> unaccent("Bảo hiểm xã hội Việt Nam")
    'Bao hiem xa hoi Viet Nam'
    >>> compose_sms("Đánh giá " * 9).unaccented
    True
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = [
    "SMS_TEMPLATES",
    "ComposedSMS",
    "SegmentCount",
    "compose_sms",
    "count_segments",
    "render_template",
    "unaccent",
]

Encoding = Literal["gsm7", "ucs2"]
SMSMode = Literal["unicode", "unaccented", "auto"]

# GSM 03.38 default alphabet (one septet each) and its extension table (escape + septet: two units).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

_SINGLE = {"gsm7": 160, "ucs2": 70}
_CONCATENATED = {"gsm7": 153, "ucs2": 67}


@dataclass(frozen=True)
class SegmentCount:
    """How a text travels as SMS: its encoding, its length and the segments it is billed as.

    ``characters`` counts code points; ``units`` counts what the segment limits apply to
    (septets for GSM-7, extension characters counting 2; UTF-16 code units for UCS-2).
    """

    encoding: Encoding
    characters: int
    units: int
    segments: int


def count_segments(text: str) -> SegmentCount:
    """Count the SMS segments of ``text`` (GSM-7: 160 single / 153 split; UCS-2: 70 / 67).

    >>> count_segments("a" * 160).segments, count_segments("a" * 161).segments
    (1, 2)
    >>> count_segments("Việt").encoding
    'ucs2'
    """
    encoding: Encoding
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        encoding = "gsm7"
        units = sum(2 if char in GSM7_EXTENSION else 1 for char in text)
    else:
        encoding = "ucs2"
        units = len(text.encode("utf-16-le")) // 2
    if units <= _SINGLE[encoding]:
        segments = 1 if units else 0
    else:
        per_segment = _CONCATENATED[encoding]
        segments = -(-units // per_segment)
    return SegmentCount(encoding=encoding, characters=len(text), units=units, segments=segments)


def unaccent(text: str) -> str:
    """Vietnamese without its marks: đ→d, Đ→D, tone and vowel marks dropped; all else kept.

    >>> unaccent("Đánh giá mức độ hài lòng")
    'Danh gia muc do hai long'
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(char for char in decomposed if unicodedata.category(char) != "Mn")
    return unicodedata.normalize("NFC", stripped)


@dataclass(frozen=True)
class ComposedSMS:
    """The text to send, how it is encoded, its segments, the mode asked for and whether it was unaccented."""

    text: str
    encoding: Encoding
    segments: int
    mode: SMSMode
    unaccented: bool


def compose_sms(text: str, mode: SMSMode = "auto") -> ComposedSMS:
    """Choose the form of ``text`` to send under ``mode``.

    ``unicode`` sends the text as written; ``unaccented`` always strips the marks; ``auto`` sends
    the unaccented Vietnamese form when the accented one needs more segments.

    >>> compose_sms("BHXH VN: Cảm ơn bạn").unaccented
    False
    >>> compose_sms("BHXH VN: Cảm ơn bạn", mode="unaccented").text
    'BHXH VN: Cam on ban'
    """
    if mode not in ("unicode", "unaccented", "auto"):
        raise ValueError(f"sms mode must be one of unicode, unaccented, auto; got {mode!r}")
    accented = count_segments(text)
    if mode == "unicode":
        return ComposedSMS(text, accented.encoding, accented.segments, mode, unaccented=False)
    plain_text = unaccent(text)
    plain = count_segments(plain_text)
    if mode == "unaccented" or plain.segments < accented.segments:
        return ComposedSMS(plain_text, plain.encoding, plain.segments, mode, unaccented=plain_text != text)
    return ComposedSMS(text, accented.encoding, accented.segments, mode, unaccented=False)


def render_template(template: str, **values: object) -> str:
    """Fill ``$name`` placeholders; a missing value is an error naming it, never a silent blank.

    >>> render_template("$brand: $url", brand="BHXH VN", url="https://x.vn/s/abc")
    'BHXH VN: https://x.vn/s/abc'
    """
    try:
        return string.Template(template).substitute({name: str(value) for name, value in values.items()})
    except KeyError as error:
        raise ValueError(f"the template needs a value for ${error.args[0]}") from None


def _frozen(templates: dict[str, dict[str, str]]) -> Mapping[str, Mapping[str, str]]:
    return MappingProxyType({kind: MappingProxyType(texts) for kind, texts in templates.items()})


# Brand name first (senders are pre-registered brand names, and people read the first words),
# the short survey link, an opt-out hint. Each fits one segment in the form it is sent in with an
# 11-character brand and 32-character base URL (tested): the Vietnamese ones go unaccented in auto mode.
SMS_TEMPLATES: Mapping[str, Mapping[str, str]] = _frozen(
    {
        "invitation": {
            "vi": "$brand: Mời bạn đánh giá dịch vụ vừa nhận: $url Từ chối: $optout_url",
            "en": "$brand: Please rate the service you received: $url Opt out: $optout_url",
        },
        "reminder": {
            "vi": "$brand nhắc: Ý kiến của bạn rất quan trọng: $url Từ chối: $optout_url",
            "en": "$brand reminder: your opinion matters, rate us: $url Opt out: $optout_url",
        },
    }
)
