"""Statements of the moderation gate: client items, the media job's queue, decisions, appeals, reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .tables import (
    appeals,
    items,
    leases,
    moderation_decisions,
    projects,
    qualifications,
    submissions,
    tasks,
    users,
)

# --- items ----------------------------------------------------------------------------------


def item_by_external(conn: Connection, project_id: int, external_id: str) -> Any:
    return conn.execute(
        select(items).where(items.c.project_id == project_id, items.c.external_id == external_id)
    ).first()


def items_by_external(conn: Connection, project_ids: list[int], external_id: str) -> list[Any]:
    return list(conn.execute(
        select(items).where(items.c.project_id.in_(project_ids), items.c.external_id == external_id)
    ))


def item_by_id(conn: Connection, item_id: int, *, lock: bool = False) -> Any:
    q = select(items).where(items.c.id == item_id)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    return conn.execute(q).first()


def insert_item(conn: Connection, row: dict[str, Any]) -> int | None:
    """Insert a client's item; None when the project already has its external id (a concurrent twin)."""
    ins = postgresql.insert(items) if conn.dialect.name == "postgresql" else sqlite.insert(items)
    stmt = ins.on_conflict_do_nothing(index_elements=["project_id", "external_id"]).returning(items.c.id)
    new_id = conn.execute(stmt, row).scalar()
    return None if new_id is None else int(new_id)


def update_item(conn: Connection, item_id: int, **values: Any) -> None:
    conn.execute(update(items).where(items.c.id == item_id).values(**values))


def open_tasks(conn: Connection, item_id: int) -> list[Any]:
    return list(conn.execute(
        select(tasks.c.id, tasks.c.kind, tasks.c.stage, tasks.c.state)
        .where(tasks.c.item_id == item_id, tasks.c.state.in_(("ready", "leased")))
        .order_by(tasks.c.id)
    ))


# --- the media job's queue (ix_items_media_queue) ---------------------------------------------


