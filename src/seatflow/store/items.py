"""Bulk statements for items and their tasks (import) and streaming reads (export)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, func, literal, select, true, union_all
from sqlalchemy.dialects import postgresql, sqlite

from .tables import batches, items, tasks


class Inserted(NamedTuple):
    """The ids of the rows one ``insert_items_skip_existing`` call added: ``rows`` rows, all within
    ``first_id..last_id`` (``rows`` 0: nothing was new)."""

    rows: int
    first_id: int
    last_id: int


def insert_items_skip_existing(conn: Connection, rows: list[dict[str, Any]]) -> Inserted:
    """Insert items; rows whose (project_id, external_id) exists are skipped.

    On SQLite the rows go to the driver as one plain ``executemany`` (see :func:`_sqlite_insert`) and
    the new ids are read back as a range: a SQLite write transaction holds the database's only write
    lock (``BEGIN IMMEDIATE``), so every row with an id above the largest one before the insert is one
    of these. On PostgreSQL other transactions insert at the same time, so the new ids come back from
    ``RETURNING``.
    """
    if not rows:
        return Inserted(0, 0, 0)
    if conn.dialect.name == "sqlite":
        before = conn.execute(select(func.coalesce(func.max(items.c.id), 0))).scalar_one()
        _sqlite_insert(conn, rows)
        n, first, last = conn.execute(
            select(func.count(), func.min(items.c.id), func.max(items.c.id)).where(items.c.id > before)
        ).one()
        return Inserted(int(n), int(first or 0), int(last or 0))
    stmt = postgresql.insert(items).on_conflict_do_nothing(index_elements=["project_id", "external_id"])
    ids = list(conn.execute(stmt.returning(items.c.id), rows).scalars())
    return Inserted(len(ids), min(ids, default=0), max(ids, default=0))


_SQLITE_INSERTS: dict[tuple[str, ...], tuple[str, list[tuple[str, Any]]]] = {}


def _sqlite_insert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """``INSERT ... ON CONFLICT DO NOTHING`` of ``rows`` (all with the same keys) as one DBAPI executemany.

    The values are converted exactly as SQLAlchemy would (each column type's own bind processor: the
    same text for a date, the same JSON), but without its per-row parameter building, and a value seen
    before in the batch (an import batch shares its created_at and SLA deadline) is converted once:
    through ``conn.execute`` that bookkeeping cost the import about a quarter of its time (py-spy,
    bench/RESULTS.md).
    """
    keys = tuple(rows[0])
    plan = _SQLITE_INSERTS.get(keys)
    if plan is None:
        stmt = sqlite.insert(items).values({k: bindparam(k) for k in keys}).on_conflict_do_nothing(
            index_elements=["project_id", "external_id"])
        compiled = stmt.compile(dialect=conn.dialect)
        order = list(compiled.positiontup or [])
        procs = [(name, items.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect))
                 for name in order]
        plan = (compiled.string, procs)
        _SQLITE_INSERTS[keys] = plan
    sql, procs = plan
    memo: dict[tuple[str, Any], Any] = {}

    def value(name: str, proc: Any, v: Any) -> Any:
        if proc is None or v is None:
            return v
        if isinstance(v, (dict, list)):  # JSON: converted per row (it is the row's own)
            return proc(v)
        key = (name, v)
        if key not in memo:
            memo[key] = proc(v)
        return memo[key]

    conn.exec_driver_sql(sql, [tuple(value(n, p, row[n]) for n, p in procs) for row in rows])


def insert_first_tasks(conn: Connection, *, batch_id: int, first_id: int, last_id: int,
                       slots: list[tuple[int, str, int]]) -> None:
    """The first tasks of the items just inserted into ``batch_id`` (ids ``first_id..last_id``), built
    by the database from the item rows in one ``INSERT ... SELECT``, not a row of Python per task
    (binding each task's dates cost the import more than reading its items). Ids go item by item, slot
    by slot, as dispatch orders equal tasks by id: an item's slots are handed out before the next
    item's. Gold items get none: dispatch mixes them into workers' streams.
    """
    if not slots:
        return
    parts = [select(literal(stage).label("stage"), literal(kind).label("kind"), literal(slot).label("slot"))
             for stage, kind, slot in slots]
    s = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("s")
    conn.execute(tasks.insert().from_select(
        ["client_id", "project_id", "item_id", "stage", "kind", "slot", "state", "priority", "deadline",
         "created_at"],
        select(items.c.client_id, items.c.project_id, items.c.id, s.c.stage, s.c.kind, s.c.slot, literal("ready"),
               items.c.priority, items.c.deadline, items.c.created_at)
        .select_from(items.join(s, true()))
        .where(items.c.batch_id == batch_id, items.c.id.between(first_id, last_id), items.c.gold.is_(False))
        .order_by(items.c.id, s.c.slot),
    ))


def drop_if_empty(conn: Connection, batch_id: int) -> bool:
    """Delete ``batch_id`` if no item is in it (an import that found only items already there)."""
    has_items = conn.execute(select(items.c.id).where(items.c.batch_id == batch_id).limit(1)).first()
    if has_items is not None:
        return False
    return bool(conn.execute(batches.delete().where(batches.c.id == batch_id)).rowcount)


def add_to_batch(conn: Connection, batch_id: int, n: int, status: str | None = None) -> None:
    values: dict[str, Any] = {"item_count": batches.c.item_count + n}
    if status:
        values["status"] = status
    conn.execute(batches.update().where(batches.c.id == batch_id).values(**values))


def stream_done_items(
    conn: Connection, project_id: int, batch_id: int | None = None, chunk: int = 1000
) -> Iterator[Any]:
    """Done items in id order, fetched in chunks from a server-side cursor (memory stays flat)."""
    q = select(
        items.c.id, items.c.external_id, items.c.batch_id, items.c.payload, items.c.result, items.c.done_at
    ).where(items.c.project_id == project_id, items.c.state == "done")
    if batch_id is not None:
        q = q.where(items.c.batch_id == batch_id)
    result = conn.execution_options(stream_results=True, yield_per=chunk).execute(q.order_by(items.c.id))
    yield from result


def count_items(conn: Connection, project_id: int) -> int:
    return int(
        conn.execute(select(func.count()).select_from(items).where(items.c.project_id == project_id)).scalar_one()
    )


def item_by_id(conn: Connection, item_id: int) -> Any:
    return conn.execute(select(items).where(items.c.id == item_id)).first()


def list_items(
    conn: Connection, project_id: int, *, state: str | None, offset: int, limit: int
) -> tuple[list[Any], int]:
    q = select(
        items.c.id,
        items.c.external_id,
        items.c.batch_id,
        items.c.state,
        items.c.priority,
        items.c.deadline,
        items.c.created_at,
        items.c.done_at,
    ).where(items.c.project_id == project_id)
    c = select(func.count()).select_from(items).where(items.c.project_id == project_id)
    if state:
        q, c = q.where(items.c.state == state), c.where(items.c.state == state)
    rows = list(conn.execute(q.order_by(items.c.id).offset(offset).limit(limit)))
    return rows, int(conn.execute(c).scalar_one())


def is_leased_to(conn: Connection, item_id: int, user_id: int) -> bool:
    return (
        conn.execute(
            select(tasks.c.id)
            .where(tasks.c.item_id == item_id, tasks.c.leased_by == user_id, tasks.c.state == "leased")
            .limit(1)
        ).first()
        is not None
    )


def count_done_items(conn: Connection, project_id: int, batch_id: int | None = None) -> int:
    """Done items of a project (or one batch): the size of an export (uses ix_items_project_state)."""
    q = select(func.count()).select_from(items).where(items.c.project_id == project_id, items.c.state == "done")
    if batch_id is not None:
        q = q.where(items.c.batch_id == batch_id)
    return int(conn.execute(q).scalar_one())
