"""The delivery log as pages: the center's staff see every client's webhook events, a client its own.

The pages read and replay through ``services.deliveries`` like the API; they only choose what to show.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from seatflow.api.deps import actor_from_request
from seatflow.domain.actors import Role
from seatflow.errors import Conflict, Forbidden, NotFound, ValidationFailed
from seatflow.services import deliveries
from seatflow.services._tx import transact
from seatflow.store.engine import Database

from .pages import error_page, login_url
from .render import N_, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
STATE_NAMES = {
    "pending": N_("Waiting"),
    "delivering": N_("Sending"),
    "delivered": N_("Delivered"),
    "dead": N_("Failed for good"),
    "held": N_("Held: no webhook set"),
}


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def _int(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() and len(value) < 10 else default


@router.get("/deliveries", response_class=HTMLResponse)
def delivery_log(request: Request) -> Response:
    actor = actor_from_request(request)
    if actor is None:
        return RedirectResponse(login_url(_here(request)), status_code=303)
    if actor.role is Role.WORKER:
        return error_page(request, actor, 403, N_("Not available"),
                          N_("The delivery log is for the center's staff and its clients."))
    q = request.query_params
    state = q.get("state") or None
    topic = (q.get("topic") or "").strip() or None
    offset = _int(q.get("offset"), 0)
    try:
        with _db(request).read() as conn:
            rows, total = deliveries.list_deliveries(conn, actor, state=state, topic=topic, offset=offset,
                                                     limit=PAGE_SIZE)
    except ValidationFailed:
        return error_page(request, actor, 422, N_("Unknown filter"),
                          N_("Choose a state from the list, and a topic of at most 64 characters."))
    filters = {k: v for k, v in (("state", state), ("topic", topic)) if v}

    def page_link(at: int) -> str:
        return "/deliveries?" + urlencode({**filters, "offset": at})

    return render(request, "deliveries.html", {
        "rows": rows, "total": total, "offset": offset, "page_size": PAGE_SIZE, "state": state or "",
        "topic": topic or "", "states": STATE_NAMES,
        "prev_link": page_link(max(0, offset - PAGE_SIZE)) if offset > 0 else None,
        "next_link": page_link(offset + PAGE_SIZE) if offset + len(rows) < total else None,
    }, actor=actor)


@router.get("/deliveries/{event_id}", response_class=HTMLResponse)
def delivery_page(request: Request, event_id: str) -> Response:
    actor = actor_from_request(request)
    if actor is None:
        return RedirectResponse(login_url(_here(request)), status_code=303)
    try:
        if not event_id.isdigit() or len(event_id) > 18:
            raise NotFound("no such delivery")
        with _db(request).read() as conn:
            event = deliveries.get_delivery(conn, actor, int(event_id))
    except (NotFound, Forbidden):
        return error_page(request, actor, 404, N_("Delivery not found"),
                          N_("This delivery does not exist or is not open to you."))
    return render(request, "delivery.html", {
        "e": event, "states": STATE_NAMES,
        "payload": json.dumps(event["payload"], indent=2, ensure_ascii=False, sort_keys=True),
        "may_replay": actor.role in (Role.ADMIN, Role.MANAGER, Role.CLIENT)
        and event["state"] in ("delivered", "dead", "held"),
        "replayed": request.query_params.get("replayed") == "1",
    }, actor=actor)


@router.post("/deliveries/{event_id}/replay")
def replay_form(request: Request, event_id: str) -> Response:
    actor = actor_from_request(request)
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    try:
        if not event_id.isdigit() or len(event_id) > 18:
            raise NotFound("no such delivery")
        transact(_db(request), lambda c: deliveries.replay(c, actor, int(event_id)))
    except NotFound:
        return error_page(request, actor, 404, N_("Delivery not found"),
                          N_("This delivery does not exist or is not open to you."))
    except Forbidden:
        return error_page(request, actor, 403, N_("Not allowed"),
                          N_("Only managers and the client may send a delivery again."))
    except Conflict:
        return error_page(request, actor, 409, N_("Already on its way"),
                          N_("This delivery is waiting or being sent; only delivered or failed ones are sent again."))
    return RedirectResponse(f"/deliveries/{int(event_id)}?replayed=1", status_code=303)
