"""Typed errors that carry their HTTP status; rendered as one problem+json shape by the API."""

from __future__ import annotations

from typing import Any


class SeatflowError(Exception):
    """Base error. ``status`` is the HTTP status, ``code`` a stable machine-readable slug."""

    status: int = 400
    code: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://seatflow.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


class ValidationFailed(SeatflowError):
    status = 422
    code = "validation-failed"
    title = "The input is not valid"


class NotAuthenticated(SeatflowError):
    status = 401
    code = "not-authenticated"
    title = "Authentication required"


class Forbidden(SeatflowError):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class NotFound(SeatflowError):
    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(SeatflowError):
    status = 409
    code = "conflict"
    title = "Conflict with the current state"


class LeaseExpired(SeatflowError):
    status = 410
    code = "lease-expired"
    title = "The lease has expired"


class NoWork(SeatflowError):
    status = 404
    code = "no-work"
    title = "No task is available"


class Busy(SeatflowError):
    status = 503
    code = "busy"
    title = "The server is busy; try again"


class ImportFailed(SeatflowError):
    status = 422
    code = "import-failed"
    title = "The import stopped at a bad record"
