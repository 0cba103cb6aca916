"""SMS through the real Twilio SDK to a local stub of the Messages API, and status callbacks."""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from twilio.request_validator import RequestValidator

from delivery.channels import DeliveryResult, OutgoingMessage, TwilioSMSChannel, map_twilio_error
from delivery.twilio_status import STATUS_RANK, callback_outcome, should_apply, signature_valid
from tests.support.twilio_stub import TwilioStub

SERVICE_SID = "MG" + "1" * 32
CALLBACK = "https://ks.example.vn/webhooks/twilio/status"
SMS = OutgoingMessage(channel="sms", to="+84912345678", text="BHXH VN: Mời bạn đánh giá dịch vụ", reference="inv-42")


@pytest.fixture(scope="module")
def stub() -> Iterator[TwilioStub]:
    with TwilioStub() as running:
        yield running


@pytest.fixture
async def channel(stub: TwilioStub) -> AsyncIterator[TwilioSMSChannel]:
    stub.reset()
    sms = TwilioSMSChannel(
        stub.account_sid,
        stub.auth_token,
        messaging_service_sid=SERVICE_SID,
        status_callback=CALLBACK,
        api_base_url=stub.base_url,
    )
    yield sms
    await sms.aclose()


async def test_the_sdk_delivers_body_recipient_service_and_callback(
    stub: TwilioStub, channel: TwilioSMSChannel
) -> None:
    result = await channel.send(SMS)
    assert result.status == "sent" and result.outcome == "sent"
    assert result.provider_message_id is not None and result.provider_message_id.startswith("SM")
    assert stub.messages == [
        {"To": "+84912345678", "Body": SMS.text, "MessagingServiceSid": SERVICE_SID, "StatusCallback": CALLBACK}
    ]


async def test_a_sender_instead_of_a_messaging_service(stub: TwilioStub) -> None:
    stub.reset()
    sms = TwilioSMSChannel(stub.account_sid, stub.auth_token, from_="BHXH VN", api_base_url=stub.base_url)
    try:
        assert (await sms.send(SMS)).status == "sent"
    finally:
        await sms.aclose()
    assert stub.messages[0]["From"] == "BHXH VN"
    assert "MessagingServiceSid" not in stub.messages[0]
    assert "StatusCallback" not in stub.messages[0]


async def test_many_messages_share_one_connection_pool(stub: TwilioStub, channel: TwilioSMSChannel) -> None:
    results = [await channel.send(SMS) for _ in range(20)]
    assert all(r.status == "sent" for r in results)
    assert len({r.provider_message_id for r in results}) == 20
    assert len(stub.messages) == 20


async def test_wrong_credentials_are_rejected_not_retried(stub: TwilioStub) -> None:
    sms = TwilioSMSChannel(
        stub.account_sid, "wrong-token", messaging_service_sid=SERVICE_SID, api_base_url=stub.base_url
    )
    try:
        result = await sms.send(SMS)
    finally:
        await sms.aclose()
    assert (result.status, result.outcome, result.error_code) == ("failed", "rejected", "20003")


@pytest.mark.parametrize(
    ("code", "status", "outcome"),
    [
        (21610, 400, "opted_out"),
        (21614, 400, "not_mobile"),
        (21211, 400, "rejected"),
        (30003, 400, "undeliverable"),
        (30007, 400, "undeliverable"),
        (21602, 400, "rejected"),
        (20429, 429, "retry"),
        (20500, 500, "retry"),
        (20503, 503, "retry"),
    ],
)
async def test_twilio_errors_map_to_outcomes(
    stub: TwilioStub, channel: TwilioSMSChannel, code: int, status: int, outcome: str
) -> None:
    stub.fail_next(code=code, status=status, message="Stubbed")
    result = await channel.send(SMS)
    assert result.status == "failed"
    assert result.outcome == outcome
    assert result.error_code == str(code)
    assert result.retryable is (outcome == "retry")
    assert stub.messages == []


async def test_a_number_twilio_knows_as_opted_out(stub: TwilioStub, channel: TwilioSMSChannel) -> None:
    stub.errors_for["+84987654321"] = (21610, 400)
    opted_out = OutgoingMessage(channel="sms", to="+84987654321", text="BHXH VN: x")
    assert (await channel.send(opted_out)).outcome == "opted_out"
    assert (await channel.send(SMS)).outcome == "sent"


async def test_the_stub_rate_limit_answers_429_and_the_channel_retries_later(stub: TwilioStub) -> None:
    stub.reset()
    stub.max_per_second = 3
    sms = TwilioSMSChannel(
        stub.account_sid, stub.auth_token, messaging_service_sid=SERVICE_SID, api_base_url=stub.base_url
    )
    try:
        results = [await sms.send(SMS) for _ in range(5)]
    finally:
        stub.max_per_second = None
        await sms.aclose()
    assert [r.outcome for r in results] == ["sent", "sent", "sent", "retry", "retry"]


