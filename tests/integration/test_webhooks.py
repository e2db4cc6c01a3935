"""Webhook delivery against a real receiver on loopback (tests/integration/_webhook_receiver.py).

Finished items leave through the transactional outbox as signed POSTs; a failing receiver gets
retries with exponential backoff, a dead letter after N attempts, and a manual replay with the
same idempotency key. Runs on SQLite and PostgreSQL (tests/conftest.py).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update

from seatflow.app import create_app
from seatflow.config import Settings
from seatflow.domain import webhooks
from seatflow.domain.clock import utcnow
from seatflow.jobs.delivery import Deliverer, Notifier
from seatflow.services import accounts, deliveries
from seatflow.store import outbox as outbox_repo
from seatflow.store import tables
from seatflow.store.engine import Database, make_engine

from ._webhook_receiver import DROP, Answer, Received, Receiver, always
from .conftest import GOOD_ANSWERS, AppFactory, Center

FAST: dict[str, Any] = {"webhook_backoff_base_seconds": 0.05, "webhook_backoff_cap_seconds": 0.2}


class MaxJitter(random.Random):
    """Full jitter at its ceiling, so that each delay is exactly min(cap, base * 2**(n-1))."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def deliverer(center: Center, *, rng: random.Random | None = None, **overrides: Any) -> Deliverer:
    settings = center.app.state.settings.model_copy(update=overrides)
    return Deliverer(center.db, settings, rng=rng)


def hook(center: Center, url: str, client: str = "globex") -> str:
    """Point ``client``'s webhook at ``url`` (as a manager) and return the new signing secret."""
    resp = center.client.put(f"/api/v1/clients/{client}/webhook", headers=center.as_("manager"),
                             json={"url": url, "rotate_secret": True})
    assert resp.status_code == 200, resp.text
    secret: str = resp.json()["secret"]
    return secret


def finish(center: Center, project: str = "globex-tickets", worker: str = "ann1") -> int:
    """Answer the next task of ``project`` (overlap 1, no review: its item is done); the item id."""
    lease = center.lease(worker, project)
    resp = center.submit(worker, lease["lease_id"], GOOD_ANSWERS[project])
    assert resp.status_code == 200 and resp.json()["next_step"] == "accepted", resp.text
    item_id: int = lease["item"]["id"]
    return item_id


def outbox_row(db: Database, **where: Any) -> Any:
    t = tables.outbox
    with db.read() as conn:
        return conn.execute(select(t).where(*(t.c[k] == v for k, v in where.items()))).one()


def attempts(db: Database, outbox_id: int) -> list[Any]:
    t = tables.webhook_attempts
    with db.read() as conn:
        return list(conn.execute(select(t).where(t.c.outbox_id == outbox_id).order_by(t.c.id)))


def verified(secret: str, r: Received) -> dict[str, Any]:
    webhooks.verify(secret, r.headers["seatflow-signature"], r.body, now=time.time())
    body: dict[str, Any] = json.loads(r.body)
    return body


# --- the happy path ------------------------------------------------------------------------------------


def test_a_finished_item_is_posted_once_signed_over_the_exact_bytes(center: Center, receiver: Receiver) -> None:
    secret = hook(center, receiver.url, "acme")
    item_id = finish(center, "acme-text", "ann1")
    assert center.count("outbox") == 0, "overlap 2: one answer does not finish the item"
    lease = center.lease("ann2", "acme-text")
    assert lease["item"]["id"] == item_id
    center.submit("ann2", lease["lease_id"], {"classes": ["negative"], "spans": []})
    event = outbox_row(center.db, item_id=item_id)
    assert (event.topic, event.state, event.idempotency_key) == ("item.accepted", "pending", f"item.accepted:{item_id}")

    assert deliverer(center).run_once() == 1
    (got,) = receiver.requests
    body = verified(secret, got)
    assert got.headers["content-type"] == "application/json"
    assert got.headers["seatflow-event-id"] == str(event.id)
    assert got.headers["seatflow-idempotency-key"] == f"item.accepted:{item_id}"
    assert got.headers["seatflow-topic"] == "item.accepted"
    assert body["id"] == event.id and body["topic"] == "item.accepted"
    data = body["data"]
    assert data["project"] == "acme-text" and data["item"] == {"id": item_id, "external_id": "text-1"}
    assert sorted(a["slot"] for a in data["answers"]) == [0, 1]
    assert {json.dumps(a["answer"], sort_keys=True) for a in data["answers"]} == {
        json.dumps(GOOD_ANSWERS["acme-text"], sort_keys=True), json.dumps({"classes": ["negative"], "spans": []})}
    assert b"worker" not in got.body and b"user_id" not in got.body, "no worker ids leave the center"

    # the signature covers these bytes and no others
    with pytest.raises(webhooks.SignatureError, match="does not match"):
        webhooks.verify(secret, got.headers["seatflow-signature"], got.body.replace(b"text-1", b"text-2"),
                        now=time.time())
    with pytest.raises(webhooks.SignatureError, match="does not match"):
        webhooks.verify("another-secret", got.headers["seatflow-signature"], got.body, now=time.time())

    done = outbox_row(center.db, id=event.id)
    assert done.state == "delivered" and done.attempts == 1 and done.delivered_at is not None
    (log,) = attempts(center.db, event.id)
    assert log.status_code == 200 and log.error is None and log.url == receiver.url
    assert deliverer(center).run_once() == 0, "a delivered event is not sent again"


