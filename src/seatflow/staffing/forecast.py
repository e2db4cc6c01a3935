"""Arrivals per interval: read from a CSV (or entered rows), or forecast from a project's own history, and
scaled by peak scenarios.

Instants are aware UTC datetimes; days, weekdays and times of day are those of the center's time zone
(``tz``, ``seatflow.domain.clock.center_zone``; UTC by default). An interval is named by its start;
intervals are 15, 30 or 60 minutes and start on a multiple of their length within the LOCAL day (09:00,
09:30, ... on the center's clock: in Asia/Kolkata, +05:30, a 60-minute interval starts at half past the
UTC hour).

The intervals of a plan are real time: consecutive starts are the instants whose local wall-clock time is
an interval boundary. A day on which the clocks go forward has no intervals in the hour that does not
exist (23 hours of intervals); a day on which they go back has the repeated hour twice, each instant once
(25 hours), told apart by their offsets (02:00+02:00, then 02:00+01:00 in Europe/Berlin).

The history forecast is a seasonal mean: the forecast for Tuesday 09:30 is the mean of the arrivals of the
same local weekday and local time over the last ``weeks`` weeks that the project already existed
(``items.created_at``, gold items excluded). A past week in which that wall-clock time did not exist (the
hour skipped by a change of the clocks) is left out of the mean; where it existed twice, the occurrence
with the same fold is used (the first, unless the interval planned is itself the repeated one). It needs
no fitting, follows the weekly rhythm of a center, and says what it used.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from seatflow.domain.clock import local_midnight, zone_name
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
    """The arrivals expected in the interval starting at ``start`` (an aware UTC instant)."""

    start: datetime
    arrivals: float


@dataclass(frozen=True)
class Peak:
    """A scenario: arrivals x ``factor`` on the days ``first`` .. ``last`` (inclusive, days of the center's zone)."""

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
    zone: tzinfo = UTC  # the center's time zone: the days and times of day of the slots


def check_interval(minutes: Any) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes not in INTERVALS:
        raise ValidationFailed(Msg("interval must be 15, 30 or 60 minutes (got {got!r})", got=minutes),
                               field="interval")
    return minutes


def _aligned(moment: datetime, minutes: int, tz: tzinfo = UTC) -> bool:
    """Whether ``moment`` starts a ``minutes``-minute interval of the local day in ``tz``."""
    local = moment.astimezone(tz)
    return local.second == 0 and local.microsecond == 0 and (local.hour * 60 + local.minute) % minutes == 0


class NoSuchLocalTime(ValueError):
    """A wall-clock time the center's clock skips (the hour the clocks go forward)."""


def _exists(local: datetime) -> bool:
    """Whether the aware local wall-clock time ``local`` exists (it is not in a gap of its zone)."""
    back = local.astimezone(UTC).astimezone(local.tzinfo)
    return back.replace(tzinfo=None, fold=0) == local.replace(tzinfo=None, fold=0)


def _ambiguous(local: datetime) -> bool:
    """Whether the aware local wall-clock time ``local`` happens twice (the hour the clocks go back)."""
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def parse_time(text: str, tz: tzinfo = UTC, *, fold: int = 0) -> datetime:
    """An ISO 8601 date-time (``2026-12-12T09:30``, ``2026-12-12 09:30:00+08:00``) as an aware UTC instant.

    An explicit offset (or ``Z``) keeps its instant; no offset means the wall-clock time of ``tz`` (the
    center's zone; UTC by default). A time the clocks skip raises ``NoSuchLocalTime``; a time that happens
    twice is its first occurrence (``fold=1``: the second).
    """
    value = text.strip()
    if not value:
        raise ValueError("empty")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz, fold=fold)
        if tz is not UTC and not _exists(moment):
            raise NoSuchLocalTime(value)
    return moment.astimezone(UTC)


