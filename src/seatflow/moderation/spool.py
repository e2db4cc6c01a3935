"""Take media in, within limits: copy a stream to a temporary file, hashing it, and stop at the size limit."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from seatflow.errors import SeatflowError, ValidationFailed
from seatflow.i18n.message import N_, Msg

from .sniff import HEAD_BYTES, Sniffed, sniff


class MediaTooLarge(SeatflowError):
    status = 413
    code = "media-too-large"
    title = N_("The media is larger than this server accepts")


class NotMedia(SeatflowError):
    status = 415
    code = "not-media"
    title = N_("The content is not an image or a video")


@dataclass
class Spooled:
    """Media copied to a temporary file (the caller moves it into the store or deletes it)."""

    path: Path
    size: int
    sha256: str
    sniffed: Sniffed

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def human_bytes(n: int) -> str:
    """``1536`` -> ``"1.5 KiB"`` (a ``Msg`` below 1 KiB: "bytes" is a word)."""
    if n < 1024:
        return Msg("{n} bytes", n=n)
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.3g} {unit}"


def too_large(field: str, max_bytes: int) -> MediaTooLarge:
    return MediaTooLarge(Msg(
        "{field}: the media is larger than {size} (SEATFLOW_MEDIA_MAX_BYTES); send a smaller file",
        field=field, size=human_bytes(max_bytes)), field=field, max_bytes=max_bytes)


def spool(chunks: Iterable[bytes], *, field: str, max_bytes: int, tmp_dir: Path) -> Spooled:
    """Write ``chunks`` to a file under ``tmp_dir``; refuse more than ``max_bytes`` and anything that
    is not an image or a video by its first bytes (the declared type is not trusted)."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="ingest-", dir=tmp_dir)
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > max_bytes:
                    raise too_large(field, max_bytes)
                if len(head) < HEAD_BYTES:
                    head += chunk[: HEAD_BYTES - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ValidationFailed(Msg("{field}: the media is empty (0 bytes)", field=field), field=field)
        found = sniff(head)
        if found is None:
            raise NotMedia(Msg(
                "{field}: the content is not an image or a video this server reads ({formats})", field=field,
                formats="JPEG, PNG, GIF, WebP, BMP, TIFF; MP4, MOV, WebM/MKV, AVI, MPEG, FLV"), field=field)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Spooled(path=path, size=size, sha256=digest.hexdigest(), sniffed=found)
