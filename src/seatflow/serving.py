"""How seatflow runs uvicorn: `seatflow serve`, `seatflow demo` and the dispatch benchmark start it here.

TCP_NODELAY on every connection. ``uvicorn --workers N`` binds its listening socket itself
(``socket.socket(family)``, protocol number 0) and hands it to the worker processes; asyncio sets
TCP_NODELAY only on connections whose socket says IPPROTO_TCP, so on the workers' connections
Nagle's algorithm stayed on. A response goes out in two writes (head, then body): the second waited
for the client's delayed ACK, about 40 ms on Linux, so one worker doing lease -> submit managed ~10
cycles/s with the server idle (115/s with the flag; bench/RESULTS.md). The HTTP protocol class
below sets the flag when a connection is made, whatever socket it came from.
"""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING, Any


def set_nodelay(transport: asyncio.BaseTransport) -> bool:
    """Turn Nagle's algorithm off on a TCP transport's socket; False when it is not TCP."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # the peer is already gone: nothing to speed up
        return False
    return True


class NoDelay:
    """Mixin for an asyncio protocol: TCP_NODELAY on each connection it is given."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        set_nodelay(transport)
        super().connection_made(transport)  # type: ignore[misc]


if TYPE_CHECKING:
    from uvicorn.protocols.http.h11_impl import H11Protocol as _HttpProtocol
else:  # what uvicorn's http="auto" picks: httptools when installed, else h11
    from uvicorn.protocols.http.auto import AutoHTTPProtocol as _HttpProtocol


class NoDelayHttp(NoDelay, _HttpProtocol):
    """uvicorn's HTTP protocol with TCP_NODELAY (module level, so that worker processes can import it)."""


def run(app: Any, *, host: str, port: int, workers: int = 1, log_level: str = "info", **options: Any) -> None:
    """Serve until stopped, like ``uvicorn.run`` (same keyword options), with :class:`NoDelayHttp`."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, workers=workers, log_level=log_level, http=NoDelayHttp, **options)