async def test_an_unreachable_api_is_retried() -> None:
    sms = TwilioSMSChannel(
        "AC" + "0" * 32, "token", messaging_service_sid=SERVICE_SID, api_base_url="http://127.0.0.1:9"
    )
    try:
        result = await sms.send(SMS)
    finally:
        await sms.aclose()
    assert (result.status, result.outcome, result.retryable) == ("failed", "retry", True)


async def test_a_slow_api_times_out_into_a_retry(stub: TwilioStub) -> None:
    stub.reset()
    stub.latency = 1.0
    sms = TwilioSMSChannel(
        stub.account_sid, stub.auth_token, messaging_service_sid=SERVICE_SID, api_base_url=stub.base_url, timeout=0.2
    )
    try:
        result = await sms.send(SMS)
    finally:
        stub.latency = 0.0
        await sms.aclose()
    assert result.outcome == "retry"


# --- find_sent: what a worker taking over a send asks before sending again ------------------------------------

LINKED = OutgoingMessage(
    channel="sms", to="+84912345678", reference="7",
    text="BHXH VN: Moi ban danh gia: https://ks.example.vn/s/Ab12Cd34Ef56 Tu choi: https://ks.example.vn/o/Ab12Cd34Ef56",
)


async def test_find_sent_finds_the_message_twilio_accepted_by_recipient_and_link(
    stub: TwilioStub, channel: TwilioSMSChannel
) -> None:
    since = datetime.now(UTC)
    other_link = replace(LINKED, text=LINKED.text.replace("Ab12Cd34Ef56", "Zz98Yx76Wv54"))
    other_number = replace(LINKED, to="+84912000999")
    await channel.send(other_link)
    sent = await channel.send(LINKED)
    await channel.send(other_number)

    found = await channel.find_sent(LINKED, since)
    assert found is not None and (found.status, found.outcome) == ("sent", "sent")
    assert found.provider_message_id == sent.provider_message_id
    assert await channel.find_sent(replace(LINKED, text=LINKED.text.replace("Ab12", "Qq12")), since) is None
    assert await channel.find_sent(replace(LINKED, to="+84912000111"), since) is None
    assert len(stub.messages) == 3  # looking sends nothing


async def test_find_sent_only_looks_at_messages_sent_since_the_marker(
    stub: TwilioStub, channel: TwilioSMSChannel
) -> None:
    await channel.send(LINKED)
    assert await channel.find_sent(LINKED, datetime.now(UTC) + timedelta(days=1)) is None  # created before since
    assert await channel.find_sent(LINKED, datetime.now(UTC) - timedelta(hours=1)) is not None


async def test_find_sent_follows_twilios_pages(stub: TwilioStub, channel: TwilioSMSChannel) -> None:
    since = datetime.now(UTC)
    first = await channel.send(LINKED)
    for i in range(60):  # newest first, 50 a page: the first message is on the second page
        await channel.send(replace(LINKED, text=f"BHXH VN: https://ks.example.vn/s/Page{i:08d}"))
    found = await channel.find_sent(LINKED, since)
    assert found is not None and found.provider_message_id == first.provider_message_id
    assert stub.list_requests == 2


def test_the_stub_lists_like_twilio_with_paging_fields(stub: TwilioStub) -> None:
    stub.reset()
    for i in range(3):
        stub._answer({"To": "+84912345678", "Body": f"message {i}", "MessagingServiceSid": SERVICE_SID})
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    query = f"To=%2B84912345678&DateSent%3E={today}T00%3A00%3A00Z&PageSize=2"
    request = urllib.request.Request(f"{stub.base_url}/2010-04-01/Accounts/{stub.account_sid}/Messages.json?{query}")
    credentials = base64.b64encode(f"{stub.account_sid}:{stub.auth_token}".encode()).decode()
    request.add_header("Authorization", f"Basic {credentials}")
    with urllib.request.urlopen(request) as answer:  # noqa: S310 (loopback)
        page = json.load(answer)
    assert [m["body"] for m in page["messages"]] == ["message 2", "message 1"]  # newest first
    assert (page["page"], page["page_size"], page["start"], page["end"]) == (0, 2, 0, 1)
    assert "Page=1" in page["next_page_uri"] and page["previous_page_uri"] is None
    assert all(m["status"] == "sent" and m["date_sent"] for m in page["messages"])


async def test_find_sent_on_an_unreachable_api_is_a_retry() -> None:
    sms = TwilioSMSChannel(
        "AC" + "0" * 32, "token", messaging_service_sid=SERVICE_SID, api_base_url="http://127.0.0.1:9"
    )
    try:
        result = await sms.find_sent(LINKED, datetime.now(UTC))
    finally:
        await sms.aclose()
    assert result is not None and (result.status, result.outcome) == ("failed", "retry")


