"""The delivery log (webhook events and their attempts), manual replay, and a client's webhook."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from seatflow.services import deliveries
from seatflow.services._tx import transact

from .deps import CurrentActor, Db, Paging

router = APIRouter(prefix="/api/v1", tags=["deliveries"])

EventId = Annotated[int, Path(ge=1, le=2**62, description="The event's id (Seatflow-Event-Id)")]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(description="Where events are POSTed (http or https); null or \"\" turns webhooks off")
    rotate_secret: bool = Field(default=False, description="Make a new signing secret and return it (shown once)")


@router.get("/deliveries", summary="The delivery log: webhook events, newest first")
def list_deliveries(
    request: Request,
    actor: CurrentActor,
    db: Db,
    paging: Paging,
    state: Annotated[str | None, Query(description="pending, delivering, delivered, dead or held")] = None,
    topic: Annotated[str | None, Query(description="e.g. item.accepted")] = None,
    client: Annotated[str | None, Query(description="a client's slug (staff)")] = None,
) -> dict[str, Any]:
    """A client sees its own events; the center's staff see every client's."""
    with db.read() as conn:
        rows, total = deliveries.list_deliveries(conn, actor, state=state, topic=topic, client=client,
                                                 offset=paging.offset, limit=paging.limit)
    return paging.envelope(request, rows, total)


@router.get("/deliveries/{event_id}", summary="One event with its payload and every delivery attempt")
def get_delivery(event_id: EventId, actor: CurrentActor, db: Db) -> dict[str, Any]:
    with db.read() as conn:
        return deliveries.get_delivery(conn, actor, event_id)


@router.post("/deliveries/{event_id}/replay", summary="Send a delivered, dead or held event again (same key)")
def replay(event_id: EventId, actor: CurrentActor, db: Db) -> dict[str, Any]:
    return transact(db, lambda c: deliveries.replay(c, actor, event_id))


@router.put("/clients/{slug}/webhook", summary="Set a client's webhook URL; optionally rotate its signing secret")
def set_webhook(slug: str, actor: CurrentActor, db: Db, body: WebhookIn) -> dict[str, Any]:
    """The secret is in the answer only when it was rotated (or made for the first time); keep it."""
    return transact(db, lambda c: deliveries.set_webhook(c, actor, slug, url=body.url,
                                                         rotate_secret=body.rotate_secret))
