"""Invitation emails through a real SMTP server (aiosmtpd) on loopback: parts, headers, links."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from types import MappingProxyType

import pytest

from delivery.channels import OutgoingMessage, SMTPEmailChannel, map_smtp_error
from delivery.email import answer_url, build_invitation_email
from tests.support.smtp_server import SMTPServer

SURVEY_URL = "https://ks.example.vn/s/Ab3dEf6hJ9kL"
OPTOUT_URL = "https://ks.example.vn/o/Ab3dEf6hJ9kL"
SCALE_VI = [(1, "Rất không hài lòng"), (2, "Không hài lòng"), (3, "Bình thường"), (4, "Hài lòng"), (5, "Rất hài lòng")]
SCALE_EN = [(1, "Very dissatisfied"), (2, "Dissatisfied"), (3, "Neutral"), (4, "Satisfied"), (5, "Very satisfied")]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images: list[str] = []
        self.stylesheets = 0
        self.style_blocks = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        if tag == "img":
            self.images.append(values.get("src") or "")
        if tag == "link":
            self.stylesheets += 1
        if tag == "style":
            self.style_blocks += 1


def links_of(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


def invitation(language: str = "vi", kind: str = "invitation") -> tuple[str, str, str]:
    vi = language == "vi"
    return build_invitation_email(
        language=language,
        brand="BHXH Việt Nam" if vi else "Vietnam Social Security",
        title="Khảo sát mức độ hài lòng" if vi else "Satisfaction survey",
        intro="Cảm ơn bạn đã liên hệ tổng đài 1900 9068." if vi else "Thank you for calling our hotline 1900 9068.",
        survey_url=SURVEY_URL,
        optout_url=OPTOUT_URL,
        first_question=("q1", SCALE_VI if vi else SCALE_EN),
        first_question_text="Bạn hài lòng với cuộc gọi không?" if vi else "Were you satisfied with the call?",
        kind=kind,  # type: ignore[arg-type]
    )


def message_for(language: str = "vi", to: str = "an.nguyen@example.vn", kind: str = "invitation") -> OutgoingMessage:
    subject, text, html = invitation(language, kind)
    return OutgoingMessage(
        channel="email",
        to=to,
        text=text,
        subject=subject,
        html=html,
        headers=MappingProxyType({"List-Unsubscribe": f"<{OPTOUT_URL}>"}),
        reference="inv-0042",
    )


@pytest.fixture(scope="module")
def smtp() -> Iterator[SMTPServer]:
    with SMTPServer() as server:
        yield server


@pytest.fixture
def channel(smtp: SMTPServer) -> SMTPEmailChannel:
    smtp.clear()
    return SMTPEmailChannel(smtp.host, smtp.port, from_address="khaosat@baohiemxahoi.gov.vn", timeout=5)


async def test_the_email_arrives_with_text_and_html_in_the_persons_language(
    smtp: SMTPServer, channel: SMTPEmailChannel
) -> None:
    result = await channel.send(message_for("vi"))
    assert (result.status, result.outcome) == ("sent", "sent")
    [received] = smtp.messages
    assert received["To"] == "an.nguyen@example.vn"
    assert received["From"] == "khaosat@baohiemxahoi.gov.vn"
    assert received["Subject"] == "BHXH Việt Nam: Khảo sát mức độ hài lòng"
    assert received.get_content_type() == "multipart/alternative"
    plain = received.get_body(preferencelist=("plain",))
    html = received.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    plain_text, html_text = plain.get_content(), html.get_content()
    assert "Cảm ơn bạn đã liên hệ tổng đài" in plain_text
    assert 'lang="vi"' in html_text and "Rất hài lòng" in html_text
    assert "Từ chối" in plain_text


async def test_english_for_an_english_speaker(smtp: SMTPServer, channel: SMTPEmailChannel) -> None:
    await channel.send(message_for("en"))
    [received] = smtp.messages
    html = received.get_body(preferencelist=("html",))
    assert html is not None
    assert 'lang="en"' in html.get_content()
    assert "Opt out" in html.get_content()
    assert received["Subject"] == "Vietnam Social Security: Satisfaction survey"


async def test_unsubscribe_headers_and_message_id_carry_the_reference(
    smtp: SMTPServer, channel: SMTPEmailChannel
) -> None:
    result = await channel.send(message_for())
    [received] = smtp.messages
    assert received["List-Unsubscribe"] == f"<{OPTOUT_URL}>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "inv-0042" in received["Message-ID"]
    assert received["Message-ID"].endswith("@baohiemxahoi.gov.vn>")
    assert result.provider_message_id == received["Message-ID"].strip()
    assert received["Date"]


async def test_the_first_question_arrives_as_one_click_buttons(smtp: SMTPServer, channel: SMTPEmailChannel) -> None:
    await channel.send(message_for())
    [received] = smtp.messages
    html = received.get_body(preferencelist=("html",))
    plain = received.get_body(preferencelist=("plain",))
    assert html is not None and plain is not None
    links = links_of(html.get_content()).links
    assert [f"{SURVEY_URL}?q1={value}" for value in range(1, 6)] == [link for link in links if "?q1=" in link]
    assert SURVEY_URL in links and OPTOUT_URL in links
    # The plain-text part offers the same one-click links.
    for value in range(1, 6):
        assert f"{SURVEY_URL}?q1={value}" in plain.get_content()


async def test_a_refused_recipient_is_undeliverable(smtp: SMTPServer, channel: SMTPEmailChannel) -> None:
    smtp.refuse["nobody@example.vn"] = "550 5.1.1 <nobody@example.vn>: Recipient address rejected"
    result = await channel.send(message_for(to="nobody@example.vn"))
    assert (result.status, result.outcome, result.error_code) == ("failed", "undeliverable", "550")
    assert "Recipient address rejected" in (result.error_message or "")
    assert not result.retryable
    assert smtp.messages == []


async def test_a_temporary_refusal_is_retried(smtp: SMTPServer, channel: SMTPEmailChannel) -> None:
    smtp.refuse["busy@example.vn"] = "451 4.3.0 Try again later"
    result = await channel.send(message_for(to="busy@example.vn"))
    assert (result.status, result.outcome, result.error_code) == ("failed", "retry", "451")
    assert result.retryable


async def test_no_server_is_retried() -> None:
    channel = SMTPEmailChannel("127.0.0.1", 9, from_address="khaosat@example.vn", timeout=2)
    result = await channel.send(message_for())
    assert (result.status, result.outcome) == ("failed", "retry")


def test_smtp_configuration_errors() -> None:
    with pytest.raises(ValueError, match="use_tls"):
        SMTPEmailChannel("h", 465, use_tls=True, start_tls=True, from_address="a@b.vn")
    with pytest.raises(ValueError, match="username and password"):
        SMTPEmailChannel("h", 25, username="u", from_address="a@b.vn")
    with pytest.raises(ValueError, match="from_address"):
        SMTPEmailChannel("h", 25, from_address="nobody")


def test_map_smtp_error() -> None:
    assert [map_smtp_error(c) for c in (550, 553, 421, 450, None)] == ["undeliverable"] * 2 + ["retry"] * 3


def test_the_html_uses_inline_styles_and_no_remote_images() -> None:
    for language in ("vi", "en"):
        for kind in ("invitation", "reminder"):
            _, _, html = invitation(language, kind)
            parsed = links_of(html)
            assert parsed.images == [] and parsed.stylesheets == 0 and parsed.style_blocks == 0
            assert "style=" in html
            assert not re.search(r"""src=["']https?:""", html)