def test_no_webhook_url_no_event(center: Center) -> None:
    finish(center, "globex-tickets", "ann1")
    assert center.count("outbox") == 0


def test_the_in_process_deliverer_is_woken_by_the_commit(app_factory: AppFactory, receiver: Receiver) -> None:
    """With polling every 30 s, only the wake-up after the commit can deliver within a second."""
    center = app_factory(delivery_poll_seconds=30.0)
    app = center.app
    assert app.state.deliverer is None, "background=False: no deliverer"
    secret = hook(center, receiver.url)
    live = Deliverer(center.db, app.state.settings)
    live.start()
    try:
        time.sleep(0.1)  # the first pass (at start) has run; now only a wake-up starts another
        t0 = time.time()
        item_id = finish(center)
        assert receiver.wait_for(lambda r: len(r.accepted()) == 1, timeout=5.0)
        latency = receiver.requests[0].at - t0
        assert verified(secret, receiver.requests[0])["data"]["item"]["id"] == item_id
        assert latency < 1.0, f"took {latency:.3f} s"
    finally:
        live.close()


def test_an_idle_deliverer_polls_without_writing_and_finds_an_event_that_comes_due(center: Center,
                                                                                  receiver: Receiver) -> None:
    """Polling every 50 ms with nothing due takes no write transaction (on SQLite each would hold the
    database's one write lock, which the work loop needs), not even when a commit wakes it for an
    event that is not due yet; that event is found by a later poll once it is due, and delivered."""
    hook(center, receiver.url)
    writes: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        words = statement.split()
        if words and words[0].upper() in ("UPDATE", "INSERT", "DELETE") or statement.startswith("BEGIN IMMEDIATE"):
            writes.append(" ".join(words[:3]))

    live = deliverer(center, delivery_poll_seconds=0.05)
    event.listen(center.db.engine, "before_cursor_execute", seen)
    try:
        live.start()
        time.sleep(0.5)
        assert writes == [], f"an idle deliverer wrote: {writes}"
        due_at = utcnow() + timedelta(seconds=0.6)  # a retry whose backoff runs out in 0.6 s
        with center.db.write() as conn:
            outbox_id = outbox_repo.enqueue(conn, client_id=center.seed.clients["globex"], topic="item.accepted",
                                            payload={"probe": 1}, idempotency_key="comes-due", now=utcnow())
            conn.execute(update(tables.outbox).where(tables.outbox.c.id == outbox_id).values(next_attempt_at=due_at))
        time.sleep(0.3)  # woken by that commit, and polled since: nothing is due yet
        del writes[:]
        time.sleep(0.1)
        assert writes == [] and receiver.requests == [], (writes, receiver.requests)
        assert receiver.wait_for(lambda r: len(r.accepted()) == 1, timeout=5.0)
        assert receiver.requests[0].at >= due_at.timestamp() - 0.05, "delivered before it was due"
        deadline = time.monotonic() + 5.0  # the outcome is recorded by the loop's next pass
        while outbox_row(center.db, id=outbox_id).state != "delivered" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert outbox_row(center.db, id=outbox_id).state == "delivered"
    finally:
        live.close()
        event.remove(center.db.engine, "before_cursor_execute", seen)


# --- failures, backoff, dead letters ---------------------------------------------------------------------


