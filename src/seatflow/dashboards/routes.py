"""Dashboards and daily reports over HTTP: JSON and CSV under /api/v1, the /dashboards page with SVG
charts, and the /reports/daily page (PDF from the API)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any, Literal

from babel.dates import format_datetime
from babel.numbers import format_percent
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from seatflow.api.deps import CurrentActor, Db, actor_from_request
from seatflow.domain.actors import Actor, Role
from seatflow.domain.clock import center_zone, zone_name
from seatflow.errors import Forbidden, NotFound, SeatflowError
from seatflow.store.catalog import list_clients
from seatflow.web import charts
from seatflow.web.pages import error_page, login_url
from seatflow.web.render import BABEL_LOCALE, N_, pick_locale, render, translator

from . import daily, service
from .service import Dashboard, age_band_keys

router = APIRouter(prefix="/api/v1", tags=["dashboards"])
pages = APIRouter(include_in_schema=False)

Scope_ = Annotated[str | None, Query(description="center, client, project, team or worker")]
Key = Annotated[str | None, Query(description="slug of the client or project, team name, or username")]
Hours = Annotated[str | None, Query(description="the window: the last N hours (1..744), 24 by default")]

SCOPE_NAMES = {"center": N_("Whole center"), "client": N_("Client"), "project": N_("Project"), "team": N_("Team"),
               "worker": N_("Worker")}
BAND_NAMES = {"0-1h": N_("under 1 h"), "1-4h": N_("1–4 h"), "4-24h": N_("4–24 h"), "24-72h": N_("1–3 days"),
              ">72h": N_("over 3 days")}
assert list(BAND_NAMES) == age_band_keys()


@router.get("/dashboards", summary="Dashboard numbers of a scope: throughput, handling time, backlog, SLA, quality")
def get_dashboard(request: Request, actor: CurrentActor, db: Db, scope: Scope_ = None, key: Key = None,
                  hours: Hours = None) -> dict[str, Any]:
    tz = center_zone(request.app.state.settings)
    with db.read() as conn:
        return service.dashboard(conn, actor, scope=scope, key=key, hours=hours, tz=tz).as_dict()


@router.get("/dashboards/{chart}.csv", summary="The numbers behind one dashboard chart, as CSV")
def get_dashboard_csv(request: Request, chart: str, actor: CurrentActor, db: Db, scope: Scope_ = None,
                      key: Key = None, hours: Hours = None) -> Response:
    tz = center_zone(request.app.state.settings)
    with db.read() as conn:
        d = service.dashboard(conn, actor, scope=scope, key=key, hours=hours, tz=tz)
    body = service.chart_csv(d, chart)
    name = f"{chart}-{d.scope.kind.value}{'-' + d.scope.key if d.scope.key else ''}.csv"
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/reports/daily/{client}", summary="A client's daily report (JSON or PDF)")
def get_daily_report(client: str, request: Request, actor: CurrentActor, db: Db,
                     date: Annotated[str | None, Query(description="YYYY-MM-DD, a day in the center's time zone "
                                                       "(SEATFLOW_TIMEZONE), today by default")] = None,
                     format: Annotated[Literal["json", "pdf"], Query(description="json or pdf")] = "json",
                     ) -> Response:
    with db.read() as conn:
        report = daily.daily_report(conn, actor, client, date, tz=center_zone(request.app.state.settings))
    if format == "pdf":
        body = daily.report_pdf(report, pick_locale(request, actor))
        return Response(body, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="daily-{report.client}-{report.day.isoformat()}.pdf"'})
    return JSONResponse(report.as_dict())


# --- pages ---------------------------------------------------------------------------------------


def _duration(seconds: float | None, _: Any) -> str:
    if seconds is None:
        return "—"
    if seconds < 90:
        return str(_("%(n)s s", n=round(seconds)))
    if seconds < 5400:
        return str(_("%(n)s min", n=round(seconds / 60)))
    if seconds < 172800:
        return str(_("%(n)s h", n=round(seconds / 3600, 1)))
    return str(_("%(n)s days", n=round(seconds / 86400, 1)))


def _labels(d: Dashboard, locale: str, tz: tzinfo) -> list[str]:
    fmt = "HH:mm" if d.step == "hour" else "MM-dd"
    return [format_datetime(b.start, fmt, tzinfo=tz, locale=BABEL_LOCALE[locale]) for b in d.buckets]


def build_charts(d: Dashboard, locale: str, tz: tzinfo = UTC) -> list[dict[str, str]]:
    """The four charts of a dashboard as SVG, each with its CSV chart name; times on the center's clock."""
    _ = translator(locale)
    labels = _labels(d, locale, tz)
    unit = _("per hour") if d.step == "hour" else _("per day")
    throughput = charts.line_chart(
        [charts.Series(_("Answers"), list(zip(labels, [float(b.answers) for b in d.buckets], strict=True))),
         charts.Series(_("Delivered items"), list(zip(labels, [float(b.delivered) for b in d.buckets], strict=True)))],
        title=_("Throughput (%(unit)s)", unit=unit), y_label=_("items"), empty=_("No work in this period"))
    aht = charts.line_chart(
        [charts.Series(_("Average handling time"),
                       [(label, None if b.aht_seconds is None else round(b.aht_seconds, 1))
                        for label, b in zip(labels, d.buckets, strict=True)])],
        title=_("Average handling time (lease to submit)"), y_label=_("seconds"), empty=_("No answers in this period"))
    sla = charts.bar_chart(
        [charts.Series(_("Within deadline"), [(label, None if b.sla_share is None else round(100 * b.sla_share, 1))
                                              for label, b in zip(labels, d.buckets, strict=True)])],
        title=_("SLA attainment (share done by the deadline)"), y_label="%", y_min=0, y_max=100,
        empty=_("Nothing delivered in this period"), show_values=False)
    backlog = charts.bar_chart(
        [charts.Series(_("Waiting items"), [(_(BAND_NAMES[k]), float(n))
                                            for k, n in zip(age_band_keys(), d.backlog_bands, strict=True)],
                       color=charts.PALETTE[4])],
        title=_("Backlog by age"), y_label=_("items"), empty=_("No backlog"))
    return [{"name": "throughput", "svg": throughput}, {"name": "aht", "svg": aht},
            {"name": "sla", "svg": sla}, {"name": "backlog", "svg": backlog}]


