"""SMS composition: what a message costs in segments, and the unaccented fallback."""

from __future__ import annotations

import pytest

from delivery.composer import (
    SMS_TEMPLATES,
    ComposedSMS,
    SegmentCount,
    compose_sms,
    count_segments,
    render_template,
    unaccent,
)

# The longest the deployment allows: an 11-character brand, a 32-character base URL, 12-character tokens.
LONGEST_BRAND = "BHXH VN HCM"
LONGEST_BASE = "https://kshl.baohiemxahoi.gov.vn"
assert len(LONGEST_BRAND) == 11 and len(LONGEST_BASE) == 32
LONGEST_VALUES = {
    "brand": LONGEST_BRAND,
    "url": f"{LONGEST_BASE}/s/Ab3dEf6hJ9kL",
    "optout_url": f"{LONGEST_BASE}/o/Zx8yWv7uTs6R",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SegmentCount("gsm7", 0, 0, 0)),
        ("a" * 160, SegmentCount("gsm7", 160, 160, 1)),
        ("a" * 161, SegmentCount("gsm7", 161, 161, 2)),
        ("a" * 306, SegmentCount("gsm7", 306, 306, 2)),
        ("a" * 307, SegmentCount("gsm7", 307, 307, 3)),
        ("€" * 80, SegmentCount("gsm7", 80, 160, 1)),
        ("€" * 80 + "a", SegmentCount("gsm7", 81, 161, 2)),
        ("{[~]}|^\\" + "a" * 144, SegmentCount("gsm7", 152, 160, 1)),
        ("é à ü Ñ £ ¥ @ _", SegmentCount("gsm7", 15, 15, 1)),
        ("ư" * 70, SegmentCount("ucs2", 70, 70, 1)),
        ("ư" * 71, SegmentCount("ucs2", 71, 71, 2)),
        ("ư" * 134, SegmentCount("ucs2", 134, 134, 2)),
        ("ư" * 135, SegmentCount("ucs2", 135, 135, 3)),
        ("😀" * 35, SegmentCount("ucs2", 35, 70, 1)),
        ("😀" * 36, SegmentCount("ucs2", 36, 72, 2)),
    ],
    ids=lambda value: repr(value)[:30],
)
def test_segment_counts_follow_gsm7_and_ucs2_limits(text: str, expected: SegmentCount) -> None:
    assert count_segments(text) == expected


def test_a_single_vietnamese_diacritic_turns_a_message_into_ucs2() -> None:
    plain = "BHXH VN: moi ban danh gia dich vu " + "x" * 60
    assert count_segments(plain) == SegmentCount("gsm7", 94, 94, 1)
    accented = plain.replace("danh", "đánh")
    assert count_segments(accented).encoding == "ucs2"
    assert count_segments(accented).segments == 2


def test_unaccent_strips_every_vietnamese_mark_and_keeps_the_rest() -> None:
    sentence = (
        "Đánh giá mức độ hài lòng của người dân đối với Bảo hiểm xã hội Việt Nam: "
        "Ưu tiên giải quyết hồ sơ nhanh, thủ tục gọn! (Số 1, ngõ 2) — cảm ơn 100%."
    )
    assert unaccent(sentence) == (
        "Danh gia muc do hai long cua nguoi dan doi voi Bao hiem xa hoi Viet Nam: "
        "Uu tien giai quyet ho so nhanh, thu tuc gon! (So 1, ngo 2) — cam on 100%."
    )


def test_unaccent_handles_all_vowels_in_all_tones_and_decomposed_input() -> None:
    vowels = "aăâeêioôơuưy"
    tones = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]
    import unicodedata

    for composed in (True, False):
        for vowel in vowels:
            for tone in tones:
                text = vowel + tone
                text = unicodedata.normalize("NFC" if composed else "NFD", text)
                assert unaccent(text) in "aeiouy", repr(text)
                assert unaccent(text.upper()) in "AEIOUY", repr(text)
    assert unaccent("Đồng đội") == "Dong doi"


def test_auto_sends_the_unaccented_form_when_the_accented_one_needs_more_segments() -> None:
    text = "BHXH VN: Mời bạn đánh giá dịch vụ vừa nhận tại quầy. Xin cảm ơn!"
    assert count_segments(text).segments == 1  # short enough even in UCS-2
    assert compose_sms(text) == ComposedSMS(text, "ucs2", 1, "auto", unaccented=False)

    longer = text + " Ý kiến của bạn giúp chúng tôi phục vụ tốt hơn."
    assert count_segments(longer).segments == 2
    composed = compose_sms(longer)
    assert composed.unaccented
    assert composed.text == unaccent(longer)
    assert (composed.encoding, composed.segments) == ("gsm7", 1)


def test_unicode_and_unaccented_modes_do_what_they_say() -> None:
    text = "Mời bạn đánh giá " * 6
    assert compose_sms(text, mode="unicode").text == text
    assert compose_sms(text, mode="unicode").segments == 2
    assert compose_sms("Mời bạn", mode="unaccented") == ComposedSMS("Moi ban", "gsm7", 1, "unaccented", True)
    assert compose_sms("Hello", mode="unaccented").unaccented is False
    with pytest.raises(ValueError, match="unicode, unaccented, auto"):
        compose_sms("x", mode="ascii")  # type: ignore[arg-type]


def test_unaccent_cannot_always_make_gsm7() -> None:
    # Characters outside GSM-7 that are not Vietnamese marks stay, and stay UCS-2.
    assert compose_sms("BHXH “Việt Nam”").encoding == "ucs2"


def test_render_template_fills_placeholders_and_names_a_missing_one() -> None:
    assert render_template("$brand: $url", brand="BHXH VN", url="https://x.vn/s/a") == "BHXH VN: https://x.vn/s/a"
    with pytest.raises(ValueError, match=r"\$optout_url"):
        render_template("$brand $optout_url", brand="BHXH VN")


def test_templates_exist_for_invitations_and_reminders_in_vietnamese_and_english() -> None:
    assert set(SMS_TEMPLATES) >= {"invitation", "reminder"}
    for kind in ("invitation", "reminder"):
        assert set(SMS_TEMPLATES[kind]) >= {"vi", "en"}


@pytest.mark.parametrize(
    ("kind", "language"),
    [(kind, language) for kind, texts in SMS_TEMPLATES.items() for language in texts],
)
def test_every_bundled_template_fits_one_segment_in_the_form_it_is_sent_in(kind: str, language: str) -> None:
    text = render_template(SMS_TEMPLATES[kind][language], **LONGEST_VALUES)
    sent = compose_sms(text, mode="auto")
    assert sent.segments == 1, f"{kind}/{language} needs {sent.segments} segments as sent: {sent.text!r}"
    assert count_segments(sent.text).segments == 1
    # Brand first, the link, and the opt-out link survive intact (the unaccented form keeps URLs).
    assert sent.text.startswith(LONGEST_BRAND)
    assert LONGEST_VALUES["url"] in sent.text
    assert LONGEST_VALUES["optout_url"] in sent.text
    # In unaccented mode it fits too: the form chosen when the deployment says "unaccented".
    assert compose_sms(text, mode="unaccented").segments == 1


def test_vietnamese_templates_are_written_with_their_accents() -> None:
    # The accented form is what "unicode" mode sends; it must read as proper Vietnamese.
    for kind in SMS_TEMPLATES:
        assert count_segments(SMS_TEMPLATES[kind]["vi"]).encoding == "ucs2"