def test_a_reminder_says_it_is_a_reminder() -> None:
    subject_vi, text_vi, _ = invitation("vi", "reminder")
    subject_en, text_en, html_en = invitation("en", "reminder")
    assert subject_vi == "BHXH Việt Nam: Nhắc lại - Khảo sát mức độ hài lòng"
    assert subject_en == "Vietnam Social Security: Reminder - Satisfaction survey"
    assert "chưa nhận được ý kiến" in text_vi
    assert "not heard from you" in text_en and "not heard from you" in html_en
    assert f"{SURVEY_URL}?q1=5" in html_en


def test_without_a_first_question_there_are_no_buttons() -> None:
    _, text, html = build_invitation_email(
        language="en",
        brand="BHXH",
        title="Survey",
        intro="Hello.",
        survey_url=SURVEY_URL,
        optout_url=OPTOUT_URL,
        first_question=None,
    )
    assert "?q1=" not in html and "?q1=" not in text
    assert SURVEY_URL in links_of(html).links


def test_text_from_the_questionnaire_is_escaped_in_html() -> None:
    _, _, html = build_invitation_email(
        language="en",
        brand="A&B",
        title="<script>x</script>",
        intro="1 < 2",
        survey_url=SURVEY_URL,
        optout_url=OPTOUT_URL,
        first_question=("q1", [(1, "<b>bad</b>")]),
    )
    assert "<script>" not in html and "&lt;script&gt;" in html and "A&amp;B" in html and "&lt;b&gt;" in html


def test_an_unknown_language_falls_back_to_vietnamese() -> None:
    subject, _, html = build_invitation_email(
        language="fr",
        brand="BHXH",
        title="Khảo sát",
        intro="...",
        survey_url=SURVEY_URL,
        optout_url=OPTOUT_URL,
        first_question=None,
    )
    assert 'lang="vi"' in html and "Từ chối" in html


def test_answer_url_keeps_an_existing_query() -> None:
    assert answer_url(SURVEY_URL + "?lang=en", "q1", 3) == SURVEY_URL + "?lang=en&q1=3"
