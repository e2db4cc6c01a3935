"""PostgreSQL's plan for the lease statement reads no table whole, whatever the statistics say.

The lease skips items the worker already touched (``item_workers``), a table that grows with every
answer. While its statistics were young the planner turned that check into an anti-join over a
sequential scan of all the worker's rows: every lease read the whole table (seen in bench/dispatch as
tup_returned per cycle growing through a run). This test builds that situation (a thousand
item_workers rows added after the last ANALYZE, which saw the table empty) and checks the generic
plan (the one a prepared statement ends up with) of the statement as the server sends it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy.dialects.postgresql import psycopg as pg_dialect

from seatflow.services import imports
from seatflow.services.imports import Record
from seatflow.store import queue

from .conftest import Center

pytestmark = pytest.mark.postgres
TYPES = {"project_id": "bigint", "kind": "text", "user_id": "bigint", "now": "timestamptz", "expires": "timestamptz"}


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    out = [plan]
    for child in plan.get("Plans", []):
        out += _nodes(child)
    return out


def _generic_plan(conn: Any, values: dict[str, Any]) -> list[dict[str, Any]]:
    sql = str(queue.PG_LEASE_FROM_QUEUE.compile(dialect=pg_dialect.dialect()))
    names: list[str] = []

    def number(m: re.Match[str]) -> str:
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    sql = re.sub(r"%\((\w+)\)s", number, sql)
    conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    conn.exec_driver_sql(f"PREPARE lease_plan ({', '.join(TYPES[n] for n in names)}) AS {sql}")
    args = ", ".join(f"'{values[n]}'" for n in names)
    raw = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) EXECUTE lease_plan ({args})").scalar_one()
    conn.exec_driver_sql("DEALLOCATE lease_plan")
    doc = raw if isinstance(raw, list) else json.loads(raw)
    return _nodes(doc[0]["Plan"])


def test_the_lease_probes_item_workers_by_key_and_the_queue_by_its_index(center: Center) -> None:
    pid = center.seed.projects["globex-tickets"]
    rows = [{"external_id": f"bulk-{n}", "payload": {"customer": {"name": f"C{n}"}, "message": "Where is it?",
                                                       "order": {"order_id": f"B-{n}", "status": "late"}}}
            for n in range(1000)]
    report = imports.import_records(center.db, None, "globex-tickets",
                                    [Record("bulk", n, r) for n, r in enumerate(rows, start=1)], source="bulk")
    assert report.error is None and report.imported == 1000
    ann1, ann2 = center.seed.users["ann1"], center.seed.users["ann2"]
    with center.db.write() as conn:
        conn.exec_driver_sql("ANALYZE")  # statistics taken at the start of the day, item_workers still empty
    with center.db.write() as conn:
        # then ann1 touched every item (as after a long day); nobody ran ANALYZE since
        conn.exec_driver_sql(
            "INSERT INTO item_workers (item_id, user_id, client_id) SELECT id, %(u)s, client_id FROM items "
            "WHERE project_id = %(p)s ON CONFLICT DO NOTHING", {"u": ann1, "p": pid})
        nodes = _generic_plan(conn, {"project_id": pid, "kind": "annotate", "user_id": ann2,
                                     "now": "2030-01-01T00:00:00Z", "expires": "2030-01-01T00:10:00Z"})
    scans = [(n["Node Type"], n.get("Relation Name"), n.get("Index Name")) for n in nodes]
    assert not [s for s in scans if s[0] == "Seq Scan" and s[1] in ("item_workers", "tasks")], scans
    assert ("Index Scan", "tasks", "ix_tasks_queue") in scans, scans
    assert any(kind.startswith("Index") and rel == "item_workers" and ix == "pk_item_workers"
               for kind, rel, ix in scans), scans
