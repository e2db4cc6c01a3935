"""Sessions (login, logout), health, media through signed links and the app's own static files.

The pages people work in (home, work, language setting) are in ``pages.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.staticfiles import StaticFiles

from seatflow.api import staffing as staffing_api
from seatflow.api.deps import Db, actor_from_request
from seatflow.domain.actors import Actor
from seatflow.errors import NotAuthenticated
from seatflow.i18n import LOCALES
from seatflow.services import accounts, media

from . import pages, staffing
from .pages import remember_language
from .render import N_, render, safe_next

STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=True)
router.include_router(pages.router)
# the staffing planner: its page and its API (/api/v1/staffing/...)
router.include_router(staffing.router)
router.include_router(staffing_api.router)


def static_app() -> StaticFiles:
    """The CSS, icons and scripts the pages use: served by the app itself (intranets have no CDN)."""
    return StaticFiles(directory=STATIC_DIR)


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str
    password: str


def _start_session(request: Request, db: Db, username: str, password: str) -> Actor:
    with db.read() as conn:
        actor = accounts.authenticate(conn, username, password)
        version = accounts.session_version(conn, actor.id)
    request.session.clear()
    request.session.update({"uid": actor.id, "sv": version})
    return actor


@router.post("/api/v1/auth/login", tags=["auth"], summary="Start a session (people)")
def api_login(request: Request, db: Db, body: LoginIn) -> dict[str, Any]:
    actor = _start_session(request, db, body.username, body.password)
    return {"id": actor.id, "username": actor.username, "role": actor.role.value}


@router.post("/api/v1/auth/logout", tags=["auth"], summary="End the session")
def api_logout(request: Request) -> dict[str, bool]:
    request.session.clear()
    return {"ok": True}


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, lang: str | None = None, next: str | None = None) -> Response:
    if actor_from_request(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    chosen = lang if lang in LOCALES else None
    response = render(request, "login.html", {"error": None, "username": "", "next": safe_next(next)},
                      actor=None, lang=chosen)
    if chosen:
        remember_language(response, chosen)
    return response


@router.post("/login", include_in_schema=False)
def login_submit(
    request: Request,
    db: Db,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    chosen = lang if lang in LOCALES else None
    target = safe_next(next)
    username = username.strip()
    if not username or not password:
        return render(request, "login.html",
                      {"error": N_("Enter your username and your password."), "username": username,
                       "next": target},
                      actor=None, lang=chosen, status_code=422)
    try:
        _start_session(request, db, username, password)
    except NotAuthenticated:
        return render(request, "login.html",
                      {"error": N_("Wrong username or password. Check both and try again."),
                       "username": username, "next": target},
                      actor=None, lang=chosen, status_code=401)
    return RedirectResponse(target, status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/healthz", include_in_schema=False)
def healthz(db: Db) -> dict[str, str]:
    with db.read() as conn:
        conn.exec_driver_sql("SELECT 1")
    return {"status": "ok"}


@router.get("/media/{ref:path}", include_in_schema=False)
def media_file(request: Request, ref: str, u: Annotated[int, Query()], e: Annotated[int, Query()],
               s: Annotated[str, Query()]) -> FileResponse:
    path = media.resolve(request.app.state.secret, request.app.state.media_root, ref, user_id=u, expires=e, sig=s)
    return FileResponse(path, headers={"Cache-Control": "private, max-age=3600"})
