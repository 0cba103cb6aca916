"""The charts of the PDF reports and the staff pages: plain data in, an SVG document out.

One module for both (house rule 4). Each function takes figures the caller has already computed (with
:mod:`scoring`) and labels it has already translated: this module knows no language and reads no database.
The output is drawn for print, on an A4 page with 20 mm margins (170 mm full width):

- vector, with the text kept as ``<text>`` set in the report's font (``svg.fonttype: none``), so WeasyPrint
  and browsers set it, Vietnamese diacritics included, and the file stays small;
- readable in grey: marker shapes and line styles differ, not only colours, and the sequential ramps are
  monotone in luminance (:func:`ramp`); near-black, mid grey and one accent blue;
- labelled axes, no title inside the chart (the document gives the caption), no top or right spine, a light
  grid only where it helps reading a value;
- deterministic: the same data gives the same bytes (no date, no creator, ids salted with a fixed string), so
  that the same data gives the same PDF.

Shares come in as fractions 0–1 and are shown as percent; an index is 0–100. A value may be ``None``
(suppressed: too few answers): it is drawn as a gap or as the text the caller passes, never as 0.

Embed a chart as an image, not as inline SVG (WeasyPrint prints an inline ``<style>`` as text and does not
apply the page's CSS inside inline SVG)::

    svg = interval_chart([IntervalRow("Tiếp cận dịch vụ", 0.84, 0.79, 0.88)], target=0.8, x_label="Tỷ lệ hài lòng")
    f'<img src="{svg_data_uri(svg)}" alt="...">'

Matplotlib's object API only (:class:`~matplotlib.figure.Figure` with the SVG canvas, never ``pyplot``): no
figure registry, nothing left behind in a worker process. The print style is applied with
:func:`matplotlib.rc_context` around each chart; rcParams are process-wide, so draw charts from one thread at a
time (the event loop's, or a worker process).
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text
from matplotlib.ticker import MultipleLocator, PercentFormatter
from matplotlib.transforms import blended_transform_factory

from survey.chart_frame import (
    ACCENT,
    BAND,
    CHAR_MM,
    FONT_PT,
    GREY,
    HEADER_MM,
    INK,
    MISSING_HATCH,
    MM_PER_INCH,
    NAME_OFFSET,
    NAME_PAD,
    PT_PER_MM,
    SMALL_PT,
    Layout,
    Scale,
    axis_limits,
    check_scale,
    figure_svg,
    heat_colormap,
    label_columns,
    legend_mm,
    luminance,
    new_figure,
    percent_axis,
    print_style,
    ramp,
    text_on,
    wrap_label,
)

__all__ = [
    "ACCENT",
    "GREY",
    "INK",
    "Distribution",
    "FunnelCurve",
    "FunnelPoint",
    "IntervalRow",
    "Scale",
    "TrendPoint",
    "chart_size",
    "distribution_chart",
    "funnel_chart",
    "heatmap",
    "interval_chart",
    "luminance",
    "ramp",
    "svg_data_uri",
    "trend_chart",
]


# --- the data -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntervalRow:
    """One row of :func:`interval_chart`: a criterion of a unit, or a unit of the league table.

    ``value`` (with its 95% interval ``low``–``high``) is a share 0–1, or an index 0–100 with ``scale="index"``;
    ``None`` when suppressed, and then ``note`` (e.g. ``"n < 30"``) is written at the right end instead.
    ``highlight`` draws the row in the accent colour with a bold label (the report's own unit).
    """

    label: str
    value: float | None
    low: float | None
    high: float | None
    highlight: bool = False
    note: str | None = None


@dataclass(frozen=True)
class Distribution:
    """One bar of :func:`distribution_chart`: a question's short text, the answers per scale point (lowest
    first) and the respondents ``n``. Empty counts (suppressed below the minimum) draw no bar."""

    label: str
    counts: Sequence[int]
    n: int


@dataclass(frozen=True)
class TrendPoint:
    """One month (or quarter) of :func:`trend_chart`; ``value`` ``None`` breaks the line there."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class FunnelPoint:
    """One unit on :func:`funnel_chart`: its code, ``n`` and ``share`` (0–1). ``highlight``: the report's unit (a
    larger marker, its label beside it); ``flagged``: outside the limits with q < 0.05 (a filled marker)."""

    label: str
    n: int
    share: float
    highlight: bool = False
    flagged: bool = False


