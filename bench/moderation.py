"""Moderation benchmark: a client pushes posts at a fixed rate, moderators decide, webhooks come back.

    .venv/bin/python bench/moderation.py --db postgres --rate 20 --duration 60 --moderators 32 --think 1
    .venv/bin/python bench/moderation.py --db sqlite --smoke

It builds a fresh database (a SQLite file in a temporary folder, or a PostgreSQL database
``bench_moderation_<pid>`` on --pg-url's server, dropped at the end), migrated by seatflow itself,
with one client whose webhook points at a receiver started by the bench on loopback, one
moderation project (text posts, overlap 1) and the moderators. It then starts the real server
(``uvicorn`` on the app factory: 1 process on SQLite, 2 on PostgreSQL; each delivers webhooks from
its own in-process deliverer) and, for --duration seconds:

* the **client** pushes posts with ``POST /api/v1/moderation/items`` on a fixed schedule (open loop:
  post i is due at start + i / --rate, whatever the server's pace);
* **moderators** (threads) take the next task (``POST /api/v1/leases``), look at it for a random
  time (exponential, mean --think seconds) and decide (approve, or reject with a reason);
* the **receiver** checks each webhook's signature and notes when it arrived.

Then it waits for the decisions still in the queue and their webhooks (--drain seconds at most) and
prints, from the clocks of this one machine:

* ingest-to-decision: the client sending the post -> the decision's ``decided_at`` (the server's
  commit time, carried in the webhook);
* decision-to-webhook: ``decided_at`` -> the receiver reading the request;
* lost (pushed and accepted by the API but never delivered) and duplicate deliveries (the same
  idempotency key twice), signature failures and errors.

The targets of the issue: decision-to-webhook p99 <= 1 s with a healthy receiver, 0 lost.
A ``RESULT {json}`` line at the end is for machines (the CI smoke test reads it).
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from _common import DEFAULT_PG_ADMIN_URL, AppServer, Latency, machine_info, pg_create, pg_drop, print_machine, table  # noqa: E402

from seatflow.domain import webhooks  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "bench-gate"
REASONS = ("violence", "fraud", "copyright")


# --- the receiver -------------------------------------------------------------------------------


@dataclass
class Delivery:
    key: str
    event_id: int
    arrived: float  # time.time()
    data: dict[str, Any]


@dataclass
class Inbox:
    secret: str = ""
    fail_rate: float = 0.0
    deliveries: list[Delivery] = field(default_factory=list)
    bad_signatures: int = 0
    refused: int = 0  # answered 500 on purpose (--fail-rate)
    lock: threading.Lock = field(default_factory=threading.Lock)
    rng: random.Random = field(default_factory=lambda: random.Random(7))


def start_receiver(inbox: Inbox) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrived = time.time()
            try:
                webhooks.verify(inbox.secret, self.headers.get(webhooks.SIGNATURE_HEADER, ""), body, now=arrived)
                ok = True
            except webhooks.SignatureError:
                ok = False
            with inbox.lock:
                fail = ok and inbox.fail_rate > 0 and inbox.rng.random() < inbox.fail_rate
                if not ok:
                    inbox.bad_signatures += 1
                elif fail:
                    inbox.refused += 1
                else:
                    event = json.loads(body)
                    inbox.deliveries.append(Delivery(self.headers[webhooks.IDEMPOTENCY_HEADER], int(event["id"]),
                                                     arrived, event["data"]))
            status = 400 if not ok else (500 if fail else 204)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/webhooks"


# --- the database and the server ----------------------------------------------------------------


@dataclass
class Setup:
    url: str
    tmp: str
    pg_name: str | None
    client_token: str
    moderator_tokens: list[str]


def create_center(kind: str, pg_admin: str, moderators: int, hook_url: str, inbox: Inbox) -> Setup:
    from argon2 import PasswordHasher

    from seatflow.services import accounts, deliveries, projects
    from seatflow.store.engine import Database, make_engine
    from seatflow.store.migrate import upgrade

    tmp = tempfile.mkdtemp(prefix="bench-moderation-")
    pg_name = None
    if kind == "postgres":
        pg_name = f"bench_moderation_{os.getpid()}"
        url = pg_create(pg_admin, pg_name)
    else:
        url = f"sqlite:///{tmp}/seatflow.db"
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # no passwords are used
    db = Database(make_engine(url))
    try:
        upgrade(db.engine)
        with db.write() as conn:
            accounts.create_client(conn, None, slug="vidplat", name="Video platform")
            hook = deliveries.set_webhook(conn, None, "vidplat", url=hook_url, rotate_secret=True)
            inbox.secret = str(hook["secret"])
            projects.create_project(conn, None, {"slug": PROJECT, "name": "Pre-publication gate", "client": "vidplat",
                                                 "work_type": "moderation", "workflow": "annotate(overlap=1)",
                                                 "sla_minutes": 5})
            accounts.create_user(conn, None, username="vidplat-api", password=None, role="client",
                                 client_slug="vidplat")
            client_token = accounts.create_token(conn, None, username="vidplat-api")
            tokens = []
            for n in range(moderators):
                accounts.create_user(conn, None, username=f"mod{n}", password=None, role="worker")
                accounts.grant(conn, None, username=f"mod{n}", project_slug=PROJECT, skill="annotate")
                tokens.append(accounts.create_token(conn, None, username=f"mod{n}"))
    finally:
        db.dispose()
    return Setup(url, tmp, pg_name, client_token, tokens)


# --- the client and the moderators ----------------------------------------------------------------


@dataclass
class Tally:
    pushed: dict[str, float] = field(default_factory=dict)  # external id -> when the client sent it
    push_errors: list[str] = field(default_factory=list)
    decided: int = 0
    moderator_errors: list[str] = field(default_factory=list)
    behind: float = 0.0  # the most the pusher fell behind its schedule (seconds)
    lock: threading.Lock = field(default_factory=threading.Lock)


def pusher(base: str, token: str, rate: float, duration: float, tally: Tally, start: float, lane: int,
           lanes: int) -> None:
    """Sends posts lane, lane + lanes, ... each at its due time (start + i / rate)."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=30) as http:
        i = lane
        while True:
            due = start + i / rate
            if due - start >= duration:
                return
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            external_id = f"post-{i:07d}"
            sent = time.time()
            with tally.lock:
                tally.behind = max(tally.behind, sent - due)
            try:
                resp = http.post(base + "/api/v1/moderation/items", headers=headers, json={
                    "project": PROJECT, "external_id": external_id, "kind": "text",
                    "text": f"Post {i}: our new phone case, shipped from Neijiang", "metadata": {"n": i}})
                if resp.status_code == 201:
                    with tally.lock:
                        tally.pushed[external_id] = sent
                else:
                    tally.push_errors.append(f"{resp.status_code} {resp.text[:200]}")
            except httpx.HTTPError as exc:
                tally.push_errors.append(f"{type(exc).__name__}: {exc}")
            i += lanes


