"""Crash safety: a server killed with SIGKILL in the middle of work loses nothing.

A real server (``uvicorn --factory seatflow.asgi:app_from_env``) runs as a subprocess with short
leases (10 s, the least allowed) and a fast reaper. Worker threads do next -> submit over HTTP,
each holding a prefetched lease like the browser workspace does, so leases are open when the
server is killed. After a restart the test checks that

* every submit that got a 200 is in the database intact (same answer, task done, lease closed);
* a submit retried with the same idempotency key after the crash never creates a second answer
  (it is replayed when the first try committed, recorded once when it did not);
* every lease open at the kill goes back to ready after its expiry, without a manual step, and
  those tasks are leased again first (they are the oldest) and can be answered.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from seatflow.services.accounts import create_client, create_token, create_user, grant
from seatflow.services.imports import Record, import_records
from seatflow.services.projects import create_project
from seatflow.store.engine import Database, make_engine
from seatflow.store.tables import events, leases, submissions, tasks

WORKERS = 6
ITEMS = 300
LEASE_SECONDS = 10
CLASSES = ("positive", "neutral", "negative")


# --- the server -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(tmp: Path, db_url: str, name: str) -> Server:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEATFLOW_")}
    env.update({
        "SEATFLOW_HOME": str(tmp / "home"),
        "SEATFLOW_DATABASE_URL": db_url,
        "SEATFLOW_SECRET_KEY": "crash-test",
        "SEATFLOW_LEASE_SECONDS": str(LEASE_SECONDS),
        "SEATFLOW_REAP_INTERVAL_SECONDS": "0.5",
        "SEATFLOW_DB_POOL_SIZE": "4",
    })
    log = tmp / f"server-{name}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "seatflow.asgi:app_from_env", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-access-log"],
            env=env, stdout=fh, stderr=fh,
        )
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}:\n{server.text()}")
        try:
            if httpx.get(server.base + "/openapi.json", timeout=2.0).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"the server did not answer within 60s:\n{server.text()}")


def stop(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(5)


# --- the center ---------------------------------------------------------------------------------------


def seed(db: Database) -> dict[str, tuple[int, str]]:
    """A text project of ITEMS items (equal priority, so the queue is in id order) and WORKERS workers."""
    people: dict[str, tuple[int, str]] = {}
    with db.write() as conn:
        create_client(conn, None, slug="acme", name="Acme")
        create_project(conn, None, {"slug": "crash", "name": "Crash", "client": "acme",
                                    "work_type": "text_annotation", "workflow": "annotate(overlap=1)"})
        for i in range(WORKERS):
            name = f"w{i}"
            uid = create_user(conn, None, username=name, password=None, role="worker")
            grant(conn, None, username=name, project_slug="crash", skill="annotate")
            people[name] = (uid, create_token(conn, None, username=name))
    text = "Ordered a phone from Huawei in Wuhan; the courier lost the parcel twice. " * 2
    records = (Record("crash.jsonl", n + 1, {"external_id": f"c{n:04d}", "text": text}) for n in range(ITEMS))
    assert import_records(db, None, "crash", records, source="crash.jsonl").imported == ITEMS
    return people


def answer_for(worker_id: int, item_id: int, n: int) -> dict[str, Any]:
    start = (item_id + n) % 60
    return {"classes": [CLASSES[(worker_id + n) % 3]],
            "spans": [{"start": start, "end": start + 1 + worker_id % 7, "label": "PRODUCT"}]}


# --- the workers ------------------------------------------------------------------------------------------


@dataclass
class Submit:
    worker_id: int
    lease_id: int
    key: str
    answer: dict[str, Any]
    status: int | None = None  # None: no answer came back (the server died mid-request)
    body: dict[str, Any] = field(default_factory=dict)


@dataclass
class Journal:
    leases: list[tuple[int, int, int]] = field(default_factory=list)  # worker, lease, task
    submits: list[Submit] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self) -> int:
        return sum(1 for s in self.submits if s.status == 200)


def worker(base: str, worker_id: int, token: str, journal: Journal, stop_at: float) -> None:
    """Prefetch one lease ahead, submit the held one; stop when the server is gone."""
    n = 0
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10.0) as client:

        def lease() -> dict[str, Any] | None:
            r = client.post("/api/v1/leases", json={})
            if r.status_code == 404:
                return None
            if r.status_code != 201:
                raise AssertionError(f"lease: {r.status_code} {r.text}")
            body: dict[str, Any] = r.json()
            with journal.lock:
                journal.leases.append((worker_id, body["lease_id"], body["task_id"]))
            return body

        try:
            held = lease()
            while held is not None and time.monotonic() < stop_at:
                ahead = lease()  # the next item, already leased while this one is answered
                n += 1
                sub = Submit(worker_id, held["lease_id"], f"w{worker_id}-{n}", answer_for(worker_id,
                             held["item"]["id"], n))
                with journal.lock:
                    journal.submits.append(sub)
                r = client.post(f"/api/v1/leases/{sub.lease_id}/submit",
                                json={"answer": sub.answer, "idempotency_key": sub.key})
                sub.status, sub.body = r.status_code, r.json()
                if r.status_code != 200:
                    raise AssertionError(f"submit: {r.status_code} {r.text}")
                held = ahead
        except httpx.TransportError:
            return  # the server was killed: whatever was in flight stays "no answer"
        except Exception as exc:  # noqa: BLE001
            with journal.lock:
                journal.errors.append(f"worker {worker_id}: {type(exc).__name__}: {exc}")


# --- the test ------------------------------------------------------------------------------------------------


def test_sigkill_mid_work_keeps_answers_and_returns_open_leases(db_url: str, tmp_path: Path) -> None:
    db = Database(make_engine(db_url, pool_size=2))
    servers: list[Server] = []
    try:
        people = seed(db)
        first = start_server(tmp_path, db_url, "first")
        servers.append(first)

        journal = Journal()
        stop_at = time.monotonic() + 60
        threads = [threading.Thread(target=worker, args=(first.base, uid, token, journal, stop_at), daemon=True)
                   for uid, token in people.values()]
        for t in threads:
            t.start()
        # let real work happen, then kill the server without warning
        end = time.monotonic() + 40
        while journal.ok() < 60 and time.monotonic() < end and not journal.errors:
            time.sleep(0.02)
        assert not journal.errors, journal.errors
        assert journal.ok() >= 60, f"only {journal.ok()} answers went through before the kill"
        first.proc.kill()  # SIGKILL
        first.proc.wait(10)
        for t in threads:
            t.join(20)
        assert not any(t.is_alive() for t in threads)
        assert not journal.errors, journal.errors
        assert journal.ok() < ITEMS, "the work finished before the kill; nothing was tested"
        with db.read() as conn:  # the database as the kill left it
            open_at_kill = {r.id: r for r in conn.execute(
                select(tasks.c.id, tasks.c.lease_id, tasks.c.lease_expires_at).where(tasks.c.state == "leased"))}
        assert open_at_kill, "no lease was open at the kill; the test did not exercise expiry"

        second = start_server(tmp_path, db_url, "second")
        servers.append(second)
        token_of = {uid: token for uid, token in people.values()}

        # 1. Every answer that got a 200 is in the database, intact.
        confirmed = [s for s in journal.submits if s.status == 200]
        with db.read() as conn:
            rows = {r.id: r for r in conn.execute(select(submissions))}
            task_state = dict(conn.execute(select(tasks.c.id, tasks.c.state)).all())
            lease_end = {r.id: r.end_reason for r in conn.execute(select(leases.c.id, leases.c.end_reason))}
        for s in confirmed:
            row = rows.get(s.body["submission_id"])
            assert row is not None, f"submission {s.body['submission_id']} (key {s.key}) is gone after the crash"
            assert (row.user_id, row.lease_id, row.idempotency_key) == (s.worker_id, s.lease_id, s.key)
            assert row.answer == s.answer, f"answer of {s.key} changed: {row.answer} != {s.answer}"
            assert task_state[row.task_id] == "done" and lease_end[s.lease_id] == "submitted"
        # nothing half-written: every submission's task is done, every done task has one submission
        assert all(task_state[r.task_id] == "done" for r in rows.values())
        per_task = Counter(r.task_id for r in rows.values())
        assert set(per_task.values()) <= {1}
        assert sorted(per_task) == sorted(t for t, st in task_state.items() if st == "done")

        # 2. Retrying with the same idempotency key never writes a second answer.
        in_flight = [s for s in journal.submits if s.status is None]
        retried: list[tuple[Submit, httpx.Response]] = []
        for s in in_flight + confirmed[:5]:
            r = httpx.post(f"{second.base}/api/v1/leases/{s.lease_id}/submit",
                           json={"answer": s.answer, "idempotency_key": s.key},
                           headers={"Authorization": f"Bearer {token_of[s.worker_id]}"}, timeout=10)
            retried.append((s, r))
        for s, r in retried:
            if s.status == 200:
                assert r.status_code == 200 and r.json()["replayed"] is True, r.text
                assert r.json()["submission_id"] == s.body["submission_id"]
            else:  # recorded now, or replayed if the first try had committed; 410 if its lease ran out
                assert r.status_code in (200, 410), r.text
        with db.read() as conn:
            after = list(conn.execute(select(submissions)))
        keys = Counter((r.user_id, r.idempotency_key) for r in after)
        assert set(keys.values()) == {1}
        assert Counter(r.task_id for r in after).most_common(1)[0][1] == 1, "a task has two answers"
        for s, r in retried:
            mine = [row for row in after if (row.user_id, row.idempotency_key) == (s.worker_id, s.key)]
            if r.status_code == 200:
                assert len(mine) == 1 and mine[0].answer == s.answer
                assert mine[0].id == r.json()["submission_id"]
            else:
                assert mine == []

        # 3. Every lease still open goes back to the queue after its expiry, without a manual step.
        with db.read() as conn:
            answered = set(conn.execute(select(leases.c.id).where(leases.c.end_reason == "submitted")).scalars())
        expiring = [r for r in open_at_kill.values() if r.lease_id not in answered]
        ids = [r.id for r in expiring]
        assert ids, "every open lease was answered by a retry; nothing left to expire"
        latest = max(r.lease_expires_at for r in expiring)
        deadline = time.time() + max(0.0, latest.timestamp() - time.time()) + 6
        while True:
            with db.read() as conn:
                states = dict(conn.execute(select(tasks.c.id, tasks.c.state).where(tasks.c.id.in_(ids))).all())
            if set(states.values()) == {"ready"} or time.time() > deadline:
                break
            time.sleep(0.25)
        assert set(states.values()) == {"ready"}, f"leases not returned by expiry + 6s: {states}"
        with db.read() as conn:
            ended = dict(conn.execute(select(leases.c.id, leases.c.end_reason)).all())
            expire_events = conn.execute(select(events.c.task_id).where(
                events.c.kind == "expire", events.c.task_id.in_(ids))).scalars().all()
        assert {ended[r.lease_id] for r in expiring} == {"expire"}
        assert sorted(expire_events) == sorted(ids)
        # every lease a worker was handed ended answered or expired: none is left dangling
        assert {ended[lease] for _, lease, _ in journal.leases} <= {"submitted", "expire"}
        assert None not in ended.values()

        # 4. Those tasks are offered again (they are the oldest, so first) and can be answered.
        uid, token = next(iter(people.values()))
        got: list[int] = []
        with httpx.Client(base_url=second.base, headers={"Authorization": f"Bearer {token}"}, timeout=10) as c:
            for n in range(len(ids)):
                r = c.post("/api/v1/leases", json={})
                assert r.status_code == 201, r.text
                lease = r.json()
                got.append(lease["task_id"])
                s = c.post(f"/api/v1/leases/{lease['lease_id']}/submit",
                           json={"answer": answer_for(uid, lease["item"]["id"], 1000 + n),
                                 "idempotency_key": f"after-{n}"})
                assert s.status_code == 200, s.text
        assert sorted(got) == sorted(ids)
    finally:
        for s in servers:
            stop(s)
        db.dispose()