@dataclass(frozen=True)
class FunnelCurve:
    """The control limits of a funnel plot as a function of ``n`` (computed by the caller with
    :mod:`scoring`): one value of each limit per value of ``n``, as shares 0–1."""

    n: Sequence[float]
    lower_95: Sequence[float]
    upper_95: Sequence[float]
    lower_998: Sequence[float]
    upper_998: Sequence[float]

    def __post_init__(self) -> None:
        for name in ("lower_95", "upper_95", "lower_998", "upper_998"):
            if len(getattr(self, name)) != len(self.n):
                raise ValueError(f"FunnelCurve.{name}: {len(getattr(self, name))} values for {len(self.n)} values "
                                 f"of n; give one per n")


# --- the charts -----------------------------------------------------------------------------------------------


def interval_chart(rows: Sequence[IntervalRow], *, target: float | None = None, target_label: str | None = None,
                   reference: float | None = None, reference_label: str | None = None,
                   scale: Scale = "share", x_label: str, font_family: str = "Noto Sans",
                   width_mm: float = 170, row_height_mm: float = 7.0, y_label: str | None = None) -> str:
    """Horizontal dot-and-whisker chart: one row per item (criteria of a unit, or the league table of
    units), the point estimate with its 95% interval, a dashed vertical target line and a dotted
    reference line (e.g. national value) when given. Height grows with the rows (about 7 mm a row).

    A row whose value is ``None`` draws no point: its ``note`` stands at the right end instead. The highlighted
    row is a diamond in the accent colour with a bold label; the others are near-black circles.

    >>> svg = interval_chart([IntervalRow("Tiếp cận dịch vụ", 0.84, 0.79, 0.88),
    ...                       IntervalRow("Thủ tục hành chính", None, None, None, note="n < 30")],
    ...                      target=0.8, target_label="Mục tiêu", x_label="Tỷ lệ hài lòng")
    >>> "Tiếp cận dịch vụ" in svg and "n &lt; 30" in svg, round(chart_size(svg)[0])
    (True, 170)
    """
    check_scale(scale)
    if not rows:
        raise ValueError("rows: an interval chart needs at least one row")
    legend: list[Any] = []
    legend_labels = [label for label, at in ((target_label, target), (reference_label, reference))
                     if label and at is not None]
    height = row_height_mm * len(rows) + 13 + legend_mm(legend_labels, width_mm)
    with print_style(font_family):
        figure = new_figure(width_mm, height)
        ax = figure.add_subplot()
        for y, row in enumerate(rows):
            colour, marker, size = (ACCENT, "D", 5.5) if row.highlight else (INK, "o", 5.0)
            if row.value is None:
                if row.note:
                    ax.text(0.995, y, row.note, transform=blended_transform_factory(ax.transAxes, ax.transData),
                            ha="right", va="center", color=GREY, fontsize=SMALL_PT, fontstyle="italic")
                continue
            if row.low is not None and row.high is not None:
                ax.plot([row.low, row.high], [y, y], color=colour, linewidth=1.2, marker="|", markersize=5,
                        markeredgewidth=1.0, zorder=2)
            ax.plot([row.value], [y], linestyle="none", marker=marker, markersize=size, color=colour,
                    markeredgecolor=colour, zorder=3)
        if target is not None:
            ax.axvline(target, color=INK, linewidth=0.9, linestyle=(0, (4, 2.5)), zorder=1)
            if target_label:
                legend.append(Line2D([], [], color=INK, linewidth=0.9, linestyle=(0, (4, 2.5)), label=target_label))
        if reference is not None:
            ax.axvline(reference, color=GREY, linewidth=1.1, linestyle=(0, (1, 1.5)), zorder=1)
            if reference_label:
                legend.append(Line2D([], [], color=GREY, linewidth=1.1, linestyle=(0, (1, 1.5)),
                                     label=reference_label))
        values = [v for row in rows for v in (row.value, row.low, row.high)] + [target, reference]
        ax.set_xlim(*axis_limits(values, scale))
        ax.set_ylim(len(rows) - 0.5, -0.5)  # the first row on top
        columns = label_columns(width_mm)
        ax.set_yticks(range(len(rows)), [wrap_label(row.label, columns) for row in rows])
        for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
            if row.highlight:
                tick.set_fontweight("bold")
                tick.set_color(ACCENT)
        ax.tick_params(axis="y", length=0, pad=4)
        ax.xaxis.set_major_locator(MultipleLocator(0.1 if scale == "share" else 10))
        percent_axis(ax.xaxis, scale)
        ax.grid(axis="x")
        ax.set_xlabel(x_label)
        if y_label:
            ax.set_ylabel(y_label)
        layout = Layout(figure, ax)
        layout.axes()
        layout.texts(ax.texts)  # the notes of suppressed rows
        layout.legend(legend, width_mm)
        layout.place()
        return figure_svg(figure)


