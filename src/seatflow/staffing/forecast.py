"""Arrivals per interval: read from a CSV (or entered rows), or forecast from a project's own history, and
scaled by peak scenarios.

Times are UTC. An interval is named by its start; intervals are 15, 30 or 60 minutes and start on a
multiple of their length within the day (09:00, 09:30, ...).

The history forecast is a seasonal mean: the forecast for Tuesday 09:30 is the mean of the arrivals of the
same weekday and time over the last ``weeks`` weeks that the project already existed (``items.created_at``,
gold items excluded). It needs no fitting, follows the weekly rhythm of a center, and says what it used.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from seatflow.errors import ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.store import tables

INTERVALS = (15, 30, 60)
MAX_DAYS = 31
MAX_ROWS = MAX_DAYS * 24 * 4
MAX_WEEKS = 12
MAX_PEAK_FACTOR = 100.0


@dataclass(frozen=True)
class Slot:
    """The arrivals expected in the interval starting at ``start`` (UTC)."""

    start: datetime
    arrivals: float


@dataclass(frozen=True)
class Peak:
    """A scenario: arrivals x ``factor`` on the days ``first`` .. ``last`` (inclusive, UTC)."""

    factor: float
    first: date
    last: date

    def label(self) -> str:
        return f"{self.factor:g}x:{self.first.isoformat()}..{self.last.isoformat()}"


@dataclass(frozen=True)
class Forecast:
    slots: list[Slot]
    interval_minutes: int
    source: str  # "csv", "rows" or "history"
    weeks_used: int = 0  # history: how many past weeks the forecast could average (at most)


def check_interval(minutes: Any) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes not in INTERVALS:
        raise ValidationFailed(Msg("interval must be 15, 30 or 60 minutes (got {got!r})", got=minutes),
                               field="interval")
    return minutes


def _aligned(moment: datetime, minutes: int) -> bool:
    return moment.second == 0 and moment.microsecond == 0 and (moment.hour * 60 + moment.minute) % minutes == 0


def parse_time(text: str) -> datetime:
    """An ISO 8601 date-time (``2026-12-12T09:30``, ``2026-12-12 09:30:00+08:00``); no offset means UTC."""
    value = text.strip()
    if not value:
        raise ValueError("empty")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _arrivals(text: str) -> float:
    value = float(text.strip())
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise ValueError("negative or not finite")
    return value


def parse_csv(text: str, *, source: str = "forecast.csv", interval_minutes: int = 30) -> Forecast:
    """A forecast CSV: ``interval_start,arrivals`` per line (a header line with those names is optional).

    Errors name ``file:line`` and the field. Intervals must be aligned, in increasing order and without
    repeats; an interval missing between two rows is a gap with no arrivals (filled with 0).
    """
    minutes = check_interval(interval_minutes)
    rows = list(csv.reader(io.StringIO(text)))
    slots: list[Slot] = []
    first_data = 0
    if rows and rows[0] and rows[0][0].strip().lower().lstrip("\ufeff") in ("interval_start", "start", "interval"):
        header = [h.strip().lower().lstrip("\ufeff") for h in rows[0]]
        if len(header) < 2 or header[1] != "arrivals":
            where = f"{source}:1"
            raise ValidationFailed(Msg("{where}: the header must be interval_start,arrivals (got {got})",
                                       where=where, got=",".join(rows[0])),
                                   field="header", line=1, reason="header", value=",".join(rows[0])[:80])
        first_data = 1
    for number, row in enumerate(rows[first_data:], start=first_data + 1):
        if not row or all(not cell.strip() for cell in row):
            continue
        where = f"{source}:{number}"  # the file and line every message of this row names
        if len(row) != 2:
            raise ValidationFailed(Msg("{where}: expected 2 fields (interval_start,arrivals), got {got}",
                                       where=where, got=len(row)),
                                   field="arrivals" if len(row) < 2 else "row", line=number, reason="fields",
                                   value=",".join(row)[:80])
        try:
            start = parse_time(row[0])
        except ValueError:
            raise ValidationFailed(Msg("{where}: field interval_start: {value!r} is not an ISO date-time "
                                       "such as 2026-12-12T09:30", where=where, value=row[0]),
                                   field="interval_start", line=number, reason="time", value=row[0][:80]) from None
        if not _aligned(start, minutes):
            raise ValidationFailed(Msg("{where}: field interval_start: {value!r} does not start a "
                                       "{minutes}-minute interval", where=where, value=row[0],
                                       minutes=minutes),
                                   field="interval_start", line=number, reason="aligned", value=row[0][:80])
        try:
            arrivals = _arrivals(row[1])
        except ValueError:
            raise ValidationFailed(Msg("{where}: field arrivals: {value!r} is not a number of arrivals (0 or more)",
                                       where=where, value=row[1]),
                                   field="arrivals", line=number, reason="arrivals", value=row[1][:80]) from None
        if slots and start <= slots[-1].start:
            raise ValidationFailed(Msg("{where}: field interval_start: {value!r} is not after the previous "
                                       "row (rows go in time order, one per interval)", where=where,
                                       value=row[0]),
                                   field="interval_start", line=number, reason="order", value=row[0][:80])
        while slots and slots[-1].start + timedelta(minutes=minutes) < start:
            slots.append(Slot(slots[-1].start + timedelta(minutes=minutes), 0.0))
        slots.append(Slot(start, arrivals))
        if len(slots) > MAX_ROWS:
            raise ValidationFailed(Msg("{where}: a forecast covers at most {days} days "
                                       "({rows} intervals of 15 minutes)", where=where,
                                       days=MAX_DAYS, rows=MAX_ROWS),
                                   field="interval_start", line=number, reason="too_long", value=row[0][:80])
    if not slots:
        raise ValidationFailed(Msg("{where}: no rows; write one line per interval: interval_start,arrivals",
                                   where=source),
                               field="arrivals", line=1, reason="empty", value="")
    return Forecast(slots=slots, interval_minutes=minutes, source="csv")


def from_rows(rows: Sequence[Any], *, interval_minutes: int = 30) -> Forecast:
    """Entered rows (the API's JSON): ``[{"start": "2026-12-12T09:00", "arrivals": 120}, ...]``."""
    if not isinstance(rows, list) or not rows:
        raise ValidationFailed(Msg("forecast must be a non-empty list of {start, arrivals}"), field="forecast")
    lines = []
    for i, row in enumerate(rows):
        at = f"forecast[{i}]"
        if not isinstance(row, dict) or set(row) != {"start", "arrivals"}:
            raise ValidationFailed(Msg("{where} must be an object with start and arrivals", where=at), field=at)
        if isinstance(row["arrivals"], bool) or not isinstance(row["arrivals"], int | float):
            raise ValidationFailed(Msg("{field} must be a number", field=at + ".arrivals"), field=at + ".arrivals")
        if not isinstance(row["start"], str):
            raise ValidationFailed(Msg("{field} must be an ISO date-time", field=at + ".start"), field=at + ".start")
        lines.append(f"{row['start']},{row['arrivals']}")
    try:
        parsed = parse_csv("\n".join(lines), source="forecast", interval_minutes=interval_minutes)
    except ValidationFailed as exc:
        line = int(exc.extra.get("line", 1))
        name = exc.field if exc.field in ("start", "arrivals") else "start"
        name = "start" if name == "interval_start" else name
        detail, at = exc.detail, f"forecast[{line - 1}]"
        if isinstance(detail, Msg) and "where" in detail.params:  # the same message, naming the row as sent
            detail = Msg(detail.msgid, **{**detail.params, "where": at})
        raise ValidationFailed(detail, field=f"{at}.{name}") from None
    return Forecast(slots=parsed.slots, interval_minutes=parsed.interval_minutes, source="rows")


_PEAK = re.compile(r"^\s*(?P<factor>\d+(?:\.\d+)?)\s*[xX]\s*:\s*(?P<first>\d{4}-\d{2}-\d{2})"
                   r"(?:\s*\.\.\s*(?P<last>\d{4}-\d{2}-\d{2}))?\s*$")


def parse_peak(text: str) -> Peak:
    """``3x:2026-12-12..2026-12-14`` (three days at three times the volume) or ``2x:2026-11-11`` (one day)."""
    match = _PEAK.match(text or "")
    if match is None:
        raise ValidationFailed(Msg("peak {text!r}: write FACTORx:FIRST..LAST, e.g. 3x:2026-12-12..2026-12-14",
                                   text=text), field="peak")
    factor = float(match["factor"])
    if not 0 < factor <= MAX_PEAK_FACTOR:
        raise ValidationFailed(Msg("peak {text!r}: the factor must be above 0 and at most {most:g}", text=text,
                                   most=MAX_PEAK_FACTOR), field="peak")
    try:
        first = date.fromisoformat(match["first"])
        last = date.fromisoformat(match["last"] or match["first"])
    except ValueError:
        raise ValidationFailed(Msg("peak {text!r}: not a calendar date", text=text), field="peak") from None
    if last < first:
        raise ValidationFailed(Msg("peak {text!r}: the last day is before the first", text=text), field="peak")
    return Peak(factor=factor, first=first, last=last)


def apply_peaks(forecast: Forecast, peaks: Iterable[Peak]) -> Forecast:
    """The forecast with each peak's factor applied on its days (factors of overlapping peaks multiply)."""
    peaks = list(peaks)
    if not peaks:
        return forecast
    slots = []
    for slot in forecast.slots:
        factor = 1.0
        for peak in peaks:
            if peak.first <= slot.start.date() <= peak.last:
                factor *= peak.factor
        slots.append(Slot(slot.start, slot.arrivals * factor))
    return Forecast(slots=slots, interval_minutes=forecast.interval_minutes, source=forecast.source,
                    weeks_used=forecast.weeks_used)


def floor_to(moment: datetime, minutes: int) -> datetime:
    moment = moment.astimezone(UTC)
    minute_of_day = (moment.hour * 60 + moment.minute) // minutes * minutes
    return moment.replace(hour=minute_of_day // 60, minute=minute_of_day % 60, second=0, microsecond=0)


def seasonal_mean(counts: dict[datetime, int], *, start: datetime, slots: int, interval_minutes: int, weeks: int,
                  history_start: datetime | None) -> tuple[list[Slot], int]:
    """The mean over the last ``weeks`` weeks of the same weekday-and-time, for ``slots`` intervals from
    ``start``. A past week counts only if the history had begun by then (a new project is not averaged
    with the weeks before it existed); with no such week the forecast is 0. Also returns how many weeks
    weeks at most any slot used (0: no history at all)."""
    step = timedelta(minutes=interval_minutes)
    out: list[Slot] = []
    most_used = 0
    for i in range(slots):
        moment = start + i * step
        used = [moment - timedelta(weeks=k) for k in range(1, weeks + 1)]
        used = [m for m in used if history_start is not None and m >= floor_to(history_start, interval_minutes)
                and m < start]
        value = sum(counts.get(m, 0) for m in used) / len(used) if used else 0.0
        most_used = max(most_used, len(used))
        out.append(Slot(moment, value))
    return out, most_used


def history_counts(conn: Connection, project_id: int, *, since: datetime, until: datetime,
                   interval_minutes: int) -> tuple[dict[datetime, int], datetime | None]:
    """Items created per interval in [since, until) for a project (gold items are not arrivals), and when
    the project's first item arrived."""
    items = tables.items
    real = [items.c.project_id == project_id, items.c.gold.is_(False)]  # gold (honeypot) items did not arrive
    first = conn.execute(select(func.min(items.c.created_at)).where(*real)).scalar()
    counts: Counter[datetime] = Counter()
    rows = conn.execute(select(items.c.created_at).where(*real, items.c.created_at >= since,
                                                         items.c.created_at < until))
    for (created,) in rows:
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        counts[floor_to(created, interval_minutes)] += 1
    if first is not None and first.tzinfo is None:
        first = first.replace(tzinfo=UTC)
    return dict(counts), first


def from_history(conn: Connection, project_id: int, *, start: datetime, days: int, interval_minutes: int = 30,
                 weeks: int = 4) -> Forecast:
    """The seasonal-mean forecast of a project for ``days`` days from ``start`` (UTC, aligned)."""
    minutes = check_interval(interval_minutes)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValidationFailed(Msg("days must be 1 to {most} (got {got!r})", most=MAX_DAYS, got=days), field="days")
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 1 <= weeks <= MAX_WEEKS:
        raise ValidationFailed(Msg("weeks must be 1 to {most} (got {got!r})", most=MAX_WEEKS, got=weeks),
                               field="weeks")
    start = start.astimezone(UTC)
    if not _aligned(start, minutes):
        raise ValidationFailed(Msg("start {start} does not begin a {minutes}-minute interval",
                                   start=start.isoformat(), minutes=minutes), field="start")
    slots = days * 24 * 60 // minutes
    since = start - timedelta(weeks=weeks)
    # the seasonal mean for slots beyond the first week reads weeks that lie partly inside the horizon
    # (not history yet): only history before `start` is used, so those weeks are simply not counted
    counts, first = history_counts(conn, project_id, since=since, until=start, interval_minutes=minutes)
    out, used = seasonal_mean(counts, start=start, slots=slots, interval_minutes=minutes, weeks=weeks,
                              history_start=first)
    return Forecast(slots=out, interval_minutes=minutes, source="history", weeks_used=used)


def to_csv(forecast: Forecast) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["interval_start", "arrivals"])
    for slot in forecast.slots:
        writer.writerow([slot.start.strftime("%Y-%m-%dT%H:%M:%SZ"), f"{slot.arrivals:g}"])
    return buf.getvalue()
