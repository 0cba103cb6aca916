"""The one place that renders PDFs (WeasyPrint): print templates, the report fonts, a fetcher that loads only the
project's own files, and tagged output.

Templates under ``templates/print/`` carry their own print CSS (``@page``, margin boxes, named pages,
``break-before``). Rendering never touches the network: :class:`ProjectFetcher` serves ``data:`` URIs (charts,
QR codes), files under ``templates/`` and ``survey/static/``, and the report fonts, and refuses everything else
(WeasyPrint then leaves the resource out and logs it). The fonts are Noto Sans (Latin with every Vietnamese
letter, Greek, Cyrillic) with Noto Sans Arabic, Hebrew and Symbols 2 beside it for comments in other scripts,
each declared by ``@font-face`` from its file (:func:`font_faces_css`), so that no fallback font is ever picked
and every font is embedded. A character none of them has is printed as U+FFFD (:func:`printable`) rather than
left to a fallback font or a missing glyph.

Example::

    pdf = render_pdf("print/poster.html", context)                    # bytes
    pdf = render_pdf("print/report.html", context, variant="pdf/ua-1")  # tagged, for screen readers
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from markupsafe import Markup

from survey.i18n import register
from survey.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from weasyprint import Document

__all__ = ["FONT_DIR", "REPORT_FONTS", "STATIC_DIR", "TEMPLATES_DIR", "FontFile", "font_faces_css", "format_number",
           "format_share", "print_jinja", "printable", "project_fetcher", "render_document", "render_pdf"]

log = logging.getLogger("survey.pdf")

TEMPLATES_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = PROJECT_ROOT / "survey" / "static"
FONT_DIR = Path("/usr/share/fonts/truetype/noto")  # Debian's fonts-noto-core, installed by scripts/bootstrap.sh


@dataclass(frozen=True)
class FontFile:
    family: str
    weight: int
    style: str
    file: str

    @property
    def path(self) -> Path:
        return FONT_DIR / self.file


REPORT_FONTS: tuple[FontFile, ...] = (
    FontFile("Noto Sans", 400, "normal", "NotoSans-Regular.ttf"),
    FontFile("Noto Sans", 700, "normal", "NotoSans-Bold.ttf"),
    FontFile("Noto Sans", 400, "italic", "NotoSans-Italic.ttf"),
    FontFile("Noto Sans", 700, "italic", "NotoSans-BoldItalic.ttf"),
    FontFile("Noto Sans Arabic", 400, "normal", "NotoSansArabic-Regular.ttf"),
    FontFile("Noto Sans Arabic", 700, "normal", "NotoSansArabic-Bold.ttf"),
    FontFile("Noto Sans Hebrew", 400, "normal", "NotoSansHebrew-Regular.ttf"),
    FontFile("Noto Sans Hebrew", 700, "normal", "NotoSansHebrew-Bold.ttf"),
    FontFile("Noto Sans Symbols 2", 400, "normal", "NotoSansSymbols2-Regular.ttf"),
)
FONT_STACK = ", ".join(f'"{family}"' for family in dict.fromkeys(f.family for f in REPORT_FONTS))


def font_faces_css() -> str:
    """``@font-face`` rules for :data:`REPORT_FONTS` (``font-family: var(--report-fonts)`` is not needed: use
    :data:`FONT_STACK`)."""
    return "\n".join(
        f'@font-face {{ font-family: "{f.family}"; font-weight: {f.weight}; font-style: {f.style}; '
        f'src: url("{f.path.as_uri()}"); }}' for f in REPORT_FONTS)


@cache
def _covered() -> frozenset[int]:
    from fontTools.ttLib import TTFont  # WeasyPrint's own dependency

    points: set[int] = set()
    for font in REPORT_FONTS:
        if font.path.exists():
            with TTFont(font.path, lazy=True) as tt:
                points.update(tt.getBestCmap() or {})
    return frozenset(points)


_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"))


def printable(text: str) -> str:
    """``text`` as the report fonts can print it: NFC, direction overrides and isolates removed (the page isolates
    user text itself, and U+202E would make a comment read backwards), other control characters dropped, and a
    character none of the fonts has replaced by U+FFFD.

    >>> printable("Tốt l\u202eắm\u0000 \U0001F600")
    'Tốt lắm \ufffd'
    """
    covered = _covered()
    out = []
    for char in unicodedata.normalize("NFC", text.translate(_BIDI_CONTROLS)):
        if char in "\n\t":
            out.append(char)
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        elif char == " " or not covered or ord(char) in covered:
            out.append(char)
        else:
            out.append("\ufffd")
    return "".join(out)


def format_number(value: float | None, lang: str, digits: int = 1, *, sign: bool = False) -> str:
    """``value`` with ``digits`` decimals as ``lang`` writes it (Vietnamese: ``76,8``, ``1.234,5``); ``–`` for none.

    >>> format_number(1234.56, "vi"), format_number(1234.56, "en"), format_number(-1.5, "vi", sign=True)
    ('1.234,6', '1,234.6', '-1,5')
    """
    from babel.numbers import format_decimal

    if value is None or value != value or value in (float("inf"), float("-inf")):
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    text = str(format_decimal(round(float(value), digits), format=pattern, locale=lang))
    return f"+{text}" if sign and value > 0 else text


def format_share(value: float | None, lang: str, digits: int = 1) -> str:
    """A share 0–1 as a percentage in ``lang``: ``78,8%`` in Vietnamese.

    >>> format_share(0.78766, "vi"), format_share(None, "en")
    ('78,8%', '–')
    """
    return "–" if value is None else f"{format_number(100 * value, lang, digits)}%"


@pass_context
def _number_filter(context: Any, value: float | None, digits: int = 1, sign: bool = False) -> str:
    return format_number(value, str(context.get("lang") or "vi"), digits, sign=sign)


@pass_context
def _share_filter(context: Any, value: float | None, digits: int = 1) -> str:
    return format_share(value, str(context.get("lang") or "vi"), digits)


@cache
def print_jinja() -> Environment:
    """The Jinja environment of the print templates (autoescaped, with the text catalogue)."""
    environment = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]))
    register(environment)
    # CSS, not text: a <style> element is raw text, where an escaped quote would break the rule
    environment.globals["font_faces_css"] = lambda: Markup(font_faces_css())  # noqa: S704 - the project's own CSS
    environment.globals["FONT_STACK"] = Markup(FONT_STACK)  # noqa: S704
    environment.filters["printable"] = printable
    environment.filters["number"] = _number_filter
    environment.filters["share"] = _share_filter
    return environment


def _allowed_roots() -> tuple[Path, ...]:
    return (TEMPLATES_DIR.resolve(), STATIC_DIR.resolve())


def project_fetcher() -> Any:
    """A WeasyPrint URL fetcher that serves ``data:`` URIs, the project's templates and static files and the report
    fonts, and refuses every other URL (the network above all): a refused resource is left out and logged."""
    from weasyprint.urls import URLFetcher

    fonts = {f.path.resolve() for f in REPORT_FONTS}
    roots = _allowed_roots()

    class ProjectFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            parsed = urlparse(url)
            if parsed.scheme == "data":
                return super().fetch(url, headers)
            if parsed.scheme == "file":
                path = Path(unquote(parsed.path)).resolve()
                if path in fonts or any(path.is_relative_to(root) for root in roots):
                    return super().fetch(url, headers)
            log.warning("refused to load %s while rendering a PDF: only the project's own files", url[:200])
            raise ValueError(f"not a project file: {url[:200]}")

    return ProjectFetcher(allowed_protocols=("data", "file"), allow_redirects=False)


def render_document(template_name: str, context: Mapping[str, Any]) -> Document:
    """Lay out ``template_name`` (under ``templates/``) with ``context``; the pages can be inspected."""
    from weasyprint import HTML  # imported late: it loads Pango and fonts, which only PDF work needs

    html = print_jinja().get_template(template_name).render(**context)
    return HTML(string=html, base_url=str(TEMPLATES_DIR) + "/", url_fetcher=project_fetcher()).render()


def render_pdf(template_name: str, context: Mapping[str, Any], *, variant: str | None = None) -> bytes:
    """The PDF of ``template_name`` rendered with ``context``; ``variant`` e.g. ``"pdf/ua-1"`` (tagged)."""
    document = render_document(template_name, context)
    pdf = document.write_pdf(pdf_variant=variant) if variant else document.write_pdf()
    assert pdf is not None
    return bytes(pdf)
