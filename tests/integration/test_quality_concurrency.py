"""Gold leases under concurrency: a worker never holds or answers one gold item twice, however the leases race."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import select

from seatflow.domain.actors import Actor, Role
from seatflow.errors import NoWork
from seatflow.services import answers, dispatch, quality
from seatflow.services._tx import transact
from seatflow.store import tables

from .conftest import Center
from .test_quality_gold import FACE, faces_gold, import_gold, set_quality


@pytest.fixture(autouse=True)
def _fresh_quality_cache() -> None:
    quality.project_cache.clear()


def test_racing_leases_never_give_a_worker_the_same_gold_twice(center: Center) -> None:
    gold = set(import_gold(center, "acme-faces", faces_gold(6)))
    set_quality(center, "acme-faces", gold_rate=1.0)
    pid = center.seed.projects["acme-faces"]
    workers = ["ann1", "ann2", "ann3"]
    barrier = threading.Barrier(len(workers) * 4)
    leased: list[tuple[str, int, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(name: str) -> None:
        actor = Actor(id=center.seed.users[name], username=name, role=Role.WORKER, locale="en")
        barrier.wait()
        try:
            for k in range(3):
                try:
                    got = transact(center.db, lambda c: dispatch.next_task(c, actor, project_id=pid))
                except NoWork:
                    return
                with lock:
                    leased.append((name, got.item_id, got.lease_id))
                transact(center.db, lambda c, got=got, k=k: answers.submit(
                    c, actor, lease_id=got.lease_id, answer=FACE,
                    idempotency_key=f"{name}-{threading.get_ident()}-{k}"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    per_worker = Counter((name, item) for name, item, _ in leased if item in gold)
    assert per_worker and max(per_worker.values()) == 1, per_worker
    with center.db.read() as conn:
        results = list(conn.execute(select(tables.gold_results.c.user_id, tables.gold_results.c.item_id)))
    assert len(results) == len(set(results)) == sum(per_worker.values())
    assert center.row("items", id=min(gold)).state == "active"