def distribution_chart(rows: Sequence[Distribution], *, point_labels: Sequence[str], x_label: str,
                       font_family: str = "Noto Sans", width_mm: float = 170, row_height_mm: float = 7.0,
                       show_n: bool = True, missing_label: str | None = None) -> str:
    """100% stacked horizontal bars, one per question, scale points in a grey-to-accent sequential ramp
    (readable in grey), with a legend of the point labels below the chart; the percent written in a
    segment when it is wide enough (>= 8%).

    ``show_n`` writes ``n = …`` after each bar; a row without counts draws no bar (``missing_label`` stands there
    when given).

    >>> svg = distribution_chart([Distribution("Thời gian chờ đợi", [2, 3, 5, 20, 10], 40)],
    ...                          point_labels=["1", "2", "3", "4", "5"], x_label="Tỷ lệ câu trả lời")
    >>> "50%" in svg and "n = 40" in svg
    True
    """
    if not rows:
        raise ValueError("rows: a distribution chart needs at least one row")
    colours = ramp(len(point_labels))
    for number, row in enumerate(rows, start=1):
        if row.counts and len(row.counts) != len(point_labels):
            raise ValueError(f"rows[{number}].counts: {len(row.counts)} counts for {len(point_labels)} scale points")
    height = row_height_mm * len(rows) + 13 + legend_mm(point_labels, width_mm)
    with print_style(font_family):
        figure = new_figure(width_mm, height)
        ax = figure.add_subplot()
        label_at_end = blended_transform_factory(ax.transAxes, ax.transData)
        notes: list[Text] = []  # what the layout must keep inside the figure (the percents stay in their bars)
        for y, row in enumerate(rows):
            total = sum(row.counts)
            if total <= 0:
                if missing_label:
                    notes.append(ax.text(0.5, y, missing_label, transform=label_at_end, ha="center", va="center",
                                         color=GREY, fontsize=SMALL_PT, fontstyle="italic"))
                continue
            left = 0.0
            for count, colour in zip(row.counts, colours, strict=True):
                share = count / total
                if share > 0:
                    ax.barh(y, share, left=left, height=0.72, color=colour, edgecolor="white", linewidth=0.6)
                    if share >= 0.08:
                        ax.text(left + share / 2, y, f"{share * 100:.0f}%", ha="center", va="center",
                                fontsize=SMALL_PT, color=text_on(colour))
                left += share
            if show_n:
                notes.append(ax.text(1.01, y, f"n = {row.n}", transform=label_at_end, ha="left", va="center",
                                     color=GREY, fontsize=SMALL_PT))
        ax.set_xlim(0, 1)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        columns = label_columns(width_mm, 0.3)
        ax.set_yticks(range(len(rows)), [wrap_label(row.label, columns) for row in rows])
        ax.tick_params(axis="y", length=0, pad=4)
        ax.spines["left"].set_visible(False)
        ax.xaxis.set_major_locator(MultipleLocator(0.25))
        percent_axis(ax.xaxis, "share")
        ax.set_xlabel(x_label)
        handles = [Patch(facecolor=colour, edgecolor=GREY if luminance(colour) > 0.6 else colour, linewidth=0.4,
                         label=label) for colour, label in zip(colours, point_labels, strict=True)]
        layout = Layout(figure, ax)
        layout.axes()
        layout.texts(notes)
        layout.legend(handles, width_mm)
        layout.place()
        return figure_svg(figure)