def _choices(conn: Any, actor: Actor, d: Dashboard) -> list[tuple[str, str, str]]:
    """What the picker offers the actor, as (kind, "kind:key", name); the service still checks every choice."""
    from sqlalchemy import select

    from seatflow.store import tables as t

    from . import repository as repo

    def projects(where: Any = None) -> list[tuple[str, str, str]]:
        q = select(t.projects.c.slug, t.projects.c.name).order_by(t.projects.c.slug)
        q = q if where is None else q.where(where)
        return [("project", f"project:{p.slug}", p.name) for p in conn.execute(q)]

    def workers(where: Any) -> list[tuple[str, str, str]]:
        q = (select(t.users.c.username, t.users.c.display_name).where(t.users.c.role.in_(("worker", "lead")), where)
             .order_by(t.users.c.username))
        return [("worker", f"worker:{u.username}", u.display_name) for u in conn.execute(q)]

    role = actor.role
    own = [(d.scope.kind.value, f"{d.scope.kind.value}:{d.scope.key}", d.scope.name)]
    if role in (Role.ADMIN, Role.MANAGER):
        out = [("center", "center:", "")]
        out += [("client", f"client:{c.slug}", c.name) for c in list_clients(conn, client_id=None, offset=0,
                                                                           limit=500)[0]]
        out += projects()
        teams = conn.execute(select(t.teams.c.name).order_by(t.teams.c.name))
        out += [("team", f"team:{r.name}", r.name) for r in teams]
        out += workers(t.users.c.id.is_not(None))
    elif role is Role.CLIENT:
        client = conn.execute(select(t.clients.c.slug, t.clients.c.name)
                              .where(t.clients.c.id == actor.client_id)).first()
        out = [("client", f"client:{client.slug}", client.name)] if client else []
        out += projects(t.projects.c.client_id == actor.client_id)
    elif role is Role.LEAD:
        team = conn.execute(select(t.teams.c.name).where(t.teams.c.id == actor.team_id)).first() \
            if actor.team_id is not None else None
        out = [("team", f"team:{team.name}", team.name)] if team else []
        ids = repo.team_projects(conn, actor.team_id) if actor.team_id is not None else frozenset()
        out += projects(t.projects.c.id.in_(sorted(ids)))
        out += workers(t.users.c.team_id == actor.team_id) if actor.team_id is not None else []
    else:
        out = []
    if own[0][1] not in {value for _k, value, _n in out}:
        out = own + out
    return out


