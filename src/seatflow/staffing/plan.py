"""A staffing plan: per interval the seats Erlang C (or A) requires for the target, then shifts covering them.

Used alike by the CLI (``seatflow staffing plan``), the page (``/staffing``) and the API
(``/api/v1/staffing/...``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy.engine import Connection

from seatflow.domain.actors import STAFF, Actor
from seatflow.domain.clock import local_midnight, local_today, zone_name
from seatflow.errors import Forbidden, ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.services import projects

from . import erlang
from .forecast import Forecast, Peak, apply_peaks, from_history, from_rows, local_time, parse_csv
from .shifts import ShiftPlan, plan_shifts


@dataclass(frozen=True)
class Settings:
    aht: float  # seconds
    target: float  # share answered within `within`, e.g. 0.8
    within: float  # seconds
    patience: float | None = None  # seconds (Erlang A) or None (Erlang C)
    max_occupancy: float | None = None
    shift_lengths: tuple[float, ...] = (8.0, 4.0)

    def check(self) -> None:
        erlang._number(self.aht, "aht", strict=True)
        if isinstance(self.target, bool) or not isinstance(self.target, int | float) or not 0 < self.target < 1:
            raise ValidationFailed(Msg("target must be a share above 0 and below 1, e.g. 0.8 (got {got!r})",
                                       got=self.target), field="target")
        erlang._number(self.within, "within")
        if self.patience is not None:
            erlang._number(self.patience, "patience", strict=True)


@dataclass(frozen=True)
class Row:
    start: datetime
    arrivals: float
    traffic: float
    required: int
    p_wait: float
    service_level: float
    asa: float
    occupancy: float
    p_abandon: float
    scheduled: int

    def as_dict(self, tz: tzinfo = UTC) -> dict[str, Any]:
        return {"start": iso(self.start, tz), "arrivals": round(self.arrivals, 4), "traffic": round(self.traffic, 4),
                "required": self.required, "p_wait": self.p_wait, "service_level": self.service_level,
                "asa": self.asa, "occupancy": self.occupancy, "p_abandon": self.p_abandon,
                "scheduled": self.scheduled}


@dataclass
class Plan:
    settings: Settings
    interval_minutes: int
    source: str
    peaks: list[Peak]
    rows: list[Row]
    shifts: ShiftPlan
    weeks_used: int = 0
    project: str | None = None
    totals: dict[str, float] = field(default_factory=dict)
    zone: tzinfo = UTC  # the center's time zone: times are shown and exported on its clock

    @property
    def zone_name(self) -> str:
        return zone_name(self.zone)

    def local(self, moment: datetime) -> datetime:
        """``moment`` on the center's clock."""
        return moment.astimezone(self.zone)

    def label(self, moment: datetime) -> str:
        """``2026-12-12 09:00`` on the center's clock (with the offset where that time happens twice)."""
        return local_time(moment, self.zone)

    def shift_starts(self) -> list[datetime]:
        """The start instant of each shift (the start of its first interval)."""
        return [self.rows[s.start].start for s in self.shifts.shifts]

    def shift_rows(self) -> list[dict[str, Any]]:
        """Each shift with its start time (ISO 8601 with the center's offset): the roster's lines."""
        return [{"start": iso(start, self.zone), "hours": s.hours, "people": s.people}
                for s, start in zip(self.shifts.shifts, self.shift_starts(), strict=True)]

    def as_dict(self) -> dict[str, Any]:
        s = self.settings
        return {
            "project": self.project, "source": self.source, "interval_minutes": self.interval_minutes,
            "aht": s.aht, "target": s.target, "within": s.within, "patience": s.patience,
            "max_occupancy": s.max_occupancy, "model": "erlang_a" if s.patience is not None else "erlang_c",
            "shift_lengths": list(s.shift_lengths), "peaks": [p.label() for p in self.peaks],
            "weeks_used": self.weeks_used, "optimal": self.shifts.optimal, "timezone": self.zone_name,
            "totals": self.totals, "intervals": [r.as_dict(self.zone) for r in self.rows],
            "shifts": self.shift_rows(),
        }


def iso(moment: datetime, tz: tzinfo = UTC) -> str:
    """ISO 8601 on the clock of ``tz`` with its offset (``2026-12-12T09:00:00+08:00``); UTC as ``...Z``."""
    if tz is UTC:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.astimezone(tz).replace(microsecond=0).isoformat()


