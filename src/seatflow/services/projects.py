"""Projects: create from a spec (YAML/JSON), change what may change, read with tenant checks, list."""

from __future__ import annotations

from datetime import UTC, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, update
from sqlalchemy.dialects import postgresql, sqlite

from seatflow.domain.actors import Actor, Role
from seatflow.domain.clock import local_today, utcnow
from seatflow.domain.workflow import parse_workflow
from seatflow.errors import Conflict, NotFound, ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.store import catalog
from seatflow.store.events import append, event_row
from seatflow.store.tables import project_prices, projects
from seatflow.worktypes import get_work_type

from . import dispatch, quality
from .accounts import check_slug

_FIELDS = {"slug", "name", "client", "work_type", "label_schema", "instructions", "workflow", "sla_minutes",
           "unit_price", "lease_seconds", "billing_mode", "hourly_rate"}
BILLING_MODES = ("unit", "hours")
_MAX_RATE = Decimal("99999999.9999")  # projects.hourly_rate is Numeric(12, 4)
LEASE_SECONDS_RANGE = (10, 86400)  # a project's own lease length, at creation and on update
STATUSES = ("active", "paused")  # dispatch (store/queue.py qualified_queues) serves 'active' only

# What update_project may change, and why the rest may not.
CHANGEABLE = ("name", "instructions", "sla_minutes", "unit_price", "billing_mode", "hourly_rate", "lease_seconds",
              "status")
_ANSWERS_DEPEND = Msg("answers already given were validated against it and reviewed in its stages; "
                      "create a new project instead")
FIXED = {
    "slug": Msg("it names the project in URLs, imports, exports and workers' qualifications; create a new project "
                "instead"),
    "client": Msg("a project belongs to its client for good (items, statements, exports); create a new project "
                  "for the other client"),
    "client_id": Msg("a project belongs to its client for good (items, statements, exports); create a new project "
                     "for the other client"),
    "work_type": _ANSWERS_DEPEND,
    "label_schema": _ANSWERS_DEPEND,
    "workflow": _ANSWERS_DEPEND,
}
_MAX_INT = 2**31 - 1  # Integer columns
PRICE_TERMS = ("unit_price", "billing_mode", "hourly_rate")  # what project_prices keeps per month
FIRST_MONTH = "2000-01"  # a new project's terms apply from before any billable month


def create_project(conn: Connection, actor: Actor | None, spec: dict[str, Any]) -> int:
    """Create a project from a spec mapping; every field is checked and named when wrong."""
    if actor is not None:
        actor.require_manager()
    if not isinstance(spec, dict):
        raise ValidationFailed(Msg("a project spec must be a mapping of fields"), field="project")
    unknown = sorted(set(spec) - _FIELDS)
    if unknown:
        raise ValidationFailed(
            Msg("unknown field(s) {unknown}; allowed: {allowed}", unknown=", ".join(unknown),
                allowed=", ".join(sorted(_FIELDS))), field=unknown[0]
        )
    for required in ("slug", "name", "client", "work_type"):
        if not spec.get(required):
            raise ValidationFailed(Msg("{field} is required", field=required), field=required)
    slug = check_slug(str(spec["slug"]), "slug")
    client = catalog.client_by_slug(conn, str(spec["client"]))
    if client is None:
        raise NotFound(Msg("client {slug!r} does not exist; add it with `seatflow client add`", slug=spec["client"]),
                       field="client")
    work_type = get_work_type(str(spec["work_type"]))
    schema_in = spec.get("label_schema")
    if schema_in is None:
        schema_in = work_type.demo_schema()
    schema = work_type.parse_schema(schema_in)
    wf = parse_workflow(spec.get("workflow", "annotate(overlap=1)"))
    sla = _check_sla(spec.get("sla_minutes"))
    lease = spec.get("lease_seconds")
    low, high = LEASE_SECONDS_RANGE
    if lease is not None and (not isinstance(lease, int) or not low <= lease <= high):
        raise ValidationFailed(Msg("lease_seconds must be a whole number from 10 to 86400"), field="lease_seconds")
    price = _check_price(spec.get("unit_price", 0))
    mode, rate = check_billing(spec.get("billing_mode"), spec.get("hourly_rate"))
    if catalog.project_by_slug(conn, slug):
        raise Conflict(Msg("a project with slug {slug!r} exists already", slug=slug), field="slug")
    now = utcnow()
    project_id = catalog.insert(
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
            "created_at": now,
        },
    )
    _set_terms(conn, client_id=client.id, project_id=project_id, month=FIRST_MONTH,
               terms={"unit_price": price, "billing_mode": mode, "hourly_rate": rate}, now=now,
               by=None if actor is None else actor.id)
    return project_id


