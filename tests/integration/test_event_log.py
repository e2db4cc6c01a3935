"""The event log records every state change and cannot be rewritten."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DatabaseError

from seatflow.domain.clock import utcnow
from seatflow.store.engine import Database
from seatflow.store.events import append, event_row
from seatflow.store.tables import events


def _one_event(database: Database) -> None:
    with database.write() as conn:
        append(conn, [event_row(entity="item", kind="done", at=utcnow(), from_state="active", to_state="done")])


def test_events_cannot_be_updated(database: Database) -> None:
    _one_event(database)
    with pytest.raises(DatabaseError, match="append-only"):
        with database.write() as conn:
            conn.execute(update(events).values(kind="forged"))
    with database.read() as conn:
        assert conn.execute(select(events.c.kind)).scalar_one() == "done"


def test_events_cannot_be_deleted(database: Database) -> None:
    _one_event(database)
    with pytest.raises(DatabaseError, match="append-only"):
        with database.write() as conn:
            conn.execute(delete(events))
    with database.read() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 1