def _problem_page(request: Request, actor: Actor, exc: SeatflowError) -> Response:
    if isinstance(exc, NotFound):
        return error_page(request, actor, 404, N_("Not found"),
                          N_("This client, project, team or worker does not exist or is not open to you."))
    if isinstance(exc, Forbidden):
        return error_page(request, actor, 403, N_("Not available"),
                          N_("This dashboard is not open to you; your own dashboard is at /dashboards."))
    return error_page(request, actor, 422, N_("Check the filters"),
                      N_("The scope, the name or the number of hours is not understood (hours: 1 to 744)."))


@pages.get("/dashboards", response_class=HTMLResponse)
def dashboards_page(request: Request, scope: str | None = None, key: str | None = None,
                    hours: str | None = None, view: str | None = None) -> Response:
    actor = actor_from_request(request)
    if actor is None:
        return RedirectResponse(login_url(str(request.url.path)), status_code=303)
    if view:  # the page's picker: "kind:key" in one field
        scope, _sep, key = view.partition(":")
    db = request.app.state.db
    tz = center_zone(request.app.state.settings)
    try:
        with db.read() as conn:
            d = service.dashboard(conn, actor, scope=scope, key=key, hours=hours, tz=tz)
            choices = _choices(conn, actor, d)
    except SeatflowError as exc:
        return _problem_page(request, actor, exc)
    locale = pick_locale(request, actor)
    query = f"scope={d.scope.kind.value}&key={d.scope.key}&hours={hours or 24}"
    return render(request, "dashboards.html", {
        "d": d, "charts": build_charts(d, locale, tz), "choices": choices, "scope_names": SCOPE_NAMES,
        "zone": zone_name(tz),
        "current": f"{d.scope.kind.value}:{d.scope.key}",
        "hours": hours or "24", "query": query, "duration": lambda s: _duration(s, translator(locale)),
        "pct": lambda x: "—" if x is None else format_percent(x, format="#,##0.0%", locale=BABEL_LOCALE[locale]),
    }, actor=actor)


@pages.get("/reports/daily", response_class=HTMLResponse)
def daily_page(request: Request, client: str | None = None, date: str | None = None) -> Response:
    actor = actor_from_request(request)
    if actor is None:
        return RedirectResponse(login_url(str(request.url.path)), status_code=303)
    if actor.role not in (Role.ADMIN, Role.MANAGER, Role.CLIENT):
        return error_page(request, actor, 403, N_("Not available"),
                          N_("Daily reports are for managers and for each client's own users."))
    db = request.app.state.db
    tz = center_zone(request.app.state.settings)
    try:
        with db.read() as conn:
            clients = ([] if actor.role is Role.CLIENT
                       else list(list_clients(conn, client_id=None, offset=0, limit=500)[0]))
            chosen = client or (clients[0].slug if clients else None)
            report = (daily.daily_report(conn, actor, chosen, date, tz=tz)
                      if (chosen or actor.role is Role.CLIENT) else None)
    except NotFound:
        return error_page(request, actor, 404, N_("Client not found"),
                          N_("This client does not exist or its reports are not open to you."))
    except SeatflowError:
        return error_page(request, actor, 422, N_("This is not a day"),
                          N_("Write the day as YYYY-MM-DD, for example 2026-11-27."))
    locale = pick_locale(request, actor)
    return render(request, "daily_report.html", {
        "report": report, "clients": clients, "zone": zone_name(tz),
        "duration": lambda s: _duration(s, translator(locale)),
        "pct": lambda x: "—" if x is None else format_percent(x, format="#,##0.0%", locale=BABEL_LOCALE[locale]),
        "generated": format_datetime(report.generated_at if report else datetime.now(), "yyyy-MM-dd HH:mm",
                                     locale=BABEL_LOCALE[locale]) + " UTC",
    }, actor=actor)
