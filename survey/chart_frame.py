"""The print frame every chart of :mod:`survey.charts` shares: the palette and its ramps (monotone in luminance, so
that a chart reads in grey), the print style (rcParams for :func:`matplotlib.rc_context`), the figure and its SVG,
and the layout: the margins each chart needs for its labels, legend and colorbar, measured once with one SVG
renderer, in place of matplotlib's constrained layout (which drew every chart twice).

>>> luminance("#ffffff"), round(luminance("#1f4e79"), 3)
(1.0, 0.071)
"""

from __future__ import annotations

import functools
import io
import math
import textwrap
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import matplotlib
import numpy as np
from matplotlib.backends.backend_svg import FigureCanvasSVG, RendererSVG
from matplotlib.colors import LinearSegmentedColormap, to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import PercentFormatter
from matplotlib.transforms import Bbox, IdentityTransform

__all__ = [
    "ACCENT",
    "BAND",
    "CHAR_MM",
    "COLORBAR_GAP",
    "FONT_PT",
    "GREY",
    "HEADER_MM",
    "HEAT_LIGHT",
    "INK",
    "LEGEND_GAP",
    "LIGHT",
    "Layout",
    "MISSING_HATCH",
    "MM_PER_INCH",
    "NAME_OFFSET",
    "NAME_PAD",
    "PAD",
    "PT_PER_MM",
    "RAMP_LIGHT",
    "SALT",
    "SMALL_PT",
    "Scale",
    "axis_limits",
    "check_scale",
    "figure_svg",
    "heat_colormap",
    "label_columns",
    "legend_mm",
    "luminance",
    "new_figure",
    "percent_axis",
    "print_style",
    "ramp",
    "text_on",
    "wrap_label",
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


def heat_colormap() -> LinearSegmentedColormap:
    # two ends whose every channel falls from light to dark: luminance falls monotonically along the map
    return LinearSegmentedColormap.from_list("survey-heat", [HEAT_LIGHT, ACCENT])


def text_on(colour: Any) -> str:
    """White text on a dark fill, near-black on a light one."""
    return "#ffffff" if luminance(to_hex(colour)) < 0.3 else INK


# --- the frame every chart shares -----------------------------------------------------------------------------


def print_style(font_family: str) -> Any:
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


def new_figure(width_mm: float, height_mm: float) -> Figure:
    if not (20 <= width_mm <= 1000 and 15 <= height_mm <= 2000):
        raise ValueError(f"size: {width_mm:g} × {height_mm:g} mm is not a chart size (width 20–1000, height 15–2000)")
    # 72 dpi, as the SVG canvas draws: a pixel of the layout is a point; no layout engine (see Layout)
    figure = Figure(figsize=(width_mm / MM_PER_INCH, height_mm / MM_PER_INCH), dpi=72, layout=None)
    FigureCanvasSVG(figure)
    return figure


@functools.cache
def _measuring_renderer() -> RendererSVG:
    """A renderer that only measures text, as the SVG canvas does (nothing is drawn with it). One for the process:
    matplotlib caches the sizes of texts per renderer, and the same labels come back in chart after chart."""
    renderer: RendererSVG = RendererSVG(1, 1, io.StringIO())  # type: ignore[no-untyped-call]
    return renderer


class Layout:
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


def figure_svg(figure: Figure) -> str:
    buffer = io.StringIO()
    # no Date, no Creator: nothing in the file changes from one run to the next
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def percent_axis(axis: Any, scale: Scale) -> None:
    if scale == "share":
        axis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))


def axis_limits(values: Iterable[float | None], scale: Scale, *, top: bool = False) -> tuple[float, float]:
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


def wrap_label(label: str, columns: int) -> str:
    """A long label on at most two lines."""
    return textwrap.fill(label, width=max(columns, 8), max_lines=2, placeholder=" …")


def label_columns(width_mm: float, share: float = 0.34) -> int:
    return int(width_mm * share / CHAR_MM)


def _legend_columns(labels: Sequence[str], width_mm: float) -> int:
    """How many legend entries fit side by side (one row when all of them do)."""
    if not labels:
        return 1
    entry_mm = [len(label) * CHAR_MM * SMALL_PT / FONT_PT + 10 for label in labels]  # text, handle and spacing
    if sum(entry_mm) <= width_mm * 0.95:
        return len(labels)
    return max(1, min(len(labels), int(width_mm * 0.95 // max(entry_mm))))


def legend_mm(labels: Sequence[str], width_mm: float) -> float:
    return 5.0 * math.ceil(len(labels) / _legend_columns(labels, width_mm)) + 1 if labels else 0.0


def check_scale(scale: str) -> None:
    if scale not in ("share", "index"):
        raise ValueError(f"scale: {scale!r} is not allowed; allowed: share, index")


