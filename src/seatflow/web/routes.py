"""Pages: login, logout, home; media served from the local store through signed links."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict

from seatflow.api.deps import Db, actor_from_request
from seatflow.errors import NotAuthenticated
from seatflow.services import accounts, media

from .render import render

router = APIRouter(include_in_schema=True)


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str
    password: str


def _start_session(request: Request, db: Db, username: str, password: str) -> Any:
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
def login_page(request: Request, lang: str | None = None) -> HTMLResponse:
    return render(request, "login.html", {"error": None, "username": ""}, actor=None, lang=lang)


@router.post("/login", include_in_schema=False)
def login_submit(request: Request, db: Db, username: Annotated[str, Form()] = "",
                 password: Annotated[str, Form()] = "") -> Response:
    try:
        _start_session(request, db, username, password)
    except NotAuthenticated:
        return render(request, "login.html", {"error": "Wrong username or password.", "username": username},
                      actor=None, status_code=401)
    return RedirectResponse("/", status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request) -> Response:
    actor = actor_from_request(request)
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "home.html", {}, actor=actor)


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
