"""The sandbox channel: the default until a provider is configured; nothing leaves the machine."""

from __future__ import annotations

from delivery.channels import (
    Channel,
    DeliveryResult,
    OutgoingMessage,
    SandboxChannel,
    SMTPEmailChannel,
    TwilioSMSChannel,
)


async def test_the_sandbox_stores_every_message_and_reports_it_sent() -> None:
    stored: list[tuple[OutgoingMessage, DeliveryResult]] = []

    async def store(message: OutgoingMessage, result: DeliveryResult) -> None:
        stored.append((message, result))

    sandbox = SandboxChannel(store)
    sms = OutgoingMessage(channel="sms", to="+84912345678", text="BHXH VN: https://x.vn/s/Ab3dEf6hJ9kL", reference="1")
    mail = OutgoingMessage(channel="email", to="an@example.vn", text="Hello", subject="Survey", html="<p>Hello</p>")
    first, second = await sandbox.send(sms), await sandbox.send(mail)
    assert [m for m, _ in stored] == [sms, mail]
    assert [r for _, r in stored] == [first, second]
    assert first.status == "sent" and first.outcome == "sent" and not first.retryable
    assert first.provider_message_id and first.provider_message_id.startswith("SB")
    assert first.provider_message_id != second.provider_message_id


def test_every_channel_offers_the_one_interface() -> None:
    async def store(message: OutgoingMessage, result: DeliveryResult) -> None:
        return None

    channels: list[Channel] = [
        SandboxChannel(store),
        TwilioSMSChannel("AC1", "token", from_="BHXH"),
        SMTPEmailChannel("127.0.0.1", 25, from_address="a@example.vn"),
    ]
    assert [c.name for c in channels] == ["sandbox", "sms", "email"]


def test_a_text_only_email_is_a_single_part() -> None:
    channel = SMTPEmailChannel("127.0.0.1", 25, from_address="khaosat@example.vn")
    built = channel.build_message(OutgoingMessage(channel="email", to="an@example.vn", text="Xin chào", subject="Chào"))
    assert built.get_content_type() == "text/plain"
    assert built.get_content().strip() == "Xin chào"
    assert "List-Unsubscribe" not in built
