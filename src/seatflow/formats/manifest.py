"""The manifest written beside every export, and reading an export back through it.

A manifest (``<export>.manifest.json`` beside a file or a zip; ``manifest.json`` inside an export
folder) says what the export is: project, batch, format, counts, every file with its size and
SHA-256, when it was made and how long it took, and the warnings of the export.

As an import format, ``manifest`` takes such a manifest (or the folder holding one), verifies every
checksum first (a changed or truncated file stops the import before anything is read) and imports
the export with the format the manifest names; a zip export is unpacked to a temporary folder first.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from seatflow import __version__
from seatflow.errors import ImportFailed
from seatflow.i18n.message import Msg

from ._common import FormatRecord, ImportContext, RecordSource
from ._output import FileInfo

NAME = "manifest"
WORK_TYPES: tuple[str, ...] = ()
MANIFEST_SUFFIX = ".manifest.json"


def manifest_path(out: Path, *, folder: bool) -> Path:
    return out / "manifest.json" if folder else out.with_name(out.name + MANIFEST_SUFFIX)


def build(*, project: Any, fmt: str, batch_id: int | None, counts: dict[str, int], files: list[FileInfo],
          started: datetime, finished: datetime, warnings: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "manifest_version": 1,
        "generator": f"seatflow {__version__}",
        "project": {"id": project.id, "slug": project.slug, "name": project.name, "work_type": project.work_type},
        "batch": batch_id,
        "format": fmt,
        "counts": dict(counts),
        "files": [f.as_dict() for f in files],
        "created_at": started.isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "seconds": round((finished - started).total_seconds(), 3),
        "warnings": warnings,
    }


def write(path: Path, manifest: dict[str, Any]) -> Path:
    part = path.with_name(f".{path.name}.part")
    part.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    part.replace(path)
    return path


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def load(path: Path) -> tuple[Path, dict[str, Any]]:
    """(the folder the files are relative to, the manifest) from a manifest file or an export folder."""
    if path.is_dir():
        path = path / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ImportFailed(Msg("{path}: no manifest there", path=str(path)), file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise ImportFailed(Msg("{file}:{line}: not valid JSON ({why})", file=path.name, line=exc.lineno, why=exc.msg),
                           file=str(path),
                           line=exc.lineno) from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list) or not data.get("format"):
        raise ImportFailed(Msg("{file}: not a Seatflow export manifest (needs 'format' and 'files')", file=path.name),
                           file=str(path))
    return path.parent, data


def verify(base: Path, manifest: dict[str, Any], manifest_file: str = "manifest") -> None:
    """Every file is there with the size and SHA-256 the manifest says; the first difference stops it."""
    for i, f in enumerate(manifest["files"]):
        rel = str(f.get("path", ""))
        target = base / rel
        if not rel or ".." in Path(rel).parts or not target.is_file():
            raise ImportFailed(Msg("{manifest} files[{index}]: {path!r} is missing", manifest=manifest_file, index=i,
                                   path=rel), field="files")
        if target.stat().st_size != f.get("bytes") or sha256_of(target) != f.get("sha256"):
            raise ImportFailed(Msg("{manifest} files[{index}]: {path} does not match its checksum (changed or "
                                   "truncated since the export); nothing was imported", manifest=manifest_file,
                                   index=i, path=rel), field="files")


class ManifestSource(RecordSource):
    def __init__(self, path: Path, ctx: ImportContext) -> None:
        from . import get_format

        base, data = load(path)
        verify(base, data, path.name)
        fmt = str(data["format"])
        if fmt == "manifest":
            raise ImportFailed(Msg("{file}: a manifest cannot name the manifest format", file=path.name),
                               field="format")
        self._tmp: str | None = None
        files = data["files"]
        target = base
        if len(files) == 1 and str(files[0]["path"]).endswith(".zip"):
            self._tmp = tempfile.mkdtemp(prefix="seatflow-import-")
            with zipfile.ZipFile(base / files[0]["path"]) as zf:
                for name in zf.namelist():
                    if name.startswith("/") or ".." in Path(name).parts:
                        raise ImportFailed(Msg("{archive}: entry {name!r} leaves the archive",
                                               archive=files[0]["path"], name=name))
                zf.extractall(self._tmp)
            target = Path(self._tmp)
        elif len(files) == 1 and not get_format(fmt).MULTI_FILE:
            target = base / files[0]["path"]
        self.inner = get_format(fmt).read(target, ctx)

    def records(self, *, write: bool) -> Iterator[FormatRecord]:
        return self.inner.records(write=write)

    def close(self) -> None:
        self.inner.close()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)


def read(path: Path, ctx: ImportContext) -> RecordSource:
    return ManifestSource(path, ctx)
