"""The live floor page (``/floor``): a tile per worker, the projects' outlook, "move to project".

The page is rendered with a first snapshot; ``static/js/floor.js`` then follows
``/api/v1/floor/stream`` (server-sent events) and redraws the tiles that changed, and moves workers
through ``POST /api/v1/floor/workers/{username}/move``. Who sees what is decided in services/floor.py.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from seatflow.api.deps import actor_from_request
from seatflow.services import attendance, floor
from seatflow.store.engine import Database

from .pages import error_page, login_url
from .render import N_, render
from .workspace import _asset

router = APIRouter(include_in_schema=False)


@router.get("/floor", response_class=HTMLResponse)
def floor_page(request: Request) -> Response:
    actor = actor_from_request(request)
    if actor is None:
        return RedirectResponse(login_url(request.url.path), status_code=303)
    if actor.role not in floor.STAFF:
        return error_page(request, actor, 403, N_("Not available"),
                          N_("The live floor is for team leads and managers."))
    db: Database = request.app.state.db
    with db.read() as conn:
        snap = floor.snapshot(conn, actor)
        movable = floor.movable_projects(conn, actor)
        people = attendance.team(conn, actor)
    config = {"snapshot": snap, "projects": movable, "stream": "/api/v1/floor/stream",
              "stuck_factor": floor.STUCK_FACTOR, "due_soon_minutes": floor.DUE_SOON_MINUTES}
    return render(request, "floor.html", {"config": config, "snap": snap, "people": people, "asset": _asset},
                  actor=actor)
