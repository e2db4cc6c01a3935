"""Export accepted results, streamed: memory stays flat at any project size.

``jsonl_lines`` is the plain JSONL export; ``export_to_path`` and ``stream`` write any interchange format
(see :mod:`seatflow.formats`) to a file, folder or zip with a manifest, or as one HTTP body.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from seatflow.domain.actors import Actor, Role
from seatflow.errors import Forbidden, NotFound, ValidationFailed
from seatflow.formats import export_format, manifest
from seatflow.formats._common import Entry, ExportContext, ExportRow, answer_in_force, clean_aggregate
from seatflow.formats._output import write_file, write_folder, write_zip, zip_stream
from seatflow.i18n.message import Msg
from seatflow.media import MediaStore
from seatflow.store import items as repo
from seatflow.store import quality as quality_repo
from seatflow.store.acceptance import batch_of
from seatflow.store.engine import Database

from .projects import get_project


def exportable_project(conn: Connection, actor: Actor, project_ref: str | int, *,
                       batch_id: int | None = None) -> Any:
    """The project, if ``actor`` may export its results: staff and the project's client, never a worker.

    With ``batch_id`` the batch must be one of the project's: an export of a batch that is not there
    is a 404 naming it, not an empty file that looks like "nothing accepted yet".
    """
    if actor.role is Role.WORKER:
        raise Forbidden(Msg("workers cannot export results; they see items only through their leases"))
    project = get_project(conn, actor, project_ref)
    if batch_id is not None:
        batch = batch_of(conn, batch_id)
        if batch is None or batch.project_id != project.id:
            raise NotFound(Msg("batch {batch_id} not found in project {project}", batch_id=batch_id,
                               project=project.slug),
                           field="batch_id")
    return project


AGGREGATE_CHUNK = 500


def with_aggregates(conn: Connection, rows: Iterator[Any]) -> Iterator[tuple[Any, dict[str, Any] | None,
                                                                           float | None]]:
    """(done item row, its aggregate, its confidence), the aggregates read per 500 rows (memory stays flat)."""
    buf: list[Any] = []

    def flush() -> Iterator[tuple[Any, dict[str, Any] | None, float | None]]:
        found = quality_repo.aggregates_of(conn, [r.id for r in buf])
        for r in buf:
            agg, conf = clean_aggregate(*found.get(r.id, (None, None)))
            yield r, agg, conf
        buf.clear()

    for row in rows:
        buf.append(row)
        if len(buf) >= AGGREGATE_CHUNK:
            yield from flush()
    if buf:
        yield from flush()


def jsonl_lines(conn: Connection, actor: Actor, project_ref: str | int, *, batch_id: int | None = None,
                include_workers: bool | None = None) -> Iterator[str]:
    """One JSON line per done item: external id, payload and its accepted answer(s).

    Worker ids are included for center staff, never for client users.
    """
    project = exportable_project(conn, actor, project_ref, batch_id=batch_id)
    show_workers = actor.is_staff if include_workers is None else (include_workers and actor.is_staff)
    for row, aggregate, confidence in with_aggregates(conn, repo.stream_done_items(conn, project.id, batch_id)):
        results: list[dict[str, Any]] = row.result or []
        answers = [
            {k: v for k, v in r.items() if show_workers or k not in ("worker_id", "submission_id")}
            for r in results
        ]
        line = {
            "external_id": row.external_id,
            "item_id": row.id,
            "batch_id": row.batch_id,
            "payload": row.payload,
            "answers": answers,
            "answer": answer_in_force(answers),
            "done_at": row.done_at.isoformat() if row.done_at else None,
        }
        if aggregate is not None:
            line["aggregate"] = aggregate
            line["confidence"] = confidence
        yield json.dumps(
            line,
            ensure_ascii=False,
            separators=(",", ":"),
        ) + "\n"


# -- interchange formats (COCO, YOLO, VOC, Label Studio, CSV, JSONL) --------------------------------


def count_done(conn: Connection, project_id: int, batch_id: int | None = None) -> int:
    """How many items an export of the project (or batch) holds, for progress bars."""
    return repo.count_done_items(conn, project_id, batch_id)


def export_rows(conn: Connection, actor: Actor, project: Any, *, batch_id: int | None = None,
                include_workers: bool | None = None) -> Iterator[ExportRow]:
    """Done items as the format writers read them, streamed. Worker ids for center staff only."""
    show_workers = actor.is_staff if include_workers is None else (include_workers and actor.is_staff)
    for row, aggregate, confidence in with_aggregates(conn, repo.stream_done_items(conn, project.id, batch_id)):
        answers = [
            {k: v for k, v in r.items() if show_workers or k not in ("worker_id", "submission_id")}
            for r in (row.result or [])
        ]
        yield ExportRow(item_id=row.id, external_id=row.external_id, batch_id=row.batch_id, payload=row.payload,
                        answers=answers, done_at=row.done_at.isoformat() if row.done_at else None,
                        aggregate=aggregate, confidence=confidence)


def export_context(project: Any, *, batch_id: int | None = None, media: MediaStore | None = None) -> ExportContext:
    return ExportContext(project_slug=project.slug, project_name=project.name, work_type=project.work_type,
                         schema=project.label_schema, batch_id=batch_id, media=media, aggregated=aggregated(project))


def aggregated(project: Any) -> bool:
    """Do the project's items get an aggregate: class or decision work with overlap > 1 (or dynamic)?"""
    from seatflow.domain.workflow import parse_workflow

    from .aggregation import classes_of

    try:
        overlap = parse_workflow(project.workflow).overlap
    except ValidationFailed:  # pragma: no cover - workflows are checked when written
        return False
    return overlap > 1 and classes_of(project.work_type, project.label_schema) is not None


