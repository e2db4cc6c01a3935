"""The transactional outbox: write an event in the caller's transaction; a job delivers it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Integer, bindparam, event, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from .tables import clients, outbox, webhook_attempts


def enqueue(
    conn: Connection,
    *,
    client_id: int,
    topic: str,
    payload: dict[str, Any],
    idempotency_key: str,
    now: datetime,
    project_id: int | None = None,
    item_id: int | None = None,
    target_url: str | None = None,
) -> int | None:
    """Add an event for the client; a second event with the same key is ignored (returns None)."""
    ins = postgresql.insert(outbox) if conn.dialect.name == "postgresql" else sqlite.insert(outbox)
    stmt = ins.on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(outbox.c.id)
    new_id = conn.execute(
        stmt,
        {
            "client_id": client_id,
            "project_id": project_id,
            "item_id": item_id,
            "topic": topic,
            "payload": payload,
            "idempotency_key": idempotency_key,
            "target_url": target_url,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        },
    ).scalar()
    if new_id is None:
        return None
    conn.info[NEW_EVENTS] = True
    return int(new_id)


# --- waking an in-process deliverer -------------------------------------------------------------
#
# enqueue() marks the connection; when the connection goes back to the pool (after its commit),
# every deliverer registered on that engine is woken, so a new event leaves within milliseconds
# instead of at the next poll.

NEW_EVENTS = "seatflow.outbox.new"
_WAKERS = "_seatflow_outbox_wakers"


def on_new_events(engine: Engine, wake: Callable[[], None]) -> None:
    """Call ``wake`` after each commit (on ``engine``) of a transaction that enqueued an event."""
    wakers: list[Callable[[], None]] | None = engine.__dict__.get(_WAKERS)
    if wakers is None:
        wakers = []
        engine.__dict__[_WAKERS] = wakers

        def _checkin(_dbapi_conn: Any, record: Any) -> None:
            if record is not None and record.info.pop(NEW_EVENTS, None):
                for fn in list(wakers):
                    fn()

        event.listen(engine, "checkin", _checkin)
    wakers.append(wake)


def forget_new_events(engine: Engine, wake: Callable[[], None]) -> None:
    wakers: list[Callable[[], None]] = engine.__dict__.get(_WAKERS, [])
    if wake in wakers:
        wakers.remove(wake)


# --- the delivery job ---------------------------------------------------------------------------

# Due events: pending ones whose time has come, and claims of a deliverer that died (their
# ``next_attempt_at`` is the claim's expiry). Served by ix_outbox_due, whose predicate is this one.
# Written as the index's own predicate text: a partial index is only used (SQLite always, PostgreSQL
# under a generic plan) when the query repeats its literals, not bound parameters.
_DUE = text("outbox.state IN ('pending', 'delivering')")


def _claim_due_statement(postgres: bool) -> Any:
    due = (select(outbox.c.id).where(_DUE, outbox.c.next_attempt_at <= bindparam("b_now"))
           .order_by(outbox.c.next_attempt_at).limit(bindparam("b_limit", type_=Integer)))
    if postgres:
        due = due.with_for_update(skip_locked=True)
    return (
        update(outbox)
        .where(outbox.c.id.in_(due.scalar_subquery()))
        .values(state="delivering", attempts=outbox.c.attempts + 1,
                next_attempt_at=bindparam("b_until", type_=outbox.c.next_attempt_at.type))
        .returning(outbox.c.id, outbox.c.client_id, outbox.c.topic, outbox.c.payload, outbox.c.idempotency_key,
                   outbox.c.target_url, outbox.c.attempts, outbox.c.created_at)
    )


# Every deliverer runs it at each wake and poll: built once (a statement built per call paid its
# construction and cache key each time, ~3 % of a server's CPU under dispatch load in py-spy).
_CLAIM_DUE = {postgres: _claim_due_statement(postgres) for postgres in (False, True)}


_ANY_DUE = select(outbox.c.id).where(_DUE, outbox.c.next_attempt_at <= bindparam("b_now")).limit(1)


def any_due(conn: Connection, *, now: datetime) -> bool:
    """Whether an event is due (a read: an idle deliverer's poll takes no write lock, see Deliverer._pass)."""
    return conn.execute(_ANY_DUE, {"b_now": now}).first() is not None


def claim_due(conn: Connection, *, now: datetime, claim_until: datetime, limit: int) -> list[Any]:
    """Take up to ``limit`` due events, oldest first: state 'delivering', attempts + 1, and
    ``next_attempt_at`` = ``claim_until`` (the claim's expiry and the token that completes it).

    PostgreSQL skips rows another deliverer is taking (FOR UPDATE SKIP LOCKED); SQLite runs the
    statement inside its one writer's immediate transaction.
    """
    stmt = _CLAIM_DUE[conn.dialect.name == "postgresql"]
    rows = conn.execute(stmt, {"b_now": now, "b_until": claim_until, "b_limit": limit})
    return sorted(rows, key=lambda r: r.id)


def webhooks_of(conn: Connection, client_ids: Iterable[int]) -> dict[int, Any]:
    """client id -> (slug, webhook_url, webhook_secret) for the clients of claimed events."""
    ids = sorted(set(client_ids))
    if not ids:
        return {}
    rows = conn.execute(
        select(clients.c.id, clients.c.slug, clients.c.webhook_url, clients.c.webhook_secret)
        .where(clients.c.id.in_(ids))
    )
    return {int(r.id): r for r in rows}


def log_attempts(conn: Connection, rows: list[dict[str, Any]]) -> None:
    conn.execute(webhook_attempts.insert(), rows)


def complete(
    conn: Connection, *, outbox_id: int, claim_until: datetime, state: str, next_attempt_at: datetime,
    last_error: str | None, delivered_at: datetime | None,
) -> bool:
    """Record the outcome of a claimed attempt; False when the claim was lost meanwhile (it
    expired and another deliverer took the event, or it was replayed): then nothing changes."""
    n = conn.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id, outbox.c.state == "delivering", outbox.c.next_attempt_at == claim_until)
        .values(state=state, next_attempt_at=next_attempt_at, last_error=last_error, delivered_at=delivered_at)
    ).rowcount
    return n == 1


