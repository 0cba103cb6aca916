"""The PDF reports as a reader gets them: their text (pdftotext) carries the scoring's figures, the fonts are
embedded Noto only, the PDF is tagged, nothing falls outside the page, and hostile comment text is printed as text."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import pytest

from survey.services.reports import ReportSpec, make_report
from survey.services.response_import import import_responses
from survey.services.scores import ScoreRequest, compute_scores

HEADER = ("response_id,questionnaire,version,unit,service,channel,submitted_at,language,"
          "reach,waiting_time,courtesy,clarity,usefulness,resolved,overall,recommend,comment")
HOSTILE = ('<script>alert(1)</script> <b>đậm</b> ' + "x" * 850 + " 😀 שלום עולם \u202eabc gọi 0912345678 "
           "hoặc a.b@example.vn")


def row(rid: str, unit: str, rating: int, day: str, comment: str = "") -> str:
    nps = 10 if rating >= 4 else 3
    text = '"' + comment.replace('"', '""') + '"' if comment else ""
    return f"{rid},post-call,1,{unit},HOTLINE,call,{day},vi," + ",".join([str(rating)] * 5) + \
        f",yes,{rating},{nps},{text}"


@pytest.fixture
async def seeded(reference):
    lines = [row(f"bd-{i}", "HN-BD", 5 if i % 3 else 2, "2026-05-10 09:00", comment=HOSTILE if i == 1 else
                 ("Tổng đài viên nhiệt tình" if i % 4 == 0 else "")) for i in range(45)]
    lines += [row(f"cg-{i}", "HN-CG", 4 if i % 2 else 1, "2026-05-11 09:00") for i in range(40)]
    lines += [row(f"dd-{i}", "HN-DD", 5, "2026-05-12 09:00") for i in range(12)]
    result = await import_responses(("\n".join([HEADER, *lines]) + "\n").encode())
    assert result.problems == [] and result.imported == len(lines)
    return reference


def poppler(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, check=True).stdout


def text_of(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    return poppler("pdftotext", "-layout", str(path), "-")


async def test_a_unit_report_prints_the_scoring_figures_masked_comments_and_embedded_fonts(seeded, tmp_path):
    made = await make_report(ReportSpec("unit", "2026-05", unit="HN-BD", questionnaire="post-call", lang="en"))
    assert made.pdf.startswith(b"%PDF") and made.pages >= 3
    text = text_of(made.pdf, tmp_path)
    scores = await compute_scores(ScoreRequest("post-call", "2026-05", unit="HN-BD"))
    group = scores.groups[0]
    assert "Satisfaction assessment of the unit" in text and "The criteria" in text and "Methodology" in text
    assert f"Satisfaction index: {group.index.value:.1f}" in text
    assert f"n = {group.n}" in text
    for criterion in group.criteria:
        assert f"{100 * criterion.satisfied_share:.1f}%" in text
    # contact details masked, markup printed as text, the direction override gone
    assert "0912345678" not in text and "a.b@example.vn" not in text and "[…]" in text
    assert "<script>alert(1)</script>" in text
    assert "\u202e" not in text
    path = tmp_path / "r.pdf"
    fonts = poppler("pdffonts", str(path)).splitlines()[2:]
    assert fonts and all(" yes " in line and "Noto" in line for line in fonts), fonts
    info = poppler("pdfinfo", str(path))
    assert re.search(r"Tagged:\s+yes", info)  # PDF/UA-1: a screen reader can read it
    # nothing outside the page box: every text box lies inside A4
    boxes = poppler("pdftotext", "-bbox", str(path), "-")
    for x_max, y_max in re.findall(r'xMax="([\d.]+)" yMax="([\d.]+)"', boxes):
        assert float(x_max) <= 595.5 and float(y_max) <= 842.5


async def test_a_group_below_the_minimum_shows_only_its_n(seeded, tmp_path):
    made = await make_report(ReportSpec("unit", "2026-05", unit="HN-DD", questionnaire="post-call", lang="en"))
    text = text_of(made.pdf, tmp_path)
    assert "Too few answers" in text and "n = 12" in text
    assert "Satisfaction index:" not in text
    assert "No comments quoted" in text


async def test_the_leadership_report_ranks_units_with_intervals(seeded, tmp_path):
    made = await make_report(ReportSpec("leadership", "2026-05", questionnaire="post-call", lang="vi"))
    text = text_of(made.pdf, tmp_path)
    assert "Báo cáo lãnh đạo" in text and "Xếp hạng đơn vị với khoảng tin cậy" in text
    assert "Nghị quyết 28-NQ/TW" in text


async def test_the_same_data_gives_the_same_pdf(seeded):
    from datetime import UTC, datetime

    now = datetime(2026, 6, 2, 8, 0, tzinfo=UTC)
    spec = ReportSpec("unit", "2026-05", unit="HN-BD", questionnaire="post-call")
    first, second = await make_report(spec, now=now), await make_report(spec, now=now)
    assert first.checksum == second.checksum


def ink_at_the_edges(pdf: bytes, tmp_path: Path, mm: float = 6.0) -> list[tuple[int, str]]:
    """Pages (number, edge) with anything printed within ``mm`` of the paper's edge, rendered by pdftoppm."""
    from PIL import Image

    path = tmp_path / "edges.pdf"
    path.write_bytes(pdf)
    poppler("pdftoppm", "-r", "50", "-gray", str(path), str(tmp_path / "page"))
    found = []
    for number, image_path in enumerate(sorted(tmp_path.glob("page-*.pgm")), start=1):
        image = Image.open(image_path)
        width, height = image.size
        edge = round(mm / 25.4 * 50)
        strips = {"left": (0, 0, edge, height), "right": (width - edge, 0, width, height),
                  "top": (0, 0, width, edge), "bottom": (0, height - edge, width, height)}
        for name, box in strips.items():
            if image.crop(box).getextrema()[0] < 200:  # anything darker than a faint grey
                found.append((number, name))
    return found


