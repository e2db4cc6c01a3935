"""The dispatch queue's hot statements: lease, renew, release, expire.

Index used: ``ix_tasks_queue (project_id, kind, priority DESC, deadline, id) WHERE state='ready'
AND assignee_id IS NULL`` serves the ORDER BY of the lease statement, so the cost of a lease does
not grow with the backlog. On PostgreSQL one statement leases a task (row locked with
``FOR UPDATE SKIP LOCKED`` so concurrent workers never wait on each other), records the lease,
marks the item as touched by the worker and appends the event. On SQLite the same steps run as
a few statements inside the caller's ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    TextClause,
    and_,
    bindparam,
    delete,
    literal,
    select,
    text,
    union_all,
    update,
)

from .tables import events, item_workers, leases, projects, qualifications, tasks
from .types import UTCDateTime


@dataclass(frozen=True)
class LeasedTask:
    lease_id: int
    task_id: int
    item_id: int
    client_id: int
    project_id: int
    kind: str
    stage: int
    slot: int
    target_submission_id: int | None
    expires_at: datetime
    item: dict[str, Any] | None = None  # external_id, payload, priority, deadline when the statement had them


_RETURNING = "id, item_id, client_id, project_id, kind, stage, slot, target_submission_id"


def _typed_times(stmt: TextClause) -> TextClause:
    """Bind :now and :expires (those the statement has) as UTCDateTime, like every other write of them.

    Untyped, SQLite got the sqlite3 module's default datetime adapter ('2031-03-01 08:01:00+00:00',
    deprecated since Python 3.12) instead of SQLAlchemy's '2031-03-01 08:01:00.000000': the two
    formats compare wrongly as text, so a lease was reaped at its expiry instant, not after it.
    """
    names = [n for n in ("now", "expires") if f":{n}" in stmt.text]
    return stmt.bindparams(*(bindparam(n, type_=UTCDateTime()) for n in names))


_PG_QUEUE_PICK = """
    SELECT t.id, t.client_id, t.project_id, t.item_id
    FROM tasks t
    WHERE t.project_id = :project_id AND t.kind = :kind
      AND t.state = 'ready' AND t.assignee_id IS NULL
      -- OFFSET 0 keeps this a probe of pk_item_workers per candidate task. Without it the planner
      -- may turn it into an anti-join over a sequential scan of every item_workers row of the user
      -- (it did while the table's statistics were young: each lease read the whole table, which
      -- grows with every answer).
      AND NOT EXISTS (SELECT 1 FROM item_workers w WHERE w.item_id = t.item_id AND w.user_id = :user_id OFFSET 0)
    ORDER BY t.priority DESC, t.deadline, t.id
    LIMIT 1
    FOR UPDATE OF t SKIP LOCKED"""

# The worker's own rework (a task reserved for them, served by ix_tasks_assigned), any active project or
# only :only_project. Asked first in the same statement: the queue's branch below it runs only when this
# one found nothing (an Append under LIMIT 1 stops at the first row), so it locks nothing needlessly.
_PG_REWORK_THEN_QUEUE_PICK = f"""
    SELECT * FROM (
        SELECT t.id, t.client_id, t.project_id, t.item_id
        FROM tasks t
        WHERE t.assignee_id = :user_id AND t.state = 'ready'
          AND t.project_id IN (SELECT p.id FROM projects p WHERE p.status = 'active')
          AND (CAST(:only_project AS bigint) IS NULL OR t.project_id = CAST(:only_project AS bigint))
        ORDER BY t.priority DESC, t.id
        LIMIT 1
        FOR UPDATE OF t SKIP LOCKED
    ) rework
    UNION ALL
    SELECT * FROM ({_PG_QUEUE_PICK}
    ) queued
    LIMIT 1"""


def _pg_lease(pick: str) -> TextClause:
    """PostgreSQL: the whole lease in one statement (data-modifying CTEs share one snapshot)."""
    return _typed_times(text(
        f"""
