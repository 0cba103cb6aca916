"""``survey qr``: QR codes and A5 posters of the counters (WeasyPrint), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

A5_POINTS = (419.53, 595.28)


def _pdf_objects(pdf: bytes) -> str:
    """The PDF's objects as text, with every Flate stream (object streams too) decompressed."""
    parts = [pdf.decode("latin-1")]
    for match in re.finditer(rb"stream\r?\n", pdf):
        start = match.end()
        end = pdf.find(b"endstream", start)
        try:
            parts.append(zlib.decompressobj().decompress(pdf[start:end]).decode("latin-1"))
        except zlib.error:
            continue
    return "\n".join(parts)


def _pages(pdf: bytes) -> list[tuple[float, float]]:
    """The size in points of every page (its MediaBox)."""
    text = _pdf_objects(pdf)
    boxes = re.findall(r"/Type\s*/Page\b(?!s).*?/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]"
                       r"|/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\].*?/Type\s*/Page\b(?!s)",
                       text, flags=re.S)
    sizes = []
    for box in boxes:
        values = [float(v) for v in box if v]
        sizes.append((values[2] - values[0], values[3] - values[1]))
    return sizes


def _mapped_characters(pdf: bytes) -> set[str]:
    """Every character the PDF's fonts map glyphs to (their ToUnicode CMaps): what text extraction would read."""
    chars: set[str] = set()
    for cmap in re.findall(r"beginbf(?:char|range)(.*?)endbf(?:char|range)", _pdf_objects(pdf), flags=re.S):
        for target in re.findall(r"<([0-9A-Fa-f]{4,})>\s*(?:\n|$)", cmap, flags=re.M):
            chars.add(bytes.fromhex(target).decode("utf-16-be", errors="ignore"))
    return chars


def _layout_text(document) -> str:
    """The text WeasyPrint laid out on the pages, in order."""
    out: list[str] = []

    def walk(box) -> None:
        if getattr(box, "text", None):
            out.append(box.text)
        for child in getattr(box, "children", []) or []:
            walk(child)

    for page in document.pages:
        walk(page._page_box)
        out.append("\f")
    return " ".join(out)


async def _cli(*args: str):
    """Run ``survey`` in a thread (it runs its own event loop) against the bound test database."""
    from survey.cli import main

    return await asyncio.to_thread(CliRunner().invoke, main, list(args), catch_exceptions=False)


async def test_a_counter_poster_is_one_a5_page_with_the_vietnamese_names_and_the_url(reference, tmp_path: Path):
    from survey.services.counters import counter_card, counter_url
    from survey.services.posters import POSTER_TEMPLATE, poster_context, render_document

    out = tmp_path / "poster.pdf"
    result = await _cli("qr", "--counter", "HN-BD-Q1", "--format", "pdf", "--output", str(out))
    assert result.exit_code == 0, result.output
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF-")
    pages = _pages(pdf)
    assert len(pages) == 1
    assert pages[0] == pytest.approx(A5_POINTS, abs=0.05)
    # the glyphs of the Vietnamese names are in the file, mapped back to their characters
    wanted = set("BHXH quận Ba Đình Quầy một cửa số 1 Quét mã QR để đánh giá sự hài lòng") - {" "}
    assert wanted <= _mapped_characters(pdf)
    assert re.search(r"/BaseFont\s*/[A-Z]{6}\+(Noto-?Sans|DejaVu-?Sans)", _pdf_objects(pdf)), "a Vietnamese font"

    card = await counter_card("HN-BD-Q1")
    text = _layout_text(render_document(POSTER_TEMPLATE, poster_context([card])))
    for expected in ("Bảo hiểm xã hội Việt Nam", "BHXH quận Ba Đình", "Quầy một cửa số 1", "Sổ bảo hiểm xã hội",
                     "Quét mã QR để đánh giá sự hài lòng của Ông/Bà", "testserver.local/q/HN-BD-Q1"):
        assert expected in text
    assert counter_url("HN-BD-Q1") == "http://testserver.local/q/HN-BD-Q1"


async def test_a_unit_with_all_gives_one_page_per_counter_of_its_subtree(reference, tmp_path: Path):
    from survey.services.counters import unit_counters

    out = tmp_path / "hn.pdf"
    result = await _cli("qr", "--unit", "HN", "--all", "--output", str(out))
    assert result.exit_code == 0, result.output
    counters = await unit_counters("HN")
    assert len(counters) == 10  # HN and its four districts, two counters each
    pages = _pages(out.read_bytes())
    assert len(pages) == len(counters)
    assert all(size == pytest.approx(A5_POINTS, abs=0.05) for size in pages)


async def test_png_and_svg_are_valid_qr_images_of_the_counter_url(reference, tmp_path: Path):
    from PIL import Image

    png, svg = tmp_path / "q.png", tmp_path / "q.svg"
    assert (await _cli("qr", "--counter", "HN-BD-Q2", "--format", "png", "--output", str(png))).exit_code == 0
    assert (await _cli("qr", "--counter", "HN-BD-Q2", "--format", "svg", "--output", str(svg))).exit_code == 0
    with Image.open(png) as image:
        image.verify()
        assert image.format == "PNG" and image.size[0] == image.size[1] >= 250
    import xml.etree.ElementTree as ElementTree

    root = ElementTree.fromstring(svg.read_text())
    assert root.tag.endswith("svg") and root.find(".//{http://www.w3.org/2000/svg}path") is not None


async def test_the_default_output_is_under_var_qr(reference, var_dir: Path):
    result = await _cli("qr", "--counter", "HN-BD-Q2", "--format", "svg")
    assert result.exit_code == 0, result.output
    assert (var_dir / "qr" / "HN-BD-Q2.svg").is_file()


@pytest.mark.parametrize(("args", "message"), [
    (("--counter", "NOPE-Q9"), "unknown counter 'NOPE-Q9'"),
    (("--unit", "NOPE", "--all"), "unknown unit 'NOPE'"),
    (("--unit", "HN"), "add --all"),
    (("--unit", "HN", "--all", "--format", "png"), "one PDF"),
    ((), "either --counter"),
])
async def test_mistakes_are_named(reference, tmp_path: Path, args, message):
    result = await _cli_fail("qr", *args, "--output", str(tmp_path / "x"))
    assert result.exit_code != 0
    assert message in result.output
    assert not (tmp_path / "x").exists()


async def _cli_fail(*args: str):
    from survey.cli import main

    return await asyncio.to_thread(CliRunner().invoke, main, list(args))
