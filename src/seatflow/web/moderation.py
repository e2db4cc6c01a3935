"""The team lead's moderation page: items that will breach their deadline, seats to pull on, SLA figures.

Reads through ``services.moderation_reports`` like the API (``/api/v1/moderation/...``); the form
that adds seats calls the same ``add_seats`` (``services.accounts.grant``).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from seatflow.api.deps import actor_from_request
from seatflow.domain.actors import Role
from seatflow.errors import NotFound, SeatflowError
from seatflow.i18n.message import localize
from seatflow.services import moderation_reports as reports
from seatflow.services._tx import transact
from seatflow.store import moderation as repo
from seatflow.store.engine import Database

from .pages import error_page, login_url
from .render import N_, pick_locale, render

router = APIRouter(include_in_schema=False)
STAFF = (Role.ADMIN, Role.MANAGER, Role.LEAD)


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


@router.get("/moderation", response_class=HTMLResponse)
def overview(request: Request, project: str | None = None) -> Response:
    """Every moderation project (or the one named): its queues' outlook, the seats form, SLA figures."""
    actor = actor_from_request(request)
    if actor is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(login_url(here), status_code=303)
    if actor.role not in STAFF:
        return error_page(request, actor, 403, N_("Not available"),
                          N_("The moderation floor is for team leads and managers."))
    q = request.query_params
    with _db(request).read() as conn:
        chosen = [p for p in repo.moderation_projects(conn) if project in (None, "", p.slug)]
        if project and not chosen:
            return error_page(request, actor, 404, N_("Project not found"),
                              N_("This project does not exist or is not open to you."))
        boards = [{"project": p, "forecast": reports.forecast(conn, actor, p.slug),
                   "people": reports.seat_candidates(conn, actor, p.slug)} for p in chosen]
        sla = reports.sla(conn, actor, project_ref=project or None, hours=24)
    sla_by_slug = {row["project"]: row for row in sla["projects"]}
    return render(request, "moderation.html",
                  {"boards": boards, "sla": sla_by_slug, "granted": q.get("granted"), "error": q.get("error")},
                  actor=actor)


@router.post("/moderation/{slug}/seats")
def add_seats(request: Request, slug: str, usernames: Annotated[list[str], Form()] = [],  # noqa: B006
              skill: Annotated[str, Form()] = "annotate") -> Response:
    actor = actor_from_request(request)
    if actor is None:
        return RedirectResponse(login_url("/moderation"), status_code=303)
    if actor.role not in STAFF:
        return error_page(request, actor, 403, N_("Not available"),
                          N_("The moderation floor is for team leads and managers."))
    back = f"/moderation?project={quote(slug)}"
    try:
        got = transact(_db(request), lambda c: reports.add_seats(c, actor, slug, usernames=usernames, skill=skill))
    except NotFound:
        return error_page(request, actor, 404, N_("Project not found"),
                          N_("This project does not exist or is not open to you."))
    except SeatflowError as exc:  # the page shows the message as it is: say it in the reader's language now
        said = localize(exc.detail, pick_locale(request, actor))
        return RedirectResponse(f"{back}&error={quote(said)}", status_code=303)
    return RedirectResponse(f"{back}&granted={sum(1 for g in got if g['granted'])}", status_code=303)
