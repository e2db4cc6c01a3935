"""The quality report page: /quality/report?project=..&batch=.. (services/quality_report.py), and the
acceptance inspection pages: start one for a batch, judge its sample (services/acceptance.py).

A client sees its own projects' reports without the per-worker table; the center's staff see every
project's, with it; workers are refused. Charts are server-rendered SVG (web/charts.py); the same
report downloads as CSV or JSON from /api/v1/quality/report.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from seatflow.api.deps import actor_from_request
from seatflow.domain.actors import Role
from seatflow.errors import Conflict, Forbidden, NotFound, SeatflowError, ValidationFailed
from seatflow.services import acceptance, projects, quality_report
from seatflow.services._tx import transact
from seatflow.store import acceptance as repo
from seatflow.store.engine import Database

from .charts import Series, bar_chart
from .pages import error_page, login_url
from .render import N_, pick_locale, render, translator

router = APIRouter(include_in_schema=False)

STATE_NAMES = {"open": N_("Being inspected"), "accepted": N_("Accepted"), "rejected": N_("Rejected")}
VERDICT_NAMES = {"ok": N_("OK"), "defective": N_("Defective")}
AQL_CHOICES = ("0.25", "0.4", "0.65", "1.0", "1.5", "2.5", "4.0", "6.5", "10")
STARTERS = (Role.ADMIN, Role.MANAGER, Role.CLIENT)
# what a refused form is told, by the field the service named (its own detail is English)
FIELD_ERRORS = {
    "aql": N_("Choose an AQL from the list."),
    "level": N_("Choose the inspection level I, II or III."),
    "on_reject": N_("Choose what goes back to rework."),
    "batch": N_("This batch cannot be inspected now: some of its items are still in work, or an inspection of it "
                "is open."),
    "verdict": N_("Choose OK or Defective."),
    "error_tags": N_("A defective item needs an error tag or a comment; a tag is at most 64 characters, and an OK "
                     "item has none."),
    "comment": N_("The comment is longer than 5000 characters."),
    "item_id": N_("This item is not in the sample."),
    "inspection": N_("This inspection is decided; start a new one to inspect again."),
}


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
        if not project_ref and len(visible) == 1:  # nothing to choose between: open its report
            project_ref = visible[0].slug
        rep = None
        batches: list[Any] = []
        in_work = 0
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
            in_work = repo.lot(conn, rep["batch"]["id"])[1] if rep["batch"] is not None else 0
    may_start = actor.role in STARTERS and rep is not None and rep["batch"] is not None and not in_work and \
        not any(i["state"] == "open" for i in rep["inspections"])
    context: dict[str, Any] = {"projects": visible, "project_ref": project_ref, "batch_ref": batch, "rep": rep,
                               "batches": batches, "states": STATE_NAMES, "may_start": may_start,
                               "aqls": AQL_CHOICES, "in_work": in_work}
    if rep is not None:
        params = {"project": rep["project"]["slug"], **({"batch": batch} if batch else {})}
        context["csv_url"] = "/api/v1/quality/report?" + urlencode({**params, "format": "csv"})
        context["json_url"] = "/api/v1/quality/report?" + urlencode(params)
        context["charts"] = _charts(rep, _)
    return render(request, "quality_report.html", context, actor=actor)


def _refused(request: Request, actor: Any, exc: SeatflowError) -> Response:
    if isinstance(exc, NotFound):
        return error_page(request, actor, 404, N_("Not found"),
                          N_("There is no such project or batch, or it is not yours to see."))
    if isinstance(exc, Forbidden):
        return error_page(request, actor, 403, N_("Not allowed"),
                          N_("Inspections are started by the client or a manager and judged by the client, the "
                             "center's staff or the project's reviewers."))
    status = 409 if isinstance(exc, Conflict) else 422
    return error_page(request, actor, status, N_("Not accepted"),
                      FIELD_ERRORS.get(exc.field or "", N_("Check the form and try again.")))


@router.post("/quality/inspections")
async def start_inspection(request: Request) -> Response:
    actor = actor_from_request(request)
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    form = await request.form()
    batch = str(form.get("batch") or "")
    if not batch.isdigit() or len(batch) > 18:
        return _refused(request, actor, NotFound("no such batch", field="batch"))
    try:
        data = transact(_db(request), lambda c: acceptance.start(
            c, actor, int(batch), aql=str(form.get("aql") or "1.0"), level=str(form.get("level") or "II"),
            on_reject=str(form.get("on_reject") or "defective")))
    except SeatflowError as exc:
        return _refused(request, actor, exc)
    return RedirectResponse(f"/quality/inspections/{data['id']}", status_code=303)


@router.get("/quality/inspections/{inspection_id}", response_class=HTMLResponse)
def inspection_page(request: Request, inspection_id: str) -> Response:
    actor = actor_from_request(request)
    if actor is None:
        here = request.url.path
        return RedirectResponse(login_url(here), status_code=303)
    if not inspection_id.isdigit() or len(inspection_id) > 18:
        return _refused(request, actor, NotFound("no such inspection"))
    try:
        with _db(request).read() as conn:
            data = acceptance.get(conn, actor, int(inspection_id))
    except SeatflowError as exc:
        return _refused(request, actor, exc)
    for s in data["sample"]:
        s["answers_text"] = json.dumps([a["answer"] for a in s["answers"]], ensure_ascii=False, sort_keys=True)
    report_url = "/quality/report?" + urlencode({"project": data["project"], "batch": data["batch"]["id"]})
    return render(request, "inspection.html", {"i": data, "states": STATE_NAMES, "verdicts": VERDICT_NAMES,
                                               "report_url": report_url}, actor=actor)


@router.post("/quality/inspections/{inspection_id}/items/{item_id}")
async def judge_item(request: Request, inspection_id: str, item_id: str) -> Response:
    actor = actor_from_request(request)
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    if not (inspection_id.isdigit() and item_id.isdigit()) or max(len(inspection_id), len(item_id)) > 18:
        return _refused(request, actor, NotFound("no such inspection"))
    form = await request.form()
    tags = [t.strip() for t in str(form.get("error_tags") or "").replace("，", ",").split(",") if t.strip()]
    try:
        transact(_db(request), lambda c: acceptance.judge(
            c, actor, int(inspection_id), int(item_id), verdict=str(form.get("verdict") or ""),
            error_tags=tags, comment=str(form.get("comment") or "")))
    except SeatflowError as exc:
        return _refused(request, actor, exc)
    return RedirectResponse(f"/quality/inspections/{int(inspection_id)}#item-{int(item_id)}", status_code=303)
