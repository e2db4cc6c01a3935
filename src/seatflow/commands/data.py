"""`import` and `export`: items in from JSONL/CSV/image folders, accepted results out as JSONL."""

from __future__ import annotations

import contextlib
import csv
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, TextIO

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

from seatflow.i18n.cli import _
from seatflow.services import exports, imports, projects, status
from seatflow.services.imports import IMAGE_SUFFIXES, ImportReport

from ._common import CLI_ACTOR, database, err, fail, settings


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
    detail = report.error or ""
    line = report.error_line
    prefix = f"{path.name}:{line}: "
    if line is not None and detail.startswith(prefix):
        detail = f"{path}:{line}: {detail[len(prefix):]}"
    if report.error_field and report.error_field not in detail:
        detail += _(" (field {field})").format(field=report.error_field)
    return _("{detail}; {n} item(s) before it were imported (batch {batch}). Fix it and run the same command "
             "again: items already imported are skipped by external_id").format(
        detail=detail, n=report.imported, batch=report.batch_id)


def import_command(
    project: Annotated[str, typer.Argument(help=_("Project slug or id."))],
    paths: Annotated[list[Path], typer.Argument(help=_("JSONL or CSV files, or folders of images."))],
    batch_size: Annotated[int | None, typer.Option(min=1, max=100000, help=_("Rows per insert (default: "
                                                                               "SEATFLOW_IMPORT_BATCH_SIZE)."))]
    = None,
) -> None:
    conf = settings()
    size = batch_size or conf.import_batch_size
    with database(conf) as db:
        with db.read() as conn:
            row = projects.get_project(conn, CLI_ACTOR, project)
        for path in paths:
            records = imports.records_from(path, media_root=conf.resolved_media_dir(), project_slug=row.slug,
                                           work_type=row.work_type)
            with progress_bar() as bar:
                task = bar.add_task(path.name, total=count_records(path))

                def advance(n: int, bar: Progress = bar, task: TaskID = task) -> None:
                    bar.advance(task, n)

                report = imports.import_records(db, None, row.slug, records, source=str(path), batch_size=size,
                                                progress=advance)
            typer.echo(_("{path}: read {read}, imported {imported}, skipped {skipped} (already there), "
                         "batch {batch}").format(path=path, read=report.read, imported=report.imported,
                                                 skipped=report.skipped, batch=report.batch_id))
            if report.error:
                raise fail(_error_message(path, report))


@contextlib.contextmanager
def _output(target: str) -> Iterator[TextIO]:
    """stdout for '-', else a file written next to the target and moved into place when complete."""
    if target == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    final = Path(target)
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
) -> None:
    conf = settings()
    with database(conf) as db:
        with db.read() as conn:
            row = projects.get_project(conn, CLI_ACTOR, project)
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
