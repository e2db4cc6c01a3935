"""Many workers race for the same tasks: every task is leased exactly once per required overlap.

The threads go through the services exactly as the API does (``transact(db, next_task)`` then
``transact(db, submit)``). At the end the test counts, from the workers' own records and from the
database, leases and submissions per task, per item and per (item, slot), and checks that no task
is left ready or leased, every item is done once, and no worker answered one item twice.

On SQLite the 32 threads share one ``Database``; a "database is locked" must never reach a caller.
A retry racing its first try (same lease, same key) is replayed, on both backends.
On PostgreSQL two more runs race four processes for the same 2,000 tasks: one where each process
calls the services with its own engine and 8 threads, one where each process is a uvicorn server
on its own port (the real HTTP API) and 32 client threads spread over the four servers.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from seatflow.domain.actors import Actor, Role
from seatflow.errors import LeaseExpired, NoWork
from seatflow.services import answers, dispatch
from seatflow.services._tx import transact
from seatflow.services.accounts import create_client, create_token, create_user, grant
from seatflow.services.imports import Record, import_records
from seatflow.services.projects import create_project
from seatflow.store.engine import Database, make_engine
from seatflow.store.tables import events, items, leases, submissions, tasks

THREADS = 32
CLASSES = ("positive", "neutral", "negative")
# A worker gives up after this long and the checks below then fail loudly. On an idle 2-core machine
# a race takes 10-25 s; the margin is for a loaded one.
RACE_SECONDS = 120.0


# --- the center the workers race in -------------------------------------------------------------


def seed(db: Database, *, n_items: int, overlap: int, workers: int, tokens: bool = False) -> tuple[
        int, list[Actor], list[str]]:
    """A client, a text project with ``n_items`` items and ``workers`` qualified workers."""
    actors: list[Actor] = []
    secrets: list[str] = []
    with db.write() as conn:
        create_client(conn, None, slug="acme", name="Acme")
        project_id = create_project(conn, None, {
            "slug": "race", "name": "Race", "client": "acme", "work_type": "text_annotation",
            "workflow": f"annotate(overlap={overlap})",
        })
        for i in range(workers):
            name = f"w{i:02d}"
            uid = create_user(conn, None, username=name, password=None, role="worker")
            grant(conn, None, username=name, project_slug="race", skill="annotate")
            actors.append(Actor(id=uid, username=name, role=Role.WORKER))
            if tokens:
                secrets.append(create_token(conn, None, username=name))
    text = "The delivery was late but the support team in Shenzhen fixed it quickly. " * 2
    records = (Record("race.jsonl", n + 1, {"external_id": f"item-{n:05d}", "text": text, "priority": n % 7})
               for n in range(n_items))
    report = import_records(db, None, "race", records, source="race.jsonl", batch_size=1000)
    assert report.error is None and report.imported == n_items
    return project_id, actors, secrets


def answer_for(worker_id: int, item_id: int) -> dict[str, Any]:
    return {"classes": [CLASSES[(worker_id + item_id) % 3]], "spans": [
        {"start": item_id % 50, "end": item_id % 50 + 1 + worker_id % 9, "label": "ORG"}]}


# --- what each worker saw -------------------------------------------------------------------------


@dataclass
class Log:
    """One worker's (or one process's) record of the race."""

    leases: list[tuple[int, int, int, int, int]] = field(default_factory=list)  # worker, lease, task, item, slot
    submits: list[tuple[int, int, int, bool]] = field(default_factory=list)  # worker, lease, submission, item done
    errors: list[str] = field(default_factory=list)

    def merge(self, other: Log) -> None:
        self.leases += other.leases
        self.submits += other.submits
        self.errors += other.errors

    def to_json(self) -> dict[str, Any]:
        return {"leases": self.leases, "submits": self.submits, "errors": self.errors}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Log:
        return cls([tuple(x) for x in data["leases"]], [tuple(x) for x in data["submits"]],  # type: ignore[misc]
                   list(data["errors"]))


def open_tasks(db: Database, project_id: int) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(tasks).where(
            tasks.c.project_id == project_id, tasks.c.state.in_(("ready", "leased")))).scalar_one())


def service_worker(db: Database, actor: Actor, project_id: int, log: Log, deadline: float) -> None:
    """next -> submit until the project has no open task; any error but NoWork is recorded."""
    try:
        while time.monotonic() < deadline:
            try:
                leased = transact(db, lambda c: dispatch.next_task(c, actor, project_id=project_id))
            except NoWork:
                if open_tasks(db, project_id) == 0:
                    return
                time.sleep(0.01)  # the rest is leased to others or is on items this worker answered
                continue
            log.leases.append((actor.id, leased.lease_id, leased.task_id, leased.item_id, leased.slot))
            out = transact(db, lambda c, held=leased: answers.submit(  # type: ignore[misc]
                c, actor, lease_id=held.lease_id, answer=answer_for(actor.id, held.item_id),
                idempotency_key=f"k-{held.lease_id}"))
            log.submits.append((actor.id, leased.lease_id, out.id, out.item_done))
        log.errors.append(f"worker {actor.username} still had work after {RACE_SECONDS}s")
    except Exception as exc:  # noqa: BLE001 - the test reports it
        log.errors.append(f"worker {actor.username}: {type(exc).__name__}: {exc}")


def run_threads(targets: list[Callable[[], None]]) -> None:
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(RACE_SECONDS + 10)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"


# --- the checks -------------------------------------------------------------------------------------


def check_race(db: Database, project_id: int, log: Log, *, n_items: int, overlap: int,
               reports_done: bool = True) -> None:
    """``reports_done``: the log's submits carry the ``item_done`` flag the service returned."""
    assert log.errors == [], "\n".join(log.errors[:20])
    n_tasks = n_items * overlap

    # What the workers saw: each task leased once, each lease answered once, each item finished once.
    assert len(log.leases) == n_tasks, f"{len(log.leases)} leases handed out for {n_tasks} tasks"
    per_task = Counter(task for _, _, task, _, _ in log.leases)
    assert len(per_task) == n_tasks and set(per_task.values()) == {1}, per_task.most_common(3)
    per_slot = Counter((item, slot) for _, _, _, item, slot in log.leases)
    assert len(per_slot) == n_tasks and set(per_slot.values()) == {1}, per_slot.most_common(3)
    assert len({lease for _, lease, _, _, _ in log.leases}) == n_tasks
    by_worker_item = Counter((worker, item) for worker, _, _, item, _ in log.leases)
    assert max(by_worker_item.values()) == 1, f"a worker got one item twice: {by_worker_item.most_common(1)}"
    assert len(log.submits) == n_tasks
    assert len({sub for _, _, sub, _ in log.submits}) == n_tasks
    if reports_done:
        assert sum(done for *_, done in log.submits) == n_items, "not every item was reported done exactly once"

    # What the database holds.
    with db.read() as conn:
        states = Counter(dict(conn.execute(
            select(tasks.c.state, func.count()).where(tasks.c.project_id == project_id).group_by(tasks.c.state)
        ).all()))
        assert states == {"done": n_tasks}, f"tasks by state: {dict(states)}"
        lease_rows = conn.execute(select(leases.c.task_id, leases.c.end_reason)
                                  .where(leases.c.project_id == project_id)).all()
        assert len(lease_rows) == n_tasks and len({r.task_id for r in lease_rows}) == n_tasks
        assert {r.end_reason for r in lease_rows} == {"submitted"}
        subs = conn.execute(select(submissions.c.item_id, submissions.c.slot, submissions.c.user_id,
                                   submissions.c.task_id, submissions.c.state)
                            .where(submissions.c.project_id == project_id)).all()
        assert len(subs) == n_tasks
        assert len({s.task_id for s in subs}) == n_tasks, "a task has two submissions"
        assert len({(s.item_id, s.slot) for s in subs}) == n_tasks, "an (item, slot) has two submissions"
        assert len({(s.item_id, s.user_id) for s in subs}) == n_tasks, "a worker answered one item twice"
        assert {s.state for s in subs} == {"accepted"}
        per_item = Counter(s.item_id for s in subs)
        assert len(per_item) == n_items and set(per_item.values()) == {overlap}
        item_states = Counter(dict(conn.execute(
            select(items.c.state, func.count()).where(items.c.project_id == project_id).group_by(items.c.state)
        ).all()))
        assert item_states == {"done": n_items}, f"items by state: {dict(item_states)}"
        ev = Counter((r.entity, r.kind) for r in conn.execute(
            select(events.c.entity, events.c.kind).where(events.c.project_id == project_id)))
        assert ev[("task", "lease")] == n_tasks and ev[("task", "submit")] == n_tasks
        assert ev[("item", "done")] == n_items
        assert ev[("task", "expire")] == ev[("task", "release")] == 0
        done_events = Counter(r.item_id for r in conn.execute(
            select(events.c.item_id).where(events.c.project_id == project_id, events.c.entity == "item",
                                           events.c.kind == "done")))
        assert set(done_events.values()) == {1}, "an item was done twice"
        results = conn.execute(select(items.c.result).where(items.c.project_id == project_id)).scalars().all()
        assert all(len(r) == overlap for r in results), "an item's result lacks an answer"


