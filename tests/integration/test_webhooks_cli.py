"""`seatflow worker deliver`: the deliverer as a command, once (in-process) and as a long-running process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from seatflow.cli import app
from seatflow.domain import webhooks
from seatflow.domain.actors import Actor, Role
from seatflow.services import accounts, answers, deliveries, dispatch, imports, projects
from seatflow.services.imports import Record
from seatflow.store import tables
from seatflow.store.engine import Database

from ._webhook_receiver import Receiver, always

runner = CliRunner()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def seed(db: Database, url: str) -> tuple[str, Actor]:
    """A client with a webhook at ``url``, a ticket project of 3 items and a worker: (secret, worker)."""
    with db.write() as conn:
        accounts.create_client(conn, None, slug="acme", name="Acme")
        secret = deliveries.set_webhook(conn, None, "acme", url=url, rotate_secret=True)["secret"]
        projects.create_project(conn, None, {"slug": "tickets", "name": "Tickets", "client": "acme",
                                             "work_type": "text_annotation"})
        uid = accounts.create_user(conn, None, username="w1", password=None, role="worker")
        accounts.grant(conn, None, username="w1", project_slug="tickets", skill="annotate")
    records = [Record("t", n, {"external_id": f"t{n}", "text": f"ticket {n}"}) for n in (1, 2, 3)]
    assert imports.import_records(db, None, "tickets", records, source="t").imported == 3
    return str(secret), Actor(id=uid, username="w1", role=Role.WORKER)


def finish_one(db: Database, worker: Actor) -> None:
    with db.write() as conn:
        lease = dispatch.next_task(conn, worker)
    with db.write() as conn:
        answers.submit(conn, worker, lease_id=lease.lease_id, answer={"classes": ["positive"], "spans": []},
                       idempotency_key=f"k{lease.lease_id}")


def states(db: Database) -> list[str]:
    with db.read() as conn:
        return list(conn.execute(select(tables.outbox.c.state).order_by(tables.outbox.c.id)).scalars())


def test_deliver_once_sends_what_is_due_and_reports(database: Database, db_url: str, tmp_path: Path,
                                                    receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    secret, worker = seed(database, receiver.url)
    finish_one(database, worker)
    finish_one(database, worker)
    receiver.respond = always(500)
    monkeypatch.setenv("SEATFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("SEATFLOW_LANG", "en")
    monkeypatch.setenv("SEATFLOW_WEBHOOK_BACKOFF_BASE_SECONDS", "60")
    result = runner.invoke(app, ["worker", "deliver", "--once"])
    assert result.exit_code == 0, result.output
    assert "2 attempt(s): 0 delivered, 2 failed" in result.stdout
    assert states(database) == ["pending", "pending"]  # backing off for up to a minute

    with database.write() as conn:  # the backoff is over
        conn.execute(tables.outbox.update().values(next_attempt_at=tables.outbox.c.created_at))
    receiver.respond = always(200)
    result = runner.invoke(app, ["worker", "deliver", "--once", "--concurrency", "1"])
    assert result.exit_code == 0, result.output
    assert "2 attempt(s): 2 delivered, 0 failed" in result.stdout
    assert states(database) == ["delivered", "delivered"]
    for r in receiver.accepted():
        webhooks.verify(secret, r.headers["seatflow-signature"], r.body, now=time.time())

    bad = runner.invoke(app, ["worker", "deliver", "--concurrency", "0"])
    assert bad.exit_code == 2 and "concurrency" in bad.output


def test_the_deliver_process_picks_up_other_processes_events_and_stops_on_sigterm(
        database: Database, db_url: str, tmp_path: Path, receiver: Receiver) -> None:
    secret, worker = seed(database, receiver.url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEATFLOW_")}
    env.update({"SEATFLOW_HOME": str(tmp_path / "home"), "SEATFLOW_DATABASE_URL": db_url, "SEATFLOW_LANG": "en",
                "SEATFLOW_DELIVERY_POLL_SECONDS": "0.2"})
    proc = subprocess.Popen([sys.executable, "-m", "seatflow.cli", "worker", "deliver"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        started = proc.stdout.readline()  # blocks until the deliverer runs (or the process ends)
        assert "delivering webhooks from" in started, started + proc.communicate()[1]
        finish_one(database, worker)  # written by this process: only polling finds it
        t0 = time.time()
        assert receiver.wait_for(lambda r: len(r.accepted()) == 1, timeout=10)
        assert receiver.accepted()[0].at - t0 < 2.0
        webhooks.verify(secret, receiver.accepted()[0].headers["seatflow-signature"], receiver.accepted()[0].body,
                        now=time.time())
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "stopped: 1 delivered, 0 failed" in out, started + out + err
    assert states(database) == ["delivered"]
