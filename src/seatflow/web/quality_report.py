"""The quality report page: /quality/report?project=..&batch=.. (services/quality_report.py).

A client sees its own projects' reports without the per-worker table; the center's staff see every
project's, with it; workers are refused. Charts are server-rendered SVG (web/charts.py); the same
report downloads as CSV or JSON from /api/v1/quality/report.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from seatflow.api.deps import actor_from_request
from seatflow.domain.actors import Role
from seatflow.errors import NotFound, ValidationFailed
from seatflow.services import projects, quality_report
from seatflow.store import acceptance as repo
from seatflow.store.engine import Database

from .charts import Series, bar_chart
from .pages import error_page, login_url
from .render import N_, pick_locale, render, translator

router = APIRouter(include_in_schema=False)

STATE_NAMES = {"open": N_("Being inspected"), "accepted": N_("Accepted"), "rejected": N_("Rejected")}


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _charts(rep: dict[str, Any], _: Any) -> dict[str, str]:
    findings = rep["findings"]
    inspected = rep["inspection_findings"]
    tags = list(dict.fromkeys([f["tag"] for f in findings] + [f["tag"] for f in inspected]))
    by_review = {f["tag"]: f["count"] for f in findings}
    by_inspection = {f["tag"]: f["count"] for f in inspected}
    charts = {"findings": bar_chart(
        [Series(_("Review rejections"), [(t, by_review.get(t, 0)) for t in tags]),
         Series(_("Inspection defects"), [(t, by_inspection.get(t, 0)) for t in tags])],
        title=_("Findings by error tag"), y_label=_("Answers"), empty=_("No findings"), width=560, height=240)}
    if "workers" in rep:
        charts["workers"] = bar_chart(
            [Series(_("Gold accuracy (%)"), [(w["username"], None if w["gold"]["rate"] is None
                                              else round(100 * w["gold"]["rate"], 1)) for w in rep["workers"]]),
             Series(_("Review acceptance (%)"), [(w["username"], None if w["review"]["rate"] is None
                                                  else round(100 * w["review"]["rate"], 1))
                                                 for w in rep["workers"]])],
            title=_("Per worker"), y_label="%", y_min=0, y_max=100, empty=_("No workers yet"), width=560, height=240)
    return charts


@router.get("/quality/report", response_class=HTMLResponse)
def report_page(request: Request) -> Response:
    actor = actor_from_request(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if actor is None:
        return RedirectResponse(login_url(here), status_code=303)
    if actor.role is Role.WORKER:
        return error_page(request, actor, 403, N_("Not available"),
                          N_("The quality report is for the center's staff and its clients."))
    q = request.query_params
    project_ref = (q.get("project") or "").strip()
    batch = (q.get("batch") or "").strip()
    _ = translator(pick_locale(request, actor))
    with _db(request).read() as conn:
        visible, _total = projects.list_projects(conn, actor, offset=0, limit=500)
        rep = None
        batches: list[Any] = []
        if project_ref:
            try:
                rep = quality_report.report(conn, actor, project_ref, batch or None)
            except NotFound:
                return error_page(request, actor, 404, N_("Not found"),
                                  N_("There is no such project or batch, or it is not yours to see."))
            except ValidationFailed:
                return error_page(request, actor, 422, N_("Unknown batch"),
                                  N_("Choose a batch from the list."))
            batches = repo.project_batches(conn, rep["project"]["id"])
    context: dict[str, Any] = {"projects": visible, "project_ref": project_ref, "batch_ref": batch, "rep": rep,
                               "batches": batches, "states": STATE_NAMES}
    if rep is not None:
        params = {"project": rep["project"]["slug"], **({"batch": batch} if batch else {})}
        context["csv_url"] = "/api/v1/quality/report?" + urlencode({**params, "format": "csv"})
        context["json_url"] = "/api/v1/quality/report?" + urlencode(params)
        context["charts"] = _charts(rep, _)
    return render(request, "quality_report.html", context, actor=actor)
