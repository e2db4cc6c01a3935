"""`import` and `export`: items in (JSONL/CSV/image folders, or a format: COCO, YOLO, VOC, Label Studio...),
accepted results out (JSONL, or any format of seatflow.formats with a manifest)."""

from __future__ import annotations

import contextlib
import csv
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from seatflow.config import Settings
from seatflow.errors import SeatflowError
from seatflow.i18n.cli import _
from seatflow.services import exports, imports, projects, status
from seatflow.services.imports import IMAGE_SUFFIXES, ImportReport
from seatflow.store.engine import Database

from ._common import CLI_ACTOR, database, err, fail, said, settings


class RateColumn(ProgressColumn):
    """Items per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(_("{rate} items/s").format(rate=f"{speed:,.0f}") if speed else "", style="progress.data.speed")


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=err())


def count_records(path: Path) -> int | None:
    """How many records a file or folder holds (for the progress bar); None when it can't be told cheaply."""
    try:
        if path.is_dir():
            return sum(1 for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        suffix = path.suffix.lower()
        if suffix in (".jsonl", ".ndjson"):
            with path.open("rb") as fh:
                return sum(1 for line in fh if line.strip())
        if suffix == ".csv":
            with path.open("r", encoding="utf-8-sig", newline="") as fh:
                return max(sum(1 for _row in csv.reader(fh)) - 1, 0)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return None


def _error_message(path: Path, report: ImportReport) -> str:
    detail = said(report.error or "")  # in the CLI's language first: a Chinese message has "：" after the line
    line = report.error_line
    for sep in (": ", "："):
        prefix = f"{path.name}:{line}{sep}"
        if line is not None and detail.startswith(prefix):
            detail = f"{path}:{line}{sep}{detail[len(prefix):]}"
            break
    if report.error_field and report.error_field not in detail:
        detail += _(" (field {field})").format(field=report.error_field)
    return _("{detail}; {n} item(s) before it were imported (batch {batch}). Fix it and run the same command "
             "again: items already imported are skipped by external_id").format(
        detail=detail, n=report.imported, batch=report.batch_id)


def _echo_report(path: Path, rep: ImportReport, checked: int | None = None) -> None:
    """What an import did, in one line: the records read (or ``checked`` first, for --format), imported and
    skipped, and its batch (none when every item was already there)."""
    if checked is None:
        if rep.batch_id is None:
            line = _("{path}: read {read}, all {skipped} already there: nothing imported, no batch made")
        else:
            line = _("{path}: read {read}, imported {imported}, skipped {skipped} (already there), batch {batch}")
    elif rep.batch_id is None:
        line = _("{path}: checked {checked}, all {skipped} already there: nothing imported, no batch made")
    else:
        line = _("{path}: checked {checked}, imported {imported}, skipped {skipped} (already there), "
                 "batch {batch}")
    typer.echo(line.format(path=path, read=rep.read, checked=checked, imported=rep.imported, skipped=rep.skipped,
                           batch=rep.batch_id))


FORMAT_HELP = "coco | yolo | voc | labelstudio | jsonl | csv | manifest"


def import_command(
    project: Annotated[str, typer.Argument(help=_("Project slug or id."))],
    paths: Annotated[list[Path], typer.Argument(help=_("JSONL or CSV files, or folders of images."))],
    batch_size: Annotated[int | None, typer.Option(min=1, max=100000, help=_("Rows per insert (default: "
                                                                               "SEATFLOW_IMPORT_BATCH_SIZE)."))]
    = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help=_(
        "Input format: coco, yolo, voc, labelstudio, jsonl, csv or manifest (a Seatflow export). With a format "
        "the whole input is checked before anything is written."))] = None,
    as_: Annotated[str, typer.Option("--as", help=_(
        "What annotations in the input become: items (ignored), predictions (a model's pre-annotation) or "
        "gold (known answers)."))] = "items",
    model: Annotated[str | None, typer.Option(help=_("Model name stored with predictions (--as predictions)."))]
    = None,
    mapping: Annotated[list[str] | None, typer.Option("--map", help=_(
        "CSV/JSONL column mapping SOURCE=TARGET, e.g. url=payload.image or label=answer.class (repeatable)."))]
    = None,
) -> None:
    conf = settings()
    size = batch_size or conf.import_batch_size
    if as_ not in ("items", "predictions", "gold"):
        raise fail(_("--as must be items, predictions or gold, not {value!r}").format(value=as_))
    if fmt is None and (as_ != "items" or mapping or model):
        fmt = _guess_format(paths)
    with database(conf) as db:
        with db.read() as conn:
            row = projects.get_project(conn, CLI_ACTOR, project)
        for path in paths:
            if fmt is not None:
                _import_format(db, conf, row, path, fmt, as_, model, mapping or [], size)
                continue
            records = imports.records_from(path, media_root=conf.resolved_media_dir(), project_slug=row.slug,
                                           work_type=row.work_type)
            with progress_bar() as bar:
                task = bar.add_task(path.name, total=count_records(path))

                def advance(n: int, bar: Progress = bar, task: TaskID = task) -> None:
                    bar.advance(task, n)

                report = imports.import_records(db, None, row.slug, records, source=str(path), batch_size=size,
                                                progress=advance)
            _echo_report(path, report)
            if report.error:
                raise fail(_error_message(path, report))


