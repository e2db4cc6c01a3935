"""Clients, users, tokens, projects, qualifications and status."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from seatflow.domain.actors import Role
from seatflow.domain.clock import center_zone
from seatflow.errors import NotFound
from seatflow.services import accounts, projects, status
from seatflow.services._tx import transact
from seatflow.store import catalog as catalog_repo

from .deps import CurrentActor, Db, Paging, TokenCache

router = APIRouter(prefix="/api/v1", tags=["catalog"])
TokenId = Annotated[int, Path(ge=1, le=2**62, description="The token's id (GET /api/v1/tokens lists them)")]


def project_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "slug": row.slug, "name": row.name, "client_id": row.client_id, "work_type": row.work_type,
        "label_schema": row.label_schema, "instructions": row.instructions, "workflow": row.workflow,
        "sla_minutes": row.sla_minutes, "unit_price": str(Decimal(row.unit_price)), "lease_seconds": row.lease_seconds,
        "status": row.status, "created_at": row.created_at.isoformat(), "billing_mode": row.billing_mode,
        "hourly_rate": None if row.hourly_rate is None else str(Decimal(row.hourly_rate)),
    }


def user_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "username": row.username, "display_name": row.display_name, "role": row.role,
            "client_id": row.client_id, "team_id": row.team_id, "locale": row.locale, "active": row.active}


class ClientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: str
    name: str
    webhook_url: str | None = None


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str
    password: str | None = None
    role: str
    display_name: str | None = None
    client: str | None = Field(default=None, description="slug of the client (client users only)")
    team: str | None = None
    locale: str = "zh_CN"


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    project: str
    skill: str = "annotate"


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str | None = None
    name: str = "api"


@router.get("/me", summary="Who am I")
def me(actor: CurrentActor) -> dict[str, Any]:
    return {"id": actor.id, "username": actor.username, "role": actor.role.value, "client_id": actor.client_id,
            "locale": actor.locale}


@router.get("/clients", summary="List clients")
def list_clients(request: Request, actor: CurrentActor, db: Db, paging: Paging) -> dict[str, Any]:
    if actor.role is Role.WORKER:
        actor.require(Role.ADMIN, Role.MANAGER, Role.LEAD, Role.CLIENT)
    only = actor.client_id if actor.role is Role.CLIENT else None
    with db.read() as conn:
        rows, total = catalog_repo.list_clients(conn, client_id=only, offset=paging.offset, limit=paging.limit)
    data = [{"id": r.id, "slug": r.slug, "name": r.name, "webhook_url": r.webhook_url} for r in rows]
    return paging.envelope(request, data, total)


@router.post("/clients", summary="Add a client", status_code=201)
def add_client(actor: CurrentActor, db: Db, body: ClientIn) -> dict[str, Any]:
    cid = transact(db, lambda c: accounts.create_client(c, actor, slug=body.slug, name=body.name,
                                                          webhook_url=body.webhook_url))
    return {"id": cid, "slug": body.slug}


@router.get("/users", summary="List users")
def list_users(request: Request, actor: CurrentActor, db: Db, paging: Paging) -> dict[str, Any]:
    actor.require(Role.ADMIN, Role.MANAGER, Role.LEAD)
    with db.read() as conn:
        rows, total = catalog_repo.list_users(conn, offset=paging.offset, limit=paging.limit)
    return paging.envelope(request, [user_json(r) for r in rows], total)


@router.post("/users", summary="Add a user", status_code=201)
def add_user(actor: CurrentActor, db: Db, body: UserIn) -> dict[str, Any]:
    uid = transact(db, lambda c: accounts.create_user(
        c, actor, username=body.username, password=body.password, role=body.role, display_name=body.display_name,
        client_slug=body.client, team=body.team, locale=body.locale))
    return {"id": uid, "username": body.username}


@router.post("/users/{username}/qualifications", summary="Qualify a worker for a project", status_code=201)
def grant(username: str, actor: CurrentActor, db: Db, body: GrantIn) -> dict[str, Any]:
    created = transact(db, lambda c: accounts.grant(c, actor, username=username, project_slug=body.project,
                                                      skill=body.skill))
    return {"username": username, "project": body.project, "skill": body.skill, "created": created}


@router.post("/tokens", summary="Create an API token", status_code=201)
def create_token(actor: CurrentActor, db: Db, body: TokenIn) -> dict[str, Any]:
    """Returns the token once; only its hash is kept."""
    username = body.username or actor.username
    token = transact(db, lambda c: accounts.create_token(c, actor, username=username, name=body.name))
    return {"token": token, "username": username, "name": body.name}


def token_json(row: Any) -> dict[str, Any]:
    """An API token as the API shows it: never its hash."""
    return {"id": row.id, "user_id": row.user_id, "name": row.name, "created_at": row.created_at.isoformat(),
            "last_used_at": None if row.last_used_at is None else row.last_used_at.isoformat(),
            "revoked": bool(row.revoked)}


@router.get("/tokens", summary="List API tokens (yours, or as admin/manager anyone's)")
def list_tokens(request: Request, actor: CurrentActor, db: Db, paging: Paging,
                username: Annotated[str | None, Query(description="Whose tokens (default: yours)")] = None,
                ) -> dict[str, Any]:
    """Oldest first, with ``last_used_at`` and ``revoked``; the token itself and its hash are never shown."""
    with db.read() as conn:
        rows, total = accounts.list_tokens(conn, actor, username=username or actor.username,
                                           offset=paging.offset, limit=paging.limit)
    return paging.envelope(request, [token_json(r) for r in rows], total)


@router.delete("/tokens/{token_id}", summary="Revoke an API token")
def revoke_token(token_id: TokenId, request: Request, actor: CurrentActor, db: Db) -> dict[str, Any]:
    """Revoked for good (again: no change). It stops working in this process at once, in the server's
    other processes within ``SEATFLOW_TOKEN_CACHE_SECONDS``."""
    row = transact(db, lambda c: accounts.revoke_token(c, actor, token_id=token_id))
    cache: TokenCache = request.app.state.token_cache
    cache.drop(row.token_hash)
    return token_json(row)


@router.get("/projects", summary="List projects you may see")
def list_projects(request: Request, actor: CurrentActor, db: Db, paging: Paging) -> dict[str, Any]:
    with db.read() as conn:
        rows, total = projects.list_projects(conn, actor, offset=paging.offset, limit=paging.limit)
    return paging.envelope(request, [project_json(r) for r in rows], total)


@router.post("/projects", summary="Create a project", status_code=201)
def create_project(actor: CurrentActor, db: Db, body: dict[str, Any]) -> dict[str, Any]:
    """Body: slug, name, client (slug), work_type, label_schema, instructions, workflow, sla_minutes, unit_price."""
    pid = transact(db, lambda c: projects.create_project(c, actor, body))
    with db.read() as conn:
        row = catalog_repo.project_by_id(conn, pid)
    if row is None:  # pragma: no cover
        raise NotFound("project vanished")
    return project_json(row)


@router.get("/projects/{ref}", summary="One project, by id or slug")
def get_project(ref: str, actor: CurrentActor, db: Db) -> dict[str, Any]:
    with db.read() as conn:
        return project_json(projects.get_project(conn, actor, ref))


@router.patch("/projects/{project}", summary="Change a project (name, instructions, SLA, price, billing, lease, "
                                             "pause or resume)")
def update_project(project: str, request: Request, actor: CurrentActor, db: Db,
                   body: dict[str, Any]) -> dict[str, Any]:
    """Body: the fields to change, e.g. ``{"status": "paused"}`` or ``{"sla_minutes": 60, "unit_price": "0.9"}``.

    Changeable: name, instructions, sla_minutes (null: no SLA), unit_price, billing_mode, hourly_rate,
    lease_seconds (null: the server's default), status (active or paused). slug, client, work_type,
    label_schema and workflow cannot change (422 naming the field). Answers the project as GET does.
    A new price applies from the current month in the center's time zone (earlier months keep theirs).
    """
    tz = center_zone(request.app.state.settings)
    row = transact(db, lambda c: projects.update_project(c, actor, project, body, tz=tz))
    projects.forget_cached()  # again after the commit: nothing read in between keeps the old settings here
    return project_json(row)


@router.get("/status", summary="Backlog, in progress, done and SLA risk per project")
def project_status(request: Request, actor: CurrentActor, db: Db, paging: Paging) -> dict[str, Any]:
    """Paged like every list; the rows are under ``projects``."""
    with db.read() as conn:
        rows, total = status.project_status_page(conn, actor, offset=paging.offset, limit=paging.limit)
    body = paging.envelope(request, [r.as_dict() for r in rows], total)
    return {"projects": body.pop("items"), **body}
