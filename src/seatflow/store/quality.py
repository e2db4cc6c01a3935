"""Statements of quality control: gold leases, gold results, worker standing, lead notices, aggregates.

A gold item has no tasks of its own. When dispatch decides to show a worker a gold item, it creates
one task for that worker and leases it in the same transaction (:func:`lease_gold`): the task is
reserved for the worker (``assignee_id``), so it never enters the shared queue, and the
``item_workers`` row it adds keeps a worker from being given the same gold item twice.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, exists, func, insert, select, union, update
from sqlalchemy.dialects import postgresql, sqlite

from .queue import LeasedTask
from .tables import (
    events,
    gold_results,
    item_workers,
    items,
    leases,
    projects,
    quality_notices,
    reviews,
    submissions,
    tasks,
    users,
    worker_standing,
)


def project_quality(conn: Connection, project_id: int) -> tuple[Any, int, int | None]:
    """(the project's quality settings, its number of gold items, its SLA minutes)."""
    row = conn.execute(
        select(projects.c.quality, projects.c.sla_minutes).where(projects.c.id == project_id)
    ).first()
    if row is None:
        return None, 0, None
    n = conn.execute(
        select(func.count()).select_from(items).where(items.c.project_id == project_id, items.c.gold)
    ).scalar_one()
    return row.quality, int(n), row.sla_minutes


def set_project_quality(conn: Connection, project_id: int, quality: dict[str, Any] | None) -> None:
    conn.execute(update(projects).where(projects.c.id == project_id).values(quality=quality))


def standings(conn: Connection, user_id: int, project_ids: list[int]) -> dict[int, Any]:
    """project id -> the worker's standing row, for the projects where they have one."""
    if not project_ids:
        return {}
    rows = conn.execute(
        select(worker_standing).where(worker_standing.c.user_id == user_id,
                                      worker_standing.c.project_id.in_(project_ids))
    )
    return {r.project_id: r for r in rows}


def is_blocked(conn: Connection, user_id: int, project_id: int) -> bool:
    """Is the worker suspended from (or failed the test of) the project?"""
    return conn.execute(
        select(worker_standing.c.state).where(worker_standing.c.user_id == user_id,
                                              worker_standing.c.project_id == project_id,
                                              worker_standing.c.state.in_(("suspended", "failed")))
    ).first() is not None


def standing(conn: Connection, user_id: int, project_id: int) -> Any:
    return conn.execute(
        select(worker_standing).where(worker_standing.c.user_id == user_id,
                                      worker_standing.c.project_id == project_id)
    ).first()


def set_standing(conn: Connection, *, user_id: int, project_id: int, client_id: int, state: str,
                 reason: dict[str, Any] | None, now: datetime, by: int | None) -> None:
    values = {"user_id": user_id, "project_id": project_id, "client_id": client_id, "state": state,
              "reason": reason, "changed_at": now, "changed_by": by}
    ins = postgresql.insert(worker_standing) if conn.dialect.name == "postgresql" else sqlite.insert(worker_standing)
    conn.execute(ins.on_conflict_do_update(
        index_elements=["user_id", "project_id"],
        set_={"state": state, "reason": reason, "changed_at": now, "changed_by": by},
    ), values)


GOLD_CHOICES = 10_000  # gold items a pick chooses among (the lowest ids, should a project have more)


def pick_gold(conn: Connection, *, user_id: int, project_id: int) -> Any:
    """A gold item of the project the worker never answered nor holds, chosen at random; None if none is left.

    The candidates' ids are read and one is drawn with Python's ``random`` (not SQL ``random()``), so
    a run seeded with ``random.seed`` picks the same items on every database (bench/quality.py relies
    on that to compare runs)."""
    ids = conn.execute(
        select(items.c.id)
        .where(
            items.c.project_id == project_id,
            items.c.gold,
            ~exists().where(item_workers.c.item_id == items.c.id, item_workers.c.user_id == user_id),
            ~exists().where(gold_results.c.item_id == items.c.id, gold_results.c.user_id == user_id),
            # a gold task of theirs that ran out waits for them (reserved): not a second one
            ~exists().where(tasks.c.item_id == items.c.id, tasks.c.assignee_id == user_id),
        )
        .order_by(items.c.id)
        .limit(GOLD_CHOICES)
    ).scalars().all()
    if not ids:
        return None
    chosen = random.choice(ids)
    return conn.execute(
        select(items.c.id, items.c.client_id, items.c.project_id, items.c.external_id, items.c.payload,
               items.c.priority, items.c.deadline).where(items.c.id == chosen)
    ).first()


def lease_gold(conn: Connection, *, user_id: int, item: Any, now: datetime, expires: datetime,
               deadline: datetime) -> LeasedTask:
    """Create the worker's task on a gold item and lease it to them (one transaction with the caller).

    Raises IntegrityError when a concurrent lease of the same worker took the same item (the
    ``item_workers`` primary key): the caller runs again.
    """
    conn.execute(insert(item_workers), {"item_id": item.id, "user_id": user_id, "client_id": item.client_id})
    task_id = conn.execute(tasks.insert().returning(tasks.c.id), {
        "client_id": item.client_id, "project_id": item.project_id, "item_id": item.id, "stage": 0,
        "kind": "annotate", "slot": 0, "assignee_id": user_id, "state": "leased", "priority": item.priority,
        "deadline": deadline, "leased_by": user_id, "lease_expires_at": expires, "created_at": now,
    }).scalar_one()
    lease_id = conn.execute(leases.insert().returning(leases.c.id), {
        "client_id": item.client_id, "project_id": item.project_id, "task_id": task_id, "user_id": user_id,
        "created_at": now, "expires_at": expires,
    }).scalar_one()
    conn.execute(update(tasks).where(tasks.c.id == task_id).values(lease_id=lease_id))
    conn.execute(events.insert(), {
        "client_id": item.client_id, "project_id": item.project_id, "item_id": item.id, "task_id": task_id,
        "actor_id": user_id, "entity": "task", "kind": "lease", "from_state": "ready", "to_state": "leased",
        "at": now,
    })
    return LeasedTask(
        lease_id=int(lease_id), task_id=int(task_id), item_id=item.id, client_id=item.client_id,
        project_id=item.project_id, kind="annotate", stage=0, slot=0, target_submission_id=None,
        expires_at=expires,
        item={"external_id": item.external_id, "payload": item.payload, "priority": item.priority,
              "deadline": deadline},
    )


def insert_gold_result(conn: Connection, row: dict[str, Any]) -> bool:
    """Record a scored gold answer; False when this worker already has a result for the item."""
    ins = postgresql.insert(gold_results) if conn.dialect.name == "postgresql" else sqlite.insert(gold_results)
    stmt = ins.on_conflict_do_nothing(index_elements=["user_id", "item_id"]).returning(gold_results.c.id)
    return conn.execute(stmt, row).scalar() is not None


def recent_gold(conn: Connection, *, user_id: int, project_id: int, limit: int, after_id: int = 0) -> list[Any]:
    """The worker's last ``limit`` gold results in the project (ids above ``after_id``), newest first."""
    return list(conn.execute(
        select(gold_results.c.id, gold_results.c.passed, gold_results.c.score, gold_results.c.test,
               gold_results.c.at)
        .where(gold_results.c.user_id == user_id, gold_results.c.project_id == project_id,
               gold_results.c.id > after_id)
        .order_by(gold_results.c.id.desc())
        .limit(limit)
    ))


def test_results(conn: Connection, *, user_id: int, project_id: int) -> tuple[int, int]:
    """(qualification test answers, of which passed) of the worker in the project."""
    row = conn.execute(
        select(func.count(), func.coalesce(func.sum(case((gold_results.c.passed, 1), else_=0)), 0))
        .where(gold_results.c.user_id == user_id, gold_results.c.project_id == project_id, gold_results.c.test)
    ).first()
    assert row is not None
    return int(row[0]), int(row[1])


def recent_verdicts(conn: Connection, *, user_id: int, project_id: int, limit: int) -> list[str]:
    """Verdicts on the worker's answers in the project (last ``limit``, newest first)."""
    return list(conn.execute(
        select(reviews.c.verdict)
        .join(submissions, submissions.c.id == reviews.c.submission_id)
        .where(submissions.c.user_id == user_id, submissions.c.project_id == project_id)
        .order_by(reviews.c.id.desc())
        .limit(limit)
    ).scalars())


def gold_accuracies(conn: Connection, *, project_id: int, user_ids: list[int]) -> dict[int, tuple[int, int]]:
    """user id -> (gold answers, passed) over all their gold results in the project."""
    if not user_ids:
        return {}
    rows = conn.execute(
        select(gold_results.c.user_id, func.count(), func.sum(case((gold_results.c.passed, 1), else_=0)))
        .where(gold_results.c.project_id == project_id, gold_results.c.user_id.in_(user_ids))
        .group_by(gold_results.c.user_id)
    )
    return {r[0]: (int(r[1]), int(r[2] or 0)) for r in rows}


def workers_in_project(conn: Connection, project_id: int) -> list[Any]:
    """Workers with any gold result, answer or standing in the project (id, username, team_id)."""
    ids = union(
        select(gold_results.c.user_id.label("uid")).where(gold_results.c.project_id == project_id),
        select(submissions.c.user_id).where(submissions.c.project_id == project_id),
        select(worker_standing.c.user_id).where(worker_standing.c.project_id == project_id),
    ).subquery()
    return list(conn.execute(
        select(users.c.id, users.c.username, users.c.display_name, users.c.team_id)
        .where(users.c.id.in_(select(ids.c.uid)))
        .order_by(users.c.username)
    ))


def release_worker_tasks(conn: Connection, *, user_id: int, project_id: int) -> None:
    """A suspended worker's reserved tasks in a project: reworks go back to the shared queue, gold is cancelled."""
    gold_item = select(items.c.id).where(items.c.id == tasks.c.item_id, items.c.gold).exists()
    base = and_(tasks.c.assignee_id == user_id, tasks.c.project_id == project_id, tasks.c.state == "ready")
    conn.execute(update(tasks).where(base, gold_item).values(state="cancelled"))
    conn.execute(update(tasks).where(base, ~gold_item).values(assignee_id=None))


def insert_notice(conn: Connection, row: dict[str, Any]) -> int:
    return int(conn.execute(quality_notices.insert().returning(quality_notices.c.id), row).scalar_one())


def list_notices(conn: Connection, *, team_id: int | None, all_teams: bool, open_only: bool,
                 limit: int = 100) -> list[Any]:
    q = (
        select(quality_notices, users.c.username.label("worker"), projects.c.slug.label("project_slug"))
        .join(users, users.c.id == quality_notices.c.worker_id)
        .join(projects, projects.c.id == quality_notices.c.project_id)
        .order_by(quality_notices.c.id.desc())
        .limit(limit)
    )
    if not all_teams:
        q = q.where(quality_notices.c.team_id == team_id if team_id is not None
                    else quality_notices.c.team_id.is_(None))
    if open_only:
        q = q.where(quality_notices.c.acknowledged_at.is_(None))
    return list(conn.execute(q))


def get_notice(conn: Connection, notice_id: int) -> Any:
    return conn.execute(select(quality_notices).where(quality_notices.c.id == notice_id)).first()


def acknowledge_notice(conn: Connection, notice_id: int, *, by: int | None, now: datetime) -> None:
    conn.execute(update(quality_notices).where(quality_notices.c.id == notice_id,
                                               quality_notices.c.acknowledged_at.is_(None))
                 .values(acknowledged_at=now, acknowledged_by=by))


def item_answers(conn: Connection, item_id: int) -> list[Any]:
    """Accepted answers of an item with their authors (for aggregation)."""
    return list(conn.execute(
        select(submissions.c.user_id, submissions.c.answer)
        .where(submissions.c.item_id == item_id, submissions.c.state == "accepted")
        .order_by(submissions.c.id)
    ))


def last_gold_result(conn: Connection, *, user_id: int, project_id: int) -> int:
    return int(conn.execute(
        select(func.coalesce(func.max(gold_results.c.id), 0))
        .where(gold_results.c.user_id == user_id, gold_results.c.project_id == project_id)
    ).scalar_one())


def project_gold_totals(conn: Connection, project_id: int) -> tuple[int, int, int]:
    """(gold answers, passed, workers) in the project."""
    row = conn.execute(
        select(func.count(), func.coalesce(func.sum(case((gold_results.c.passed, 1), else_=0)), 0),
               func.count(func.distinct(gold_results.c.user_id)))
        .where(gold_results.c.project_id == project_id)
    ).first()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def max_slot(conn: Connection, item_id: int) -> int:
    return int(conn.execute(select(func.coalesce(func.max(tasks.c.slot), -1)).where(tasks.c.item_id == item_id))
               .scalar_one())


def set_aggregate(conn: Connection, item_id: int, aggregate: dict[str, Any] | None, confidence: float | None) -> None:
    conn.execute(update(items).where(items.c.id == item_id).values(aggregate=aggregate, confidence=confidence))


def project_accepted_answers(conn: Connection, project_id: int) -> list[Any]:
    """(item_id, user_id, answer with a reviewer's fix applied) of every accepted answer on the project's
    ordinary (not gold) items, in item order."""
    fixed = (
        select(reviews.c.fixed_answer)
        .where(reviews.c.submission_id == submissions.c.id, reviews.c.fixed_answer.is_not(None))
        .order_by(reviews.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return list(conn.execute(
        select(submissions.c.item_id, submissions.c.user_id, func.coalesce(fixed, submissions.c.answer)
               .label("answer"))
        .join(items, items.c.id == submissions.c.item_id)
        .where(submissions.c.project_id == project_id, submissions.c.state == "accepted", items.c.gold.is_(False))
        .order_by(submissions.c.item_id, submissions.c.id)
    ))


def set_aggregates(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Many items' aggregates at once: rows of b_id, b_aggregate, b_confidence."""
    if rows:
        conn.execute(
            update(items).where(items.c.id == bindparam("b_id"))
            .values(aggregate=bindparam("b_aggregate"), confidence=bindparam("b_confidence")),
            rows,
        )


def recent_aggregate_labels(conn: Connection, project_id: int, *, limit: int) -> tuple[dict[str, float], int]:
    """(expected count of each class, items read) among the project's latest ``limit`` aggregated items.

    An item counts by its aggregate's posterior (0.93 of a class and 0.07 spread over the others), not
    as a whole item of its label: counting labels over-counts the class that single answers settle (a
    wrong answer of the common class settles an item as that class, the reverse rarely), and the prior
    would then make the common class ever easier to settle. An aggregate without a posterior counts 1
    for its label."""
    q = (select(items.c.aggregate).where(items.c.project_id == project_id, items.c.confidence.is_not(None))
         .order_by(items.c.id.desc()).limit(limit))
    counts: dict[str, float] = {}
    n = 0
    for (agg,) in conn.execute(q):
        if not isinstance(agg, dict):
            continue
        posterior = agg.get("posterior")
        if isinstance(posterior, dict) and posterior and all(
                isinstance(v, int | float) and not isinstance(v, bool) and 0.0 <= v <= 1.0 for v in posterior.values()):
            total = float(sum(posterior.values()))
            if total > 0:
                n += 1
                for label, p in posterior.items():
                    counts[str(label)] = counts.get(str(label), 0.0) + float(p) / total
                continue
        label = agg.get("label")
        if isinstance(label, str):
            n += 1
            counts[label] = counts.get(label, 0.0) + 1.0
    return counts, n


GOLD_OUTCOMES_LIMIT = 20_000


def gold_outcomes(conn: Connection, *, user_id: int, project_id: int) -> list[tuple[int, bool]]:
    """(result id, passed) of the worker's gold answers in the project, oldest first (a worker answers
    each gold item once, so this is bounded by the project's gold items; the newest 20,000 at most)."""
    rows = conn.execute(
        select(gold_results.c.id, gold_results.c.passed)
        .where(gold_results.c.user_id == user_id, gold_results.c.project_id == project_id)
        .order_by(gold_results.c.id.desc())
        .limit(GOLD_OUTCOMES_LIMIT)
    ).all()
    return [(int(r[0]), bool(r[1])) for r in reversed(rows)]


def aggregates_of(conn: Connection, item_ids: list[int]) -> dict[int, tuple[Any, float | None]]:
    """item id -> (items.aggregate, items.confidence) of the items that have an aggregate."""
    if not item_ids:
        return {}
    rows = conn.execute(
        select(items.c.id, items.c.aggregate, items.c.confidence)
        .where(items.c.id.in_(item_ids), items.c.aggregate.is_not(None))
    )
    return {int(r[0]): (r[1], None if r[2] is None else float(r[2])) for r in rows}


def project_items(conn: Connection, project_id: int, *, state: str | None, gold: bool | None, offset: int,
                  limit: int) -> tuple[list[Any], int]:
    """A page of the project's items (id order) and how many there are; ``gold`` False leaves the gold
    (check) items out, True gives only them, None both."""
    cond = [items.c.project_id == project_id]
    if state:
        cond.append(items.c.state == state)
    if gold is not None:
        cond.append(items.c.gold.is_(gold))
    q = select(items.c.id, items.c.external_id, items.c.batch_id, items.c.state, items.c.priority,
               items.c.deadline, items.c.created_at, items.c.done_at, items.c.gold).where(*cond)
    rows = list(conn.execute(q.order_by(items.c.id).offset(offset).limit(limit)))
    total = int(conn.execute(select(func.count()).select_from(items).where(*cond)).scalar_one())
    return rows, total


def gold_task_counts(conn: Connection, project_ids: list[int]) -> dict[int, tuple[int, int]]:
    """project id -> (ready, leased) tasks on gold items: a worker's check items, not the client's backlog."""
    if not project_ids:
        return {}
    rows = conn.execute(
        select(tasks.c.project_id,
               func.sum(case((tasks.c.state == "ready", 1), else_=0)),
               func.sum(case((tasks.c.state == "leased", 1), else_=0)))
        .join(items, items.c.id == tasks.c.item_id)
        .where(tasks.c.project_id.in_(project_ids), tasks.c.state.in_(("ready", "leased")), items.c.gold)
        .group_by(tasks.c.project_id)
    )
    return {int(r[0]): (int(r[1] or 0), int(r[2] or 0)) for r in rows}
