"""Charts for the ops pages, drawn on the server as inline SVG: no JavaScript, no CDN, nothing to load.

`stacked_bars` turns counts per column and series into rectangles the template draws
(templates/insights/stacked_bars.html); each rectangle keeps the link of the number it shows.
About 40 lines of geometry, ours rather than a charting library's: a library would mean JavaScript
or a CDN on a staff page, or a dependency drawing PNGs that cannot link to the admin lists.
"""

from __future__ import annotations

from dataclasses import dataclass

# One colour per series, in order (enough for the five partners), readable on white.
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str
    url: str


@dataclass(frozen=True)
class StackedBars:
    width: int
    height: int
    rects: list[Rect]
    labels: list[tuple[float, str]]  # (x of the column's middle, label)
    legend: list[tuple[str, str]]  # (colour, series name)
    peak: int  # the highest column's total (the y axis' top)
    baseline: float


def stacked_bars(columns: list[str], series: dict[str, list], width: int = 640, height: int = 180) -> StackedBars:
    """Rectangles for `series` (name -> one item per column: a number, or an object with .value and .url)."""
    top, bottom = 10.0, 24.0  # room for the peak's label and the column labels
    plot = height - top - bottom
    step = width / max(len(columns), 1)
    bar = step * 0.7
    totals = [0] * len(columns)
    for items in series.values():
        for i, item in enumerate(items):
            totals[i] += _value(item)
    peak = max(totals, default=0)
    scale = plot / peak if peak else 0.0
    rects, stacked = [], [0] * len(columns)
    for index, (name, items) in enumerate(series.items()):
        color = PALETTE[index % len(PALETTE)]
        for i, item in enumerate(items):
            value = _value(item)
            if not value:
                continue
            y_top = top + plot - (stacked[i] + value) * scale
            rects.append(Rect(round(i * step + (step - bar) / 2, 1), round(y_top, 1), round(bar, 1),
                              round(value * scale, 1), color, f"{name}, {columns[i]}: {value}", getattr(item, "url", "")))
            stacked[i] += value
    labels = [(round(i * step + step / 2, 1), label) for i, label in enumerate(columns)]
    legend = [(PALETTE[i % len(PALETTE)], name) for i, name in enumerate(series)]
    return StackedBars(width, height, rects, labels, legend, peak, top + plot)


def _value(item) -> int:
    return int(getattr(item, "value", item) or 0)
