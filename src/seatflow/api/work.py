"""The worker's loop: take the next task (a lease), heartbeat, release, submit, review.

These are the hottest routes, so they answer with a ready JSON response (serialized in the worker
thread that ran the endpoint). A ``dict`` return would have FastAPI validate it against the return
type in a second thread-pool hand-off and encode it again on the event loop: about as much CPU as
the framework spent on the rest of the request.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from seatflow.domain.actors import Actor
from seatflow.services import answers, dispatch, items
from seatflow.services._tx import transact
from seatflow.store.engine import Database

from .deps import CurrentActor, Db

router = APIRouter(prefix="/api/v1", tags=["work"])


class NextRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    project_id: int | None = Field(default=None, description="Only this project (default: any you may work on)")
    request_key: str | None = Field(
        default=None, min_length=1, max_length=128,
        description="Client-chosen, new for each new task wanted; a retry of this request reuses it and gets the "
        "same lease back while it is live (409 once it has ended) instead of a second one")


class LeaseIds(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lease_ids: list[int] = Field(default_factory=list, max_length=100)


class SubmitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: Any = Field(description="The answer, in the shape of the project's work type")
    idempotency_key: str = Field(min_length=1, max_length=128, description="Client-chosen; a retry reuses it")
    duration_ms: int | None = Field(default=None, ge=0, le=86_400_000)


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verdict: str = Field(description="accept or reject")
    idempotency_key: str = Field(min_length=1, max_length=128)
    error_tags: list[str] = Field(default_factory=list, max_length=50)
    comment: str | None = Field(default=None, max_length=5000)
    fixed_answer: Any = None


def _lease_seconds(request: Request) -> int:
    return int(request.app.state.settings.lease_seconds)


def _json(content: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse(content, status_code=status_code)


def lease_next(app_state: Any, actor: Actor, body: NextRequest | None) -> dict[str, Any]:
    """POST /leases, once the caller and the body are known (the route below and api/hot_path.py)."""
    store = app_state.media  # local folder (signed /media links) or S3 (presigned URLs)
    project_id = body.project_id if body else None
    request_key = body.request_key if body else None
    seconds = int(app_state.settings.lease_seconds)

    def run(conn: Any) -> dict[str, Any]:
        leased = dispatch.next_task(conn, actor, project_id=project_id, lease_seconds=seconds,
                                    request_key=request_key)
        return items.describe_lease(conn, leased, lambda ref: store.url_for(ref, actor.id))

    app_state.reaper.maybe_run()
    return transact(app_state.db, run)


def submit_answer(db: Database, actor: Actor, lease_id: int, body: SubmitRequest) -> dict[str, Any]:
    """POST /leases/{id}/submit, once the caller and the body are known (shared like lease_next)."""
    out = transact(db, lambda c: answers.submit(
        c, actor, lease_id=lease_id, answer=body.answer, idempotency_key=body.idempotency_key,
        duration_ms=body.duration_ms))
    return {"submission_id": out.id, "item_id": out.item_id, "next_step": out.next_step, "replayed": out.replayed}


@router.post("/leases", summary="Take the next task", status_code=201)
def take_next(request: Request, actor: CurrentActor, body: NextRequest | None = None) -> JSONResponse:
    """Lease the best next task for you; the lease expires unless renewed by heartbeat."""
    return _json(lease_next(request.app.state, actor, body), 201)


@router.post("/leases/heartbeat", summary="Renew leases")
def heartbeat(request: Request, actor: CurrentActor, db: Db, body: LeaseIds) -> JSONResponse:
    held = transact(db, lambda c: dispatch.renew(c, actor, body.lease_ids, lease_seconds=_lease_seconds(request)))
    return _json({"renewed": held, "lost": sorted(set(body.lease_ids) - set(held))})


@router.post("/leases/release", summary="Give leases back")
def release(actor: CurrentActor, db: Db, body: LeaseIds | None = None) -> JSONResponse:
    """Release the given leases (or all of yours when none are given) back to the queue."""
    ids = body.lease_ids if body and body.lease_ids else None
    return _json({"released": transact(db, lambda c: dispatch.release(c, actor, ids))})


@router.post("/leases/{lease_id}/submit", summary="Submit an answer")
def submit(lease_id: int, actor: CurrentActor, db: Db, body: SubmitRequest) -> JSONResponse:
    return _json(submit_answer(db, actor, lease_id, body))


@router.post("/leases/{lease_id}/review", summary="Review an answer")
def review(lease_id: int, actor: CurrentActor, db: Db, body: ReviewRequest) -> JSONResponse:
    out = transact(db, lambda c: answers.review(
        c, actor, lease_id=lease_id, verdict=body.verdict, idempotency_key=body.idempotency_key,
        error_tags=body.error_tags, comment=body.comment, fixed_answer=body.fixed_answer))
    return _json({"review_id": out.id, "item_id": out.item_id, "next_step": out.next_step,
                  "replayed": out.replayed})