# --- 32 threads, one process, both backends -------------------------------------------------------


@pytest.mark.parametrize(("n_items", "overlap"), [(2000, 1), (1000, 2)], ids=["2000x1", "1000x2"])
def test_32_threads_lease_every_task_exactly_once(database: Database, n_items: int, overlap: int) -> None:
    project_id, actors, _ = seed(database, n_items=n_items, overlap=overlap, workers=THREADS)
    logs = [Log() for _ in actors]
    deadline = time.monotonic() + RACE_SECONDS
    run_threads([
        (lambda a=a, lg=lg: service_worker(database, a, project_id, lg, deadline))  # type: ignore[misc]
        for a, lg in zip(actors, logs, strict=True)
    ])
    total = Log()
    for lg in logs:
        total.merge(lg)
    check_race(database, project_id, total, n_items=n_items, overlap=overlap)
    # the work was shared: no single worker did it all while the others waited on locks
    busy = Counter(worker for worker, *_ in total.leases)
    assert len(busy) >= THREADS // 2, f"only {len(busy)} of {THREADS} workers got a task"


# --- PostgreSQL: four processes ---------------------------------------------------------------------


def process_main(url: str, project_id: int, actors: list[tuple[int, str]], out: str, deadline_s: float) -> None:
    """One of the racing processes: its own engine, one thread per actor (runs in a spawned child)."""
    db = Database(make_engine(url, pool_size=len(actors)))
    logs = [Log() for _ in actors]
    deadline = time.monotonic() + deadline_s
    workers = [Actor(id=uid, username=name, role=Role.WORKER) for uid, name in actors]
    try:
        run_threads([
            (lambda a=a, lg=lg: service_worker(db, a, project_id, lg, deadline))  # type: ignore[misc]
            for a, lg in zip(workers, logs, strict=True)
        ])
    finally:
        db.dispose()
    total = Log()
    for lg in logs:
        total.merge(lg)
    Path(out).write_text(json.dumps(total.to_json()))


