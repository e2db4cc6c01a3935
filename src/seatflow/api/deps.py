"""Request dependencies: the database, the acting user (token or session), pagination.

They are ``async def`` and do no blocking work on the event loop: FastAPI runs a plain ``def``
dependency in its thread pool, a hand-off that cost about as much CPU as the dependency itself (a
hot request paid three: database, actor, endpoint). The actor comes from the token cache on the loop;
only a cache miss or a session (both read the database) goes to a thread.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from seatflow.config import Settings
from seatflow.domain.actors import Actor
from seatflow.errors import NotAuthenticated
from seatflow.i18n.message import Msg
from seatflow.services import accounts
from seatflow.services.accounts import token_hash
from seatflow.store.engine import Database


async def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


class TokenCache:
    """A short-lived in-process cache of token -> actor, so a hot endpoint costs no extra query."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._data: dict[str, tuple[float, Actor]] = {}
        self._dropped: set[str] = set()
        self._lock = threading.Lock()

    def get(self, key: str) -> Actor | None:
        hit = self._data.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        return None

    def put(self, key: str, actor: Actor) -> None:
        with self._lock:
            if key in self._dropped:  # revoked here while a request still held its lookup
                return
            if len(self._data) > 10000:
                self._data.clear()
            self._data[key] = (time.monotonic() + self.ttl, actor)

    def drop(self, key: str) -> None:
        """Forget a (revoked) token's hash now, and never cache it again in this process."""
        with self._lock:
            self._data.pop(key, None)
            if len(self._dropped) > 10000:
                self._dropped.clear()
            self._dropped.add(key)


def _bearer_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if not auth:
        return None
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated(Msg("the Authorization header must be 'Bearer <token>'"))
    return token.strip()


def cached_actor(request: Request) -> Actor | None:
    """The bearer token's actor when the token cache knows it (no database, no blocking)."""
    token = _bearer_token(request)
    if token is None:
        return None
    cache: TokenCache = request.app.state.token_cache
    return cache.get(token_hash(token))


def actor_from_request(request: Request) -> Actor | None:
    db: Database = request.app.state.db
    token = _bearer_token(request)
    if token is not None:
        cache: TokenCache = request.app.state.token_cache
        key = token_hash(token)
        actor = cache.get(key)
        if actor is None:
            actor = accounts.resolve_token(db, token)
            cache.put(key, actor)
        return actor
    session: dict[str, Any] = request.session if "session" in request.scope else {}
    user_id = session.get("uid")
    if user_id is None:
        return None
    with db.read() as conn:
        actor = accounts.actor_by_id(conn, int(user_id))
        version = accounts.session_version(conn, int(user_id)) if actor else None
    if actor is None or version != session.get("sv"):
        session.clear()
        return None
    return actor


async def current_actor(request: Request) -> Actor:
    actor = cached_actor(request)
    if actor is None:  # not cached, or a session: the database is read in a thread
        actor = await run_in_threadpool(actor_from_request, request)
    if actor is None:
        raise NotAuthenticated(Msg("log in at /login, or send 'Authorization: Bearer <token>'"))
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]
Db = Annotated[Database, Depends(get_db)]


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int

    def envelope(self, request: Request, items: list[Any], total: int) -> dict[str, Any]:
        nxt = None
        if self.offset + len(items) < total:
            nxt = str(request.url.include_query_params(offset=self.offset + self.limit, limit=self.limit))
        return {"items": items, "total": total, "offset": self.offset, "limit": self.limit, "next": nxt}


async def page(
    request: Request,
    offset: Annotated[int, Query(ge=0, description="How many rows to skip")] = 0,
    limit: Annotated[int | None, Query(ge=1, description="Rows per page (default 50, at most 500)")] = None,
) -> Page:
    settings: Settings = request.app.state.settings
    lim = limit or settings.page_size
    if lim > settings.max_page_size:
        from seatflow.errors import ValidationFailed

        raise ValidationFailed(Msg("limit must be at most {max}", max=settings.max_page_size), field="limit")
    return Page(offset=offset, limit=lim)


Paging = Annotated[Page, Depends(page)]