WITH picked AS ({pick}
), new_lease AS (
    INSERT INTO leases (client_id, project_id, task_id, user_id, created_at, expires_at)
    SELECT client_id, project_id, id, :user_id, :now, :expires FROM picked
    RETURNING id, task_id
), leased AS (
    UPDATE tasks t
    SET state = 'leased', leased_by = :user_id, lease_id = new_lease.id, lease_expires_at = :expires
    FROM new_lease WHERE t.id = new_lease.task_id
    RETURNING t.{_RETURNING.replace(", ", ", t.")}, t.lease_id, t.assignee_id
), touched AS (
    -- a rework's item was touched by its author already (their answer is what is reworked)
    INSERT INTO item_workers (item_id, user_id, client_id)
    SELECT item_id, :user_id, client_id FROM leased WHERE assignee_id IS NULL
), logged AS (
    INSERT INTO events (client_id, project_id, item_id, task_id, actor_id, entity, kind,
                        from_state, to_state, at)
    SELECT client_id, project_id, item_id, id, :user_id, 'task', 'lease', 'ready', 'leased', :now
    FROM leased
), relaxed AS (
    -- SET LOCAL synchronous_commit TO OFF, without a round trip of its own (see relax_commit_durability)
    SELECT set_config('synchronous_commit', 'off', true) AS done
)
SELECT l.id, l.item_id, l.client_id, l.project_id, l.kind, l.stage, l.slot, l.target_submission_id, l.lease_id,
       i.external_id, i.payload, i.priority, i.deadline, r.done AS relaxed
FROM leased l JOIN items i ON i.id = l.item_id CROSS JOIN relaxed r
"""
    ))


PG_LEASE_FROM_QUEUE = _pg_lease(_PG_QUEUE_PICK)
# The same, the worker's own rework first: one statement where the rework probe and the lease were two.
PG_LEASE_REWORK_OR_QUEUE = _pg_lease(_PG_REWORK_THEN_QUEUE_PICK)

# SQLite (inside BEGIN IMMEDIATE, so no other writer runs between these statements).
SQLITE_LEASE_FROM_QUEUE = _typed_times(text(
    f"""
UPDATE tasks SET state = 'leased', leased_by = :user_id, lease_expires_at = :expires
WHERE id = (
    SELECT t.id FROM tasks t INDEXED BY ix_tasks_queue
    WHERE t.project_id = :project_id AND t.kind = :kind
      AND t.state = 'ready' AND t.assignee_id IS NULL
      AND NOT EXISTS (SELECT 1 FROM item_workers w WHERE w.item_id = t.item_id AND w.user_id = :user_id)
    ORDER BY t.priority DESC, t.deadline, t.id
    LIMIT 1
)
RETURNING {_RETURNING}
"""
))


def relax_commit_durability(conn: Connection) -> None:
    """A lease transaction commits on PostgreSQL without waiting for the WAL flush.

    Leases only: a lease lost in a database crash just returns its task to the queue, which is the
    safe outcome. Answers and reviews always commit durably. Nothing is sent here: the statements
    that write a lease (``PG_LEASE_FROM_QUEUE``, ``lease_assigned``) relax it themselves, which
    saved a round trip and a statement per lease (a transaction that leased nothing wrote nothing,
    so how it commits does not matter).
    """


def _relax_durability_now(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")


def qualified_queues(conn: Connection, user_id: int, project_id: int | None) -> list[tuple[int, str, int | None]]:
    """The (project_id, task kind, project lease seconds) queues the worker may take from, active projects only."""
    skill_kind = {"annotate": "annotate", "review": "review"}
    q = (
        select(qualifications.c.project_id, qualifications.c.skill, projects.c.lease_seconds)
        .join(projects, projects.c.id == qualifications.c.project_id)
        .where(qualifications.c.user_id == user_id, projects.c.status == "active")
    )
    if project_id is not None:
        q = q.where(qualifications.c.project_id == project_id)
    return [(r.project_id, skill_kind[r.skill], r.lease_seconds) for r in conn.execute(q) if r.skill in skill_kind]


def queue_heads(conn: Connection, queues: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Order the queues by their best ready task (priority, then deadline); empty ones are left out.

    One statement for all the queues (a UNION ALL of one index probe per queue, each served by
    ix_tasks_queue), so a worker qualified for many projects costs one round trip, not one per queue.
    """
    if len(queues) <= 1:
        return queues
    heads = []
    for n, (project_id, kind) in enumerate(queues):
        head = (
            select(literal(n).label("queue"), tasks.c.priority, tasks.c.deadline)
            .where(
                tasks.c.project_id == project_id,
                tasks.c.kind == kind,
                tasks.c.state == "ready",
                tasks.c.assignee_id.is_(None),
            )
            .order_by(tasks.c.priority.desc(), tasks.c.deadline, tasks.c.id)
            .limit(1)
            .subquery(f"head{n}")
        )
        heads.append(select(head))
    rows = conn.execute(union_all(*heads)).all()
    scored = sorted((-r.priority, r.deadline, r.queue) for r in rows)
    return [queues[n] for _, _, n in scored]