def check_billing(mode_in: Any, rate_in: Any) -> tuple[str, Decimal | None]:
    """(billing_mode, hourly_rate) from a spec: 'unit' (the default) or 'hours', which needs a rate > 0.

    A rate on a unit-billed project is refused rather than ignored, so a spec never says one thing
    and bills another.
    """
    mode = "unit" if mode_in is None else mode_in
    if not isinstance(mode, str) or mode not in BILLING_MODES:
        raise ValidationFailed(Msg("billing_mode must be one of {modes}; got {got!r}", modes=", ".join(BILLING_MODES),
                                   got=mode_in),
                               field="billing_mode")
    if rate_in is None or rate_in == "":
        if mode == "hours":
            raise ValidationFailed(Msg("hourly_rate is required when billing_mode is hours (a number > 0)"),
                                   field="hourly_rate")
        return mode, None
    if mode != "hours":
        raise ValidationFailed(Msg("hourly_rate is only for projects with billing_mode hours"), field="hourly_rate")
    rate = _decimal(rate_in, "hourly_rate")
    if rate <= 0:
        raise ValidationFailed(Msg("hourly_rate must be greater than 0"), field="hourly_rate")
    _fits_column(rate, "hourly_rate")
    return mode, rate


def update_project(conn: Connection, actor: Actor | None, ref: int | str, changes: Any, *,
                   tz: tzinfo = UTC) -> Any:
    """Change a project's name, instructions, SLA, price, billing, lease length or status; the new row.

    Admins and managers only (``actor`` None is the trusted CLI); a project the actor may not see is
    NotFound, one they may see but not change is Forbidden. Everything is checked before anything is
    written; a field that cannot change (slug, client, work type, label schema, workflow) is refused
    by name. One ``project``/``update`` event records the changed fields with their old and new
    values (a status change also as from_state/to_state); no change writes nothing.

    A change of unit_price, billing_mode or hourly_rate also writes the project's terms for the
    current billing month in ``tz`` (the center's zone) to ``project_prices``, replacing that month's
    row if it was changed already this month: a month is billed at the last terms set for it, and
    earlier months keep theirs.
    """
    row = _project(conn, ref) if actor is None else get_project(conn, actor, ref)
    if actor is not None:
        actor.require_manager()
    if not isinstance(changes, dict):
        raise ValidationFailed(Msg("the changes must be a JSON object of fields and their new values"),
                               field="project")
    for key in changes:
        if key in FIXED:
            raise ValidationFailed(Msg("{field} cannot be changed: {why}", field=key, why=FIXED[key]), field=str(key))
    unknown = sorted(str(k) for k in changes if k not in CHANGEABLE)
    if unknown:
        raise ValidationFailed(
            Msg("unknown field(s) {unknown}; changeable: {changeable}", unknown=", ".join(unknown),
                changeable=", ".join(CHANGEABLE)), field=unknown[0]
        )
    new: dict[str, Any] = {}
    if "name" in changes:
        name = changes["name"]
        if not isinstance(name, str) or not name.strip():
            raise ValidationFailed(Msg("name must be a non-empty text"), field="name")
        if len(name.strip()) > 200:
            raise ValidationFailed(Msg("name must be at most 200 characters"), field="name")
        new["name"] = name.strip()
    if "instructions" in changes:
        text = changes["instructions"]
        if text is None:
            text = ""
        if not isinstance(text, str):
            raise ValidationFailed(Msg("instructions must be text"), field="instructions")
        new["instructions"] = text
    if "sla_minutes" in changes:
        new["sla_minutes"] = _check_sla(changes["sla_minutes"])
    if "unit_price" in changes:
        new["unit_price"] = _check_price(changes["unit_price"])
    if "lease_seconds" in changes:
        lease = changes["lease_seconds"]
        low, high = LEASE_SECONDS_RANGE
        if lease is not None and (isinstance(lease, bool) or not isinstance(lease, int) or not low <= lease <= high):
            raise ValidationFailed(
                Msg("lease_seconds must be a whole number from {low} to {high}, or null for the server's default",
                    low=low, high=high),
                field="lease_seconds")
        new["lease_seconds"] = lease
    if "billing_mode" in changes or "hourly_rate" in changes:
        mode_in = changes["billing_mode"] if "billing_mode" in changes else row.billing_mode
        if "hourly_rate" in changes:
            rate_in = changes["hourly_rate"]
        else:  # keep the rate while the project bills hours; switching to unit drops it
            rate_in = row.hourly_rate if mode_in == "hours" else None
        new["billing_mode"], new["hourly_rate"] = check_billing(mode_in, rate_in)
    if "status" in changes:
        status = changes["status"]
        if not isinstance(status, str) or status not in STATUSES:
            raise ValidationFailed(Msg("status must be one of {statuses}; got {got!r}", statuses=", ".join(STATUSES),
                                       got=status), field="status")
        new["status"] = status
    changed = {k: v for k, v in new.items() if not _same(getattr(row, k), v)}
    if not changed:
        return row
    now = utcnow()
    conn.execute(update(projects).where(projects.c.id == row.id).values(**changed))
    if any(k in changed for k in PRICE_TERMS):
        today = local_today(now, tz)
        _set_terms(conn, client_id=row.client_id, project_id=row.id, month=f"{today.year:04d}-{today.month:02d}",
                   terms={k: changed.get(k, getattr(row, k)) for k in PRICE_TERMS}, now=now,
                   by=None if actor is None else actor.id)
    status_change = "status" in changed
    append(conn, [event_row(
        entity="project", kind="update", at=now, actor_id=None if actor is None else actor.id,
        client_id=row.client_id, project_id=row.id,
        from_state=row.status if status_change else None, to_state=changed["status"] if status_change else None,
        data={"slug": row.slug,
              "changes": {k: {"old": _plain(getattr(row, k)), "new": _plain(v)} for k, v in changed.items()}},
    )])
    forget_cached()
    return catalog.project_by_id(conn, row.id)


