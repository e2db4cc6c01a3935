"""The pages people work in: home (per role), the work entry point, the language setting.

Each page reads through the same services as the API and the CLI; nothing here decides who may
see what (the services do), the pages only choose what to show and in which language.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from seatflow.api.deps import actor_from_request
from seatflow.domain.actors import Actor, Role
from seatflow.domain.clock import center_zone
from seatflow.errors import Forbidden, NotFound
from seatflow.i18n import LOCALES
from seatflow.services import accounts, projects, status
from seatflow.services import attendance as attendance_service
from seatflow.services import quality as quality_service
from seatflow.store import attendance as attendance_repo
from seatflow.store import catalog
from seatflow.store.engine import Database

from .render import LANG_COOKIE, LANG_COOKIE_MAX_AGE, N_, render, safe_next

router = APIRouter(include_in_schema=False)

HOME_PROJECT_LIMIT = 200  # the home page lists at most this many projects and says when there are more


def remember_language(response: Response, locale: str) -> None:
    response.set_cookie(LANG_COOKIE, locale, max_age=LANG_COOKIE_MAX_AGE, httponly=True, samesite="lax")


def login_url(next_path: str | None = None) -> str:
    target = safe_next(next_path, "")
    return f"/login?next={quote(target, safe='')}" if target and target != "/" else "/login"


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def error_page(request: Request, actor: Actor | None, status_code: int, title: str, message: str) -> HTMLResponse:
    """A page that says what went wrong, in the reader's language, with a way back (no dead ends)."""
    return render(request, "error.html", {"title": title, "message": message}, actor=actor,
                  status_code=status_code)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    actor = actor_from_request(request)
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    with _db(request).read() as conn:
        if actor.role is Role.WORKER:
            from .workspace import _asset  # workspace imports this module

            rows, total = projects.list_projects(conn, actor, offset=0, limit=HOME_PROJECT_LIMIT)
            today = status.work_today(conn, actor, tz=center_zone(request.app.state.settings))
            attendance = attendance_service.state(conn, actor)
            assigned = (attendance["assigned_project"] or {}).get("id")
            rows = sorted(rows, key=lambda r: r.id != assigned)  # the project a lead moved them to comes first
            mine = [q for q in quality_service.worker_quality(conn, actor, actor.id)["projects"]
                    if q["gold"]["n"] or q["review"]["n"] or q["standing"] != "active"]
            return render(request, "home_worker.html",
                          {"projects": rows, "total": total, "today": today, "attendance": attendance,
                           "assigned": assigned, "asset": _asset, "quality": mine}, actor=actor)
        table = status.project_status(conn, actor)
        notices = quality_service.notices(conn, actor, limit=20) if actor.is_staff else []
    if actor.role is Role.CLIENT:
        return render(request, "home_client.html", {"rows": table}, actor=actor)
    totals = {
        key: sum(getattr(r, key) for r in table)
        for key in ("items", "backlog", "in_progress", "done", "at_risk", "overdue")
    }
    return render(request, "home_staff.html", {"rows": table, "totals": totals, "notices": notices}, actor=actor)


@router.get("/work", response_class=HTMLResponse)
def work(request: Request, project: str | None = None) -> Response:
    """Where a worker's loop starts: the workspace (``/work/{project}``, web/workspace.py) of the
    project asked for, or of the first active project the person is qualified for. Without one,
    this page says so and leads back; it takes no lease."""
    actor = actor_from_request(request)
    if actor is None:
        return RedirectResponse(login_url(_here(request)), status_code=303)
    if actor.role is Role.CLIENT:
        return error_page(request, actor, 403, N_("Not available"),
                          N_("Client accounts follow progress on the home page; they do not take tasks."))
    if project:
        if not project.isdigit():
            return error_page(request, actor, 404, N_("Project not found"),
                              N_("This project does not exist or is not open to you."))
        try:
            with _db(request).read() as conn:
                chosen = projects.get_project(conn, actor, int(project))
        except (NotFound, Forbidden):
            return error_page(request, actor, 404, N_("Project not found"),
                              N_("This project does not exist or is not open to you."))
        return RedirectResponse(f"/work/{chosen.id}", status_code=303)
    with _db(request).read() as conn:
        skilled = {s.project_id for s in catalog.skills_of(conn, actor.id)}
        rows, _total = catalog.list_projects(conn, offset=0, limit=HOME_PROJECT_LIMIT, user_id=actor.id)
        assignment = attendance_repo.assignment_of(conn, actor.id)
    if assignment is not None:  # the project a lead moved them to (the live floor's "move") comes first
        rows = sorted(rows, key=lambda r: r.id != assignment.project_id)
    first = next((r for r in rows if r.status == "active" and r.id in skilled), None)
    if first is not None:
        return RedirectResponse(f"/work/{first.id}", status_code=303)
    return render(request, "work.html", {"project": None}, actor=actor)


@router.post("/settings/language")
def set_language(
    request: Request,
    locale: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Switch the interface language: stored on the user (if logged in) and in a cookie."""
    actor = actor_from_request(request)
    if locale not in LOCALES:
        return error_page(request, actor, 422, N_("Unknown language"),
                          N_("Choose one of the languages offered in the page header."))
    if actor is not None:
        with _db(request).write() as conn:
            accounts.set_locale(conn, actor, user_id=actor.id, locale=locale)
    response = RedirectResponse(safe_next(next), status_code=303)
    remember_language(response, locale)
    return response