def parse_start(text: str, tz: tzinfo = UTC) -> datetime:
    """The first day (``2026-12-12``: its local midnight in ``tz``, or the day's first instant where the
    clocks skip midnight) or a date-time (read by ``parse_time``) of a plan. Raises ValueError."""
    value = text.strip()
    if "T" not in value and " " not in value:
        return local_midnight(date.fromisoformat(value), tz)
    return parse_time(value, tz)


def _naive(text: str) -> bool:
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00")).tzinfo is None
    except ValueError:
        return False


def local_time(moment: datetime, tz: tzinfo = UTC) -> str:
    """``2026-12-12 09:00`` on the clock of ``tz`` (the offset added where the time happens twice)."""
    local = moment.astimezone(tz)
    text = local.strftime("%Y-%m-%d %H:%M")
    return f"{text} {local.isoformat()[-6:]}" if _ambiguous(local) else text


def floor_to(moment: datetime, minutes: int, tz: tzinfo = UTC) -> datetime:
    """The start of the ``minutes``-minute interval of the local day in ``tz`` that holds ``moment`` (UTC)."""
    local = moment.astimezone(tz)  # fold is set: the repeated hour stays the one it was
    minute_of_day = (local.hour * 60 + local.minute) // minutes * minutes
    return local.replace(hour=minute_of_day // 60, minute=minute_of_day % 60, second=0,
                         microsecond=0).astimezone(UTC)


