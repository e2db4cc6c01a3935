"""Helpers shared by the benchmarks: PostgreSQL databases, percentiles, CPU accounting, tables.

The benchmarks are scripts (``.venv/bin/python bench/dispatch.py``), not a package: they import this
module from their own folder.
"""

from __future__ import annotations

import os
import platform
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
_NAME = re.compile(r"^[a-z0-9_]{1,63}$")


# --- PostgreSQL databases -----------------------------------------------------------------------


def pg_url_for(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def pg_admin(admin_url: str, sql: str) -> None:
    engine = create_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def pg_create(admin_url: str, name: str) -> str:
    """Create a fresh database ``name`` (dropped first if a crashed run left it) and return its URL."""
    if not _NAME.match(name):
        raise ValueError(f"database name {name!r} must be lowercase letters, digits and _")
    pg_drop(admin_url, name)
    pg_admin(admin_url, f'CREATE DATABASE "{name}"')
    return pg_url_for(admin_url, name)


def pg_drop(admin_url: str, name: str) -> None:
    if not _NAME.match(name):
        raise ValueError(f"database name {name!r} must be lowercase letters, digits and _")
    pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def libpq_url(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg://...`` -> ``postgresql://...`` for psycopg.connect."""
    u = make_url(sqlalchemy_url).set(drivername="postgresql")
    return u.render_as_string(hide_password=False)


# --- statistics ---------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (nan when empty)."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


@dataclass
class Latency:
    n: int
    p50: float
    p95: float
    p99: float
    mean: float
    max: float

    @classmethod
    def of(cls, seconds: list[float]) -> Latency:
        s = sorted(seconds)
        if not s:
            nan = float("nan")
            return cls(0, nan, nan, nan, nan, nan)
        ms = 1000.0
        return cls(len(s), percentile(s, 50) * ms, percentile(s, 95) * ms, percentile(s, 99) * ms,
                   sum(s) / len(s) * ms, s[-1] * ms)


# --- CPU accounting -----------------------------------------------------------------------------

_CLK = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: str) -> tuple[str, int, float] | None:
    """(comm, ppid, cpu seconds) of a process, or None when it is gone."""
    st = _proc_stat_full(pid)
    return None if st is None else st[:3]


def _proc_stat_full(pid: str) -> tuple[str, int, float, float] | None:
    """(comm, ppid, cpu seconds, cpu seconds of its exited and reaped children)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            raw = fh.read()
    except OSError:
        return None
    lpar, rpar = raw.index("("), raw.rindex(")")
    comm = raw[lpar + 1:rpar]
    fields = raw[rpar + 2:].split()
    ppid = int(fields[1])
    cpu = (int(fields[11]) + int(fields[12])) / _CLK  # utime + stime
    children = (int(fields[13]) + int(fields[14])) / _CLK  # cutime + cstime
    return comm, ppid, cpu, children


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy since boot (all cores)."""
    return _machine_busy()[0]


def _machine_busy() -> tuple[float, float]:
    with open("/proc/stat") as fh:
        parts = fh.readline().split()[1:]
    vals = [int(x) for x in parts]
    idle = vals[3] + vals[4]
    return (sum(vals) - idle) / _CLK, sum(vals) / _CLK


class CpuMeter:
    """CPU seconds per second spent, during a window, by: the server processes (descendants of the
    given roots), PostgreSQL (backends of the bench's database and the server's shared processes),
    PostgreSQL backends that ended during the window ("pg_gone": what the postmaster reaped; of any
    database, but during a bench window nearly all ours: a pool that opens and closes connections
    shows here), this benchmark process (and its children), and the whole machine; "other" is the
    rest: anything else running on the machine. Printed next to each run, so that one sees which
    side saturates the cores, and whether something foreign disturbed the run. On PostgreSQL it
    also counts the sessions opened on the bench's database during the window (``sessions_dsn``)."""

    db_name: str | None = None  # PostgreSQL backends of other databases count as "other" (set by the bench)
    sessions_dsn: str | None = None  # libpq URL of the bench's database, to count the sessions opened

    def __init__(self, server_roots: Sequence[int]) -> None:
        self.roots = set(server_roots)
        self._t0 = 0.0
        self._snap: dict[str, float] = {}
        self._busy0 = 0.0
        self._sessions0: int | None = None

    def _groups(self) -> dict[str, float]:
        procs: dict[int, tuple[str, int, float]] = {}
        reaped = 0.0
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                st = _proc_stat_full(pid)
                if st is not None:
                    procs[int(pid)] = st[:3]
                    if st[0].startswith("postgres") and self._is_postmaster(pid):
                        reaped += st[3]
        me = os.getpid()

        def under(pid: int, roots: set[int]) -> bool:
            seen = 0
            while pid > 1 and seen < 64:
                if pid in roots:
                    return True
                st = procs.get(pid)
                if st is None:
                    return False
                pid = st[1]
                seen += 1
            return False

        out = {"server": 0.0, "postgres": 0.0, "bench": 0.0, "pg_gone": reaped}
        for pid, (comm, _ppid, cpu) in procs.items():
            if self.roots and under(pid, self.roots):
                out["server"] += cpu
                out[f"pid{pid}"] = cpu
            elif comm.startswith("postgres"):
                if self._our_postgres(pid):
                    out["postgres"] += cpu
            elif under(pid, {me}):
                out["bench"] += cpu
        return out

    @staticmethod
    def _is_postmaster(pid: str) -> bool:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                return not fh.read().startswith(b"postgres:")
        except OSError:
            return False

    def _sessions(self) -> int | None:
        if not self.sessions_dsn:
            return None
        try:
            import psycopg

            with psycopg.connect(self.sessions_dsn, autocommit=True) as con:
                con.execute("SELECT pg_stat_clear_snapshot()")
                row = con.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")\
                    .fetchone()
            return None if row is None else int(row[0])
        except Exception:  # noqa: BLE001 - informative only
            return None

    def _our_postgres(self, pid: int) -> bool:
        """A backend of our database, or a shared server process (WAL writer, checkpointer...)."""
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                title = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return False
        is_backend = "127.0.0.1(" in title or "[local]" in title or "::1(" in title
        if not is_backend:
            return True
        return self.db_name is None or f" {self.db_name} " in title

    nice: int = 0  # when set, our PostgreSQL backends are reniced to it at the start of each window

    def _renice_backends(self) -> None:
        if not self.nice or not self.db_name:
            return
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            st = _proc_stat(pid)
            if st is None or not st[0].startswith("postgres"):
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    title = fh.read().replace(b"\0", b" ").decode(errors="replace")
                if f" {self.db_name} " in title:
                    os.setpriority(os.PRIO_PROCESS, int(pid), self.nice)
            except OSError:
                pass

    def start(self) -> None:
        self._renice_backends()
        self._sessions0 = self._sessions()
        self._t0 = time.perf_counter()
        self._snap = self._groups()
        self._busy0 = _machine_busy()[0]

    def stop(self) -> dict[str, float]:
        dt = time.perf_counter() - self._t0
        now = self._groups()
        out = {k: max(0.0, now[k] - self._snap.get(k, 0.0)) / dt for k in now}
        # the server's busiest processes, to see whether its workers share the load
        per_proc = sorted((v for k, v in out.items() if k.startswith("pid")), reverse=True)
        out = {k: v for k, v in out.items() if not k.startswith("pid")}
        if len(per_proc) > 1:
            out["server_split"] = "/".join(f"{v:.2f}" for v in per_proc[:4] if v >= 0.01)  # type: ignore[assignment]
        out["machine"] = (_machine_busy()[0] - self._busy0) / dt
        s1 = self._sessions()
        if s1 is not None and self._sessions0 is not None:
            out["pg_sessions_per_s"] = (s1 - self._sessions0 - 1) / dt  # minus this count's own session
        return out


def cpu_text(cpu: dict[str, float] | None) -> str:
    if not cpu:
        return ""
    text = (f"server {cpu['server']:.2f} pg {cpu['postgres']:.2f} pg_gone {cpu.get('pg_gone', 0.0):.2f} "
            f"bench {cpu['bench']:.2f} other {other_load(cpu):.2f}")
    if cpu.get("server_split"):
        text += f"; server processes {cpu['server_split']}"
    if "pg_sessions_per_s" in cpu:
        text += f"; new pg sessions {cpu['pg_sessions_per_s']:.1f}/s"
    return text


def other_load(cpu: dict[str, float]) -> float:
    """Cores used by processes that are not the bench's (server, database, load generator)."""
    ours = cpu.get("server", 0.0) + cpu.get("postgres", 0.0) + cpu.get("pg_gone", 0.0) + cpu.get("bench", 0.0)
    return max(0.0, cpu.get("machine", 0.0) - ours)


# --- the machine --------------------------------------------------------------------------------


def machine_info(pg_admin_url: str | None = None) -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as fh:
            models = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        info["cpu"] = models[0] if models else "?"
    except OSError:
        info["cpu"] = "?"
    info["nproc"] = str(os.cpu_count())
    try:
        with open("/proc/meminfo") as fh:
            kb = int(next(line for line in fh if line.startswith("MemTotal")).split()[1])
        info["memory"] = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        info["memory"] = "?"
    info["python"] = platform.python_version()
    info["sqlite"] = sqlite3.sqlite_version
    info["kernel"] = platform.release()
    if pg_admin_url:
        try:
            engine = create_engine(pg_admin_url, poolclass=NullPool)
            with engine.connect() as conn:
                info["postgres"] = str(conn.execute(text("SHOW server_version")).scalar())
            engine.dispose()
        except Exception as exc:  # noqa: BLE001 - informative only
            info["postgres"] = f"unavailable ({type(exc).__name__})"
    try:
        info["git"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                     cwd=os.path.dirname(__file__), check=False).stdout.strip() or "?"
    except OSError:
        info["git"] = "?"
    return info


def print_machine(info: dict[str, str]) -> None:
    print("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()), flush=True)


# --- tables -------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, r in enumerate(cells):
        padded = (c.rjust(w) if n and _numeric(c) else c.ljust(w) for c, w in zip(r, widths, strict=True))
        lines.append("  ".join(padded).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(c: object) -> str:
    if isinstance(c, float):
        if c != c:  # nan
            return "-"
        return f"{c:.1f}" if abs(c) >= 10 else f"{c:.2f}"
    return str(c)


def _numeric(s: str) -> bool:
    try:
        float(s.rstrip("x%"))
        return True
    except ValueError:
        return False


def foreign_load(seconds: float = 2.0) -> float:
    """CPU cores busy over ``seconds`` (call while the benchmark itself is idle)."""
    b0 = _machine_busy()[0]
    t0 = time.perf_counter()
    time.sleep(seconds)
    return (_machine_busy()[0] - b0) / (time.perf_counter() - t0)


def wait_quiet(max_busy: float, timeout: float, say: Any = print) -> float:
    """Wait until the machine is nearly idle (at most ``max_busy`` cores busy over 2 s); returns the
    last reading (it may be above ``max_busy`` when ``timeout`` ran out)."""
    deadline = time.monotonic() + timeout
    busy = foreign_load()
    told = False
    while busy > max_busy and time.monotonic() < deadline:
        if not told:
            say(f"   waiting for the machine to be quiet: {busy:.2f} cores busy (want <= {max_busy:.2f})")
            told = True
        busy = foreign_load()
    return busy


# --- the app server the HTTP benchmarks run against ---------------------------------------------


def stop_process_group(proc: subprocess.Popen[bytes] | None, grace: float) -> None:
    """SIGTERM a server started with ``start_new_session=True`` and its workers; SIGKILL after ``grace`` s."""
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AppServer:
    """uvicorn on the app factory in ``processes`` worker processes, on a free port, with its log in ``tmp``;
    ready once every worker has answered /healthz (three answers in a row per process)."""

    def __init__(self, url: str, tmp: str | Path, processes: int = 1) -> None:
        self.url = url
        self.tmp = Path(tmp)
        self.processes = processes
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = self.tmp / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> AppServer:
        import httpx

        env = {k: v for k, v in os.environ.items() if not k.startswith("SEATFLOW_")}
        env.update({"SEATFLOW_DATABASE_URL": self.url, "SEATFLOW_HOME": str(self.tmp / "home"),
                    "SEATFLOW_SECRET_KEY": "bench-secret"})
        self._fh = self.log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "seatflow.asgi:app_from_env", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(self.processes), "--no-access-log", "--log-level",
             "warning"], env=env, stdout=self._fh, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        ok = 0
        while ok < 3 * self.processes:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited; its log:\n{self.log.read_text(errors='replace')[-3000:]}")
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not answer within 60 s; log: {self.log}")
            try:
                ok = ok + 1 if httpx.get(self.base + "/healthz", timeout=2).status_code == 200 else 0
            except httpx.HTTPError:
                ok = 0
            time.sleep(0.1 if ok else 0.3)
        return self

    def __exit__(self, *exc: object) -> None:
        stop_process_group(self.proc, 20)
        self._fh.close()
