"""Exports as background jobs: started from the UI or the API, written by a thread, downloaded when done.

Each job lives in a folder of its own under ``$SEATFLOW_HOME/exports/<id>/``: ``job.json`` (its state:
queued, running, done or failed; rows written, the total, the error), the export file (a zip for the
multi-file formats) and its manifest. The folder is the record, so jobs survive a restart; a job that
was running when the process stopped is marked failed on the next start ("interrupted"), and its
partial file is never offered (exports are written under a temporary name and moved into place).

Who sees a job: the center's staff, and users of the project's client; never workers (the same rule
as every export, :func:`seatflow.services.exports.exportable_project`).
"""

from __future__ import annotations

import json
import secrets
import shutil
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seatflow.domain.actors import Actor, Role
from seatflow.errors import Conflict, NotFound, SeatflowError
from seatflow.i18n.message import Msg, from_data, to_data
from seatflow.media import MediaStore
from seatflow.store.engine import Database

from . import exports

STATES = ("queued", "running", "done", "failed")
PROGRESS_EVERY = 500


@dataclass
class ExportJob:
    id: str
    project_id: int
    project_slug: str
    client_id: int
    format: str
    batch_id: int | None
    created_by: int
    state: str = "queued"
    rows: int = 0
    total: int | None = None
    file: str | None = None  # file name inside the job's folder
    bytes: int | None = None
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    created_at: str = ""
    finished_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["links"] = {"status": f"/api/v1/exports/{self.id}"}
        if self.state == "done":
            body["links"]["download"] = f"/api/v1/exports/{self.id}/download"
        return body


class ExportJobs:
    """The jobs of one app process: start, read, list; the files are in ``root``."""

    def __init__(self, db: Database, root: Path, media: MediaStore | None = None) -> None:
        self.db = db
        self.root = Path(root)
        self.media = media
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}

    # -- storage -------------------------------------------------------------------------------
    def _dir(self, job_id: str) -> Path:
        if not job_id.isalnum() or len(job_id) > 64:
            raise NotFound(Msg("export {job_id} not found", job_id=job_id))
        return self.root / job_id

    def _save(self, job: ExportJob) -> None:
        folder = self._dir(job.id)
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / ".job.json.part"
        body = {**asdict(job), "error": to_data(job.error)}  # the error keeps its message id (pages translate it)
        part.write_text(json.dumps(body, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        part.replace(folder / "job.json")

    def _load(self, job_id: str) -> ExportJob:
        path = self._dir(job_id) / "job.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            raise NotFound(Msg("export {job_id} not found", job_id=job_id)) from None
        job = ExportJob(**{**data, "error": from_data(data.get("error"))})
        if job.state in ("queued", "running") and not self._alive(job.id):
            job.state, job.error = "failed", Msg("interrupted: the server stopped while it ran; start it again")
            job.finished_at = _now()
            self._save(job)
        return job

    def _alive(self, job_id: str) -> bool:
        thread = self._threads.get(job_id)
        return thread is not None and thread.is_alive()

    # -- use cases -----------------------------------------------------------------------------
    def start(self, actor: Actor, project_ref: str | int, fmt: str, *, batch_id: int | None = None,
              with_media: bool = False) -> ExportJob:
        """Check access and format now (errors are the caller's), then write the export in a thread."""
        with self.db.read() as conn:
            project = exports.exportable_project(conn, actor, project_ref, batch_id=batch_id)
            exports.check_format(project, fmt)
            total = exports.count_done(conn, project.id, batch_id)
        job = ExportJob(id=secrets.token_hex(8), project_id=project.id, project_slug=project.slug,
                        client_id=project.client_id, format=fmt, batch_id=batch_id, created_by=actor.id,
                        total=total, created_at=_now())
        self._save(job)
        thread = threading.Thread(target=self._run, args=(job, actor, with_media), name=f"export-{job.id}",
                                  daemon=True)
        with self._lock:
            self._threads[job.id] = thread
        thread.start()
        return job

    def _run(self, job: ExportJob, actor: Actor, with_media: bool) -> None:
        folder = self._dir(job.id)
        job.state = "running"
        self._save(job)
        name, _media_type = exports.download_name(_ProjectRef(job.project_slug), job.format)
        try:
            def progress(n: int) -> None:
                job.rows = n
                if n % (PROGRESS_EVERY * 10) == 0:
                    self._save(job)

            result = exports.export_to_path(self.db, actor, job.project_id, job.format, folder / name,
                                            batch_id=job.batch_id, media=self.media if with_media else None,
                                            on_row=progress)
            job.file = name
            job.bytes = (folder / name).stat().st_size
            job.counts = dict(result.manifest_data["counts"])
            job.state = "done"
        except SeatflowError as exc:
            job.state, job.error = "failed", exc.detail
        except Exception as exc:  # noqa: BLE001 - a job reports its failure instead of dying silently
            job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
        job.finished_at = _now()
        self._save(job)

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)

    def get(self, actor: Actor, job_id: str) -> ExportJob:
        job = self._load(job_id)
        if not _may_see(actor, job):
            raise NotFound(Msg("export {job_id} not found", job_id=job_id))
        return job

    def visible(self, actor: Actor) -> list[ExportJob]:
        if not self.root.is_dir():
            return []
        jobs = []
        for folder in self.root.iterdir():
            if (folder / "job.json").is_file():
                try:
                    job = self._load(folder.name)
                except NotFound:
                    continue
                if _may_see(actor, job):
                    jobs.append(job)
        return sorted(jobs, key=lambda j: j.created_at, reverse=True)

    def download(self, actor: Actor, job_id: str) -> tuple[Path, str]:
        """The finished file and its download name."""
        job = self.get(actor, job_id)
        if job.state != "done" or not job.file:
            raise Conflict(Msg("export {job_id} is {state}; download it when it is done", job_id=job_id,
                               state=job.state),
                           field="state")
        return self._dir(job_id) / job.file, job.file

    def manifest(self, actor: Actor, job_id: str) -> Path:
        path, name = self.download(actor, job_id)
        return path.with_name(name + ".manifest.json")

    def delete(self, actor: Actor, job_id: str) -> None:
        job = self.get(actor, job_id)
        if job.state in ("queued", "running"):
            raise Conflict(Msg("export {job_id} is still {state}", job_id=job_id, state=job.state), field="state")
        shutil.rmtree(self._dir(job.id), ignore_errors=True)


@dataclass
class _ProjectRef:
    slug: str


def _may_see(actor: Actor, job: ExportJob) -> bool:
    if actor.role is Role.WORKER:
        return False
    if actor.role is Role.CLIENT:
        return actor.client_id == job.client_id
    return True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
