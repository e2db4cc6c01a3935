"""Import items into a project from JSONL, CSV or a folder of images, streamed in batches.

Each record is validated by the project's work type before its batch is written. The import is
idempotent by external id (re-running skips what is there), so a stopped import resumes. A bad
record stops the import with the file, line and field named; every record before it is written
whole, nothing after it, and the report says how many were imported.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from seatflow.domain.actors import Actor, Role
from seatflow.domain.clock import utcnow
from seatflow.domain.workflow import initial_tasks, parse_workflow
from seatflow.errors import ImportFailed, SeatflowError, ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.store import catalog
from seatflow.store import items as repo
from seatflow.store.engine import Database
from seatflow.store.tables import batches
from seatflow.worktypes import get_work_type

from .projects import get_project

RESERVED = ("external_id", "priority", "deadline", "payload", "media")
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


@dataclass
class Record:
    source: str
    line: int
    data: dict[str, Any]


@dataclass
class ImportReport:
    project: str
    batch_id: int | None
    read: int = 0
    imported: int = 0
    skipped: int = 0
    error: str | None = None
    error_line: int | None = None
    error_field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def utf8_lines(path: Path) -> Generator[str, None, None]:
    """The file's lines (endings kept, a leading BOM dropped), decoded one by one so that a file that is
    not UTF-8 (a CSV saved as GBK, say) stops at its line, named, instead of somewhere in a chunk."""
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ImportFailed(Msg("{file}:{line}: not UTF-8 text (byte {byte} of the line is 0x{value:02x}); "
                                       "save the file as UTF-8 (not GBK or another encoding) and import it again",
                                       file=path.name, line=n, byte=exc.start + 1, value=raw[exc.start]),
                                   file=str(path), line=n) from None


def read_jsonl(path: Path) -> Iterator[Record]:
    for n, raw in enumerate(utf8_lines(path), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw.rstrip("\r\n"))  # a column past the end of the line, not "line 2 column 1"
        except json.JSONDecodeError as exc:
            raise ImportFailed(Msg("{file}:{line}: not valid JSON ({why} at column {column})", file=path.name,
                                   line=n, why=exc.msg, column=exc.colno),
                               file=str(path), line=n) from None
        if not isinstance(data, dict):
            raise ImportFailed(Msg("{file}:{line}: each line must be a JSON object", file=path.name, line=n),
                               file=str(path), line=n)
        yield Record(str(path), n, data)


def read_csv(path: Path) -> Iterator[Record]:
    """CSV with a header; columns named like payload fields; JSON in a ``payload`` column is merged."""
    lines = utf8_lines(path)
    try:
        reader = csv.DictReader(lines)
        if not reader.fieldnames:
            raise ImportFailed(Msg("{file}:1: the CSV file has no header row", file=path.name), file=str(path),
                               line=1)
        for row in reader:
            n = reader.line_num
            if None in row:
                raise ImportFailed(Msg("{file}:{line}: more cells than header columns", file=path.name, line=n),
                                   file=str(path), line=n)
            data: dict[str, Any] = {}
            for key, value in row.items():
                if value is None:
                    raise ImportFailed(Msg("{file}:{line}: fewer cells than header columns (missing {column!r})",
                                           file=path.name, line=n, column=key),
                                       file=str(path), line=n, field=key)
                if key == "payload" and value:
                    try:
                        data["payload"] = json.loads(value)
                    except json.JSONDecodeError as exc:
                        raise ImportFailed(Msg("{file}:{line}: column 'payload' is not valid JSON ({why})",
                                               file=path.name, line=n, why=exc.msg),
                                           file=str(path), line=n, field="payload") from None
                elif value != "":
                    data[key] = _scalar(value)
            yield Record(str(path), n, data)
    finally:
        lines.close()


def _scalar(value: str) -> Any:
    if value.isdigit() or (value.startswith("-") and value[1:].isdigit()):
        return int(value)
    return value


def read_image_folder(folder: Path, media_root: Path, project_slug: str, work_type: str) -> Iterator[Record]:
    """Images under ``folder`` (recursive), copied to the media store; external id = relative path."""
    from PIL import Image, UnidentifiedImageError

    for n, path in enumerate(sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES), 1):
        rel = path.relative_to(folder).as_posix()
        try:
            with Image.open(path) as im:
                width, height = im.size
        except (UnidentifiedImageError, OSError) as exc:
            raise ImportFailed(Msg("{file}: not a readable image ({why})", file=rel, why=str(exc)), file=str(path),
                               line=n) from None
        target = media_root / project_slug / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            shutil.copyfile(path, target)
        media = f"{project_slug}/{rel}"
        if work_type == "moderation":
            payload: dict[str, Any] = {"kind": "image", "media": media}
        else:
            payload = {"image": media, "width": width, "height": height}
        yield Record(str(path), n, {"external_id": rel, "payload": payload})


def records_from(path: Path, *, media_root: Path, project_slug: str, work_type: str) -> Iterator[Record]:
    if path.is_dir():
        return read_image_folder(path, media_root, project_slug, work_type)
    if not path.exists():
        raise ImportFailed(Msg("{path}: no such file or folder", path=str(path)), file=str(path))
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return read_jsonl(path)
    if suffix == ".csv":
        return read_csv(path)
    raise ImportFailed(Msg("{file}: unknown format {suffix!r}; use .jsonl, .csv or a folder of images",
                           file=path.name, suffix=suffix),
                       file=str(path))


def _parse_deadline(value: Any) -> datetime:
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(Msg("deadline {value!r} is not an ISO 8601 time", value=value),
                               field="deadline") from None
    if dt.tzinfo is None:
        raise ValidationFailed(Msg("deadline {value!r} needs a time zone (e.g. +08:00 or Z)", value=value),
                               field="deadline")
    return dt


def import_records(
    db: Database,
    actor: Actor | None,
    project_ref: str | int,
    records: Iterable[Record],
    *,
    source: str,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
    batch_name: str | None = None,
) -> ImportReport:
    """Stream ``records`` into the project. See the module docstring for the guarantees."""
    with db.write() as conn:
        project = catalog.project_by_slug(conn, str(project_ref)) if actor is None else \
            get_project(conn, actor, project_ref)
        if project is None:
            raise ValidationFailed(Msg("project {slug!r} does not exist", slug=project_ref), field="project")
        if actor is not None:  # a client pushes work into its own projects (get_project checked the tenant)
            actor.require(Role.ADMIN, Role.MANAGER, Role.CLIENT)
        now = utcnow()
        batch_id = catalog.insert(conn, batches, {
            "client_id": project.client_id, "project_id": project.id, "name": batch_name or Path(source).name,
            "source": source, "status": "importing", "created_at": now})
    work_type = get_work_type(project.work_type)
    schema = work_type.parse_schema(project.label_schema)
    wf = parse_workflow(project.workflow)
    slots = initial_tasks(wf)
    sla = timedelta(minutes=project.sla_minutes) if project.sla_minutes else None
    report = ImportReport(project=project.slug, batch_id=batch_id)
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        if not pending:
            return
        with db.write() as conn:
            inserted = repo.insert_items_skip_existing(conn, pending)
            if inserted.rows:
                repo.insert_first_tasks(conn, batch_id=batch_id, first_id=inserted.first_id,
                                        last_id=inserted.last_id,
                                        slots=[(s.stage, s.kind.value, s.slot) for s in slots])
            repo.add_to_batch(conn, batch_id, inserted.rows)
        report.imported += inserted.rows
        report.skipped += len(pending) - inserted.rows
        if progress:
            progress(len(pending))
        pending.clear()

    seen: set[str] = set()
    clock = [utcnow()]  # one "now" per import batch: its items share created_at (and an SLA deadline)
    try:
        for rec in records:
            report.read += 1
            pending.append(_item_row(rec, project, work_type, schema, batch_id, sla, seen, clock[0]))
            if len(pending) >= batch_size:
                flush()
                clock[0] = utcnow()
        flush()
        status = "ready"
    except SeatflowError as exc:
        flush()  # everything before the bad record, whole
        report.error = exc.detail
        report.error_line = exc.extra.get("line")
        report.error_field = exc.field
        status = "failed"
    with db.write() as conn:
        if status == "ready" and report.imported == 0 and repo.drop_if_empty(conn, batch_id):
            report.batch_id = None  # nothing new (a re-run of the same file): no empty batch left behind
        else:
            repo.add_to_batch(conn, batch_id, 0, status=status)
    return report


def _item_row(rec: Record, project: Any, work_type: Any, schema: Any, batch_id: int,
              sla: timedelta | None, seen: set[str], now: datetime | None = None) -> dict[str, Any]:
    data = rec.data
    try:
        ext = data.get("external_id")
        if ext is None or str(ext).strip() == "":
            raise ValidationFailed(Msg("external_id is missing"), field="external_id")
        ext = str(ext)
        if len(ext) > 400:
            raise ValidationFailed(Msg("external_id is longer than 400 characters"), field="external_id")
        if ext in seen:
            raise ValidationFailed(Msg("external_id {ext!r} appears twice in this import", ext=ext),
                                   field="external_id")
        payload = data["payload"] if "payload" in data else {k: v for k, v in data.items() if k not in RESERVED}
        parsed = work_type.parse_payload(payload, schema)
        priority = data.get("priority", 0)
        if not isinstance(priority, int) or isinstance(priority, bool) or not -1000 <= priority <= 1000:
            raise ValidationFailed(Msg("priority must be a whole number from -1000 to 1000"), field="priority")
        now = now or utcnow()
        if data.get("deadline"):
            deadline = _parse_deadline(data["deadline"])
        else:
            deadline = now + sla if sla else FAR_FUTURE
    except SeatflowError as exc:  # named here, not per row: building the place cost ~4 % of an import
        where = f"{Path(rec.source).name}:{rec.line}"
        field = exc.field or ""
        detail = exc.detail if exc.detail.startswith(where) else Msg("{where}: {detail}", where=where,
                                                                      detail=exc.detail)
        raise ImportFailed(detail, field=field or None, file=rec.source, line=rec.line) from None
    seen.add(ext)
    return {
        "client_id": project.client_id, "project_id": project.id, "batch_id": batch_id, "external_id": ext,
        "payload": parsed.model_dump(mode="json", exclude_none=True), "media": work_type.media_of(parsed) or None,
        "priority": priority, "deadline": deadline, "state": "active", "created_at": now,
        # not getattr(parsed, "gold", None): on a model without the field pydantic's __getattr__ raises
        # and catches its way to None, ~9 % of an import's CPU
        "gold": "gold" in type(parsed).model_fields and parsed.gold is not None,
    }
