"""A staffing plan: per interval the seats Erlang C (or A) requires for the target, then shifts covering them.

Used alike by the CLI (``seatflow staffing plan``), the page (``/staffing``) and the API
(``/api/v1/staffing/...``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from seatflow.domain.actors import STAFF, Actor
from seatflow.errors import Forbidden, ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.services import projects

from . import erlang
from .forecast import Forecast, Peak, apply_peaks, floor_to, from_history, from_rows, parse_csv
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

    def as_dict(self) -> dict[str, Any]:
        return {"start": iso(self.start), "arrivals": round(self.arrivals, 4), "traffic": round(self.traffic, 4),
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

    def shift_rows(self) -> list[dict[str, Any]]:
        """Each shift with its start time: the roster's lines."""
        step = timedelta(minutes=self.interval_minutes)
        first = self.rows[0].start if self.rows else datetime.now(UTC)
        return [{"start": iso(first + s.start * step), "hours": s.hours, "people": s.people}
                for s in self.shifts.shifts]

    def as_dict(self) -> dict[str, Any]:
        s = self.settings
        return {
            "project": self.project, "source": self.source, "interval_minutes": self.interval_minutes,
            "aht": s.aht, "target": s.target, "within": s.within, "patience": s.patience,
            "max_occupancy": s.max_occupancy, "model": "erlang_a" if s.patience is not None else "erlang_c",
            "shift_lengths": list(s.shift_lengths), "peaks": [p.label() for p in self.peaks],
            "weeks_used": self.weeks_used, "optimal": self.shifts.optimal,
            "totals": self.totals, "intervals": [r.as_dict() for r in self.rows], "shifts": self.shift_rows(),
        }


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
                totals=totals)


def check_planner(actor: Actor) -> None:
    """Staffing plans are for the center's managers and leads (and admins)."""
    if actor.role not in STAFF:
        raise Forbidden(Msg("staffing plans are for managers and team leads"))


def default_start(now: datetime | None = None) -> datetime:
    """Tomorrow 00:00 UTC: plans are made ahead."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return floor_to(now, 60).replace(hour=0) + timedelta(days=1)


def project_forecast(conn: Connection, actor: Actor, ref: str, *, start: datetime, days: int,
                     interval_minutes: int, weeks: int) -> tuple[Forecast, str]:
    check_planner(actor)
    project = projects.get_project(conn, actor, ref)
    return from_history(conn, project.id, start=start, days=days, interval_minutes=interval_minutes,
                        weeks=weeks), str(project.slug)


CSV_COLUMNS = ["interval_start", "arrivals", "traffic_erlangs", "required_seats", "p_wait", "service_level",
               "asa_seconds", "occupancy", "p_abandon", "scheduled_seats"]


def to_csv(plan: Plan) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in plan.rows:
        writer.writerow([iso(r.start), f"{r.arrivals:.4g}", f"{r.traffic:.4f}", r.required, f"{r.p_wait:.6f}",
                         f"{r.service_level:.6f}", f"{r.asa:.3f}", f"{r.occupancy:.6f}", f"{r.p_abandon:.6f}",
                         r.scheduled])
    return buf.getvalue()


def make_plan(db: Any, actor: Actor, *, settings: Settings, interval_minutes: int, peaks: list[Peak],
              project: str | None = None, csv_text: str | None = None, rows: list[Any] | None = None,
              source_name: str = "forecast.csv", start: datetime | None = None, days: int = 7,
              weeks: int = 4) -> Plan:
    """One plan from exactly one source: a project's history, a CSV text or entered rows (the API's JSON).
    Checks who is asking first: managers, leads and admins only."""
    check_planner(actor)
    given = [s for s in (project, csv_text, rows) if s is not None and s != ""]
    if len(given) != 1:
        raise ValidationFailed(Msg("give exactly one of project, a forecast CSV or forecast rows"), field="project")
    if project:
        with db.read() as conn:
            forecast, slug = project_forecast(conn, actor, project, start=start or default_start(), days=days,
                                              interval_minutes=interval_minutes, weeks=weeks)
        return build(forecast, settings, peaks=peaks, project=slug)
    if csv_text is not None:
        return build(parse_csv(csv_text, source=source_name, interval_minutes=interval_minutes), settings,
                     peaks=peaks)
    return build(from_rows(rows or [], interval_minutes=interval_minutes), settings, peaks=peaks)
