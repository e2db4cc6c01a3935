"""An import creates each new item's first tasks: one per overlap slot, item by item, none for gold,
none again for an item a resumed import skips."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from seatflow.services import imports
from seatflow.services.imports import Record
from seatflow.store import tables

from .conftest import Center


def _rows(first: int, n: int, gold_every: int = 0) -> list[dict[str, Any]]:
    out = []
    for k in range(first, first + n):
        payload: dict[str, Any] = {"text": f"Review number {k}."}
        if gold_every and k % gold_every == 0:
            payload["gold"] = {"classes": ["positive"]}
        out.append({"external_id": f"bulk-{k}", "payload": payload})
    return out


def _import(center: Center, rows: list[dict[str, Any]], batch_size: int) -> Any:
    records = [Record("bulk.jsonl", n, r) for n, r in enumerate(rows, start=1)]
    return imports.import_records(center.db, None, "acme-text", records, source="bulk.jsonl", batch_size=batch_size)


def test_first_tasks_per_slot_in_item_order_and_none_for_gold(center: Center) -> None:
    report = _import(center, _rows(1, 25, gold_every=5), batch_size=7)  # several flushes
    assert report.error is None and report.imported == 25
    again = _import(center, _rows(20, 10, gold_every=5), batch_size=4)  # 6 already there, 4 new
    assert again.error is None and (again.imported, again.skipped) == (4, 6)
    t, i = tables.tasks, tables.items
    with center.db.read() as conn:
        got = conn.execute(
            select(i.c.external_id, i.c.gold, t.c.slot, t.c.stage, t.c.kind, t.c.state, t.c.priority,
                   t.c.deadline == i.c.deadline, t.c.client_id == i.c.client_id)
            .select_from(t.join(i, i.c.id == t.c.item_id))
            .where(i.c.external_id.like("bulk-%")).order_by(t.c.id)
        ).all()
    ordinary = [f"bulk-{k}" for k in range(1, 30) if k % 5]
    # acme-text is annotate(overlap=2): slots 0 and 1 of an item, then the next item's
    assert [(r[0], r[2]) for r in got] == [(ext, slot) for ext in ordinary for slot in (0, 1)]
    assert all(not r.gold and (r.stage, r.kind, r.state, r.priority) == (0, "annotate", "ready", 0) for r in got)
    assert all(r[7] and r[8] for r in got)  # the item's deadline and client


def test_imported_values_are_stored_as_every_other_write_stores_them(center: Center) -> None:
    """SQLite imports bypass SQLAlchemy's per-row parameter building: the stored text of a date, the
    JSON and the flags must still be what SQLAlchemy writes (text dates compare as text)."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    deadline = "2031-03-01T08:01:00+08:00"
    rows = [{"external_id": "fmt-1", "payload": {"text": "Ünïcode 评论 1."}, "deadline": deadline, "priority": 7},
            {"external_id": "fmt-2", "payload": {"text": "Plain.", "gold": {"classes": ["positive"]}}}]
    assert _import(center, rows, batch_size=10).imported == 2
    with center.db.write() as conn:  # the same values through SQLAlchemy, for comparison
        conn.execute(tables.items.insert(), [{
            "client_id": r.client_id, "project_id": r.project_id, "batch_id": r.batch_id,
            "external_id": f"{r.external_id}-orm", "payload": r.payload, "media": r.media, "priority": r.priority,
            "deadline": r.deadline, "state": r.state, "created_at": r.created_at, "gold": r.gold,
        } for r in conn.execute(select(tables.items).where(tables.items.c.external_id.like("fmt-%")))])
        raw = {r[0]: r[1:] for r in conn.execute(text(
            "SELECT external_id, deadline, created_at, payload, priority, gold FROM items "
            "WHERE external_id LIKE 'fmt-%' ORDER BY external_id"))}
    assert raw["fmt-1"] == raw["fmt-1-orm"] and raw["fmt-2"] == raw["fmt-2-orm"]
    with center.db.read() as conn:
        got = {r.external_id: r for r in conn.execute(select(tables.items).where(
            tables.items.c.external_id.in_(["fmt-1", "fmt-2"])))}
    assert got["fmt-1"].deadline == datetime(2031, 3, 1, 0, 1, tzinfo=UTC)
    assert got["fmt-1"].payload["text"] == "Ünïcode 评论 1." and got["fmt-1"].priority == 7
    assert got["fmt-2"].gold is True and got["fmt-1"].gold is False
