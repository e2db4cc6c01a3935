"""Fetch a client's media URL into a temporary file: http(s) only, public addresses only (unless the
server allows private ones), a few redirects at most, and the same size and type limits as an upload."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from seatflow.errors import ValidationFailed

from .spool import NotMedia, Spooled, spool, too_large

MAX_REDIRECTS = 3
FIELD = "media_url"
# Types a media URL may declare; anything else (text/html of an error page, JSON) is refused at once.
_MEDIA_TYPES = ("image/", "video/", "application/octet-stream", "binary/octet-stream", "application/mp4")


def _check_address(url: str, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValidationFailed(f"{FIELD}: {url!r} must be an http:// or https:// URL", field=FIELD)
    if not parts.hostname:
        raise ValidationFailed(f"{FIELD}: {url!r} names no host", field=FIELD)
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except OSError:
        raise ValidationFailed(f"{FIELD}: the host {parts.hostname!r} does not resolve", field=FIELD) from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise ValidationFailed(
                f"{FIELD}: {parts.hostname!r} is a private or local address ({address}); this server fetches "
                "media from public addresses only (SEATFLOW_MEDIA_FETCH_PRIVATE allows others)", field=FIELD)


def fetch(url: str, *, tmp_dir: Path, max_bytes: int, timeout: float, allow_private: bool,
          transport: httpx.BaseTransport | None = None) -> Spooled:
    """Download ``url`` (following at most MAX_REDIRECTS redirects, each checked) into ``tmp_dir``."""
    if len(url) > 2000:
        raise ValidationFailed(f"{FIELD}: the URL is longer than 2000 characters", field=FIELD)
    with httpx.Client(timeout=timeout, follow_redirects=False, transport=transport) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            _check_address(url, allow_private)
            try:
                with client.stream("GET", url, headers={"Accept": "image/*, video/*"}) as resp:
                    if resp.is_redirect and resp.headers.get("location"):
                        url = urljoin(url, resp.headers["location"])
                        continue
                    return _take(resp, url, tmp_dir=tmp_dir, max_bytes=max_bytes)
            except httpx.HTTPError as exc:
                raise ValidationFailed(f"{FIELD}: could not fetch {url!r}: {exc.__class__.__name__}: {exc}",
                                       field=FIELD) from None
    raise ValidationFailed(f"{FIELD}: more than {MAX_REDIRECTS} redirects", field=FIELD)


def _take(resp: httpx.Response, url: str, *, tmp_dir: Path, max_bytes: int) -> Spooled:
    if resp.status_code != 200:
        raise ValidationFailed(f"{FIELD}: {url!r} answered HTTP {resp.status_code}, not 200 with the media",
                               field=FIELD, upstream_status=resp.status_code)
    declared = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared and not declared.startswith(_MEDIA_TYPES):
        raise NotMedia(f"{FIELD}: {url!r} serves {declared}, not an image or a video", field=FIELD)
    length = resp.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise too_large(FIELD, max_bytes)

    def chunks() -> Iterator[bytes]:
        yield from resp.iter_bytes(1 << 16)

    return spool(chunks(), field=FIELD, max_bytes=max_bytes, tmp_dir=tmp_dir)
