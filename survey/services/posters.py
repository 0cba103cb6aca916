"""The A5 QR posters of the counters, rendered by :mod:`survey.services.pdf` (the one place that renders PDFs).

QR codes are embedded as data URIs, so nothing is loaded from anywhere else.

Example::

    cards = await unit_counters("HN-BD")
    pdf = poster_pdf(cards)                      # one A5 page per counter
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from delivery.qr import qr_svg
from survey.services.counters import CounterCard, counter_url
from survey.services.pdf import TEMPLATES_DIR, render_document, render_pdf

__all__ = ["POSTER_TEMPLATE", "TEMPLATES_DIR", "poster_context", "poster_pdf", "render_document", "render_pdf"]

POSTER_TEMPLATE = "print/poster.html"


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def poster_context(cards: Sequence[CounterCard]) -> dict[str, Any]:
    """What the poster template needs: per counter its names, services, short URL and QR code."""
    posters = []
    for card in cards:
        url = counter_url(card.code)
        posters.append({
            "code": card.code,
            "name_vi": card.name_vi,
            "name_en": card.name_en,
            "unit_name_vi": card.unit_name_vi,
            "unit_name_en": card.unit_name_en,
            "services": [{"code": code, "name_vi": vi, "name_en": en} for code, vi, en in card.services],
            "url": url,
            "url_display": url.split("://", 1)[-1],
            "qr": _data_uri(qr_svg(url)),
        })
    return {"posters": posters, "lang": "vi"}


def poster_pdf(cards: Sequence[CounterCard]) -> bytes:
    """One A5 portrait poster per counter, in one PDF."""
    if not cards:
        raise ValueError("no counter to make a poster for")
    return render_pdf(POSTER_TEMPLATE, poster_context(cards))
