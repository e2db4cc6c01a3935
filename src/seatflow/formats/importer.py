"""Import a file in one of the interchange formats: check everything first, then write.

The format imports are all or nothing. The first pass reads the whole input and runs every check
the writing pass would (the reader's own: references, numbers, labels; then the work type's
validation of each payload, its predictions and its gold answer; duplicate external ids) without
touching the database or the media store. Only when that pass is clean does the second pass read
the input again and write it in batches through :func:`seatflow.services.imports.import_records`
(idempotent by external id, so a crash half-way is finished by running the same command again).
Reading twice costs time, not memory: both passes stream.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from seatflow.domain.actors import Actor, Role
from seatflow.errors import ImportFailed, ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.media import MediaStore
from seatflow.services import imports
from seatflow.services.imports import ImportReport
from seatflow.services.projects import get_project
from seatflow.store import catalog
from seatflow.store.engine import Database
from seatflow.worktypes import get_work_type

from . import get_format
from ._common import FormatRecord, ImportContext, Mode, RecordSource, Warnings

Progress = Callable[[int], None]
_FIELD_INDEX = re.compile(r"^payload\.(?:gold|predictions)\.(boxes|keypoints|polygons)\[(\d+)\]")


@dataclass
class FormatImportReport:
    report: ImportReport
    checked: int = 0
    warnings: Warnings = field(default_factory=Warnings)

    def as_dict(self) -> dict[str, Any]:
        body = self.report.as_dict()
        body["checked"] = self.checked
        body["warnings"] = self.warnings.as_list()
        return body


def _project(db: Database, actor: Actor | None, project_ref: str | int) -> Any:
    with db.read() as conn:
        if actor is None:
            ref = str(project_ref)
            project = catalog.project_by_id(conn, int(ref)) if ref.isdigit() else catalog.project_by_slug(conn, ref)
            if project is None:
                raise ValidationFailed(Msg("project {slug!r} does not exist", slug=project_ref), field="project")
            return project
        project = get_project(conn, actor, project_ref)  # checks the tenant
        actor.require(Role.ADMIN, Role.MANAGER, Role.CLIENT)  # as import_records: a client feeds its own projects
        return project


def open_source(path: Path, fmt: str, ctx: ImportContext) -> RecordSource:
    if not path.exists():
        raise ImportFailed(Msg("{path}: no such file or folder", path=str(path)), file=str(path))
    module = get_format(fmt)
    if module.WORK_TYPES and ctx.work_type not in module.WORK_TYPES:
        raise ImportFailed(Msg("{file}: the {format} format is for {work_types} projects; project {project!r} is a "
                               "{work_type} project", file=path.name, format=fmt,
                               work_types=", ".join(module.WORK_TYPES), project=ctx.project_slug,
                               work_type=ctx.work_type), file=str(path), field="format")
    source: RecordSource = module.read(path, ctx)
    return source


def check(source: RecordSource, project: Any, progress: Progress | None = None) -> int:
    """The checking pass: every record validated as the import would, nothing written. Returns the count."""
    work_type = get_work_type(project.work_type)
    schema = work_type.parse_schema(project.label_schema)
    seen: set[str] = set()
    n = 0
    pending = 0
    for rec in source.records(write=False):
        try:
            imports._item_row(rec, project, work_type, schema, 0, timedelta(0), seen)  # noqa: SLF001
        except ImportFailed as exc:
            raise _placed(exc, rec) from None
        n += 1
        pending += 1
        if progress and pending >= 500:
            progress(pending)
            pending = 0
    if progress and pending:
        progress(pending)
    return n


def _placed(exc: ImportFailed, rec: FormatRecord) -> ImportFailed:
    """The error with the record's place in the input (element, annotation) instead of a line number."""
    detail = exc.detail
    if isinstance(rec, FormatRecord) and rec.where:
        prefix = f"{Path(rec.source).name}:{rec.line}: "
        if isinstance(detail, Msg) and detail.msgid == "{where}: {detail}" and detail.startswith(prefix):
            detail = Msg("{where}: {detail}", where=rec.where, detail=detail.params["detail"])
        elif detail.startswith(prefix):
            detail = Msg("{where}: {detail}", where=rec.where, detail=detail[len(prefix):])
        m = _FIELD_INDEX.match(exc.field or "")
        if m and rec.origins.get(m.group(1)):
            origins = rec.origins[m.group(1)]
            k = int(m.group(2))
            if k < len(origins):
                detail = Msg("{detail} (from {origin})", detail=detail, origin=origins[k])
    return ImportFailed(detail, field=exc.field, **exc.extra)


def import_path(
    db: Database,
    actor: Actor | None,
    project_ref: str | int,
    path: Path,
    fmt: str,
    *,
    mode: Mode | str = Mode.ITEMS,
    model: str | None = None,
    mapping: dict[str, str] | None = None,
    media: MediaStore | None = None,
    batch_size: int = 2000,
    check_progress: Progress | None = None,
    progress: Progress | None = None,
    on_checked: Callable[[int], None] | None = None,
    source_name: str | None = None,
) -> FormatImportReport:
    """Check the whole input, then import it. Raises ImportFailed (nothing written) when a check fails."""
    project = _project(db, actor, project_ref)
    ctx = ImportContext(project_slug=project.slug, work_type=project.work_type, schema=project.label_schema,
                        mode=Mode(mode), model=model, media=media, mapping=dict(mapping or {}))
    with open_source(path, fmt, ctx) as source:
        checked = check(source, project, check_progress)
        if on_checked:
            on_checked(checked)
        report = imports.import_records(db, actor, project.slug if actor is None else project_ref,
                                        source.records(write=True), source=source_name or str(path),
                                        batch_size=batch_size, progress=progress, batch_name=path.name)
    if report.error:  # the input changed between the passes, or the database refused a row
        raise ImportFailed(Msg("{error} ({imported} item(s) before it were imported; run the same import again to "
                               "finish it)", error=report.error, imported=report.imported),
                           field=report.error_field, line=report.error_line,
                           report=report.as_dict())
    return FormatImportReport(report=report, checked=checked, warnings=ctx.warnings)

