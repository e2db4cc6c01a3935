"""Attendance (check in at a seat, breaks, check out) and the live floor (snapshot, event stream, move).

The stream (``GET /api/v1/floor/stream``) is server-sent events: every ``POLL_SECONDS`` it reads a
snapshot in its own short read transaction (the connection goes back to the pool between polls; the
pool is small and shared fairly, see store/gate.py) and sends it when it differs from the last one
sent; a comment line keeps idle connections open. It ends when the client goes away, when the user
loses access, or after ``?events=N`` snapshots (for scripts and tests).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from seatflow.domain.actors import Actor
from seatflow.errors import SeatflowError
from seatflow.i18n.message import Msg, localize
from seatflow.services import accounts, floor
from seatflow.services import attendance as att
from seatflow.services._tx import transact
from seatflow.store.engine import Database

from .deps import CurrentActor, Db
from .problems import api_locale

router = APIRouter(prefix="/api/v1", tags=["floor"])

POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
RETRY_MS = 2000

Hours = Annotated[float, Query(description="the window of the figures, in hours back from now (at most 168)")]
ShiftHours = Annotated[float, Query(description="the shift length utilisation is measured against")]


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seat: Any = Field(description="the seat number or code on the desk, e.g. 'A-12'")


class Move(BaseModel):
    model_config = ConfigDict(extra="forbid")
    project: Any = Field(description="the project's id or slug")
    grant: bool = Field(default=False, description="qualify the worker (annotate) when they are not yet")


@router.post("/attendance/check-in", summary="Check in at a seat", status_code=201)
def check_in(actor: CurrentActor, db: Db, body: CheckIn) -> dict[str, Any]:
    return transact(db, lambda c: att.check_in(c, actor, body.seat))


@router.post("/attendance/break/start", summary="Start a break")
def break_start(actor: CurrentActor, db: Db) -> dict[str, Any]:
    return transact(db, lambda c: att.start_break(c, actor))


@router.post("/attendance/break/end", summary="End the break")
def break_end(actor: CurrentActor, db: Db) -> dict[str, Any]:
    return transact(db, lambda c: att.end_break(c, actor))


@router.post("/attendance/check-out", summary="Check out (ends a break still open)")
def check_out(actor: CurrentActor, db: Db) -> dict[str, Any]:
    return transact(db, lambda c: att.check_out(c, actor))


@router.get("/attendance/me", summary="My seat, break, assigned project, occupancy and utilisation")
def my_attendance(actor: CurrentActor, db: Db, hours: Hours = att.DEFAULT_WINDOW_HOURS,
                  shift_hours: ShiftHours = att.DEFAULT_SHIFT_HOURS) -> dict[str, Any]:
    att.check_window(hours, shift_hours)
    with db.read() as conn:
        return att.state(conn, actor, hours=hours, shift_hours=shift_hours)


@router.get("/attendance/team", summary="My team's attendance (leads: their team; managers: everyone)")
def team_attendance(actor: CurrentActor, db: Db, hours: Hours = att.DEFAULT_WINDOW_HOURS,
                    shift_hours: ShiftHours = att.DEFAULT_SHIFT_HOURS) -> dict[str, Any]:
    att.check_window(hours, shift_hours)
    with db.read() as conn:
        return {"items": att.team(conn, actor, hours=hours, shift_hours=shift_hours)}


@router.get("/floor", summary="The floor now: a tile per worker and the projects' outlook")
def floor_now(actor: CurrentActor, db: Db) -> dict[str, Any]:
    floor.require_staff(actor)
    with db.read() as conn:
        return floor.snapshot(conn, actor)


@router.get("/floor/projects", summary="Projects I may move workers to")
def floor_projects(actor: CurrentActor, db: Db) -> dict[str, Any]:
    with db.read() as conn:
        return {"items": floor.movable_projects(conn, actor)}


@router.post("/floor/workers/{username}/move", summary="Move a worker to a project (assign; optionally qualify)")
def move_worker(actor: CurrentActor, db: Db, username: str, body: Move) -> dict[str, Any]:
    return transact(db, lambda c: floor.move(c, actor, username, body.project, grant=body.grant))


def _poll(db: Database, actor: Actor) -> dict[str, Any] | None:
    """One snapshot in one short read; None when the user may no longer see the floor."""
    with db.read() as conn:
        now_actor = accounts.actor_by_id(conn, actor.id)
        if now_actor is None or now_actor.role != actor.role or now_actor.team_id != actor.team_id:
            return None
        return floor.snapshot(conn, now_actor)


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


class StreamCount:
    """How many floor streams are open (app.state.floor_streams): proves that a stream ends."""

    def __init__(self) -> None:
        self.open = 0


def _streams(request: Request) -> StreamCount:
    counter = getattr(request.app.state, "floor_streams", None)
    if counter is None:
        counter = request.app.state.floor_streams = StreamCount()
    return counter


@router.get("/floor/stream", summary="The floor as server-sent events (text/event-stream): `snapshot` on change")
async def floor_stream(
    request: Request, actor: CurrentActor, db: Db,
    events: Annotated[int | None, Query(ge=1, le=10000, description="end after this many snapshots")] = None,
) -> StreamingResponse:
    floor.require_staff(actor)  # refused before the stream starts: a plain 403 problem
    counter = _streams(request)
    locale = api_locale(request.headers)  # the events' messages, in the language of the API's problems

    async def stream() -> AsyncIterator[str]:
        counter.open += 1
        last: str | None = None
        sent = 0
        quiet = 0.0
        try:
            yield f"retry: {RETRY_MS}\n\n"
            while not await request.is_disconnected():
                try:
                    snap = await run_in_threadpool(_poll, db, actor)
                except SeatflowError as exc:  # busy database: tell the page, try again next time
                    yield _event("problem", {"detail": localize(exc.detail, locale)})
                    snap = {}
                if snap is None:
                    yield _event("gone", {"detail": localize(Msg("you may no longer see the floor"), locale)})
                    return
                if snap:
                    body = json.dumps({k: v for k, v in snap.items() if k != "at"}, sort_keys=True)
                    if body != last:
                        last = body
                        sent += 1
                        quiet = 0.0
                        yield _event("snapshot", snap)
                        if events is not None and sent >= events:
                            return
                    elif quiet >= KEEPALIVE_SECONDS:
                        quiet = 0.0
                        yield ": keep-alive\n\n"
                await asyncio.sleep(POLL_SECONDS)
                quiet += POLL_SECONDS
        finally:
            counter.open -= 1

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
