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
import functools
import io
import math
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import matplotlib
import numpy as np
from matplotlib.backends.backend_svg import FigureCanvasSVG, RendererSVG
from matplotlib.colors import LinearSegmentedColormap, Normalize, to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text
from matplotlib.ticker import MultipleLocator, PercentFormatter
from matplotlib.transforms import Bbox, IdentityTransform, blended_transform_factory

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

Scale = Literal["share", "index"]

INK = "#1a1a1a"  # near-black: text, the points, the target
GREY = "#767676"  # mid grey: limits, notes, axes (4.5:1 on white)
ACCENT = "#1f4e79"  # the one colour: the report's own unit, the series, the dark end of the ramps
LIGHT = "#d9d9d9"  # grid lines
BAND = "#dbe2ea"  # a 95% band behind a series
RAMP_LIGHT = "#dcdcdc"  # the light end of the distribution ramp (the lowest scale point)
HEAT_LIGHT = "#f4f4f4"  # the light end of the heatmap's colormap
SALT = "survey-charts"  # svg.hashsalt: the ids of clip paths and markers are the same in every run

MM_PER_INCH = 25.4
PT_PER_MM = 72 / MM_PER_INCH
FONT_PT = 8.0  # the size of the text at 100 %: a 170 mm chart printed beside 10 pt body text
SMALL_PT = 7.0  # tick labels, legends, notes
CHAR_MM = FONT_PT * 0.5 / PT_PER_MM  # about the width of an average letter, to decide wrapping and rotation
MISSING_HATCH = "////"
PAD = PT_PER_MM  # 1 mm (in points) between the chart's outermost text and the edge of the figure
LEGEND_GAP = PT_PER_MM + 0.2 * SMALL_PT  # between the legend and the decorations above it (1 mm and its border pad)
NAME_OFFSET = (6.0, 4.0)  # points from a funnel's highlighted marker to its name
NAME_PAD = 0.1  # the white box around the name, in font sizes
HEADER_MM = 45.0  # the most a heatmap's turned column labels take above it
COLORBAR_GAP = 0.02  # between a heatmap's decorations and its colorbar, a fraction of the heatmap's width


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


# --- colours --------------------------------------------------------------------------------------------------


