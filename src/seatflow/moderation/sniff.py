"""What a file is, from its first bytes: the declared content type of an upload is only a hint."""

from __future__ import annotations

from dataclasses import dataclass

HEAD_BYTES = 64  # enough for every signature below


@dataclass(frozen=True)
class Sniffed:
    kind: str  # "image" or "video"
    mime: str
    ext: str


_IMAGES: tuple[tuple[bytes, int, Sniffed], ...] = (
    (b"\xff\xd8\xff", 0, Sniffed("image", "image/jpeg", ".jpg")),
    (b"\x89PNG\r\n\x1a\n", 0, Sniffed("image", "image/png", ".png")),
    (b"GIF87a", 0, Sniffed("image", "image/gif", ".gif")),
    (b"GIF89a", 0, Sniffed("image", "image/gif", ".gif")),
    (b"BM", 0, Sniffed("image", "image/bmp", ".bmp")),
    (b"II*\x00", 0, Sniffed("image", "image/tiff", ".tif")),
    (b"MM\x00*", 0, Sniffed("image", "image/tiff", ".tif")),
)


def sniff(head: bytes) -> Sniffed | None:
    """The media kind of a file starting with ``head``; None when it is neither an image nor a video."""
    for magic, offset, found in _IMAGES:
        if head[offset:offset + len(magic)] == magic:
            return found
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "image/webp", ".webp")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Sniffed("video", "video/x-msvideo", ".avi")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis", b"heic", b"heix", b"mif1"):
            return Sniffed("image", "image/avif" if brand.startswith(b"avi") else "image/heic", ".avif")
        if brand == b"qt  ":
            return Sniffed("video", "video/quicktime", ".mov")
        return Sniffed("video", "video/mp4", ".mp4")
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska / WebM
        return Sniffed("video", "video/webm" if b"webm" in head else "video/x-matroska", ".mkv")
    if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return Sniffed("video", "video/mpeg", ".mpg")
    if head[:3] == b"FLV":
        return Sniffed("video", "video/x-flv", ".flv")
    return None
