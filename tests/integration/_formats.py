"""Shared by the tests/integration/test_formats_*.py tests: a small center, and workers who finish items.

``finish_all`` runs the real work loop (lease, submit) with a worker who answers each item with
``answer_of(payload)``: typically the pre-annotation accepted as it is, which is what a worker does
when the model was right. That makes imported predictions the project's accepted results, which the
exports then write, so a round trip goes through the whole engine.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import func, select

from seatflow.domain.actors import Role
from seatflow.errors import NoWork
from seatflow.formats._common import strip_scores
from seatflow.services import accounts, answers, dispatch, projects
from seatflow.services._tx import transact
from seatflow.store import catalog, tables
from seatflow.store.engine import Database

FACE_SCHEMA: dict[str, Any] = {
    "labels": [{"name": "person"}, {"name": "car"}, {"name": "dog"}],
    "tools": ["bbox", "keypoints", "polygon", "classify"],
    "keypoints": {"names": ["nose", "left_eye", "right_eye", "left_ear", "right_ear"], "label": "person",
                  "skeleton": [[0, 1], [0, 2], [1, 3], [2, 4]]},
    "classes": ["day", "night"],
}


def make_project(db: Database, slug: str, work_type: str, schema: dict[str, Any], *,
                 client: str = "acme", worker: str = "w1") -> None:
    with db.write() as conn:
        if catalog.client_by_slug(conn, client) is None:
            accounts.create_client(conn, None, slug=client, name=client.title())
        projects.create_project(conn, None, {"slug": slug, "name": slug, "client": client, "work_type": work_type,
                                             "label_schema": schema, "workflow": "annotate(overlap=1)"})
        if catalog.user_by_username(conn, worker) is None:
            accounts.create_user(conn, None, username=worker, password="worker-pass-1", role="worker", locale="en")
        accounts.grant(conn, None, username=worker, project_slug=slug, skill="annotate")


def accept_predictions(payload: dict[str, Any]) -> dict[str, Any]:
    return strip_scores(payload.get("predictions") or {})


def finish_all(db: Database, worker: str = "w1",
               answer_of: Callable[[dict[str, Any]], dict[str, Any]] = accept_predictions) -> int:
    with db.read() as conn:
        actor = accounts.actor_of(catalog.user_by_username(conn, worker))
    assert actor.role is Role.WORKER
    n = 0
    while True:
        try:
            leased = transact(db, lambda c: dispatch.next_task(c, actor))
        except NoWork:
            return n
        with db.read() as conn:
            payload = conn.execute(select(tables.items.c.payload)
                                   .where(tables.items.c.id == leased.item_id)).scalar_one()
        answer = answer_of(payload)
        transact(db, lambda c, lid=leased.lease_id, a=answer: answers.submit(
            c, actor, lease_id=lid, answer=a, idempotency_key=f"k-{lid}"))
        n += 1


def count_items(db: Database, slug: str) -> int:
    with db.read() as conn:
        pid = catalog.project_by_slug(conn, slug).id
        return int(conn.execute(select(func.count()).select_from(tables.items)
                                .where(tables.items.c.project_id == pid)).scalar_one())


def payloads(db: Database, slug: str) -> dict[str, dict[str, Any]]:
    with db.read() as conn:
        pid = catalog.project_by_slug(conn, slug).id
        rows = conn.execute(select(tables.items.c.external_id, tables.items.c.payload)
                            .where(tables.items.c.project_id == pid))
        return {r.external_id: r.payload for r in rows}


def make_image(path: Path, width: int, height: int, color: tuple[int, int, int] = (90, 120, 200)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), color).save(path)
    return path