def luminance(colour: str) -> float:
    """The relative luminance (WCAG 2) of a colour: 0 black, 1 white; what is left of a colour printed in grey.

    >>> round(luminance("#ffffff"), 3), round(luminance(ACCENT), 3), round(luminance(INK), 3)
    (1.0, 0.071, 0.01)
    """

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in to_rgb(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def ramp(count: int) -> tuple[str, ...]:
    """The colours of ``count`` scale points, lowest first: light grey to the accent blue, darker at every step
    (every channel falls), so that the points stay apart when printed in grey.

    >>> ramp(3)
    ('#dcdcdc', '#7e95ab', '#1f4e79')
    """
    if count < 1:
        raise ValueError(f"count: at least one scale point is needed, got {count}")
    if count == 1:
        return (ACCENT,)
    light, dark = np.array(to_rgb(RAMP_LIGHT)), np.array(to_rgb(ACCENT))
    return tuple(to_hex(light + (dark - light) * step / (count - 1)) for step in range(count))


def _heat_colormap() -> LinearSegmentedColormap:
    # two ends whose every channel falls from light to dark: luminance falls monotonically along the map
    return LinearSegmentedColormap.from_list("survey-heat", [HEAT_LIGHT, ACCENT])


def _text_on(colour: Any) -> str:
    """White text on a dark fill, near-black on a light one."""
    return "#ffffff" if luminance(to_hex(colour)) < 0.3 else INK


# --- the frame every chart shares -----------------------------------------------------------------------------


def _print_style(font_family: str) -> Any:
    """The rcParams of every chart: text as text in the report's font, stable ids, the print look."""
    return matplotlib.rc_context({
        "svg.fonttype": "none",  # text stays <text>: set by the reader in the report's font, and 40% smaller
        "svg.hashsalt": SALT,
        # the report's font first; a machine without it measures with DejaVu (the SVG still names the report's)
        "font.family": [font_family, "DejaVu Sans"],
        "font.size": FONT_PT,
        "axes.labelsize": FONT_PT,
        "xtick.labelsize": SMALL_PT,
        "ytick.labelsize": FONT_PT,
        "legend.fontsize": SMALL_PT,
        "text.parse_math": False,  # a label with two "$" is a label, not a formula
        "text.color": INK,
        "axes.labelcolor": INK,
        "axes.edgecolor": GREY,
        "axes.linewidth": 0.6,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": False,
        "axes.axisbelow": True,
        "grid.color": LIGHT,
        "grid.linewidth": 0.5,
        "xtick.color": INK,
        "ytick.color": INK,
        "xtick.major.width": 0.6,
        "ytick.major.width": 0.6,
        "xtick.major.size": 3,
        "ytick.major.size": 3,
        "lines.linewidth": 1.2,
        "lines.solid_capstyle": "butt",
        "legend.frameon": False,
        "legend.handlelength": 2.4,
        "hatch.color": GREY,
        "hatch.linewidth": 0.5,
        "figure.facecolor": "white",
    })


def _figure(width_mm: float, height_mm: float) -> Figure:
    if not (20 <= width_mm <= 1000 and 15 <= height_mm <= 2000):
        raise ValueError(f"size: {width_mm:g} × {height_mm:g} mm is not a chart size (width 20–1000, height 15–2000)")
    # 72 dpi, as the SVG canvas draws: a pixel of the layout is a point; no layout engine (see _Layout)
    figure = Figure(figsize=(width_mm / MM_PER_INCH, height_mm / MM_PER_INCH), dpi=72, layout=None)
    FigureCanvasSVG(figure)
    return figure


@functools.cache
def _measuring_renderer() -> RendererSVG:
    """A renderer that only measures text, as the SVG canvas does (nothing is drawn with it). One for the process:
    matplotlib caches the sizes of texts per renderer, and the same labels come back in chart after chart."""
    renderer: RendererSVG = RendererSVG(1, 1, io.StringIO())  # type: ignore[no-untyped-call]
    return renderer


class _Layout:
    """Where the axes go in the figure, from the sizes of the text around them.

    Matplotlib's constrained layout finds the margins by measuring every artist of the drawn figure, twice; it
    was half the cost of a chart. Each chart knows what stands around its axes (row and tick labels, the axis
    labels, notes, the legend below, the colorbar at the right), so it hands those texts here: each is a box
    anchored at a point of the axes (``fx``, ``fy`` in axes fractions) with its extent around that point in
    points, measured once as the SVG canvas measures it (:class:`RendererSVG`, the text's font, size, weight,
    rotation and alignment). :meth:`place` then gives the axes the smallest margins that keep every box
    :data:`PAD` inside the figure: arithmetic only, so the same data gives the same layout.
    """

    def __init__(self, figure: Figure, ax: Any) -> None:
        self.figure, self.ax = figure, ax
        self.renderer = _measuring_renderer()
        self.boxes: list[tuple[float, float, Bbox]] = []
        self.below = 0.0  # points taken under the axes' decorations (the legend and its gap)

    def extent(self, text: Text) -> Bbox:
        """The extent of ``text`` in points around its anchor (its position)."""
        probe = Text(0, 0, text.get_text())
        probe.update_from(text)
        probe.set_transform(IdentityTransform())
        probe.set_rotation_mode(text.get_rotation_mode())
        probe.set_figure(self.figure)
        return probe.get_window_extent(self.renderer)

    def add(self, fx: float, fy: float, extent: Bbox, dx: float = 0.0, dy: float = 0.0) -> None:
        self.boxes.append((fx, fy, extent.translated(dx, dy)))

    def texts(self, texts: Iterable[Text]) -> None:
        """Texts placed in data or axes coordinates (a note, ``n = …``), once the axes' limits are set."""
        to_axes = self.ax.transAxes.inverted()
        for text in texts:
            if text.get_visible() and text.get_text():
                fx, fy = to_axes.transform(text.get_transform().transform(text.get_unitless_position()))
                self.add(float(fx), float(fy), self.extent(text))

    def tick_boxes(self, axis: Any) -> list[tuple[float, float, Bbox]]:
        """The tick labels of ``axis`` drawn in view, as boxes of its axes (see :meth:`add`)."""
        axis.get_majorticklabels()  # formats the labels of the current ticks
        locations = axis.get_majorticklocs()
        low, high = axis.get_view_interval()
        horizontal = axis.axis_name == "x"
        boxes = []
        for tick, location in zip(axis.get_major_ticks(len(locations)), locations, strict=True):
            fraction = (location - low) / (high - low)
            if not -1e-9 <= fraction <= 1 + 1e-9:
                continue
            first = tick.label1.get_visible()
            label = tick.label1 if first else tick.label2
            if not label.get_visible() or not label.get_text():
                continue
            offset = (tick.get_pad() + tick.get_tick_padding()) * (-1 if first else 1)
            if horizontal:
                boxes.append((fraction, 0.0 if first else 1.0, self.extent(label).translated(0, offset)))
            else:
                boxes.append((0.0 if first else 1.0, fraction, self.extent(label).translated(offset, 0)))
        return boxes

    def ticks(self, axis: Any) -> Bbox:
        """The tick labels of ``axis``; their union, in points from the axes' edge they stand at."""
        boxes = self.tick_boxes(axis)
        self.boxes += boxes
        return Bbox.union([extent for _, _, extent in boxes]) if boxes else Bbox.from_bounds(0, 0, 0, 0)

    def axis_label(self, axis: Any, ticks: Bbox) -> None:
        """The axis label beyond its tick labels (bottom x axis, left y axis), as matplotlib sets it."""
        label = axis.label
        if not label.get_visible() or not label.get_text():
            return
        extent, pad = self.extent(label), matplotlib.rcParams["axes.labelpad"]
        if axis.axis_name == "x":
            self.add(0.5, 0.0, extent, dy=min(ticks.y0, 0.0) - pad)
        else:
            self.add(0.0, 0.5, extent, dx=min(ticks.x0, 0.0) - pad)

    def axes(self) -> None:
        """The tick labels and labels of both axes."""
        for axis in (self.ax.xaxis, self.ax.yaxis):
            self.axis_label(axis, self.ticks(axis))

    def legend(self, handles: Sequence[Any], width_mm: float) -> None:
        """The legend centred under everything else, its rows side by side as :func:`_legend_columns` says."""
        if not handles:
            return
        labels = [str(handle.get_label()) for handle in handles]
        _, height = self.figure.bbox.size
        legend = self.figure.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, PAD / height),
                                    ncols=_legend_columns(labels, width_mm), columnspacing=1.6, handletextpad=0.6,
                                    borderaxespad=0.2)
        self.below = legend.get_window_extent(self.renderer).y1 - PAD + LEGEND_GAP

    def place(self, colorbar: Any = None, *, colorbar_width: float = 0.0, colorbar_aspect: float = 1.0) -> None:
        """The axes where every box is inside the figure; with a colorbar (its axes), the bar after the axes' own
        decorations: ``colorbar_width`` of the axes' width at most, its height ``colorbar_aspect`` times its width
        at most, its tick labels and label beyond it."""
        width, height = self.figure.bbox.size
        beyond = 0.0  # the colorbar's ticks and label, beyond the bar
        bar_boxes: list[tuple[float, float, Bbox]] = []  # the colorbar's tick labels, for their height only
        if colorbar is not None:
            bar_boxes = self.tick_boxes(colorbar.ax.yaxis)
            beyond = max((extent.x1 for _, _, extent in bar_boxes), default=0.0)
            label = colorbar.ax.yaxis.label
            if label.get_visible() and label.get_text():
                beyond += matplotlib.rcParams["axes.labelpad"] + self.extent(label).width
        left = right = top = PAD
        bottom = PAD + self.below
        bar_gap = bar_width = bar_height = 0.0
        over = {"left": 0.0, "right": 0.0, "bottom": 0.0, "top": 0.0}
        for _ in range(50):  # each round takes the overflows of the last; a few rounds settle them to 0.01 pt
            w, h = max(width - left - right, 0.25 * width), max(height - bottom - top, 0.25 * height)
            if colorbar is not None:
                bar_gap = COLORBAR_GAP * w
                bar_width = min(colorbar_width * w, h / colorbar_aspect)
                bar_height = bar_width * colorbar_aspect
            over = {"left": 0.0, "right": 0.0, "bottom": 0.0, "top": 0.0}
            for fx, fy, extent in self.boxes:
                x, y = fx * w, fy * h
                over["left"] = max(over["left"], -(x + extent.x0))
                over["right"] = max(over["right"], x + extent.x1 - w)
                over["bottom"] = max(over["bottom"], -(y + extent.y0))
                over["top"] = max(over["top"], y + extent.y1 - h)
            for _, fy, extent in bar_boxes:
                y = (h - bar_height) / 2 + fy * bar_height
                over["bottom"] = max(over["bottom"], -(y + extent.y0))
                over["top"] = max(over["top"], y + extent.y1 - h)
            new = (PAD + over["left"], PAD + over["right"] + (bar_gap + bar_width + beyond if colorbar else 0.0),
                   PAD + self.below + over["bottom"], PAD + over["top"])
            if max(abs(a - b) for a, b in zip(new, (left, right, bottom, top), strict=True)) < 0.01:
                break
            left, right, bottom, top = new
        # text too large for the figure (a label taller than the chart) stands out of it rather than the chart
        # failing: the axes keep a quarter of each dimension, the margins shrink in proportion
        w, h = width - left - right, height - bottom - top
        if w < 0.25 * width:
            left, right = (margin * 0.75 * width / (left + right) for margin in (left, right))
            w = 0.25 * width
        if h < 0.25 * height:
            bottom, top = (margin * 0.75 * height / (bottom + top) for margin in (bottom, top))
            h = 0.25 * height
        self.ax.set_position([left / width, bottom / height, w / width, h / height])
        if colorbar is not None:
            x = left + w + over["right"] + bar_gap
            y = bottom + (h - bar_height) / 2
            colorbar.ax.set_position([x / width, y / height, bar_width / width, bar_height / height])


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    # no Date, no Creator: nothing in the file changes from one run to the next
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def _percent_axis(axis: Any, scale: Scale) -> None:
    if scale == "share":
        axis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))


