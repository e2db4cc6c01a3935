"""Shared by the staffing tests: a project's arrival history, written into the seeded center."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update

from seatflow.services import imports
from seatflow.services.imports import Record
from seatflow.store import tables

from .conftest import Center


def set_arrivals(center: Center, moments: Sequence[datetime]) -> None:
    """acme-mod's items (three seeded, the rest imported here) arrived at ``moments`` (aware UTC)."""
    extra = len(moments) - 3
    assert extra >= 0
    rows = [{"external_id": f"hist-{n}", "payload": {"kind": "text", "text": f"old post {n}"}} for n in range(extra)]
    report = imports.import_records(center.db, None, "acme-mod", [Record("h", n, r) for n, r in enumerate(rows)],
                                    source="history")
    assert report.error is None
    pid = center.seed.projects["acme-mod"]
    with center.db.write() as conn:
        ids = list(conn.execute(select(tables.items.c.id).where(tables.items.c.project_id == pid)
                                .order_by(tables.items.c.id)).scalars())
        assert len(ids) == len(moments)
        for item_id, moment in zip(ids, moments, strict=True):
            conn.execute(update(tables.items).where(tables.items.c.id == item_id).values(created_at=moment))
