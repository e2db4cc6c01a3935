"""The staffing page: a forecast (a project's history or an uploaded CSV), a target, a peak scenario ->
the seats each interval needs (Erlang C, or A with patience), the shifts that cover them, a chart of
required vs. scheduled seats (inline SVG), the table, and the same table as CSV.

Managers, leads and admins only; plans are computed by ``staffing.plan`` like the CLI and the API
(``/api/v1/staffing/plan``). Nothing is stored: the page computes on each request. Days and times are
those of the center's time zone (``SEATFLOW_TIMEZONE``), and the page names it.
"""

from __future__ import annotations

import csv
import io
from datetime import tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from seatflow.api.deps import actor_from_request
from seatflow.domain.actors import STAFF, Actor
from seatflow.domain.clock import center_zone, zone_name
from seatflow.errors import NotFound, SeatflowError, ValidationFailed
from seatflow.services import projects as project_service
from seatflow.staffing.chart import build_chart
from seatflow.staffing.forecast import INTERVALS, parse_peak, parse_start
from seatflow.staffing.plan import Plan, Settings, iso, make_plan, to_csv
from seatflow.staffing.shifts import parse_lengths
from seatflow.store.engine import Database

from .pages import error_page, login_url
from .render import N_, render

router = APIRouter(include_in_schema=False)

MAX_UPLOAD = 2_000_000  # bytes of forecast CSV
DEFAULTS = {"source": "project", "project": "", "aht": "180", "target": "80", "within": "20", "patience": "",
            "max_occupancy": "", "interval": "30", "peak": "", "shifts": "8h,4h", "start": "", "days": "7"}
# the form's fields, named in the reader's language when a value is wrong
FIELD_NAMES = {
    "project": N_("Project"), "aht": N_("Average handling time (seconds)"),
    "target": N_("Service level target (%)"), "within": N_("Answered within (seconds)"),
    "patience": N_("Mean patience (seconds)"), "max_occupancy": N_("Highest occupancy (%)"),
    "interval": N_("Interval"), "peak": N_("Peak scenario"), "shifts": N_("Shift lengths"),
    "start": N_("First day"), "days": N_("Days"), "file": N_("Forecast CSV"),
    "interval_start": N_("Forecast CSV"), "arrivals": N_("Forecast CSV"), "header": N_("Forecast CSV"),
    "row": N_("Forecast CSV"), "agents": N_("Forecast CSV"), "traffic": N_("Forecast CSV"),
}


# why a forecast CSV line was refused (``reason`` of the ValidationFailed from staffing.forecast.parse_csv)
CSV_REASONS = {
    "header": N_("the header must be interval_start,arrivals"),
    "fields": N_("a line needs two fields: interval_start,arrivals"),
    "time": N_("not a date-time such as 2026-12-12T09:30"),
    "aligned": N_("does not start an interval of the chosen length"),
    "arrivals": N_("not a number of arrivals (0 or more)"),
    "order": N_("not after the previous line (one line per interval, in time order)"),
    "too_long": N_("a forecast covers at most 31 days"),
    "empty": N_("the file has no lines"),
    "no_such_time": N_("the clocks skip this time in the center's time zone; give it with its offset"),
}


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _zone(request: Request) -> tzinfo:
    """The center's time zone: the page's days and times."""
    return center_zone(request.app.state.settings)


def _number(form: dict[str, str], name: str, *, percent: bool = False, optional: bool = False,
            positive: bool = False) -> float | None:
    """A number from the form; the messages are the page's own (translated), naming the field."""
    text = form.get(name, "").strip()
    if not text and optional:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValidationFailed(N_("Enter a number."), field=name) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValidationFailed(N_("Enter a number."), field=name)
    if percent and not 0 < value <= 100:
        raise ValidationFailed(N_("Enter a percentage above 0, at most 100."), field=name)
    if positive and value <= 0:
        raise ValidationFailed(N_("Enter a number above 0."), field=name)
    if value < 0:
        raise ValidationFailed(N_("Enter 0 or more."), field=name)
    return value / 100 if percent else value


def _settings(form: dict[str, str], tz: tzinfo) -> tuple[Settings, int, list[Any], Any, int]:
    aht = _number(form, "aht", positive=True)
    target = _number(form, "target", percent=True)
    within = _number(form, "within")
    patience = _number(form, "patience", optional=True, positive=True)
    max_occupancy = _number(form, "max_occupancy", percent=True, optional=True)
    assert aht is not None and target is not None and within is not None
    if target >= 1.0:
        raise ValidationFailed(N_("No number of seats answers 100 % in time; enter less, e.g. 95."), field="target")
    if not form.get("interval", "").isdigit() or int(form["interval"]) not in INTERVALS:
        raise ValidationFailed(N_("Choose 15, 30 or 60 minutes."), field="interval")
    peaks = [parse_peak(p) for p in form.get("peak", "").replace(";", ",").split(",") if p.strip()]
    settings = Settings(aht=aht, target=target, within=within, patience=patience, max_occupancy=max_occupancy,
                        shift_lengths=tuple(parse_lengths(form.get("shifts", ""))))
    settings.check()
    start = None
    if form.get("start", "").strip():
        try:
            start = parse_start(form["start"], tz)  # a local day: its midnight on the center's clock
        except ValueError:
            raise ValidationFailed(N_("Enter a date such as 2026-12-12."), field="start") from None
    days_text = form.get("days", "7").strip() or "7"
    if not days_text.isdigit() or not 1 <= int(days_text) <= 31:
        raise ValidationFailed(N_("Enter 1 to 31 days."), field="days")
    return settings, int(form["interval"]), peaks, start, int(days_text)


