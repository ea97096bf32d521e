"""Server-rendered SVG charts for the themes dashboard and the annual report.

Charts are plain SVG strings, so they show without JavaScript and print in the PDF report. Each
chart keeps the numbers it draws (`Chart.rows`) so a page can put them as a table beside it:
a chart alone is not accessible, the table is the text alternative.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from itertools import pairwise

from markupsafe import Markup, escape

# GOV.UK Design System colours: blue bars, a dark-grey axis, black text.
BAR = "#1d70b8"
ALERT = "#d4351c"
AXIS = "#505a5f"
TEXT = "#0b0c0c"
FONT = 'font-family="Arial, Helvetica, sans-serif"'

WIDTH = 640
LABEL_WIDTH = 250
BAR_HEIGHT = 22
GAP = 8
MAX_LABEL = 34  # characters per line of a bar label (13 px Arial in 242 px)


@dataclass(frozen=True)
class Chart:
    """One chart: its title, the SVG, and the table of the numbers it draws."""

    key: str
    title: str
    svg: Markup
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


LINE_HEIGHT = 15


def _lines(label: str) -> list[str]:
    """A label wrapped into lines that fit beside the bars: every word shown, none cut off."""
    return textwrap.wrap(label, MAX_LABEL, break_long_words=True) or [""]


def _label_header(title: str) -> str:
    """The table's first column from the chart's title: "Escalations by category" -> "Category"."""
    found = re.search(r"\bby ([^()]+)", title)
    return found.group(1).strip().capitalize() if found else "Item"


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def bar_chart(
    key: str, title: str, items: list[tuple[str, float]], value_header: str = "Count", label_header: str | None = None
) -> Chart:
    """Horizontal bars, one per (label, value); a long label wraps onto more lines and its row grows.
    Empty data draws a "no data" note, not an empty box."""
    headers = (label_header or _label_header(title), value_header)
    rows = tuple((label, _number(value)) for label, value in items)
    if not items:
        return Chart(key, title, _empty(key, title), headers, rows)
    top = max(value for _, value in items) or 1
    plot = WIDTH - LABEL_WIDTH - 60
    wrapped = [_lines(label) for label, _ in items]
    heights = [max(BAR_HEIGHT, len(lines) * LINE_HEIGHT + 4) for lines in wrapped]
    height = sum(heights) + GAP * (len(items) + 1)
    parts = [_open(key, title, height)]
    y = GAP
    for (_label, value), lines, row_height in zip(items, wrapped, heights, strict=True):
        width = max(1, round(plot * value / top)) if value else 0
        bar_y = y + (row_height - BAR_HEIGHT) / 2
        mid = bar_y + BAR_HEIGHT / 2 + 5
        first = y + (row_height - len(lines) * LINE_HEIGHT) / 2 + LINE_HEIGHT - 3
        spans = "".join(
            f'<tspan x="{LABEL_WIDTH - 8}" y="{first + n * LINE_HEIGHT}">{escape(line)}</tspan>'
            for n, line in enumerate(lines)
        )
        parts.append(
            f'<text text-anchor="end" font-size="13" fill="{TEXT}" {FONT}>{spans}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{bar_y}" width="{width}" height="{BAR_HEIGHT}" fill="{BAR}"/>'
            f'<text x="{LABEL_WIDTH + width + 6}" y="{mid}" font-size="13" fill="{TEXT}" {FONT}>'
            f"{escape(_number(value))}</text>"
        )
        y += row_height + GAP
    parts.append(f'<line x1="{LABEL_WIDTH}" y1="0" x2="{LABEL_WIDTH}" y2="{height}" stroke="{AXIS}"/></svg>')
    return Chart(key, title, Markup("".join(parts)), headers, rows)  # noqa: S704 - every text part escaped above


def line_chart(key: str, title: str, points: list[tuple[str, float]], value_header: str = "Count") -> Chart:
    """A line over time, one point per (period label, value), with the first and last periods labelled."""
    headers = ("Period", value_header)
    rows = tuple((label, _number(value)) for label, value in points)
    if not points:
        return Chart(key, title, _empty(key, title), headers, rows)
    height, left, bottom, top_pad = 200, 50, 30, 15
    plot_w, plot_h = WIDTH - left - 20, height - bottom - top_pad
    top = max(value for _, value in points) or 1
    step = plot_w / max(1, len(points) - 1)
    coords = [(left + i * step, top_pad + plot_h - plot_h * value / top) for i, (_, value) in enumerate(points)]
    parts = [
        _open(key, title, height),
        f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" y2="{top_pad + plot_h}" stroke="{AXIS}"/>',
        f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{top_pad + plot_h}" stroke="{AXIS}"/>',
        f'<text x="{left - 6}" y="{top_pad + 5}" text-anchor="end" font-size="12" fill="{TEXT}" {FONT}>'
        f"{escape(_number(top))}</text>",
        f'<text x="{left - 6}" y="{top_pad + plot_h}" text-anchor="end" font-size="12" fill="{TEXT}" {FONT}>0</text>',
    ]
    for (x1, y1), (x2, y2) in pairwise(coords):
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{BAR}" stroke-width="3"/>')
    for x, y in coords:
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{BAR}"/>')
    first, last = points[0][0], points[-1][0]
    parts.append(
        f'<text x="{left}" y="{height - 8}" font-size="12" fill="{TEXT}" {FONT}>{escape(first)}</text>'
        f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="end" font-size="12" fill="{TEXT}" {FONT}>'
        f"{escape(last)}</text></svg>"
    )
    return Chart(key, title, Markup("".join(parts)), headers, rows)  # noqa: S704 - every text part escaped above


def gauge(key: str, title: str, share: float, numerator: int, denominator: int) -> Chart:
    """One proportion (for example the overdue rate) as a filled bar out of 100%."""
    share = min(max(share, 0.0), 1.0)
    plot = WIDTH - 20
    filled = round(plot * share)
    headers = ("Measure", "Value")
    rows = (("Overdue", str(numerator)), ("Of all open or closed stages", str(denominator)), ("Rate", f"{share:.0%}"))
    svg = (
        _open(key, title, 50)
        + f'<rect x="10" y="10" width="{plot}" height="24" fill="#f3f2f1" stroke="{AXIS}"/>'
        + f'<rect x="10" y="10" width="{filled}" height="24" fill="{ALERT}"/>'
        + f'<text x="{10 + plot / 2}" y="27" text-anchor="middle" font-size="14" fill="{TEXT}" {FONT}>'
        + f"{share:.0%}</text></svg>"
    )
    return Chart(key, title, Markup(svg), headers, rows)  # noqa: S704 - only numbers and the escaped title


def _open(key: str, title: str, height: float) -> str:
    title_id = f"chart-{escape(key)}-title"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{title_id}" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" class="app-chart">'
        f'<title id="{title_id}">{escape(title)}</title>'
    )


def _empty(key: str, title: str) -> Markup:
    return Markup(  # noqa: S704 - only the escaped title
        _open(key, title, 40) + f'<text x="10" y="25" font-size="14" fill="{AXIS}" {FONT}>No data yet</text></svg>'
    )