# --- the delivery log ---------------------------------------------------------------------------


def list_events(
    conn: Connection, *, client_id: int | None, state: str | None, topic: str | None, offset: int, limit: int,
) -> tuple[list[Any], int]:
    """Events newest first, optionally of one client, state or topic, with the client's slug."""
    conds = []
    if client_id is not None:
        conds.append(outbox.c.client_id == client_id)
    if state is not None:
        conds.append(outbox.c.state == state)
    if topic is not None:
        conds.append(outbox.c.topic == topic)
    q = (
        select(outbox, clients.c.slug.label("client_slug"))
        .join(clients, clients.c.id == outbox.c.client_id)
        .where(*conds)
        .order_by(outbox.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    total = int(conn.execute(select(func.count()).select_from(outbox).where(*conds)).scalar_one())
    return list(conn.execute(q)), total


def get_event(conn: Connection, outbox_id: int) -> Any:
    return conn.execute(
        select(outbox, clients.c.slug.label("client_slug"))
        .join(clients, clients.c.id == outbox.c.client_id)
        .where(outbox.c.id == outbox_id)
    ).first()


def attempts_of(conn: Connection, outbox_id: int, *, limit: int = 200) -> list[Any]:
    return list(conn.execute(
        select(webhook_attempts).where(webhook_attempts.c.outbox_id == outbox_id)
        .order_by(webhook_attempts.c.id).limit(limit)
    ))


def requeue(conn: Connection, outbox_id: int, *, now: datetime) -> bool:
    """A delivered, dead or held event goes back to the queue with a fresh budget of attempts."""
    n = conn.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id, outbox.c.state.in_(("delivered", "dead", "held")))
        .values(state="pending", attempts=0, next_attempt_at=now, last_error=None, delivered_at=None)
    ).rowcount
    if n == 1:
        conn.info[NEW_EVENTS] = True
    return n == 1


def set_client_webhook(conn: Connection, client_id: int, *, url: str | None, secret: str | None) -> None:
    """Set (or clear) a client's webhook URL; ``secret`` replaces the signing secret when given."""
    values: dict[str, Any] = {"webhook_url": url}
    if secret is not None:
        values["webhook_secret"] = secret
    conn.execute(update(clients).where(clients.c.id == client_id).values(**values))


def release_held(conn: Connection, client_id: int, *, now: datetime) -> int:
    """The client's events held for want of a webhook URL or secret go back to the queue, attempts reset."""
    n = conn.execute(
        update(outbox)
        .where(outbox.c.client_id == client_id, outbox.c.state == "held")
        .values(state="pending", attempts=0, next_attempt_at=now, last_error=None)
    ).rowcount
    if n:
        conn.info[NEW_EVENTS] = True
    return int(n)


# --- PostgreSQL: waking deliverers in other processes -----------------------------------------------
#
# An app whose events are delivered by `seatflow worker deliver` processes sends one NOTIFY after
# commits that enqueued events (coalesced, on a connection of its own, never inside the request's
# transaction); deliverers LISTEN and wake at once instead of at their next poll.

CHANNEL = "seatflow_outbox"


def listen(dbapi_conn: Any) -> None:
    """Subscribe an autocommit psycopg connection to the outbox channel."""
    dbapi_conn.execute(f"LISTEN {CHANNEL}")


def notify(dbapi_conn: Any) -> None:
    dbapi_conn.execute(f"NOTIFY {CHANNEL}")


def libpq_url(engine: Engine) -> str:
    """The engine's URL as psycopg.connect takes it (for the LISTEN/NOTIFY connections)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
