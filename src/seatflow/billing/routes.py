"""Billing over HTTP: the statement as JSON, CSV or PDF (API) and the /billing page.

Managers and admins see every client's statements; a client user sees its own (another client's
slug is 404); leads and workers are refused (403).
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Annotated, Literal

from babel.numbers import format_decimal
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from seatflow.api.deps import CurrentActor, Db, actor_from_request
from seatflow.domain.actors import Role
from seatflow.domain.clock import center_zone
from seatflow.errors import Forbidden, NotFound, SeatflowError
from seatflow.store.catalog import list_clients
from seatflow.web.pages import error_page, login_url
from seatflow.web.render import BABEL_LOCALE, N_, pick_locale, render

from . import service
from .documents import statement_pdf
from .service import Month, Statement

router = APIRouter(prefix="/api/v1/billing", tags=["billing"])
pages = APIRouter(include_in_schema=False)


def _currency(request: Request) -> str:
    return str(getattr(request.app.state.settings, "billing_currency", "CNY"))


def _zone(request: Request) -> tzinfo:
    """The center's time zone (SEATFLOW_TIMEZONE): statements cover its calendar months."""
    return center_zone(request.app.state.settings)


def statement_response(request: Request, st: Statement, format: str) -> Response:
    name = f"statement-{st.client}-{st.month.label}"
    if format == "csv":
        return Response(service.statement_csv(st), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if format == "pdf":
        actor = actor_from_request(request)
        body = statement_pdf(st, pick_locale(request, actor))
        return Response(body, media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})
    return JSONResponse(st.as_dict())


@router.get("/statements/{client}/{month}", summary="A client's monthly statement (JSON, CSV or PDF)")
def get_statement(client: str, month: str, request: Request, actor: CurrentActor, db: Db,
                  format: Annotated[Literal["json", "csv", "pdf"], Query(description="json, csv or pdf")] = "json",
                  ) -> Response:
    with db.read() as conn:
        st = service.statement(conn, actor, client, month, currency=_currency(request), tz=_zone(request))
    return statement_response(request, st, format)


@router.get("/statements/{client}/{month}/items", summary="The delivered items behind a statement")
def get_statement_items(client: str, month: str, request: Request, actor: CurrentActor,
                        db: Db) -> dict[str, object]:
    with db.read() as conn:
        rows = service.delivered_items(conn, actor, client, month, tz=_zone(request))
    return {"client": client, "month": month, "items": rows, "count": len(rows)}


@pages.get("/billing", response_class=HTMLResponse)
def billing_page(request: Request, client: str | None = None, month: str | None = None) -> Response:
    actor = actor_from_request(request)
    if actor is None:
        return RedirectResponse(login_url("/billing"), status_code=303)
    if actor.role not in (Role.ADMIN, Role.MANAGER, Role.CLIENT):
        return error_page(request, actor, 403, N_("Not available"),
                          N_("Billing statements are for managers and for each client's own users."))
    db = request.app.state.db
    try:
        tz = _zone(request)
        period = service.parse_month(month, tz=tz) if month else Month.current(tz)
        with db.read() as conn:
            if actor.role is Role.CLIENT:
                clients = []
                chosen = client  # None: its own; another client's slug is 404 in the service
            else:
                clients = list(list_clients(conn, client_id=None, offset=0, limit=1000)[0])
                chosen = client or (clients[0].slug if clients else None)
            st = (service.statement(conn, actor, chosen, period, currency=_currency(request))
                  if (chosen or actor.role is Role.CLIENT) else None)
    except NotFound:
        return error_page(request, actor, 404, N_("Client not found"),
                          N_("This client does not exist or its statements are not open to you."))
    except Forbidden:
        return error_page(request, actor, 403, N_("Not available"),
                          N_("Billing statements are for managers and for each client's own users."))
    except SeatflowError:
        return error_page(request, actor, 422, N_("This is not a month"),
                          N_("Write the month as YYYY-MM, for example 2026-11."))
    months = [period.previous(), period, period.next()]
    loc = BABEL_LOCALE[pick_locale(request, actor)]
    return render(request, "billing.html", {
        "statement": st, "clients": clients, "period": period, "months": months,
        "money": lambda n: format_decimal(n, format="#,##0.00", locale=loc, decimal_quantization=True),
    }, actor=actor)
