"""Quality control: a worker's gold accuracy and review acceptance, a project's settings, suspensions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from seatflow.domain.clock import utcnow
from seatflow.services import aggregation, quality
from seatflow.services._tx import transact

from .deps import CurrentActor, Db

router = APIRouter(prefix="/api/v1", tags=["quality"])

ProjectRef = Annotated[str, Path(max_length=64, description="The project's id or slug")]
WorkerRef = Annotated[str, Path(max_length=64, description="The worker's id or username")]


class AggregateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: str = Field(default="dawid_skene", max_length=32,
                        description="majority, one_coin (worker accuracies from gold), dawid_skene or glad")


class ReinstateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=2000, description="Why (kept in the event log)")


@router.get("/quality/me", summary="My quality per project: gold accuracy, review acceptance, standing")
def my_quality(actor: CurrentActor, db: Db) -> dict[str, Any]:
    with db.read() as conn:
        return quality.worker_quality(conn, actor, actor.id)


@router.get("/quality/workers/{worker}", summary="A worker's quality per project (the center's staff, or oneself)")
def worker_quality(
    worker: WorkerRef, actor: CurrentActor, db: Db,
    project: Annotated[str | None, Query(max_length=64, description="one project's id or slug")] = None,
) -> dict[str, Any]:
    with db.read() as conn:
        return quality.worker_quality(conn, actor, worker, project)


@router.get("/projects/{project}/quality", summary="A project's quality settings, gold totals and per-worker table")
def project_quality(project: ProjectRef, actor: CurrentActor, db: Db) -> dict[str, Any]:
    """A client user gets only the totals of its own project; the per-worker table is for the center."""
    with db.read() as conn:
        return quality.project_quality(conn, actor, project)


@router.put("/projects/{project}/quality", summary="Set a project's quality settings (null: the defaults)")
def set_project_quality(
    project: ProjectRef, actor: CurrentActor, db: Db,
    body: Annotated[dict[str, Any] | None, Body(description="e.g. {\"gold_rate\": 0.1, \"min_accuracy\": 0.5, "
                                                            "\"qualification_items\": 10}")] = None,
) -> dict[str, Any]:
    return transact(db, lambda c: quality.set_settings(c, actor, project, body))


@router.post("/projects/{project}/workers/{worker}/reinstate",
             summary="Let a suspended worker (or one who failed the test) work on the project again")
def reinstate(project: ProjectRef, worker: WorkerRef, actor: CurrentActor, db: Db,
              body: ReinstateIn | None = None) -> dict[str, Any]:
    note = body.note if body is not None else None
    return transact(db, lambda c: quality.reinstate(c, actor, project, worker, note=note, now=utcnow()))


@router.get("/quality/notices", summary="Suspensions and failed tests the team leads are told about")
def notices(
    actor: CurrentActor, db: Db,
    all_: Annotated[bool, Query(alias="all", description="also the acknowledged ones")] = False,
) -> dict[str, Any]:
    with db.read() as conn:
        return {"notices": quality.notices(conn, actor, open_only=not all_)}


@router.post("/quality/notices/{notice_id}/acknowledge", summary="Mark a notice as seen")
def acknowledge(notice_id: Annotated[int, Path(ge=1, le=2**62)], actor: CurrentActor, db: Db) -> dict[str, Any]:
    return transact(db, lambda c: quality.acknowledge(c, actor, notice_id, now=utcnow()))


@router.post("/projects/{project}/aggregate",
             summary="Aggregate every item of a project again (all answers at once) and store the result")
def aggregate_project(project: ProjectRef, actor: CurrentActor, db: Db,
                      body: AggregateIn | None = None) -> dict[str, Any]:
    method = body.method if body is not None else "dawid_skene"
    return transact(db, lambda c: aggregation.aggregate_project(c, actor, project, method))