def next_start(moment: datetime, minutes: int, tz: tzinfo = UTC) -> datetime:
    """The start of the interval after the one starting at ``moment``: ``minutes`` later in real time.

    Every change of the clocks by a whole hour keeps that on local boundaries. Where the clocks change by
    less than the interval (Australia/Lord_Howe's 30 minutes) the next local boundary is taken, so that
    interval is shorter or longer than the others.
    """
    following = moment + timedelta(minutes=minutes)
    if tz is UTC or _aligned(following, minutes, tz):
        return following
    for quarter in range(1, 2 * minutes // 15 + 1):
        candidate = moment + timedelta(minutes=15 * quarter)
        if _aligned(candidate, minutes, tz):
            return candidate
    return following


def starts(first: datetime, until: datetime, minutes: int, tz: tzinfo = UTC) -> list[datetime]:
    """The interval starts in [first, until) on the center's clock, ``first`` being one."""
    out: list[datetime] = []
    moment = first
    while moment < until:
        out.append(moment)
        moment = next_start(moment, minutes, tz)
    return out


def local_days_later(moment: datetime, days: int, tz: tzinfo = UTC) -> datetime:
    """The instant ``days`` local days after ``moment`` at the same wall-clock time (a day may be 23-25 h)."""
    local = moment.astimezone(tz)
    later = (local.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=tz, fold=local.fold)
    return later.astimezone(UTC)


def _arrivals(text: str) -> float:
    value = float(text.strip())
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise ValueError("negative or not finite")
    return value


def parse_csv(text: str, *, source: str = "forecast.csv", interval_minutes: int = 30,
              tz: tzinfo = UTC) -> Forecast:
    """A forecast CSV: ``interval_start,arrivals`` per line (a header line with those names is optional).

    ``interval_start`` without an offset is a wall-clock time of ``tz`` (the center's zone); with one, that
    instant. Errors name ``file:line`` and the field. Intervals must start on the center's interval
    boundaries, in increasing order and without repeats; an interval missing between two rows is a gap
    with no arrivals (filled with 0). A wall-clock time the clocks skip is refused; one that happens twice
    (the hour the clocks go back) is its first occurrence, or its second when the first is not after the
    previous row (so the repeated hour may be written twice, in order, without offsets).
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
            start = parse_time(row[0], tz)
            if slots and start <= slots[-1].start and tz is not UTC and _naive(row[0]):
                second = parse_time(row[0], tz, fold=1)  # the repeated hour, written again
                start = second if second > slots[-1].start else start
        except NoSuchLocalTime:
            raise ValidationFailed(Msg("{where}: field interval_start: {value!r} does not exist in {zone} "
                                       "(the clocks skip it); give the time with its offset or leave it out",
                                       where=where, value=row[0], zone=zone_name(tz)),
                                   field="interval_start", line=number, reason="no_such_time",
                                   value=row[0][:80]) from None
        except ValueError:
            raise ValidationFailed(Msg("{where}: field interval_start: {value!r} is not an ISO date-time "
                                       "such as 2026-12-12T09:30", where=where, value=row[0]),
                                   field="interval_start", line=number, reason="time", value=row[0][:80]) from None
        if not _aligned(start, minutes, tz):
            if tz is UTC:
                message = Msg("{where}: field interval_start: {value!r} does not start a {minutes}-minute "
                              "interval", where=where, value=row[0], minutes=minutes)
            else:  # say which local time it is: 09:00+00:00 is 14:30 in Kolkata, not on a 60-minute boundary
                message = Msg("{where}: field interval_start: {value!r} ({local} in {zone}) does not start a "
                              "{minutes}-minute interval of the center's clock", where=where, value=row[0],
                              local=local_time(start, tz), zone=zone_name(tz), minutes=minutes)
            raise ValidationFailed(message, field="interval_start", line=number, reason="aligned",
                                   value=row[0][:80])
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
        while slots and next_start(slots[-1].start, minutes, tz) < start:
            slots.append(Slot(next_start(slots[-1].start, minutes, tz), 0.0))
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
    return Forecast(slots=slots, interval_minutes=minutes, source="csv", zone=tz)


def from_rows(rows: Sequence[Any], *, interval_minutes: int = 30, tz: tzinfo = UTC) -> Forecast:
    """Entered rows (the API's JSON): ``[{"start": "2026-12-12T09:00", "arrivals": 120}, ...]`` (read as
    the CSV: a start without an offset is a wall-clock time of ``tz``)."""
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
        parsed = parse_csv("\n".join(lines), source="forecast", interval_minutes=interval_minutes, tz=tz)
    except ValidationFailed as exc:
        line = int(exc.extra.get("line", 1))
        name = exc.field if exc.field in ("start", "arrivals") else "start"
        name = "start" if name == "interval_start" else name
        detail, at = exc.detail, f"forecast[{line - 1}]"
        if isinstance(detail, Msg) and "where" in detail.params:  # the same message, naming the row as sent
            detail = Msg(detail.msgid, **{**detail.params, "where": at})
        raise ValidationFailed(detail, field=f"{at}.{name}") from None
    return Forecast(slots=parsed.slots, interval_minutes=parsed.interval_minutes, source="rows", zone=tz)


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
    """The forecast with each peak's factor applied on its days, the local days of the forecast's zone
    (factors of overlapping peaks multiply)."""
    peaks = list(peaks)
    if not peaks:
        return forecast
    slots = []
    for slot in forecast.slots:
        factor = 1.0
        day = slot.start.astimezone(forecast.zone).date()
        for peak in peaks:
            if peak.first <= day <= peak.last:
                factor *= peak.factor
        slots.append(Slot(slot.start, slot.arrivals * factor))
    return Forecast(slots=slots, interval_minutes=forecast.interval_minutes, source=forecast.source,
                    weeks_used=forecast.weeks_used, zone=forecast.zone)


def same_time_weeks_before(moment: datetime, weeks: int, tz: tzinfo = UTC) -> datetime | None:
    """The instant of the same local weekday and wall-clock time ``weeks`` weeks before ``moment`` (the
    occurrence with the same fold where it happens twice), or None where the clocks skipped it."""
    local = moment.astimezone(tz)
    then = (local.replace(tzinfo=None) - timedelta(weeks=weeks)).replace(tzinfo=tz, fold=local.fold)
    if tz is not UTC and not _exists(then):
        return None
    return then.astimezone(UTC)


def seasonal_mean(counts: dict[datetime, int], *, start: datetime, slots: int, interval_minutes: int, weeks: int,
                  history_start: datetime | None, tz: tzinfo = UTC) -> tuple[list[Slot], int]:
    """The mean over the last ``weeks`` weeks of the same local weekday-and-time, for ``slots`` intervals
    from ``start``. A past week counts only if the history had begun by then (a new project is not averaged
    with the weeks before it existed) and if that wall-clock time existed then; with no such week the
    forecast is 0. Also returns how many weeks at most any slot used (0: no history at all)."""
    out: list[Slot] = []
    most_used = 0
    first = floor_to(history_start, interval_minutes, tz) if history_start is not None else None
    moment = start
    for _ in range(slots):
        used = [m for m in (same_time_weeks_before(moment, k, tz) for k in range(1, weeks + 1))
                if m is not None and first is not None and first <= m < start]
        value = sum(counts.get(m, 0) for m in used) / len(used) if used else 0.0
        most_used = max(most_used, len(used))
        out.append(Slot(moment, value))
        moment = next_start(moment, interval_minutes, tz)
    return out, most_used


def history_counts(conn: Connection, project_id: int, *, since: datetime, until: datetime,
                   interval_minutes: int, tz: tzinfo = UTC) -> tuple[dict[datetime, int], datetime | None]:
    """Items created per interval of the center's clock in [since, until) for a project (gold items are not
    arrivals), and when the project's first item arrived."""
    items = tables.items
    real = [items.c.project_id == project_id, items.c.gold.is_(False)]  # gold (honeypot) items did not arrive
    first = conn.execute(select(func.min(items.c.created_at)).where(*real)).scalar()
    counts: Counter[datetime] = Counter()
    rows = conn.execute(select(items.c.created_at).where(*real, items.c.created_at >= since,
                                                         items.c.created_at < until))
    for (created,) in rows:
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        counts[floor_to(created, interval_minutes, tz)] += 1
    if first is not None and first.tzinfo is None:
        first = first.replace(tzinfo=UTC)
    return dict(counts), first


