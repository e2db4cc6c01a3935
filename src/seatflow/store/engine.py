"""Engines and transactions. The SQLite/PostgreSQL differences of connection handling live here.

SQLite runs in WAL mode; a write transaction starts with ``BEGIN IMMEDIATE`` so that two writers
never both read, then both try to upgrade their lock (which would deadlock and fail one of them).
Writers of one process also queue first come, first served at an in-process gate before they ask
SQLite for its lock: SQLite's own busy handler sleeps and polls, so under load a writer could lose
the lock many times in a row (a long tail), while the gate hands it on in arrival order.

Every transaction passes a :class:`~seatflow.store.gate.FairGate` as wide as the connection pool
(see ``gate.py`` for why), so the pool itself never makes anyone wait and never overflows.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from .gate import FairGate

_engine_serial = itertools.count(1)
SQLITE_POOL_SIZE = 16  # readers run side by side in WAL mode; writers take turns at the write gate


def engine_key(conn: Connection) -> int:
    """A number unique to the connection's engine for the life of the process (for per-database caches)."""
    engine = conn.engine
    key = engine.__dict__.get("_seatflow_key")
    if key is None:
        key = next(_engine_serial)
        engine.__dict__["_seatflow_key"] = key
    return int(key)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA cache_size=-65536")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("seatflow_write", True) else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    """Create an engine for ``url``; SQLite gets WAL and immediate write transactions."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = _sqlite_engine(url, echo)
        _sqlite_setup(engine)
        return engine
    return create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=0,  # the gate in front (Database) never asks for more than pool_size
        # No pre-ping: it cost a round trip per transaction. A connection found dead (server restarted)
        # invalidates the pool, and services/_tx.transact runs the transaction again on a fresh one.
        pool_pre_ping=False,
    )


def _sqlite_engine(url: str, echo: bool) -> Engine:
    return create_engine(
        url,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": 30},
        poolclass=QueuePool,
        pool_size=SQLITE_POOL_SIZE,
        max_overflow=0,
    )


class Database:
    """One engine plus the transaction boundaries used by requests, jobs and the CLI."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        size = engine.pool.size() if isinstance(engine.pool, QueuePool) else 1
        self.gate = FairGate(size + max(0, getattr(engine.pool, "_max_overflow", 0)))
        self.write_gate = FairGate(1, what="turn to write") if self.dialect == "sqlite" else None

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A read-write transaction; committed on success, rolled back on any error."""
        turn = self.write_gate.held() if self.write_gate is not None else nullcontext()
        with turn, self.gate.held(), self.engine.connect() as conn:
            conn = conn.execution_options(seatflow_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (deferred on SQLite, so readers never wait on writers)."""
        with self.gate.held(), self.engine.connect() as conn:
            conn = conn.execution_options(seatflow_write=False)
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()
