"""Email attachments: the SMTP channel's message carries them as parts of a multipart/mixed after the text and
HTML; the sandbox keeps no bytes, only a line naming each file."""

from __future__ import annotations

import asyncio
import email
import email.policy

import pytest

from delivery.channels import Attachment, OutgoingMessage, SandboxChannel, SMTPEmailChannel

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4


def message(*attachments: Attachment) -> OutgoingMessage:
    return OutgoingMessage("email", "lanh.dao@example.vn", "Báo cáo quý", subject="BHXH VN: Báo cáo",
                           html="<p>Báo cáo quý</p>", reference="report-7-ab12", attachments=attachments)


def channel() -> SMTPEmailChannel:
    return SMTPEmailChannel("127.0.0.1", 25, from_address="baocao@example.vn")


def test_an_email_with_an_attachment_is_mixed_text_and_html_then_the_file_byte_for_byte():
    built = channel().build_message(message(Attachment("unit-HN-BD-2026-Q3-vi.pdf", "application/pdf", PDF)))
    parsed = email.message_from_bytes(built.as_bytes(), policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    body, attached = parsed.iter_parts()
    assert body.get_content_type() == "multipart/alternative"
    assert parsed.get_body(preferencelist=("plain",)).get_content().strip() == "Báo cáo quý"
    assert parsed.get_body(preferencelist=("html",)).get_content().strip() == "<p>Báo cáo quý</p>"
    assert attached.get_content_type() == "application/pdf"
    assert attached.get_filename() == "unit-HN-BD-2026-Q3-vi.pdf"
    assert attached.get_content_disposition() == "attachment"
    assert attached.get_content() == PDF
    assert "report-7-ab12@example.vn>" in parsed["Message-ID"]


def test_an_email_without_attachments_stays_multipart_alternative():
    built = channel().build_message(message())
    assert built.get_content_type() == "multipart/alternative" and list(built.iter_attachments()) == []


def test_the_sandbox_notes_the_attachments_instead_of_keeping_them():
    stored: list[OutgoingMessage] = []

    async def store(outgoing, result):
        stored.append(outgoing)

    result = asyncio.run(SandboxChannel(store).send(message(Attachment("a.pdf", "application/pdf", PDF))))
    assert result.status == "sent"
    [kept] = stored
    assert kept.attachments == ()
    assert kept.text == f"Báo cáo quý\n\n[attachment: a.pdf (application/pdf, {len(PDF):,} bytes)]"


@pytest.mark.parametrize(("filename", "content_type"), [("", "application/pdf"), ("../x.pdf", "application/pdf"),
                                                         ("a\r\nb.pdf", "application/pdf"), ("a.pdf", "pdf")])
def test_an_attachment_needs_a_plain_name_and_a_type_slash_subtype(filename, content_type):
    with pytest.raises(ValueError, match="attachment"):
        Attachment(filename, content_type, PDF)
