"""The exports page: start a background export in any format, see its progress, download it when done.

The page starts and lists jobs through ``services.export_jobs`` like the API (``/api/v1/exports``); the
download link is the API's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from seatflow.api.deps import actor_from_request
from seatflow.domain.actors import Role
from seatflow.errors import Forbidden, NotFound, ValidationFailed
from seatflow.formats import EXPORT_FORMATS
from seatflow.services import status
from seatflow.services.export_jobs import ExportJobs
from seatflow.store.engine import Database

from .pages import error_page, login_url
from .render import N_, render

router = APIRouter(include_in_schema=False)

STATE_NAMES = {"queued": N_("Waiting"), "running": N_("Writing"), "done": N_("Ready"), "failed": N_("Failed")}
FORMAT_NAMES = {
    "jsonl": N_("JSONL (one answer per line)"),
    "csv": N_("CSV (a row per item)"),
    "coco": N_("COCO JSON (boxes, keypoints, polygons)"),
    "yolo": N_("YOLO (zip: labels and data.yaml)"),
    "voc": N_("Pascal VOC (zip: one XML per image)"),
    "labelstudio": N_("Label Studio JSON"),
}
IMAGE_ONLY = ("coco", "yolo", "voc")
assert set(FORMAT_NAMES) == set(EXPORT_FORMATS)


def _jobs(request: Request) -> ExportJobs:
    jobs: ExportJobs = request.app.state.export_jobs
    return jobs


@router.get("/exports", response_class=HTMLResponse)
def exports_page(request: Request) -> Response:
    actor = actor_from_request(request)
    if actor is None:
        return RedirectResponse(login_url("/exports"), status_code=303)
    if actor.role is Role.WORKER:
        return error_page(request, actor, 403, N_("Not available"),
                          N_("Exports are for the center's staff and its clients."))
    db: Database = request.app.state.db
    with db.read() as conn:
        projects = [p for p in status.project_status(conn, actor)]
    jobs = _jobs(request).visible(actor)
    return render(request, "exports.html", {
        "jobs": jobs, "projects": projects, "formats": FORMAT_NAMES, "states": STATE_NAMES,
        "image_only": IMAGE_ONLY, "started": request.query_params.get("started"),
    }, actor=actor)


@router.post("/exports")
def start_export_form(
    request: Request,
    project: Annotated[str, Form()] = "",
    format: Annotated[str, Form()] = "",
) -> Response:
    actor = actor_from_request(request)
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    try:
        job = _jobs(request).start(actor, project, format)
    except (NotFound, Forbidden):
        return error_page(request, actor, 404, N_("Project not found"),
                          N_("This project does not exist or is not open to you."))
    except ValidationFailed:
        return error_page(request, actor, 422, N_("This format does not fit the project"),
                          N_("COCO, YOLO and Pascal VOC hold image annotations; choose JSONL, CSV or Label Studio "
                             "for other projects."))
    return RedirectResponse(f"/exports?started={job.id}", status_code=303)
