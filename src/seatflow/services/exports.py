"""Export accepted results, streamed: memory stays flat at any project size."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection

from seatflow.domain.actors import Actor, Role
from seatflow.errors import Forbidden
from seatflow.store import items as repo

from .projects import get_project


def exportable_project(conn: Connection, actor: Actor, project_ref: str | int) -> Any:
    """The project, if ``actor`` may export its results: staff and the project's client, never a worker."""
    if actor.role is Role.WORKER:
        raise Forbidden("workers cannot export results; they see items only through their leases")
    return get_project(conn, actor, project_ref)


def jsonl_lines(conn: Connection, actor: Actor, project_ref: str | int, *, batch_id: int | None = None,
                include_workers: bool | None = None) -> Iterator[str]:
    """One JSON line per done item: external id, payload and its accepted answer(s).

    Worker ids are included for center staff, never for client users.
    """
    project = exportable_project(conn, actor, project_ref)
    show_workers = actor.is_staff if include_workers is None else (include_workers and actor.is_staff)
    for row in repo.stream_done_items(conn, project.id, batch_id):
        results: list[dict[str, Any]] = row.result or []
        answers = [
            {k: v for k, v in r.items() if show_workers or k not in ("worker_id", "submission_id")}
            for r in results
        ]
        yield json.dumps(
            {
                "external_id": row.external_id,
                "item_id": row.id,
                "batch_id": row.batch_id,
                "payload": row.payload,
                "answers": answers,
                "answer": answers[0]["answer"] if len(answers) == 1 else None,
                "done_at": row.done_at.isoformat() if row.done_at else None,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ) + "\n"
