"""Sample the server processes with py-spy during a run, and say where their time goes.

``py-spy`` is optional (``.venv/bin/pip install py-spy``); it samples without stopping the process
(``--nonblocking``), so the run it watches is barely slowed. The summary groups samples by the
layer a frame belongs to (HTTP server, framework, validation, SQLAlchemy, driver, seatflow...).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

# (bucket, substrings of the frame's file path), first match wins, checked from the leaf upwards
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("psycopg (driver)", ("/psycopg/", "/psycopg_binary/")),
    ("sqlite3 (driver, SQLite runs in-process)", ("/sqlite3/",)),
    ("sqlalchemy", ("/sqlalchemy/",)),
    ("pydantic", ("/pydantic/", "/pydantic_core/")),
    ("seatflow", ("/seatflow/",)),
    ("fastapi", ("/fastapi/",)),
    ("starlette", ("/starlette/",)),
    ("anyio / threads (sync endpoint handoff)", ("/anyio/", "/concurrent/futures/", "threading.py")),
    ("uvicorn + h11 (HTTP)", ("/uvicorn/", "/h11/", "/httptools/")),
    ("asyncio event loop", ("/asyncio/", "selectors.py")),
    ("json", ("/json/",)),
]


def py_spy() -> str | None:
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


def children(pid: int) -> list[int]:
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as fh:
                    raw = fh.read()
                if int(raw[raw.rindex(")") + 2:].split()[1]) == pid:
                    out.append(int(p))
            except (OSError, ValueError):
                pass
    return out


class Sampler:
    """py-spy record on each worker process of the server, for ``seconds``."""

    def __init__(self, server_pid: int, out_dir: Path, tag: str, seconds: float, rate: int = 100) -> None:
        self.exe = py_spy()
        self.out_dir = out_dir
        self.files: list[Path] = []
        self.procs: list[subprocess.Popen[bytes]] = []
        if self.exe is None:
            return
        pids = children(server_pid) or [server_pid]
        # uvicorn's supervisor has the workers as children; a single-process server is its own worker
        pids = [p for p in pids if _is_python(p)] or [server_pid]
        out_dir.mkdir(parents=True, exist_ok=True)
        self.gil_files: list[Path] = []
        for pid in pids:
            # two views: every non-idle thread (wall clock: includes waiting on the database), and
            # only the thread holding the GIL (where the Python CPU goes)
            for view, extra in (("wall", []), ("gil", ["--gil"])):
                f = out_dir / f"{tag}-pid{pid}-{view}.txt"
                (self.gil_files if view == "gil" else self.files).append(f)
                self.procs.append(subprocess.Popen(
                    [self.exe, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))), "--rate",
                     str(rate), "--nonblocking", "--format", "raw", "--output", str(f), *extra],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def wait(self) -> None:
        for p in self.procs:
            try:
                p.wait(timeout=120)
            except subprocess.TimeoutExpired:
                p.kill()


def _is_python(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"python" in fh.read().split(b"\0")[0]
    except OSError:
        return False


def _layer(frame: str) -> str | None:
    _, _, where = frame.partition(" (")
    where = "/" + where  # py-spy gives paths relative to site-packages: "psycopg/connection.py:495"
    for name, needles in LAYERS:
        if any(n in where for n in needles):
            return name
    return None


def summarize(files: list[Path], top: int = 15, title: str = "") -> str:
    """Where the samples are: by layer of the innermost known frame, and the hottest functions."""
    by_layer: Counter[str] = Counter()
    by_leaf: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for f in files:
        if not f.exists():
            continue
        for line in f.read_text(errors="replace").splitlines():
            stack, _, n = line.rpartition(" ")
            if not n.isdigit():
                continue
            count = int(n)
            frames = stack.split(";")
            total += count
            leaf_layer = next((lay for fr in reversed(frames) if (lay := _layer(fr))), "other")
            by_layer[leaf_layer] += count
            by_leaf[_short(frames[-1])] += count
            for fn in {_short(fr, lineno=False) for fr in frames if _layer(fr) == "seatflow"}:
                inclusive[fn] += count
    if not total:
        return f"   {title}: no samples (is py-spy allowed to attach?)"
    lines = [f"   {title}: {total} samples; by layer of the innermost frame:"]
    for name, c in by_layer.most_common():
        lines.append(f"     {c / total:6.1%}  {name}")
    lines.append("   hottest functions (self time):")
    for name, c in by_leaf.most_common(top):
        lines.append(f"     {c / total:6.1%}  {name}")
    lines.append("   seatflow functions (inclusive time):")
    for name, c in inclusive.most_common(top):
        lines.append(f"     {c / total:6.1%}  {name}")
    return "\n".join(lines)


def _short(frame: str, lineno: bool = True) -> str:
    """'func (/long/path/site-packages/pkg/mod.py:12)' -> 'func (pkg/mod.py:12)'."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    if not lineno:
        where = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/src/", "/lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{name} ({where})" if where else name
