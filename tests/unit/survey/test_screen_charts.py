"""The dashboard's own drawing: the heatmap's colour bands, the inline funnel, the sparklines."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from matplotlib.colors import to_hex

from survey.chart_frame import heat_colormap
from survey.screen_charts import funnel_svg
from survey.services.scores.contract import ScoreGroup, ScoreReport
from survey.services.scores.dashboard import HEAT_BANDS, SPARK_HEIGHT, SPARK_PAD, _spark

CSS = Path(__file__).resolve().parents[3] / "survey" / "static" / "staff.css"
SVG = "{http://www.w3.org/2000/svg}"


def test_the_stylesheet_colours_each_band_as_the_reports_heatmap_does():
    css = CSS.read_text()
    for band in range(HEAT_BANDS):
        found = re.search(rf"td\.heat-{band} {{ background: (#[0-9a-f]{{6}}); }}", css)
        assert found, f"no colour for band {band}"
        assert found.group(1) == to_hex(heat_colormap()((band + 0.5) / HEAT_BANDS))
    assert f"td.heat-{HEAT_BANDS} " not in css


def test_the_funnel_places_higher_shares_higher_and_fills_the_flagged_units():
    svg = funnel_svg([(100, 0.9, False), (100, 0.6, True)], [10, 100, 200], [0.5, 0.7, 0.74], [1.0, 0.9, 0.86],
                     [0.4, 0.66, 0.72], [1.0, 0.94, 0.88], target=0.8, label="Phễu", x_label="n", y_label="%")
    root = ET.fromstring(svg)
    assert root.get("role") == "img" and root.get("aria-label") == "Phễu"
    circles = root.findall(f"{SVG}circle")
    assert [c.get("fill") for c in circles] == ["#ffffff", "#a4161a"]
    assert float(circles[0].get("cy")) < float(circles[1].get("cy"))  # 90% above 60%
    assert len(root.findall(f"{SVG}polyline")) == 5  # the target and four limits
    assert "style" not in svg  # the pages allow no inline style


def _month(month: str, share: float | None, n: int) -> ScoreGroup:
    from survey.services.scores.contract import CriterionResult

    criterion = CriterionResult("access", n, None, None, share, None, 0.8, None, share is None,
                                None if share is not None else f"n={n} < 30")
    return ScoreGroup(None, None, None, month, n, None, 0, None, [criterion], [], None, None, [])


def test_a_sparkline_leaves_a_gap_where_a_month_is_suppressed_and_keeps_the_order_of_the_shares():
    months = ["2026-01", "2026-02", "2026-03"]
    report = ScoreReport("counter", 2, "x", "2026-01-01", "2026-03-31", None, None, None, ["month"], False, 30, 10,
                         [_month("2026-01", 0.7, 40), _month("2026-02", None, 12), _month("2026-03", 0.9, 50)],
                         [], [])
    points = _spark(report, months, "access")
    assert [p.share for p in points] == [0.7, None, 0.9] and [p.n for p in points] == [40, 12, 50]
    assert points[1].y is None
    assert points[0].y is not None and points[2].y is not None
    assert points[2].y < points[0].y  # higher is better, drawn higher
    assert points[2].y >= SPARK_PAD and points[0].y <= SPARK_HEIGHT - SPARK_PAD


def test_the_module_examples_hold():
    import doctest

    from survey import screen_charts

    assert doctest.testmod(screen_charts).failed == 0
