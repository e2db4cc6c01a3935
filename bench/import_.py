"""Import benchmark: N JSONL items through seatflow's import service, against a raw bulk insert.

    .venv/bin/python bench/import_.py --db postgres --rows 1000000
    .venv/bin/python bench/import_.py --db sqlite --smoke

It writes a JSONL file of N items (moderation text items, or ``--work-type image_annotation`` image
items with a width and height), then, each into a fresh database with the real schema and a fresh
project, and each in a process of its own (so that peak RSS, ``ru_maxrss``, is the importer's alone):

``import``    ``seatflow.services.imports.import_records(records_from(file))``: what ``seatflow import``
              runs (streamed parse, per-record validation by the work type, batches of --batch-size
              items + their tasks per transaction, resumable by external id).
``raw``       the baseline: the same file streamed and ``json.loads``-ed line by line, the same item
              rows and their task rows written with no validation, no SQLAlchemy: on PostgreSQL
              ``COPY items FROM STDIN`` + ``INSERT INTO tasks ... SELECT`` per batch, on SQLite
              ``executemany`` of pre-built tuples + ``INSERT INTO tasks ... SELECT`` per batch; one
              transaction per batch of the same size as the import's.

It checks that both databases end with N items and N tasks, prints rows/s for both, the ratio
(target >= 30 %) and the peak RSS of the importing process (target < 400 MB), then one
``RESULT {json}`` line per run for machines.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DEFAULT_PG_ADMIN_URL,
    libpq_url,
    machine_busy,
    machine_info,
    pg_create,
    pg_drop,
    print_machine,
    table,
    wait_quiet,
)

PROJECT = "bench-import"
TARGET_RATIO = 0.30
TARGET_RSS_MB = 400.0
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


# --- the input file -----------------------------------------------------------------------------


def write_jsonl(path: Path, rows: int, work_type: str) -> None:
    words = ("great", "video", "buy", "now", "cheap", "hello", "friends", "look", "at", "this", "new", "song",
             "free", "gift", "click", "here", "amazing", "deal")
    with path.open("w", encoding="utf-8") as fh:
        for i in range(rows):
            if work_type == "moderation":
                text = " ".join(words[(i * 7 + k * 13) % len(words)] for k in range(12)) + f" #{i}"
                rec: dict[str, Any] = {"external_id": f"m-{i:08d}", "payload": {"kind": "text", "text": text}}
            else:
                rec = {"external_id": f"img-{i:08d}",
                       "payload": {"image": f"photos/{i // 1000:04d}/{i:08d}.jpg", "width": 1920 - i % 640,
                                   "height": 1080 - i % 360, "meta": {"camera": f"cam-{i % 17}"}}}
            if i % 10 == 0:
                rec["priority"] = i % 3
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


# --- databases ----------------------------------------------------------------------------------


def fresh_database(kind: str, tmp: Path, pg_admin: str, name: str, work_type: str) -> tuple[str, str | None]:
    """A migrated database with a client and the project; (url, PostgreSQL name or None)."""
    from seatflow.services import accounts, projects
    from seatflow.store.engine import Database, make_engine
    from seatflow.store.migrate import upgrade

    pg_name = None
    if kind == "postgres":
        pg_name = f"bench_import_{os.getpid()}_{name}"
        url = pg_create(pg_admin, pg_name)
    else:
        url = f"sqlite:///{tmp / (name + '.db')}"
    engine = make_engine(url)
    upgrade(engine)
    db = Database(engine)
    with db.write() as conn:
        accounts.create_client(conn, None, slug="bench", name="Bench client")
        projects.create_project(conn, None, {"slug": PROJECT, "name": "Bench import", "client": "bench",
                                             "work_type": work_type, "workflow": "annotate(overlap=1)"})
    engine.dispose()
    return url, pg_name


def count_rows(url: str) -> tuple[int, int]:
    from sqlalchemy import text

    from seatflow.store.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            n_items = int(conn.execute(text("SELECT count(*) FROM items")).scalar_one())
            n_tasks = int(conn.execute(text("SELECT count(*) FROM tasks")).scalar_one())
    finally:
        engine.dispose()
    return n_items, n_tasks


# --- the children -------------------------------------------------------------------------------


def child_import(url: str, path: Path, batch_size: int, tmp: Path) -> dict[str, Any]:
    from seatflow.services.imports import import_records, records_from
    from seatflow.store.engine import Database, make_engine

    work_type = _work_type(url)
    db = Database(make_engine(url))
    _renice_backends_of(db.engine)
    t0, c0 = time.perf_counter(), time.process_time()
    records = records_from(path, media_root=tmp / "media", project_slug=PROJECT, work_type=work_type)
    report = import_records(db, None, PROJECT, records, source=str(path), batch_size=batch_size)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    db.dispose()
    if report.error:
        raise SystemExit(f"the import stopped: {report.error}")
    return {"rows": report.imported, "seconds": seconds, "cpu_seconds": cpu}


def _renice_backends_of(engine: Any) -> None:
    """PostgreSQL backends serving ``engine`` run at this process's nice value (see --nice)."""
    if engine.dialect.name != "postgresql" or os.nice(0) == 0:
        return
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        _renice_backend(dbapi_conn)


