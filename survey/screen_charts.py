"""Charts drawn for the screen as inline SVG markup, without matplotlib: what a staff page redraws on every
request (the dashboard's funnel) costs a millisecond instead of a hundred. The print charts stay in
:mod:`survey.charts`; this draws the same figure with the same axis rule (:func:`survey.chart_frame.axis_limits`)
and the same marks (target solid, 95% limits dashed, 99.8% dotted, flagged units filled). Presentation attributes
only: the pages' ``style-src 'self'`` allows no inline style.

>>> svg = funnel_svg([(40, 0.9, False), (12, 0.5, True)], [10, 50], [0.6, 0.7], [0.95, 0.9], [0.5, 0.65],
...                  [1.0, 0.95], target=0.8, label="Funnel", x_label="n", y_label="%")
>>> svg.count("<circle") == 2 and 'aria-label="Funnel"' in svg and 'role="img"' in svg
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from survey.chart_frame import axis_limits

__all__ = ["funnel_svg"]

INK, GREY, ACCENT, BAD = "#1a1a1a", "#6b7178", "#0b4f8a", "#a4161a"
WIDTH, HEIGHT = 560.0, 300.0
LEFT, RIGHT, TOP, BOTTOM = 56.0, 16.0, 12.0, 44.0


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / max(1, ticks)
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= raw)


def _polyline(xs: Sequence[float], ys: Sequence[float], dash: str | None, colour: str, width: float) -> str:
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="{width}"{dashed}/>'


def funnel_svg(points: Sequence[tuple[float, float, bool]], n: Sequence[float], lower_95: Sequence[float],
               upper_95: Sequence[float], lower_998: Sequence[float], upper_998: Sequence[float], *, target: float,
               label: str, x_label: str, y_label: str) -> str:
    """A funnel plot: ``points`` (n, share, flagged) against the limits over ``n``, as an ``<svg role="img">``
    whose ``aria-label`` is ``label``."""
    smallest = min((p[0] for p in points if p[0] > 0), default=0.0)
    near = [i for i, value in enumerate(n) if value >= smallest][:1]
    seen = [share for _, share, _ in points] + [target] + [lower_998[i] for i in near] + [upper_998[i] for i in near]
    low, high = axis_limits(seen, "share", top=True)
    x_max = max([*n, *(p[0] for p in points)], default=1.0) * 1.04
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(value: float) -> float:
        return LEFT + plot_w * min(max(value / x_max, 0.0), 1.0)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - (min(max(value, low), high) - low) / (high - low))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="funnel" role="img" aria-label="{escape(label)}" '
             f'viewBox="0 0 {WIDTH:g} {HEIGHT:g}" width="{WIDTH:g}" height="{HEIGHT:g}" '
             'font-family="system-ui, sans-serif" font-size="12">']
    step = 0.05 if high - low <= 0.3 else 0.1
    tick = low
    while tick <= high + 1e-9:
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e4e8ec"/>'
                     f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" fill="{INK}">'
                     f'{tick * 100:.0f}%</text>')
        tick += step
    x_step = _nice_step(x_max)
    value = 0.0
    while value <= x_max:
        parts.append(f'<text x="{x(value):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="{INK}">'
                     f'{value:g}</text>')
        value += x_step
    parts.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" stroke="{INK}"/>'
                 f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}" '
                 f'stroke="{INK}"/>')
    xs = [x(v) for v in n]
    parts.append(_polyline([LEFT, WIDTH - RIGHT], [y(target), y(target)], None, INK, 1.5))
    for limits, dash, colour in ((lower_95, "6 4", GREY), (upper_95, "6 4", GREY), (lower_998, "2 3", INK),
                                 (upper_998, "2 3", INK)):
        parts.append(_polyline(xs, [y(v) for v in limits], dash, colour, 1.2))
    for count, share, flagged in points:
        fill = BAD if flagged else "#ffffff"
        edge = BAD if flagged else ACCENT
        parts.append(f'<circle cx="{x(count):.1f}" cy="{y(share):.1f}" r="4.5" fill="{fill}" stroke="{edge}" '
                     'stroke-width="1.5"/>')
    parts.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" fill="{INK}">'
                 f'{escape(x_label)}</text>')
    parts.append(f'<text x="14" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" fill="{INK}" '
                 f'transform="rotate(-90 14 {TOP + plot_h / 2:.1f})">{escape(y_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
