"""The transactional outbox: write an event in the caller's transaction; a job delivers it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from .tables import outbox


def enqueue(
    conn: Connection,
    *,
    client_id: int,
    topic: str,
    payload: dict[str, Any],
    idempotency_key: str,
    now: datetime,
    project_id: int | None = None,
    item_id: int | None = None,
    target_url: str | None = None,
) -> int | None:
    """Add an event for the client; a second event with the same key is ignored (returns None)."""
    ins = postgresql.insert(outbox) if conn.dialect.name == "postgresql" else sqlite.insert(outbox)
    stmt = ins.on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(outbox.c.id)
    new_id = conn.execute(
        stmt,
        {
            "client_id": client_id,
            "project_id": project_id,
            "item_id": item_id,
            "topic": topic,
            "payload": payload,
            "idempotency_key": idempotency_key,
            "target_url": target_url,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        },
    ).scalar()
    return None if new_id is None else int(new_id)
