"""A first-come, first-served gate in front of the connection pool.

SQLAlchemy's pool hands a returned connection to whichever thread asks next, so under load a thread
that has just given one back can take it again ahead of a thread that has been waiting: with more
threads than connections a waiter can starve until the pool's timeout (seen in CI: 32 threads on
20 connections, one waited 30 s). The gate admits at most as many transactions as the pool holds
connections and passes a freed place straight to the longest waiter, so nobody waits at the pool,
waits are served in arrival order, and no overflow connection is opened and closed per burst.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from seatflow.errors import Busy
from seatflow.i18n.message import Msg


class FairGate:
    """At most ``size`` holders at once; waiters get in strictly in the order they arrived."""

    def __init__(self, size: int, *, timeout: float = 30.0, what: str = "database connection") -> None:
        if size < 1:
            raise ValueError("a gate needs at least one place")
        self.size = size
        self.timeout = timeout
        self.what = what
        self._free = size
        self._lock = threading.Lock()
        self._waiters: deque[threading.Event] = deque()

    def acquire(self) -> None:
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return
            turn = threading.Event()
            self._waiters.append(turn)
        if turn.wait(self.timeout):
            return
        with self._lock:
            if turn.is_set():  # handed over between the timeout and this lock
                return
            self._waiters.remove(turn)
        if self.what == "turn to write":
            raise Busy(Msg("no turn to write became free within {timeout:g} s", timeout=self.timeout))
        raise Busy(Msg("no database connection became free within {timeout:g} s", timeout=self.timeout))

    def release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().set()  # the place passes on without ever being free
            else:
                self._free += 1

    @contextmanager
    def held(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()

    @property
    def waiting(self) -> int:
        return len(self._waiters)
