"""The local media folder (the default store): links are signed ``/media/...`` URLs of this app."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from seatflow.errors import NotFound
from seatflow.i18n.message import Msg
from seatflow.services import media as signing

from .base import CHUNK, MediaStore, check_ref


class LocalMediaStore(MediaStore):
    name = "local"

    def __init__(self, root: Path, secret: str, *, ttl: int = 3600) -> None:
        self.root = Path(root)
        self.secret = secret
        self.ttl = ttl

    def path(self, ref: str) -> Path:
        return self.root / check_ref(ref)

    def put(self, ref: str, data: BinaryIO) -> None:
        target = self.path(ref)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(data, out, CHUNK)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def put_file(self, ref: str, path: str) -> None:
        target = self.path(ref)
        if target.exists() and os.path.samefile(target, path):
            return
        super().put_file(ref, path)

    def exists(self, ref: str) -> bool:
        return self.path(ref).is_file()

    def open_chunks(self, ref: str) -> Iterator[bytes]:
        path = self.path(ref)
        if not path.is_file():
            raise NotFound(Msg("media {ref!r} is missing from the media folder {root}", ref=ref, root=str(self.root)))
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    def url(self, ref: str, user_id: int) -> str:
        return signing.sign(self.secret, ref, user_id, ttl=self.ttl)
