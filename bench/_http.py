"""A minimal HTTP/1.1 keep-alive client on asyncio streams, for load generation.

Why not httpx: the load generator shares the machine's two cores with the server and the database,
and a request through httpx costs several times the CPU of this one. It speaks just what the
benchmark needs: POST with a JSON body, responses with Content-Length (what the server sends for
JSON), keep-alive; a connection idle for longer than ``max_idle`` is reopened before use, so that the
server's keep-alive timeout never closes one under a request.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any


class HttpError(Exception):
    pass


class Connection:
    def __init__(self, host: str, port: int, token: str, *, max_idle: float = 20.0) -> None:
        self.host = host
        self.port = port
        self.max_idle = max_idle
        self._auth = f"Authorization: Bearer {token}\r\n".encode()
        self._host = f"Host: {host}:{port}\r\n".encode()
        self._r: asyncio.StreamReader | None = None
        self._w: asyncio.StreamWriter | None = None
        self._last = 0.0
        self.opened = 0

    async def _open(self) -> None:
        await self.close()
        self._r, self._w = await asyncio.open_connection(self.host, self.port)
        self.opened += 1

    async def close(self) -> None:
        if self._w is not None:
            self._w.close()
            try:
                await self._w.wait_closed()
            except (ConnectionError, OSError):
                pass
        self._r = self._w = None

    async def post(self, path: str, payload: Any = None) -> tuple[int, Any]:
        """POST ``payload`` as JSON; returns (status, decoded JSON body or None)."""
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        head = (
            b"POST " + path.encode() + b" HTTP/1.1\r\n" + self._host + self._auth
            + b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        if self._w is None or time.monotonic() - self._last > self.max_idle:
            await self._open()
        assert self._r is not None and self._w is not None
        self._w.write(head + body)
        try:
            raw = await self._r.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            await self.close()
            raise HttpError(f"POST {path}: the server closed the connection ({exc})") from exc
        status, length, close = _parse_head(raw, path)
        data = await self._r.readexactly(length) if length else b""
        self._last = time.monotonic()
        if close:
            await self.close()
        return status, (json.loads(data) if data else None)


def _parse_head(raw: bytes, path: str) -> tuple[int, int, bool]:
    lines = raw.split(b"\r\n")
    try:
        status = int(lines[0].split(b" ", 2)[1])
    except (IndexError, ValueError):
        raise HttpError(f"POST {path}: bad status line {lines[0]!r}") from None
    length = 0
    close = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding":
            raise HttpError(f"POST {path}: chunked responses are not supported by the bench client")
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    return status, length, close
