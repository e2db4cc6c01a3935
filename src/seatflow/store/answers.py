"""Statements of the submit and review paths."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Connection, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from . import events
from .tables import clients, item_workers, items, leases, projects, reviews, submissions, tasks
from .types import UTCDateTime


def _lease_context_query() -> Any:
    return (
        select(
            leases.c.id.label("lease_id"),
            leases.c.user_id,
            leases.c.expires_at,
            leases.c.ended_at,
            leases.c.end_reason,
            tasks.c.id.label("task_id"),
            tasks.c.state.label("task_state"),
            tasks.c.lease_id.label("task_lease_id"),
            tasks.c.lease_expires_at,
            tasks.c.kind,
            tasks.c.stage,
            tasks.c.slot,
            tasks.c.target_submission_id,
            tasks.c.priority,
            items.c.id.label("item_id"),
            items.c.external_id,
            items.c.client_id,
            items.c.project_id,
            items.c.payload,
            items.c.state.label("item_state"),
            items.c.gold.label("item_gold"),
            items.c.deadline.label("item_deadline"),
            projects.c.slug.label("project_slug"),
            clients.c.webhook_url.label("client_webhook_url"),
            projects.c.work_type,
            projects.c.label_schema,
            projects.c.workflow,
        )
        .join(tasks, tasks.c.id == leases.c.task_id)
        .join(items, items.c.id == tasks.c.item_id)
        .join(projects, projects.c.id == items.c.project_id)
        .join(clients, clients.c.id == items.c.client_id)
        .where(leases.c.id == bindparam("lease_id"))
    )


# Built once: every submit and review asks it, and building this 27-column join (and its cache key)
# per call was a good part of the statement's Python cost. PostgreSQL locks the task row.
_LEASE_CONTEXT = _lease_context_query()
_LEASE_CONTEXT_LOCKED = _LEASE_CONTEXT.with_for_update(of=tasks)


def lease_context(conn: Connection, lease_id: int) -> Any:
    """The lease with its task, item and project, locked against a concurrent submit/expiry."""
    q = _LEASE_CONTEXT_LOCKED if conn.dialect.name == "postgresql" else _LEASE_CONTEXT
    return conn.execute(q, {"lease_id": lease_id}).first()


def find_submission_by_key(conn: Connection, user_id: int, key: str) -> Any:
    return conn.execute(
        select(submissions).where(submissions.c.user_id == user_id, submissions.c.idempotency_key == key)
    ).first()


def find_review_by_key(conn: Connection, user_id: int, key: str) -> Any:
    return conn.execute(
        select(reviews).where(reviews.c.reviewer_id == user_id, reviews.c.idempotency_key == key)
    ).first()


# The per-answer statements below are built once, with bind parameters (b_*: not column names),
# instead of per call: building them and their cache keys cost more Python than running them.
_CLOSE_TASK = (
    update(tasks)
    .where(tasks.c.id == bindparam("b_task"), tasks.c.state == "leased", tasks.c.lease_id == bindparam("b_lease"))
    .values(state="done", done_at=bindparam("b_now", type_=tasks.c.done_at.type), lease_expires_at=None)
)
_END_LEASE = (
    update(leases)
    .where(leases.c.id == bindparam("b_lease"))
    .values(ended_at=bindparam("b_now", type_=leases.c.ended_at.type), end_reason="submitted")
)
_TOUCHED_DONE = (
    update(item_workers)
    .where(item_workers.c.item_id == bindparam("b_item"), item_workers.c.user_id == bindparam("b_user"))
    .values(done=True)
)


def close_task(conn: Connection, *, task_id: int, lease_id: int, now: datetime) -> bool:
    """leased -> done, only while this lease still holds the task. False when it does not."""
    n = conn.execute(_CLOSE_TASK, {"b_task": task_id, "b_lease": lease_id, "b_now": now}).rowcount
    if n != 1:
        return False
    conn.execute(_END_LEASE, {"b_lease": lease_id, "b_now": now})
    return True


def mark_touched_done(conn: Connection, *, item_id: int, user_id: int) -> None:
    conn.execute(_TOUCHED_DONE, {"b_item": item_id, "b_user": user_id})


# PostgreSQL: an answer recorded in one statement (data-modifying CTEs share one snapshot): the task
# closed while this lease still holds it, the lease ended, the worker's touch marked done, the item
# row locked (see lock_item; not for gold, which many workers answer at once) and the submission
# inserted, only when the task was closed. Four round trips and their Python cost became one.
_PG_RECORD_ANSWER = text(
    """
