"""Typed errors that carry their HTTP status; rendered as one problem+json shape by the API."""

from __future__ import annotations

from typing import Any

from seatflow.i18n.message import N_, localize


class SeatflowError(Exception):
    """Base error. ``status`` is the HTTP status, ``code`` a stable machine-readable slug."""

    status: int = 400
    code: str = "bad-request"
    title: str = N_("Bad request")

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra

    def to_problem(self, instance: str | None = None, locale: str = "en") -> dict[str, Any]:
        """The problem+json body; ``title`` and ``detail`` in ``locale`` (see seatflow.i18n.message)."""
        body: dict[str, Any] = {
            "type": f"https://seatflow.dev/problems/{self.code}",
            "title": localize(self.title, locale),
            "status": self.status,
            "detail": localize(self.detail, locale),
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
    title = N_("The input is not valid")


class NotAuthenticated(SeatflowError):
    status = 401
    code = "not-authenticated"
    title = N_("Authentication required")


class Forbidden(SeatflowError):
    status = 403
    code = "forbidden"
    title = N_("Not allowed")


class NotFound(SeatflowError):
    status = 404
    code = "not-found"
    title = N_("Not found")


class Conflict(SeatflowError):
    status = 409
    code = "conflict"
    title = N_("Conflict with the current state")


class LeaseExpired(SeatflowError):
    status = 410
    code = "lease-expired"
    title = N_("The lease has expired")


class NoWork(SeatflowError):
    status = 404
    code = "no-work"
    title = N_("No task is available")


class Busy(SeatflowError):
    status = 503
    code = "busy"
    title = N_("The server is busy; try again")


class ImportFailed(SeatflowError):
    status = 422
    code = "import-failed"
    title = N_("The import stopped at a bad record")
