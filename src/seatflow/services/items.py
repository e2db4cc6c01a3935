"""Reading items and describing a lease to the worker who holds it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from seatflow.domain.actors import Actor, Role
from seatflow.errors import Forbidden, NotFound
from seatflow.i18n.message import Msg
from seatflow.store import answers as answers_repo
from seatflow.store import catalog
from seatflow.store import items as repo
from seatflow.store import quality as quality_repo
from seatflow.store.engine import engine_key
from seatflow.store.queue import LeasedTask
from seatflow.worktypes import get_work_type

Signer = Callable[[str], str]


class _ProjectCache:
    """Project rows by id for a few seconds: every lease needs the project's name and work type."""

    ttl = 5.0

    def __init__(self) -> None:
        self._data: dict[tuple[int, int], tuple[float, Any]] = {}

    def get(self, conn: Connection, project_id: int) -> Any:
        key = (engine_key(conn), project_id)
        hit = self._data.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        row = catalog.project_by_id(conn, project_id)
        if row is not None:
            if len(self._data) > 10_000:
                self._data.clear()
            self._data[key] = (time.monotonic() + self.ttl, row)
        return row


project_cache = _ProjectCache()


def _media_urls(work_type: str, payload: dict[str, Any], sign: Signer) -> dict[str, str]:
    wt = get_work_type(work_type)
    try:
        refs = wt.media_of(wt.payload_model.model_validate(payload))
    except Exception:  # noqa: BLE001 - a stored payload was valid when imported
        refs = []
    return {ref: sign(ref) for ref in refs}


HIDDEN_FROM_WORKERS = ("gold",)  # a gold item's known answer: workers must not tell gold items apart


def worker_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as a worker sees it: without the known answer of a gold item."""
    if any(key in payload for key in HIDDEN_FROM_WORKERS):
        return {k: v for k, v in payload.items() if k not in HIDDEN_FROM_WORKERS}
    return payload


def describe_lease(conn: Connection, leased: LeasedTask, sign: Signer) -> dict[str, Any]:
    """What the worker needs to do the task: the item, and the answer under review or rework."""
    item = leased.item if leased.item is not None else repo.item_by_id(conn, leased.item_id)._asdict()
    project = project_cache.get(conn, leased.project_id)
    out: dict[str, Any] = {
        "lease_id": leased.lease_id,
        "task_id": leased.task_id,
        "kind": leased.kind,
        "stage": leased.stage,
        "expires_at": leased.expires_at.isoformat(),
        "project": {"id": project.id, "slug": project.slug, "name": project.name, "work_type": project.work_type},
        "item": {
            "id": leased.item_id,
            "external_id": item["external_id"],
            "payload": worker_payload(item["payload"]),
            "priority": item["priority"],
            "deadline": item["deadline"].isoformat() if item["deadline"].year < 9999 else None,
            "media": _media_urls(project.work_type, item["payload"], sign),
        },
    }
    if leased.target_submission_id is not None:
        sub = answers_repo.get_submission(conn, leased.target_submission_id)
        ref: dict[str, Any] = {"submission_id": sub.id, "answer": sub.answer}
        if leased.kind == "annotate":  # a rework: show why it came back
            verdicts = answers_repo.reviews_of(conn, sub.id)
            ref["reviews"] = [{"verdict": r.verdict, "error_tags": r.error_tags, "comment": r.comment}
                              for r in verdicts]
            out["rework_of"] = ref
        else:
            out["review_of"] = ref
    return out


def list_items(conn: Connection, actor: Actor, project: Any, *, state: str | None, offset: int,
               limit: int) -> tuple[list[dict[str, Any]], int]:
    """A page of a project's items and their total. Gold (check) items are the center's own instrument,
    never the client's work: a client user neither sees nor counts them; the center's staff see them
    marked ``"gold": true`` (always ``active``: they are never done)."""
    if actor.role is Role.WORKER:
        raise Forbidden(Msg("workers see items only through their leases"))
    staff = actor.role is not Role.CLIENT
    rows, total = quality_repo.project_items(conn, project.id, state=state, gold=None if staff else False,
                                             offset=offset, limit=limit)
    data = []
    for r in rows:
        row = {
            "id": r.id,
            "external_id": r.external_id,
            "batch_id": r.batch_id,
            "state": r.state,
            "priority": r.priority,
            "deadline": r.deadline.isoformat() if r.deadline.year < 9999 else None,
            "created_at": r.created_at.isoformat(),
            "done_at": r.done_at.isoformat() if r.done_at else None,
        }
        if staff:
            row["gold"] = bool(r.gold)
        data.append(row)
    return data, total


def get_item(conn: Connection, actor: Actor, item_id: int) -> dict[str, Any]:
    """An item, if the actor may see it: workers only while it is leased to them; a client user not
    when it is a gold (check) item."""
    item = repo.item_by_id(conn, item_id)
    if item is None:
        raise NotFound(Msg("item {item_id} not found", item_id=item_id))
    if actor.role is Role.WORKER:
        if not repo.is_leased_to(conn, item_id, actor.id):
            raise NotFound(Msg("item {item_id} not found", item_id=item_id))
    else:
        actor.check_client(item.client_id, what="item")
        if actor.role is Role.CLIENT and item.gold:
            raise NotFound(Msg("item {item_id} not found", item_id=item_id))
    out = {
        "id": item.id,
        "project_id": item.project_id,
        "external_id": item.external_id,
        "batch_id": item.batch_id,
        "state": item.state,
        "priority": item.priority,
        "payload": worker_payload(item.payload) if actor.role is Role.WORKER else item.payload,
        "deadline": item.deadline.isoformat() if item.deadline.year < 9999 else None,
        "created_at": item.created_at.isoformat(),
        "done_at": item.done_at.isoformat() if item.done_at else None,
    }
    if actor.is_staff:
        out["gold"] = bool(item.gold)
    if actor.role is not Role.WORKER:
        out["result"] = [
            {k: v for k, v in r.items() if actor.is_staff or k not in ("worker_id", "submission_id")}
            for r in (item.result or [])
        ] or None
    return out
