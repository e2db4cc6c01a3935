"""Items: import (JSON body or an uploaded JSONL/CSV file), list, read one, export."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from seatflow.errors import ImportFailed, ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.services import exports, imports, items, projects
from seatflow.services.imports import Record

from .deps import CurrentActor, Db, Paging

router = APIRouter(prefix="/api/v1", tags=["items"])


class ItemsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[dict[str, Any]] = Field(
        max_length=10000, description="Each: external_id, payload, priority?, deadline?"
    )
    batch_name: str | None = None


def _report(rep: imports.ImportReport) -> dict[str, Any]:
    body = rep.as_dict()
    if rep.error:
        raise ImportFailed(
            Msg("{error} — {imported} item(s) before it were imported; fix it and send again (items already there "
                "are skipped by external_id)", error=rep.error, imported=rep.imported),
            field=rep.error_field,
            line=rep.error_line,
            report=body,
        )
    return body


@router.post("/projects/{ref}/items", summary="Add items (JSON)", status_code=201)
def add_items(ref: str, request: Request, actor: CurrentActor, db: Db, body: ItemsIn) -> dict[str, Any]:
    records = (Record("request", i, row) for i, row in enumerate(body.items, start=1))
    rep = imports.import_records(
        db,
        actor,
        ref,
        records,
        source="api",
        batch_name=body.batch_name,
        batch_size=request.app.state.settings.import_batch_size,
    )
    return _report(rep)


@router.post("/projects/{ref}/imports", summary="Import a JSONL or CSV file", status_code=201)
def import_file(
    ref: str,
    request: Request,
    actor: CurrentActor,
    db: Db,
    file: Annotated[UploadFile, File(description=".jsonl or .csv")],
) -> dict[str, Any]:
    name = Path(file.filename or "upload").name
    if Path(name).suffix.lower() not in (".jsonl", ".ndjson", ".csv"):
        raise ValidationFailed(Msg("{file}: upload a .jsonl or .csv file", file=name), field="file")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out)
        settings = request.app.state.settings
        with db.read() as conn:
            project = projects.get_project(conn, actor, ref)
        records = imports.records_from(
            path, media_root=settings.resolved_media_dir(), project_slug=project.slug, work_type=project.work_type
        )
        rep = imports.import_records(db, actor, ref, records, source=name, batch_size=settings.import_batch_size)
    return _report(rep)


@router.get("/projects/{ref}/items", summary="List a project's items")
def list_items(
    ref: str,
    request: Request,
    actor: CurrentActor,
    db: Db,
    paging: Paging,
    state: Annotated[str | None, Query(pattern="^(active|done)$")] = None,
) -> dict[str, Any]:
    with db.read() as conn:
        project = projects.get_project(conn, actor, ref)
        data, total = items.list_items(conn, actor, project, state=state, offset=paging.offset, limit=paging.limit)
    return paging.envelope(request, data, total)


@router.get("/items/{item_id}", summary="One item")
def get_item(item_id: int, actor: CurrentActor, db: Db) -> dict[str, Any]:
    with db.read() as conn:
        return items.get_item(conn, actor, item_id)


@router.get("/projects/{ref}/export.jsonl", summary="Export accepted results as JSONL (streamed)")
def export_jsonl(ref: str, actor: CurrentActor, db: Db, batch_id: int | None = None) -> StreamingResponse:
    with db.read() as conn:  # check access before the stream starts, so errors are proper 4xx
        project = exports.exportable_project(conn, actor, ref, batch_id=batch_id)

    def lines() -> Iterator[bytes]:
        with db.read() as conn:
            for line in exports.jsonl_lines(conn, actor, project.id, batch_id=batch_id):
                yield line.encode()

    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{project.slug}.jsonl"'},
    )
