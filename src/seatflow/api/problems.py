"""One error shape for the whole API: application/problem+json (RFC 9457)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from seatflow.errors import SeatflowError

PROBLEM = "application/problem+json"


def problem_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _loc(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "request"


def install(app: FastAPI) -> None:
    @app.exception_handler(SeatflowError)
    async def _seatflow_error(request: Request, exc: SeatflowError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem_response(exc.status, exc.to_problem(request.url.path), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field = _loc(first.get("loc", ()))
        return problem_response(
            422,
            {
                "type": "https://seatflow.dev/problems/validation-failed",
                "title": "The input is not valid",
                "status": 422,
                "detail": f"{field}: {first.get('msg')}",
                "field": field,
                "instance": request.url.path,
                "errors": [{"field": _loc(e.get("loc", ())), "message": e.get("msg")} for e in errors[:20]],
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such endpoint: {request.method} {request.url.path}; see /docs"
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}; see /docs"
        return problem_response(
            exc.status_code,
            {
                "type": f"https://seatflow.dev/problems/http-{exc.status_code}",
                "title": detail if exc.status_code >= 500 else "Request failed",
                "status": exc.status_code,
                "detail": detail,
                "instance": request.url.path,
            },
        )
