"""The receiver printed in docs/webhooks.md, run as it is written, against real deliveries.

The test cuts the Python block after ``<!-- receiver -->`` out of the docs, starts it as a
process on a free loopback port, points a client's webhook at it and lets the deliverer send:
the receiver must accept a real delivery (its signature check passes), handle a replayed event
once (same idempotency key), and refuse a request signed with another secret or an old timestamp.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from seatflow.domain import webhooks
from seatflow.jobs.delivery import Deliverer
from seatflow.store import tables

from .conftest import GOOD_ANSWERS, Center

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def receiver_source() -> str:
    text = DOC.read_text(encoding="utf-8")
    assert "<!-- receiver -->" in text, "docs/webhooks.md lost its receiver marker"
    after = text.split("<!-- receiver -->", 1)[1]
    assert after.lstrip().startswith("```python\n"), "the receiver block must follow the marker"
    return after.split("```python\n", 1)[1].split("```", 1)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DocReceiver:
    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc = proc
        self.url = url
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def read_lines(self, n: int, timeout: float = 10.0) -> list[str]:
        """Wait for ``n`` lines of output in all (the receiver prints one per handled event)."""
        end = time.monotonic() + timeout
        while len(self.lines) < n and time.monotonic() < end:
            time.sleep(0.01)
        return list(self.lines)


@pytest.fixture
def doc_receiver(tmp_path: Path, center: Center) -> Iterator[tuple[DocReceiver, str]]:
    resp = center.client.put("/api/v1/clients/globex/webhook", headers=center.as_("globex-ops"),
                             json={"url": "http://127.0.0.1:1/", "rotate_secret": True})
    secret: str = resp.json()["secret"]
    script = tmp_path / "receiver.py"
    script.write_text(receiver_source(), encoding="utf-8")
    port = free_port()
    env = {**os.environ, "SEATFLOW_WEBHOOK_SECRET": secret, "PORT": str(port), "HOST": "127.0.0.1",
           "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    url = f"http://127.0.0.1:{port}/seatflow"
    try:
        end = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                assert proc.poll() is None, "the receiver from docs/webhooks.md exited"
                assert time.monotonic() < end, "the receiver from docs/webhooks.md did not listen"
                time.sleep(0.05)
        center.client.put("/api/v1/clients/globex/webhook", headers=center.as_("globex-ops"), json={"url": url})
        doc = DocReceiver(proc, url)
        yield doc, secret
    finally:
        proc.terminate()
        proc.wait(10)
        if "doc" in locals():
            doc.reader.join(5)
        if proc.stdout is not None:
            proc.stdout.close()


def test_the_documented_receiver_verifies_real_deliveries(center: Center,
                                                          doc_receiver: tuple[DocReceiver, str]) -> None:
    receiver, secret = doc_receiver
    lease = center.lease("ann1", "globex-tickets")
    assert center.submit("ann1", lease["lease_id"], GOOD_ANSWERS["globex-tickets"]).status_code == 200
    deliverer = Deliverer(center.db, center.app.state.settings)
    try:
        assert deliverer.run_once() == 1
        with center.db.read() as conn:
            event = conn.execute(select(tables.outbox)).one()
            (attempt,) = conn.execute(select(tables.webhook_attempts)).all()
        assert (event.state, attempt.status_code) == ("delivered", 204), attempt.error
        (line,) = receiver.read_lines(1)
        topic, event_id, data = line.split(" ", 2)
        assert (topic, int(event_id)) == ("item.accepted", event.id)
        assert json.loads(data)["item"]["external_id"] == "ticket-1"

        # a replay arrives with the same idempotency key: acknowledged, handled once
        assert center.post("globex-ops", f"/api/v1/deliveries/{event.id}/replay").status_code == 200
        assert deliverer.run_once() == 1
        assert receiver.read_lines(2)[1] == f"duplicate item.accepted:{lease['item']['id']}"
    finally:
        deliverer.close()

    # what the receiver refuses: another secret, a stale timestamp, a changed body, no signature
    body = json.dumps({"id": 1, "topic": "item.accepted", "data": {}}).encode()
    now = int(time.time())
    headers = {"Content-Type": "application/json", "Seatflow-Idempotency-Key": "forged:1"}
    cases = {
        "another secret": webhooks.signature_header("not-the-secret", now, body),
        "stale": webhooks.signature_header(secret, now - 3600, body),
        "changed body": webhooks.signature_header(secret, now, body + b" "),
        "no signature": "",
    }
    for what, signature in cases.items():
        resp = httpx.post(receiver.url, content=body, headers={**headers, "Seatflow-Signature": signature})
        assert resp.status_code == 400, what
    good = httpx.post(receiver.url, content=body,
                      headers={**headers, "Seatflow-Signature": webhooks.signature_header(secret, now, body)})
    assert good.status_code == 204