@pytest.mark.postgres
def test_4_processes_of_8_threads_lease_every_task_exactly_once(
        pg_url_factory: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        pytestconfig: pytest.Config) -> None:
    # spawned children import this module by name (tests.integration.test_concurrency): they get the
    # parent's sys.path, which must hold the repository root for that
    monkeypatch.syspath_prepend(str(pytestconfig.rootpath))
    url = pg_url_factory()
    db = Database(make_engine(url))
    n_items, overlap, procs = 1000, 2, 4
    try:
        project_id, actors, _ = seed(db, n_items=n_items, overlap=overlap, workers=THREADS)
        ctx = multiprocessing.get_context("spawn")
        per = THREADS // procs
        children = []
        for p in range(procs):
            mine = [(a.id, a.username) for a in actors[p * per:(p + 1) * per]]
            child = ctx.Process(target=process_main,
                                args=(url, project_id, mine, str(tmp_path / f"log{p}.json"), RACE_SECONDS))
            child.start()
            children.append(child)
        for child in children:
            child.join(RACE_SECONDS + 30)
            if child.is_alive():
                child.kill()
        assert [c.exitcode for c in children] == [0] * procs
        total = Log()
        for p in range(procs):
            total.merge(Log.from_json(json.loads((tmp_path / f"log{p}.json").read_text())))
        check_race(db, project_id, total, n_items=n_items, overlap=overlap)
        busy_procs = {worker for worker, *_ in total.leases}
        assert all(any(a.id in busy_procs for a in actors[p * per:(p + 1) * per]) for p in range(procs)), \
            "a process got no task at all"
    finally:
        db.dispose()