def trend_chart(points: Sequence[TrendPoint], *, target: float | None = None, target_label: str | None = None,
                scale: Scale = "index", y_label: str, font_family: str = "Noto Sans",
                width_mm: float = 170, height_mm: float = 60, value_label: str | None = None,
                interval_label: str | None = None, missing_label: str | None = None) -> str:
    """The monthly series as a line with markers and a shaded/whiskered 95% band; gaps where value is
    None (the line breaks); x tick labels every month (rotated if needed).

    The band is shaded where neighbouring months both have an interval, and a whisker marks the interval of a
    month standing alone. ``value_label`` and ``interval_label`` name the line and the band in the legend;
    ``missing_label`` is written where a month has no value.

    >>> svg = trend_chart([TrendPoint("01/2026", 81.0, 78.0, 84.0), TrendPoint("02/2026", None),
    ...                    TrendPoint("03/2026", 84.5, 81.0, 87.5)], target=80, y_label="Chỉ số hài lòng")
    >>> "02/2026" in svg
    True
    """
    check_scale(scale)
    if not points:
        raise ValueError("points: a trend chart needs at least one point")

    def column(values: Iterable[float | None]) -> Any:
        return np.array([np.nan if v is None else float(v) for v in values])

    x = np.arange(len(points))
    values = column(p.value for p in points)
    known = np.isfinite(values)
    lows = np.where(known, column(p.low for p in points), np.nan)
    highs = np.where(known, column(p.high for p in points), np.nan)
    bounded = np.isfinite(lows) & np.isfinite(highs)
    with print_style(font_family):
        figure = new_figure(width_mm, height_mm)
        ax = figure.add_subplot()
        legend: list[Any] = []
        ax.fill_between(x, lows, highs, where=bounded, color=BAND, linewidth=0, zorder=1)
        alone = bounded & ~np.r_[False, bounded[:-1]] & ~np.r_[bounded[1:], False]
        if alone.any():
            ax.vlines(x[alone], lows[alone], highs[alone], color=GREY, linewidth=1.0, zorder=2)
        ax.plot(x, values, color=ACCENT, linewidth=1.4, marker="o", markersize=4, zorder=3)
        if value_label:
            legend.append(Line2D([], [], color=ACCENT, linewidth=1.4, marker="o", markersize=4, label=value_label))
        if interval_label and bounded.any():
            legend.append(Patch(facecolor=BAND, edgecolor="none", label=interval_label))
        if target is not None:
            ax.axhline(target, color=INK, linewidth=0.9, linestyle=(0, (4, 2.5)), zorder=2)
            if target_label:
                legend.append(Line2D([], [], color=INK, linewidth=0.9, linestyle=(0, (4, 2.5)), label=target_label))
        if missing_label:
            at_bottom = blended_transform_factory(ax.transData, ax.transAxes)
            for position in x[~known]:
                ax.text(position, 0.03, missing_label, transform=at_bottom, ha="center", va="bottom", color=GREY,
                        fontsize=SMALL_PT - 0.5, fontstyle="italic", rotation=90 if len(points) > 6 else 0)
        ax.set_ylim(*axis_limits([*values[known], *lows[bounded], *highs[bounded], target], scale))
        ax.set_xlim(-0.5, len(points) - 0.5)
        ax.set_xticks(x, [p.label for p in points])
        longest = max(len(p.label) for p in points)
        if longest * CHAR_MM * 0.9 > (width_mm - 25) / len(points):  # labels would touch: turn them
            ax.tick_params(axis="x", labelrotation=45)
            for tick in ax.get_xticklabels():
                tick.set_horizontalalignment("right")
                tick.set_rotation_mode("anchor")
        ax.yaxis.set_major_locator(MultipleLocator(0.1 if scale == "share" else 10))
        percent_axis(ax.yaxis, scale)
        ax.grid(axis="y")
        ax.set_ylabel(y_label)
        layout = Layout(figure, ax)
        layout.axes()
        layout.texts(ax.texts)  # the missing months' label
        layout.legend(legend, width_mm)
        layout.place()
        return figure_svg(figure)