def _guess_format(paths: list[Path]) -> str:
    suffixes = {p.suffix.lower() for p in paths}
    if suffixes <= {".jsonl", ".ndjson"}:
        return "jsonl"
    if suffixes == {".csv"}:
        return "csv"
    raise fail(_("--as, --map and --model need --format ({formats})").format(formats=FORMAT_HELP))


def _import_format(db: Database, conf: Settings, project: Any, path: Path, fmt: str, as_: str, model: str | None,
                   mapping: list[str], size: int) -> None:
    from seatflow.formats import IMPORT_FORMATS
    from seatflow.formats.csvjsonl import parse_mapping
    from seatflow.formats.importer import import_path
    from seatflow.media import media_store

    if fmt not in IMPORT_FORMATS:
        raise fail(_("unknown format {fmt!r}; use {formats}").format(fmt=fmt, formats=FORMAT_HELP))
    try:
        parsed_map = parse_mapping(mapping)
    except SeatflowError as exc:
        raise fail(exc.detail) from None
    with progress_bar() as bar:
        check = bar.add_task(_("checking {name}").format(name=path.name), total=None)
        write = bar.add_task(_("importing {name}").format(name=path.name), total=None, visible=False)

        def checked(n: int) -> None:
            bar.advance(check, n)

        def checked_all(total: int) -> None:
            bar.update(check, total=total, completed=total)
            bar.update(write, total=total, visible=True)

        def written(n: int) -> None:
            bar.advance(write, n)

        try:
            result = import_path(db, None, project.slug, path, fmt, mode=as_, model=model, mapping=parsed_map,
                                 media=media_store(conf), batch_size=size, check_progress=checked,
                                 progress=written, on_checked=checked_all)
        except SeatflowError as exc:
            if exc.extra.get("report") is not None or "nothing was imported" in exc.detail:
                raise fail(exc.detail) from None  # the writing pass stopped: the message says what is in
            raise fail(_("{detail}; nothing was imported").format(detail=said(exc.detail))) from None
    _echo_report(path, result.report, checked=result.checked)
    for line in result.warnings.lines():
        typer.echo(_("warning: {message}").format(message=said(line)), err=True)


@contextlib.contextmanager
def _output(target: str) -> Iterator[TextIO]:
    """stdout for '-', else a file written next to the target and moved into place when complete."""
    if target == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    final = Path(target)
    if final.is_dir():
        raise fail(_("--out {path} is a folder; name a file, e.g. {example}").format(
            path=target, example=final / "export.jsonl"))
    final.parent.mkdir(parents=True, exist_ok=True)  # as --format does; the error named the hidden .part file
    part = final.with_name(f".{final.name}.part")
    try:
        with part.open("w", encoding="utf-8", newline="\n") as fh:
            yield fh
        os.replace(part, final)
    finally:
        part.unlink(missing_ok=True)


