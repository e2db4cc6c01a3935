"""Delivery to clients: the events the engine emits, the delivery log, replay, the webhook setting.

Events are written to the outbox in the transaction of the state change they report (see
``seatflow.store.outbox``); ``seatflow.jobs.delivery`` sends them. Services never send anything.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import Connection

from seatflow.domain.actors import Actor, Role
from seatflow.domain.clock import utcnow
from seatflow.errors import Conflict, Forbidden, NotFound, ValidationFailed
from seatflow.formats._common import clean_aggregate
from seatflow.i18n.message import Msg
from seatflow.store import catalog
from seatflow.store import outbox as repo
from seatflow.store import quality as quality_repo
from seatflow.store.events import append, event_row

STATES = ("pending", "delivering", "delivered", "dead", "held")
ITEM_ACCEPTED = "item.accepted"
URL_MAX = 2000


# --- events the engine emits --------------------------------------------------------------------


class DoneContext(Protocol):
    """What the submit/review path knows about an item it just finished (its lease context)."""

    client_id: int
    project_id: int
    project_slug: str
    work_type: str
    item_id: int
    external_id: str
    client_webhook_url: str | None


DoneHandler = Callable[..., bool]  # (conn, *, ctx: DoneContext, result: list[dict], now: datetime) -> queued?
_done_handlers: dict[str, DoneHandler] = {}


def on_item_done(work_type: str, handler: DoneHandler) -> None:
    """Let a work type report its finished items with an event of its own instead of item.accepted
    (e.g. moderation sends moderation.decided): one finished item, one event, never both."""
    _done_handlers[work_type] = handler


def item_done(conn: Connection, *, ctx: DoneContext, result: list[dict[str, Any]], now: datetime) -> bool:
    """Called by the engine in the transaction that finished the item."""
    handler = _done_handlers.get(ctx.work_type, item_accepted)
    return handler(conn, ctx=ctx, result=result, now=now)


def reported_by_work_type(conn: Connection, *, ctx: DoneContext, result: list[dict[str, Any]], now: datetime) -> bool:
    """For work types that send their own event for a finished item: nothing more to queue."""
    return False


def item_accepted(conn: Connection, *, ctx: DoneContext, result: list[dict[str, Any]], now: datetime) -> bool:
    """Queue ``item.accepted`` for a finished item, in the caller's transaction: one INSERT, and
    none at all when the client has no webhook URL. No worker ids leave the center."""
    if not ctx.client_webhook_url:
        return False
    payload: dict[str, Any] = {
        "project": ctx.project_slug,
        "work_type": ctx.work_type,
        "item": {"id": ctx.item_id, "external_id": ctx.external_id},
        "answers": [{"slot": a["slot"], "answer": a["answer"]} for a in result],
        "done_at": now.isoformat(),
    }
    found = quality_repo.aggregates_of(conn, [ctx.item_id]).get(ctx.item_id)
    if found is not None:
        aggregate, confidence = clean_aggregate(*found)
        if aggregate is not None:  # overlap or dynamic overlap on class work: the aggregate and its posterior
            payload["aggregate"] = aggregate
            payload["confidence"] = confidence
    return repo.enqueue(
        conn, client_id=ctx.client_id, topic=ITEM_ACCEPTED, payload=payload,
        idempotency_key=f"{ITEM_ACCEPTED}:{ctx.item_id}", now=now, project_id=ctx.project_id, item_id=ctx.item_id,
    ) is not None


# --- the delivery log ---------------------------------------------------------------------------


def _may_read(actor: Actor) -> None:
    if actor.role is Role.WORKER:
        raise Forbidden(Msg("the delivery log is for the center's staff and the client; workers don't see it"))


def _visible(conn: Connection, actor: Actor, event_id: int) -> Any:
    _may_read(actor)
    row = repo.get_event(conn, event_id)
    if row is None or not actor.can_see_client(row.client_id):
        raise NotFound(Msg("delivery {id} not found", id=event_id), field="id")
    return row


def event_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "client": row.client_slug,
        "project_id": row.project_id,
        "item_id": row.item_id,
        "topic": row.topic,
        "state": row.state,
        "attempts": row.attempts,
        "idempotency_key": row.idempotency_key,
        "target_url": row.target_url,
        "created_at": row.created_at.isoformat(),
        "next_attempt_at": row.next_attempt_at.isoformat() if row.state in ("pending", "delivering") else None,
        "delivered_at": row.delivered_at.isoformat() if row.delivered_at else None,
        "last_error": row.last_error,
    }


def attempt_json(row: Any) -> dict[str, Any]:
    return {
        "at": row.attempted_at.isoformat(),
        "url": row.url,
        "status_code": row.status_code,
        "error": row.error,
        "duration_ms": row.duration_ms,
    }


def list_deliveries(
    conn: Connection, actor: Actor, *, state: str | None = None, topic: str | None = None,
    client: str | None = None, offset: int = 0, limit: int = 50,
) -> tuple[list[dict[str, Any]], int]:
    """Events newest first: a client's own only; the center's staff see every client's."""
    _may_read(actor)
    if state is not None and state not in STATES:
        raise ValidationFailed(Msg("state {state!r} is unknown; use one of {states}", state=state,
                                   states=", ".join(STATES)), field="state")
    if topic is not None and not 0 < len(topic) <= 64:
        raise ValidationFailed(Msg("topic must be 1 to 64 characters"), field="topic")
    client_id = actor.client_id if actor.role is Role.CLIENT else None
    if client is not None:
        row = catalog.client_by_slug(conn, client)
        if row is None or not actor.can_see_client(row.id):
            raise NotFound(Msg("client {client!r} not found", client=client), field="client")
        client_id = row.id
    rows, total = repo.list_events(conn, client_id=client_id, state=state, topic=topic, offset=offset, limit=limit)
    return [event_json(r) for r in rows], total