def _finish_lease_sqlite(conn: Connection, row: Any, user_id: int, now: datetime, expires: datetime,
                         touch: bool) -> LeasedTask:
    lease_id = conn.execute(
        leases.insert().returning(leases.c.id),
        {
            "client_id": row.client_id,
            "project_id": row.project_id,
            "task_id": row.id,
            "user_id": user_id,
            "created_at": now,
            "expires_at": expires,
        },
    ).scalar_one()
    conn.execute(update(tasks).where(tasks.c.id == row.id).values(lease_id=lease_id))
    if touch:
        conn.execute(item_workers.insert(), {"item_id": row.item_id, "user_id": user_id, "client_id": row.client_id})
    conn.execute(
        events.insert(),
        {
            "client_id": row.client_id,
            "project_id": row.project_id,
            "item_id": row.item_id,
            "task_id": row.id,
            "actor_id": user_id,
            "entity": "task",
            "kind": "lease",
            "from_state": "ready",
            "to_state": "leased",
            "at": now,
        },
    )
    return _leased(row, lease_id, expires)


def _leased(row: Any, lease_id: int, expires: datetime, with_item: bool = False) -> LeasedTask:
    item = None
    if with_item:
        item = {"external_id": row.external_id, "payload": row.payload, "priority": row.priority,
                "deadline": row.deadline}
    return LeasedTask(
        lease_id=lease_id,
        task_id=row.id,
        item_id=row.item_id,
        client_id=row.client_id,
        project_id=row.project_id,
        kind=row.kind,
        stage=row.stage,
        slot=row.slot,
        target_submission_id=row.target_submission_id,
        expires_at=expires,
        item=item,
    )


def lease_from_queue(
    conn: Connection, *, user_id: int, project_id: int, kind: str, now: datetime, expires: datetime,
    rework_first: bool = False, rework_project: int | None = None,
) -> LeasedTask | None:
    """Lease the best task of one queue (project, kind) for the worker.

    ``rework_first`` (PostgreSQL only; see :func:`folds_rework`): the same statement first leases the
    worker's own rework, of any active project or only of ``rework_project``, as :func:`lease_assigned` would.
    """
    params: dict[str, Any] = {"user_id": user_id, "project_id": project_id, "kind": kind, "now": now,
                              "expires": expires}
    if conn.dialect.name == "postgresql":
        stmt = PG_LEASE_FROM_QUEUE
        if rework_first:
            stmt = PG_LEASE_REWORK_OR_QUEUE
            params["only_project"] = rework_project
        row = conn.execute(stmt, params).first()
        return None if row is None else _leased(row, row.lease_id, expires, with_item=True)
    row = conn.execute(SQLITE_LEASE_FROM_QUEUE, params).first()
    if row is None:
        return None
    return _finish_lease_sqlite(conn, row, user_id, now, expires, touch=True)


