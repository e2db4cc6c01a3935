"""The seat workspace: the work stream page of one project and the JS message catalog.

``GET /work/{project_ref}`` renders the shell (header, stage, review bar, cheat sheet,
instructions) and hands the page its project, schema and settings as JSON; everything after that
is the browser talking to the work API (leases, heartbeat, submit, review), see
docs/workspace-contract.md. ``GET /i18n/{locale}.json`` is the catalog of the messages the
scripts under ``static/js`` show, built from the same .po files as the pages.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from seatflow.api.deps import actor_from_request
from seatflow.domain.actors import Role
from seatflow.errors import Forbidden, NotFound
from seatflow.i18n import LOCALES
from seatflow.i18n.message import Msg
from seatflow.services import projects
from seatflow.store import catalog
from seatflow.store.engine import Database

from .pages import error_page, login_url
from .render import N_, render

router = APIRouter(include_in_schema=False)

STATIC_DIR = Path(__file__).parent / "static"
CATALOG_DIR = Path(__file__).resolve().parent.parent / "i18n"
JS_SOURCE_PREFIX = "src/seatflow/web/static/js/"  # where the .po says a message of the scripts comes from
MAX_HEARTBEAT_SECONDS = 60


def _asset(path: str) -> str:
    """``/static/<path>?v=<mtime>``: a changed file gets a new URL, so no browser runs stale code."""
    stamp = int((STATIC_DIR / path).stat().st_mtime)
    return f"/static/{path}?v={stamp}"


def _view_assets(work_type: str) -> tuple[list[str], list[str]]:
    """Scripts and stylesheets of a work type's view: ``js/wt/<type>.js`` and, for image
    annotation, the canvas helpers in ``js/canvas/`` (loaded first) and ``image.css``."""
    scripts: list[str] = []
    styles: list[str] = []
    if work_type == "image_annotation":
        canvas = STATIC_DIR / "js" / "canvas"
        if canvas.is_dir():
            scripts += [_asset(f"js/canvas/{p.name}") for p in sorted(canvas.glob("*.js"))]
        if (STATIC_DIR / "image.css").is_file():
            styles.append(_asset("image.css"))
    if (STATIC_DIR / "js" / "wt" / f"{work_type}.js").is_file():
        scripts.append(_asset(f"js/wt/{work_type}.js"))
    return scripts, styles


def heartbeat_seconds(lease_seconds: int) -> int:
    """Renew held leases often enough that two missed beats still leave time: at most every 60 s."""
    return max(3, min(MAX_HEARTBEAT_SECONDS, lease_seconds // 3))


@router.get("/work/{project_ref}", response_class=HTMLResponse)
def workspace(request: Request, project_ref: str) -> Response:
    actor = actor_from_request(request)
    if actor is None:
        return RedirectResponse(login_url(request.url.path), status_code=303)
    if actor.role is Role.CLIENT:
        return error_page(request, actor, 403, N_("Not available"),
                          N_("Client accounts follow progress on the home page; they do not take tasks."))
    db: Database = request.app.state.db
    try:
        with db.read() as conn:
            project = projects.get_project(conn, actor, project_ref)
            skills = sorted(s.skill for s in catalog.skills_of(conn, actor.id) if s.project_id == project.id)
    except (NotFound, Forbidden):
        return error_page(request, actor, 404, N_("Project not found"),
                          N_("This project does not exist or is not open to you."))
    if not skills:  # staff see every project, but work only where they hold a qualification
        return error_page(request, actor, 403, N_("Not qualified for this project"),
                          N_("You hold no qualification for this project, so it hands you no tasks. "
                             "Ask a team lead to qualify you."))
    if project.status != "active":
        return error_page(request, actor, 409, N_("Project paused"),
                          N_("This project is paused and hands out no tasks. Choose another project on the "
                             "home page."))
    settings = request.app.state.settings
    lease_seconds = int(project.lease_seconds or settings.lease_seconds)
    scripts, styles = _view_assets(project.work_type)
    config: dict[str, Any] = {
        "project": {
            "id": project.id,
            "slug": project.slug,
            "name": project.name,
            "work_type": project.work_type,
            "label_schema": project.label_schema,
            "instructions": project.instructions or "",
        },
        "skills": skills,
        "user": {"id": actor.id, "username": actor.username},
        "heartbeat_seconds": heartbeat_seconds(lease_seconds),
    }
    return render(request, "workspace.html", {
        "project": project,
        "skills": skills,
        "config": config,
        "asset": _asset,
        "view_scripts": scripts,
        "view_styles": styles,
    }, actor=actor)


@lru_cache(maxsize=8)
def _catalog_json(locale: str, mtime_ns: int) -> tuple[bytes, str]:
    """The messages of the scripts in ``locale`` as JSON, and its ETag (cached per .po version)."""
    path = CATALOG_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        po = read_po(fh, locale=locale)
    messages = {}
    for message in po:
        if not message.id or not isinstance(message.id, str) or not message.string:
            continue
        if any(loc[0].startswith(JS_SOURCE_PREFIX) for loc in message.locations):
            messages[message.id] = message.string
    body = json.dumps({"locale": locale, "messages": messages}, ensure_ascii=False, sort_keys=True).encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


@router.get("/i18n/{locale}.json")
def js_catalog(request: Request, locale: str) -> Response:
    """The translations of the workspace scripts (``Seatflow.t``); English maps each message to itself."""
    if locale not in LOCALES:
        raise NotFound(Msg("no catalog for language {locale!r}; languages: {languages}", locale=locale,
                           languages=", ".join(LOCALES)), field="locale")
    path = CATALOG_DIR / locale / "LC_MESSAGES" / "messages.po"
    body, etag = _catalog_json(locale, path.stat().st_mtime_ns)
    headers = {"ETag": etag, "Cache-Control": "no-cache", "Content-Language": locale.replace("_", "-")}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