def export_command(
    project: Annotated[str, typer.Argument(help=_("Project slug or id."))],
    out: Annotated[str, typer.Option("--out", "-o", help=_("Output file, or - for stdout."))] = "-",
    batch: Annotated[int | None, typer.Option(help=_("Only this batch (id)."))] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help=_(
        "jsonl, csv, coco, labelstudio (one file) or yolo, voc (a folder, or a zip when --out ends with .zip). "
        "With a format a manifest (counts, checksums) is written beside the export."))] = None,
    with_media: Annotated[bool, typer.Option("--with-media", help=_(
        "Bundle the image files from the media store into yolo and voc exports."))] = False,
) -> None:
    conf = settings()
    if fmt is not None:
        _export_format(conf, project, out, batch, fmt, with_media)
        return
    with database(conf) as db:
        with db.read() as conn:
            row = exports.exportable_project(conn, CLI_ACTOR, project, batch_id=batch)
            total = None
            if batch is None:
                total = next((s.done for s in status.project_status(conn, None) if s.id == row.id), None)
        n = 0
        with _output(out) as fh, progress_bar() as bar, db.read() as conn:
            task = bar.add_task(row.slug, total=total)
            for line in exports.jsonl_lines(conn, CLI_ACTOR, row.id, batch_id=batch):
                fh.write(line)
                n += 1
                if n % 500 == 0:
                    bar.update(task, completed=n)
            bar.update(task, completed=n)
    where = _("stdout") if out == "-" else out
    typer.echo(_("exported {n} item(s) of {project} to {where}").format(n=n, project=row.slug, where=where), err=True)


def _export_format(conf: Settings, project: str, out: str, batch: int | None, fmt: str, with_media: bool) -> None:
    from seatflow.formats import EXPORT_FORMATS
    from seatflow.media import media_store

    if fmt not in EXPORT_FORMATS:
        raise fail(_("unknown export format {fmt!r}; use {formats}").format(fmt=fmt,
                                                                          formats=", ".join(EXPORT_FORMATS)))
    with database(conf) as db:
        with db.read() as conn:
            row = exports.exportable_project(conn, CLI_ACTOR, project, batch_id=batch)
            module = exports.check_format(row, fmt)
            total = exports.count_done(conn, row.id, batch)
        if out == "-":
            if module.MULTI_FILE:
                raise fail(_("{fmt} exports are several files: give --out FOLDER or --out FILE.zip").format(fmt=fmt))
            for chunk in exports.stream(db, CLI_ACTOR, row, fmt, batch_id=batch):
                sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            typer.echo(_("exported {project} as {fmt} to stdout (no manifest)").format(project=row.slug, fmt=fmt),
                       err=True)
            return
        with progress_bar() as bar:
            task = bar.add_task(f"{row.slug} ({fmt})", total=total)

            def done(n: int) -> None:
                bar.update(task, completed=n)

            result = exports.export_to_path(db, CLI_ACTOR, row.id, fmt, Path(out), batch_id=batch,
                                            media=media_store(conf) if with_media else None, on_row=done)
    data = result.manifest_data
    counts = ", ".join(f"{k} {v}" for k, v in data["counts"].items())
    typer.echo(_("exported {project} as {fmt} to {out} ({counts}); manifest {manifest}").format(
        project=row.slug, fmt=fmt, out=out, counts=counts or _("nothing"), manifest=result.manifest), err=True)
    for warning in data["warnings"]:
        text = warning["message"] + (f" ({warning['count']})" if warning["count"] > 1 else "")
        typer.echo(_("warning: {message}").format(message=text), err=True)
