"""Chaos: 1,000 moderation decisions reach a flaky receiver at least once, through two SIGKILLs.

A real server (``uvicorn --factory seatflow.asgi:app_from_env``, its webhook deliverer running in
process) serves moderators (threads doing lease -> decide over HTTP). The receiver on loopback fails
30% of requests (500s, connections closed without an answer, answers slower than the webhook
timeout), is down for a few seconds, and the server is killed with SIGKILL twice and restarted.
At the end:

* every item is decided, and each decision is one outbox event (moderation.decided);
* every event reached the receiver (a 2xx answer) at least once;
* every request the receiver got carries a signature that verifies over its exact bytes;
* the deliveries of one event (duplicates) carry the same idempotency key, event id and bytes,
  and the body reports the decision the moderator made.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from seatflow.domain import webhooks
from seatflow.services import accounts, deliveries, imports, projects
from seatflow.services.imports import Record
from seatflow.store import tables
from seatflow.store.engine import Database, make_engine

from ._webhook_receiver import DROP, Answer, Received, Receiver

ITEMS = 1000
MODERATORS = 8
LEASE_SECONDS = 10  # the least a lease may be: tasks held at a kill come back after this
KILLS_AT = (0.3, 0.65)  # shares of the decisions made when the server is killed
DOWN_AT, DOWN_SECONDS = 0.45, 4.0  # the receiver goes away for a while
FAILURE_RATE = 0.30
DEADLINE_SECONDS = 150
REASONS = ("violence", "fraud", "copyright")


# --- the server --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    port: int
    env: dict[str, str]
    log_dir: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        log = self.log_dir / f"server-{self.starts}.log"
        with log.open("wb") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "seatflow.asgi:app_from_env", "--host", "127.0.0.1",
                 "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
                env=self.env, stdout=fh, stderr=fh,
            )
        end = time.monotonic() + 60
        while time.monotonic() < end:
            assert self.proc.poll() is None, f"the server exited:\n{log.read_text(errors='replace')}"
            try:
                if httpx.get(self.base + "/healthz", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not answer within 60 s:\n{log.read_text(errors='replace')}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no shutdown, no flush, requests in flight die with it
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


# --- the center ----------------------------------------------------------------------------------------


def seed(db: Database, hook_url: str) -> tuple[str, list[str]]:
    """A moderation project of ITEMS text posts and MODERATORS moderators: (webhook secret, tokens)."""
    tokens = []
    with db.write() as conn:
        accounts.create_client(conn, None, slug="vidplat", name="Video platform")
        secret = str(deliveries.set_webhook(conn, None, "vidplat", url=hook_url, rotate_secret=True)["secret"])
        projects.create_project(conn, None, {"slug": "gate", "name": "Gate", "client": "vidplat",
                                             "work_type": "moderation", "workflow": "annotate(overlap=1)"})
        for n in range(MODERATORS):
            accounts.create_user(conn, None, username=f"mod{n}", password=None, role="worker")
            accounts.grant(conn, None, username=f"mod{n}", project_slug="gate", skill="annotate")
            tokens.append(accounts.create_token(conn, None, username=f"mod{n}"))
    records = (Record("posts", n + 1, {"external_id": f"post-{n:04d}", "payload": {
        "kind": "text", "text": f"Holiday video number {n} from Neijiang"}}) for n in range(ITEMS))
    assert imports.import_records(db, None, "gate", records, source="posts").imported == ITEMS
    return secret, tokens


def decision_for(external_id: str) -> dict[str, Any]:
    n = int(external_id.rsplit("-", 1)[1])
    if n % 3 == 0:
        return {"decision": "reject", "reasons": [REASONS[n % len(REASONS)]]}
    return {"decision": "approve"}


# --- the moderators -----------------------------------------------------------------------------------


@dataclass
class Run:
    server: Server
    decided: set[str] = field(default_factory=set)  # external ids with a 200 on their decision
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def share(self) -> float:
        with self.lock:
            return len(self.decided) / ITEMS


def moderator(run: Run, token: str, n: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=10.0) as http:
        while not run.stop.is_set():
            try:
                resp = http.post(run.server.base + "/api/v1/leases", headers=headers, json={})
            except httpx.TransportError:
                time.sleep(0.2)  # the server is down: wait for it to come back
                continue
            if resp.status_code == 404:  # nothing ready now (leases held at a kill come back later)
                time.sleep(0.2)
                continue
            if resp.status_code != 201:
                run.errors.append(f"lease: {resp.status_code} {resp.text[:200]}")
                time.sleep(0.2)
                continue
            lease = resp.json()
            external_id = lease["item"]["external_id"]
            body = {"answer": decision_for(external_id), "idempotency_key": f"mod{n}-{lease['lease_id']}"}
            for _ in range(200):  # the same submit again after a crash, until it is answered
                try:
                    sub = http.post(f"{run.server.base}/api/v1/leases/{lease['lease_id']}/submit", headers=headers,
                                    json=body)
                except httpx.TransportError:
                    time.sleep(0.2)
                    continue
                if sub.status_code == 200:
                    with run.lock:
                        run.decided.add(external_id)
                elif sub.status_code != 410:  # 410: the lease expired while the server was down; it went back
                    run.errors.append(f"submit: {sub.status_code} {sub.text[:200]}")
                break


# --- the receiver's moods -----------------------------------------------------------------------------


def flaky(seed_value: int) -> Any:
    rng = random.Random(seed_value)
    lock = threading.Lock()

    def respond(_r: Received) -> Answer:
        with lock:
            x = rng.random()
        if x < 0.20:
            return Answer(500)
        if x < 0.25:
            return Answer(DROP)  # the connection closes without an answer
        if x < FAILURE_RATE:
            return Answer(200, delay=1.5)  # handled, but later than the sender waits: it will come again
        return Answer(200)

    return respond


# --- the test -----------------------------------------------------------------------------------------------


def test_every_decision_reaches_a_flaky_receiver_through_two_sigkills(db_url: str, tmp_path: Path) -> None:
    receiver = Receiver(respond=flaky(4)).start()
    db = Database(make_engine(db_url))
    server = Server(free_port(), {}, tmp_path)
    try:
        secret, tokens = seed(db, receiver.url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEATFLOW_")}
        env.update({
            "SEATFLOW_HOME": str(tmp_path / "home"),
            "SEATFLOW_DATABASE_URL": db_url,
            "SEATFLOW_SECRET_KEY": "chaos",
            "SEATFLOW_LEASE_SECONDS": str(LEASE_SECONDS),
            "SEATFLOW_REAP_INTERVAL_SECONDS": "0.5",
            "SEATFLOW_DB_POOL_SIZE": "6",
            "SEATFLOW_WEBHOOK_TIMEOUT_SECONDS": "1",
            "SEATFLOW_DELIVERY_CLAIM_SECONDS": "3",
            "SEATFLOW_DELIVERY_POLL_SECONDS": "0.2",
            "SEATFLOW_WEBHOOK_BACKOFF_BASE_SECONDS": "0.1",
            "SEATFLOW_WEBHOOK_BACKOFF_CAP_SECONDS": "1.5",
            "SEATFLOW_WEBHOOK_MAX_ATTEMPTS": "100",
        })
        server.env = env
        server.start()
        run = Run(server)
        threads = [threading.Thread(target=moderator, args=(run, token, n), daemon=True)
                   for n, token in enumerate(tokens)]
        for t in threads:
            t.start()

        started = time.monotonic()
        marks: list[str] = []
        kills = list(KILLS_AT)
        down_done = False
        back_at: float | None = None  # while the receiver is away: when it comes back
        # The loop keeps its 50 ms cadence through the receiver's downtime (a sleep there once let the
        # moderators, faster now, decide past the second kill's mark unseen).
        while run.share() < 1.0 or back_at is not None:
            assert time.monotonic() - started < DEADLINE_SECONDS, f"only {run.share():.0%} decided: {run.errors[:5]}"
            if kills and run.share() >= kills[0]:
                kills.pop(0)
                marks.append(f"kill {time.monotonic() - started:.1f}s")
                server.kill()
                time.sleep(0.5)  # dead for a moment: moderators' requests fail and are retried
                server.start()
            if not down_done and run.share() >= DOWN_AT:
                down_done = True
                marks.append(f"down {time.monotonic() - started:.1f}s")
                receiver.stop()
                back_at = time.monotonic() + DOWN_SECONDS
            if back_at is not None and time.monotonic() >= back_at:
                back_at = None
                receiver.start()
            time.sleep(0.05)
        marks.append(f"decided {time.monotonic() - started:.1f}s")
        run.stop.set()
        for t in threads:
            t.join(30)
        assert not kills and down_done and server.starts == 3
        assert not run.errors, run.errors[:10]

        # every decision becomes one event; wait until each is delivered
        while True:
            with db.read() as conn:
                states: dict[str, int] = dict(conn.execute(select(tables.outbox.c.state, func.count())
                                           .group_by(tables.outbox.c.state)).all())
            if states.get("delivered", 0) == ITEMS:
                break
            assert time.monotonic() - started < DEADLINE_SECONDS, f"deliveries still open: {states}"
            time.sleep(0.2)
        took = time.monotonic() - started

        with db.read() as conn:
            done = int(conn.execute(select(func.count()).select_from(tables.items)
                                    .where(tables.items.c.state == "done")).scalar_one())
            events = {r.id: r for r in conn.execute(select(tables.outbox))}
            attempts = list(conn.execute(select(tables.webhook_attempts)))
        assert done == ITEMS
        assert len(events) == ITEMS and {e.topic for e in events.values()} == {"moderation.decided"}
        assert len({e.item_id for e in events.values()}) == ITEMS, "one event per decided item"

        accepted = receiver.accepted()
        by_event: dict[int, list[Received]] = defaultdict(list)
        for r in receiver.requests:
            webhooks.verify(secret, r.headers["seatflow-signature"], r.body, now=time.time())  # every one
            by_event[int(r.headers["seatflow-event-id"])].append(r)
        assert set(by_event) == set(events)
        got = {int(r.headers["seatflow-event-id"]) for r in accepted}
        assert got == set(events), f"{len(set(events) - got)} event(s) never reached the receiver"
        for event_id, requests in by_event.items():
            event = events[event_id]
            assert {r.headers["seatflow-idempotency-key"] for r in requests} == {event.idempotency_key}
            assert len({r.body for r in requests}) == 1, "every delivery of an event sends the same bytes"
            data = json.loads(requests[0].body)["data"]
            expected = decision_for(data["external_id"])
            assert data["decision"] == expected["decision"], data
            assert [r["code"] for r in data["reasons"]] == expected.get("reasons", [])

        # the chaos happened: failures of every kind, retries, duplicates
        statuses = Counter(r.status for r in receiver.requests)
        duplicates = sum(1 for rs in by_event.values() if sum(1 for r in rs if r.status == 200) > 1)
        refused = sum(1 for a in attempts if a.error and "Connect" in a.error)
        timeouts = sum(1 for a in attempts if a.error and "timeout" in a.error)
        print(f"\nchaos [{db.dialect}]: {ITEMS} decisions delivered in {took:.1f} s; receiver saw "
              f"{len(receiver.requests)} requests {dict(statuses)}; {duplicates} event(s) handled twice or more; "
              f"{len(attempts)} attempts, {refused} refused while down, {timeouts} timeouts; {', '.join(marks)}")
        assert statuses[500] > 0 and statuses[DROP] > 0 and timeouts > 0
        assert refused > 0, "the receiver's outage was not noticed"
        assert duplicates > 0, "no duplicate was provoked"
        assert len(attempts) >= len(receiver.requests) - duplicates  # every attempt is in the log
    finally:
        server.stop()
        receiver.stop()
        db.dispose()
