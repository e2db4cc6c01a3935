"""The geometry of the required-vs-scheduled chart, drawn by the page as inline SVG (no script, no CDN)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta

from .plan import Plan

WIDTH, HEIGHT = 960, 280
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 40


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[dict[str, float]] = field(default_factory=list)  # required seats: x, y, w, h, value
    line: str = ""  # scheduled seats: an SVG path (a step line)
    y_ticks: list[dict[str, float]] = field(default_factory=list)  # y, value
    x_ticks: list[dict[str, object]] = field(default_factory=list)  # x, label
    plot: dict[str, float] = field(default_factory=dict)  # left, top, right, bottom


def _nice_max(value: int) -> int:
    if value <= 4:
        return 4
    magnitude = 10 ** int(math.floor(math.log10(value)))
    for step in (1, 2, 2.5, 5, 10):
        top = int(math.ceil(value / (step * magnitude)) * step * magnitude)
        if top >= value and top / (step * magnitude) <= 10:
            return top
    return value


def build_chart(plan: Plan) -> Chart:
    rows = plan.rows
    chart = Chart()
    left, top, right, bottom = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    chart.plot = {"left": left, "top": top, "right": right, "bottom": bottom}
    if not rows:
        return chart
    y_max = _nice_max(max(max(r.required for r in rows), max(r.scheduled for r in rows), 1))
    slot_w = (right - left) / len(rows)

    def y(value: float) -> float:
        return round(bottom - (bottom - top) * value / y_max, 2)

    for i, r in enumerate(rows):
        x = left + i * slot_w
        chart.bars.append({"x": round(x + slot_w * 0.1, 2), "y": y(r.required), "w": round(max(slot_w * 0.8, 0.5), 2),
                           "h": round(bottom - y(r.required), 2), "value": r.required})
    points = []
    for i, r in enumerate(rows):
        x0, x1 = round(left + i * slot_w, 2), round(left + (i + 1) * slot_w, 2)
        points.append(f"{'M' if i == 0 else 'L'}{x0},{y(r.scheduled)}")
        points.append(f"L{x1},{y(r.scheduled)}")
    chart.line = " ".join(points)
    for k in range(5):
        value = y_max * k / 4
        chart.y_ticks.append({"y": y(value), "value": round(value, 1) if value % 1 else int(value)})
    step = timedelta(minutes=plan.interval_minutes)
    span = step * len(rows)
    # label days when the plan spans days, else every few hours
    every = 24 * 60 if span > timedelta(days=2) else (180 if span > timedelta(hours=12) else 60)
    first = rows[0].start
    for i, r in enumerate(rows):
        minutes = r.start.hour * 60 + r.start.minute
        if minutes % every == 0 or (i == 0 and every < 24 * 60):
            label = r.start.strftime("%m-%d") if every == 24 * 60 else r.start.strftime("%H:%M")
            if i and every < 24 * 60 and r.start.date() != (r.start - step).date():
                label = r.start.strftime("%m-%d %H:%M")
            chart.x_ticks.append({"x": round(left + i * slot_w, 2), "label": label})
    if not chart.x_ticks:
        chart.x_ticks.append({"x": left, "label": first.strftime("%m-%d %H:%M")})
    return chart
