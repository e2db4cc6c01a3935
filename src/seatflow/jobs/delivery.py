"""The webhook deliverer: takes due events from the outbox and POSTs them, signed, at least once.

One loop thread runs passes: each pass is one short write transaction that records the outcomes the
senders brought back and claims as many due events as there are idle senders
(``store.outbox.claim_due`` marks them 'delivering' with a claim expiry). A pool of sender threads
POSTs each event's bytes with their signature, outside any transaction. 2xx -> delivered; anything
else -> pending again after an exponential backoff with full jitter, or dead after
``webhook_max_attempts``; every attempt is logged in ``webhook_attempts``. A deliverer that dies
mid-flight loses nothing: its claims expire and another deliverer (or the same one restarted) takes
them again; an outcome recorded under a lost claim changes nothing.

The loop sleeps until woken: by a commit in this process that enqueued an event (see
``store.outbox.on_new_events``), by a sender finishing, by a NOTIFY from an app process (PostgreSQL,
see ``Notifier``), or by ``delivery_poll_seconds`` passing. It runs as a thread inside the app
(``Deliverer.start``) or as ``seatflow worker deliver``.
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
from seatflow.i18n.message import Msg
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
    no_endpoint: bool = False  # nowhere to send it yet: the event is held, not retried (see _write_outcomes)

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
        self._listener: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._inflight = 0  # claimed and not yet recorded
        self._done: list[tuple[Claimed, Outcome]] = []  # sent, waiting to be recorded by the loop
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
            outcomes = list(pool.map(self.send, claimed))
        self.record_many(list(zip(claimed, outcomes, strict=True)))
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
        return transact(self.db, lambda conn: self._take(conn, limit))

    def _take(self, conn: Any, limit: int) -> list[Claimed]:
        if limit <= 0:
            return []
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

    def send(self, event: Claimed) -> Outcome:
        """POST the event once; never raises for the receiver's faults."""
        if not event.url:
            return Outcome(None, Msg("client {client!r} has no webhook URL; the event is held until "
                                     "one is set with PUT /api/v1/clients/{slug}/webhook",
                                     client=event.client_slug, slug=event.client_slug), 0, no_endpoint=True)
        if not event.secret:
            return Outcome(None, Msg("client {client!r} has no signing secret; the event is held until "
                                     "it is rotated with PUT /api/v1/clients/{slug}/webhook",
                                     client=event.client_slug, slug=event.client_slug), 0, no_endpoint=True)
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
                error: str | None = None
                if not webhooks.is_success(status):
                    text = _first_bytes(resp, ERROR_MAX).decode("utf-8", "replace").strip()
                    error = (Msg("the receiver answered {status}: {text}", status=status, text=text) if text
                             else Msg("the receiver answered {status}", status=status))
        except httpx.TimeoutException:
            status, error = None, Msg("no answer within {seconds:g} s (timeout)", seconds=self.http.timeout.read)
        except httpx.HTTPError as exc:
            status, error = None, f"{type(exc).__name__}: {exc}"[:ERROR_MAX] or type(exc).__name__
        return Outcome(status, error, int((time.monotonic() - start) * 1000))

    def _write_outcomes(self, conn: Any, done: list[tuple[Claimed, Outcome]]) -> list[str]:
        """Log each attempt and move its event on, in the caller's transaction; the new states."""
        now = utcnow()
        states = []
        attempts = []
        for event, outcome in done:
            if outcome.ok:
                state, next_at, delivered_at = "delivered", now, now
            elif outcome.no_endpoint:  # retrying cannot help; setting the client's webhook releases it
                state, next_at, delivered_at = "held", now, None
            elif event.attempt >= self.max_attempts:
                state, next_at, delivered_at = "dead", now, None
            else:
                delay = webhooks.backoff_seconds(event.attempt, base=self.base, cap=self.cap, rng=self.rng)
                state, next_at, delivered_at = "pending", now + timedelta(seconds=delay), None
            attempts.append({
                "outbox_id": event.id, "client_id": event.client_id, "url": (event.url or "")[:2000],
                "attempted_at": now, "status_code": outcome.status_code, "error": outcome.error,
                "duration_ms": outcome.duration_ms,
            })
            if not repo.complete(conn, outbox_id=event.id, claim_until=event.claim_until, state=state,
                                 next_attempt_at=next_at, last_error=outcome.error, delivered_at=delivered_at):
                log.info("delivery %d: claim lost before the outcome was recorded (expired or replayed)", event.id)
            states.append(state)
        if attempts:
            repo.log_attempts(conn, attempts)
        return states

    def _counted(self, done: list[tuple[Claimed, Outcome]], states: list[str]) -> None:
        for (event, outcome), state in zip(done, states, strict=True):
            if outcome.ok:
                self.delivered += 1
            else:
                self.failed += 1
                log.info("delivery %d to %s failed (attempt %d, now %s): %s", event.id, event.url, event.attempt,
                         state, outcome.error)

    def record_many(self, done: list[tuple[Claimed, Outcome]]) -> list[str]:
        """Record outcomes in one transaction; returns the events' new states."""
        if not done:
            return []
        states = transact(self.db, lambda conn: self._write_outcomes(conn, done))
        self._counted(done, states)
        return states

    def record(self, event: Claimed, outcome: Outcome) -> str:
        """Log the attempt and move the event on; returns its new state."""
        return self.record_many([(event, outcome)])[0]

    # -- the background loop --------------------------------------------------------------------
    #
    # One write transaction per pass records every outcome that came back and claims as many due
    # events as there are free senders: under load, many events share one transaction (and on
    # SQLite one turn of the writer's lock) instead of two each.

    def wake(self) -> None:
        self._wake.set()

    def _sender(self, event: Claimed) -> None:
        try:
            outcome = self.send(event)
        except Exception as exc:  # noqa: BLE001 - recorded as a failed attempt
            outcome = Outcome(None, f"{type(exc).__name__}: {exc}"[:ERROR_MAX], 0)
        with self._lock:
            self._done.append((event, outcome))
        self._wake.set()

    def _pass(self) -> int:
        """Record what came back and claim more; returns how many were claimed."""
        with self._lock:
            done, self._done = self._done, []
            free = self.concurrency - (self._inflight - len(done))
        if not done and free <= 0:
            return 0
        if not done and not self._due():
            return 0  # nothing to record, nothing due: no write transaction (SQLite: no write lock)

        def work(conn: Any) -> tuple[list[str], list[Claimed]]:
            return self._write_outcomes(conn, done), self._take(conn, free)

        try:
            states, claimed = transact(self.db, work)
        except Exception:
            with self._lock:  # keep them: recorded at the next pass (their claims last long enough)
                self._done = done + self._done
            raise
        self._counted(done, states)
        with self._lock:
            self._inflight += len(claimed) - len(done)
        assert self._pool is not None
        for event in claimed:
            self._pool.submit(self._sender, event)
        return len(claimed) if len(claimed) == free and free > 0 else 0

    def _due(self) -> bool:
        with self.db.read() as conn:
            return repo.any_due(conn, now=utcnow())

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                while self._pass() and not self._stop.is_set():
                    pass  # every sender got work and more may be due: claim again at once
            except Exception:  # noqa: BLE001 - a database hiccup: try again at the next wake or poll
                log.exception("the webhook deliverer's pass failed; trying again")
                self._stop.wait(min(self.poll, 1.0))

    def _listen(self) -> None:
        """PostgreSQL: wake on NOTIFY from app processes (see Notifier); reconnect when the link drops."""
        import psycopg

        pause = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(repo.libpq_url(self.db.engine), autocommit=True) as conn:
                    repo.listen(conn)
                    pause = 0.5
                    self._wake.set()  # anything notified while we were not listening
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self._wake.set()
            except Exception as exc:  # noqa: BLE001 - polling still delivers; try to listen again
                log.warning("LISTEN %s failed (%s); polling until it works again", repo.CHANNEL, exc)
                self._stop.wait(pause)
                pause = min(pause * 2, 30.0)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="seatflow-deliver")
        repo.on_new_events(self.db.engine, self.wake)
        self._thread = threading.Thread(target=self._loop, name="seatflow-deliverer", daemon=True)
        self._thread.start()
        if self.db.is_postgres:
            self._listener = threading.Thread(target=self._listen, name="seatflow-deliverer-listen", daemon=True)
            self._listener.start()
        self._wake.set()  # events that were due while nobody delivered

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming; let requests in flight finish and record them (if they don't finish, their
        claims expire and the events are sent again)."""
        repo.forget_new_events(self.db.engine, self.wake)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None
        if self._listener is not None:
            self._listener.join(timeout=timeout)
            self._listener = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=False)
            self._pool = None
        with self._lock:
            done, self._done = self._done, []
        if done:
            try:
                self.record_many(done)
            except Exception:  # noqa: BLE001 - their claims expire; they are sent again
                log.exception("could not record %d outcome(s) while stopping", len(done))
        with self._lock:
            self._inflight = 0

    def close(self) -> None:
        self.stop()
        self.http.close()


def _first_bytes(resp: httpx.Response, limit: int) -> bytes:
    got = b""
    for chunk in resp.iter_bytes():
        got += chunk
        if len(got) >= limit:
            break
    return got[:limit]


class Notifier:
    """PostgreSQL apps whose events are delivered by other processes (SEATFLOW_DELIVERY_IN_PROCESS=false):
    one NOTIFY after commits that enqueued events, coalesced, from a thread with its own connection."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._event = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0

    def _loop(self) -> None:
        import psycopg

        conn: Any = None
        while not self._stop.is_set():
            if not self._event.wait(1.0):
                continue
            self._event.clear()
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(repo.libpq_url(self.db.engine), autocommit=True)
                repo.notify(conn)
                self.sent += 1
            except Exception as exc:  # noqa: BLE001 - the deliverers' polling still finds the events
                log.warning("NOTIFY %s failed: %s", repo.CHANNEL, exc)
                conn = None
                self._stop.wait(1.0)
        if conn is not None:
            conn.close()

    def start(self) -> None:
        if self._thread is None:
            repo.on_new_events(self.db.engine, self._event.set)
            self._thread = threading.Thread(target=self._loop, name="seatflow-outbox-notify", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        repo.forget_new_events(self.db.engine, self._event.set)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