def test_retries_back_off_exponentially_with_the_same_key_and_bytes(center: Center, receiver: Receiver) -> None:
    answers = iter([500, 503, 200])
    receiver.respond = lambda _r: Answer(next(answers))
    secret = hook(center, receiver.url)
    item_id = finish(center)
    d = deliverer(center, rng=MaxJitter(), webhook_backoff_base_seconds=0.3, webhook_backoff_cap_seconds=0.5)
    event = outbox_row(center.db, item_id=item_id)

    assert d.run_once() == 1
    after_first = outbox_row(center.db, id=event.id)
    (first,) = attempts(center.db, event.id)
    assert after_first.state == "pending" and after_first.attempts == 1
    assert "500" in after_first.last_error and "receiver says no" in after_first.last_error
    assert after_first.next_attempt_at - first.attempted_at == timedelta(seconds=0.3)  # base * 2**0
    assert d.run_once() == 0, "not due before its backoff has passed"
    time.sleep(0.35)
    assert d.run_once() == 1
    after_second = outbox_row(center.db, id=event.id)
    second = attempts(center.db, event.id)[1]
    assert after_second.next_attempt_at - second.attempted_at == timedelta(seconds=0.5)  # min(cap, 0.6)
    time.sleep(0.25)
    assert d.run_once() == 0
    time.sleep(0.3)
    assert d.run_once() == 1

    assert [a.status_code for a in attempts(center.db, event.id)] == [500, 503, 200]
    assert outbox_row(center.db, id=event.id).state == "delivered"
    assert [r.headers["seatflow-attempt"] for r in receiver.requests] == ["1", "2", "3"]
    assert {r.body for r in receiver.requests} == {receiver.requests[0].body}, "every retry sends the same bytes"
    assert {r.headers["seatflow-idempotency-key"] for r in receiver.requests} == {f"item.accepted:{item_id}"}
    for r in receiver.requests:
        verified(secret, r)


def test_a_timeout_or_a_dropped_connection_is_a_failed_attempt(center: Center, receiver: Receiver) -> None:
    answers = iter([Answer(200, delay=1.0), Answer(DROP), Answer(200)])
    receiver.respond = lambda _r: next(answers)
    hook(center, receiver.url)
    item_id = finish(center)
    d = deliverer(center, webhook_timeout_seconds=0.3, **FAST)
    event = outbox_row(center.db, item_id=item_id)
    d.run_once()
    time.sleep(0.25)
    d.run_once()
    time.sleep(0.25)
    d.run_once()
    log = attempts(center.db, event.id)
    assert [a.status_code for a in log] == [None, None, 200], log
    assert "timeout" in log[0].error and "0.3 s" in log[0].error
    assert log[1].error, "a connection closed without an answer is recorded with its error"
    assert outbox_row(center.db, id=event.id).state == "delivered"
    assert len(receiver.requests) == 3  # the receiver did see the first one: at least once, not exactly once


def test_dead_after_max_attempts_then_replayed_with_the_same_key(center: Center, receiver: Receiver) -> None:
    receiver.respond = always(500)
    secret = hook(center, receiver.url)
    item_id = finish(center)
    event = outbox_row(center.db, item_id=item_id)
    d = deliverer(center, webhook_max_attempts=3, **FAST)
    for _ in range(3):
        assert d.run_once() == 1
        time.sleep(0.25)
    dead = outbox_row(center.db, id=event.id)
    assert dead.state == "dead" and dead.attempts == 3 and "500" in dead.last_error
    assert d.run_once() == 0, "a dead event is not retried"
    assert len(attempts(center.db, event.id)) == 3

    listed = center.get("globex-ops", "/api/v1/deliveries?state=dead").json()
    assert [e["id"] for e in listed["items"]] == [event.id]

    receiver.respond = always(204)
    resp = center.post("globex-ops", f"/api/v1/deliveries/{event.id}/replay")
    assert resp.status_code == 200, resp.text
    assert resp.json()["state"] == "pending" and resp.json()["attempts"] == 0
    center.problem(center.post("globex-ops", f"/api/v1/deliveries/{event.id}/replay"), 409, field="id",
                   says="pending")
    assert d.run_once() == 1
    assert outbox_row(center.db, id=event.id).state == "delivered"
    assert {r.headers["seatflow-idempotency-key"] for r in receiver.requests} == {f"item.accepted:{item_id}"}
    assert {r.headers["seatflow-event-id"] for r in receiver.requests} == {str(event.id)}
    verified(secret, receiver.requests[-1])

    # a delivered event may be replayed too (the client lost it on its side)
    assert center.post("manager", f"/api/v1/deliveries/{event.id}/replay").status_code == 200
    assert d.run_once() == 1
    assert len(receiver.accepted()) == 2
    assert center.count("events", entity="delivery", kind="replay") == 2
    detail = center.get("globex-ops", f"/api/v1/deliveries/{event.id}").json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [500, 500, 500, 204, 204]
    assert detail["payload"]["item"]["id"] == item_id


