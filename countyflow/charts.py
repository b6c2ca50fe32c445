"""Small, dependency-free SVG charts for self-contained HTML reports (no scripts, no CDN).

Pure functions: numbers in, an `<svg>` string out. Every bar is a `<rect class="bar">`
with `data-label` / `data-value` and a `<title>` tooltip, so a report reads offline, in
any browser, and tests can parse it as XML.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

PALETTE = ("#1f6f8b", "#99c1d0", "#e07a5f", "#81b29a", "#f2cc8f")
FONT = "font-family='system-ui, -apple-system, \"Noto Sans CJK SC\", \"Microsoft YaHei\", sans-serif'"


@dataclass(frozen=True)
class Series:
    """One named series of a chart; None = no value (no bar drawn)."""

    name: str
    values: Sequence[float | None]
    colour: str | None = None


def format_number(value: float | Decimal | None) -> str:  # Decimal: a Polars sum may be one
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def signed(value: float | None, suffix: str = "") -> str:
    """`+6,000` / `−120` / `+60.0%`; an em dash when undefined."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    return f"{sign}{format_number(abs(value))}{suffix}"


def nice_step(value: float, ticks: int = 5) -> float:
    """A 1, 2, 2.5 or 5 × 10ⁿ step such that about `ticks` steps cover `value`."""
    if value <= 0:
        return 1.0
    raw = value / ticks
    exponent = math.floor(math.log10(raw))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        candidate = step * 10**exponent
        if candidate >= raw * (1 - 1e-12):
            return candidate
    return 10.0 ** (exponent + 1)  # pragma: no cover - the loop always returns


def axis(value: float, ticks: int = 5) -> tuple[float, int]:
    """(axis maximum, number of steps): round steps, the maximum at or above `value`."""
    step = nice_step(value, ticks)
    steps = max(1, math.ceil(value / step - 1e-9))
    return step * steps, steps


def _title_width(title: str) -> int:
    """Room the title needs (CJK glyphs are about twice as wide as Latin ones)."""
    return 24 + sum(16 if ord(ch) > 0x2E7F else 9 for ch in title)


def _open(width: int, height: int, title: str, description: str) -> list[str]:
    label = f"{title}. {description}".strip(". ")
    return [
        f"<svg xmlns='http://www.w3.org/2000/svg' class='chart' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img' aria-label={quoteattr(label)} {FONT}>",
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(description)}</desc>",
        f"<text class='chart-title' x='12' y='22' font-size='15' font-weight='600' fill='#222'>{escape(title)}</text>",
    ]


def empty_chart(title: str, message: str = "No data yet.") -> str:
    """A placeholder with the chart's title, so a report never has a hole."""
    parts = _open(max(480, _title_width(title)), 80, title, message)
    parts.append(f"<text class='empty' x='12' y='56' font-size='13' fill='#777'>{escape(message)}</text>")
    parts.append("</svg>")
    return "\n".join(parts)


def _bar(x: float, y: float, w: float, h: float, colour: str, label: str, value: float,
         series: str | None = None) -> str:
    tip = f"{label}: {format_number(value)}" if series is None else f"{label} · {series}: {format_number(value)}"
    series_attr = "" if series is None else f" data-series={quoteattr(series)}"
    return (
        f"<rect class='bar' x='{x:.1f}' y='{y:.1f}' width='{max(w, 0.5):.1f}' height='{max(h, 0):.1f}' "
        f"fill='{colour}' data-label={quoteattr(label)} data-value='{value:g}'{series_attr}>"
        f"<title>{escape(tip)}</title></rect>"
    )


