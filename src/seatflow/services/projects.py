"""Projects: create from a spec (YAML/JSON), read with tenant checks, list."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection

from seatflow.domain.actors import Actor, Role
from seatflow.domain.clock import utcnow
from seatflow.domain.workflow import parse_workflow
from seatflow.errors import Conflict, NotFound, ValidationFailed
from seatflow.store import catalog
from seatflow.store.tables import projects
from seatflow.worktypes import get_work_type

from .accounts import check_slug

_FIELDS = {"slug", "name", "client", "work_type", "label_schema", "instructions", "workflow", "sla_minutes",
           "unit_price", "lease_seconds"}


def create_project(conn: Connection, actor: Actor | None, spec: dict[str, Any]) -> int:
    """Create a project from a spec mapping; every field is checked and named when wrong."""
    if actor is not None:
        actor.require_manager()
    if not isinstance(spec, dict):
        raise ValidationFailed("a project spec must be a mapping of fields", field="project")
    unknown = sorted(set(spec) - _FIELDS)
    if unknown:
        raise ValidationFailed(
            f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_FIELDS))}", field=unknown[0]
        )
    for required in ("slug", "name", "client", "work_type"):
        if not spec.get(required):
            raise ValidationFailed(f"{required} is required", field=required)
    slug = check_slug(str(spec["slug"]), "slug")
    client = catalog.client_by_slug(conn, str(spec["client"]))
    if client is None:
        raise NotFound(f"client {spec['client']!r} does not exist; add it with `seatflow client add`", field="client")
    work_type = get_work_type(str(spec["work_type"]))
    schema_in = spec.get("label_schema")
    if schema_in is None:
        schema_in = work_type.demo_schema()
    schema = work_type.parse_schema(schema_in)
    wf = parse_workflow(spec.get("workflow", "annotate(overlap=1)"))
    sla = spec.get("sla_minutes")
    if sla is not None and (not isinstance(sla, int) or sla <= 0):
        raise ValidationFailed("sla_minutes must be a positive whole number", field="sla_minutes")
    lease = spec.get("lease_seconds")
    if lease is not None and (not isinstance(lease, int) or not 10 <= lease <= 86400):
        raise ValidationFailed("lease_seconds must be a whole number from 10 to 86400", field="lease_seconds")
    try:
        price = Decimal(str(spec.get("unit_price", "0")))
    except InvalidOperation:
        raise ValidationFailed("unit_price must be a number", field="unit_price") from None
    if price < 0:
        raise ValidationFailed("unit_price must not be negative", field="unit_price")
    if catalog.project_by_slug(conn, slug):
        raise Conflict(f"a project with slug {slug!r} exists already", field="slug")
    return catalog.insert(
        conn,
        projects,
        {
            "client_id": client.id,
            "slug": slug,
            "name": str(spec["name"]),
            "work_type": work_type.name,
            "label_schema": schema.model_dump(mode="json"),
            "instructions": str(spec.get("instructions") or ""),
            "workflow": wf.to_json(),
            "sla_minutes": sla,
            "unit_price": price,
            "lease_seconds": lease,
            "created_at": utcnow(),
        },
    )


def get_project(conn: Connection, actor: Actor, ref: int | str) -> Any:
    """A project by id or slug, if the actor may see it (404 otherwise, so nothing leaks)."""
    row = catalog.project_by_id(conn, int(ref)) if isinstance(ref, int) or str(ref).isdigit() else \
        catalog.project_by_slug(conn, str(ref))
    if row is None:
        raise NotFound(f"project {ref} not found")
    actor.check_client(row.client_id)
    if actor.role is Role.WORKER:
        skills = {s.project_id for s in catalog.skills_of(conn, actor.id)}
        if row.id not in skills:
            raise NotFound(f"project {ref} not found")
    return row


def list_projects(conn: Connection, actor: Actor, *, offset: int, limit: int) -> tuple[list[Any], int]:
    if actor.role is Role.CLIENT:
        return catalog.list_projects(conn, offset=offset, limit=limit, client_id=actor.client_id)
    if actor.role is Role.WORKER:
        return catalog.list_projects(conn, offset=offset, limit=limit, user_id=actor.id)
    return catalog.list_projects(conn, offset=offset, limit=limit)