def _assigned_pick(postgres: bool, in_project: bool) -> Select[Any]:
    cond = [tasks.c.assignee_id == bindparam("user_id"), tasks.c.state == "ready",
            # a paused project hands out no reworks either (qualified_queues: active projects only)
            tasks.c.project_id.in_(select(projects.c.id).where(projects.c.status == "active"))]
    if in_project:
        cond.append(tasks.c.project_id == bindparam("project_id"))
    pick = select(tasks.c.id).where(*cond).order_by(tasks.c.priority.desc(), tasks.c.id).limit(1)
    return pick.with_for_update(skip_locked=True) if postgres else pick


# Asked on every lease: built once (a statement built per call cost its construction and cache key each time).
_ASSIGNED = {(pg, inp): _assigned_pick(pg, inp) for pg in (False, True) for inp in (False, True)}


def folds_rework(conn: Connection) -> bool:
    """Can :func:`lease_from_queue` ask for the worker's rework itself (``rework_first``)? PostgreSQL only:
    SQLite leases in several statements anyway, so the separate probe costs it nothing worth saving."""
    return conn.dialect.name == "postgresql"


def lease_assigned(conn: Connection, *, user_id: int, project_id: int | None, now: datetime,
                   expires: datetime) -> LeasedTask | None:
    """Lease a task reserved for this worker (a rework of their own answer), if there is one."""
    pick = _ASSIGNED[(conn.dialect.name == "postgresql", project_id is not None)]
    params = {"user_id": user_id} if project_id is None else {"user_id": user_id, "project_id": project_id}
    task_id = conn.execute(pick, params).scalar()
    if task_id is None:
        return None
    row = conn.execute(
        update(tasks)
        .where(tasks.c.id == task_id, tasks.c.state == "ready")
        .values(state="leased", leased_by=user_id, lease_expires_at=expires)
        .returning(tasks.c.id, tasks.c.item_id, tasks.c.client_id, tasks.c.project_id, tasks.c.kind,
                   tasks.c.stage, tasks.c.slot, tasks.c.target_submission_id)
    ).first()
    if row is None:
        return None
    _relax_durability_now(conn)  # rare (a rework): one more statement is fine here
    # the worker already touched this item (it is their own answer): no item_workers row to add
    return _finish_lease_sqlite(conn, row, user_id, now, expires, touch=False)


# --- lease request keys (a retried POST /leases gets its lease back) ---------------------------------

_KEYED_LEASE = (
    select(leases.c.id.label("lease_id"), leases.c.expires_at, leases.c.ended_at, tasks.c.id, tasks.c.item_id,
           tasks.c.client_id, tasks.c.project_id, tasks.c.kind, tasks.c.stage, tasks.c.slot,
           tasks.c.target_submission_id, tasks.c.state.label("task_state"), tasks.c.lease_id.label("task_lease_id"))
    .join(tasks, tasks.c.id == leases.c.task_id)
    .where(leases.c.user_id == bindparam("user_id"), leases.c.request_key == bindparam("key"))
)


@dataclass(frozen=True)
class KeyedLease:
    """The lease an earlier request with the same key made; ``task`` is set while it is still live."""

    lease_id: int
    task: LeasedTask | None


def keyed_lease(conn: Connection, *, user_id: int, key: str, now: datetime) -> KeyedLease | None:
    """The caller's lease made under ``key``, if any (served by ix_leases_user_request_key)."""
    row = conn.execute(_KEYED_LEASE, {"user_id": user_id, "key": key}).first()
    if row is None:
        return None
    live = (row.ended_at is None and row.expires_at > now and row.task_state == "leased"
            and row.task_lease_id == row.lease_id)
    return KeyedLease(int(row.lease_id), _leased(row, row.lease_id, row.expires_at) if live else None)


