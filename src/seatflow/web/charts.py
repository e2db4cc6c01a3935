"""Small server-rendered SVG charts: line and bar charts with axes, ticks and labels.

No JavaScript and no CDN: a chart is one ``<svg>`` element the page embeds (or serves as
``image/svg+xml``). The caller passes text already translated; every text is XML-escaped here.
Each data point carries ``data-x``/``data-y`` attributes and a ``<title>`` (a hover tip), so a test or
a screen reader can read the numbers back, and the numbers behind a chart stay downloadable as CSV
next to it (see ``web/dashboards.py``).

    svg = line_chart([Series("done", [(label, value), ...])], title=..., y_label=...)
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

__all__ = ["PALETTE", "Series", "bar_chart", "line_chart", "nice_ticks"]

PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#4b5563")
_FONT = "system-ui, -apple-system, 'Segoe UI', 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif"


@dataclass(frozen=True)
class Series:
    """One named line (or bar group): ``points`` are (x label, value); None is a gap."""

    name: str
    points: Sequence[tuple[str, float | None]]
    color: str | None = None


@dataclass(frozen=True)
class _Frame:
    width: int
    height: int
    left: int = 56
    right: int = 16
    top: int = 34
    bottom: int = 46
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def plot_w(self) -> float:
        return max(1.0, self.width - self.left - self.right)

    @property
    def plot_h(self) -> float:
        return max(1.0, self.height - self.top - self.bottom)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 times a power of ten apart)."""
    if not math.isfinite(low) or not math.isfinite(high):
        raise ValueError("tick bounds must be finite numbers")
    if high < low:
        low, high = high, low
    if high == low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks: list[float] = []
    value = first
    while value < high + step * 0.5 and len(ticks) < 50:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def _fmt(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, text: str, *, anchor: str = "middle", size: int = 11, cls: str = "",
          fill: str = "#4b5563", extra: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}"{klass}{extra}>'
            f"{escape(text)}</text>")


def _open(frame: _Frame, title: str, desc: str, kind: str) -> list[str]:
    attrs = "".join(f" {k}={quoteattr(v)}" for k, v in frame.extra.items())
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img" '
        f'viewBox="0 0 {frame.width} {frame.height}" width="{frame.width}" height="{frame.height}" '
        f'font-family="{escape(_FONT)}"{attrs}>',
        f"<title>{escape(title)}</title>",
    ]
    if desc:
        out.append(f"<desc>{escape(desc)}</desc>")
    out.append(f'<rect x="0" y="0" width="{frame.width}" height="{frame.height}" fill="#ffffff"/>')
    out.append(_text(frame.left, 20, title, anchor="start", size=14, cls="chart-title", fill="#111827",
                     extra=' font-weight="600"'))
    return out


def _y_axis(frame: _Frame, ticks: list[float], y_label: str) -> tuple[list[str], float, float]:
    lo, hi = ticks[0], ticks[-1]
    span = (hi - lo) or 1.0
    out: list[str] = []
    for t in ticks:
        y = frame.top + frame.plot_h - (t - lo) / span * frame.plot_h
        out.append(f'<line x1="{frame.left}" x2="{frame.left + frame.plot_w:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#e5e7eb" stroke-width="1"/>')
        out.append(_text(frame.left - 6, y + 4, _fmt(t), anchor="end", size=11, cls="chart-ytick"))
    out.append(f'<line x1="{frame.left}" x2="{frame.left}" y1="{frame.top}" y2="{frame.top + frame.plot_h:.1f}" '
               f'stroke="#9ca3af"/>')
    if y_label:
        cy = frame.top + frame.plot_h / 2
        out.append(f'<text x="12" y="{cy:.1f}" text-anchor="middle" font-size="11" fill="#6b7280" '
                   f'class="chart-ylabel" transform="rotate(-90 12 {cy:.1f})">{escape(y_label)}</text>')
    return out, lo, span


