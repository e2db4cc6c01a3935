"""The append-only event log: every state change (who, when, from, to)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

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


_COLUMNS = ("client_id", "project_id", "item_id", "task_id", "actor_id", "entity", "kind", "from_state",
            "to_state", "at", "data")

# PostgreSQL: the rows travel as one JSON array, unpacked by the server. A list of rows given to an
# INSERT goes through SQLAlchemy's executemany ("insertmanyvalues"), which cost ~0.2 ms of Python per
# call for the two or three events of an answer; this costs about half.
# ``PG_INSERT_ROWS`` is that INSERT for other statements to embed in a CTE (``pg_rows`` makes its :rows;
# the embedding statement may filter on each row's ``only_if``).
PG_INSERT_ROWS = f"""INSERT INTO events ({", ".join(_COLUMNS)})
SELECT {", ".join(_COLUMNS)}
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
    client_id bigint, project_id bigint, item_id bigint, task_id bigint, actor_id bigint, entity text, kind text,
    from_state text, to_state text, at timestamptz, data jsonb, only_if boolean)"""
_PG_APPEND = text(PG_INSERT_ROWS)


def _pg_row(row: dict[str, Any]) -> dict[str, Any]:
    at: datetime = row["at"]
    if at.tzinfo is None:
        raise ValueError("naive datetime given; use seatflow.domain.clock.utcnow()")
    return {**{c: row.get(c) for c in _COLUMNS}, "at": at.isoformat()}


def pg_rows(rows: Sequence[dict[str, Any]], only_if: Sequence[dict[str, Any]] = ()) -> str:
    """The :rows parameter of ``PG_INSERT_ROWS``: ``rows``, then ``only_if`` marked as conditional."""
    return json.dumps([_pg_row(r) for r in rows] + [{**_pg_row(r), "only_if": True} for r in only_if])


def append(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append event rows (as :func:`event_row` makes them), in order, in the caller's transaction."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(_PG_APPEND, {"rows": pg_rows(rows)})
    else:
        conn.execute(events.insert(), rows)
