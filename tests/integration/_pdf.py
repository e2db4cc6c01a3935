"""Read back the text of the PDFs Seatflow writes, without a PDF library.

reportlab writes each content stream ASCII85 + Flate encoded, and text in the CID font
STSong-Light (encoding UniGB-UCS2-H) as literal strings of UCS-2 big-endian code units: ``(...) Tj``.
"""

from __future__ import annotations

import base64
import re
import zlib

_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}


def _unescape(literal: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(literal):
        c = literal[i:i + 1]
        if c != b"\\":
            out += c
            i += 1
            continue
        m = re.match(rb"[0-7]{1,3}", literal[i + 1:i + 4])
        if m:
            out.append(int(m.group(0), 8) & 0xFF)
            i += 1 + len(m.group(0))
        else:
            out += _ESCAPES.get(literal[i + 1:i + 2], literal[i + 1:i + 2])
            i += 2
    return bytes(out)


def streams(data: bytes) -> list[bytes]:
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        raw = m.group(1).strip()
        if raw.endswith(b"~>"):
            raw = raw[:-2]
        try:
            out.append(zlib.decompress(base64.a85decode(raw)))
        except (ValueError, zlib.error):
            continue
    return out


def text(data: bytes) -> str:
    """All text shown on the pages, one shown string per line."""
    lines = []
    for stream in streams(data):
        for m in re.finditer(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", stream, re.S):
            lines.append(_unescape(m.group(1)).decode("utf-16-be", errors="replace"))
    return "\n".join(lines)


def page_count(data: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", data))


def check(data: bytes) -> str:
    """Assert the bytes are a whole PDF with at least one page; return its text."""
    assert data.startswith(b"%PDF-1."), data[:20]
    assert data.rstrip().endswith(b"%%EOF")
    assert b"/Type /Pages" in data and page_count(data) >= 1
    return text(data)
