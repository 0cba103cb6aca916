"""Email invitations through a real SMTP server (aiosmtpd on loopback): parts, headers, refusals."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_outbox_worker import daytime, invitation, jobs, plan, worker_for  # also puts the project root on sys.path

from tests.support.smtp_server import SMTPServer


@pytest.fixture
def smtp():
    with SMTPServer() as server:
        yield server


@pytest.fixture
def email_delivery(smtp):
    from survey.services.sending import delivery_from_settings
    from survey.settings import get_settings

    settings = replace(get_settings(), smtp_host=smtp.host, smtp_port=smtp.port, smtp_from="khaosat@bhxh.example.vn",
                       smtp_tls="none")
    return delivery_from_settings(settings, clock=daytime, email_rate=1000.0)


async def test_an_email_invitation_has_text_and_html_parts_one_click_answers_and_list_unsubscribe(
        reference, smtp, email_delivery):
    [vi_id] = await plan(1, channel="email", language="vi")
    [en_id] = await plan(1, channel="email", language="en", start=1)
    assert await worker_for(email_delivery).run_once() == 2
    received = {m["To"]: m for m in smtp.messages}
    assert sorted(received) == ["nguoi.0@example.vn", "nguoi.1@example.vn"]

    english = received["nguoi.1@example.vn"]
    assert english["From"] == "khaosat@bhxh.example.vn"
    assert english["Subject"].startswith("BHXH VN: ")
    unsubscribe = english["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://testserver.local/o/") and unsubscribe.endswith(">")
    assert english["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert english.get_content_type() == "multipart/alternative"
    text = english.get_body(preferencelist=("plain",)).get_content()
    html = english.get_body(preferencelist=("html",)).get_content()
    link = unsubscribe[1:-1].replace("/o/", "/s/")
    assert link in text and link in html
    # the first rating question as one-click buttons: each opens the survey with that answer filled in
    assert f"{link}?" in html and "=5" in html
    assert '<html lang="en"' in html

    vietnamese = received["nguoi.0@example.vn"]
    assert '<html lang="vi"' in vietnamese.get_body(preferencelist=("html",)).get_content()
    assert (await invitation(vi_id))["status"] == "sent" and (await invitation(en_id))["status"] == "sent"
    assert (await invitation(en_id))["provider_message_id"].startswith("<")


async def test_a_refused_address_fails_the_invitation_and_a_busy_server_is_retried(reference, smtp, email_delivery):
    refused, busy = await plan(2, channel="email")
    smtp.refuse["nguoi.0@example.vn"] = "550 5.1.1 No such user"
    smtp.refuse["nguoi.1@example.vn"] = "451 4.3.0 Try again later"
    assert await worker_for(email_delivery).run_once() == 2
    row = await invitation(refused)
    assert row["status"] == "failed" and row["skip_reason"] == "undeliverable"
    assert "550" in row["status_history"][-1]["detail"]
    assert (await invitation(busy))["status"] == "planned"
    [job] = [j for j in await jobs("send_invitation") if j["payload"]["invitation_id"] == busy]
    assert job["status"] == "queued" and "451" in job["last_error"]
    assert smtp.messages == []