def _x_labels(frame: _Frame, labels: Sequence[str], xs: Sequence[float], x_label: str) -> list[str]:
    base = frame.top + frame.plot_h
    out = [f'<line x1="{frame.left}" x2="{frame.left + frame.plot_w:.1f}" y1="{base:.1f}" y2="{base:.1f}" '
           f'stroke="#9ca3af"/>']
    every = max(1, math.ceil(len(labels) / max(1, int(frame.plot_w // 64))))
    for i, (label, x) in enumerate(zip(labels, xs, strict=True)):
        if i % every == 0 or i == len(labels) - 1 and len(labels) <= every:
            out.append(_text(x, base + 16, label, size=11, cls="chart-xtick"))
    if x_label:
        out.append(_text(frame.left + frame.plot_w / 2, frame.height - 6, x_label, size=10, cls="chart-xlabel",
                         fill="#6b7280"))
    return out


def _text_width(text: str, size: int) -> float:
    """A rough width of ``text`` in pixels: wide (CJK) characters take a full em, others about 0.6."""
    return sum(size * (1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6) for ch in text)


def _legend(frame: _Frame, series: Sequence[Series]) -> list[str]:
    if len(series) < 2:
        return []
    out: list[str] = []
    x: float = frame.width - frame.right
    for i, s in reversed(list(enumerate(series))):
        color = s.color or PALETTE[i % len(PALETTE)]
        width = 24 + _text_width(s.name, 11)
        x -= width
        out.append(f'<rect x="{x:.1f}" y="11" width="10" height="10" fill="{color}" class="chart-legend"/>')
        out.append(_text(x + 14, 20, s.name, anchor="start", size=11))
    return out


def _empty(frame: _Frame, message: str) -> list[str]:
    return [_text(frame.left + frame.plot_w / 2, frame.top + frame.plot_h / 2, message, size=12,
                  cls="chart-empty", fill="#6b7280")]


def _labels_of(series: Sequence[Series]) -> list[str]:
    labels: list[str] = []
    seen: set[str] = set()
    for s in series:
        for label, _value in s.points:
            if label not in seen:
                seen.add(label)
                labels.append(label)
    return labels


def _bounds(series: Sequence[Series], y_min: float | None, y_max: float | None) -> list[float]:
    values = [v for s in series for _l, v in s.points if v is not None]
    lo = min([0.0, *values]) if y_min is None else y_min
    hi = max([*values, lo + 1.0]) if y_max is None else y_max
    return nice_ticks(lo, hi)


def line_chart(series: Sequence[Series], *, title: str, y_label: str = "", x_label: str = "",
               width: int = 560, height: int = 250, y_min: float | None = None, y_max: float | None = None,
               empty: str = "No data", desc: str = "") -> str:
    """A line chart over the x labels of all series (in first-seen order); one dot per point."""
    frame = _Frame(width, height)
    out = _open(frame, title, desc, "line")
    labels = _labels_of(series)
    if not labels or all(v is None for s in series for _l, v in s.points):
        out += _empty(frame, empty)
        return "".join([*out, "</svg>"])
    ticks = _bounds(series, y_min, y_max)
    axis, lo, span = _y_axis(frame, ticks, y_label)
    out += axis
    step = frame.plot_w / max(1, len(labels) - 1) if len(labels) > 1 else 0.0
    pos = {label: frame.left + (i * step if len(labels) > 1 else frame.plot_w / 2) for i, label in enumerate(labels)}
    out += _x_labels(frame, labels, [pos[label] for label in labels], x_label)
    for i, s in enumerate(series):
        color = s.color or PALETTE[i % len(PALETTE)]
        segments: list[list[tuple[float, float]]] = [[]]
        dots: list[str] = []
        for label, value in s.points:
            if value is None:
                segments.append([])
                continue
            x = pos[label]
            y = frame.top + frame.plot_h - (value - lo) / span * frame.plot_h
            segments[-1].append((x, y))
            dots.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}" class="chart-point" '
                        f"data-series={quoteattr(s.name)} data-x={quoteattr(label)} data-y=\"{value:g}\">"
                        f"<title>{escape(f'{s.name} · {label}: {_fmt(value)}')}</title></circle>")
        for seg in segments:
            if len(seg) > 1:
                pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in seg)
                out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2" '
                           f'stroke-linejoin="round" class="chart-line"/>')
        out += dots
    out += _legend(frame, series)
    return "".join([*out, "</svg>"])


def bar_chart(series: Sequence[Series], *, title: str, y_label: str = "", x_label: str = "",
              width: int = 560, height: int = 250, y_min: float | None = None, y_max: float | None = None,
              empty: str = "No data", desc: str = "", show_values: bool = True) -> str:
    """Grouped vertical bars: one group per x label, one bar per series; values written on top."""
    frame = _Frame(width, height)
    out = _open(frame, title, desc, "bar")
    labels = _labels_of(series)
    if not labels or all(v is None for s in series for _l, v in s.points):
        out += _empty(frame, empty)
        return "".join([*out, "</svg>"])
    ticks = _bounds(series, y_min, y_max)
    axis, lo, span = _y_axis(frame, ticks, y_label)
    out += axis
    group_w = frame.plot_w / len(labels)
    bar_w = max(1.0, group_w * 0.7 / max(1, len(series)))
    centers = [frame.left + group_w * (i + 0.5) for i in range(len(labels))]
    out += _x_labels(frame, labels, centers, x_label)
    index = {label: i for i, label in enumerate(labels)}
    zero = frame.top + frame.plot_h - (max(lo, 0.0) - lo) / span * frame.plot_h
    for j, s in enumerate(series):
        color = s.color or PALETTE[j % len(PALETTE)]
        for label, value in s.points:
            if value is None:
                continue
            x = centers[index[label]] - bar_w * len(series) / 2 + j * bar_w
            y = frame.top + frame.plot_h - (value - lo) / span * frame.plot_h
            top, h = min(y, zero), abs(zero - y)
            out.append(f'<rect x="{x:.1f}" y="{top:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{color}" '
                       f"class=\"chart-bar\" data-series={quoteattr(s.name)} data-x={quoteattr(label)} "
                       f"data-y=\"{value:g}\"><title>{escape(f'{s.name} · {label}: {_fmt(value)}')}</title></rect>")
            if show_values and bar_w >= 14:
                out.append(_text(x + bar_w / 2, top - 3, _fmt(value), size=10, cls="chart-value"))
    out += _legend(frame, series)
    return "".join([*out, "</svg>"])