def column_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    description: str = "",
    notes: Sequence[str] | None = None,
    colour: str = PALETTE[0],
    height: int = 320,
) -> str:
    """Vertical bars, one per label (a time series: months, school years).

    `notes` are written above each bar (e.g. the change on the previous bar). Long series
    label every k-th bar on the axis; every bar keeps its label in its tooltip.
    """
    if not labels or all(v is None for v in values):
        return empty_chart(title)
    count = len(labels)
    slot = max(18.0, min(64.0, 760.0 / count))
    left, right, top, bottom = 64, 16, 44, 58
    width = max(int(left + right + slot * count), _title_width(title), 360)
    plot_h = height - top - bottom
    peak, steps = axis(max(v for v in values if v is not None))
    parts = _open(width, height, title, description)
    parts += _y_axis(left, top, plot_h, int(left + slot * count), peak, steps)
    every = max(1, math.ceil(count / 16))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + i * slot + slot * 0.15
        w = slot * 0.7
        centre = x + w / 2
        if value is not None:
            h = plot_h * value / peak
            parts.append(_bar(x, top + plot_h - h, w, h, colour, label, value))
            note = notes[i] if notes is not None and i < len(notes) else ""
            if note:
                parts.append(
                    f"<text class='note' x='{centre:.1f}' y='{top + plot_h - h - 4:.1f}' font-size='10' "
                    f"text-anchor='middle' fill='#444'>{escape(note)}</text>"
                )
        if i % every == 0 or i == count - 1:
            parts.append(
                f"<text class='label' x='{centre:.1f}' y='{top + plot_h + 14:.1f}' font-size='11' "
                f"text-anchor='end' fill='#333' transform='rotate(-40 {centre:.1f} {top + plot_h + 14:.1f})'>"
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    return "\n".join(parts)


def grouped_bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    description: str = "",
    notes: Sequence[str] | None = None,
) -> str:
    """Horizontal grouped bars: one group per category (e.g. county), one bar per series.

    `notes` are written at the right end of each group (e.g. the year-on-year change).
    """
    values = [v for s in series for v in s.values if v is not None]
    if not categories or not values:
        return empty_chart(title)
    bar_h, gap = 11, 9
    group_h = bar_h * len(series) + gap
    left, right, top, bottom = 120, 150, 52, 28
    plot_w = 440
    width = max(left + plot_w + right, _title_width(title))
    height = top + group_h * len(categories) + bottom
    peak, steps = axis(max(values))
    colours = [s.colour or PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]
    parts = _open(width, height, title, description)
    for s_index, s in enumerate(series):  # legend
        x: float = left + s_index * 150
        parts.append(f"<rect class='legend' x='{x}' y='30' width='10' height='10' fill='{colours[s_index]}'/>")
        parts.append(f"<text class='legend-label' x='{x + 14}' y='39' font-size='11' fill='#333'>{escape(s.name)}</text>")
    for tick in range(steps + 1):
        value: float | None = peak * tick / steps
        x = left + plot_w * tick / steps
        parts.append(f"<line class='grid' x1='{x:.1f}' y1='{top - 4}' x2='{x:.1f}' y2='{height - bottom}' stroke='#e4e4e4'/>")
        parts.append(f"<text class='tick' x='{x:.1f}' y='{height - bottom + 14}' font-size='10' "
                     f"text-anchor='middle' fill='#666'>{escape(format_number(value))}</text>")
    for c_index, category in enumerate(categories):
        y0 = top + c_index * group_h
        parts.append(f"<text class='label' x='{left - 6}' y='{y0 + group_h / 2:.1f}' font-size='12' "
                     f"text-anchor='end' dominant-baseline='middle' fill='#222'>{escape(category)}</text>")
        for s_index, s in enumerate(series):
            value = s.values[c_index]
            if value is None:
                continue
            w = plot_w * value / peak
            parts.append(_bar(left, y0 + s_index * bar_h, w, bar_h - 1,
                              colours[s_index], category, value, series=s.name))
        note = notes[c_index] if notes is not None and c_index < len(notes) else ""
        if note:
            longest = max((s.values[c_index] or 0) for s in series)
            x = left + plot_w * longest / peak + 6
            parts.append(f"<text class='note' x='{x:.1f}' y='{y0 + group_h / 2:.1f}' font-size='11' "
                         f"dominant-baseline='middle' fill='#444'>{escape(note)}</text>")
    parts.append("</svg>")
    return "\n".join(parts)


def _y_axis(left: int, top: int, plot_h: int, right_x: int, peak: float, steps: int) -> list[str]:
    parts = []
    for tick in range(steps + 1):
        value = peak * tick / steps
        y = top + plot_h - plot_h * tick / steps
        parts.append(f"<line class='grid' x1='{left}' y1='{y:.1f}' x2='{right_x}' y2='{y:.1f}' stroke='#e4e4e4'/>")
        parts.append(f"<text class='tick' x='{left - 6}' y='{y:.1f}' font-size='10' text-anchor='end' "
                     f"dominant-baseline='middle' fill='#666'>{escape(format_number(value))}</text>")
    return parts