def claim_media(conn: Connection, *, now: datetime, stale_before: datetime, limit: int) -> list[Any]:
    """Take up to ``limit`` items whose media waits (or whose claim went stale: a crashed job)."""
    q = (
        select(items.c.id)
        .where(
            items.c.media_status.in_(("pending", "processing")),
            or_(items.c.media_status == "pending", items.c.media_claimed_at < stale_before),
        )
        .order_by(items.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    ids = list(conn.execute(q).scalars())
    if not ids:
        return []
    conn.execute(update(items).where(items.c.id.in_(ids)).values(media_status="processing", media_claimed_at=now))
    return list(conn.execute(select(items).where(items.c.id.in_(ids)).order_by(items.c.id)))


def finish_media(conn: Connection, *, item_id: int, claimed_at: datetime, **values: Any) -> bool:
    """Write the job's result, only while the claim is still this job's (False: someone took it over)."""
    n = conn.execute(
        update(items)
        .where(items.c.id == item_id, items.c.media_status == "processing", items.c.media_claimed_at == claimed_at)
        .values(**values)
    ).rowcount
    return n == 1


# --- decisions and appeals ----------------------------------------------------------------------


def next_decision_no(conn: Connection, item_id: int) -> int:
    n = conn.execute(
        select(func.max(moderation_decisions.c.decision_no)).where(moderation_decisions.c.item_id == item_id)
    ).scalar()
    return int(n or 0) + 1


def insert_decision(conn: Connection, row: dict[str, Any]) -> int:
    return int(conn.execute(moderation_decisions.insert().returning(moderation_decisions.c.id), row).scalar_one())


def decisions_of(conn: Connection, item_id: int) -> list[Any]:
    return list(conn.execute(
        select(moderation_decisions).where(moderation_decisions.c.item_id == item_id)
        .order_by(moderation_decisions.c.decision_no)
    ))


def insert_appeal(conn: Connection, row: dict[str, Any]) -> int:
    return int(conn.execute(appeals.insert().returning(appeals.c.id), row).scalar_one())


def appeal_by_task(conn: Connection, task_id: int) -> Any:
    return conn.execute(select(appeals).where(appeals.c.task_id == task_id)).first()


def appeal_for_decision(conn: Connection, decision_id: int) -> Any:
    return conn.execute(select(appeals).where(appeals.c.decision_id == decision_id)).first()


def appeals_of(conn: Connection, item_id: int) -> list[Any]:
    return list(conn.execute(select(appeals).where(appeals.c.item_id == item_id).order_by(appeals.c.id)))


def set_appeal(conn: Connection, appeal_id: int, **values: Any) -> None:
    conn.execute(update(appeals).where(appeals.c.id == appeal_id).values(**values))


def accepted_submission(conn: Connection, item_id: int) -> Any:
    """The item's accepted answer of the lowest slot (the one an appeal reviews)."""
    return conn.execute(
        select(submissions.c.id, submissions.c.user_id)
        .where(submissions.c.item_id == item_id, submissions.c.state == "accepted")
        .order_by(submissions.c.slot, submissions.c.id.desc())
        .limit(1)
    ).first()


# --- reports ------------------------------------------------------------------------------------


def moderation_projects(conn: Connection, *, client_id: int | None = None) -> list[Any]:
    q = select(projects).where(projects.c.work_type == "moderation")
    if client_id is not None:
        q = q.where(projects.c.client_id == client_id)
    return list(conn.execute(q.order_by(projects.c.id)))


def queued(conn: Connection, *, project_id: int, kind: str, limit: int) -> list[Any]:
    """Ready tasks in dispatch order (served by ix_tasks_queue), with their item's external id."""
    return list(conn.execute(
        select(tasks.c.id, tasks.c.item_id, tasks.c.priority, tasks.c.deadline, items.c.external_id)
        .join(items, items.c.id == tasks.c.item_id)
        .where(tasks.c.project_id == project_id, tasks.c.kind == kind, tasks.c.state == "ready",
               tasks.c.assignee_id.is_(None))
        .order_by(tasks.c.priority.desc(), tasks.c.deadline, tasks.c.id)
        .limit(limit)
    ))


def count_ready(conn: Connection, *, project_id: int, kind: str) -> int:
    return int(conn.execute(
        select(func.count()).select_from(tasks)
        .where(tasks.c.project_id == project_id, tasks.c.kind == kind, tasks.c.state == "ready")
    ).scalar_one())


def leases_in_progress(conn: Connection, *, project_id: int, kind: str) -> list[Any]:
    """(user_id, began) of the project's live leases of ``kind``."""
    return list(conn.execute(
        select(leases.c.user_id, leases.c.created_at)
        .join(tasks, tasks.c.lease_id == leases.c.id)
        .where(tasks.c.project_id == project_id, tasks.c.kind == kind, tasks.c.state == "leased")
    ))


def recent_seats(conn: Connection, *, project_id: int, kind: str, since: datetime) -> int:
    """People who took a task of ``kind`` in the project since ``since`` (the seats working it)."""
    return int(conn.execute(
        select(func.count(func.distinct(leases.c.user_id)))
        .select_from(leases)
        .join(tasks, tasks.c.id == leases.c.task_id)
        .where(leases.c.project_id == project_id, tasks.c.kind == kind, leases.c.created_at >= since)
    ).scalar_one())


def handling_seconds(conn: Connection, *, project_id: int, kind: str, since: datetime, limit: int = 500) -> list[float]:
    """Seconds from lease to answer of the project's latest answered tasks of ``kind``."""
    rows = conn.execute(
        select(leases.c.created_at, leases.c.ended_at)
        .join(tasks, tasks.c.id == leases.c.task_id)
        .where(leases.c.project_id == project_id, tasks.c.kind == kind, leases.c.end_reason == "submitted",
               leases.c.ended_at >= since)
        .order_by(leases.c.ended_at.desc())
        .limit(limit)
    )
    return [max(0.0, (r.ended_at - r.created_at).total_seconds()) for r in rows]


def decided_between(conn: Connection, *, project_ids: list[int], since: datetime, until: datetime) -> list[Any]:
    """First decisions (not audits or appeals) made in [since, until), by ix_moderation_decisions_project_decided."""
    d = moderation_decisions
    return list(conn.execute(
        select(d.c.project_id, d.c.received_at, d.c.decided_at, d.c.deadline)
        .where(d.c.project_id.in_(project_ids), d.c.decided_at >= since, d.c.decided_at < until,
               d.c.decision_no == 1)
    ))


def active_workers(conn: Connection) -> list[Any]:
    """People who can be given a seat on a project: active workers and team leads."""
    return list(conn.execute(
        select(users.c.id, users.c.username, users.c.display_name)
        .where(users.c.role.in_(("worker", "lead")), users.c.active.is_(True))
        .order_by(users.c.username)
    ))


def skills_on(conn: Connection, project_id: int) -> dict[int, set[str]]:
    """user id -> the skills they hold on the project."""
    out: dict[int, set[str]] = {}
    for r in conn.execute(select(qualifications.c.user_id, qualifications.c.skill)
                          .where(qualifications.c.project_id == project_id)):
        out.setdefault(int(r.user_id), set()).add(r.skill)
    return out
