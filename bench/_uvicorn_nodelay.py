"""uvicorn with TCP_NODELAY on every accepted connection: an experiment for ``dispatch.py --nodelay``.

Why: ``uvicorn --workers N`` hands its listening socket to the worker processes, re-created there with
protocol number 0; asyncio only sets TCP_NODELAY on sockets whose protocol is IPPROTO_TCP, so on the
workers' connections Nagle's algorithm stays on. A response written in two pieces (headers, then
body) then waits for the client's delayed ACK: about 40 ms per request on Linux. With one worker,
uvicorn binds through asyncio and the flag is set. This launcher sets the flag for every connection
so that the bench can show the difference; the fix itself belongs in how seatflow starts uvicorn.
The worker processes import this module too (as ``__mp_main__``), so the patch applies there.
"""

from __future__ import annotations

import asyncio.selector_events as _se
import socket
import sys
from typing import Any

_original_init = _se._SelectorSocketTransport.__init__


def _init_with_nodelay(self: Any, loop: Any, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
    _original_init(self, loop, sock, *args, **kwargs)


_se._SelectorSocketTransport.__init__ = _init_with_nodelay  # type: ignore[method-assign]

if __name__ == "__main__":
    from uvicorn.main import main

    sys.exit(main())
