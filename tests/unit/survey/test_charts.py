"""The chart module of the reports and the staff pages: what a reader of the SVG (or of the printed page) sees."""

from __future__ import annotations

import base64
import doctest
import io
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from matplotlib.backends.backend_svg import RendererSVG
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

import survey.chart_frame as chart_frame
import survey.charts as charts
from survey.charts import (
    ACCENT,
    Distribution,
    FunnelCurve,
    FunnelPoint,
    IntervalRow,
    TrendPoint,
    chart_size,
    distribution_chart,
    funnel_chart,
    heatmap,
    interval_chart,
    luminance,
    ramp,
    svg_data_uri,
    trend_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"
SCALE = ["Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng", "Rất hài lòng"]
CRITERIA = [
    IntervalRow("Tiếp cận dịch vụ", 0.84, 0.79, 0.88),
    IntervalRow("Thời gian chờ đợi", None, None, None, note="n < 30"),
    IntervalRow("Đồng Nai", 0.72, 0.65, 0.78, highlight=True),
]
CURVE = FunnelCurve(n=[20, 50, 100, 200, 400], lower_95=[0.62, 0.69, 0.72, 0.74, 0.76],
                    upper_95=[0.98, 0.91, 0.88, 0.86, 0.84], lower_998=[0.52, 0.63, 0.68, 0.72, 0.74],
                    upper_998=[1.0, 0.97, 0.92, 0.88, 0.86])


def every_chart() -> dict[str, str]:
    """One chart of each kind, with Vietnamese labels."""
    return {
        "interval": interval_chart(CRITERIA, target=0.8, target_label="Mục tiêu", reference=0.82,
                                   reference_label="Toàn quốc", x_label="Tỷ lệ hài lòng"),
        "distribution": distribution_chart([Distribution("Thời gian chờ đợi", [2, 3, 5, 20, 10], 40),
                                            Distribution("Đồng Nai", [1, 1, 8, 10, 20], 40)],
                                           point_labels=SCALE, x_label="Tỷ lệ câu trả lời"),
        "trend": trend_chart([TrendPoint("01/2026", 81, 77, 85), TrendPoint("02/2026", 83, 79, 87),
                              TrendPoint("03/2026", None), TrendPoint("04/2026", 85, 81, 89)],
                             target=80, target_label="Mục tiêu", y_label="Chỉ số hài lòng", value_label="Đồng Nai"),
        "funnel": funnel_chart([FunnelPoint("HN-BD", 150, 0.83, highlight=True), FunnelPoint("HN-CG", 60, 0.66,
                                                                                            flagged=True),
                                FunnelPoint("HN-HK", 300, 0.8)], CURVE, target=0.8, target_label="Mục tiêu",
                               x_label="Số người trả lời", y_label="Thời gian chờ đợi"),
        "heatmap": heatmap(["Ba Đình", "Đồng Nai"], ["Tiếp cận dịch vụ", "Thời gian chờ đợi"],
                           [[0.83, None], [0.9, 0.655]], missing_label="n < 30", colorbar_label="Tỷ lệ hài lòng"),
    }


@pytest.fixture(scope="module")
def drawn() -> dict[str, str]:
    return every_chart()


def texts(svg: str) -> list[str]:
    """Every ``<text>`` of the chart, as a reader (or a PDF's text layer) gets it."""
    return ["".join(element.itertext()) for element in ET.fromstring(svg).iter(f"{SVG}text")]


def text_elements(svg: str) -> dict[str, ET.Element]:
    return {"".join(element.itertext()): element for element in ET.fromstring(svg).iter(f"{SVG}text")}


def style_of(element: ET.Element) -> dict[str, str]:
    return dict(part.split(": ", 1) for part in element.get("style", "").split("; ") if ": " in part)


def paths(svg: str) -> list[ET.Element]:
    return list(ET.fromstring(svg).iter(f"{SVG}path"))


def circles_drawn(svg: str) -> int:
    """How many round markers the chart draws: uses of a marker whose outline is a curve (a circle)."""
    root = ET.fromstring(svg)
    round_markers = {f"#{p.get('id')}" for p in root.iter(f"{SVG}path") if p.get("id") and " C " in p.get("d", "")}
    return sum(1 for use in root.iter(f"{SVG}use") if use.get(f"{XLINK}href") in round_markers)


def test_every_chart_is_an_svg_document_with_its_labels_as_text_vietnamese_letters_included(drawn):
    expected = {
        "interval": ["Tiếp cận dịch vụ", "Thời gian chờ đợi", "Đồng Nai", "Tỷ lệ hài lòng", "Mục tiêu", "Toàn quốc"],
        "distribution": ["Thời gian chờ đợi", "Đồng Nai", *SCALE, "Tỷ lệ câu trả lời"],
        "trend": ["01/2026", "03/2026", "Chỉ số hài lòng", "Mục tiêu", "Đồng Nai"],
        "funnel": ["HN-BD", "Số người trả lời", "Thời gian chờ đợi", "Mục tiêu", "95%", "99.8%"],
        "heatmap": ["Ba Đình", "Đồng Nai", "Tiếp cận dịch vụ", "Thời gian chờ đợi", "Tỷ lệ hài lòng"],
    }
    for kind, svg in drawn.items():
        assert ET.fromstring(svg).tag == f"{SVG}svg", kind
        shown = texts(svg)
        assert [label for label in expected[kind] if label not in shown] == [], kind
        # text stays text, set by the reader in the report's font: no glyph outlines in the file
        assert not re.search(r'id="(DejaVuSans|NotoSans)', svg), kind
        assert "font-family: 'Noto Sans'" in svg, kind


def test_the_same_data_gives_the_same_bytes_in_two_calls_and_in_another_process(drawn):
    assert every_chart() == drawn
    program = ("import json, sys\nfrom tests.unit.survey.test_charts import every_chart\n"
               "print(json.dumps(every_chart()))\n"
               "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n")
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    import json

    assert json.loads(result.stdout) == drawn


def test_no_date_creator_or_random_id_in_the_file(drawn):
    for kind, svg in drawn.items():
        assert "<dc:date>" not in svg and "dc:creator" not in svg.lower(), kind
        assert not re.search(r"\b20\d\d-\d\d-\d\d", svg), kind
        assert "Matplotlib v" not in svg, kind
    # the ids are salted with a fixed string: another salt gives other ids, so ours are not left to chance
    assert re.search(r'id="p[0-9a-f]{10}"', drawn["interval"])


def test_a_suppressed_row_draws_no_point_and_shows_its_note_instead(drawn):
    svg = drawn["interval"]
    assert "n < 30" in texts(svg)
    # two rows have a value: one circle (the other is the highlighted diamond), none for the suppressed row
    assert circles_drawn(svg) == 1
    every_row = interval_chart([IntervalRow("A", 0.8, 0.7, 0.9), IntervalRow("B", 0.7, 0.6, 0.8)], x_label="x")
    one_missing = interval_chart([IntervalRow("A", 0.8, 0.7, 0.9), IntervalRow("B", None, None, None)], x_label="x")
    assert circles_drawn(every_row) == 2 and circles_drawn(one_missing) == 1
    assert "0%" not in texts(one_missing)  # not drawn as a zero: the axis does not even reach down there


def test_the_highlighted_row_is_bold_in_the_accent_colour(drawn):
    label = style_of(text_elements(drawn["interval"])["Đồng Nai"])
    assert label["fill"] == ACCENT and label.get("font-weight") in ("bold", "700")
    assert "font-weight" not in style_of(text_elements(drawn["interval"])["Tiếp cận dịch vụ"])


def test_the_target_line_is_dashed_at_the_target_and_absent_without_one(drawn):
    svg = drawn["interval"]
    ticks = text_elements(svg)
    dashed = [p for p in paths(svg) if "stroke-dasharray: 3.6" in p.get("style", "") and p.get("clip-path")]
    assert len(dashed) == 1
    xs = {float(x) for x in re.findall(r"M ([0-9.]+) [0-9.]+\s+L ([0-9.]+) ", dashed[0].get("d"))[0]}
    assert len(xs) == 1  # vertical
    assert xs.pop() == pytest.approx(float(ticks["80%"].get("x")), abs=0.01)
    without = interval_chart(CRITERIA, x_label="Tỷ lệ hài lòng")
    assert "stroke-dasharray" not in without


def test_the_funnel_names_the_highlighted_unit_only_and_its_limits(drawn):
    shown = texts(drawn["funnel"])
    assert "HN-BD" in shown and "HN-CG" not in shown and "HN-HK" not in shown
    assert {"Mục tiêu", "95%", "99.8%"} <= set(shown)
    styles = [p.get("style", "") for p in paths(drawn["funnel"])]
    assert any("stroke-dasharray: 3.6" in s for s in styles)  # 95%: dashed
    assert any("stroke-dasharray: 1" in s for s in styles)  # 99.8%: dotted


def test_the_heatmap_writes_each_value_and_the_missing_label_white_on_dark_cells(drawn):
    shown = text_elements(drawn["heatmap"])
    assert {"83%", "90%", "66%", "n < 30"} <= set(shown)
    assert style_of(shown["90%"])["fill"] == "#ffffff"  # the darkest cell
    assert style_of(shown["66%"])["fill"] != "#ffffff"  # the lightest
    assert 'id="h' in drawn["heatmap"]  # the hatch pattern of the missing cell
    index = heatmap(["Ba Đình"], ["Chỉ số"], [[83.4]], scale="index")
    assert "83" in texts(index) and "83%" not in texts(index)


def test_the_distribution_writes_wide_segments_and_n_in_a_ramp_that_darkens_step_by_step(drawn):
    shown = texts(drawn["distribution"])
    assert {"50%", "25%", "12%", "n = 40"} <= set(shown)
    assert "5%" not in shown and "2%" not in shown  # 2 of 40 is too narrow to write in
    for count in range(2, 8):
        shades = [luminance(colour) for colour in ramp(count)]
        assert all(a > b for a, b in zip(shades, shades[1:], strict=False)), count
        assert shades[0] - shades[-1] > 0.5  # light grey to the dark accent, apart in grey
    fills = set(re.findall(r"fill: (#[0-9a-f]{6})", drawn["distribution"]))
    assert set(ramp(len(SCALE))) <= fills


def test_a_missing_month_breaks_the_line(drawn):
    series = [p for p in paths(drawn["trend"]) if f"stroke: {ACCENT}" in p.get("style", "")
              and "stroke-width: 1.4" in p.get("style", "") and p.get("clip-path")]
    assert len(series) == 1
    assert series[0].get("d").count("M ") == 2  # two pieces: January–February, April


def test_sizes_follow_the_width_and_the_rows():
    narrow = interval_chart(CRITERIA[:1], x_label="x", width_mm=120)
    wide = interval_chart(CRITERIA[:1] * 5, x_label="x")
    assert chart_size(narrow)[0] == pytest.approx(120) and chart_size(wide)[0] == pytest.approx(170)
    assert chart_size(wide)[1] - chart_size(narrow)[1] == pytest.approx(4 * 7, abs=0.05)
    assert chart_size(trend_chart([TrendPoint("01/2026", 80)], y_label="y", height_mm=45)) == (170, 45)


LONG = "Thái độ, tác phong và sự tận tình hướng dẫn của cán bộ, công chức khi tiếp nhận hồ sơ"  # 86 characters
LONG_CHARTS = {  # each kind with labels of 60+ characters (wrapped on two lines as the chart does), at its edges
    "interval": lambda: interval_chart(
        [IntervalRow(LONG, 0.84, 0.79, 0.88), IntervalRow(LONG[:61], None, None, None, note="chưa đủ số phiếu"),
         IntervalRow("Đồng Nai: " + LONG, 0.97, 0.93, 1.0, highlight=True)], target=0.8,
        target_label="Mục tiêu của tỉnh về tỷ lệ người dân hài lòng với dịch vụ hành chính công", reference=0.82,
        reference_label="Toàn quốc: tỷ lệ hài lòng bình quân của tất cả các tỉnh và thành phố", y_label="Tiêu chí",
        x_label="Tỷ lệ người dân hài lòng hoặc rất hài lòng với dịch vụ (khoảng tin cậy 95%)"),
    "interval-narrow-index": lambda: interval_chart(
        [IntervalRow(LONG, 99.5, 98, 100), IntervalRow(LONG.upper(), 12, 5, 20)], scale="index", width_mm=90,
        x_label="Chỉ số hài lòng về sự phục vụ hành chính"),
    "distribution": lambda: distribution_chart(
        [Distribution(LONG, [2, 3, 5, 20, 10], 40), Distribution("Đồng Nai " + LONG, [0, 0, 0, 0, 123456], 123456),
         Distribution(LONG.upper(), [], 0)],
        point_labels=["Rất không hài lòng với thái độ của cán bộ", "Không hài lòng", "Bình thường",
                      "Hài lòng với phần lớn các khâu", "Rất hài lòng, hoàn toàn đồng ý với cách phục vụ"],
        x_label="Tỷ lệ câu trả lời của người dân đến làm thủ tục hành chính", missing_label="chưa đủ số phiếu"),
    "trend": lambda: trend_chart(
        [TrendPoint(f"Tháng {m:02d}/2026", 81 + m % 3, 77, 85) for m in range(1, 13)] + [TrendPoint("01/2027", None)],
        target=80, target_label="Mục tiêu của tỉnh về chỉ số hài lòng năm 2026", interval_label="Khoảng tin cậy 95%",
        y_label="Chỉ số hài lòng (0–100)", value_label="Đồng Nai: " + LONG,
        missing_label="chưa đủ số phiếu"),
    "funnel": lambda: funnel_chart(
        [FunnelPoint("BHXH tỉnh Bà Rịa – Vũng Tàu", 400, 0.995, highlight=True),
         FunnelPoint("HN-CG", 60, 0.66, flagged=True)], CURVE, target=0.8, target_label="Mục tiêu của tỉnh",
        x_label="Số người trả lời (n) trong quý của từng đơn vị thuộc tỉnh", y_label="Tỷ lệ người dân hài lòng",
        flagged_label="Khác biệt có ý nghĩa thống kê so với mục tiêu (q < 0,05)"),
    "heatmap": lambda: heatmap(
        ["Ba Đình", "Đồng Nai " + LONG, LONG.upper()], [LONG, "Thời gian chờ đợi", "Thủ tục", "Tiếp nhận, xử lý góp ý"],
        [[0.83, None, 0.5, 0.6], [0.9, 0.655, 0.7, 1.0], [0.4, 0.5, 0.6, 0.7]], missing_label="chưa đủ",
        colorbar_label="Tỷ lệ người dân hài lòng"),
}


def drawn_figure(draw, monkeypatch) -> tuple[Figure, RendererSVG, list[Text]]:
    """The figure the chart was drawn from, drawn again with the SVG renderer (the sizes of the text as the file
    sets it, which the PDF's reader then sets in the same font), and every text drawn (not the labels of ticks out
    of view, nor empty labels)."""
    figures: list[Figure] = []
    to_svg = charts.figure_svg
    monkeypatch.setattr(charts, "figure_svg", lambda figure: (figures.append(figure), to_svg(figure))[1])
    draw()
    (figure,) = figures
    shown: list[Text] = []
    text_draw = Text.draw

    def recording(self, renderer):
        if self.get_visible() and self.get_text():
            shown.append(self)
        return text_draw(self, renderer)

    monkeypatch.setattr(Text, "draw", recording)
    renderer = RendererSVG(*figure.bbox.size, io.StringIO())
    figure.draw(renderer)
    monkeypatch.setattr(Text, "draw", text_draw)
    return figure, renderer, shown


@pytest.mark.parametrize("kind", LONG_CHARTS)
def test_with_long_vietnamese_labels_every_text_is_inside_the_figure_and_the_axes_cover_no_label(kind, monkeypatch):
    figure, renderer, shown = drawn_figure(LONG_CHARTS[kind], monkeypatch)
    assert any("\n" in text.get_text() for text in shown) or kind in ("trend", "funnel")  # wrapped, as today
    edge = figure.bbox
    assert [text.get_text() for text in shown
            if not (edge.x0 <= (box := text.get_window_extent(renderer)).x0 and box.x1 <= edge.x1
                    and edge.y0 <= box.y0 and box.y1 <= edge.y1)] == []
    ax, *bar = figure.axes
    frame = ax.get_window_extent(renderer)
    ticks = {axis: {tick.label1 for tick in axis.get_major_ticks()} | {tick.label2 for tick in axis.get_major_ticks()}
             for axis in (ax.xaxis, ax.yaxis)}
    rows = [text for text in shown if text in ticks[ax.yaxis]]
    header = [text for text in shown if text in ticks[ax.xaxis]]
    assert rows and header
    # the row labels stand left of the axes, the tick labels below them (the heatmap's column labels above)
    assert all(text.get_window_extent(renderer).x1 <= frame.x0 for text in rows)
    if kind == "heatmap":
        assert all(text.get_window_extent(renderer).y0 >= frame.y1 for text in header)
    else:
        assert all(text.get_window_extent(renderer).y1 <= frame.y0 for text in header)
    # the legend below everything else, the colorbar right of every text of the heatmap's
    decorations = rows + header + [text for text in shown if text in (ax.xaxis.label, ax.yaxis.label)]
    for legend in figure.legends:
        top = legend.get_window_extent(renderer).y1
        assert all(top <= text.get_window_extent(renderer).y0 for text in decorations)
    for colorbar in bar:
        left = colorbar.get_window_extent(renderer).x0
        assert all(text.get_window_extent(renderer).x1 <= left for text in decorations)


@pytest.mark.parametrize("kind", LONG_CHARTS)
def test_the_chart_takes_the_whole_figure_but_a_millimetre_around_without_a_layout_engine(kind, monkeypatch):
    figure, renderer, shown = drawn_figure(LONG_CHARTS[kind], monkeypatch)
    assert figure.get_layout_engine() is None
    used = Bbox.union([artist.get_window_extent(renderer) for artist in [*shown, *figure.axes, *figure.legends]])
    edge = figure.bbox.padded(-chart_frame.PAD)  # 1 mm inside the figure's edge
    assert (used.x0, used.y0, used.x1, used.y1) == pytest.approx((edge.x0, edge.y0, edge.x1, edge.y1), abs=2.0)


def test_a_report_font_matplotlib_cannot_find_still_gives_the_chart_naming_it():
    svg = interval_chart(CRITERIA, x_label="Tỷ lệ hài lòng", font_family="Times New Vietnam")
    assert "font-family: 'Times New Vietnam'" in svg and "Tiếp cận dịch vụ" in texts(svg)


def test_the_data_uri_holds_the_svg_for_an_img(drawn):
    uri = svg_data_uri(drawn["interval"])
    prefix = "data:image/svg+xml;base64,"
    assert uri.startswith(prefix)
    assert base64.b64decode(uri[len(prefix):]).decode("utf-8") == drawn["interval"]


@pytest.mark.parametrize(("call", "named"), [
    (lambda: FunnelCurve(n=[1, 2], lower_95=[0.1], upper_95=[0.9, 0.9], lower_998=[0, 0], upper_998=[1, 1]),
     "FunnelCurve.lower_95: 1 values for 2 values of n"),
    (lambda: distribution_chart([Distribution("Q", [1, 2], 3)], point_labels=SCALE, x_label="x"),
     "rows[1].counts: 2 counts for 5 scale points"),
    (lambda: heatmap(["A"], ["B", "C"], [[0.5]]), "values[1]: 1 values for 2 columns"),
    (lambda: interval_chart([], x_label="x"), "rows: an interval chart needs at least one row"),
    (lambda: interval_chart(CRITERIA, x_label="x", scale="percent"), "scale: 'percent' is not allowed"),
])
def test_bad_input_is_refused_naming_the_field(call, named):
    with pytest.raises(ValueError, match=re.escape(named)):
        call()


def test_the_examples_in_the_docstrings_hold():
    assert doctest.testmod(charts).failed == 0
    assert doctest.testmod(chart_frame).failed == 0