WITH closed AS (
    UPDATE tasks SET state = 'done', done_at = :now, lease_expires_at = NULL
    WHERE id = :task_id AND state = 'leased' AND lease_id = :lease_id
    RETURNING id
), ended AS (
    UPDATE leases SET ended_at = :now, end_reason = 'submitted'
    WHERE id = :lease_id AND EXISTS (SELECT 1 FROM closed)
), touched AS (
    UPDATE item_workers SET done = true
    WHERE item_id = :item_id AND user_id = :user_id AND EXISTS (SELECT 1 FROM closed)
), locked AS (
    SELECT id FROM items WHERE id = :item_id AND :lock_item FOR NO KEY UPDATE
), inserted AS (
    INSERT INTO submissions (client_id, project_id, item_id, task_id, lease_id, user_id, slot, answer, state,
                             supersedes_id, idempotency_key, duration_ms, created_at)
    SELECT :client_id, :project_id, :item_id, :task_id, :lease_id, :user_id, :slot, :answer, :state,
           :supersedes_id, :idempotency_key, :duration_ms, :now
    FROM closed
    ON CONFLICT (user_id, idempotency_key) DO NOTHING
    RETURNING id
)
SELECT (SELECT count(*) FROM closed) AS closed, (SELECT id FROM inserted) AS submission_id,
       (SELECT count(*) FROM locked) AS locked
"""
).bindparams(
    bindparam("now", type_=UTCDateTime()),
    bindparam("answer", type_=submissions.c.answer.type),
    bindparam("lock_item", type_=Boolean()),
)


def record_answer(conn: Connection, *, row: dict[str, Any], lock_item: bool) -> tuple[bool, int | None]:
    """Close the answered task and insert its submission ``row`` (the submissions columns), atomically.

    Returns (closed, submission id): closed is False when the lease no longer holds the task (nothing
    was written); the id is None when the worker already used this idempotency key (the caller
    raises, which rolls the close back). ``lock_item``: also take the item's row lock (see
    :func:`lock_item`) before the caller reads the item's other answers.
    """
    if conn.dialect.name == "postgresql":
        out = conn.execute(_PG_RECORD_ANSWER, {**row, "now": row["created_at"], "lock_item": lock_item}).one()
        return bool(out.closed), None if out.submission_id is None else int(out.submission_id)
    if not close_task(conn, task_id=row["task_id"], lease_id=row["lease_id"], now=row["created_at"]):
        return False, None
    mark_touched_done(conn, item_id=row["item_id"], user_id=row["user_id"])
    return True, insert_submission(conn, row)  # SQLite: one writer at a time, so no item lock is needed


def insert_submission(conn: Connection, row: dict[str, Any]) -> int | None:
    """Insert an answer; None when the worker already used this idempotency key."""
    ins = postgresql.insert(submissions) if conn.dialect.name == "postgresql" else sqlite.insert(submissions)
    stmt = ins.on_conflict_do_nothing(index_elements=["user_id", "idempotency_key"]).returning(submissions.c.id)
    new_id = conn.execute(stmt, row).scalar()
    return None if new_id is None else int(new_id)


def insert_review(conn: Connection, row: dict[str, Any]) -> int | None:
    """Insert a verdict; None when the reviewer already used this idempotency key."""
    ins = postgresql.insert(reviews) if conn.dialect.name == "postgresql" else sqlite.insert(reviews)
    stmt = ins.on_conflict_do_nothing(index_elements=["reviewer_id", "idempotency_key"]).returning(reviews.c.id)
    new_id = conn.execute(stmt, row).scalar()
    return None if new_id is None else int(new_id)


def set_submission_state(conn: Connection, submission_id: int, state: str) -> None:
    conn.execute(update(submissions).where(submissions.c.id == submission_id).values(state=state))


def get_submission(conn: Connection, submission_id: int) -> Any:
    return conn.execute(select(submissions).where(submissions.c.id == submission_id)).first()


def rejection_of(conn: Connection, submission_id: int) -> tuple[int, int | None]:
    """(review stage, reviewer) that rejected ``submission_id``: a rework returns there."""
    row = conn.execute(
        select(tasks.c.stage, reviews.c.reviewer_id)
        .join(reviews, reviews.c.task_id == tasks.c.id)
        .where(reviews.c.submission_id == submission_id, reviews.c.verdict == "reject")
        .order_by(reviews.c.id.desc())
        .limit(1)
    ).first()
    return (int(row.stage), int(row.reviewer_id)) if row is not None else (1, None)


def insert_task(conn: Connection, row: dict[str, Any]) -> int:
    return int(conn.execute(tasks.insert().returning(tasks.c.id), row).scalar_one())


# A constant IN list as SQL text: ``state.in_((...))`` is an "expanding" parameter that SQLAlchemy
# re-renders into the statement on every execution (4 % of the server's CPU under dispatch load, py-spy).
_OPEN_TASK = text("tasks.state IN ('ready', 'leased')")


def _accepted_answers_query() -> Any:
    open_tasks = (
        select(func.count())
        .select_from(tasks)
        .where(tasks.c.item_id == bindparam("b_item"), _OPEN_TASK)
        .scalar_subquery()
    )
    fixed = (
        select(reviews.c.fixed_answer)
        .where(reviews.c.submission_id == submissions.c.id, reviews.c.fixed_answer.is_not(None))
        .order_by(reviews.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(submissions.c.id, submissions.c.slot, submissions.c.user_id, submissions.c.answer,
               fixed.label("fixed_answer"), open_tasks.label("open_tasks"))
        .where(submissions.c.item_id == bindparam("b_item"), submissions.c.state == "accepted")
        .order_by(submissions.c.slot)
    )


_ACCEPTED_ANSWERS = _accepted_answers_query()  # built once (see _CLOSE_TASK)


def accepted_answers(conn: Connection, item_id: int) -> list[Any]:
    """Accepted answers of an item, with a reviewer's fix applied where one was made.

    Each row also carries ``open_tasks``: the item's tasks still ready or leased.
    """
    return list(conn.execute(_ACCEPTED_ANSWERS, {"b_item": item_id}))


def lock_item(conn: Connection, item_id: int) -> None:
    """Serialize the "is the item done now?" decision of concurrent answers on one item.

    Without it two transactions accepting the last two slots of an item at once (PostgreSQL, READ
    COMMITTED) each see the other's slot as still open, neither finishes the item, and it stays
    active with no task left: lost. The second to take this lock waits for the first to commit and
    then sees its answer. FOR NO KEY UPDATE does not block the foreign-key checks of leases and
    inserts on the item. SQLite needs nothing: its write transactions already run one at a time.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(select(items.c.id).where(items.c.id == item_id).with_for_update(key_share=True))


