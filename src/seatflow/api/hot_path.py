"""A short way through the server for the worker loop's two hottest requests.

``POST /api/v1/leases`` and ``POST /api/v1/leases/{id}/submit`` from a caller with a bearer token
are answered here, in front of the framework's routing, dependency solving and request objects (a
token not in the token cache is looked up in the same thread hop as the work). They run the very
same code as the routes in ``api/work.py`` (:func:`~seatflow.api.work.lease_next`,
:func:`~seatflow.api.work.submit_answer`), validate the body with the same pydantic models and
answer errors with the same problem+json bodies. Everything else
goes on to FastAPI untouched: another route or method, a session (browser) caller, a malformed
Authorization header, a body that is not declared JSON.

Why: a cycle of the two requests cost the server ~5 ms of CPU at 64 workers, about 60 % of it in the
web layers (uvicorn, Starlette, FastAPI's per-request dependency solving, anyio's thread hand-off)
and 30 % in the endpoints' own work (bench/RESULTS.md, dispatch). On the 2 cores that caps HTTP
dispatch well below what the database can do.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from seatflow.domain.actors import Actor
from seatflow.errors import SeatflowError
from seatflow.services import accounts
from seatflow.services.accounts import token_hash

from . import work
from .problems import api_locale, problem_response, validation_problem

_LEASES = "/api/v1/leases"
_SUBMIT_PREFIX, _SUBMIT_SUFFIX = "/api/v1/leases/", "/submit"
_MAX_ID_DIGITS = 18  # a longer number is not a lease id this server made: let the framework answer it


def _lease_id(path: str) -> int | None:
    """The lease id of a submit path (``/api/v1/leases/123/submit``), else None."""
    if not (path.startswith(_SUBMIT_PREFIX) and path.endswith(_SUBMIT_SUFFIX)):
        return None
    digits = path[len(_SUBMIT_PREFIX):-len(_SUBMIT_SUFFIX)]
    if not digits.isascii() or not digits.isdigit() or len(digits) > _MAX_ID_DIGITS:
        return None
    return int(digits)


def _headers(scope: Scope) -> tuple[str | None, bool]:
    """(bearer token or None, whether the body is for us: declared JSON, or no body at all).

    A body without a declared type is left to the framework, which has its own rules for it.
    """
    token, kind, length, chunked = None, None, None, False
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, rest = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and rest.strip():
                token = rest.strip()
        elif name == b"content-type":
            kind = value.decode("latin-1").split(";", 1)[0].strip().lower()
        elif name == b"content-length":
            length = value.strip()
        elif name == b"transfer-encoding":
            chunked = True
    if kind is None:
        return token, not chunked and length in (None, b"0")
    return token, kind == "application/json" or kind.endswith("+json")


async def _body(receive: Receive) -> bytes | None:
    """The whole request body; None when the client went away first (there is nobody to answer)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


class _BadBody(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors


def _parse(model: type[BaseModel], raw: bytes, *, required: bool) -> Any:
    """The body as ``model``, failing like FastAPI's own body parsing (same error types and places)."""
    if not raw:
        if required:
            raise _BadBody([{"type": "missing", "loc": ("body",), "msg": "Field required"}])
        return None
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        pos = exc.pos if isinstance(exc, json.JSONDecodeError) else exc.start
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise _BadBody([{"type": "json_invalid", "loc": ("body", pos), "msg": "JSON decode error",
                         "ctx": {"error": why}}]) from None
    try:
        return model.model_validate(data, from_attributes=True)  # as FastAPI validates a body (same errors)
    except ValidationError as exc:
        raise _BadBody([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


class HotPath:
    """ASGI middleware answering the hot work requests of bearer tokens (see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._threads: ThreadPoolExecutor | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        path: str = scope["path"]
        lease_id = None if path == _LEASES else _lease_id(path)
        if lease_id is None and path != _LEASES:
            return await self.app(scope, receive, send)
        token, json_body = _headers(scope)
        if token is None or not json_body:
            return await self.app(scope, receive, send)
        state = scope["app"].state
        state.hot_path_requests += 1  # tests check that this way was taken
        raw = await _body(receive)
        if raw is None:
            return None
        response = await self._answer(state, token, lease_id, raw, scope)
        await response(scope, receive, send)
        return None

    async def _answer(self, state: Any, token: str, lease_id: int | None, raw: bytes, scope: Scope) -> JSONResponse:
        path: str = scope["path"]
        key = token_hash(token)
        cached: Actor | None = state.token_cache.get(key)

        def caller() -> Actor:  # in the worker thread: a token not in the cache costs a read there
            if cached is not None:
                return cached
            actor = accounts.resolve_token(state.db, token)
            state.token_cache.put(key, actor)
            return actor

        try:  # the body first, then the caller: the order FastAPI checks them in
            if lease_id is None:
                body = _parse(work.NextRequest, raw, required=False)
                return JSONResponse(await self._run(state, lambda: work.lease_next(state, caller(), body)), 201)
            sub = _parse(work.SubmitRequest, raw, required=True)
            return JSONResponse(await self._run(state, lambda: work.submit_answer(state.db, caller(), lease_id, sub)))
        except _BadBody as bad:
            return problem_response(422, validation_problem(bad.errors, path, api_locale(Headers(scope=scope))))
        except SeatflowError as exc:
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            return problem_response(exc.status, exc.to_problem(path, api_locale(Headers(scope=scope))), headers)

    def _run(self, state: Any, fn: Callable[[], dict[str, Any]]) -> Awaitable[dict[str, Any]]:
        """Run the (blocking) database work in a thread of our own, as many as the database has connections.

        A plain executor future instead of anyio's thread hand-off (which showed ~19 % of the server's
        CPU in the profile): no capacity limiter, cancellation checkpoint or task-group bookkeeping.
        """
        if self._threads is None:
            self._threads = ThreadPoolExecutor(max_workers=max(1, state.db.gate.size),
                                               thread_name_prefix="seatflow-hot")
        return asyncio.get_running_loop().run_in_executor(self._threads, fn)

