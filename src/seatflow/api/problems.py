"""One error shape for the whole API: application/problem+json (RFC 9457)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import cookie_parser

from seatflow.errors import SeatflowError, ValidationFailed
from seatflow.i18n import LANG_COOKIE, LOCALES, accepted_locale
from seatflow.i18n.message import Msg, localize
from seatflow.i18n.pydantic_errors import describe

PROBLEM = "application/problem+json"


def problem_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def api_locale(headers: Mapping[str, str]) -> str:
    """The language of the API's messages: the language a person chose on the pages (its cookie), else
    the request's Accept-Language, else English (machines that ask for nothing get English)."""
    chosen = cookie_parser(headers.get("cookie", "")).get(LANG_COOKIE)
    if chosen in LOCALES:
        return str(chosen)
    return accepted_locale(headers.get("accept-language", "")) or "en"


def _loc(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "request"


_FRIENDLY = {
    "extra_forbidden": Msg("unknown field; remove it (the fields are listed at /docs)"),
}


def _describe(err: Any) -> tuple[str, str]:
    """(field, message) of one request validation error, in words a person can act on."""
    loc = tuple(err.get("loc", ()))
    kind = err.get("type", "")
    if kind == "json_invalid":
        why = (err.get("ctx") or {}).get("error") or err.get("msg") or "JSON decode error"
        at = Msg(" at character {n}", n=loc[-1]) if len(loc) > 1 and isinstance(loc[-1], int) else ""
        return "body", Msg("the request body is not valid JSON ({why}{at}); send a JSON object", why=why, at=at)
    if loc == ("body",):
        if kind == "missing":
            return "body", Msg("the request body is missing; send a JSON object (Content-Type: application/json)")
        return "body", Msg("the request body must be a JSON object ({why})", why=err.get("msg"))
    return _loc(loc), _FRIENDLY.get(kind) or describe(err)


def validation_problem(errors: Sequence[Any], instance: str, locale: str = "en") -> dict[str, Any]:
    """The 422 problem of a request whose parameters or body failed validation (pydantic's errors, said in
    the catalog's words by seatflow.i18n.pydantic_errors)."""
    described = [_describe(e) for e in list(errors)[:20]] or [("request", Msg("invalid request"))]
    field, message = described[0]
    return {
        "type": "https://seatflow.dev/problems/validation-failed",
        "title": localize(ValidationFailed.title, locale),
        "status": 422,
        "detail": localize(Msg("{field}: {message}", field=field, message=message), locale),
        "field": field,
        "instance": instance,
        "errors": [{"field": f, "message": localize(m, locale)} for f, m in described],
    }


def install(app: FastAPI) -> None:
    @app.exception_handler(SeatflowError)
    async def _seatflow_error(request: Request, exc: SeatflowError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem_response(exc.status, exc.to_problem(request.url.path, api_locale(request.headers)), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(422, validation_problem(exc.errors(), request.url.path, api_locale(request.headers)))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else Msg("request failed")
        if exc.status_code == 404 and detail == "Not Found":
            detail = Msg("no such endpoint: {method} {path}; see /docs", method=request.method, path=request.url.path)
        if exc.status_code == 405:
            detail = Msg("{method} is not allowed on {path}; see /docs", method=request.method, path=request.url.path)
        locale = api_locale(request.headers)
        detail = localize(detail, locale)
        return problem_response(
            exc.status_code,
            {
                "type": f"https://seatflow.dev/problems/http-{exc.status_code}",
                "title": detail if exc.status_code >= 500 else localize(Msg("Request failed"), locale),
                "status": exc.status_code,
                "detail": detail,
                "instance": request.url.path,
            },
        )