def count_open_tasks(conn: Connection, item_id: int) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(tasks).where(
                tasks.c.item_id == item_id, _OPEN_TASK
            )
        ).scalar_one()
    )


_FINISH_ITEM = (  # built once (see _CLOSE_TASK)
    update(items)
    .where(items.c.id == bindparam("b_item"), items.c.state == "active")
    .values(state="done", result=bindparam("b_result", type_=items.c.result.type),
            done_at=bindparam("b_now", type_=items.c.done_at.type))
)


# PostgreSQL: finish the item and write the answer's pending events in one statement; the item's own
# "done" event (only_if) only when this statement finished it.
_PG_FINISH_ITEM_LOGGED = text(
    f"""
WITH finished AS (
    UPDATE items SET state = 'done', result = :result, done_at = :now
    WHERE id = :item_id AND state = 'active'
    RETURNING id
), logged AS (
{events.PG_INSERT_ROWS}
    WHERE r.only_if IS NOT TRUE OR EXISTS (SELECT 1 FROM finished)
)
SELECT count(*) AS finished FROM finished
"""
).bindparams(bindparam("now", type_=UTCDateTime()), bindparam("result", type_=items.c.result.type))


def finish_item(conn: Connection, *, item_id: int, result: Any, now: datetime,
                pending: list[dict[str, Any]], done_event: dict[str, Any]) -> bool:
    """active -> done with its ``result``; False when it was done already.

    Also appends the caller's ``pending`` events (:func:`events.event_row` rows), and ``done_event`` when
    the item was finished here, in order: on PostgreSQL in the same statement (one round trip fewer per answer).
    """
    if conn.dialect.name == "postgresql":
        row = conn.execute(_PG_FINISH_ITEM_LOGGED, {"item_id": item_id, "result": result, "now": now,
                                                    "rows": events.pg_rows(pending, [done_event])}).one()
        return bool(row.finished)
    finished = conn.execute(_FINISH_ITEM, {"b_item": item_id, "b_result": result, "b_now": now}).rowcount == 1
    events.append(conn, pending + [done_event] if finished else pending)
    return finished


def item_deadline(conn: Connection, item_id: int) -> datetime:
    return conn.execute(select(items.c.deadline).where(items.c.id == item_id)).scalar_one()


def reviews_of(conn: Connection, submission_id: int) -> list[Any]:
    return list(conn.execute(select(reviews).where(reviews.c.submission_id == submission_id).order_by(reviews.c.id)))
