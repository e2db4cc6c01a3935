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
           "unit_price", "lease_seconds", "billing_mode", "hourly_rate"}
BILLING_MODES = ("unit", "hours")
_MAX_RATE = Decimal("99999999.9999")  # projects.hourly_rate is Numeric(12, 4)


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
    mode, rate = check_billing(spec.get("billing_mode"), spec.get("hourly_rate"))
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
            "billing_mode": mode,
            "hourly_rate": rate,
            "created_at": utcnow(),
        },
    )


def check_billing(mode_in: Any, rate_in: Any) -> tuple[str, Decimal | None]:
    """(billing_mode, hourly_rate) from a spec: 'unit' (the default) or 'hours', which needs a rate > 0.

    A rate on a unit-billed project is refused rather than ignored, so a spec never says one thing
    and bills another.
    """
    mode = "unit" if mode_in is None else mode_in
    if not isinstance(mode, str) or mode not in BILLING_MODES:
        raise ValidationFailed(f"billing_mode must be one of {', '.join(BILLING_MODES)}; got {mode_in!r}",
                               field="billing_mode")
    if rate_in is None or rate_in == "":
        if mode == "hours":
            raise ValidationFailed("hourly_rate is required when billing_mode is hours (a number > 0)",
                                   field="hourly_rate")
        return mode, None
    if mode != "hours":
        raise ValidationFailed("hourly_rate is only for projects with billing_mode hours", field="hourly_rate")
    if isinstance(rate_in, bool) or not isinstance(rate_in, (int, float, str, Decimal)):
        raise ValidationFailed("hourly_rate must be a number", field="hourly_rate")
    try:
        rate = Decimal(str(rate_in).strip())
    except InvalidOperation:
        raise ValidationFailed(f"hourly_rate must be a number; got {rate_in!r}", field="hourly_rate") from None
    if not rate.is_finite():
        raise ValidationFailed(f"hourly_rate must be a number; got {rate_in!r}", field="hourly_rate")
    if rate <= 0:
        raise ValidationFailed("hourly_rate must be greater than 0", field="hourly_rate")
    if rate > _MAX_RATE or rate != rate.quantize(Decimal("0.0001")):
        raise ValidationFailed("hourly_rate must be at most 99999999.9999 with at most 4 decimals",
                               field="hourly_rate")
    return mode, rate


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