def moderator(base: str, token: str, think: float, stop: threading.Event, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=30) as http:
        while not stop.is_set():
            try:
                resp = http.post(base + "/api/v1/leases", headers=headers, json={})
                if resp.status_code == 404:
                    time.sleep(0.02)
                    continue
                if resp.status_code != 201:
                    tally.moderator_errors.append(f"lease {resp.status_code} {resp.text[:200]}")
                    time.sleep(0.1)
                    continue
                lease = resp.json()
                if think > 0:
                    time.sleep(rng.expovariate(1.0 / think))
                n = int(lease["item"]["external_id"].rsplit("-", 1)[1])
                answer = {"decision": "reject", "reasons": [REASONS[n % 3]]} if n % 4 == 0 else {"decision": "approve"}
                sub = http.post(f"{base}/api/v1/leases/{lease['lease_id']}/submit", headers=headers,
                                json={"answer": answer, "idempotency_key": f"{lease['lease_id']}"})
                if sub.status_code == 200:
                    with tally.lock:
                        tally.decided += 1
                else:
                    tally.moderator_errors.append(f"submit {sub.status_code} {sub.text[:200]}")
            except httpx.HTTPError as exc:
                tally.moderator_errors.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.1)


# --- the run ------------------------------------------------------------------------------------


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--rate", type=float, default=20.0, help="posts per second the client pushes")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of pushing")
    ap.add_argument("--moderators", type=int, default=32, help="simulated moderators")
    ap.add_argument("--think", type=float, default=1.0, help="mean seconds a moderator looks at a post")
    ap.add_argument("--drain", type=float, default=60.0, help="longest wait for the last decisions and webhooks")
    ap.add_argument("--fail-rate", type=float, default=0.0, help="share of webhooks the receiver answers 500")
    ap.add_argument("--pg-url", default=DEFAULT_PG_ADMIN_URL,
                    help="SQLAlchemy URL of a database on the PostgreSQL server to create the bench database on")
    ap.add_argument("--smoke", action="store_true", help="tiny run for CI: a few seconds")
    args = ap.parse_args(argv)
    if args.smoke:
        args.rate, args.duration, args.moderators, args.think, args.drain = 10.0, 3.0, 6, 0.05, 30.0
    if args.rate <= 0 or args.duration <= 0 or args.moderators < 1 or args.think < 0 or not 0 <= args.fail_rate < 1:
        raise SystemExit("--rate and --duration must be positive, --moderators at least 1, --think >= 0, "
                         "--fail-rate in [0, 1)")

    def _stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _stop)
    print_machine(machine_info(args.pg_url if args.db == "postgres" else None))
    print(f"date: {datetime.now(UTC).isoformat(timespec='seconds')}")
    print("command: " + " ".join([Path(sys.executable).name, *sys.argv]), flush=True)
    capacity = args.moderators / args.think if args.think > 0 else float("inf")
    print(f"\n== {args.db}: {args.rate:g} posts/s for {args.duration:g} s, {args.moderators} moderators "
          f"(~{capacity:.0f} decisions/s at {args.think:g} s each), receiver failing {args.fail_rate:.0%}", flush=True)

    inbox = Inbox(fail_rate=args.fail_rate)
    receiver, hook_url = start_receiver(inbox)
    setup = create_center(args.db, args.pg_url, args.moderators, hook_url, inbox)
    tally = Tally()
    try:
        with AppServer(setup.url, setup.tmp, 2 if args.db == "postgres" else 1) as server:
            stop = threading.Event()
            mods = [threading.Thread(target=moderator, args=(server.base, t, args.think, stop, tally, n), daemon=True)
                    for n, t in enumerate(setup.moderator_tokens)]
            for t in mods:
                t.start()
            lanes = max(2, min(16, int(args.rate // 5) + 1))
            start = time.time() + 0.5
            pushers = [threading.Thread(target=pusher, args=(server.base, setup.client_token, args.rate, args.duration,
                                                             tally, start, lane, lanes), daemon=True)
                       for lane in range(lanes)]
            for t in pushers:
                t.start()
            for t in pushers:
                t.join()
            pushed_at = time.time()
            print(f"   pushed {len(tally.pushed)} posts in {pushed_at - start:.1f} s "
                  f"(fell behind schedule by {tally.behind * 1000:.0f} ms at most); draining ...", flush=True)
            deadline = time.monotonic() + args.drain
            while time.monotonic() < deadline:
                with inbox.lock:
                    keys = {d.key for d in inbox.deliveries}
                if len(keys) >= len(tally.pushed):
                    break
                time.sleep(0.1)
            time.sleep(0.5)  # a duplicate may still be on its way
            stop.set()
            for t in mods:
                t.join(10)
        server_side = recorded_after(setup.url)
    finally:
        receiver.shutdown()
        receiver.server_close()
        if setup.pg_name:
            pg_drop(args.pg_url, setup.pg_name)
        shutil.rmtree(setup.tmp, ignore_errors=True)
    return report(args, tally, inbox, server_side)


def recorded_after(url: str) -> list[float]:
    """Seconds from each event's commit to its first attempt being recorded, from the database itself
    (tells the deliverer's own delay apart from this process's clocks and threads)."""
    from sqlalchemy import func, select

    from seatflow.store.engine import Database, make_engine
    from seatflow.store.tables import outbox, webhook_attempts

    db = Database(make_engine(url))
    try:
        with db.read() as conn:
            rows = conn.execute(
                select(outbox.c.created_at, func.min(webhook_attempts.c.attempted_at))
                .join(webhook_attempts, webhook_attempts.c.outbox_id == outbox.c.id)
                .group_by(outbox.c.id, outbox.c.created_at)
            ).all()
    finally:
        db.dispose()
    return [(first - created).total_seconds() for created, first in rows]


def report(args: argparse.Namespace, tally: Tally, inbox: Inbox, server_side: list[float]) -> int:
    with inbox.lock:
        deliveries = list(inbox.deliveries)
    first: dict[str, Delivery] = {}
    for d in sorted(deliveries, key=lambda d: d.arrived):
        first.setdefault(d.key, d)
    per_key = Counter(d.key for d in deliveries)
    duplicates = sum(n - 1 for n in per_key.values())
    delivered_ids = {d.data.get("external_id") for d in first.values()}
    lost = sorted(set(tally.pushed) - delivered_ids)
    to_decision = [_ts(d.data["decided_at"]) - tally.pushed[d.data["external_id"]]
                   for d in first.values() if d.data.get("external_id") in tally.pushed]
    to_webhook = [d.arrived - _ts(d.data["decided_at"]) for d in first.values()]
    ingest, hook, recorded = Latency.of(to_decision), Latency.of(to_webhook), Latency.of(server_side)
    print("\n== summary")
    print(table(["", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"], [
        ["ingest -> decision", ingest.n, ingest.p50, ingest.p95, ingest.p99, ingest.max],
        ["decision -> webhook", hook.n, hook.p50, hook.p95, hook.p99, hook.max],
        ["(event -> attempt recorded)", recorded.n, recorded.p50, recorded.p95, recorded.p99, recorded.max],
    ]))
    print(f"pushed {len(tally.pushed)}, decided {tally.decided}, delivered {len(first)} (distinct keys), "
          f"lost {len(lost)}, duplicate deliveries {duplicates}, bad signatures {inbox.bad_signatures}, "
          f"refused by the receiver on purpose {inbox.refused}")
    errors = tally.push_errors + tally.moderator_errors
    if errors:
        print(f"errors ({len(errors)}): " + "; ".join(errors[:5]))
    if lost:
        print("lost: " + ", ".join(lost[:20]))
    print("\n== targets")
    hook_ok = hook.p99 <= 1000.0
    print(f"decision -> webhook p99 <= 1000 ms: {hook.p99:.1f} ms {'OK' if hook_ok else 'MISSED'}")
    print(f"lost == 0: {len(lost)} {'OK' if not lost else 'MISSED'}")
    result = {"bench": "moderation", "db": args.db, "rate": args.rate, "duration": args.duration,
              "moderators": args.moderators, "think": args.think, "fail_rate": args.fail_rate,
              "pushed": len(tally.pushed), "decided": tally.decided, "delivered": len(first), "lost": len(lost),
              "duplicates": duplicates, "bad_signatures": inbox.bad_signatures, "errors": len(errors),
              "behind_ms": tally.behind * 1000,
              "ingest_to_decision": {"p50": ingest.p50, "p95": ingest.p95, "p99": ingest.p99, "max": ingest.max},
              "decision_to_webhook": {"p50": hook.p50, "p95": hook.p95, "p99": hook.p99, "max": hook.max},
              "event_to_recorded": {"p50": recorded.p50, "p99": recorded.p99}}
    print("RESULT " + json.dumps(result), flush=True)
    return 1 if lost or errors or inbox.bad_signatures else 0


if __name__ == "__main__":
    raise SystemExit(main())
