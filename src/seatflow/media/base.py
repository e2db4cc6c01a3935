"""The media store interface: put, read, test and hand out short-lived URLs for media references."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import BinaryIO

from seatflow.errors import ValidationFailed
from seatflow.i18n.message import Msg

CHUNK = 1 << 16


def is_remote(ref: str) -> bool:
    """A URL that stays where it is (the store neither copies nor signs it)."""
    return ref.startswith(("http://", "https://"))


def check_ref(ref: str) -> str:
    """A stored reference must be a relative path that stays inside the store."""
    parts = PurePosixPath(ref).parts
    if not ref or ref.startswith("/") or "\\" in ref or ".." in parts or not parts:
        raise ValidationFailed(Msg("media reference {ref!r} must be a relative path inside the media store", ref=ref),
                               field="media")
    return ref


class MediaStore(ABC):
    """One place media files are kept. Subclasses: LocalMediaStore, S3MediaStore."""

    name: str = "media"

    @abstractmethod
    def put(self, ref: str, data: BinaryIO) -> None:
        """Store a file under ``ref`` (a relative path), replacing what was there."""

    @abstractmethod
    def exists(self, ref: str) -> bool:
        """Whether ``ref`` is stored."""

    @abstractmethod
    def open_chunks(self, ref: str) -> Iterator[bytes]:
        """The file's bytes in chunks (for exports that bundle media); NotFound when it is missing."""

    @abstractmethod
    def url(self, ref: str, user_id: int) -> str:
        """A short-lived URL the browser of ``user_id`` may fetch ``ref`` from."""

    def put_file(self, ref: str, path: str) -> None:
        with open(path, "rb") as fh:
            self.put(ref, fh)

    def url_for(self, ref: str, user_id: int) -> str:
        """Remote URLs pass through; stored references get a short-lived link."""
        if is_remote(ref):
            return ref
        return self.url(ref, user_id)