def _plan_csv_rows(plan: Plan) -> str:
    """The plan's arrivals (peaks applied) as a forecast CSV: the download form posts it back."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["interval_start", "arrivals"])
    for r in plan.rows:
        writer.writerow([iso(r.start, plan.zone), repr(r.arrivals)])
    return buf.getvalue()


CHOOSER_LIMIT = 5000  # projects offered in the page's project list


def _page(request: Request, actor: Actor, form: dict[str, str], *, plan: Plan | None = None,
          error: str | None = None, error_field: str | None = None, status_code: int = 200,
          csv_error: dict[str, Any] | None = None) -> Response:
    with _db(request).read() as conn:
        # the chooser needs names only: not project_status, whose counts read every item (0.6 s at 1,000,000)
        projects, _ = project_service.list_projects(conn, actor, offset=0, limit=CHOOSER_LIMIT)
    return render(request, "staffing.html", {
        "form": form, "projects": projects, "plan": plan, "chart": build_chart(plan) if plan else None,
        "forecast_csv": _plan_csv_rows(plan) if plan else "", "error": error, "csv_error": csv_error,
        "error_field": FIELD_NAMES.get(error_field or "", N_("Forecast CSV") if error_field else N_("Input")),
        "intervals": INTERVALS, "peak_labels": [p.label() for p in plan.peaks] if plan else [],
        "zone": zone_name(_zone(request)),
    }, actor=actor, status_code=status_code)


def _run(request: Request, actor: Actor, form: dict[str, str], csv_text: str | None, source_name: str,
         download: bool) -> Response:
    try:
        tz = _zone(request)
        settings, interval, peaks, start, days = _settings(form, tz)
        if csv_text is None and not form.get("project"):
            raise ValidationFailed(N_("Choose a project or upload a forecast CSV."), field="project")
        plan = make_plan(_db(request), actor, settings=settings, interval_minutes=interval, peaks=peaks,
                         project=form.get("project") if csv_text is None else None, csv_text=csv_text,
                         source_name=source_name, start=start, days=days, tz=tz)
    except NotFound:
        return _page(request, actor, form, error=N_("This project does not exist or is not open to you."),
                     error_field="project", status_code=404)
    except SeatflowError as exc:
        reason = exc.extra.get("reason")
        if reason in CSV_REASONS:
            return _page(request, actor, form, error=exc.detail, error_field="file", status_code=422,
                         csv_error={"file": source_name, "line": exc.extra.get("line", 1), "field": exc.field,
                                    "value": exc.extra.get("value", ""), "reason": CSV_REASONS[str(reason)]})
        return _page(request, actor, form, error=exc.detail, error_field=exc.field or "", status_code=422)
    if download:
        return Response(to_csv(plan), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="staffing-plan.csv"'})
    return _page(request, actor, form, plan=plan)


def _gate(request: Request) -> Actor | Response:
    actor = actor_from_request(request)
    if actor is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(login_url(here), status_code=303)
    if actor.role not in STAFF:
        return error_page(request, actor, 403, N_("Not available"),
                          N_("The staffing planner is for team leads and managers."))
    return actor


@router.get("/staffing", response_class=HTMLResponse)
def staffing_page(request: Request) -> Response:
    """The form; with ``aht`` in the query (a bookmarked plan of a project) the plan too."""
    gate = _gate(request)
    if not isinstance(gate, Actor):
        return gate
    form = {**DEFAULTS, **{k: v for k, v in request.query_params.items() if k in DEFAULTS}}
    if "aht" not in request.query_params:
        return _page(request, gate, form)
    return _run(request, gate, form, None, "", download=request.query_params.get("download") == "csv")


@router.post("/staffing", response_class=HTMLResponse)
async def staffing_submit(
    request: Request,
    file: Annotated[UploadFile | None, File()] = None,
    forecast_csv: Annotated[str, Form()] = "",
    download: Annotated[str, Form()] = "",
) -> Response:
    gate = _gate(request)
    if not isinstance(gate, Actor):
        return gate
    raw = await request.form()
    form = {**DEFAULTS, **{k: str(v) for k, v in raw.items() if k in DEFAULTS and isinstance(v, str)}}
    csv_text: str | None = None
    source_name = "forecast.csv"
    if forecast_csv:
        csv_text = forecast_csv
    elif form.get("source") == "csv":
        if file is None or not file.filename:
            return _page(request, gate, form, error=N_("Choose a forecast CSV to upload."), error_field="file",
                         status_code=422)
        data = await file.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            return _page(request, gate, form, error=N_("The forecast CSV is larger than 2 MB."),
                         error_field="file", status_code=422)
        try:
            csv_text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return _page(request, gate, form, error=N_("The forecast CSV is not UTF-8 text."), error_field="file",
                         status_code=422)
        source_name = file.filename
    return _run(request, gate, form, csv_text, source_name, download=download == "csv")