def funnel_chart(points: Sequence[FunnelPoint], curve: FunnelCurve, *, target: float, x_label: str, y_label: str,
                 target_label: str | None = None, limit_labels: tuple[str, str] = ("95%", "99.8%"),
                 font_family: str = "Noto Sans", width_mm: float = 170, height_mm: float = 80,
                 flagged_label: str | None = None) -> str:
    """Spiegelhalter funnel plot: the target as a solid line, 95% limits dashed, 99.8% dotted (legend
    names them), units as points (n on x, share on y, in %); the highlighted unit labelled.

    Units are open circles, filled when flagged (``flagged_label`` names that in the legend); the highlighted
    unit is a larger diamond in the accent colour with its label beside it.

    >>> curve = FunnelCurve(n=[20, 100, 400], lower_95=[0.62, 0.72, 0.76], upper_95=[0.98, 0.88, 0.84],
    ...                     lower_998=[0.52, 0.68, 0.74], upper_998=[1.0, 0.92, 0.86])
    >>> svg = funnel_chart([FunnelPoint("HN-BD", 120, 0.84, highlight=True), FunnelPoint("HN-CG", 60, 0.7)],
    ...                    curve, target=0.8, x_label="n", y_label="Tỷ lệ hài lòng")
    >>> ">HN-BD<" in svg and ">HN-CG<" not in svg
    True
    """
    n = np.asarray(curve.n, dtype=float)
    limits = {name: np.asarray(getattr(curve, name), dtype=float)
              for name in ("lower_95", "upper_95", "lower_998", "upper_998")}
    with print_style(font_family):
        figure = new_figure(width_mm, height_mm)
        ax = figure.add_subplot()
        target_line = ax.axhline(target, color=INK, linewidth=1.0, zorder=2, label=target_label or "_target")
        dashed, dotted = (0, (4, 2.5)), (0, (1, 1.5))
        inner = ax.plot(n, limits["lower_95"], color=GREY, linewidth=0.9, linestyle=dashed, label=limit_labels[0])
        ax.plot(n, limits["upper_95"], color=GREY, linewidth=0.9, linestyle=dashed)
        outer = ax.plot(n, limits["lower_998"], color=INK, linewidth=1.0, linestyle=dotted, label=limit_labels[1])
        ax.plot(n, limits["upper_998"], color=INK, linewidth=1.0, linestyle=dotted)
        named: list[tuple[FunnelPoint, Text]] = []
        for point in sorted(points, key=lambda p: p.highlight):  # the report's unit on top of the others
            colour, marker, size = (ACCENT, "D", 7.0) if point.highlight else (INK, "o", 5.0)
            ax.plot([point.n], [point.share], linestyle="none", marker=marker, markersize=size, zorder=4,
                    markeredgecolor=colour, markeredgewidth=1.0, markerfacecolor=colour if point.flagged else "white")
            if point.highlight:
                named.append((point, ax.annotate(
                    point.label, (point.n, point.share), xytext=NAME_OFFSET, textcoords="offset points", color=ACCENT,
                    fontweight="bold", fontsize=FONT_PT, zorder=5,
                    bbox={"boxstyle": f"square,pad={NAME_PAD}", "facecolor": "white", "linewidth": 0})))
        handles: list[Any] = [*([target_line] if target_label else []), inner[0], outer[0]]
        if flagged_label:
            handles.append(Line2D([], [], linestyle="none", marker="o", markersize=5, color=INK, label=flagged_label))
        smallest = min((p.n for p in points if p.n > 0), default=None)
        near = n >= (smallest if smallest is not None else 0)
        seen = [p.share for p in points] + [target]
        seen += [float(v) for name in ("lower_998", "upper_998") for v in limits[name][near][:1]]
        low, high = axis_limits(seen, "share", top=True)
        ax.set_ylim(low, high)
        ax.set_xlim(0, max([*n, *(p.n for p in points)], default=1) * 1.04)
        ax.yaxis.set_major_locator(MultipleLocator(0.05 if high - low <= 0.3 else 0.1))
        percent_axis(ax.yaxis, "share")
        ax.grid(axis="y")
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        layout = Layout(figure, ax)
        layout.axes()
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        for point, name in named:  # the unit's name beside its marker, in its white box
            fx, fy = (point.n - x0) / (x1 - x0), (point.share - y0) / (y1 - y0)
            if 0 <= fx <= 1 and 0 <= fy <= 1:  # drawn only when the marker is
                layout.add(fx, fy, layout.extent(name).padded(NAME_PAD * FONT_PT), *NAME_OFFSET)
        layout.legend(handles, width_mm)
        layout.place()
        return figure_svg(figure)