def set_request_key(conn: Connection, *, lease_id: int, key: str) -> None:
    """Record the request key of a new lease. A concurrent request with the same key that leased
    first makes this fail on the unique index (IntegrityError): the caller runs again and finds it."""
    conn.execute(update(leases).where(leases.c.id == lease_id).values(request_key=key))


def lease_lengths(conn: Connection, *, user_id: int, lease_ids: list[int]) -> dict[int, int | None]:
    """lease id -> the project's own lease seconds (None: the server default), for the caller's live leases."""
    rows = conn.execute(
        select(tasks.c.lease_id, projects.c.lease_seconds)
        .join(projects, projects.c.id == tasks.c.project_id)
        .where(tasks.c.lease_id.in_(lease_ids), tasks.c.leased_by == user_id, tasks.c.state == "leased")
    )
    return {r.lease_id: r.lease_seconds for r in rows}


def renew(conn: Connection, *, user_id: int, lease_ids: list[int], now: datetime, expires: datetime) -> list[int]:
    """Extend the caller's live leases; returns the ids that were renewed."""
    if not lease_ids:
        return []
    rows = conn.execute(
        update(tasks)
        .where(
            tasks.c.lease_id.in_(lease_ids),
            tasks.c.leased_by == user_id,
            tasks.c.state == "leased",
            tasks.c.lease_expires_at > now,
        )
        .values(lease_expires_at=expires)
        .returning(tasks.c.lease_id)
    ).scalars().all()
    if rows:
        conn.execute(update(leases).where(leases.c.id.in_(rows)).values(expires_at=expires))
    return list(rows)


def return_to_queue(conn: Connection, rows: list[Any], *, reason: str, now: datetime, actor_id: int | None) -> int:
    """Put leased tasks back to ready (expiry or release). ``rows`` have id, lease_id, leased_by, item_id..."""
    if not rows:
        return 0
    ids = [r.id for r in rows]
    n = conn.execute(
        update(tasks)
        .where(tasks.c.id.in_(ids), tasks.c.state == "leased")
        .values(state="ready", leased_by=None, lease_id=None, lease_expires_at=None)
    ).rowcount
    conn.execute(
        update(leases)
        .where(leases.c.id.in_([r.lease_id for r in rows]), leases.c.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
    )
    # The worker did not answer: the item may be offered to them again.
    conn.execute(
        delete(item_workers).where(
            and_(
                item_workers.c.item_id == bindparam("b_item"),
                item_workers.c.user_id == bindparam("b_user"),
                item_workers.c.done.is_(False),
            )
        ),
        [{"b_item": r.item_id, "b_user": r.leased_by} for r in rows],
    )
    conn.execute(
        events.insert(),
        [
            {
                "client_id": r.client_id,
                "project_id": r.project_id,
                "item_id": r.item_id,
                "task_id": r.id,
                "actor_id": actor_id,
                "entity": "task",
                "kind": reason,
                "from_state": "leased",
                "to_state": "ready",
                "at": now,
                "data": {"lease_id": r.lease_id, "worker_id": r.leased_by},
            }
            for r in rows
        ],
    )
    return int(n)


_TASK_LEASE_COLS = (tasks.c.id, tasks.c.lease_id, tasks.c.leased_by, tasks.c.item_id, tasks.c.client_id,
                    tasks.c.project_id)


def expired(conn: Connection, *, now: datetime, limit: int) -> list[Any]:
    """Leased tasks whose lease ran out (served by ix_tasks_lease_expiry)."""
    q = (
        select(*_TASK_LEASE_COLS)
        .where(tasks.c.state == "leased", tasks.c.lease_expires_at < now)
        .order_by(tasks.c.lease_expires_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return list(conn.execute(q))


def leased_by_user(conn: Connection, *, user_id: int, lease_ids: list[int] | None) -> list[Any]:
    q = select(*_TASK_LEASE_COLS).where(tasks.c.state == "leased", tasks.c.leased_by == user_id)
    if lease_ids is not None:
        q = q.where(tasks.c.lease_id.in_(lease_ids))
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    return list(conn.execute(q))
