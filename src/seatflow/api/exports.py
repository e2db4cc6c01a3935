"""Exports in any format (streamed), background export jobs, and imports of the interchange formats."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict

from seatflow.errors import ValidationFailed
from seatflow.formats import EXPORT_FORMATS, IMPORT_FORMATS
from seatflow.formats.csvjsonl import parse_mapping
from seatflow.formats.importer import import_path
from seatflow.i18n.message import Msg
from seatflow.services import exports
from seatflow.services.export_jobs import ExportJobs

from .deps import CurrentActor, Db, Paging

router = APIRouter(prefix="/api/v1", tags=["exports"])

ExportFormat = Literal["jsonl", "csv", "coco", "yolo", "voc", "labelstudio"]
ImportFormat = Literal["coco", "yolo", "voc", "labelstudio", "jsonl", "csv"]
MAX_ARCHIVE_ENTRIES = 1_000_000
assert set(ExportFormat.__args__) == set(EXPORT_FORMATS)  # type: ignore[attr-defined]
assert set(ImportFormat.__args__) <= set(IMPORT_FORMATS)  # type: ignore[attr-defined]


def _jobs(request: Request) -> ExportJobs:
    jobs: ExportJobs = request.app.state.export_jobs
    return jobs


@router.get("/projects/{ref}/export", summary="Export accepted results in a format (streamed; zip for yolo/voc)")
def export(ref: str, request: Request, actor: CurrentActor, db: Db,
           format: Annotated[ExportFormat, Query(description="jsonl, csv, coco, labelstudio, yolo or voc")] = "jsonl",
           batch_id: int | None = None) -> StreamingResponse:
    with db.read() as conn:  # access and format are checked before the stream starts: errors are proper 4xx
        project = exports.exportable_project(conn, actor, ref, batch_id=batch_id)
    exports.check_format(project, format)
    name, media_type = exports.download_name(project, format)
    return StreamingResponse(exports.stream(db, actor, project, format, batch_id=batch_id), media_type=media_type,
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


class ExportJobIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: ExportFormat
    batch_id: int | None = None
    with_media: bool = False


@router.post("/projects/{ref}/exports", summary="Start a background export", status_code=202)
def start_export(ref: str, request: Request, actor: CurrentActor, body: ExportJobIn) -> dict[str, Any]:
    job = _jobs(request).start(actor, ref, body.format, batch_id=body.batch_id, with_media=body.with_media)
    return job.as_dict()


@router.get("/exports", summary="Export jobs you may see, newest first")
def list_exports(request: Request, actor: CurrentActor, paging: Paging) -> dict[str, Any]:
    jobs = _jobs(request).visible(actor)
    page = jobs[paging.offset:paging.offset + paging.limit]
    return paging.envelope(request, [j.as_dict() for j in page], len(jobs))


@router.get("/exports/{job_id}", summary="One export job: state, rows written, counts")
def get_export(job_id: str, request: Request, actor: CurrentActor) -> dict[str, Any]:
    return _jobs(request).get(actor, job_id).as_dict()


@router.get("/exports/{job_id}/download", summary="The finished export file")
def download_export(job_id: str, request: Request, actor: CurrentActor) -> FileResponse:
    path, name = _jobs(request).download(actor, job_id)
    return FileResponse(path, filename=name)


@router.get("/exports/{job_id}/manifest", summary="The manifest of a finished export (counts, checksums)")
def export_manifest(job_id: str, request: Request, actor: CurrentActor) -> FileResponse:
    return FileResponse(_jobs(request).manifest(actor, job_id), media_type="application/json")


@router.post("/projects/{ref}/imports/{format}", summary="Import a file in an interchange format", status_code=201)
def import_format(
    ref: str,
    format: ImportFormat,
    request: Request,
    actor: CurrentActor,
    db: Db,
    file: Annotated[UploadFile, File(description="The file; a .zip for yolo and voc folders")],
    as_: Annotated[Literal["items", "predictions", "gold"], Query(alias="as")] = "items",
    model: str | None = None,
    map: Annotated[list[str] | None, Query(description="SOURCE=TARGET column mapping (csv, jsonl)")] = None,
) -> dict[str, Any]:
    """The whole upload is checked before anything is written: a bad record imports nothing (422 naming the
    file, line or element and field); warnings (parts the project cannot hold) are listed in the answer."""
    name = PurePosixPath(file.filename or "upload").name or "upload"
    settings = request.app.state.settings
    mapping = parse_mapping(map or [])
    with tempfile.TemporaryDirectory(prefix="seatflow-upload-") as tmp:
        path = Path(tmp) / name
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out)
        if path.suffix.lower() == ".zip":
            path = _unpack(path, Path(tmp) / "unpacked")
        elif format == "yolo":
            raise ValidationFailed(Msg("{file}: upload a YOLO dataset as a .zip of its folder", file=name),
                                   field="file")
        result = import_path(db, actor, ref, path, format, mode=as_, model=model, mapping=mapping,
                             media=request.app.state.media, batch_size=settings.import_batch_size, source_name=name)
    return result.as_dict()


def _unpack(archive: Path, target: Path) -> Path:
    try:
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            if len(names) > MAX_ARCHIVE_ENTRIES:
                raise ValidationFailed(Msg("{file}: more than {max} files", file=archive.name, max=MAX_ARCHIVE_ENTRIES),
                                       field="file")
            for n in names:
                if n.startswith("/") or ".." in PurePosixPath(n).parts:
                    raise ValidationFailed(Msg("{archive}: entry {name!r} leaves the archive", archive=archive.name,
                                               name=n),
                                           field="file")
            zf.extractall(target)
    except zipfile.BadZipFile:
        raise ValidationFailed(Msg("{file}: not a zip file", file=archive.name), field="file") from None
    entries = [p for p in target.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else target