def _set_terms(conn: Connection, *, client_id: int, project_id: int, month: str, terms: dict[str, Any],
               now: Any, by: int | None) -> None:
    """Write the project's price terms from ``month`` ('YYYY-MM'), replacing that month's row if any."""
    values = {"client_id": client_id, "project_id": project_id, "effective_month": month, **terms,
              "created_at": now, "created_by": by}
    ins = (postgresql.insert(project_prices) if conn.dialect.name == "postgresql"
           else sqlite.insert(project_prices))
    conn.execute(ins.values(values).on_conflict_do_update(
        index_elements=["project_id", "effective_month"],
        set_={**terms, "created_at": now, "created_by": by},
    ))


def forget_cached() -> None:
    """Drop this process's caches of project settings (a worker's queues, quality settings), so a
    changed project (paused, a new lease length or SLA) takes effect here at once. Other processes
    follow within their cache times (dispatch.QUALIFICATION_CACHE_SECONDS, quality.CACHE_SECONDS)."""
    dispatch.queue_cache.clear()
    quality.project_cache.clear()


def _check_sla(sla: Any) -> int | None:
    """Minutes from an item's arrival to its deadline: a positive whole number, or None (no SLA)."""
    if sla is not None and (isinstance(sla, bool) or not isinstance(sla, int) or not 0 < sla <= _MAX_INT):
        raise ValidationFailed(Msg("sla_minutes must be a positive whole number, or null for no SLA"),
                               field="sla_minutes")
    return sla


def _check_price(value: Any) -> Decimal:
    price = _decimal(value, "unit_price")
    if price < 0:
        raise ValidationFailed(Msg("unit_price must not be negative"), field="unit_price")
    _fits_column(price, "unit_price")
    return price


def _decimal(value: Any, field: str) -> Decimal:
    """A finite number given as a number or text (not a boolean), as a Decimal; else a ValidationFailed."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValidationFailed(Msg("{field} must be a number", field=field), field=field)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationFailed(Msg("{field} must be a number; got {got!r}", field=field, got=value),
                               field=field) from None
    if not number.is_finite():
        raise ValidationFailed(Msg("{field} must be a number; got {got!r}", field=field, got=value), field=field)
    return number


def _fits_column(number: Decimal, field: str) -> None:
    """Prices are Numeric(12, 4): a larger or finer number is a 422 here, not a database error."""
    if number > _MAX_RATE or number != number.quantize(Decimal("0.0001")):
        raise ValidationFailed(Msg("{field} must be at most 99999999.9999 with at most 4 decimals", field=field),
                               field=field)


def _same(old: Any, new: Any) -> bool:
    if old is None or new is None:
        return old is None and new is None
    if isinstance(new, Decimal):
        return Decimal(old) == new
    return bool(old == new)


def _plain(value: Any) -> Any:
    """A value for the event's JSON: money as a string with 4 decimals."""
    if isinstance(value, (Decimal, float)) and not isinstance(value, bool):
        return str(Decimal(str(value)).quantize(Decimal("0.0001")))
    return value


def _project(conn: Connection, ref: int | str) -> Any:
    row = catalog.project_by_id(conn, int(ref)) if isinstance(ref, int) or str(ref).isdigit() else \
        catalog.project_by_slug(conn, str(ref))
    if row is None:
        raise NotFound(Msg("project {ref} not found", ref=ref))
    return row


def get_project(conn: Connection, actor: Actor, ref: int | str) -> Any:
    """A project by id or slug, if the actor may see it (404 otherwise, so nothing leaks)."""
    row = _project(conn, ref)
    actor.check_client(row.client_id)
    if actor.role is Role.WORKER:
        skills = {s.project_id for s in catalog.skills_of(conn, actor.id)}
        if row.id not in skills:
            raise NotFound(Msg("project {ref} not found", ref=ref))
    return row


def list_projects(conn: Connection, actor: Actor, *, offset: int, limit: int) -> tuple[list[Any], int]:
    if actor.role is Role.CLIENT:
        return catalog.list_projects(conn, offset=offset, limit=limit, client_id=actor.client_id)
    if actor.role is Role.WORKER:
        return catalog.list_projects(conn, offset=offset, limit=limit, user_id=actor.id)
    return catalog.list_projects(conn, offset=offset, limit=limit)
