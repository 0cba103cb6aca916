"""QR codes for counters, tickets and posters: PNG for print shops and tickets, SVG for pages.

Error correction M (15% of the code can be scuffed) and the standard 4-module quiet zone. The PNG
is drawn with Pillow, which WeasyPrint already brings.

Example::

    >>> qr_png("https://ks.example.vn/q/HN-01")[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    >>> qr_svg("https://ks.example.vn/q/HN-01").startswith("<?xml")
    True
"""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathImage

__all__ = ["qr_png", "qr_svg"]

QUIET_ZONE = 4


def _code(url: str, box_size: int) -> qrcode.QRCode:
    if not url:
        raise ValueError("a QR code needs a URL")
    if box_size < 1:
        raise ValueError(f"box_size must be at least 1 pixel, got {box_size}")
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=box_size,
        border=QUIET_ZONE,
    )
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_png(url: str, box_size: int = 10) -> bytes:
    """A PNG of the QR code for ``url``, ``box_size`` pixels a module."""
    image = _code(url, box_size).make_image(image_factory=PilImage)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(url: str) -> str:
    """A standalone SVG document of the QR code for ``url`` (one path, scales to any size)."""
    image = _code(url, 10).make_image(image_factory=SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode("utf-8")