def _limits(values: Iterable[float | None], scale: Scale, *, top: bool = False) -> tuple[float, float]:
    """An axis range in steps of 10 points: from a step below the lowest value, up to the full scale (or, with
    ``top``, a step above the highest); 0–100 % when nothing is given."""
    full = 1.0 if scale == "share" else 100.0
    step = full / 10
    present = [v for v in values if v is not None and math.isfinite(v)]
    if not present:
        return 0.0, full
    low = max(0.0, math.floor((min(present) - step / 4) / step) * step)
    high = min(full, math.ceil((max(present) + step / 4) / step) * step) if top else full
    return low, max(high, low + step)


def _wrap(label: str, columns: int) -> str:
    """A long label on at most two lines."""
    return textwrap.fill(label, width=max(columns, 8), max_lines=2, placeholder=" …")


def _label_columns(width_mm: float, share: float = 0.34) -> int:
    return int(width_mm * share / CHAR_MM)


def _legend_columns(labels: Sequence[str], width_mm: float) -> int:
    """How many legend entries fit side by side (one row when all of them do)."""
    if not labels:
        return 1
    entry_mm = [len(label) * CHAR_MM * SMALL_PT / FONT_PT + 10 for label in labels]  # text, handle and spacing
    if sum(entry_mm) <= width_mm * 0.95:
        return len(labels)
    return max(1, min(len(labels), int(width_mm * 0.95 // max(entry_mm))))


def _legend_mm(labels: Sequence[str], width_mm: float) -> float:
    return 5.0 * math.ceil(len(labels) / _legend_columns(labels, width_mm)) + 1 if labels else 0.0


def _check_scale(scale: str) -> None:
    if scale not in ("share", "index"):
        raise ValueError(f"scale: {scale!r} is not allowed; allowed: share, index")


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
    _check_scale(scale)
    if not rows:
        raise ValueError("rows: an interval chart needs at least one row")
    legend: list[Any] = []
    legend_labels = [label for label, at in ((target_label, target), (reference_label, reference))
                     if label and at is not None]
    height = row_height_mm * len(rows) + 13 + _legend_mm(legend_labels, width_mm)
    with _print_style(font_family):
        figure = _figure(width_mm, height)
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
        ax.set_xlim(*_limits(values, scale))
        ax.set_ylim(len(rows) - 0.5, -0.5)  # the first row on top
        columns = _label_columns(width_mm)
        ax.set_yticks(range(len(rows)), [_wrap(row.label, columns) for row in rows])
        for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
            if row.highlight:
                tick.set_fontweight("bold")
                tick.set_color(ACCENT)
        ax.tick_params(axis="y", length=0, pad=4)
        ax.xaxis.set_major_locator(MultipleLocator(0.1 if scale == "share" else 10))
        _percent_axis(ax.xaxis, scale)
        ax.grid(axis="x")
        ax.set_xlabel(x_label)
        if y_label:
            ax.set_ylabel(y_label)
        layout = _Layout(figure, ax)
        layout.axes()
        layout.texts(ax.texts)  # the notes of suppressed rows
        layout.legend(legend, width_mm)
        layout.place()
        return _svg(figure)


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
    height = row_height_mm * len(rows) + 13 + _legend_mm(point_labels, width_mm)
    with _print_style(font_family):
        figure = _figure(width_mm, height)
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
                                fontsize=SMALL_PT, color=_text_on(colour))
                left += share
            if show_n:
                notes.append(ax.text(1.01, y, f"n = {row.n}", transform=label_at_end, ha="left", va="center",
                                     color=GREY, fontsize=SMALL_PT))
        ax.set_xlim(0, 1)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        columns = _label_columns(width_mm, 0.3)
        ax.set_yticks(range(len(rows)), [_wrap(row.label, columns) for row in rows])
        ax.tick_params(axis="y", length=0, pad=4)
        ax.spines["left"].set_visible(False)
        ax.xaxis.set_major_locator(MultipleLocator(0.25))
        _percent_axis(ax.xaxis, "share")
        ax.set_xlabel(x_label)
        handles = [Patch(facecolor=colour, edgecolor=GREY if luminance(colour) > 0.6 else colour, linewidth=0.4,
                         label=label) for colour, label in zip(colours, point_labels, strict=True)]
        layout = _Layout(figure, ax)
        layout.axes()
        layout.texts(notes)
        layout.legend(handles, width_mm)
        layout.place()
        return _svg(figure)


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
    _check_scale(scale)
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
    with _print_style(font_family):
        figure = _figure(width_mm, height_mm)
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
        ax.set_ylim(*_limits([*values[known], *lows[bounded], *highs[bounded], target], scale))
        ax.set_xlim(-0.5, len(points) - 0.5)
        ax.set_xticks(x, [p.label for p in points])
        longest = max(len(p.label) for p in points)
        if longest * CHAR_MM * 0.9 > (width_mm - 25) / len(points):  # labels would touch: turn them
            ax.tick_params(axis="x", labelrotation=45)
            for tick in ax.get_xticklabels():
                tick.set_horizontalalignment("right")
                tick.set_rotation_mode("anchor")
        ax.yaxis.set_major_locator(MultipleLocator(0.1 if scale == "share" else 10))
        _percent_axis(ax.yaxis, scale)
        ax.grid(axis="y")
        ax.set_ylabel(y_label)
        layout = _Layout(figure, ax)
        layout.axes()
        layout.texts(ax.texts)  # the missing months' label
        layout.legend(legend, width_mm)
        layout.place()
        return _svg(figure)


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
    with _print_style(font_family):
        figure = _figure(width_mm, height_mm)
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
        low, high = _limits(seen, "share", top=True)
        ax.set_ylim(low, high)
        ax.set_xlim(0, max([*n, *(p.n for p in points)], default=1) * 1.04)
        ax.yaxis.set_major_locator(MultipleLocator(0.05 if high - low <= 0.3 else 0.1))
        _percent_axis(ax.yaxis, "share")
        ax.grid(axis="y")
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        layout = _Layout(figure, ax)
        layout.axes()
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        for point, name in named:  # the unit's name beside its marker, in its white box
            fx, fy = (point.n - x0) / (x1 - x0), (point.share - y0) / (y1 - y0)
            if 0 <= fx <= 1 and 0 <= fy <= 1:  # drawn only when the marker is
                layout.add(fx, fy, layout.extent(name).padded(NAME_PAD * FONT_PT), *NAME_OFFSET)
        layout.legend(handles, width_mm)
        layout.place()
        return _svg(figure)


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
    _check_scale(scale)
    if not row_labels or not column_labels:
        raise ValueError("row_labels, column_labels: a heatmap needs at least one row and one column")
    if len(values) != len(row_labels):
        raise ValueError(f"values: {len(values)} rows for {len(row_labels)} row labels")
    for number, row in enumerate(values, start=1):
        if len(row) != len(column_labels):
            raise ValueError(f"values[{number}]: {len(row)} values for {len(column_labels)} columns")
    data = np.array([[np.nan if v is None else float(v) for v in row] for row in values], dtype=float)
    present = data[np.isfinite(data)]
    low, high = _limits(present.tolist(), scale, top=True)
    norm = Normalize(vmin=low, vmax=high)
    colormap = _heat_colormap()
    label_mm = min(len(max(row_labels, key=len)), _label_columns(width_mm, 0.3)) * CHAR_MM + 4
    cell_mm = (width_mm - label_mm - 22) / len(column_labels)
    longest = max(len(label) for label in column_labels) * CHAR_MM * SMALL_PT / FONT_PT
    turned = longest > cell_mm * 0.95
    header_mm = min(HEADER_MM, longest * 0.72 + 5) if turned else 7.0
    # a turned label longer than the header holds goes on two lines, as the row labels do
    header_columns = int((HEADER_MM - 10) / 0.72 / (CHAR_MM * SMALL_PT / FONT_PT))
    headers = [_wrap(label, header_columns) if turned and len(label) > header_columns else label
               for label in column_labels]
    with _print_style(font_family):
        figure = _figure(width_mm, row_height_mm * len(row_labels) + header_mm + 4)
        ax = figure.add_subplot()
        mesh = ax.pcolormesh(np.ma.masked_invalid(data), cmap=colormap, norm=norm, edgecolors="white",
                             linewidth=1.0)
        for (i, j), value in np.ndenumerate(data):
            if math.isfinite(value):
                text = f"{value * 100:.0f}%" if scale == "share" else f"{value:.0f}"
                colour = _text_on(colormap(norm(value)))
            else:
                ax.add_patch(Rectangle((j + 0.02, i + 0.04), 0.96, 0.92, facecolor="white", edgecolor=GREY,
                                       linewidth=0, hatch=MISSING_HATCH, zorder=1))
                text, colour = missing_label, INK
            ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", color=colour, fontsize=SMALL_PT, zorder=3,
                    bbox={"boxstyle": "square,pad=0.15", "facecolor": "white", "linewidth": 0}
                    if not math.isfinite(value) else None)
        ax.set_xlim(0, len(column_labels))
        ax.set_ylim(len(row_labels), 0)
        columns = _label_columns(width_mm, 0.3)
        ax.set_yticks(np.arange(len(row_labels)) + 0.5, [_wrap(label, columns) for label in row_labels])
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
        layout = _Layout(figure, ax)
        layout.axes()
        # the bar: 3.5% of the heatmap's width at most, as tall as the rows (fewer rows, a thinner bar)
        layout.place(bar, colorbar_width=0.035, colorbar_aspect=max(8, 3 * len(row_labels)))
        return _svg(figure)


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
