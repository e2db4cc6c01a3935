"""The webhook deliverer: takes due events from the outbox and POSTs them, signed, at least once.

One loop thread claims due events (``store.outbox.claim_due``: a short write transaction that marks
them 'delivering' with a claim expiry) and hands each to a small pool of sender threads. A sender
POSTs the event's bytes with their signature, then records the attempt and the outcome in one
transaction: 2xx -> delivered; anything else -> pending again after an exponential backoff with
full jitter, or dead after ``webhook_max_attempts``. A deliverer that dies mid-flight loses nothing:
its claims expire and another deliverer (or the same one restarted) takes them again.

The loop sleeps until woken: by a commit in this process that enqueued an event (see
``store.outbox.on_new_events``), by a sender finishing, or by ``delivery_poll_seconds`` passing
(events written by other processes). It runs as a thread inside the app (``Deliverer.start``) or
as ``seatflow worker deliver``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from seatflow import __version__
from seatflow.config import Settings
from seatflow.domain import webhooks
from seatflow.domain.clock import utcnow
from seatflow.services._tx import transact
from seatflow.store import outbox as repo
from seatflow.store.engine import Database

log = logging.getLogger("seatflow.delivery")

ERROR_MAX = 500  # characters of a receiver's answer kept in the delivery log


@dataclass(frozen=True)
class Claimed:
    """An event this deliverer holds until ``claim_until``."""

    id: int
    client_id: int
    topic: str
    idempotency_key: str
    attempt: int
    url: str | None
    secret: str | None
    client_slug: str
    body: bytes
    claim_until: datetime


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and webhooks.is_success(self.status_code)


class Deliverer:
    def __init__(self, db: Database, settings: Settings, *, transport: httpx.BaseTransport | None = None,
                 rng: random.Random | None = None) -> None:
        self.db = db
        self.concurrency = settings.delivery_concurrency
        self.poll = settings.delivery_poll_seconds
        self.claim_seconds = settings.delivery_claim_seconds
        self.max_attempts = settings.webhook_max_attempts
        self.base = settings.webhook_backoff_base_seconds
        self.cap = settings.webhook_backoff_cap_seconds
        self.rng = rng or random.Random()
        self.http = httpx.Client(
            timeout=httpx.Timeout(settings.webhook_timeout_seconds),
            follow_redirects=False,
            transport=transport,
            limits=httpx.Limits(max_connections=self.concurrency * 2, max_keepalive_connections=self.concurrency),
            headers={"User-Agent": f"Seatflow-Webhooks/{__version__}"},
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._inflight = 0
        self._lock = threading.Lock()
        self.delivered = 0  # counters for logs and tests
        self.failed = 0

    # -- one pass, synchronously (tests, `seatflow worker deliver --once`) ----------------------

    def run_once(self, *, limit: int = 100) -> int:
        """Deliver what is due now (up to ``limit`` events, ``concurrency`` at a time); returns how many were tried."""
        claimed = self.claim(limit)
        if not claimed:
            return 0
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(claimed)),
                                thread_name_prefix="seatflow-deliver-once") as pool:
            list(pool.map(self.deliver, claimed))
        return len(claimed)

    def drain(self, *, timeout: float = 30.0) -> int:
        """run_once until nothing is due (events in backoff stay); returns how many attempts were made."""
        total, end = 0, time.monotonic() + timeout
        while time.monotonic() < end:
            n = self.run_once()
            if n == 0:
                return total
            total += n
        return total

    # -- the steps -----------------------------------------------------------------------------

    def claim(self, limit: int) -> list[Claimed]:
        def take(conn: Any) -> list[Claimed]:
            now = utcnow()
            until = now + timedelta(seconds=self.claim_seconds)
            rows = repo.claim_due(conn, now=now, claim_until=until, limit=limit)
            hooks = repo.webhooks_of(conn, (r.client_id for r in rows))
            out = []
            for r in rows:
                hook = hooks.get(int(r.client_id))
                out.append(Claimed(
                    id=int(r.id), client_id=int(r.client_id), topic=r.topic, idempotency_key=r.idempotency_key,
                    attempt=int(r.attempts), url=r.target_url or (hook.webhook_url if hook else None) or None,
                    secret=hook.webhook_secret if hook else None, client_slug=hook.slug if hook else "?",
                    body=webhooks.event_body(event_id=int(r.id), topic=r.topic, created_at=r.created_at,
                                             payload=r.payload),
                    claim_until=until,
                ))
            return out

        return transact(self.db, take)

    def send(self, event: Claimed) -> Outcome:
        """POST the event once; never raises for the receiver's faults."""
        if not event.url:
            return Outcome(None, f"client {event.client_slug!r} has no webhook URL; set one with "
                                 f"PUT /api/v1/clients/{event.client_slug}/webhook, then replay", 0)
        if not event.secret:
            return Outcome(None, f"client {event.client_slug!r} has no signing secret; rotate it with "
                                 f"PUT /api/v1/clients/{event.client_slug}/webhook", 0)
        headers = {
            "Content-Type": "application/json",
            webhooks.SIGNATURE_HEADER: webhooks.signature_header(event.secret, int(time.time()), event.body),
            webhooks.EVENT_ID_HEADER: str(event.id),
            webhooks.IDEMPOTENCY_HEADER: event.idempotency_key,
            webhooks.TOPIC_HEADER: event.topic,
            webhooks.ATTEMPT_HEADER: str(event.attempt),
        }
        start = time.monotonic()
        try:
            with self.http.stream("POST", event.url, content=event.body, headers=headers) as resp:
                status = resp.status_code
                error = None
                if not webhooks.is_success(status):
                    text = _first_bytes(resp, ERROR_MAX).decode("utf-8", "replace").strip()
                    error = f"the receiver answered {status}" + (f": {text}" if text else "")
        except httpx.TimeoutException:
            status, error = None, f"no answer within {self.http.timeout.read:g} s (timeout)"
        except httpx.HTTPError as exc:
            status, error = None, f"{type(exc).__name__}: {exc}"[:ERROR_MAX] or type(exc).__name__
        return Outcome(status, error, int((time.monotonic() - start) * 1000))

    def record(self, event: Claimed, outcome: Outcome) -> str:
        """Log the attempt and move the event on; returns its new state."""
        now = utcnow()
        if outcome.ok:
            state, next_at, delivered_at = "delivered", now, now
        elif event.attempt >= self.max_attempts:
            state, next_at, delivered_at = "dead", now, None
        else:
            delay = webhooks.backoff_seconds(event.attempt, base=self.base, cap=self.cap, rng=self.rng)
            state, next_at, delivered_at = "pending", now + timedelta(seconds=delay), None

        def write(conn: Any) -> bool:
            repo.log_attempt(conn, {
                "outbox_id": event.id, "client_id": event.client_id, "url": (event.url or "")[:2000],
                "attempted_at": now, "status_code": outcome.status_code, "error": outcome.error,
                "duration_ms": outcome.duration_ms,
            })
            return repo.complete(conn, outbox_id=event.id, claim_until=event.claim_until, state=state,
                                 next_attempt_at=next_at, last_error=outcome.error, delivered_at=delivered_at)

        if not transact(self.db, write):
            log.info("delivery %d: claim lost before the outcome was recorded (expired or replayed)", event.id)
        if outcome.ok:
            self.delivered += 1
        else:
            self.failed += 1
            log.info("delivery %d to %s failed (attempt %d, now %s): %s", event.id, event.url, event.attempt,
                     state, outcome.error)
        return state

    def deliver(self, event: Claimed) -> str:
        return self.record(event, self.send(event))

    # -- the background loop --------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def _sender(self, event: Claimed) -> None:
        try:
            self.deliver(event)
        except Exception:  # noqa: BLE001 - the claim expires and the event is tried again
            log.exception("delivery %d: could not record the outcome; it is retried after its claim expires",
                          event.id)
        finally:
            with self._lock:
                self._inflight -= 1
            self._wake.set()

    def _loop(self) -> None:
        assert self._pool is not None
        while not self._stop.is_set():
            self._wake.wait(self.poll)
            self._wake.clear()
            if self._stop.is_set():
                break
            while not self._stop.is_set():
                with self._lock:
                    free = self.concurrency - self._inflight
                if free <= 0:
                    break
                try:
                    claimed = self.claim(free)
                except Exception:  # noqa: BLE001 - a database hiccup: try again at the next poll
                    log.exception("could not claim due webhook events")
                    break
                for event in claimed:
                    with self._lock:
                        self._inflight += 1
                    self._pool.submit(self._sender, event)
                if len(claimed) < free:
                    break  # nothing more is due now

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="seatflow-deliver")
        repo.on_new_events(self.db.engine, self.wake)
        self._thread = threading.Thread(target=self._loop, name="seatflow-deliverer", daemon=True)
        self._thread.start()
        self._wake.set()  # events that were due while nobody delivered

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming; let requests in flight finish (their claims expire if they don't)."""
        repo.forget_new_events(self.db.engine, self.wake)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=False)
            self._pool = None

    def close(self) -> None:
        self.stop()
        self.http.close()

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is in flight (tests)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if self._inflight == 0:
                    return True
            time.sleep(0.01)
        return False


def _first_bytes(resp: httpx.Response, limit: int) -> bytes:
    got = b""
    for chunk in resp.iter_bytes():
        got += chunk
        if len(got) >= limit:
            break
    return got[:limit]
