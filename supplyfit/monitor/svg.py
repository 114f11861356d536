"""Small static charts as inline SVG for the report: bars (vertical or horizontal, grouped or stacked) and lines
with an optional band, each value also in a hover title.

Why not Plotly: plotly.js is embedded whole (4.8 MB minified in the installed plotly 7.1), the only offline
bundle there is, so even an empty report weighed 4.8 MB and the demo's 5.1 MB; no partial bundle ships with the
Python package. The report's charts are a few bars and lines, which SVG draws in a few kB each, with no script.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import pandas as pd

PALETTE = ("#1f6fb2", "#e08a1e", "#3a9a5b", "#8e5bb5", "#c4466b", "#5aa7c9", "#8c7a4b", "#6b7b8c")
W, H = 860, 300
FONT = "font-family='Noto Sans CJK SC,Microsoft YaHei,Arial,sans-serif'"
Fmt = Callable[[float], str]


def number(v: float) -> str:
    """A value for an axis or a label: whole numbers with separators, else three significant digits."""
    if abs(v) >= 100 or float(v).is_integer():
        return f"{v:,.0f}"
    return f"{v:,.3g}"


def percent(v: float) -> str:
    return f"{v:.0%}" if abs(v) >= 0.1 or v == 0 else f"{v:.1%}"


@dataclass
class Series:
    """One named series: values aligned with the chart's labels (bars) or with ``x`` (lines); ``color`` overrides
    the palette."""

    name: str
    values: Sequence[float]
    x: Sequence | None = None
    color: str | None = None


def text_width(s: str, size: int = 11) -> float:
    """About how wide ``s`` is drawn, in px: CJK characters are twice as wide as Latin ones."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.58 for ch in s)


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering lo..hi."""
    lo, hi = round(lo, 9), round(hi, 9)  # shares summing to 1.0000000002 stay under the 100% tick
    if hi == lo:
        hi = lo + 1
    step = 10 ** math.floor(math.log10((hi - lo) / n))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if (hi - lo) / (step * m) <= n)
    first = math.floor(lo / step) * step
    return [first + i * step for i in range(int(math.ceil((hi - first) / step)) + 1)]


def _text(x: float, y: float, s: str, anchor: str = "middle", size: int = 11, fill: str = "#444") -> str:
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' text-anchor='{anchor}' font-size='{size}' fill='{fill}'>{html.escape(s)}</text>"
    )


def _frame(title: str, body: str, legend: list[Series], height: int) -> str:
    items, x, y = [], 60.0, 30
    for i, s in enumerate(legend if len(legend) > 1 else []):
        color = s.color or PALETTE[i % len(PALETTE)]
        width = 24 + text_width(s.name)
        if x + width > W:  # the next legend row; the plot moves down to make room for it
            x, y = 60.0, y + 16
        items.append(
            f"<rect x='{x:.0f}' y='{y}' width='10' height='10' fill='{color}'/>{_text(x + 14, y + 9, s.name, 'start')}"
        )
        x += width
    extra = y - 30
    return (
        f"<svg class='svgchart' viewBox='0 0 {W} {height + extra}' width='100%' role='img' {FONT}>"
        f"<title>{html.escape(title)}</title>{_text(10, 18, title, 'start', 14, '#222')}{''.join(items)}"
        f"<g transform='translate(0,{extra})'>{body}</g></svg>"
    )


def _clean(values: Sequence[float]) -> list[float]:
    return [0.0 if v is None or pd.isna(v) else float(v) for v in values]


def _bars(vals: list[list[float]], stacked: bool, fill: float) -> Iterator[tuple[int, float, float, float, float, int]]:
    """Each bar as (label index, offset and thickness as shares of the label's band, base value, value, series):
    series side by side in ``fill`` of the band, or stacked (each bar starts where the one before ended)."""
    n = len(vals)
    for i in range(len(vals[0]) if vals else 0):
        start = 0.0
        for j in range(n):
            size = fill / (1 if stacked else n)
            offset = (1 - fill) / 2 + (0 if stacked else j * size)
            if vals[j][i]:  # a zero draws nothing (its number is in the hover of the others and the caption)
                yield i, offset, size, start if stacked else 0.0, vals[j][i], j
            start += vals[j][i]


def _rect(x: float, y: float, w: float, h: float, series: list[Series], j: int, label: str, v: float, fmt: Fmt) -> str:
    color = series[j].color or PALETTE[j % len(PALETTE)]
    tip = html.escape(f"{label} · {series[j].name}: {fmt(v)}")
    return (
        f"<rect x='{x:.1f}' y='{y:.1f}' width='{max(w, 0.5):.1f}' height='{max(h, 0.5):.1f}' fill='{color}'>"
        f"<title>{tip}</title></rect>"
    )


def bars(
    title: str,
    labels: Sequence[str],
    series: list[Series],
    stacked: bool = False,
    horizontal: bool = False,
    fmt: Fmt = number,
) -> str:
    """Bars per label: grouped side by side, or ``stacked``; ``horizontal`` for long labels (first label on top)."""
    labels = [str(v) for v in labels]
    vals = [_clean(s.values) for s in series]
    sums = [sum(v) for v in zip(*vals, strict=True)] if stacked and vals else [v for s in vals for v in s]
    ticks = _ticks(min(0.0, *sums) if sums else 0.0, max(0.0, *sums) if sums else 1.0)
    lo, hi = ticks[0], ticks[-1]
    n = max(len(labels), 1)
    if horizontal:
        left = min(340, 14 + max((text_width(s) for s in labels), default=30))
        height = max(H, 60 + 22 * n)
        top, bottom, right = 52, height - 24, W - 20
        band = (bottom - top) / n
        scale = lambda v: left + (v - lo) / (hi - lo) * (right - left)  # noqa: E731
        body = [
            f"<line x1='{scale(t):.1f}' x2='{scale(t):.1f}' y1='{top}' y2='{bottom}' stroke='#e5e5e5'/>"
            + _text(scale(t), bottom + 14, fmt(t))
            for t in ticks
        ]
        for i, label in enumerate(labels):
            body.append(_text(left - 6, top + (i + 0.5) * band + 4, label[:60], "end"))
        for i, offset, size, base, v, j in _bars(vals, stacked, 0.7):
            x0, x1 = sorted((scale(base), scale(base + v)))
            body.append(_rect(x0, top + (i + offset) * band, x1 - x0, size * band, series, j, labels[i], v, fmt))
        return _frame(title, "".join(body), series, height)
    left, top, bottom, right = 64, 52, H - 40, W - 16
    band = (right - left) / n
    scale = lambda v: bottom - (v - lo) / (hi - lo) * (bottom - top)  # noqa: E731
    body = [
        f"<line x1='{left}' x2='{right}' y1='{scale(t):.1f}' y2='{scale(t):.1f}' stroke='#e5e5e5'/>"
        + _text(left - 6, scale(t) + 4, fmt(t), "end")
        for t in ticks
    ]
    every = max(1, math.ceil(n / 14))
    for i, label in enumerate(labels):
        if i % every == 0:
            body.append(_text(left + (i + 0.5) * band, bottom + 16, label[:14]))
    for i, offset, size, base, v, j in _bars(vals, stacked, 0.75):
        y0, y1 = sorted((scale(base + v), scale(base)))
        body.append(_rect(left + (i + offset) * band, y0, size * band, y1 - y0, series, j, labels[i], v, fmt))
    return _frame(title, "".join(body), series, H)


def lines(
    title: str,
    series: list[Series],
    band: tuple[Sequence, Sequence[float], Sequence[float]] | None = None,
    fmt: Fmt = number,
    markers: bool = False,
    xfmt: Fmt = number,
) -> str:
    """Each series over its own ``x`` (dates, or numbers shown by ``xfmt``), with an optional ``band`` = (x, low,
    high) drawn as a shaded area: the forecast interval."""
    xs_all = [v for s in series for v in s.x or ()] + (list(band[0]) if band else [])
    ys = [v for s in series for v in _clean(s.values)] + (_clean(band[1]) + _clean(band[2]) if band else [])
    if not xs_all or not ys:
        return _frame(title, _text(W / 2, H / 2, "no data · 无数据"), [], H)
    is_date = isinstance(xs_all[0], dt.date)
    num = (lambda v: pd.Timestamp(v).value / 8.64e13) if is_date else float  # days when dates
    label = (lambda v: f"{pd.Timestamp(v):%Y-%m-%d}") if is_date else xfmt
    xlo, xhi = min(map(num, xs_all)), max(map(num, xs_all))
    xticks = [] if is_date else _ticks(xlo, xhi)  # numbers: the axis runs between round ticks
    if xticks:
        xlo, xhi = xticks[0], xticks[-1]
    xhi = xhi if xhi > xlo else xlo + 1
    ticks = _ticks(min(0.0, *ys), max(ys))
    left, top, bottom, right = 64, 52, H - 40, W - 20
    sx = lambda v: left + (num(v) - xlo) / (xhi - xlo) * (right - left)  # noqa: E731
    sy = lambda v: bottom - (v - ticks[0]) / (ticks[-1] - ticks[0]) * (bottom - top)  # noqa: E731
    body = [
        f"<line x1='{left}' x2='{right}' y1='{sy(t):.1f}' y2='{sy(t):.1f}' stroke='#e5e5e5'/>"
        + _text(left - 6, sy(t) + 4, fmt(t), "end")
        for t in ticks
    ]
    order = sorted(set(xs_all), key=num)
    for v in order[:: max(1, math.ceil(len(order) / 7))] if is_date else xticks:
        body.append(_text(sx(v), bottom + 16, label(v)))
    if band:
        edge = [(sx(a), sy(b)) for a, b in zip(band[0], _clean(band[2]), strict=True)]
        edge += [(sx(a), sy(b)) for a, b in reversed(list(zip(band[0], _clean(band[1]), strict=True)))]
        body.append(f"<polygon points='{' '.join(f'{a:.1f},{b:.1f}' for a, b in edge)}' fill='#e08a1e' opacity='0.2'/>")
    for j, s in enumerate(series):
        color = s.color or PALETTE[j % len(PALETTE)]
        pts = [(sx(a), sy(b), a, b) for a, b in zip(s.x or (), _clean(s.values), strict=True)]
        path = " ".join(f"{a:.1f},{b:.1f}" for a, b, _, _ in pts)
        body.append(f"<polyline points='{path}' fill='none' stroke='{color}' stroke-width='2'/>")
        for a, b, xv, yv in pts if markers or len(pts) <= 20 else ():
            tip = html.escape(f"{s.name} {label(xv)}: {fmt(yv)}")
            body.append(f"<circle cx='{a:.1f}' cy='{b:.1f}' r='3' fill='{color}'><title>{tip}</title></circle>")
    return _frame(title, "".join(body), series, H)
