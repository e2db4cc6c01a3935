"""One error shape for the whole API: application/problem+json (RFC 9457)."""

from __future__ import annotations

from collections.abc import Sequence
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


_FRIENDLY = {
    "extra_forbidden": "unknown field; remove it (the fields are listed at /docs)",
    "missing": "this field is required",
}


def _describe(err: Any) -> tuple[str, str]:
    """(field, message) of one request validation error, in words a person can act on."""
    loc = tuple(err.get("loc", ()))
    kind = err.get("type", "")
    if kind == "json_invalid":
        why = (err.get("ctx") or {}).get("error") or err.get("msg") or "JSON decode error"
        at = f" at character {loc[-1]}" if len(loc) > 1 and isinstance(loc[-1], int) else ""
        return "body", f"the request body is not valid JSON ({why}{at}); send a JSON object"
    if loc == ("body",):
        if kind == "missing":
            return "body", "the request body is missing; send a JSON object (Content-Type: application/json)"
        return "body", f"the request body must be a JSON object ({err.get('msg')})"
    return _loc(loc), _FRIENDLY.get(kind) or str(err.get("msg") or "invalid value")


def validation_problem(errors: Sequence[Any], instance: str) -> dict[str, Any]:
    """The 422 problem of a request whose parameters or body failed validation (pydantic's errors)."""
    described = [_describe(e) for e in list(errors)[:20]] or [("request", "invalid request")]
    field, message = described[0]
    return {
        "type": "https://seatflow.dev/problems/validation-failed",
        "title": "The input is not valid",
        "status": 422,
        "detail": f"{field}: {message}",
        "field": field,
        "instance": instance,
        "errors": [{"field": f, "message": m} for f, m in described],
    }


def install(app: FastAPI) -> None:
    @app.exception_handler(SeatflowError)
    async def _seatflow_error(request: Request, exc: SeatflowError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem_response(exc.status, exc.to_problem(request.url.path), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(422, validation_problem(exc.errors(), request.url.path))

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
