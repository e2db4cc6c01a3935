"""Return expired leases to the queue: a background thread, plus a throttled call on dispatch."""

from __future__ import annotations

import logging
import threading
import time

from seatflow.services import dispatch
from seatflow.services._tx import transact
from seatflow.store.engine import Database

log = logging.getLogger("seatflow.reaper")


class Reaper:
    def __init__(self, db: Database, interval: float) -> None:
        self.db = db
        self.interval = interval
        self._last = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        total = 0
        while True:
            n = transact(self.db, lambda c: dispatch.reap_expired(c, limit=1000))
            total += n
            if n < 1000:
                break
        self._last = time.monotonic()
        if total:
            log.info("returned %d expired lease(s) to the queue", total)
        return total

    def maybe_run(self) -> None:
        """Cheap when called often: reaps at most once per interval, never blocks a caller on another."""
        if time.monotonic() - self._last < self.interval or not self._lock.acquire(blocking=False):
            return
        try:
            if time.monotonic() - self._last >= self.interval:
                self.run_once()
        except Exception:  # noqa: BLE001 - never fail a dispatch because the reaper did
            log.exception("reaper failed")
        finally:
            self._lock.release()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.maybe_run()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="seatflow-reaper", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
