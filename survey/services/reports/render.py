"""A report's content (from :mod:`.assemble`) as a PDF: charts, the print template, WeasyPrint (tagged PDF/UA-1).
Pure and synchronous: it runs in a rendering process."""

from __future__ import annotations

from typing import Any

from survey.services.pdf import render_document

__all__ = ["render_report"]

TEMPLATES = {"unit": "print/report.html", "service": "print/report.html", "leadership": "print/leadership.html"}


def render_report(content: dict[str, Any]) -> tuple[bytes, int]:
    """The PDF of ``content`` and its number of pages."""
    document = render_document(TEMPLATES[content["spec"].kind], content)
    pdf = document.write_pdf(pdf_variant="pdf/ua-1")
    assert pdf is not None
    return bytes(pdf), len(document.pages)
