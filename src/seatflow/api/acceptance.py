"""Acceptance inspections of delivered batches, suspicious answers routed to review, the quality report."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from seatflow.domain.clock import utcnow
from seatflow.services import acceptance, quality_report
from seatflow.services._tx import transact

from .deps import CurrentActor, Db

router = APIRouter(prefix="/api/v1", tags=["quality"])

BatchId = Annotated[int, Path(ge=1, le=2**62, description="The batch's id")]
InspectionId = Annotated[int, Path(ge=1, le=2**62, description="The inspection's id")]
ItemId = Annotated[int, Path(ge=1, le=2**62, description="A sampled item's id")]
ProjectRef = Annotated[str, Path(max_length=64, description="The project's id or slug")]


class InspectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    aql: float = Field(default=1.0, description="Acceptable quality level, one of ISO 2859-1's (0.010 ... 1000)")
    level: str = Field(default="II", max_length=8, description="General inspection level: I, II or III")
    seed: str | None = Field(default=None, max_length=100, description="Seed of the sample (default: per inspection)")
    on_reject: str = Field(default="defective", max_length=16,
                           description="What goes back to rework on rejection: defective (sampled) items, or the lot")


class VerdictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verdict: str = Field(max_length=16, description="ok or defective")
    error_tags: list[str] | None = Field(default=None, description="What is wrong (defective items)")
    comment: str | None = Field(default=None, max_length=5000)


class SuspiciousIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    batch: int | None = Field(default=None, ge=1, le=2**62, description="Only this batch's items")
    threshold: float = Field(default=0.2, description="Flag an answer whose label has a lower probability")
    min_confidence: float = Field(default=0.5, description="...when the aggregate is at least this sure")
    method: str = Field(default="majority", max_length=32, description="majority or dawid_skene")
    route: bool = Field(default=True, description="Create a review task for each flagged answer")


@router.post("/batches/{batch_id}/inspections", status_code=201,
             summary="Start the acceptance inspection of a delivered batch (ISO 2859-1 sample drawn)")
def start_inspection(batch_id: BatchId, actor: CurrentActor, db: Db, body: InspectionIn | None = None) -> Any:
    b = body or InspectionIn()
    return transact(db, lambda c: acceptance.start(c, actor, batch_id, aql=b.aql, level=b.level, seed=b.seed,
                                                   on_reject=b.on_reject, now=utcnow()))


@router.get("/batches/{batch_id}/inspections", summary="A batch's acceptance inspections")
def batch_inspections(batch_id: BatchId, actor: CurrentActor, db: Db) -> dict[str, Any]:
    with db.read() as conn:
        return {"inspections": acceptance.list_for_batch(conn, actor, batch_id)}


@router.get("/inspections/{inspection_id}", summary="An inspection: its plan, sample and verdicts")
def get_inspection(inspection_id: InspectionId, actor: CurrentActor, db: Db) -> dict[str, Any]:
    with db.read() as conn:
        return acceptance.get(conn, actor, inspection_id)


@router.post("/inspections/{inspection_id}/items/{item_id}",
             summary="Judge a sampled item ok or defective; the last verdict accepts or rejects the batch")
def judge_item(inspection_id: InspectionId, item_id: ItemId, actor: CurrentActor, db: Db,
               body: VerdictIn) -> dict[str, Any]:
    return transact(db, lambda c: acceptance.judge(c, actor, inspection_id, item_id, verdict=body.verdict,
                                                   error_tags=body.error_tags, comment=body.comment, now=utcnow()))


@router.post("/projects/{project}/suspicious",
             summary="Flag answers that disagree with the aggregate or a model, and route them to review")
def suspicious(project: ProjectRef, actor: CurrentActor, db: Db, body: SuspiciousIn | None = None) -> dict[str, Any]:
    b = body or SuspiciousIn()
    return transact(db, lambda c: acceptance.flag_suspicious(
        c, actor, project, batch_id=b.batch, threshold=b.threshold, min_confidence=b.min_confidence,
        method=b.method, route=b.route, now=utcnow()))


@router.get("/quality/report", summary="The quality report of a project or batch (JSON or CSV)")
def report(
    actor: CurrentActor, db: Db,
    project: Annotated[str, Query(max_length=64, description="The project's id or slug")],
    batch: Annotated[int | None, Query(ge=1, le=2**62, description="One batch of the project")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",  # noqa: A002
) -> Response:
    with db.read() as conn:
        rep = quality_report.report(conn, actor, project, batch)
    if format == "csv":
        name = f"quality-{rep['project']['slug']}" + (f"-batch-{batch}" if batch else "") + ".csv"
        return Response(quality_report.as_csv(rep), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return JSONResponse(rep)
