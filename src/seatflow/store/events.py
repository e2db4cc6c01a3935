"""The append-only event log: every state change (who, when, from, to)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from .tables import events


def event_row(
    *,
    entity: str,
    kind: str,
    at: datetime,
    actor_id: int | None = None,
    client_id: int | None = None,
    project_id: int | None = None,
    item_id: int | None = None,
    task_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "entity": entity,
        "kind": kind,
        "at": at,
        "actor_id": actor_id,
        "client_id": client_id,
        "project_id": project_id,
        "item_id": item_id,
        "task_id": task_id,
        "from_state": from_state,
        "to_state": to_state,
        "data": data,
    }


def append(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(events.insert(), rows)
