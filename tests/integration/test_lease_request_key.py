"""POST /leases with a request_key: a retried request gets the same lease back, never a second one.

A seat's lease request can reach the server while its answer is lost on the way back (a dropped
connection, a proxy's 502). Without a key the retry leases a second task, and the first stays held
by nobody until it expires (10 minutes by default), its SLA clock running.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from seatflow.domain.actors import Actor, Role
from seatflow.domain.clock import utcnow
from seatflow.errors import Conflict
from seatflow.services import dispatch
from seatflow.services._tx import transact
from seatflow.store import tables

from .conftest import GOOD_ANSWERS, PROBLEM, Center


def _lease(center: Center, user: str, **body: Any) -> Any:
    return center.post(user, "/api/v1/leases", json=body)


def _keys(center: Center, user: str) -> list[tuple[int, str | None]]:
    t = tables.leases
    with center.db.read() as conn:
        rows = conn.execute(select(t.c.id, t.c.request_key).where(t.c.user_id == center.seed.users[user])
                            .order_by(t.c.id))
        return [(int(r.id), r.request_key) for r in rows]


def test_a_retry_with_the_same_key_gets_the_same_lease(center: Center) -> None:
    project = center.seed.projects["acme-text"]
    first = _lease(center, "ann1", project_id=project, request_key="seat-7/req-1")
    assert first.status_code == 201, first.text
    before = center.counts()
    again = _lease(center, "ann1", project_id=project, request_key="seat-7/req-1")
    assert again.status_code == 201, again.text
    assert again.json()["lease_id"] == first.json()["lease_id"]
    assert again.json()["item"] == first.json()["item"] and again.json()["task_id"] == first.json()["task_id"]
    assert center.counts() == before, "the retry wrote something"
    assert _keys(center, "ann1") == [(first.json()["lease_id"], "seat-7/req-1")]
    # a new key is a new task
    other = _lease(center, "ann1", project_id=project, request_key="seat-7/req-2")
    assert other.status_code == 201 and other.json()["item"]["id"] != first.json()["item"]["id"]


def test_without_a_key_every_request_is_a_new_lease(center: Center) -> None:
    a, b = center.lease("ann1", "acme-text"), center.lease("ann1", "acme-text")
    assert a["lease_id"] != b["lease_id"]
    assert [k for _, k in _keys(center, "ann1")] == [None, None]


def test_the_retry_gets_the_renewed_expiry(center: Center) -> None:
    first = _lease(center, "ann1", request_key="k1").json()
    hb = center.post("ann1", "/api/v1/leases/heartbeat", json={"lease_ids": [first["lease_id"]]})
    assert hb.status_code == 200 and hb.json()["renewed"] == [first["lease_id"]]
    with center.db.read() as conn:
        expires = conn.execute(select(tables.leases.c.expires_at)
                               .where(tables.leases.c.id == first["lease_id"])).scalar_one()
    again = _lease(center, "ann1", request_key="k1").json()
    assert again["lease_id"] == first["lease_id"] and again["expires_at"] == expires.isoformat()


def test_keys_belong_to_their_worker(center: Center) -> None:
    a = _lease(center, "ann1", request_key="same-key")
    b = _lease(center, "ann2", request_key="same-key")
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    assert a.json()["lease_id"] != b.json()["lease_id"]


@pytest.mark.parametrize("ending", ["submit", "release", "expire"])
def test_the_key_of_an_ended_lease_is_refused(center: Center, ending: str) -> None:
    first = _lease(center, "ann1", project_id=center.seed.projects["acme-text"], request_key="once").json()
    lease_id = first["lease_id"]
    if ending == "submit":
        assert center.submit("ann1", lease_id, GOOD_ANSWERS["acme-text"]).status_code == 200
    elif ending == "release":
        assert center.post("ann1", "/api/v1/leases/release", json={"lease_ids": [lease_id]}).json() == \
            {"released": 1}
    else:  # ran out, not yet reaped
        past = utcnow() - timedelta(seconds=1)
        with center.db.write() as conn:
            conn.execute(update(tables.tasks).where(tables.tasks.c.lease_id == lease_id)
                         .values(lease_expires_at=past))
            conn.execute(update(tables.leases).where(tables.leases.c.id == lease_id).values(expires_at=past))
    before = center.counts()
    resp = _lease(center, "ann1", project_id=center.seed.projects["acme-text"], request_key="once")
    assert resp.status_code == 409, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    problem = resp.json()
    assert problem["field"] == "request_key" and f"lease {lease_id}" in problem["detail"]
    assert "new key" in problem["detail"]
    assert center.counts() == before


def test_the_key_of_a_lease_in_another_project_is_refused(center: Center) -> None:
    first = _lease(center, "ann1", project_id=center.seed.projects["acme-text"], request_key="k")
    assert first.status_code == 201
    before = center.counts()
    resp = _lease(center, "ann1", project_id=center.seed.projects["acme-faces"], request_key="k")
    assert resp.status_code == 409 and resp.json()["field"] == "request_key", resp.text
    assert center.counts() == before


@pytest.mark.parametrize("key", ["", "x" * 129, 17, ["k"], None], ids=["empty", "too-long", "number", "list", "null"])
def test_a_malformed_key_is_refused_and_nothing_is_written(center: Center, key: Any) -> None:
    before = center.counts()
    resp = _lease(center, "ann1", request_key=key)
    if key is None:  # null is "no key": an ordinary lease
        assert resp.status_code == 201, resp.text
        return
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    assert "request_key" in resp.text
    assert center.counts() == before


def test_a_blank_key_is_refused_by_the_service(center: Center) -> None:
    before = center.counts()
    resp = _lease(center, "ann1", request_key="   ")
    assert resp.status_code == 422 and resp.json()["field"] == "request_key", resp.text
    assert center.counts() == before


def test_concurrent_requests_with_one_key_make_one_lease(center: Center) -> None:
    """Eight threads send the same key at once (PostgreSQL: they race past the lookup and the unique
    index decides; SQLite: writers take turns). One lease, the same answer for all."""
    actor = Actor(id=center.seed.users["ann1"], username="ann1", role=Role.WORKER, locale="en")
    got: list[int] = []
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def take() -> None:
        try:
            start.wait()
            leased = transact(center.db, lambda c: dispatch.next_task(c, actor, request_key="burst"))
            got.append(leased.lease_id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures
    assert len(got) == 8 and len(set(got)) == 1, got
    assert [k for _, k in _keys(center, "ann1")] == ["burst"]
    assert center.count("tasks", leased_by=center.seed.users["ann1"], state="leased") == 1


def test_the_service_refuses_an_ended_key_with_conflict(center: Center) -> None:
    actor = Actor(id=center.seed.users["ann2"], username="ann2", role=Role.WORKER, locale="en")
    leased = transact(center.db, lambda c: dispatch.next_task(c, actor, request_key="svc"))
    transact(center.db, lambda c: dispatch.release(c, actor, [leased.lease_id]))
    with pytest.raises(Conflict, match="request_key"):
        transact(center.db, lambda c: dispatch.next_task(c, actor, request_key="svc"))
