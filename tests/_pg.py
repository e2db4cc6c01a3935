"""Find or start a PostgreSQL server for the test session, and make databases on it.

The search order (see ``find_server``):

1. ``SEATFLOW_TEST_PG_URL``: a server you name (any SQLAlchemy URL of a database on it); must answer.
2. A server on 127.0.0.1:5432 that lets the user ``postgres`` in without a password.
3. A throwaway cluster: ``initdb`` + ``pg_ctl`` in a temporary folder, on a free port, removed at the end.

``SEATFLOW_TEST_PG=cluster`` skips 1 and 2 and always starts a throwaway cluster.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

LOCAL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
_NAME = re.compile(r"^[a-z0-9_]{1,63}$")


class NoPostgres(Exception):
    """No PostgreSQL server could be found or started; the message says what was tried.

    ``requested`` is true when the environment asked for a particular server (SEATFLOW_TEST_PG_URL or
    SEATFLOW_TEST_PG=cluster): not getting it is then an error, not a reason to skip.
    """

    def __init__(self, message: str, *, requested: bool = False) -> None:
        super().__init__(message)
        self.requested = requested


@dataclass
class PgServer:
    """A PostgreSQL server the session may create and drop databases on."""

    admin_url: str  # SQLAlchemy URL of a maintenance database (usually ``postgres``)
    origin: str  # how it was found, for the report header
    _cluster: Cluster | None = None
    _prefix: str = field(default_factory=lambda: f"sftest_{os.getpid()}_{uuid.uuid4().hex[:6]}")
    _count: int = 0

    def url_for(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)

    def new_name(self) -> str:
        self._count += 1
        return f"{self._prefix}_{self._count}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create ``name`` (optionally as a copy of ``template``) and return its URL."""
        sql = f'CREATE DATABASE "{_checked(name)}"'
        if template:
            sql += f' TEMPLATE "{_checked(template)}"'
        self._execute(sql)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        # FORCE ends connections a test left open, so one leak doesn't fail the next test's teardown.
        self._execute(f'DROP DATABASE IF EXISTS "{_checked(name)}" WITH (FORCE)')

    def stop(self) -> None:
        if self._cluster is not None:
            self._cluster.stop()

    def _execute(self, sql: str) -> None:
        engine = create_engine(self.admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()


def _checked(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"unsafe database name {name!r}")
    return name


def answers(url: str, timeout: int = 3) -> str | None:
    """None when ``url`` accepts a connection, else the reason it did not."""
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": timeout})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # any failure to connect means "not this server"
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
    finally:
        engine.dispose()


def find_server() -> PgServer:
    """Return a usable server, or raise NoPostgres saying everything that was tried."""
    mode = os.environ.get("SEATFLOW_TEST_PG", "auto")
    if mode not in ("auto", "cluster"):
        raise NoPostgres(
            f"SEATFLOW_TEST_PG={mode!r}: expected 'auto' (the default) or 'cluster'", requested=True
        )
    tried: list[str] = []
    if mode == "auto":
        named = os.environ.get("SEATFLOW_TEST_PG_URL")
        if named:
            problem = answers(named)
            if problem:
                raise NoPostgres(
                    f"SEATFLOW_TEST_PG_URL={_safe(named)} does not answer: {problem}", requested=True
                )
            return PgServer(admin_url=named, origin=f"SEATFLOW_TEST_PG_URL ({_safe(named)})")
        problem = answers(LOCAL_URL)
        if problem is None:
            return PgServer(admin_url=LOCAL_URL, origin="local server on 127.0.0.1:5432")
        tried.append(f"127.0.0.1:5432 as user postgres: {problem}")
    try:
        cluster = Cluster.start()
    except NoPostgres as exc:
        tried.append(f"throwaway cluster: {exc}")
        raise NoPostgres("; ".join(tried), requested=mode == "cluster") from None
    return PgServer(admin_url=cluster.url, origin=f"throwaway cluster in {cluster.root}", _cluster=cluster)


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def server_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: PATH first, then Debian's /usr/lib/postgresql/*/bin."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    versions = glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")
    versions.sort(key=lambda p: int(re.sub(r"\D", "", Path(p).parent.parent.name) or 0), reverse=True)
    for pg_ctl in versions:
        if Path(pg_ctl).with_name("initdb").exists():
            return Path(pg_ctl).parent
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Cluster:
    """A PostgreSQL cluster of our own in a temporary folder (trust auth, no fsync)."""

    root: Path
    bindir: Path
    port: int
    as_user: str | None  # run the server as this user (initdb refuses to run as root)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @classmethod
    def start(cls) -> Cluster:
        bindir = server_binaries()
        if bindir is None:
            raise NoPostgres(
                "initdb/pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin "
                "(scripts/test installs Debian's postgresql package)"
            )
        as_user = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise NoPostgres("running as root and there is no 'postgres' user to run initdb as") from None
            as_user = "postgres"
        root = Path(tempfile.mkdtemp(prefix="seatflow-pg-"))
        if as_user:
            shutil.chown(root, user=as_user)
        cluster = cls(root=root, bindir=bindir, port=_free_port(), as_user=as_user)
        try:
            cluster._init_and_start()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _init_and_start(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        for attempt in range(3):  # another process may take the free port before the server binds it
            options = (
                f"-p {self.port} -k '{self.root}' -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data),
                          "-l", str(self.root / "server.log"), "-o", options)  # fmt: skip
                return
            except NoPostgres:
                if attempt == 2:
                    raise
                self.port = _free_port()

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(self.data))
            except NoPostgres:
                pass  # the folder goes anyway; a server left without its folder exits on its own
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        cmd = [str(self.bindir / program), *args]
        if self.as_user:
            cmd = ["runuser", "-u", self.as_user, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.root)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise NoPostgres(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()} {tail}")
