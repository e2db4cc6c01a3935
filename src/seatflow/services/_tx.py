"""Transaction boundary helpers for callers (API routes, CLI commands, jobs)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from seatflow.store.engine import Database

T = TypeVar("T")


class Retry(Exception):
    """Raised inside a transaction that lost a race and is safe to run again."""


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, Retry):
        return True
    if isinstance(exc, IntegrityError):
        return False
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True  # the server dropped the connection (restart, idle timeout): nothing was committed
    if isinstance(exc, OperationalError | DBAPIError):
        code = getattr(getattr(exc, "orig", None), "sqlstate", None)
        if code in ("40001", "40P01"):  # serialization failure, deadlock
            return True
        return "database is locked" in str(exc)
    return False


def transact(db: Database, fn: Callable[[Connection], T], *, write: bool = True, attempts: int = 5) -> T:
    """Run ``fn`` in one transaction, again (up to ``attempts``) when it lost a race."""
    for attempt in range(attempts):
        try:
            with db.write() if write else db.read() as conn:
                return fn(conn)
        except Exception as exc:
            if attempt + 1 >= attempts or not _retryable(exc):
                raise
            time.sleep(0.002 * (2**attempt))
    raise AssertionError("unreachable")