def heatmap(row_labels: Sequence[str], column_labels: Sequence[str], values: Sequence[Sequence[float | None]], *,
            missing_label: str = "–", scale: Scale = "share", font_family: str = "Noto Sans",
            width_mm: float = 170, row_height_mm: float = 6.0, colorbar_label: str | None = None) -> str:
    """Units × criteria: a sequential grey-blue colormap (readable in grey: light = low, dark = high, or the
    reverse, but monotone in luminance), each cell annotated with its value (white text on dark cells),
    missing cells hatched and annotated with missing_label; column labels on top, rotated if long; a
    colorbar. Height grows with the rows (about 6 mm a row).

    Values are written as whole percents (``83%``) or, for an index, whole points (``83``).

    >>> svg = heatmap(["Ba Đình", "Cầu Giấy"], ["Tiếp cận", "Thủ tục"], [[0.83, 0.9], [None, 0.71]])
    >>> ">83%<" in svg and ">–<" in svg
    True
    """
    check_scale(scale)
    if not row_labels or not column_labels:
        raise ValueError("row_labels, column_labels: a heatmap needs at least one row and one column")
    if len(values) != len(row_labels):
        raise ValueError(f"values: {len(values)} rows for {len(row_labels)} row labels")
    for number, row in enumerate(values, start=1):
        if len(row) != len(column_labels):
            raise ValueError(f"values[{number}]: {len(row)} values for {len(column_labels)} columns")
    data = np.array([[np.nan if v is None else float(v) for v in row] for row in values], dtype=float)
    present = data[np.isfinite(data)]
    low, high = axis_limits(present.tolist(), scale, top=True)
    norm = Normalize(vmin=low, vmax=high)
    colormap = heat_colormap()
    label_mm = min(len(max(row_labels, key=len)), label_columns(width_mm, 0.3)) * CHAR_MM + 4
    cell_mm = (width_mm - label_mm - 22) / len(column_labels)
    longest = max(len(label) for label in column_labels) * CHAR_MM * SMALL_PT / FONT_PT
    turned = longest > cell_mm * 0.95
    header_mm = min(HEADER_MM, longest * 0.72 + 5) if turned else 7.0
    # a turned label longer than the header holds goes on two lines, as the row labels do
    header_columns = int((HEADER_MM - 10) / 0.72 / (CHAR_MM * SMALL_PT / FONT_PT))
    headers = [wrap_label(label, header_columns) if turned and len(label) > header_columns else label
               for label in column_labels]
    with print_style(font_family):
        figure = new_figure(width_mm, row_height_mm * len(row_labels) + header_mm + 4)
        ax = figure.add_subplot()
        mesh = ax.pcolormesh(np.ma.masked_invalid(data), cmap=colormap, norm=norm, edgecolors="white",
                             linewidth=1.0)
        for (i, j), value in np.ndenumerate(data):
            if math.isfinite(value):
                text = f"{value * 100:.0f}%" if scale == "share" else f"{value:.0f}"
                colour = text_on(colormap(norm(value)))
            else:
                ax.add_patch(Rectangle((j + 0.02, i + 0.04), 0.96, 0.92, facecolor="white", edgecolor=GREY,
                                       linewidth=0, hatch=MISSING_HATCH, zorder=1))
                text, colour = missing_label, INK
            ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", color=colour, fontsize=SMALL_PT, zorder=3,
                    bbox={"boxstyle": "square,pad=0.15", "facecolor": "white", "linewidth": 0}
                    if not math.isfinite(value) else None)
        ax.set_xlim(0, len(column_labels))
        ax.set_ylim(len(row_labels), 0)
        columns = label_columns(width_mm, 0.3)
        ax.set_yticks(np.arange(len(row_labels)) + 0.5, [wrap_label(label, columns) for label in row_labels])
        ax.set_xticks(np.arange(len(column_labels)) + 0.5, headers)
        ax.xaxis.tick_top()
        ax.tick_params(length=0, pad=3)
        if turned:
            for tick in ax.get_xticklabels():
                tick.set_rotation(45)
                tick.set_horizontalalignment("left")
                tick.set_rotation_mode("anchor")
        for spine in ax.spines.values():
            spine.set_visible(False)
        bar = figure.colorbar(mesh, cax=figure.add_axes((0.9, 0.1, 0.02, 0.8), label="<colorbar>"))
        bar.outline.set_linewidth(0.4)
        bar.ax.tick_params(labelsize=SMALL_PT, length=2, width=0.5)
        if scale == "share":
            bar.ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
        if colorbar_label:
            bar.set_label(colorbar_label, fontsize=SMALL_PT)
        layout = Layout(figure, ax)
        layout.axes()
        # the bar: 3.5% of the heatmap's width at most, as tall as the rows (fewer rows, a thinner bar)
        layout.place(bar, colorbar_width=0.035, colorbar_aspect=max(8, 3 * len(row_labels)))
        return figure_svg(figure)