def build(forecast: Forecast, settings: Settings, *, peaks: list[Peak] | None = None,
          project: str | None = None) -> Plan:
    settings.check()
    peaks = peaks or []
    scaled = apply_peaks(forecast, peaks)
    seconds = forecast.interval_minutes * 60
    perfs = []
    for slot in scaled.slots:
        load = erlang.traffic(slot.arrivals, seconds, settings.aht)
        perfs.append(erlang.required_agents(load, settings.aht, target=settings.target, within=settings.within,
                                            max_occupancy=settings.max_occupancy, patience=settings.patience))
    shift_plan = plan_shifts([p.agents for p in perfs], interval_minutes=forecast.interval_minutes,
                             lengths=list(settings.shift_lengths))
    rows = [Row(start=slot.start, arrivals=slot.arrivals, traffic=p.traffic, required=p.agents, p_wait=p.p_wait,
                service_level=p.service_level, asa=p.asa, occupancy=p.occupancy, p_abandon=p.p_abandon,
                scheduled=scheduled)
            for slot, p, scheduled in zip(scaled.slots, perfs, shift_plan.scheduled, strict=True)]
    hours = forecast.interval_minutes / 60
    arrivals = sum(r.arrivals for r in rows)
    answered_in_time = sum(r.arrivals * r.service_level for r in rows)
    totals = {
        "arrivals": round(arrivals, 2),
        "required_seat_hours": round(sum(r.required for r in rows) * hours, 2),
        "scheduled_seat_hours": round(sum(r.scheduled for r in rows) * hours, 2),
        "person_hours": round(shift_plan.person_hours, 2),
        "peak_required": max((r.required for r in rows), default=0),
        "service_level": round(answered_in_time / arrivals, 6) if arrivals else 1.0,
        "people": sum(s.people for s in shift_plan.shifts),
    }
    return Plan(settings=settings, interval_minutes=forecast.interval_minutes, source=forecast.source,
                peaks=peaks, rows=rows, shifts=shift_plan, weeks_used=forecast.weeks_used, project=project,
                totals=totals, zone=forecast.zone)


def check_planner(actor: Actor) -> None:
    """Staffing plans are for the center's managers and leads (and admins)."""
    if actor.role not in STAFF:
        raise Forbidden(Msg("staffing plans are for managers and team leads"))


def default_start(now: datetime | None = None, tz: tzinfo = UTC) -> datetime:
    """Tomorrow's local midnight on the center's clock ``tz``: plans are made ahead."""
    return local_midnight(local_today(now, tz) + timedelta(days=1), tz)


def project_forecast(conn: Connection, actor: Actor, ref: str, *, start: datetime, days: int,
                     interval_minutes: int, weeks: int, tz: tzinfo = UTC) -> tuple[Forecast, str]:
    check_planner(actor)
    project = projects.get_project(conn, actor, ref)
    return from_history(conn, project.id, start=start, days=days, interval_minutes=interval_minutes,
                        weeks=weeks, tz=tz), str(project.slug)


CSV_COLUMNS = ["interval_start", "arrivals", "traffic_erlangs", "required_seats", "p_wait", "service_level",
               "asa_seconds", "occupancy", "p_abandon", "scheduled_seats"]


def to_csv(plan: Plan) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in plan.rows:
        writer.writerow([iso(r.start, plan.zone), f"{r.arrivals:.4g}", f"{r.traffic:.4f}", r.required,
                         f"{r.p_wait:.6f}", f"{r.service_level:.6f}", f"{r.asa:.3f}", f"{r.occupancy:.6f}",
                         f"{r.p_abandon:.6f}", r.scheduled])
    return buf.getvalue()


def make_plan(db: Any, actor: Actor, *, settings: Settings, interval_minutes: int, peaks: list[Peak],
              project: str | None = None, csv_text: str | None = None, rows: list[Any] | None = None,
              source_name: str = "forecast.csv", start: datetime | None = None, days: int = 7,
              weeks: int = 4, tz: tzinfo = UTC) -> Plan:
    """One plan from exactly one source: a project's history, a CSV text or entered rows (the API's JSON),
    on the center's clock ``tz`` (``center_zone(settings)``). Checks who is asking first: managers, leads
    and admins only."""
    check_planner(actor)
    given = [s for s in (project, csv_text, rows) if s is not None and s != ""]
    if len(given) != 1:
        raise ValidationFailed(Msg("give exactly one of project, a forecast CSV or forecast rows"), field="project")
    if project:
        with db.read() as conn:
            forecast, slug = project_forecast(conn, actor, project, start=start or default_start(tz=tz),
                                              days=days, interval_minutes=interval_minutes, weeks=weeks, tz=tz)
        return build(forecast, settings, peaks=peaks, project=slug)
    if csv_text is not None:
        return build(parse_csv(csv_text, source=source_name, interval_minutes=interval_minutes, tz=tz), settings,
                     peaks=peaks)
    return build(from_rows(rows or [], interval_minutes=interval_minutes, tz=tz), settings, peaks=peaks)
