"""The event log records every state change and cannot be rewritten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DatabaseError, StatementError

from seatflow.domain.clock import utcnow
from seatflow.store.answers import finish_item
from seatflow.store.engine import Database
from seatflow.store.events import append, event_row
from seatflow.store.tables import events, items

from .conftest import Center


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


def test_appended_events_keep_their_order_and_every_field(database: Database) -> None:
    at = datetime(2031, 3, 1, 8, 1, 2, 345678, tzinfo=UTC)
    rows = [
        event_row(entity="task", kind="submit", at=at, actor_id=None, client_id=None, task_id=None,
                  from_state="leased", to_state="done", data={"lease_id": 7, "note": "中文 ✓", "nested": [1, None]}),
        event_row(entity="submission", kind="accept", at=at + timedelta(microseconds=1), data=None),
        event_row(entity="item", kind="done", at=at.astimezone(timezone(timedelta(hours=8))), to_state="done"),
    ]
    with database.write() as conn:
        append(conn, rows)
    with database.read() as conn:
        got = conn.execute(select(events).order_by(events.c.id)).all()
    assert [(r.entity, r.kind) for r in got] == [("task", "submit"), ("submission", "accept"), ("item", "done")]
    assert got[0].data == {"lease_id": 7, "note": "中文 ✓", "nested": [1, None]}
    assert got[1].data is None and got[0].actor_id is None and got[0].from_state == "leased"
    assert [r.at for r in got] == [at, at + timedelta(microseconds=1), at]  # UTC, to the microsecond


def test_a_naive_timestamp_is_refused_and_nothing_is_appended(database: Database) -> None:
    good = event_row(entity="item", kind="done", at=utcnow())
    naive = event_row(entity="item", kind="done", at=datetime(2031, 3, 1, 8, 0))
    with pytest.raises((ValueError, StatementError), match="naive datetime"):
        with database.write() as conn:
            append(conn, [good, naive])
    with database.read() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 0


def test_finishing_an_item_writes_the_pending_events_and_its_done_event_only_once(center: Center) -> None:
    with center.db.read() as conn:
        item_id = conn.execute(select(items.c.id).where(items.c.state == "active").limit(1)).scalar_one()
    at = datetime(2031, 3, 1, 8, 1, 2, tzinfo=UTC)

    def finish(note: str) -> bool:
        pending = [event_row(entity="task", kind="submit", at=at, item_id=item_id, data={"note": note}),
                   event_row(entity="submission", kind="accept", at=at, item_id=item_id, data={"note": note})]
        done = event_row(entity="item", kind="done", at=at, item_id=item_id, from_state="active", to_state="done")
        with center.db.write() as conn:
            return finish_item(conn, item_id=item_id, result=[{"slot": 0, "answer": note}], now=at,
                               pending=pending, done_event=done)

    assert finish("first") is True
    assert finish("second") is False  # done already: the result stays, no second done event
    with center.db.read() as conn:
        got = conn.execute(select(events.c.entity, events.c.kind, events.c.data).where(events.c.item_id == item_id,
                                                                                      events.c.at == at)
                           .order_by(events.c.id)).all()
        item = conn.execute(select(items.c.state, items.c.result).where(items.c.id == item_id)).one()
    assert [(e, k, (d or {}).get("note")) for e, k, d in got] == [
        ("task", "submit", "first"), ("submission", "accept", "first"), ("item", "done", None),
        ("task", "submit", "second"), ("submission", "accept", "second"),
    ]
    assert item.state == "done" and item.result == [{"slot": 0, "answer": "first"}]