def check_format(project: Any, fmt: str) -> Any:
    """The format's module, if it fits the project's work type."""
    module = export_format(fmt)
    if module.WORK_TYPES and project.work_type not in module.WORK_TYPES:
        raise ValidationFailed(Msg("the {format} format is for {work_types} projects; project {project!r} is a "
                                   "{work_type} project", format=fmt, work_types=", ".join(module.WORK_TYPES),
                                   project=project.slug, work_type=project.work_type), field="format")
    return module


def entries(conn: Connection, actor: Actor, project: Any, fmt: str, ctx: ExportContext, *,
            batch_id: int | None = None, on_row: Callable[[int], None] | None = None) -> Iterator[Entry]:
    """The export's files, streamed from one read of the database."""
    module = check_format(project, fmt)
    rows: Iterator[ExportRow] = export_rows(conn, actor, project, batch_id=batch_id)
    if on_row is not None:
        rows = _counted(rows, on_row)
    return iter(module.write(rows, ctx))


def _counted(rows: Iterator[ExportRow], on_row: Callable[[int], None]) -> Iterator[ExportRow]:
    n = 0
    for row in rows:
        yield row
        n += 1
        if n % 500 == 0:
            on_row(n)
    on_row(n)


@dataclass
class ExportResult:
    out: Path
    manifest: Path
    manifest_data: dict[str, Any]


def export_to_path(db: Database, actor: Actor, project_ref: str | int, fmt: str, out: Path, *,
                   batch_id: int | None = None, media: MediaStore | None = None,
                   on_row: Callable[[int], None] | None = None) -> ExportResult:
    """Write an export to ``out`` and its manifest beside it.

    Single-file formats write the file ``out``; zip formats write a zip when ``out`` ends with .zip,
    else a folder ``out`` (which must be new or empty) holding the files and ``manifest.json``.
    """
    started = datetime.now(UTC)
    with db.read() as conn:
        project = exportable_project(conn, actor, project_ref, batch_id=batch_id)
        module = check_format(project, fmt)
        ctx = export_context(project, batch_id=batch_id, media=media)
        files = entries(conn, actor, project, fmt, ctx, batch_id=batch_id, on_row=on_row)
        folder = module.MULTI_FILE and out.suffix.lower() != ".zip"
        out.parent.mkdir(parents=True, exist_ok=True)
        if not module.MULTI_FILE:
            infos = [write_file(next(files), out)]
        elif folder:
            infos = write_folder(files, out)
        else:
            infos = [write_zip(files, out)]
    data = manifest.build(project=project, fmt=fmt, batch_id=batch_id, counts=ctx.counts, files=infos,
                          started=started, finished=datetime.now(UTC), warnings=ctx.warnings.as_list())
    where = manifest.manifest_path(out, folder=folder)
    manifest.write(where, data)
    return ExportResult(out=out, manifest=where, manifest_data=data)


def stream(db: Database, actor: Actor, project: Any, fmt: str, *, batch_id: int | None = None,
           media: MediaStore | None = None) -> Iterator[bytes]:
    """The export as one HTTP body: the file itself, or a zip for the multi-file formats."""
    module = check_format(project, fmt)
    with db.read() as conn:
        ctx = export_context(project, batch_id=batch_id, media=media)
        files = entries(conn, actor, project, fmt, ctx, batch_id=batch_id)
        if module.MULTI_FILE:
            yield from zip_stream(files)
        else:
            for entry in files:
                yield from entry.chunks


def download_name(project: Any, fmt: str) -> tuple[str, str]:
    """(file name, media type) of a streamed export."""
    module = export_format(fmt)
    if module.MULTI_FILE:
        return f"{project.slug}.{fmt}.zip", "application/zip"
    media_types = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
    return f"{project.slug}{'.' + fmt if fmt in ('coco', 'labelstudio') else ''}{module.SUFFIX}", \
        media_types.get(fmt, "application/json")
