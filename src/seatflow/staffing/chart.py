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
    """The smallest 4 x step >= value with a whole step of 1, 2, 3, 4, 5, 6 or 8 x 10^k: ticks at 0, 1/4 .. 4/4."""
    need = max(math.ceil(value / 4), 1)
    magnitude = 10 ** int(math.floor(math.log10(need)))
    for factor in (1, 2, 3, 4, 5, 6, 8, 10):
        if factor * magnitude >= need:
            return 4 * factor * magnitude
    return 4 * need


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
    # label days when the plan spans days, else every few hours; a new day is named by its date. Labels are
    # on the center's clock (plan.zone): a new day is where the local date changes (23- and 25-hour days)
    every = 24 * 60 if span > timedelta(days=2) else (180 if span > timedelta(hours=12) else 60)
    local = [plan.local(r.start) for r in rows]
    last_x = -1e9
    for i, at in enumerate(local):
        minutes = at.hour * 60 + at.minute
        new_day = i > 0 and at.date() != local[i - 1].date()
        if minutes % every and i and not new_day:
            continue
        label = at.strftime("%m-%d") if (every == 24 * 60 or new_day) else at.strftime("%H:%M")
        x = round(left + i * slot_w, 2)
        if x - last_x < 44:  # keep labels apart: a day's date wins over the hour before it
            if not new_day or not chart.x_ticks:
                continue
            chart.x_ticks.pop()
        chart.x_ticks.append({"x": x, "label": label})
        last_x = x
    if not chart.x_ticks:
        chart.x_ticks.append({"x": left, "label": local[0].strftime("%m-%d %H:%M")})
    return chart