def get_delivery(conn: Connection, actor: Actor, event_id: int) -> dict[str, Any]:
    """One event with its payload and every attempt to deliver it."""
    row = _visible(conn, actor, event_id)
    out = event_json(row)
    out["payload"] = row.payload
    out["attempt_log"] = [attempt_json(a) for a in repo.attempts_of(conn, event_id)]
    return out


def replay(conn: Connection, actor: Actor | None, event_id: int, *, now: datetime | None = None) -> dict[str, Any]:
    """Send a delivered, dead or held event again, with the same idempotency key and a fresh budget of
    attempts. The center's managers may replay any event, a client its own."""
    now = now or utcnow()
    if actor is not None:
        row = _visible(conn, actor, event_id)
        if actor.role not in (Role.ADMIN, Role.MANAGER, Role.CLIENT):
            raise Forbidden(Msg("replaying a delivery needs the role admin, manager or client"))
    else:
        row = repo.get_event(conn, event_id)
        if row is None:
            raise NotFound(Msg("delivery {id} not found", id=event_id), field="id")
    if not repo.requeue(conn, event_id, now=now):
        raise Conflict(Msg("delivery {id} is {state}: it is on its way already; replay a delivered, "
                           "dead or held one", id=event_id, state=row.state), field="id")
    append(conn, [event_row(entity="delivery", kind="replay", at=now, actor_id=actor.id if actor else None,
                            client_id=row.client_id, project_id=row.project_id, item_id=row.item_id,
                            from_state=row.state, to_state="pending", data={"outbox_id": event_id})])
    fresh = repo.get_event(conn, event_id)
    return event_json(fresh)


# --- a client's webhook -------------------------------------------------------------------------


def check_url(url: str) -> str:
    url = url.strip()
    if len(url) > URL_MAX:
        raise ValidationFailed(Msg("url is longer than {n} characters", n=URL_MAX), field="url")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValidationFailed(Msg("url {url!r} is not a URL ({error})", url=url, error=str(exc)),
                               field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(Msg("url {url!r} must be an absolute http:// or https:// URL", url=url), field="url")
    if parts.username or parts.password:
        raise ValidationFailed(Msg("url must not carry a user name or password; the signature authenticates "
                                   "Seatflow to the receiver"), field="url")
    if parts.fragment:
        raise ValidationFailed(Msg("url must not have a #fragment"), field="url")
    return url


def set_webhook(
    conn: Connection, actor: Actor | None, slug: str, *, url: str | None, rotate_secret: bool = False,
) -> dict[str, Any]:
    """Set or clear a client's webhook URL; ``rotate_secret`` makes a new signing secret and
    returns it (the only time it is shown). Managers for any client, a client user for its own."""
    client = catalog.client_by_slug(conn, slug)
    if actor is not None:
        if actor.role is Role.CLIENT:
            if client is None or client.id != actor.client_id:
                raise NotFound(Msg("client {client!r} not found", client=slug), field="slug")
        else:
            actor.require_manager()
    if client is None:
        raise NotFound(Msg("client {client!r} not found", client=slug), field="slug")
    clean = check_url(url) if url is not None and url.strip() else None
    secret = secrets.token_hex(32) if rotate_secret or not client.webhook_secret else None
    repo.set_client_webhook(conn, client.id, url=clean, secret=secret)
    released = repo.release_held(conn, client.id, now=utcnow())  # held again at once if still nowhere to send
    out: dict[str, Any] = {"client": slug, "webhook_url": clean, "secret_rotated": secret is not None,
                           "held_requeued": released}
    if secret is not None:
        out["secret"] = secret
    return out


# A moderation project's client is told of each decision by moderation.decided
# (services/moderation_flow.py, a listener of the engine): never item.accepted as well.
on_item_done("moderation", reported_by_work_type)
