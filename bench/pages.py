"""Pages at scale: the staff's pages over a project with a large backlog, against one scan of that backlog.

    .venv/bin/python bench/pages.py --db postgres --items 1000000
    .venv/bin/python bench/pages.py --db sqlite --smoke

A fresh database (as bench/dispatch.py builds it: one client, one project of N ready text items,
bulk-loaded), some work done through the services (leases and answers, so the windows of the
dashboards and the floor have rows), statistics taken (PostgreSQL ``VACUUM ANALYZE``), then the
app in-process (FastAPI's test client, one manager logged in) asked for each page: one warm-up
request, then ``--repeats`` timed ones; the median is reported.

Baseline, in the same run: one scan of the backlog with the DB-API driver, no web layer —
``SELECT count(*), min(created_at), min(deadline) FROM items WHERE project_id = ? AND state = 'active'``.
A page that shows how much waits and how old it is cannot do less than that; each page's time is
printed as a multiple of it. There is no target in the issues: this guards the pages against scans
that grow with the backlog (a dashboard read the backlog seven times until git 44f9e14).
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DEFAULT_PG_ADMIN_URL, libpq_url, machine_info, print_machine, table  # noqa: E402
from dispatch import PROJECT, WORK_TYPES, BenchDb, create_bench_db, drop_bench_db  # noqa: E402

MANAGER, PASSWORD = "bench-manager", "bench-manager-pass-1"
PAGES = ["/", "/dashboards", f"/dashboards?scope=project&key={PROJECT}", "/floor", "/exports", "/staffing",
         f"/quality/report?project={PROJECT}", "/api/v1/status", f"/api/v1/projects/{PROJECT}/items",
         "/api/v1/dashboards"]


def do_some_work(bench: BenchDb, cycles: int) -> None:
    """Lease and answer ``cycles`` items through the services (the pages' time windows get rows)."""
    from seatflow.domain.actors import Actor, Role
    from seatflow.services import answers, dispatch
    from seatflow.services._tx import transact
    from seatflow.store.engine import Database, make_engine

    db = Database(make_engine(bench.url))
    worker = Actor(id=bench.users[0], username="bw0000", role=Role.WORKER)
    answer = WORK_TYPES[bench.work_type][1]
    for n in range(cycles):
        leased = transact(db, lambda c: dispatch.next_task(c, worker))
        transact(db, lambda c, lease_id=leased.lease_id, key=f"pages-{n}": answers.submit(
            c, worker, lease_id=lease_id, answer=answer, idempotency_key=key))
    with db.write() as conn:
        from seatflow.services import accounts

        accounts.create_user(conn, None, username=MANAGER, password=PASSWORD, role="manager", locale="en")
    db.dispose()


def analyze(bench: BenchDb) -> None:
    if bench.kind == "postgres":
        import psycopg

        with psycopg.connect(libpq_url(bench.url), autocommit=True) as con:
            con.execute("VACUUM ANALYZE")
    else:
        con = sqlite3.connect(bench.url.removeprefix("sqlite:///"))
        con.execute("ANALYZE")
        con.close()


def baseline_scan(bench: BenchDb, repeats: int) -> float:
    """Median seconds of one scan of the backlog through the bare driver."""
    sql = ("SELECT count(*), min(created_at), min(deadline) FROM items "
           f"WHERE project_id = {int(bench.project_id)} AND state = 'active'")
    if bench.kind == "postgres":
        import psycopg

        con: Any = psycopg.connect(libpq_url(bench.url), autocommit=True)
    else:
        con = sqlite3.connect(bench.url.removeprefix("sqlite:///"))
    try:
        con.execute(sql).fetchall()  # warm-up, as the pages get
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            n = con.execute(sql).fetchall()[0][0]
            times.append(time.perf_counter() - t0)
        assert n > 0, "the backlog is empty"
    finally:
        con.close()
    return statistics.median(times)


def time_pages(bench: BenchDb, repeats: int, home: Path) -> list[dict[str, Any]]:
    from fastapi.testclient import TestClient

    from seatflow.app import create_app
    from seatflow.config import Settings

    app = create_app(Settings(home=home, database_url=bench.url, secret_key="bench-pages-" + "x" * 20,
                              delivery_in_process=False))
    out = []
    with TestClient(app) as client:
        form = client.get("/login").text
        data = {"username": MANAGER, "password": PASSWORD}
        hidden = re.search(r'name="(csrf[^"]*)" value="([^"]+)"', form)
        if hidden:
            data[hidden.group(1)] = hidden.group(2)
        login = client.post("/login", data=data, follow_redirects=False)
        assert login.status_code == 303, f"login failed: {login.status_code} {login.text[:300]}"
        for page in PAGES:
            first = client.get(page)
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                resp = client.get(page)
                times.append(time.perf_counter() - t0)
            out.append({"page": page, "status": resp.status_code, "first_status": first.status_code,
                        "seconds": statistics.median(times), "bytes": len(resp.content)})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    ap.add_argument("--items", type=int, default=1_000_000, help="backlog size (ready items)")
    ap.add_argument("--work", type=int, default=None,
                    help="items leased and answered before timing (default: items / 1000, at least 20)")
    ap.add_argument("--repeats", type=int, default=3, help="timed requests per page (the median is reported)")
    ap.add_argument("--pg-url", default=DEFAULT_PG_ADMIN_URL,
                    help="SQLAlchemy URL of a database on the PostgreSQL server to create the bench database on")
    ap.add_argument("--keep", action="store_true", help="keep the database (its location is printed)")
    ap.add_argument("--smoke", action="store_true", help="200 items, 1 repeat: for CI")
    args = ap.parse_args(argv)
    if args.smoke:
        args.items, args.repeats = 200, 1
    if args.items < 1 or args.repeats < 1:
        ap.error("--items and --repeats must be at least 1")
    work = args.work if args.work is not None else max(20, args.items // 1000)
    if not 0 <= work < args.items:
        ap.error(f"--work must be between 0 and --items - 1 ({args.items - 1})")

    print_machine(machine_info(args.pg_url if args.db == "postgres" else None))
    print("command: python bench/pages.py " + " ".join(argv if argv is not None else sys.argv[1:]))
    print(f"== {args.db}: setting up {args.items:,} ready items, {work:,} of them answered ...", flush=True)
    bench = create_bench_db(args.db, args.items, 1, args.pg_url, "pages", "text_annotation")
    try:
        do_some_work(bench, work)
        analyze(bench)
        print(f"   set-up took {bench.setup_seconds:.1f} s ({bench.url})", flush=True)
        base = baseline_scan(bench, args.repeats)
        assert bench.tmp is not None
        pages = time_pages(bench, args.repeats, Path(bench.tmp) / "home")
    finally:
        if args.keep:
            print(f"   kept: {bench.url}")
        else:
            drop_bench_db(bench, args.pg_url)

    rows = [[p["page"], p["status"], f"{p['seconds'] * 1000:.0f}", f"{p['seconds'] / base:.1f}x", f"{p['bytes']:,}"]
            for p in pages]
    print(f"\n== baseline: one scan of the backlog through the driver: {base * 1000:.1f} ms (median of {args.repeats})")
    print(table(["page", "status", "ms (median)", "x scan", "bytes"], rows))
    failed = [p["page"] for p in pages if p["status"] != 200 or p["first_status"] != 200]
    print("RESULT " + json.dumps({"bench": "pages", "db": args.db, "items": args.items, "mode": "scan",
                                  "seconds": base}))
    for p in pages:
        print("RESULT " + json.dumps({"bench": "pages", "db": args.db, "items": args.items, "mode": "page",
                                      **p, "ratio": p["seconds"] / base}))
    if failed:
        print(f"pages that did not answer 200: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
