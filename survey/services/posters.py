"""PDF documents: the one place that renders them (WeasyPrint), and the A5 QR posters of the counters.

Templates under ``templates/print/`` carry their own print CSS (``@page``, margin boxes, named pages,
``break-before``). Every asset is local: QR codes are embedded as data URIs and anything relative
resolves against the templates directory through ``base_url``, so rendering never touches the network.

Example::

    cards = await unit_counters("HN-BD")
    pdf = poster_pdf(cards)                      # one A5 page per counter
    render_pdf("print/poster.html", context)     # any print template (the reports reuse this)
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from delivery.qr import qr_svg
from survey.i18n import register
from survey.services.counters import CounterCard, counter_url
from survey.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from weasyprint import Document

__all__ = ["POSTER_TEMPLATE", "TEMPLATES_DIR", "poster_context", "poster_pdf", "render_document", "render_pdf"]

TEMPLATES_DIR = PROJECT_ROOT / "templates"
POSTER_TEMPLATE = "print/poster.html"

_environment: Environment | None = None


def _jinja() -> Environment:
    global _environment
    if _environment is None:
        _environment = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]))
        register(_environment)
    return _environment


def render_document(template_name: str, context: Mapping[str, Any]) -> Document:
    """Lay out ``template_name`` (under ``templates/``) with ``context``; the pages can be inspected."""
    from weasyprint import HTML  # imported late: it loads Pango and fonts, which only PDF work needs

    html = _jinja().get_template(template_name).render(**context)
    return HTML(string=html, base_url=str(TEMPLATES_DIR)).render()


def render_pdf(template_name: str, context: Mapping[str, Any]) -> bytes:
    """The PDF of ``template_name`` rendered with ``context``."""
    pdf = render_document(template_name, context).write_pdf()
    assert pdf is not None
    return bytes(pdf)


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