# --- PostgreSQL: four app servers, the HTTP API ------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str
    log: Path


def start_server(tmp: Path, url: str, name: str, env_extra: dict[str, str] | None = None) -> Server:
    port = free_port()
    home = tmp / f"home-{name}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEATFLOW_")}
    env.update({"SEATFLOW_HOME": str(home), "SEATFLOW_DATABASE_URL": url, "SEATFLOW_SECRET_KEY": "race",
                "SEATFLOW_DB_POOL_SIZE": "4", **(env_extra or {})})
    log = tmp / f"server-{name}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "seatflow.asgi:app_from_env", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-access-log"],
            env=env, stdout=fh, stderr=fh,
        )
    return Server(proc, f"http://127.0.0.1:{port}", log)


def wait_ready(server: Server, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if server.proc.poll() is not None:
            raise AssertionError(f"the server exited with {server.proc.returncode}:\n{server.log.read_text()}")
        try:
            if httpx.get(server.base + "/openapi.json", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the server did not answer within {timeout}s:\n{server.log.read_text()}")


def stop(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(5)


@pytest.fixture
def servers_for(tmp_path: Path) -> Iterator[Callable[[str, int], list[Server]]]:
    started: list[Server] = []

    def start(url: str, n: int) -> list[Server]:
        new = [start_server(tmp_path, url, f"s{i}") for i in range(n)]
        started.extend(new)
        for s in new:
            wait_ready(s)
        return new

    yield start
    for s in started:
        stop(s)


def http_worker(base: str, token: str, actor_id: int, project_id: int, log: Log, deadline: float,
                remaining: Callable[[], int]) -> None:
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30.0) as client:
            while time.monotonic() < deadline:
                r = client.post("/api/v1/leases", json={"project_id": project_id})
                if r.status_code == 404 and r.json().get("type", "").endswith("/no-work"):
                    if remaining() == 0:
                        return
                    time.sleep(0.01)
                    continue
                assert r.status_code == 201, f"lease: {r.status_code} {r.text}"
                lease = r.json()
                item_id = lease["item"]["id"]
                log.leases.append((actor_id, lease["lease_id"], lease["task_id"], item_id, -1))
                s = client.post(f"/api/v1/leases/{lease['lease_id']}/submit", json={
                    "answer": answer_for(actor_id, item_id), "idempotency_key": f"k-{lease['lease_id']}"})
                assert s.status_code == 200, f"submit: {s.status_code} {s.text}"
                body = s.json()
                assert body["replayed"] is False
                log.submits.append((actor_id, lease["lease_id"], body["submission_id"], False))
            log.errors.append(f"worker {actor_id} still had work after {RACE_SECONDS}s")
    except Exception as exc:  # noqa: BLE001
        log.errors.append(f"worker {actor_id}: {type(exc).__name__}: {exc}")


@pytest.mark.postgres
def test_4_app_servers_over_http_lease_every_task_exactly_once(
        pg_url_factory: Callable[..., str], servers_for: Callable[[str, int], list[Server]]) -> None:
    url = pg_url_factory()
    db = Database(make_engine(url, pool_size=2))
    n_items, overlap = 1000, 2
    try:
        project_id, actors, tokens = seed(db, n_items=n_items, overlap=overlap, workers=THREADS, tokens=True)
        servers = servers_for(url, 4)
        logs = [Log() for _ in actors]
        deadline = time.monotonic() + RACE_SECONDS
        run_threads([
            (lambda i=i: http_worker(servers[i % 4].base, tokens[i], actors[i].id, project_id, logs[i],  # type: ignore[misc]
                                     deadline, lambda: open_tasks(db, project_id)))
            for i in range(THREADS)
        ])
        total = Log()
        for lg in logs:
            total.merge(lg)
        # the API does not say which slot a lease is for; take it from the database
        with db.read() as conn:
            slot_of = dict(conn.execute(select(tasks.c.id, tasks.c.slot)).all())
        total.leases = [(w, lease, task, item, slot_of[task]) for w, lease, task, item, _ in total.leases]
        # the HTTP answer does not say whether the item is done: the database checks cover that
        check_race(db, project_id, total, n_items=n_items, overlap=overlap, reports_done=False)
        by_server = Counter(i % 4 for i in range(THREADS) for _ in logs[i].leases)
        assert len(by_server) == 4, f"a server handed out no lease: {dict(by_server)}"
    finally:
        db.dispose()



# --- a retry racing its first try ---------------------------------------------------------------------


def test_a_retry_racing_its_first_try_is_replayed_not_refused(database: Database) -> None:
    """The workspace retries a submit on a client timeout, possibly while the first try still runs.

    Both tries carry the same lease and key: one records the answer, the other must be replayed
    (never a second answer, never a 'lease expired' for an answer that was recorded). Then the
    same for a review verdict.
    """
    rounds = 30
    with database.write() as conn:
        create_client(conn, None, slug="acme", name="Acme")
        create_project(conn, None, {"slug": "retry", "name": "Retry", "client": "acme",
                                    "work_type": "text_annotation", "workflow": "annotate -> review(sample_rate=1)"})
        people = {}
        for name, skill in (("ann", "annotate"), ("rev", "review")):
            uid = create_user(conn, None, username=name, password=None, role="worker")
            grant(conn, None, username=name, project_slug="retry", skill=skill)
            people[name] = Actor(id=uid, username=name, role=Role.WORKER)
    records = [Record("r.jsonl", n + 1, {"external_id": f"r{n}", "text": "Parcel left in Chengdu"})
               for n in range(rounds)]
    assert import_records(database, None, "retry", records, source="r.jsonl").imported == rounds

    def race(actor: Actor, call: Callable[[Any, int, str], Any]) -> Counter[str]:
        seen: Counter[str] = Counter()
        for n in range(rounds):
            leased = transact(database, lambda c: dispatch.next_task(c, actor))
            gate = threading.Barrier(2)
            ids: list[int] = []

            def one_try(lease_id: int = leased.lease_id, key: str = f"{actor.username}-{n}",
                        gate: threading.Barrier = gate, ids: list[int] = ids) -> None:
                gate.wait()
                try:
                    out = transact(database, lambda c: call(c, lease_id, key))
                    seen["replayed" if out.replayed else "recorded"] += 1
                    ids.append(out.id)
                except Exception as exc:  # noqa: BLE001
                    seen[f"{type(exc).__name__}: {exc}"] += 1

            run_threads([one_try, one_try])
            assert len(set(ids)) <= 1, "the two tries got different answers"
        return seen

    answered = race(people["ann"], lambda c, lease_id, key: answers.submit(
        c, people["ann"], lease_id=lease_id, answer={"classes": ["neutral"]}, idempotency_key=key))
    assert answered == {"recorded": rounds, "replayed": rounds}, dict(answered)
    reviewed = race(people["rev"], lambda c, lease_id, key: answers.review(
        c, people["rev"], lease_id=lease_id, verdict="accept", idempotency_key=key))
    assert reviewed == {"recorded": rounds, "replayed": rounds}, dict(reviewed)
    with database.read() as conn:
        assert conn.execute(select(func.count()).select_from(submissions)).scalar_one() == rounds
        assert conn.execute(select(func.count()).select_from(items).where(items.c.state == "done")).scalar_one() \
            == rounds


# --- leases that lapse while others race -------------------------------------------------------------


def test_lapsing_leases_and_concurrent_reapers_never_lease_a_task_twice(database: Database) -> None:
    """32 workers with 2-second leases; some walk away, some answer too late; 3 reapers run at once.

    Every abandoned or late lease must come back exactly once and be leased again; a late answer
    is refused; each task ends with one answer; each task's history alternates lease -> expire /
    submit, so no task was ever held by two leases at once.
    """
    n_items, lease_seconds = 800, 2
    project_id, actors, _ = seed(database, n_items=n_items, overlap=1, workers=THREADS)
    stop = threading.Event()
    lock = threading.Lock()
    seen: Counter[str] = Counter()
    errors: list[str] = []
    deadline = time.monotonic() + RACE_SECONDS

    def reaper() -> None:
        try:
            while not stop.is_set():
                n = transact(database, lambda c: dispatch.reap_expired(c))
                with lock:
                    seen["reaped"] += n
                time.sleep(0.05)
        except Exception as exc:  # noqa: BLE001
            errors.append(f"reaper: {type(exc).__name__}: {exc}")

    def worker(actor: Actor) -> None:
        rnd = random.Random(actor.id)
        try:
            while time.monotonic() < deadline:
                try:
                    leased = transact(database, lambda c: dispatch.next_task(
                        c, actor, project_id=project_id, lease_seconds=lease_seconds))
                except NoWork:
                    if open_tasks(database, project_id) == 0:
                        return
                    time.sleep(0.05)
                    continue
                fate = rnd.random()
                if fate < 0.06:
                    with lock:
                        seen["abandoned"] += 1
                    continue
                late = fate < 0.09
                if late:
                    time.sleep(lease_seconds + 0.3)
                try:
                    transact(database, lambda c, held=leased: answers.submit(  # type: ignore[misc]
                        c, actor, lease_id=held.lease_id, answer=answer_for(actor.id, held.item_id),
                        idempotency_key=f"k-{held.lease_id}"))
                    outcome = "late but accepted" if late else "submitted"
                except LeaseExpired:
                    outcome = "late, refused" if late else "slow, refused"
                with lock:
                    seen[outcome] += 1
            errors.append(f"worker {actor.username} still had work after {RACE_SECONDS}s")
        except Exception as exc:  # noqa: BLE001
            errors.append(f"worker {actor.username}: {type(exc).__name__}: {exc}")

    reapers = [threading.Thread(target=reaper, daemon=True) for _ in range(3)]
    for r in reapers:
        r.start()
    try:
        run_threads([lambda a=a: worker(a) for a in actors])  # type: ignore[misc]
    finally:
        stop.set()
        for r in reapers:
            r.join(10)
    assert errors == [], errors[:10]
    assert seen["late but accepted"] == 0, "an answer on a lapsed lease was accepted"
    assert seen["submitted"] == n_items
    lapsed = seen["abandoned"] + seen["late, refused"] + seen["slow, refused"]
    assert seen["abandoned"] > 0 and seen["late, refused"] > 0, dict(seen)
    assert seen["reaped"] == lapsed, f"reapers returned {seen['reaped']} tasks for {lapsed} lapsed leases"

    with database.read() as conn:
        lease_rows = list(conn.execute(select(leases).where(leases.c.project_id == project_id)))
        subs = list(conn.execute(select(submissions).where(submissions.c.project_id == project_id)))
        task_states = Counter(conn.execute(select(tasks.c.state).where(tasks.c.project_id == project_id))
                              .scalars())
        history = list(conn.execute(select(events.c.task_id, events.c.kind).where(
            events.c.project_id == project_id, events.c.entity == "task").order_by(events.c.id)))
    assert task_states == {"done": n_items}
    assert len(lease_rows) == n_items + lapsed
    assert Counter(r.end_reason for r in lease_rows) == {"submitted": n_items, "expire": lapsed}
    by_lease = {r.id: r for r in lease_rows}
    assert len(subs) == n_items and len({s.task_id for s in subs}) == n_items
    for s in subs:
        lease = by_lease[s.lease_id]
        assert lease.end_reason == "submitted" and s.created_at < lease.expires_at
    per_task: dict[int, list[str]] = {}
    for task_id, kind in history:
        per_task.setdefault(task_id, []).append(kind)
    for task_id, kinds in per_task.items():
        # lease, then expire, then lease again ... and the last lease is answered: never two at once
        assert kinds[-1] == "submit" and kinds[0::2] == ["lease"] * (len(kinds) // 2), (task_id, kinds)
        assert set(kinds[1:-1:2]) <= {"expire"}, (task_id, kinds)