async def test_no_page_prints_beyond_its_margins_even_with_a_hostile_comment(seeded, tmp_path):
    for spec in (ReportSpec("unit", "2026-05", unit="HN-BD", questionnaire="post-call"),
                 ReportSpec("leadership", "2026-05", questionnaire="post-call", lang="en")):
        made = await make_report(spec)
        pages = tmp_path / spec.kind
        pages.mkdir()
        assert ink_at_the_edges(made.pdf, pages) == []


async def test_all_reports_of_a_period_are_made_in_worker_processes_and_the_thin_ones_listed_as_skipped(seeded,
                                                                                                      tmp_path):
    from click.testing import CliRunner

    from survey.cli import main

    out = tmp_path / "all"
    result = await asyncio.to_thread(CliRunner().invoke, main, ["reports", "make", "--all", "--period", "2026-05",
                                                                "--questionnaire", "post-call", "--lang", "en",
                                                                "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    made = sorted(p.name for p in out.glob("*.pdf"))
    # HN-BD (45) and HN-CG (40) reach 30, as do HN (97, its subtree), the hotline nationally and the leadership report
    assert made == ["leadership-post-call-2026-05-en.pdf", "service-HOTLINE-post-call-2026-05-en.pdf",
                    "unit-HN-BD-HOTLINE-post-call-2026-05-en.pdf", "unit-HN-BD-post-call-2026-05-en.pdf",
                    "unit-HN-CG-HOTLINE-post-call-2026-05-en.pdf", "unit-HN-CG-post-call-2026-05-en.pdf",
                    "unit-HN-HOTLINE-post-call-2026-05-en.pdf", "unit-HN-post-call-2026-05-en.pdf"]
    assert all((out / name).read_bytes().startswith(b"%PDF") for name in made)
    assert f"Made {len(made)} reports" in result.output
    assert "unit HN-DD 2026-05 (post-call): n=12" in result.output  # skipped, with its n
    assert not list(out.glob(".*partial"))


async def test_an_output_that_cannot_be_written_is_a_usage_error_before_any_work(reference, tmp_path):
    from click.testing import CliRunner

    from survey.cli import main

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for args in (["--unit", "HN-BD", "--output", str(blocker / "r.pdf")],
                 ["--all", "--output-dir", str(blocker / "all")]):
        result = await asyncio.to_thread(CliRunner().invoke, main, ["reports", "make", "--period", "2026-05", *args])
        assert result.exit_code == 2, result.output
        assert "cannot write into" in result.output and ("--output" in result.output)
        assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == [blocker]


async def test_a_period_scored_for_its_own_figures_gives_the_full_scoring_s_measures_and_trend(seeded):
    from survey.services.reports.assemble import twelve_months
    from survey.services.reports.spec import report_period
    from survey.services.scores.service import load_score_data, score_loaded

    months = [row(f"m{m}-{i}", "HN-BD", 5 if i % (m + 1) else 2, f"2026-0{m}-15 10:00") for m in (1, 2, 3, 4)
              for i in range(35)]
    assert (await import_responses(("\n".join([HEADER, *months]) + "\n").encode())).imported == len(months)
    window = twelve_months(report_period("2026-05"))
    data = await load_score_data("post-call", [report_period("2026-05")], covering=[window])
    request = ScoreRequest("post-call", window.label, unit="HN-BD")
    own = (await score_loaded(data, request, comparisons=False)).groups[0]
    full = (await compute_scores(request)).groups[0]
    assert own.n == full.n and own.index == full.index
    assert [(c.id, c.n, c.satisfied, c.ci) for c in own.criteria] == [(c.id, c.n, c.satisfied, c.ci)
                                                                       for c in full.criteria]
    trend = [(t.test, t.criterion, t.statistic, t.pvalue) for t in own.tests if t.comparison == "trend"]
    assert any(t[2] is not None for t in trend)  # five months of 35+: the trend is tested
    assert trend == [(t.test, t.criterion, t.statistic, t.pvalue) for t in full.tests
                               if t.comparison == "trend"]
    assert {t.comparison for t in own.tests} <= {"trend", "reliability"}

