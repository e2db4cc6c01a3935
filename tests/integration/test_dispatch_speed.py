"""What keeps the dispatch path fast: TCP_NODELAY on the server's connections, and a lease that
relaxes its own commit durability (no statement of its own) without leaking past its transaction."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select, update
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from seatflow import serving
from seatflow.config import Settings
from seatflow.domain.actors import Actor
from seatflow.services import accounts, dispatch, projects
from seatflow.services.imports import Record, import_records
from seatflow.store import catalog
from seatflow.store.engine import Database
from seatflow.store.tables import tasks

# --- TCP_NODELAY ---------------------------------------------------------------------------------


async def _hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


def _nodelay_seen_by(protocol: type[asyncio.Protocol]) -> list[int]:
    """Serve one request through uvicorn with ``protocol`` on a listening socket made the way
    ``uvicorn --workers N`` makes it (protocol number 0), and return TCP_NODELAY of each connection."""
    seen: list[int] = []

    class Probe(protocol):  # type: ignore[valid-type,misc]
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            seen.append(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    sock = socket.socket(socket.AF_INET)  # as uvicorn's Config.bind_socket: proto 0
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(_hello, http=Probe, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.02)
        assert server.started, "uvicorn did not start"
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text == "hello"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
    return seen


def test_the_servers_connections_have_tcp_nodelay() -> None:
    assert _nodelay_seen_by(serving.NoDelayHttp) == [1]


def test_without_it_uvicorn_worker_connections_keep_nagle_on() -> None:
    """Why NoDelayHttp exists: asyncio leaves such a socket's connections with Nagle's algorithm on."""
    assert _nodelay_seen_by(AutoHTTPProtocol) == [0]


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_runs_uvicorn_with_the_nodelay_protocol(settings: Settings, workers: int,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from seatflow.commands.server import run_server

    calls: list[tuple[Any, dict[str, Any]]] = []
    frozen: list[bool] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    monkeypatch.setattr("seatflow.asgi.freeze_startup_heap", lambda: frozen.append(True))  # not this test's heap
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run_server(settings, host="127.0.0.1", port=port, workers=workers)
    [(app, kw)] = calls
    assert kw["http"] is serving.NoDelayHttp
    assert kw["workers"] == workers and kw["port"] == port
    assert (app == "seatflow.asgi:app_from_env") == (workers > 1)
    # one process: its start-up heap is frozen here; several: each worker's factory does it (below)
    assert frozen == ([True] if workers == 1 else [])


def test_a_server_process_leaves_its_start_up_heap_out_of_full_collections(tmp_path: Path) -> None:
    """app_from_env (every worker of `seatflow serve --workers N`) freezes what start-up built: a full
    collection walked ~150,000 objects for 80-140 ms, the p99 of lease latency in the open-loop bench."""
    code = ("import gc\nfrom seatflow.asgi import app_from_env\nbefore = gc.get_freeze_count()\napp_from_env()\n"
            "print(before, gc.get_freeze_count())")
    env = {**os.environ, "SEATFLOW_HOME": str(tmp_path / "home"),
           "SEATFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'sf.db'}", "SEATFLOW_SECRET_KEY": "x" * 32}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    before, after = (int(n) for n in out.stdout.split())
    assert before == 0 and after > 50_000, out.stdout


# --- commit durability of a lease ----------------------------------------------------------------


def _worker_with_items(database: Database) -> tuple[Actor, int]:
    with database.write() as c:
        accounts.create_client(c, None, slug="acme", name="Acme")
        pid = projects.create_project(c, None, {"slug": "txt", "name": "Texts", "client": "acme",
                                                "work_type": "moderation"})
        accounts.create_user(c, None, username="w1", password=None, role="worker")
        accounts.grant(c, None, username="w1", project_slug="txt", skill="annotate")
        actor = accounts.actor_of(catalog.user_by_username(c, "w1"))
    records = (Record("t", i, {"external_id": f"e{i}", "payload": {"kind": "text", "text": "x"}}) for i in range(3))
    import_records(database, None, "txt", records, source="t")
    return actor, pid


def _synchronous_commit(conn: Any) -> str:
    return str(conn.exec_driver_sql("SHOW synchronous_commit").scalar_one())


@pytest.mark.postgres  # synchronous_commit is PostgreSQL's: this runs on PostgreSQL only, never skipped in CI
def test_a_lease_commits_without_waiting_for_the_flush_and_only_that_transaction(database: Database) -> None:
    actor, pid = _worker_with_items(database)
    with database.write() as c:
        leased = dispatch.next_task(c, actor, project_id=pid)
        assert _synchronous_commit(c) == "off"
    with database.write() as c:  # the setting was local to the lease's transaction
        assert _synchronous_commit(c) == "on"
    # a task reserved for this worker (a rework) is leased by another statement: relaxed there too
    with database.write() as c:
        other = c.execute(select(tasks.c.id).where(tasks.c.project_id == pid, tasks.c.state == "ready",
                                                   tasks.c.id != leased.task_id).limit(1)).scalar_one()
        c.execute(update(tasks).where(tasks.c.id == other).values(assignee_id=actor.id))
    with database.write() as c:
        rework = dispatch.next_task(c, actor, project_id=pid)
        assert rework.task_id == other
        assert _synchronous_commit(c) == "off"


def test_the_server_parses_http_with_httptools_and_runs_on_uvloop() -> None:
    """Both are dependencies (pyproject.toml): uvicorn picks them when installed, and they cost less CPU
    per request than h11 and asyncio's own loop (bench/RESULTS.md, dispatch)."""
    import uvloop
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    assert issubclass(serving.NoDelayHttp, HttpToolsProtocol)
    assert callable(uvloop.new_event_loop)  # what uvicorn's loop="auto" takes when uvloop imports
