"""A real webhook receiver on loopback for the delivery tests: a threaded http.server on a free port.

It keeps every request it read (headers, the raw body bytes, when) and answers as ``respond``
says: a status code, a delay before answering (to provoke timeouts), or ``DROP`` (close the
connection without an answer). ``stop()`` takes it off the network (connections are refused) and
``start()`` brings it back on the same port, to play a receiver that is down for a while.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DROP = -1


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when the body was read
    status: int  # what the receiver answered (DROP: nothing)


@dataclass
class Answer:
    status: int = 200
    delay: float = 0.0


Respond = Callable[[Received], Answer]


def always(status: int = 200) -> Respond:
    return lambda _r: Answer(status)


@dataclass
class Receiver:
    respond: Respond = field(default_factory=always)
    port: int = 0
    requests: list[Received] = field(default_factory=list)
    _server: http.server.ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _open: set[socket.socket] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._open.add(self.connection)

            def finish(self) -> None:
                with receiver._lock:
                    receiver._open.discard(self.connection)
                try:
                    super().finish()
                except OSError:
                    pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request (a SIGKILL): no request at all
                    self.close_connection = True
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                probe = Received(self.path, headers, body, time.time(), 0)
                answer = receiver.respond(probe)
                with receiver._lock:
                    receiver.requests.append(Received(self.path, headers, body, probe.at, answer.status))
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.status == DROP:
                    self.close_connection = True
                    return
                reply = b"ok" if answer.status < 300 else b"receiver says no"
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass  # the sender gave up (timeout) before we answered

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        class Server(http.server.ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a sender that gave up (timeout) or a stop() mid-request: nothing to report

        self._server = Server(("127.0.0.1", self.port), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:  # kept-alive connections too: a receiver that is down answers nothing
            for conn in list(self._open):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._open.clear()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def accepted(self) -> list[Received]:
        """Requests answered 2xx."""
        with self._lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    def wait_for(self, predicate: Callable[[Receiver], bool], timeout: float = 10.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate(self):
                return True
            time.sleep(0.01)
        return predicate(self)