def _renice_backend(dbapi_conn: Any) -> None:
    if os.nice(0) == 0:
        return
    with dbapi_conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    dbapi_conn.rollback()
    try:
        os.setpriority(os.PRIO_PROCESS, int(pid), os.nice(0))
    except OSError:
        pass


def _work_type(url: str) -> str:
    from sqlalchemy import text

    from seatflow.store.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SELECT work_type FROM projects WHERE slug = :s"), {"s": PROJECT})
                       .scalar_one())
    finally:
        engine.dispose()


def _sqlite_ts(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def child_raw(url: str, path: Path, batch_size: int) -> dict[str, Any]:
    """Same rows, no validation, no SQLAlchemy: COPY (PostgreSQL) / executemany (SQLite) per batch."""
    t0, c0 = time.perf_counter(), time.process_time()
    if url.startswith("sqlite"):
        rows = _raw_sqlite(url.removeprefix("sqlite:///"), path, batch_size)
    else:
        rows = _raw_pg(libpq_url(url), path, batch_size)
    return {"rows": rows, "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0}


_TASKS_FROM_ITEMS = (
    "INSERT INTO tasks (client_id, project_id, item_id, stage, kind, slot, state, priority, deadline, created_at) "
    "SELECT client_id, project_id, id, 0, 'annotate', 0, 'ready', priority, deadline, created_at FROM items "
    "WHERE id > {p}")


def _lines(path: Path) -> Any:
    with path.open("r", encoding="utf-8") as fh:
        for raw in fh:
            if raw.strip():
                yield json.loads(raw)


def _raw_pg(dsn: str, path: Path, batch_size: int) -> int:
    import psycopg

    now = datetime.now(UTC)
    n = 0
    with psycopg.connect(dsn) as con:
        _renice_backend(con)
        client_id, project_id = con.execute("SELECT client_id, id FROM projects WHERE slug = %s",
                                            (PROJECT,)).fetchone()
        batch_id = con.execute(
            "INSERT INTO batches (client_id, project_id, name, source, status, item_count, created_at) "
            "VALUES (%s, %s, %s, %s, 'importing', 0, %s) RETURNING id",
            (client_id, project_id, path.name, str(path), now)).fetchone()[0]
        con.commit()
        last_id = 0
        batch: list[tuple[Any, ...]] = []

        def flush() -> None:
            nonlocal last_id
            with con.cursor() as cur:
                with cur.copy("COPY items (client_id, project_id, batch_id, external_id, payload, priority, "
                              "deadline, state, created_at) FROM STDIN") as cp:
                    for row in batch:
                        cp.write_row(row)
                cur.execute(_TASKS_FROM_ITEMS.replace("{p}", "%s") + " RETURNING item_id", (last_id,))
                last_id = max(r[0] for r in cur.fetchall())
                cur.execute("UPDATE batches SET item_count = item_count + %s WHERE id = %s", (len(batch), batch_id))
            con.commit()
            batch.clear()

        for rec in _lines(path):
            batch.append((client_id, project_id, batch_id, str(rec["external_id"]),
                          json.dumps(rec["payload"]), rec.get("priority", 0), FAR_FUTURE, "active", now))
            n += 1
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
        con.execute("UPDATE batches SET status = 'ready' WHERE id = %s", (batch_id,))
        con.commit()
    return n


def _raw_sqlite(file: str, path: Path, batch_size: int) -> int:
    now = _sqlite_ts(datetime.now(UTC))
    far = _sqlite_ts(FAR_FUTURE)
    con = sqlite3.connect(file, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000",
                   "cache_size=-65536"):
        con.execute(f"PRAGMA {pragma}")
    n = 0
    try:
        client_id, project_id = con.execute("SELECT client_id, id FROM projects WHERE slug = ?",
                                            (PROJECT,)).fetchone()
        batch_id = con.execute(
            "INSERT INTO batches (client_id, project_id, name, source, status, item_count, created_at) "
            "VALUES (?, ?, ?, ?, 'importing', 0, ?) RETURNING id",
            (client_id, project_id, path.name, str(path), now)).fetchone()[0]
        last_id = 0
        batch: list[tuple[Any, ...]] = []

        def flush() -> None:
            nonlocal last_id
            con.execute("BEGIN IMMEDIATE")
            con.executemany(
                "INSERT INTO items (client_id, project_id, batch_id, external_id, payload, priority, deadline, "
                "state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?)", batch)
            con.execute(_TASKS_FROM_ITEMS.replace("{p}", "?"), (last_id,))
            last_id = con.execute("SELECT max(id) FROM items").fetchone()[0]
            con.execute("UPDATE batches SET item_count = item_count + ? WHERE id = ?", (len(batch), batch_id))
            con.execute("COMMIT")
            batch.clear()

        for rec in _lines(path):
            batch.append((client_id, project_id, batch_id, str(rec["external_id"]), json.dumps(rec["payload"]),
                          rec.get("priority", 0), far, now))
            n += 1
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
        con.execute("UPDATE batches SET status = 'ready' WHERE id = ?", (batch_id,))
    finally:
        con.close()
    return n


def run_child(mode: str, url: str, path: Path, batch_size: int, tmp: Path,
              profile: Path | None = None) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", mode, "--url", url, "--file", str(path), "--batch-size",
           str(batch_size), "--tmp", str(tmp)]
    if profile is not None:  # py-spy runs the child and samples it (the figures of this run are slowed)
        from _profile import py_spy

        profile.parent.mkdir(parents=True, exist_ok=True)
        cmd = [str(py_spy()), "record", "--rate", "100", "--format", "raw", "--output", str(profile), "--", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"the {mode} run failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("CHILD ")][-1]
    return dict(json.loads(line[6:]))


# --- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--rows", type=int, default=1_000_000, help="items in the JSONL file")
    ap.add_argument("--work-type", choices=("moderation", "image_annotation"), default="moderation")
    ap.add_argument("--batch-size", type=int, default=2000, help="items per transaction (the import's default)")
    ap.add_argument("--pg-url", default=DEFAULT_PG_ADMIN_URL,
                    help="SQLAlchemy URL of a database on the PostgreSQL server to create bench databases on")
    ap.add_argument("--smoke", action="store_true", help="2,000 rows, for CI")
    ap.add_argument("--keep", action="store_true", help="keep the file and the databases")
    ap.add_argument("--nice", type=int, default=0,
                    help="run the importers and their PostgreSQL backends at this nice value (e.g. -10 when other "
                    "work shares the machine; needs root)")
    ap.add_argument("--max-other", type=float, default=0.15,
                    help="before each run, wait until at most this many cores are busy (0: don't wait)")
    ap.add_argument("--quiet-timeout", type=float, default=900.0, help="longest wait for a quiet machine (s)")
    ap.add_argument("--profile", metavar="DIR",
                    help="run each importer under py-spy (raw stacks to DIR, a summary printed); slows the run")
    ap.add_argument("--child", choices=("import", "raw"), help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    ap.add_argument("--tmp", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.nice and not args.child:
        os.nice(args.nice)  # the importing children inherit it; they renice their PostgreSQL backends

    if args.child:
        out = (child_import(args.url, Path(args.file), args.batch_size, Path(args.tmp)) if args.child == "import"
               else child_raw(args.url, Path(args.file), args.batch_size))
        ru = resource.getrusage(resource.RUSAGE_SELF)
        out["maxrss_mb"] = ru.ru_maxrss / 1024.0  # KiB on Linux

        print("CHILD " + json.dumps(out), flush=True)
        return 0

    if args.profile:
        from _profile import py_spy

        if py_spy() is None:
            raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    if args.smoke:
        args.rows = 2000
        args.max_other = 0.0
    if args.rows < 1:
        raise SystemExit("--rows must be at least 1")
    info = machine_info(args.pg_url if args.db == "postgres" else None)
    print_machine(info)
    print(f"date: {datetime.now(UTC).isoformat(timespec='seconds')}")
    print("command: " + " ".join([Path(sys.executable).name, *sys.argv]), flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="seatflow-bench-import-"))
    results: list[dict[str, Any]] = []
    made: list[str] = []
    try:
        path = tmp / f"items-{args.rows}.jsonl"
        t0 = time.perf_counter()
        write_jsonl(path, args.rows, args.work_type)
        print(f"input: {path} ({args.rows:,} {args.work_type} items, {path.stat().st_size / 1e6:.1f} MB, "
              f"written in {time.perf_counter() - t0:.1f} s)", flush=True)
        for mode in ("import", "raw"):
            url, pg_name = fresh_database(args.db, tmp, args.pg_url, mode, args.work_type)
            if pg_name:
                made.append(pg_name)
            if args.max_other > 0:
                wait_quiet(args.max_other, args.quiet_timeout)
            busy0, t0 = machine_busy(), time.perf_counter()
            prof = Path(args.profile) / f"import-{args.db}-{mode}.txt" if args.profile else None
            r = run_child(mode, url, path, args.batch_size, tmp, prof)
            r["machine_busy_cores"] = (machine_busy() - busy0) / (time.perf_counter() - t0)
            n_items, n_tasks = count_rows(url)
            if n_items != args.rows or n_tasks != args.rows:
                raise SystemExit(f"the {mode} run left {n_items} items and {n_tasks} tasks, expected {args.rows} each")
            r.update({"bench": "import", "db": args.db, "mode": mode, "work_type": args.work_type,
                      "batch_size": args.batch_size, "rows_per_s": r["rows"] / r["seconds"]})
            results.append(r)
            print(f"  {args.db:8} {mode:6} {r['rows']:>9,} rows in {r['seconds']:7.1f} s = "
                  f"{r['rows_per_s']:9,.0f} rows/s   peak RSS {r['maxrss_mb']:6.1f} MB   "
                  f"[importer cpu {r['cpu_seconds'] / r['seconds']:.2f} cores; machine busy "
                  f"{r['machine_busy_cores']:.2f} of {os.cpu_count()} cores]", flush=True)
            if prof is not None:
                from _profile import summarize

                print(summarize([prof], title=f"py-spy, {mode} process ({prof})"), flush=True)
            if pg_name and not args.keep:
                pg_drop(args.pg_url, pg_name)
                made.remove(pg_name)
    finally:
        for name in made:
            if not args.keep:
                pg_drop(args.pg_url, name)
        if args.keep:
            print(f"kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    imp, raw = results
    ratio = imp["rows_per_s"] / raw["rows_per_s"]
    baseline = "COPY + INSERT...SELECT" if args.db == "postgres" else "executemany + INSERT...SELECT"
    print("\n== summary")
    print(table(["db", "run", "rows", "seconds", "rows/s", "peak RSS MB"],
                [[args.db, "import service", f"{imp['rows']:,}", imp["seconds"], f"{imp['rows_per_s']:,.0f}",
                  imp["maxrss_mb"]],
                 [args.db, f"raw ({baseline})", f"{raw['rows']:,}", raw["seconds"], f"{raw['rows_per_s']:,.0f}",
                  raw["maxrss_mb"]]]))
    print("\n== targets (issue 2)")
    print(f"  import rate / raw bulk insert rate: {ratio:.1%} (target >= {TARGET_RATIO:.0%}) -> "
          f"{'met' if ratio >= TARGET_RATIO else 'MISSED'}")
    print(f"  peak RSS of the importing process: {imp['maxrss_mb']:.1f} MB (target < {TARGET_RSS_MB:.0f} MB) -> "
          f"{'met' if imp['maxrss_mb'] < TARGET_RSS_MB else 'MISSED'}")
    print()
    for r in results:
        print("RESULT " + json.dumps(r))
    print("RESULT " + json.dumps({"bench": "import", "db": args.db, "mode": "ratio", "ratio": ratio,
                                  "rows": args.rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