def test_exactly_one_sender_is_required() -> None:
    with pytest.raises(ValueError, match="exactly one of messaging_service_sid or from_"):
        TwilioSMSChannel("AC1", "token")
    with pytest.raises(ValueError, match="exactly one"):
        TwilioSMSChannel("AC1", "token", messaging_service_sid=SERVICE_SID, from_="BHXH")
    with pytest.raises(ValueError, match="account_sid"):
        TwilioSMSChannel("", "token", from_="BHXH")


@pytest.mark.parametrize(
    ("code", "status", "outcome"),
    [
        (21610, None, "opted_out"),
        (21614, 400, "not_mobile"),
        (30004, None, "undeliverable"),
        (30006, None, "undeliverable"),
        (30008, None, "rejected"),
        (None, 429, "retry"),
        (None, 502, "retry"),
        (None, 404, "rejected"),
        (None, None, "retry"),
    ],
)
def test_map_twilio_error(code: int | None, status: int | None, outcome: str) -> None:
    assert map_twilio_error(code, status) == outcome


def test_delivery_result_retryable() -> None:
    assert DeliveryResult(status="failed", outcome="retry").retryable
    assert not DeliveryResult(status="failed", outcome="opted_out").retryable
    assert not DeliveryResult(status="sent", outcome="sent").retryable


# -- status callbacks ------------------------------------------------------------------------------

TOKEN = "callback-auth-token"
PARAMS = {
    "AccountSid": "AC" + "a" * 32,
    "MessageSid": "SM" + "b" * 32,
    "MessageStatus": "delivered",
    "To": "+84912345678",
    "ApiVersion": "2010-04-01",
}


def test_a_real_signature_is_valid() -> None:
    signature = RequestValidator(TOKEN).compute_signature(CALLBACK, PARAMS)
    assert signature_valid(TOKEN, CALLBACK, PARAMS, signature)


@pytest.mark.parametrize(
    "forge",
    [
        lambda s, p, u: (s, {**p, "MessageStatus": "failed"}, u),  # a field changed
        lambda s, p, u: (s, {**p, "ErrorCode": "30003"}, u),  # a field added
        lambda s, p, u: (s, p, u.replace("https://ks", "https://evil")),  # another URL
        lambda s, p, u: ("A" * len(s), p, u),  # made up
        lambda s, p, u: (RequestValidator("another-token").compute_signature(u, p), p, u),  # wrong key
        lambda s, p, u: (None, p, u),  # missing
        lambda s, p, u: ("", p, u),  # empty
    ],
    ids=["field-changed", "field-added", "other-url", "made-up", "wrong-token", "missing", "empty"],
)
def test_forged_or_missing_signatures_are_invalid(forge) -> None:  # type: ignore[no-untyped-def]
    signature = RequestValidator(TOKEN).compute_signature(CALLBACK, PARAMS)
    forged_signature, params, url = forge(signature, PARAMS, CALLBACK)
    assert not signature_valid(TOKEN, url, params, forged_signature)


def test_an_empty_auth_token_never_validates() -> None:
    signature = RequestValidator("").compute_signature(CALLBACK, PARAMS)
    assert not signature_valid("", CALLBACK, PARAMS, signature)


@pytest.mark.parametrize(
    ("current", "new", "applies"),
    [
        (None, "queued", True),
        (None, "delivered", True),
        ("queued", "sent", True),
        ("sent", "delivered", True),
        ("delivered", "sent", False),  # a late 'sent' never overwrites 'delivered'
        ("delivered", "delivered", False),  # a retried callback changes nothing
        ("delivered", "failed", False),
        ("delivered", "undelivered", False),
        ("sent", "undelivered", True),
        ("sending", "failed", True),
        ("failed", "sent", False),
        ("undelivered", "sending", False),
        ("failed", "delivered", True),
        ("delivered", "read", False),
        ("sent", "read", True),
        ("sent", "bogus", False),
    ],
)
def test_callbacks_out_of_order_keep_the_furthest_status(current: str | None, new: str, applies: bool) -> None:
    assert should_apply(current, new) is applies


def test_status_rank_order() -> None:
    order = ["queued", "sending", "sent", "undelivered", "delivered"]
    assert [STATUS_RANK[s] for s in order] == sorted(STATUS_RANK[s] for s in order)
    assert STATUS_RANK["accepted"] == STATUS_RANK["queued"]
    assert STATUS_RANK["read"] == STATUS_RANK["delivered"]


@pytest.mark.parametrize(
    ("status", "error_code", "outcome"),
    [
        ("queued", None, "sent"),
        ("sent", None, "sent"),
        ("delivered", None, "delivered"),
        ("read", None, "delivered"),
        ("undelivered", "30003", "undeliverable"),
        ("undelivered", "30005", "undeliverable"),
        ("failed", "21610", "opted_out"),
        ("failed", 21614, "not_mobile"),
        ("failed", "30008", "failed"),
        ("failed", None, "failed"),
        ("failed", "", "failed"),
        ("failed", "not-a-number", "failed"),
    ],
)
def test_callback_outcome(status: str, error_code: str | int | None, outcome: str) -> None:
    assert callback_outcome(status, error_code) == outcome