def from_history(conn: Connection, project_id: int, *, start: datetime, days: int, interval_minutes: int = 30,
                 weeks: int = 4, tz: tzinfo = UTC) -> Forecast:
    """The seasonal-mean forecast of a project for ``days`` local days from ``start`` (an instant on an
    interval boundary of the center's clock ``tz``, usually a local midnight)."""
    minutes = check_interval(interval_minutes)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValidationFailed(Msg("days must be 1 to {most} (got {got!r})", most=MAX_DAYS, got=days), field="days")
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 1 <= weeks <= MAX_WEEKS:
        raise ValidationFailed(Msg("weeks must be 1 to {most} (got {got!r})", most=MAX_WEEKS, got=weeks),
                               field="weeks")
    start = start.astimezone(UTC)
    if not _aligned(start, minutes, tz):
        shown = start.isoformat() if tz is UTC else start.astimezone(tz).isoformat()
        raise ValidationFailed(Msg("start {start} does not begin a {minutes}-minute interval",
                                   start=shown, minutes=minutes), field="start")
    # `days` local days: 23 or 25 hours of intervals on a day the clocks change
    slots = len(starts(start, local_days_later(start, days, tz), minutes, tz))
    # a week back on the center's clock is 7 x 24 h give or take a change of the clocks: read a day more
    since = start - timedelta(weeks=weeks, days=1)
    # the seasonal mean for slots beyond the first week reads weeks that lie partly inside the horizon
    # (not history yet): only history before `start` is used, so those weeks are simply not counted
    counts, first = history_counts(conn, project_id, since=since, until=start, interval_minutes=minutes, tz=tz)
    out, used = seasonal_mean(counts, start=start, slots=slots, interval_minutes=minutes, weeks=weeks,
                              history_start=first, tz=tz)
    return Forecast(slots=out, interval_minutes=minutes, source="history", weeks_used=used, zone=tz)
