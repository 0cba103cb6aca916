"""Invitation and reminder emails: plain text and HTML in the person's language.

The HTML embeds the first rating question as one-click buttons. Each button is a plain link to
``{survey_url}?{question_id}={value}``, which opens the survey with that answer filled in: a GET
never records a vote by itself (mail scanners follow links), the person still presses submit.
Inline styles only and no remote images, so it reads the same in every mail client and tracks no one.

Example::

    >>> subject, text, html = build_invitation_email(
    ...     language="en", brand="BHXH VN", title="Satisfaction survey", intro="Thank you for calling us.",
    ...     survey_url="https://ks.example.vn/s/Ab3dEf6hJ9kL", optout_url="https://ks.example.vn/o/Ab3dEf6hJ9kL",
    ...     first_question=("q1", [(1, "Very dissatisfied"), (5, "Very satisfied")]))
    >>> subject
    'BHXH VN: Satisfaction survey'
    >>> "https://ks.example.vn/s/Ab3dEf6hJ9kL?q1=5" in html
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from types import MappingProxyType
from typing import Literal
from urllib.parse import urlencode

__all__ = ["EMAIL_TEXTS", "answer_url", "build_invitation_email"]

EmailKind = Literal["invitation", "reminder"]

EMAIL_TEXTS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "vi": {
            "subject_invitation": "{brand}: {title}",
            "subject_reminder": "{brand}: Nhắc lại - {title}",
            "reminder_lead": "Chúng tôi chưa nhận được ý kiến của bạn. Khảo sát chỉ mất khoảng 2 phút.",
            "question": "Bạn hài lòng thế nào với dịch vụ vừa nhận?",
            "buttons_hint": "Chọn một mức để mở phiếu khảo sát với câu trả lời đã điền sẵn.",
            "open": "Mở phiếu khảo sát",
            "open_text": "Mở phiếu khảo sát tại địa chỉ:",
            "optout": "Không muốn nhận khảo sát nữa? Từ chối tại đây",
            "optout_text": "Không muốn nhận khảo sát nữa? Từ chối tại:",
            "footer": "Email này được gửi tự động, vui lòng không trả lời.",
        },
        "en": {
            "subject_invitation": "{brand}: {title}",
            "subject_reminder": "{brand}: Reminder - {title}",
            "reminder_lead": "We have not heard from you yet. The survey takes about 2 minutes.",
            "question": "How satisfied are you with the service you received?",
            "buttons_hint": "Choose one to open the survey with your answer filled in.",
            "open": "Open the survey",
            "open_text": "Open the survey at:",
            "optout": "Prefer not to receive surveys? Opt out here",
            "optout_text": "Prefer not to receive surveys? Opt out at:",
            "footer": "This email was sent automatically; please do not reply.",
        },
    }
)


def answer_url(survey_url: str, question_id: str, value: int) -> str:
    """The survey link with one answer filled in (``?q1=5``, or ``&q1=5`` after an existing query).

    >>> answer_url("https://ks.example.vn/s/Ab3dEf6hJ9kL", "q1", 4)
    'https://ks.example.vn/s/Ab3dEf6hJ9kL?q1=4'
    """
    separator = "&" if "?" in survey_url else "?"
    return f"{survey_url}{separator}{urlencode({question_id: value})}"


def build_invitation_email(
    *,
    language: str,
    brand: str,
    title: str,
    intro: str,
    survey_url: str,
    optout_url: str,
    first_question: tuple[str, Sequence[tuple[int, str]]] | None,
    first_question_text: str | None = None,
    kind: EmailKind = "invitation",
) -> tuple[str, str, str]:
    """The subject, plain text and HTML of an invitation (or, with ``kind="reminder"``, a reminder).

    ``first_question`` is ``(question_id, [(value, label), ...])`` of the first rating question,
    ``first_question_text`` its wording (a generic "how satisfied" line when omitted). ``language``
    is ``vi`` or ``en``; any other falls back to Vietnamese.
    """
    if kind not in ("invitation", "reminder"):
        raise ValueError(f"kind must be invitation or reminder, got {kind!r}")
    texts = EMAIL_TEXTS.get(language, EMAIL_TEXTS["vi"])
    html_lang = language if language in EMAIL_TEXTS else "vi"
    subject = texts[f"subject_{kind}"].format(brand=brand, title=title)
    question = first_question_text or texts["question"]
    options = list(first_question[1]) if first_question else []

    text_lines = [title, "", intro]
    if kind == "reminder":
        text_lines += ["", texts["reminder_lead"]]
    if first_question and options:
        question_id = first_question[0]
        text_lines += ["", question]
        text_lines += [f"  {label}: {answer_url(survey_url, question_id, value)}" for value, label in options]
    text_lines += ["", texts["open_text"], survey_url, "", texts["optout_text"], optout_url, "", "--", brand]
    text_lines += [texts["footer"]]
    text = "\n".join(text_lines) + "\n"

    buttons = ""
    if first_question and options:
        question_id = first_question[0]
        cells = "".join(
            f'<td style="padding:4px;">'
            f'<a href="{escape(answer_url(survey_url, question_id, value))}" '
            f'style="display:block;min-width:64px;padding:12px 8px;border:1px solid #0b5394;border-radius:6px;'
            f'background:#ffffff;color:#0b5394;font-size:15px;text-decoration:none;text-align:center;">'
            f'<strong style="display:block;font-size:20px;">{value}</strong>{escape(label)}</a></td>'
            for value, label in options
        )
        buttons = (
            f'<p style="margin:24px 0 8px;font-size:17px;font-weight:bold;">{escape(question)}</p>'
            f'<table role="presentation" cellpadding="0" cellspacing="0" style="border-collapse:collapse;">'
            f"<tr>{cells}</tr></table>"
            f'<p style="margin:8px 0 0;font-size:13px;color:#555555;">{escape(texts["buttons_hint"])}</p>'
        )
    reminder = f'<p style="margin:16px 0 0;">{escape(texts["reminder_lead"])}</p>' if kind == "reminder" else ""
    html = (
        f'<!DOCTYPE html><html lang="{html_lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(subject)}</title></head>'
        f'<body style="margin:0;padding:0;background:#f4f6f8;">'
        f'<div style="max-width:600px;margin:0 auto;padding:24px;background:#ffffff;'
        f'font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#1a1a1a;">'
        f'<p style="margin:0 0 8px;font-size:14px;font-weight:bold;color:#0b5394;">{escape(brand)}</p>'
        f'<h1 style="margin:0 0 16px;font-size:22px;">{escape(title)}</h1>'
        f'<p style="margin:0;">{escape(intro)}</p>{reminder}{buttons}'
        f'<p style="margin:24px 0;"><a href="{escape(survey_url)}" style="display:inline-block;padding:12px 20px;'
        f'border-radius:6px;background:#0b5394;color:#ffffff;font-weight:bold;text-decoration:none;">'
        f"{escape(texts['open'])}</a></p>"
        f'<p style="margin:0;font-size:13px;color:#555555;">'
        f'<a href="{escape(optout_url)}" style="color:#555555;">{escape(texts["optout"])}</a></p>'
        f'<p style="margin:16px 0 0;font-size:12px;color:#777777;">{escape(texts["footer"])}</p>'
        f"</div></body></html>"
    )
    return subject, text, html
