"""Where an export's files go: one file, a folder, a zip file, or a zip streamed to an HTTP client.

Every sink hashes what it writes (SHA-256) as it goes, for the manifest; nothing is buffered beyond
one chunk. Files are written under a temporary name and moved into place when complete, so a
crashed export never leaves a file that looks finished.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from seatflow.errors import ValidationFailed
from seatflow.i18n.message import Msg

from ._common import Entry


@dataclass
class FileInfo:
    path: str
    bytes: int = 0
    sha256: str = ""
    entries: list[FileInfo] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "bytes": self.bytes, "sha256": self.sha256}
        if self.entries:
            out["entries"] = [e.as_dict() for e in self.entries]
        return out


def _safe(path: str) -> str:
    p = PurePosixPath(path)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise ValidationFailed(Msg("export entry {path!r} leaves the export", path=path), field="path")
    return p.as_posix()


def _copy(chunks: Iterable[bytes], out: BinaryIO, info: FileInfo) -> None:
    h = hashlib.sha256()
    for chunk in chunks:
        out.write(chunk)
        h.update(chunk)
        info.bytes += len(chunk)
    info.sha256 = h.hexdigest()


def write_file(entry: Entry, target: Path) -> FileInfo:
    if target.is_dir():  # os.replace failed on it, naming the hidden .part file
        raise ValidationFailed(Msg("{target} is a folder; name a file in it, e.g. {example}", target=str(target),
                                   example=str(target / entry.path)), field="out")
    part = target.with_name(f".{target.name}.part")
    info = FileInfo(target.name)
    try:
        with part.open("wb") as out:
            _copy(entry.chunks, out, info)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return info


def write_folder(entries: Iterable[Entry], folder: Path) -> list[FileInfo]:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ValidationFailed(Msg("{folder} exists and is not an empty folder; choose a new one", folder=str(folder)),
                               field="out")
    part = folder.with_name(f".{folder.name}.part")
    shutil.rmtree(part, ignore_errors=True)
    infos: list[FileInfo] = []
    try:
        for entry in entries:
            rel = _safe(entry.path)
            target = part / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            info = FileInfo(rel)
            with target.open("wb") as out:
                _copy(entry.chunks, out, info)
            infos.append(info)
        if folder.exists():
            folder.rmdir()
        os.replace(part, folder)
    finally:
        shutil.rmtree(part, ignore_errors=True)
    return infos


class _Sink:
    """A write-only, unseekable stream: zipfile then writes data descriptors and never seeks back."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.total = 0

    def write(self, data: bytes) -> int:
        if data:
            self.parts.append(bytes(data))
            self.total += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def zip_stream(entries: Iterable[Entry], infos: list[FileInfo] | None = None) -> Iterator[bytes]:
    """The entries as a zip archive, produced chunk by chunk (for an HTTP response or a file)."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:  # type: ignore[call-overload]
        for entry in entries:
            rel = _safe(entry.path)
            info = FileInfo(rel)
            h = hashlib.sha256()
            zinfo = zipfile.ZipInfo(rel, date_time=(2024, 1, 1, 0, 0, 0))
            zinfo.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(zinfo, "w", force_zip64=True) as member:
                for chunk in entry.chunks:
                    member.write(chunk)
                    h.update(chunk)
                    info.bytes += len(chunk)
                    if sink.total and len(sink.parts) > 16:
                        yield sink.take()
            info.sha256 = h.hexdigest()
            if infos is not None:
                infos.append(info)
            yield sink.take()
    yield sink.take()


def write_zip(entries: Iterable[Entry], target: Path) -> FileInfo:
    inner: list[FileInfo] = []
    info = write_file(Entry(target.name, zip_stream(entries, inner)), target)
    info.entries = inner
    return info