def test_an_event_with_nowhere_to_go_is_held_with_a_clear_error_until_a_url_is_set(center: Center,
                                                                                    receiver: Receiver) -> None:
    hook(center, receiver.url)
    item_id = finish(center)
    resp = center.client.put("/api/v1/clients/globex/webhook", headers=center.as_("globex-ops"), json={"url": None})
    assert resp.status_code == 200 and "secret" not in resp.json()
    deliverer(center).run_once()
    event = outbox_row(center.db, item_id=item_id)
    assert event.state == "held" and "has no webhook URL" in event.last_error
    assert "PUT /api/v1/clients/globex/webhook" in event.last_error
    assert deliverer(center).run_once() == 0, "a held event is not retried: nothing changed"
    assert outbox_row(center.db, id=event.id).attempts == 1
    assert receiver.requests == []
    finish(center)  # with the URL cleared, the next finished item queues nothing
    assert center.count("outbox") == 1
    listed = center.get("globex-ops", "/api/v1/deliveries?state=held").json()["items"]
    assert [e["id"] for e in listed] == [event.id]
    # setting the URL again sends it on, with a fresh budget of attempts
    resp = center.client.put("/api/v1/clients/globex/webhook", headers=center.as_("globex-ops"),
                             json={"url": receiver.url})
    assert resp.status_code == 200 and resp.json()["held_requeued"] == 1
    assert deliverer(center).run_once() == 1
    done = outbox_row(center.db, id=event.id)
    assert done.state == "delivered" and done.attempts == 1
    assert [r.headers["seatflow-idempotency-key"] for r in receiver.accepted()] == [f"item.accepted:{item_id}"]


# --- claims ----------------------------------------------------------------------------------------------


def test_a_crashed_deliverers_claims_return_after_they_expire(center: Center, receiver: Receiver) -> None:
    hook(center, receiver.url)
    item_id = finish(center)
    fast: dict[str, Any] = {"delivery_claim_seconds": 1.0, "webhook_timeout_seconds": 0.5}
    crashed = deliverer(center, **fast)
    (claim,) = crashed.claim(10)  # ... and then it dies without sending
    assert outbox_row(center.db, item_id=item_id).state == "delivering"
    other = deliverer(center, **fast)
    assert other.run_once() == 0, "a live claim is not taken by another deliverer"
    time.sleep(1.1)
    assert other.run_once() == 1
    row = outbox_row(center.db, item_id=item_id)
    assert row.state == "delivered" and row.attempts == 2
    # the first deliverer comes back from the dead with a stale claim: its outcome changes nothing
    crashed.record(claim, crashed.send(claim))
    row = outbox_row(center.db, item_id=item_id)
    assert row.state == "delivered" and row.attempts == 2
    assert len(attempts(center.db, row.id)) == 2, "but its attempt is in the log"


def test_concurrent_claims_never_take_an_event_twice(center: Center) -> None:
    now = utcnow()
    with center.db.write() as conn:
        conn.execute(tables.outbox.insert(), [
            {"client_id": center.seed.clients["acme"], "topic": "test.event", "payload": {"n": n},
             "idempotency_key": f"test:{n}", "state": "pending", "attempts": 0, "next_attempt_at": now,
             "created_at": now} for n in range(300)
        ])
    d = deliverer(center)
    taken: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def claimer() -> None:
        try:
            while True:
                got = d.claim(7)
                if not got:
                    return
                with lock:
                    taken.extend(e.id for e in got)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=claimer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(taken) == 300 and len(set(taken)) == 300


def test_replay_resets_an_in_flight_claim_so_the_stale_outcome_is_ignored(center: Center,
                                                                         receiver: Receiver) -> None:
    hook(center, receiver.url)
    item_id = finish(center)
    d = deliverer(center)
    d.run_once()
    event = outbox_row(center.db, item_id=item_id)
    assert center.post("manager", f"/api/v1/deliveries/{event.id}/replay").status_code == 200
    (claim,) = d.claim(5)
    assert center.post("manager", f"/api/v1/deliveries/{event.id}/replay").status_code == 409
    with center.db.write() as conn:  # the claim expired and the event was delivered by someone else
        conn.execute(update(tables.outbox).where(tables.outbox.c.id == event.id)
                     .values(state="delivered", next_attempt_at=utcnow()))
    d.record(claim, d.send(claim))
    assert outbox_row(center.db, id=event.id).state == "delivered"


