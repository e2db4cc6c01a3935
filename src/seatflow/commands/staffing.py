"""`staffing plan`: seats per interval (Erlang C / A) for a forecast, and the shifts that cover them.

Days and times are those of the center's time zone (``SEATFLOW_TIMEZONE``): the first day, peak days, a
forecast time without an offset, and the times printed (the table names the zone; CSV carries the offset).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from seatflow.domain.clock import center_zone
from seatflow.errors import SeatflowError
from seatflow.i18n.cli import _
from seatflow.staffing import forecast as fc
from seatflow.staffing.plan import Plan, Settings, build, default_start, project_forecast, to_csv
from seatflow.staffing.shifts import parse_lengths

from ._common import CLI_ACTOR, database, fail, new_app, out, said, settings

staffing_app = new_app(_("Staffing: seats needed per interval (Erlang C/A) and a shift plan that covers them."))


def _start(text: str | None, tz: tzinfo) -> datetime:
    """A day (its local midnight) or a date-time (no offset: local) of the center's clock; tomorrow by default."""
    if not text:
        return default_start(tz=tz)
    try:
        return fc.parse_start(text, tz)
    except ValueError:
        raise fail(_("--start: {value!r} is not a date such as 2026-12-12 or 2026-12-12T08:00").format(
            value=text)) from None


def _seconds(value: float) -> str:
    return f"{value:.1f}"


def _print(plan: Plan) -> None:
    table = Table(title=_("Staffing plan"))
    table.add_column(_("interval ({zone})").format(zone=plan.zone_name))
    for header in (_("arrivals"), _("required"), _("P(wait)"), _("service level"), _("ASA (s)")):
        table.add_column(header, justify="right")
    if plan.settings.patience is not None:
        table.add_column(_("P(abandon)"), justify="right")
    table.add_column(_("scheduled"), justify="right")
    for r in plan.rows:
        cells = [plan.label(r.start), f"{r.arrivals:.1f}", str(r.required), f"{r.p_wait:.1%}",
                 f"{r.service_level:.1%}", _seconds(r.asa)]
        if plan.settings.patience is not None:
            cells.append(f"{r.p_abandon:.1%}")
        cells.append(str(r.scheduled))
        table.add_row(*cells)
    console = out()
    console.print(table)
    t = plan.totals
    console.print(_("arrivals: {arrivals:,.0f} · required seat-hours: {required:,.1f} · scheduled person-hours: "
                    "{hours:,.1f} · peak seats: {peak} · people on shifts: {people} · service level: "
                    "{sl:.1%}").format(arrivals=t["arrivals"], required=t["required_seat_hours"],
                                       hours=t["person_hours"], peak=t["peak_required"], people=t["people"],
                                       sl=t["service_level"]))
    if plan.shifts.shifts:
        shifts = Table(title=_("Shifts"))
        shifts.add_column(_("start ({zone})").format(zone=plan.zone_name))
        shifts.add_column(_("hours"), justify="right")
        shifts.add_column(_("people"), justify="right")
        for s, begins in zip(plan.shift_rows(), plan.shift_starts(), strict=True):
            shifts.add_row(plan.label(begins), f"{s['hours']:g}", str(s["people"]))
        console.print(shifts)
    if not plan.shifts.optimal:
        console.print(_("note: the shift solver stopped at its time limit; the plan covers every interval "
                        "but may not be the cheapest"))


# Fields of the staffing services that are options of `staffing plan`: an error names the option.
_OPTIONS = {"project", "forecast", "target", "within", "patience", "max_occupancy", "interval", "peak", "shifts",
            "start", "days", "weeks"}


def _named(field: str, detail: str) -> str:
    """The message with its field named once, as the option when there is one (``--peak '2x:...': ...``),
    not ``peak: peak '2x:...': ...``."""
    name = "--" + field.replace("_", "-") if field in _OPTIONS else field
    for lead in (f"{field}: ", f"{field}：", f"{field} "):
        if detail.startswith(lead):
            return name + detail[len(field):]
    return f"{name}: {detail}"


