"""Staffing: Erlang C/A for one interval, and plans per interval with shifts (managers, leads, admins).

Plans are on the center's clock (``SEATFLOW_TIMEZONE``): a first day, a peak day and a forecast time
without an offset are local; times come back as ISO 8601 with the local offset, and ``timezone`` names
the zone.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from seatflow.domain.clock import center_zone
from seatflow.errors import ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.staffing import erlang
from seatflow.staffing.forecast import parse_peak, parse_start
from seatflow.staffing.plan import Plan, Settings, check_planner, make_plan, to_csv
from seatflow.staffing.shifts import parse_lengths

from .deps import CurrentActor, Db

router = APIRouter(prefix="/api/v1/staffing", tags=["staffing"])


def _zone(request: Request) -> tzinfo:
    return center_zone(request.app.state.settings)


def _start(text: str | None, tz: tzinfo) -> datetime | None:
    """A day (its local midnight) or a date-time (no offset: local) of the center's clock."""
    if not text:
        return None
    try:
        return parse_start(text, tz)
    except ValueError:
        raise ValidationFailed(Msg("start {text!r} is not a date such as 2026-12-12", text=text),
                               field="start") from None


def _respond(plan: Plan, fmt: str) -> Response | dict[str, Any]:
    if fmt == "csv":
        return PlainTextResponse(to_csv(plan), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": 'attachment; filename="staffing-plan.csv"'})
    return plan.as_dict()


@router.get("/erlang", summary="Erlang C (or A with patience) for one interval: P(wait), service level, ASA")
def erlang_one(
    actor: CurrentActor,
    arrivals: Annotated[float, Query(ge=0, description="arrivals in the interval")],
    aht: Annotated[float, Query(gt=0, description="average handling time, seconds")],
    interval: Annotated[int, Query(gt=0, le=1440, description="interval length, minutes")] = 30,
    within: Annotated[float, Query(ge=0, description="service-level threshold, seconds")] = 20,
    agents: Annotated[int | None, Query(ge=0, description="seats; omit to get the fewest meeting target")] = None,
    target: Annotated[float, Query(gt=0, lt=1, description="share answered within `within`")] = 0.8,
    patience: Annotated[float | None, Query(gt=0, description="mean patience, seconds (Erlang A)")] = None,
    max_occupancy: Annotated[float | None, Query(gt=0, le=1)] = None,
) -> dict[str, Any]:
    check_planner(actor)
    load = erlang.traffic(arrivals, interval * 60, aht)
    if agents is None:
        perf = erlang.required_agents(load, aht, target=target, within=within, max_occupancy=max_occupancy,
                                      patience=patience)
    else:
        perf = erlang.performance(agents, load, aht, within, patience)
    return {"model": "erlang_a" if patience is not None else "erlang_c", **perf.as_dict()}


@router.get("/plan", summary="A staffing plan from a project's history (JSON, or CSV with format=csv)")
def plan_from_project(
    request: Request,
    actor: CurrentActor,
    db: Db,
    project: Annotated[str, Query(description="project slug or id")],
    aht: Annotated[float, Query(gt=0, description="average handling time, seconds")],
    target: Annotated[float, Query(gt=0, lt=1)] = 0.8,
    within: Annotated[float, Query(ge=0)] = 20,
    patience: Annotated[float | None, Query(gt=0)] = None,
    max_occupancy: Annotated[float | None, Query(gt=0, le=1)] = None,
    interval: Annotated[int, Query(description="interval length, minutes: 15, 30 or 60")] = 30,
    peak: Annotated[list[str] | None, Query(description="e.g. 3x:2026-12-12..2026-12-14")] = None,
    shifts: str = "8h,4h",
    start: Annotated[str | None, Query(description="first day in the center's time zone, default tomorrow")]
    = None,
    days: Annotated[int, Query(ge=1, le=31)] = 7,
    weeks: Annotated[int, Query(ge=1, le=12)] = 4,
    format: Literal["json", "csv"] = "json",
) -> Any:
    check_planner(actor)
    tz = _zone(request)
    settings = Settings(aht=aht, target=target, within=within, patience=patience, max_occupancy=max_occupancy,
                        shift_lengths=tuple(parse_lengths(shifts)))
    plan = make_plan(db, actor, settings=settings, interval_minutes=interval,
                     peaks=[parse_peak(p) for p in peak or []], project=project, start=_start(start, tz),
                     days=days, weeks=weeks, tz=tz)
    return _respond(plan, format)


class ForecastRow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: str
    arrivals: float = Field(ge=0)


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    aht: float = Field(gt=0)
    target: float = Field(0.8, gt=0, lt=1)
    within: float = Field(20, ge=0)
    patience: float | None = Field(None, gt=0)
    max_occupancy: float | None = Field(None, gt=0, le=1)
    interval: Literal[15, 30, 60] = 30
    peaks: list[str] = []
    shifts: list[str] = ["8h", "4h"]
    project: str | None = None
    start: str | None = None
    days: int = Field(7, ge=1, le=31)
    weeks: int = Field(4, ge=1, le=12)
    forecast: list[ForecastRow] | None = None
    forecast_csv: str | None = Field(None, max_length=2_000_000)


@router.post("/plan", summary="A staffing plan from entered rows, a CSV text or a project (JSON or CSV)")
def plan_from_body(request: Request, actor: CurrentActor, db: Db, body: PlanIn,
                   format: Literal["json", "csv"] = "json") -> Any:
    check_planner(actor)
    tz = _zone(request)
    settings = Settings(aht=body.aht, target=body.target, within=body.within, patience=body.patience,
                        max_occupancy=body.max_occupancy, shift_lengths=tuple(parse_lengths(body.shifts)))
    rows = [r.model_dump() for r in body.forecast] if body.forecast is not None else None
    plan = make_plan(db, actor, settings=settings, interval_minutes=body.interval,
                     peaks=[parse_peak(p) for p in body.peaks], project=body.project, csv_text=body.forecast_csv,
                     rows=rows, source_name="forecast_csv", start=_start(body.start, tz), days=body.days,
                     weeks=body.weeks, tz=tz)
    return _respond(plan, format)
