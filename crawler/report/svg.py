"""Charts as inline SVG strings: bars over categories (stacked when several series) and
horizontal bars for ranked counts.

Why SVG drawn here: the report must open anywhere with no network (no chart library to
fetch), and a static drawing cannot fail at view time. Every text is escaped: labels come
from pages (sections, reasons, URLs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Series", "bar_chart", "cut", "nice_ceiling", "plain", "ranked_bars"]

FONT = 'font-family="system-ui, sans-serif" font-size="11" fill="#444"'


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    colour: str
    values: Sequence[float]


def plain(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above `value`: a readable axis top."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def bar_chart(categories: Sequence[str], series: Sequence[Series], *, label: str,
              unit: Callable[[float], str] = plain, width: int = 960, height: int = 240) -> str:
    """Bars over `categories`, the series stacked in order; a `<title>` on each bar names it."""
    left, right, top, bottom = 64, 40, 10, 28
    area_w, area_h = width - left - right, height - top - bottom
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    top_value = nice_ceiling(max(totals, default=0))
    slot = area_w / max(len(categories), 1)
    bar_w = slot * 0.8 if slot >= 4 else slot
    parts = [_open(width, height, label), *_y_axis(left, top, area_w, area_h, top_value, unit)]
    for i, category in enumerate(categories):
        x = left + i * slot + (slot - bar_w) / 2
        base = top + area_h
        for s in series:
            value = s.values[i]
            if value <= 0:
                continue
            h = value / top_value * area_h
            base -= h
            parts.append(f'<rect class="bar" x="{x:.2f}" y="{base:.2f}" width="{bar_w:.2f}" '
                         f'height="{h:.2f}" fill="{s.colour}"><title>{escape(category)}: '
                         f'{escape(s.name)} {escape(unit(value))}</title></rect>')
    parts += _x_labels(categories, left, slot, top + area_h + 16)
    parts.append("</svg>")
    return "".join(parts)


def ranked_bars(rows: Sequence[tuple[str, float]], *, label: str, colour: str = "#4e79a7",
                unit: Callable[[float], str] = plain, width: int = 960) -> str:
    """One horizontal bar per (name, value), in the order given."""
    label_w, value_w, row_h = 300, 80, 20
    height = row_h * len(rows) + 8
    top_value = max((value for _, value in rows), default=0) or 1
    bar_space = width - label_w - value_w
    parts = [_open(width, height, label)]
    for i, (name, value) in enumerate(rows):
        y = 4 + i * row_h
        w = max(value / top_value * bar_space, 1 if value > 0 else 0)
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" {FONT}>'
                     f'{escape(cut(name, 48))}<title>{escape(name)}</title></text>'
                     f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w:.2f}" height="{row_h - 6}" '
                     f'fill="{colour}"><title>{escape(name)}: {escape(unit(value))}</title></rect>'
                     f'<text x="{label_w + w + 6:.2f}" y="{y + 14}" {FONT}>{escape(unit(value))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _open(width: int, height: int, label: str) -> str:
    return (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">')


def _y_axis(left: int, top: int, area_w: int, area_h: int, top_value: float,
            unit: Callable[[float], str]) -> list[str]:
    parts = []
    for fraction in (0, 0.5, 1):
        y = top + area_h * (1 - fraction)
        parts.append(f'<line x1="{left}" x2="{left + area_w}" y1="{y:.2f}" y2="{y:.2f}" '
                     f'stroke="#ddd" stroke-width="1"/>'
                     f'<text x="{left - 6}" y="{y + 4:.2f}" text-anchor="end" {FONT}>'
                     f'{escape(unit(top_value * fraction))}</text>')
    return parts


def _x_labels(categories: Sequence[str], left: int, slot: float, y: float, most: int = 12) -> list[str]:
    """At most `most` category names under the bars, evenly spread, the last always shown."""
    if not categories:
        return []
    step = max(1, math.ceil(len(categories) / most))
    shown = sorted({*range(0, len(categories), step), len(categories) - 1})
    if len(shown) > 1 and shown[-1] - shown[-2] < step:
        shown.pop(-2)
    return [f'<text x="{left + (i + 0.5) * slot:.2f}" y="{y:.2f}" text-anchor="middle" {FONT}>'
            f'{escape(cut(categories[i], 16))}</text>' for i in shown]


def cut(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"
