"""Read-only aggregate queries for status views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, select

from .tables import clients, items, projects, reviews, submissions, tasks


def count_projects(conn: Connection, *, client_id: int | None) -> int:
    q = select(func.count()).select_from(projects)
    if client_id is not None:
        q = q.where(projects.c.client_id == client_id)
    return int(conn.execute(q).scalar_one())


def project_status(conn: Connection, *, client_id: int | None, now: datetime, risk_until: datetime,
                   offset: int = 0, limit: int | None = None) -> list[Any]:
    """Per project: items total/done, tasks ready/leased, active items past or near their deadline.

    ``offset``/``limit`` page the projects (in id order)."""
    item_counts = (
        select(
            items.c.project_id,
            func.count().label("n_items"),
            func.sum(case((items.c.state == "done", 1), else_=0)).label("done"),
            func.sum(case((and_(items.c.state == "active", items.c.deadline < now), 1), else_=0)).label("overdue"),
            func.sum(
                case(
                    (and_(items.c.state == "active", items.c.deadline >= now, items.c.deadline < risk_until), 1),
                    else_=0,
                )
            ).label("at_risk"),
        )
        .where(items.c.gold.is_(False))  # gold (check) items are not the client's work
        .group_by(items.c.project_id)
        .subquery()
    )
    task_counts = (
        select(
            tasks.c.project_id,
            func.sum(case((tasks.c.state == "ready", 1), else_=0)).label("ready"),
            func.sum(case((tasks.c.state == "leased", 1), else_=0)).label("leased"),
        )
        .where(tasks.c.state.in_(("ready", "leased")))
        .group_by(tasks.c.project_id)
        .subquery()
    )
    q = (
        select(
            projects.c.id,
            projects.c.slug,
            projects.c.name,
            projects.c.work_type,
            projects.c.sla_minutes,
            clients.c.slug.label("client"),
            func.coalesce(item_counts.c.n_items, 0).label("n_items"),
            func.coalesce(item_counts.c.done, 0).label("done"),
            func.coalesce(item_counts.c.overdue, 0).label("overdue"),
            func.coalesce(item_counts.c.at_risk, 0).label("at_risk"),
            func.coalesce(task_counts.c.ready, 0).label("backlog"),
            func.coalesce(task_counts.c.leased, 0).label("in_progress"),
        )
        .join(clients, clients.c.id == projects.c.client_id)
        .outerjoin(item_counts, item_counts.c.project_id == projects.c.id)
        .outerjoin(task_counts, task_counts.c.project_id == projects.c.id)
        .order_by(projects.c.id)
    )
    if client_id is not None:
        q = q.where(projects.c.client_id == client_id)
    if offset:
        q = q.offset(offset)
    if limit is not None:
        q = q.limit(limit)
    return list(conn.execute(q))


def work_done_since(conn: Connection, *, user_id: int, since: datetime) -> tuple[int, int]:
    """(answers submitted, reviews given) by one user since ``since``.

    Served by the (user_id, idempotency_key) / (reviewer_id, idempotency_key) unique indexes:
    the scan is bounded by the user's own rows, never by the size of the project.
    """
    n_sub = conn.execute(
        select(func.count()).select_from(submissions)
        .where(submissions.c.user_id == user_id, submissions.c.created_at >= since)
    ).scalar_one()
    n_rev = conn.execute(
        select(func.count()).select_from(reviews)
        .where(reviews.c.reviewer_id == user_id, reviews.c.created_at >= since)
    ).scalar_one()
    return int(n_sub), int(n_rev)
