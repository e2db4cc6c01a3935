"""Export benchmark: N done image items with answers exported to JSONL and COCO, beside a raw baseline.

    .venv/bin/python bench/export.py --db sqlite --rows 1000000
    .venv/bin/python bench/export.py --db postgres --smoke

It builds one database with the real schema, a client, an image-annotation project (boxes and five-point
keypoints) and N done items whose accepted answer holds two boxes and a keypoint set (written in bulk, as
the seed of the measurement, not measured). Then, each in a process of its own (so that peak RSS,
``ru_maxrss``, is that export's alone):

``raw``    the baseline: the driver's own cursor (sqlite3; psycopg with a server-side cursor), the same
           SELECT as the export, each row turned into the same JSON line as the JSONL export and written.
``jsonl``  ``seatflow.services.exports.export_to_path(..., "jsonl")``: what ``seatflow export --format jsonl``
           runs (SQLAlchemy streamed read, the writer, sha256 of the file, the manifest).
``coco``   the same with ``"coco"``: images streamed out, annotations spilled to a temporary file and
           appended, categories from the schema.

It checks that every export holds N items, prints rows/s, the JSONL/raw ratio (target >= 50 %) and the
peak RSS of each (target < 400 MB), then one ``RESULT {json}`` line per run. Unless ``--smoke`` or
``--no-record``, the results are appended to bench/RESULTS.md with the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DEFAULT_PG_ADMIN_URL,
    libpq_url,
    machine_info,
    pg_create,
    pg_drop,
    print_machine,
    table,
    wait_quiet,
)

PROJECT = "bench-export"
TARGET_RATIO = 0.50
TARGET_RSS_MB = 400.0
RESULTS_MD = Path(__file__).resolve().parent / "RESULTS.md"
SCHEMA = {
    "labels": [{"name": "face"}, {"name": "person"}],
    "tools": ["bbox", "keypoints", "classify"],
    "keypoints": {"names": ["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"], "label": "face"},
    "classes": ["usable", "blurry"],
}
SELECT = ("SELECT id, external_id, batch_id, payload, result, done_at FROM items "
          "WHERE project_id = {p} AND state = 'done' ORDER BY id")


# --- the database -------------------------------------------------------------------------------


def answer_of(i: int) -> dict[str, Any]:
    x, y = 100 + i % 400, 80 + i % 300
    return {"boxes": [{"label": "face", "x": x, "y": y, "w": 120.5, "h": 150},
                      {"label": "person", "x": x - 60, "y": y - 40, "w": 300, "h": 600}],
            "keypoints": [{"label": "face", "points": [[x + 30, y + 50, 2], [x + 90, y + 50, 2], [x + 60, y + 80, 2],
                                                       [x + 40, y + 110, 1], [x + 80, y + 110, 2]]}],
            "class": "usable" if i % 7 else "blurry"}


def build(url: str, rows: int, chunk: int = 5000) -> int:
    """A migrated database with the project and ``rows`` done items; returns the project id."""
    from seatflow.services import accounts, projects
    from seatflow.store import catalog
    from seatflow.store.engine import Database, make_engine
    from seatflow.store.migrate import upgrade
    from seatflow.store.tables import batches, items

    engine = make_engine(url)
    upgrade(engine)
    db = Database(engine)
    now = datetime.now(UTC)
    with db.write() as conn:
        accounts.create_client(conn, None, slug="bench", name="Bench client")
        pid = projects.create_project(conn, None, {"slug": PROJECT, "name": "Bench export", "client": "bench",
                                                   "work_type": "image_annotation", "label_schema": SCHEMA})
        client = catalog.client_by_slug(conn, "bench").id
        bid = catalog.insert(conn, batches, {"client_id": client, "project_id": pid, "name": "bench",
                                             "source": "bench", "status": "ready", "created_at": now})
    done_at = now - timedelta(hours=1)
    for start in range(0, rows, chunk):
        batch = []
        for i in range(start, min(rows, start + chunk)):
            payload = {"image": f"photos/{i // 1000:04d}/{i:08d}.jpg", "width": 1920, "height": 1080,
                       "meta": {"camera": f"cam-{i % 17}"}}
            batch.append({"client_id": client, "project_id": pid, "batch_id": bid, "external_id": f"img-{i:08d}",
                          "payload": payload, "media": [payload["image"]], "priority": 0,
                          "deadline": datetime(9999, 1, 1, tzinfo=UTC), "state": "done",
                          "result": [{"submission_id": i + 1, "slot": 0, "worker_id": 1 + i % 50,
                                      "answer": answer_of(i)}],
                          "created_at": now, "done_at": done_at})
        with db.write() as conn:
            conn.execute(items.insert(), batch)
    engine.dispose()
    return pid


# --- the runs (each in its own process) ------------------------------------------------------------


def _line(item_id: int, ext: str, batch_id: int | None, payload: Any, result: Any, done_at: Any) -> str:
    answers = result or []
    return json.dumps({"external_id": ext, "item_id": item_id, "batch_id": batch_id, "payload": payload,
                       "answers": answers, "answer": answers[0]["answer"] if len(answers) == 1 else None,
                       "done_at": done_at.isoformat() if hasattr(done_at, "isoformat") else done_at},
                      ensure_ascii=False, separators=(",", ":")) + "\n"


def child_raw(url: str, pid: int, out: Path) -> int:
    n = 0
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("///", 1)[1])
        cur = conn.execute(SELECT.format(p=pid))
        with out.open("w", encoding="utf-8") as fh:
            while rows := cur.fetchmany(1000):
                fh.write("".join(_line(r[0], r[1], r[2], json.loads(r[3]), json.loads(r[4]), r[5]) for r in rows))
                n += len(rows)
        conn.close()
        return n
    import psycopg

    with psycopg.connect(libpq_url(url)) as conn, conn.cursor(name="raw_export") as cur:
        cur.itersize = 1000
        cur.execute(SELECT.format(p=pid))  # type: ignore[arg-type]
        with out.open("w", encoding="utf-8") as fh:
            while rows := cur.fetchmany(1000):
                fh.write("".join(_line(*r) for r in rows))
                n += len(rows)
    return n


def child_export(url: str, fmt: str, out: Path) -> int:
    from seatflow.domain.actors import Actor, Role
    from seatflow.services import exports
    from seatflow.store.engine import Database, make_engine

    db = Database(make_engine(url))
    actor = Actor(id=0, username="bench", role=Role.ADMIN, locale="en")
    res = exports.export_to_path(db, actor, PROJECT, fmt, out)
    db.dispose()
    counts = res.manifest_data["counts"]
    return int(counts.get("items", counts.get("images", 0)))


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Not ru_maxrss: on Linux that keeps the parent's peak across fork+exec."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_child(mode: str, url: str, pid: int, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", mode, "--url", url, "--project-id", str(pid), "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"the {mode} run failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("CHILD ")][-1]
    return dict(json.loads(line[6:]))


def check_output(mode: str, out: Path, rows: int) -> None:
    if mode == "coco":
        with out.open("rb") as fh:
            import ijson

            images = sum(1 for _ in ijson.items(fh, "images.item"))
        assert images == rows, f"coco export holds {images} images, expected {rows}"
    else:
        with out.open("rb") as fh:
            lines = sum(1 for _ in fh)
        assert lines == rows, f"{mode} export holds {lines} lines, expected {rows}"


# --- main ---------------------------------------------------------------------------------------


def record(info: dict[str, str], args: argparse.Namespace, results: dict[str, dict[str, Any]]) -> None:
    raw, jsonl, coco = results["raw"], results["jsonl"], results["coco"]
    lines = [
        f"\n## export — {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} — {args.db}, {args.rows:,} items\n",
        "machine: " + "; ".join(f"{k} {v}" for k, v in info.items()) + "\n",
        "| run | rows/s | seconds | peak RSS MB | output MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in (("raw baseline (cursor -> JSONL)", raw), ("seatflow JSONL", jsonl), ("seatflow COCO", coco)):
        lines.append(f"| {name} | {r['rows_per_s']:,.0f} | {r['seconds']:.1f} | {r['maxrss_mb']:.0f} | "
                     f"{r['bytes'] / 1e6:.0f} |")
    ratio = jsonl["rows_per_s"] / raw["rows_per_s"]
    lines.append(f"\nJSONL/raw = {ratio:.0%} (target >= {TARGET_RATIO:.0%}); "
                 f"peak RSS JSONL {jsonl['maxrss_mb']:.0f} MB, COCO {coco['maxrss_mb']:.0f} MB "
                 f"(target < {TARGET_RSS_MB:.0f} MB).\n")
    if not RESULTS_MD.exists():
        RESULTS_MD.write_text("# Benchmark results\n\nAppended by the benchmarks (bench/*.py) when run in full.\n",
                              encoding="utf-8")
    with RESULTS_MD.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--rows", type=int, default=1_000_000, help="done items to export")
    ap.add_argument("--pg-url", default=DEFAULT_PG_ADMIN_URL,
                    help="SQLAlchemy URL of a database on the PostgreSQL server to create the bench database on")
    ap.add_argument("--smoke", action="store_true", help="2,000 items, for CI; nothing is recorded")
    ap.add_argument("--no-record", action="store_true", help="do not append to bench/RESULTS.md")
    ap.add_argument("--keep", action="store_true", help="keep the database and the exports")
    ap.add_argument("--max-other", type=float, default=0.15,
                    help="before each run, wait until at most this many cores are busy (0: don't wait)")
    ap.add_argument("--quiet-timeout", type=float, default=600.0, help="longest wait for a quiet machine (s)")
    ap.add_argument("--child", choices=("raw", "jsonl", "coco"), help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--project-id", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        if args.child == "raw":
            import psycopg  # noqa: F401 - imported before the clock starts, like the export's modules
        else:
            import seatflow.services.exports  # noqa: F401
        t0 = time.perf_counter()
        out = Path(args.out)
        n = child_raw(args.url, args.project_id, out) if args.child == "raw" else child_export(args.url, args.child,
                                                                                                 out)
        seconds = time.perf_counter() - t0
        print("CHILD " + json.dumps({"rows": n, "seconds": seconds, "rows_per_s": n / seconds if seconds else 0.0,
                                     "maxrss_mb": peak_rss_mb(), "bytes": out.stat().st_size}), flush=True)
        return 0

    if args.smoke:
        args.rows = 2000
        args.max_other = 0.0
    info = machine_info(args.pg_url if args.db == "postgres" else None)
    print_machine(info)
    tmp = Path(tempfile.mkdtemp(prefix="seatflow-bench-export-"))
    pg_name = None
    try:
        if args.db == "postgres":
            pg_name = f"bench_export_{os.getpid()}"
            url = pg_create(args.pg_url, pg_name)
        else:
            url = f"sqlite:///{tmp / 'export.db'}"
        t0 = time.perf_counter()
        pid = build(url, args.rows)
        print(f"== built {args.rows:,} done items in {time.perf_counter() - t0:.1f} s ({args.db})", flush=True)
        results: dict[str, dict[str, Any]] = {}
        for mode, name in (("raw", "raw.jsonl"), ("jsonl", "export.jsonl"), ("coco", "export.coco.json")):
            if args.max_other > 0:
                wait_quiet(args.max_other, args.quiet_timeout)
            out = tmp / name
            r = run_child(mode, url, pid, out)
            check_output(mode, out, args.rows)
            r.update(mode=mode, db=args.db)
            results[mode] = r
            print(f"   {mode:5s} {r['rows']:>10,} rows in {r['seconds']:7.2f} s   {r['rows_per_s']:10,.0f} rows/s   "
                  f"peak RSS {r['maxrss_mb']:6.1f} MB   {r['bytes'] / 1e6:8.1f} MB written", flush=True)
            if not args.keep:
                out.unlink(missing_ok=True)
        raw, jsonl, coco = results["raw"], results["jsonl"], results["coco"]
        ratio = jsonl["rows_per_s"] / raw["rows_per_s"]
        print("\n== summary")
        print(table(["run", "rows", "rows/s", "seconds", "peak RSS MB"],
                    [[m, r["rows"], r["rows_per_s"], r["seconds"], r["maxrss_mb"]] for m, r in results.items()]))
        print("\n== targets")
        ok_ratio = ratio >= TARGET_RATIO
        ok_rss = max(jsonl["maxrss_mb"], coco["maxrss_mb"]) < TARGET_RSS_MB
        print(f"JSONL/raw rate {ratio:.0%} (target >= {TARGET_RATIO:.0%}): {'met' if ok_ratio else 'NOT met'}")
        print(f"peak RSS JSONL {jsonl['maxrss_mb']:.0f} MB, COCO {coco['maxrss_mb']:.0f} MB "
              f"(target < {TARGET_RSS_MB:.0f} MB): {'met' if ok_rss else 'NOT met'}")
        for r in results.values():
            print("RESULT " + json.dumps(r))
        print("RESULT " + json.dumps({"mode": "ratio", "db": args.db, "ratio": ratio}))
        if not args.smoke and not args.no_record:
            record(info, args, results)
            print(f"appended to {RESULTS_MD}")
    finally:
        if pg_name and not args.keep:
            pg_drop(args.pg_url, pg_name)
        if not args.keep:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