# --- the service layer's own checks -----------------------------------------------------------------------


def test_item_done_hands_work_types_with_their_own_event_to_them(center: Center, receiver: Receiver) -> None:
    hook(center, receiver.url, "acme")
    seen: list[int] = []

    def own(conn: Any, *, ctx: Any, result: Any, now: Any) -> bool:
        seen.append(ctx.item_id)
        return False

    before = deliveries._done_handlers.copy()
    deliveries.on_item_done("text_annotation", own)
    try:
        finish(center, "acme-text", "ann1")
        lease = center.lease("ann2", "acme-text")
        center.submit("ann2", lease["lease_id"], GOOD_ANSWERS["acme-text"])
    finally:
        deliveries._done_handlers.clear()
        deliveries._done_handlers.update(before)
    assert seen == [lease["item"]["id"]]
    assert center.count("outbox") == 0, "one finished item, one event: the work type's own"


def test_a_moderation_decision_leaves_as_moderation_decided_only(center: Center, receiver: Receiver) -> None:
    """One decision, one event: moderation projects send moderation.decided (services/moderation_flow.py)
    through the same outbox and deliverer, and never item.accepted besides."""
    secret = hook(center, receiver.url, "acme")
    item_id = finish(center, "acme-mod", "ann1")
    with center.db.read() as conn:
        topics = list(conn.execute(select(tables.outbox.c.topic).where(tables.outbox.c.item_id == item_id)).scalars())
    assert topics == ["moderation.decided"]
    assert deliverer(center).run_once() == 1
    (got,) = receiver.requests
    body = verified(secret, got)
    assert got.headers["seatflow-topic"] == "moderation.decided" and body["data"]["decision"] == "approve"
    assert body["data"]["external_id"] == "post-1"


@pytest.mark.postgres
def test_a_deliverer_in_another_process_is_woken_by_notify(center: Center, receiver: Receiver, db_url: str) -> None:
    """PostgreSQL, app with SEATFLOW_DELIVERY_IN_PROCESS=false: the app NOTIFYs after a commit with
    events; a deliverer on another engine (as in `seatflow worker deliver`) polling only every 30 s
    LISTENs and sends at once. Without the notifier the event waits for the poll."""
    hook(center, receiver.url)
    other = Database(make_engine(db_url))  # its own engine: the app's commits don't wake it directly
    remote = Deliverer(other, center.app.state.settings.model_copy(update={"delivery_poll_seconds": 30.0}))
    notifier = Notifier(center.db)
    remote.start()
    try:
        time.sleep(0.5)  # its first pass and its LISTEN are done
        finish(center)
        time.sleep(1.5)
        assert receiver.requests == [], "nothing but the 30 s poll could have sent it"
        notifier.start()
        t0 = time.time()
        finish(center)
        assert receiver.wait_for(lambda r: len(r.accepted()) >= 1, timeout=5.0)
        assert receiver.requests[0].at - t0 < 1.0 and notifier.sent >= 1
    finally:
        notifier.stop()
        remote.close()
        other.dispose()


def test_the_app_runs_a_deliverer_in_its_lifespan(settings: Settings, database: Database, receiver: Receiver) -> None:
    with database.write() as conn:
        client_id = accounts.create_client(conn, None, slug="acme", name="Acme")
        deliveries.set_webhook(conn, None, "acme", url=receiver.url, rotate_secret=True)
        conn.execute(tables.outbox.insert(), {
            "client_id": client_id, "topic": "test.event", "payload": {}, "idempotency_key": "t:1", "state": "pending",
            "attempts": 0, "next_attempt_at": utcnow(), "created_at": utcnow()})
    app = create_app(settings, db=database, background=True)
    with TestClient(app):
        assert isinstance(app.state.deliverer, Deliverer) and app.state.notifier is None
        assert receiver.wait_for(lambda r: len(r.accepted()) == 1, timeout=5.0), "due at start: sent at once"
    assert app.state.deliverer is None
    separate = create_app(settings.model_copy(update={"delivery_in_process": False}), db=database, background=True)
    with TestClient(separate):
        assert separate.state.deliverer is None
        assert (separate.state.notifier is not None) == database.is_postgres
    assert separate.state.notifier is None