@staffing_app.command("plan", help=_(
    "Seats required per interval for a service-level target, from a project's history or a forecast CSV, "
    "and the shifts that cover them with the fewest person-hours."))
def plan_command(
    project: Annotated[str | None, typer.Option("--project", help=_("Forecast from this project's history "
                                                                     "(same weekday and time, last weeks)."))]
    = None,
    forecast: Annotated[Path | None, typer.Option("--forecast", help=_("A CSV of interval_start,arrivals."),
                                                  dir_okay=False)] = None,
    aht: Annotated[float, typer.Option("--aht", help=_("Average handling time, seconds."))] = 0.0,
    target: Annotated[float, typer.Option("--target", help=_("Share answered within --within, e.g. 0.8."))] = 0.8,
    within: Annotated[float, typer.Option("--within", help=_("Seconds of the service-level target."))] = 20.0,
    patience: Annotated[float | None, typer.Option("--patience", help=_(
        "Mean patience in seconds: Erlang A with abandonment instead of Erlang C."))] = None,
    max_occupancy: Annotated[float | None, typer.Option("--max-occupancy", help=_(
        "Highest share of time agents may be busy, e.g. 0.85."))] = None,
    interval: Annotated[int, typer.Option("--interval", help=_("Interval length in minutes: 15, 30 or 60."))] = 30,
    peak: Annotated[list[str] | None, typer.Option("--peak", help=_(
        "Peak scenario FACTORx:FIRST..LAST, e.g. 3x:2026-12-12..2026-12-14 (repeatable)."))] = None,
    shifts: Annotated[str, typer.Option("--shifts", help=_("Shift lengths, e.g. 8h,4h."))] = "8h,4h",
    start: Annotated[str | None, typer.Option("--start", help=_(
        "First day of the plan with --project, a day of the center's time zone (SEATFLOW_TIMEZONE; "
        "default tomorrow)."))] = None,
    days: Annotated[int, typer.Option("--days", help=_("Days to plan with --project (1-31)."))] = 7,
    weeks: Annotated[int, typer.Option("--weeks", help=_("Past weeks the history forecast averages (1-12)."))] = 4,
    as_csv: Annotated[bool, typer.Option("--csv", help=_("Print CSV instead of a table."))] = False,
) -> None:
    if (project is None) == (forecast is None):
        raise fail(_("give either --project SLUG or --forecast FILE.csv"))
    if aht <= 0:
        raise fail(_("--aht: give the average handling time in seconds (more than 0)"))
    center = settings()
    tz = center_zone(center)
    try:
        peaks = [fc.parse_peak(p) for p in peak or []]
        conf = Settings(aht=aht, target=target, within=within, patience=patience, max_occupancy=max_occupancy,
                        shift_lengths=tuple(parse_lengths(shifts)))
        if forecast is not None:
            try:
                text = forecast.read_text(encoding="utf-8-sig")
            except UnicodeDecodeError:
                raise fail(_("{file}: not UTF-8 text").format(file=forecast)) from None
            fcast = fc.parse_csv(text, source=str(forecast), interval_minutes=interval, tz=tz)
            slug = None
        else:
            first = _start(start, tz)
            with database(center) as db, db.read() as conn:
                fcast, slug = project_forecast(conn, CLI_ACTOR, str(project), start=first, days=days,
                                               interval_minutes=interval, weeks=weeks, tz=tz)
        plan = build(fcast, conf, peaks=peaks, project=slug)
    except SeatflowError as exc:
        if exc.field and not exc.detail.startswith(str(forecast)):
            raise fail(_named(exc.field, said(exc.detail))) from None
        raise fail(exc.detail) from None
    if as_csv:
        typer.echo(to_csv(plan), nl=False)
        return
    if plan.source == "history" and plan.weeks_used == 0:
        typer.echo(_("note: {project} has no history before {start}; the forecast is 0 arrivals").format(
            project=slug, start=plan.label(plan.rows[0].start) if plan.rows else "-"), err=True)
    _print(plan)