# --- embedding ------------------------------------------------------------------------------------------------


def svg_data_uri(svg: str) -> str:
    """``data:image/svg+xml;base64,...`` for an <img src>: how pages and reports embed a chart.

    >>> svg_data_uri("<svg/>")
    'data:image/svg+xml;base64,PHN2Zy8+'
    """
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


_ROOT = re.compile(r"<svg\b[^>]*>", re.S)
_UNIT_MM = {"pt": 1 / PT_PER_MM, "mm": 1.0, "cm": 10.0, "in": MM_PER_INCH, "px": MM_PER_INCH / 96, "": MM_PER_INCH / 96}


def chart_size(svg: str) -> tuple[float, float]:
    """The chart's width and height in millimetres, read from the SVG root (for an ``<img>``'s size).

    >>> chart_size('<svg width="481.889764pt" height="170.07874pt" viewBox="0 0 481.889764 170.07874">')
    (170.0, 60.0)
    """
    root = _ROOT.search(svg)
    if root is None:
        raise ValueError("svg: no <svg> root element")
    size = []
    for name in ("width", "height"):
        found = re.search(rf'\s{name}="([0-9.]+)\s*(pt|mm|cm|in|px|)"', root.group(0))
        if found is None:
            raise ValueError(f"svg: the root element has no {name} in pt, mm, cm, in or px")
        size.append(round(float(found.group(1)) * _UNIT_MM[found.group(2)], 2))
    return size[0], size[1]
