"""Bulk statements for items and their tasks (import) and streaming reads (export)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from .tables import batches, items, tasks


def insert_items_skip_existing(conn: Connection, rows: list[dict[str, Any]]) -> list[Any]:
    """Insert items; rows whose (project_id, external_id) exists are skipped. Returns inserted (id, external_id)."""
    if not rows:
        return []
    ins = (postgresql.insert(items) if conn.dialect.name == "postgresql" else sqlite.insert(items))
    stmt = ins.on_conflict_do_nothing(index_elements=["project_id", "external_id"]).returning(
        items.c.id, items.c.external_id
    )
    return list(conn.execute(stmt, rows))


def insert_tasks(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(tasks.insert(), rows)


def add_to_batch(conn: Connection, batch_id: int, n: int, status: str | None = None) -> None:
    values: dict[str, Any] = {"item_count": batches.c.item_count + n}
    if status:
        values["status"] = status
    conn.execute(batches.update().where(batches.c.id == batch_id).values(**values))


def stream_done_items(conn: Connection, project_id: int, batch_id: int | None = None,
                      chunk: int = 1000) -> Iterator[Any]:
    """Done items in id order, fetched in chunks from a server-side cursor (memory stays flat)."""
    q = select(items.c.id, items.c.external_id, items.c.batch_id, items.c.payload, items.c.result,
               items.c.done_at).where(items.c.project_id == project_id, items.c.state == "done")
    if batch_id is not None:
        q = q.where(items.c.batch_id == batch_id)
    result = conn.execution_options(stream_results=True, yield_per=chunk).execute(q.order_by(items.c.id))
    yield from result


def count_items(conn: Connection, project_id: int) -> int:
    return int(conn.execute(select(func.count()).select_from(items).where(items.c.project_id == project_id))
               .scalar_one())
