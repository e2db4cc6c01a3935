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
from seatflow.i18n.message import Msg

from .spool import NotMedia, Spooled, spool, too_large

MAX_REDIRECTS = 3
FIELD = "media_url"  # also written out at the start of each message below (one literal for the catalog)
# Types a media URL may declare; anything else (text/html of an error page, JSON) is refused at once.
_MEDIA_TYPES = ("image/", "video/", "application/octet-stream", "binary/octet-stream", "application/mp4")


def _check_address(url: str, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValidationFailed(Msg("media_url: {url!r} must be an http:// or https:// URL", url=url), field=FIELD)
    if not parts.hostname:
        raise ValidationFailed(Msg("media_url: {url!r} names no host", url=url), field=FIELD)
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except OSError:
        raise ValidationFailed(Msg("media_url: the host {host!r} does not resolve", host=parts.hostname),
                               field=FIELD) from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise ValidationFailed(Msg(
                "media_url: {host!r} is a private or local address ({address}); this server fetches "
                "media from public addresses only (SEATFLOW_MEDIA_FETCH_PRIVATE allows others)",
                host=parts.hostname, address=str(address)), field=FIELD)


def fetch(url: str, *, tmp_dir: Path, max_bytes: int, timeout: float, allow_private: bool,
          transport: httpx.BaseTransport | None = None) -> Spooled:
    """Download ``url`` (following at most MAX_REDIRECTS redirects, each checked) into ``tmp_dir``."""
    if len(url) > 2000:
        raise ValidationFailed(Msg("media_url: the URL is longer than {n} characters", n=2000), field=FIELD)
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
                error = f"{exc.__class__.__name__}: {exc}"
                raise ValidationFailed(Msg("media_url: could not fetch {url!r}: {error}", url=url, error=error),
                                       field=FIELD) from None
    raise ValidationFailed(Msg("media_url: more than {n} redirects", n=MAX_REDIRECTS), field=FIELD)


def _take(resp: httpx.Response, url: str, *, tmp_dir: Path, max_bytes: int) -> Spooled:
    if resp.status_code != 200:
        raise ValidationFailed(Msg("media_url: {url!r} answered HTTP {status}, not 200 with the media", url=url,
                                   status=resp.status_code), field=FIELD, upstream_status=resp.status_code)
    declared = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared and not declared.startswith(_MEDIA_TYPES):
        raise NotMedia(Msg("media_url: {url!r} serves {declared}, not an image or a video", url=url,
                           declared=declared), field=FIELD)
    length = resp.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise too_large(FIELD, max_bytes)

    def chunks() -> Iterator[bytes]:
        yield from resp.iter_bytes(1 << 16)

    return spool(chunks(), field=FIELD, max_bytes=max_bytes, tmp_dir=tmp_dir)
