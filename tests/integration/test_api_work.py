"""The worker's loop through the API: lease, heartbeat, release, expiry, submit, review, rework, export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event, update

from seatflow.domain.clock import utcnow
from seatflow.store import tables

from .conftest import GOOD_ANSWERS, AppFactory, Center

FACE_BOX = {"boxes": [{"label": "face", "x": 10, "y": 20, "w": 100, "h": 120}]}
FIXED_BOX = {"boxes": [{"label": "face", "x": 12, "y": 22, "w": 98, "h": 118}]}


def _box(answer: dict[str, Any]) -> tuple[str, float, float, float, float]:
    """The first box of a stored (normalised) image answer."""
    b = answer["boxes"][0]
    return (b["label"], b["x"], b["y"], b["w"], b["h"])


FIXED = ("face", 12, 22, 98, 118)


def _set_expiry(center: Center, lease_id: int, delta: timedelta) -> None:
    """Move a lease's expiry to now + delta (negative: it ran out in the past)."""
    at = utcnow() + delta
    with center.db.write() as conn:
        conn.execute(update(tables.tasks).where(tables.tasks.c.lease_id == lease_id).values(lease_expires_at=at))
        conn.execute(update(tables.leases).where(tables.leases.c.id == lease_id).values(expires_at=at))


def _review(center: Center, username: str, lease_id: int, verdict: str, **extra: Any) -> Any:
    return center.post(username, f"/api/v1/leases/{lease_id}/review",
                       json={"verdict": verdict, "idempotency_key": f"rev-{lease_id}", **extra})


def _export(center: Center, username: str, project: str) -> list[dict[str, Any]]:
    resp = center.get(username, f"/api/v1/projects/{project}/export.jsonl")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in resp.text.splitlines()]


# --- the whole loop -------------------------------------------------------------------------


def test_annotate_review_reject_rework_accept_done_export(center: Center) -> None:
    # ann1 annotates
    first = center.lease("ann1", "acme-faces")
    item_id = first["item"]["id"]
    assert (first["kind"], first["project"]["slug"], first["item"]["external_id"]) == ("annotate", "acme-faces",
                                                                                      "face-1")
    assert first["item"]["media"]["faces/1.jpg"].startswith("/media/faces/1.jpg?")
    resp = center.submit("ann1", first["lease_id"], FACE_BOX)
    assert resp.status_code == 200, resp.text
    assert resp.json()["next_step"] == "review" and resp.json()["replayed"] is False

    # rev1 rejects
    review = center.lease("rev1")
    assert review["kind"] == "review" and review["item"]["id"] == item_id
    assert review["review_of"]["answer"]["boxes"][0]["x"] == 10
    resp = _review(center, "rev1", review["lease_id"], "reject", error_tags=["loose_box"], comment="too loose")
    assert resp.status_code == 200, resp.text
    assert resp.json()["next_step"] == "rework"

    # someone else never gets the rework: it is ann1's
    other = center.lease("ann2", "acme-faces")
    assert other["item"]["id"] != item_id and "rework_of" not in other

    # ann1 gets the rework first, with the reviewer's reasons
    rework = center.lease("ann1")
    assert rework["kind"] == "annotate" and rework["item"]["id"] == item_id
    assert rework["rework_of"]["reviews"] == [{"verdict": "reject", "error_tags": ["loose_box"],
                                               "comment": "too loose"}]
    resp = center.submit("ann1", rework["lease_id"], FIXED_BOX)
    assert resp.status_code == 200 and resp.json()["next_step"] == "review"
    assert center.get("manager", f"/api/v1/items/{item_id}").json()["state"] == "active"
    assert _export(center, "manager", "acme-faces") == []  # nothing is delivered before it is accepted

    # the reworked answer goes back to the reviewer who rejected it; rev1 accepts
    again = center.lease("rev1")
    assert again["kind"] == "review" and again["item"]["id"] == item_id
    assert _box(again["review_of"]["answer"]) == FIXED
    resp = _review(center, "rev1", again["lease_id"], "accept")
    assert resp.status_code == 200 and resp.json()["next_step"] == "accepted"

    item = center.get("manager", f"/api/v1/items/{item_id}").json()
    assert item["state"] == "done" and item["done_at"]
    assert [_box(r["answer"]) for r in item["result"]] == [FIXED]
    assert item["result"][0]["worker_id"] == center.seed.users["ann1"]

    lines = _export(center, "manager", "acme-faces")
    assert [(row["item_id"], row["external_id"], _box(row["answer"])) for row in lines] == [(item_id, "face-1", FIXED)]
    client_lines = _export(center, "acme-ops", "acme-faces")
    assert _box(client_lines[0]["answer"]) == FIXED and "worker_id" not in client_lines[0]["answers"][0]
    assert center.count("submissions", item_id=item_id) == 2
    assert center.count("reviews", item_id=item_id) == 2


def test_a_reviewer_fix_is_what_is_delivered(center: Center) -> None:
    lease = center.lease("ann1", "acme-faces")
    center.submit("ann1", lease["lease_id"], FACE_BOX)
    review = center.lease("rev1")
    resp = _review(center, "rev1", review["lease_id"], "accept", fixed_answer=FIXED_BOX)
    assert resp.status_code == 200 and resp.json()["next_step"] == "accepted"
    assert _box(_export(center, "manager", "acme-faces")[0]["answer"]) == FIXED


def test_overlap_two_goes_to_two_different_workers(center: Center) -> None:
    a = center.lease("ann1", "acme-text")
    b = center.lease("ann2", "acme-text")
    assert a["item"]["id"] == b["item"]["id"]  # the second slot of the same item
    c = center.lease("ann1", "acme-text")
    assert c["item"]["id"] != a["item"]["id"]  # never the same item twice to one worker
    assert center.submit("ann1", a["lease_id"], {"classes": ["positive"]}).json()["next_step"] == "accepted"
    assert center.get("manager", f"/api/v1/items/{a['item']['id']}").json()["state"] == "active"
    assert center.submit("ann2", b["lease_id"], {"classes": ["neutral"]}).json()["next_step"] == "accepted"

    item = center.get("manager", f"/api/v1/items/{a['item']['id']}").json()
    assert item["state"] == "done"
    assert {r["worker_id"] for r in item["result"]} == {center.seed.users["ann1"], center.seed.users["ann2"]}
    (line,) = _export(center, "manager", "acme-text")
    assert sorted(x["answer"]["classes"][0] for x in line["answers"]) == ["neutral", "positive"]
    assert line["answer"] is None  # two answers: no single one


def test_a_worker_never_gets_the_same_item_twice(center: Center) -> None:
    def drain(username: str) -> list[int]:
        seen: list[int] = []
        while True:
            resp = center.post(username, "/api/v1/leases", json={"project_id": center.seed.projects["acme-text"]})
            if resp.status_code == 404:
                center.problem(resp, 404, says="no task")
                return seen
            assert resp.status_code == 201, resp.text
            lease = resp.json()
            seen.append(lease["item"]["id"])
            assert center.submit(username, lease["lease_id"], {"classes": ["neutral"]}).status_code == 200

    ann1 = drain("ann1")
    assert sorted(ann1) == center.seed.items["acme-text"]  # each item once
    ann2 = drain("ann2")
    assert sorted(ann2) == center.seed.items["acme-text"]
    assert drain("ann3") == []  # both slots of every item are taken
    assert center.count("items", project_id=center.seed.projects["acme-text"], state="done") == 3


def test_a_lease_needs_a_qualification(center: Center) -> None:
    before = center.counts()
    center.problem(center.post("idle", "/api/v1/leases"), 404, says="qualified")
    center.problem(center.post("idle", "/api/v1/leases", json={"project_id": center.seed.projects["acme-mod"]}),
                   404, field="project_id", says="qualification")
    # a reviewer only qualified to review acme-faces gets no annotation work, and no other project
    center.problem(center.post("rev1", "/api/v1/leases", json={"project_id": center.seed.projects["acme-mod"]}),
                   404, field="project_id")
    center.problem(center.post("rev1", "/api/v1/leases"), 404, says="no task")
    assert center.counts() == before

    # the grant opens the queue at once
    assert center.post("lead", "/api/v1/users/idle/qualifications", json={"project": "acme-mod"}).status_code == 201
    assert center.lease("idle")["project"]["slug"] == "acme-mod"


def test_priority_then_deadline_order(center: Center) -> None:
    now = utcnow()
    soon, late = (now + timedelta(hours=1)).isoformat(), (now + timedelta(days=2)).isoformat()
    rows = [
        {"external_id": "low-late", "priority": 0, "deadline": late},
        {"external_id": "high-late", "priority": 5, "deadline": late},
        {"external_id": "high-soon", "priority": 5, "deadline": soon},
        {"external_id": "low-soon", "priority": 0, "deadline": soon},
        {"external_id": "urgent-none", "priority": 9},
    ]
    items = [{**r, "payload": {"kind": "text", "text": r["external_id"]}} for r in rows]
    resp = center.post("manager", "/api/v1/projects/acme-mod/items", json={"items": items})
    assert resp.status_code == 201 and resp.json()["imported"] == 5, resp.text

    order = []
    for _ in range(8):
        lease = center.lease("ann1", "acme-mod")
        order.append(lease["item"]["external_id"])
        assert center.submit("ann1", lease["lease_id"], {"decision": "approve"}).status_code == 200
    # seeded post-* items have priority 0 and no deadline: after every dated priority-0 item
    assert order == ["urgent-none", "high-soon", "high-late", "low-soon", "low-late", "post-1", "post-2", "post-3"]


def test_the_best_task_across_projects_comes_first(center: Center) -> None:
    ticket = {"customer": {"name": "Li"}, "message": "Broken parcel", "order": {"order_id": "SO-9"}}
    resp = center.post("manager", "/api/v1/projects/globex-tickets/items",
                       json={"items": [{"external_id": "vip", "priority": 7, "payload": ticket}]})
    assert resp.status_code == 201, resp.text
    assert center.lease("ann3")["item"]["external_id"] == "vip"


def test_heartbeat_renews_only_own_live_leases(center: Center) -> None:
    mine = center.lease("ann1", "acme-mod")
    theirs = center.lease("ann2", "acme-mod")
    _set_expiry(center, mine["lease_id"], timedelta(seconds=20))
    resp = center.post("ann1", "/api/v1/leases/heartbeat", json={"lease_ids": [mine["lease_id"], theirs["lease_id"]]})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"renewed": [mine["lease_id"]], "lost": [theirs["lease_id"]]}
    task = center.row("tasks", lease_id=mine["lease_id"])
    lease = center.row("leases", id=mine["lease_id"])
    assert task.lease_expires_at > utcnow() + timedelta(seconds=500)  # lease_seconds is 600
    assert lease.expires_at == task.lease_expires_at

    _set_expiry(center, mine["lease_id"], timedelta(seconds=-1))
    resp = center.post("ann1", "/api/v1/leases/heartbeat", json={"lease_ids": [mine["lease_id"]]})
    assert resp.json() == {"renewed": [], "lost": [mine["lease_id"]]}  # too late: the lease is gone


def test_release_puts_the_task_back(center: Center) -> None:
    lease = center.lease("ann1", "acme-mod")
    resp = center.post("ann1", "/api/v1/leases/release", json={"lease_ids": [lease["lease_id"]]})
    assert resp.status_code == 200 and resp.json() == {"released": 1}
    task = center.row("tasks", id=lease["task_id"])
    assert (task.state, task.leased_by, task.lease_id) == ("ready", None, None)
    assert center.row("leases", id=lease["lease_id"]).end_reason == "release"
    center.problem(center.submit("ann1", lease["lease_id"], {"decision": "approve"}), 410, field="lease_id")
    assert center.count("submissions") == 0

    again = center.lease("ann2", "acme-mod")
    assert again["task_id"] == lease["task_id"]  # the same task, to the next worker


def test_release_without_ids_returns_all_of_mine(center: Center) -> None:
    center.lease("ann1", "acme-mod")
    center.lease("ann1", "acme-mod")
    other = center.lease("ann2", "acme-mod")
    assert center.post("ann1", "/api/v1/leases/release").json() == {"released": 2}
    assert center.post("ann1", "/api/v1/leases/release", json={"lease_ids": [other["lease_id"]]}).json() == {
        "released": 0}  # not mine
    assert center.row("tasks", id=other["task_id"]).state == "leased"


def test_an_expired_lease_is_410_and_the_task_goes_to_someone_else(app_factory: AppFactory) -> None:
    center = app_factory(reap_interval_seconds=0.001)  # the dispatch path reaps on every call
    lease = center.lease("ann1", "acme-mod")
    _set_expiry(center, lease["lease_id"], timedelta(seconds=-1))
    before = center.counts()
    body = center.problem(center.submit("ann1", lease["lease_id"], {"decision": "approve"}), 410, field="lease_id")
    assert "expired" in body["detail"]
    assert center.counts() == before

    again = center.lease("ann2", "acme-mod")
    assert again["task_id"] == lease["task_id"] and again["item"]["id"] == lease["item"]["id"]
    assert center.row("leases", id=lease["lease_id"]).end_reason == "expire"
    center.problem(center.submit("ann1", lease["lease_id"], {"decision": "approve"}), 410)  # still refused
    assert center.submit("ann2", again["lease_id"], {"decision": "approve"}).status_code == 200
    assert center.count("submissions") == 1


def test_submit_on_someone_elses_lease_is_403_and_writes_nothing(center: Center) -> None:
    lease = center.lease("ann1", "acme-mod")
    before = center.counts()
    center.problem(center.submit("ann2", lease["lease_id"], {"decision": "approve"}), 403, field="lease_id")
    center.problem(center.post("acme-ops", f"/api/v1/leases/{lease['lease_id']}/submit",
                               json={"answer": {"decision": "approve"}, "idempotency_key": "x"}), 403)
    assert center.counts() == before
    assert center.row("tasks", id=lease["task_id"]).leased_by == center.seed.users["ann1"]
    assert center.submit("ann1", lease["lease_id"], {"decision": "approve"}).status_code == 200


def test_unknown_lease_is_404(center: Center) -> None:
    center.problem(center.submit("ann1", 987654, {"decision": "approve"}), 404, field="lease_id")
    center.problem(_review(center, "rev1", 987654, "accept"), 404, field="lease_id")


def test_submit_is_idempotent_under_its_key(center: Center) -> None:
    lease = center.lease("ann1", "acme-mod")
    first = center.submit("ann1", lease["lease_id"], {"decision": "approve"}, key="k-1")
    assert first.status_code == 200 and first.json()["replayed"] is False
    second = center.submit("ann1", lease["lease_id"], {"decision": "approve"}, key="k-1")
    assert second.status_code == 200
    assert second.json()["replayed"] is True
    assert second.json()["submission_id"] == first.json()["submission_id"]
    assert center.count("submissions", lease_id=lease["lease_id"]) == 1

    # a new key on the answered lease is a conflict, not a second answer
    center.problem(center.submit("ann1", lease["lease_id"], {"decision": "approve"}, key="k-2"), 409,
                   field="lease_id")
    assert center.count("submissions") == 1


def test_the_same_key_for_another_lease_is_409(center: Center) -> None:
    one = center.lease("ann1", "acme-mod")
    two = center.lease("ann1", "acme-mod")
    assert center.submit("ann1", one["lease_id"], {"decision": "approve"}, key="same").status_code == 200
    before = center.counts()
    center.problem(center.submit("ann1", two["lease_id"], {"decision": "approve"}, key="same"), 409,
                   field="idempotency_key")
    assert center.counts() == before
    assert center.row("tasks", id=two["task_id"]).state == "leased"  # still held, can be answered
    assert center.submit("ann1", two["lease_id"], {"decision": "approve"}, key="other").status_code == 200


def test_review_is_idempotent_under_its_key(center: Center) -> None:
    lease = center.lease("ann1", "acme-faces")
    center.submit("ann1", lease["lease_id"], FACE_BOX)
    review = center.lease("rev1")
    first = _review(center, "rev1", review["lease_id"], "accept")
    second = _review(center, "rev1", review["lease_id"], "accept")
    assert first.status_code == second.status_code == 200
    assert second.json()["replayed"] is True and second.json()["review_id"] == first.json()["review_id"]
    assert center.count("reviews") == 1


def test_a_verdict_on_an_annotation_lease_and_an_answer_on_a_review_lease_are_409(center: Center) -> None:
    lease = center.lease("ann1", "acme-faces")
    center.problem(_review(center, "ann1", lease["lease_id"], "accept"), 409, field="lease_id")
    center.submit("ann1", lease["lease_id"], FACE_BOX)
    review = center.lease("rev1")
    before = center.counts()
    center.problem(center.submit("rev1", review["lease_id"], FACE_BOX), 409, field="lease_id")
    assert center.counts() == before


def test_every_work_type_runs_through_the_loop(center: Center) -> None:
    for project in ("acme-text", "acme-mod", "globex-tickets"):
        lease = center.lease("ann3", project)
        resp = center.submit("ann3", lease["lease_id"], GOOD_ANSWERS[project])
        assert resp.status_code == 200, (project, resp.text)


# --- query counts on the hot path -----------------------------------------------------------

# Upper bounds of SQL statements per request, warm (token, qualifications and project cached).
# SQLite counts its BEGIN IMMEDIATE and runs a lease as a few statements in one transaction;
# PostgreSQL leases in one statement and records an answer (task closed, lease ended, touch marked,
# item locked, submission inserted) in one more. A review lease also reads the answer under review.
# A moderation answer also records the decision and its outbox event (the delivery to the client):
# 8 statements more when measured, 2 of them re-reading the item and project the submit already has.
MAX_STATEMENTS = {
    "sqlite": {"lease": 8, "submit": 9, "moderation submit": 17, "review lease": 10, "review": 12},
    "postgresql": {"lease": 1, "submit": 4, "moderation submit": 12, "review lease": 5, "review": 12},
}


@contextmanager
def _statements(center: Center) -> Iterator[list[str]]:
    """Collect the SQL statements the app runs on the test's engine while the block runs."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        seen.append(" ".join(statement.split())[:120])

    event.listen(center.db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(center.db.engine, "before_cursor_execute", record)


def _lease_and_submit(center: Center, user: str, project: str | None) -> tuple[list[str], list[str], str]:
    with _statements(center) as lease_sql:
        lease = center.lease(user, project)
    slug = lease["project"]["slug"]
    with _statements(center) as submit_sql:
        resp = center.submit(user, lease["lease_id"], GOOD_ANSWERS[slug])
    assert resp.status_code == 200, resp.text
    return lease_sql, submit_sql, resp.json()["next_step"]


def test_lease_and_submit_run_a_bounded_number_of_statements(center: Center, capsys: Any) -> None:
    limits = MAX_STATEMENTS[center.db.dialect]
    center.get("ann1", "/api/v1/me")  # warm the token cache
    _lease_and_submit(center, "ann1", "globex-tickets")  # warm the qualification and project caches
    lease_sql, submit_sql, step = _lease_and_submit(center, "ann1", "globex-tickets")
    assert step == "accepted"
    _, moderation_sql, _ = _lease_and_submit(center, "ann1", "acme-mod")
    with capsys.disabled():
        print(f"\n[{center.db.dialect}] POST /leases: {len(lease_sql)} statements; "
              f"submit (accepted, item done): {len(submit_sql)}; moderation submit: {len(moderation_sql)}")
    assert len(lease_sql) <= limits["lease"], "\n".join(lease_sql)
    assert len(submit_sql) <= limits["submit"], "\n".join(submit_sql)
    assert len(moderation_sql) <= limits["moderation submit"], "\n".join(moderation_sql)

    # an answer that goes on to review, and the review itself
    _, submit_sql, step = _lease_and_submit(center, "ann1", "acme-faces")
    assert step == "review" and len(submit_sql) <= limits["submit"], "\n".join(submit_sql)
    center.get("rev1", "/api/v1/me")
    with _statements(center) as lease_sql:
        review = center.lease("rev1")
    with _statements(center) as review_sql:
        resp = _review(center, "rev1", review["lease_id"], "accept")
    assert resp.status_code == 200 and resp.json()["next_step"] == "accepted"
    with capsys.disabled():
        print(f"[{center.db.dialect}] review: POST /leases {len(lease_sql)}, review {len(review_sql)}")
    assert len(lease_sql) <= limits["review lease"], "\n".join(lease_sql)
    assert len(review_sql) <= limits["review"], "\n".join(review_sql)


def test_own_rework_comes_before_the_queue_in_the_same_lease_statement(center: Center) -> None:
    """The worker's rework is leased ahead of a full queue, asked for one project or for any; on PostgreSQL
    by the queue's lease statement itself (no probe of its own), and without touching the item twice."""
    firsts = [center.lease("ann1", "acme-faces") for _ in range(2)]
    for first in firsts:
        assert center.submit("ann1", first["lease_id"], FACE_BOX).status_code == 200
    for _ in firsts:
        review = center.lease("rev1")
        assert _review(center, "rev1", review["lease_id"], "reject", error_tags=["loose_box"]).status_code == 200
    item_ids = [first["item"]["id"] for first in firsts]
    center.get("ann1", "/api/v1/me")  # warm the token cache
    for project in ("acme-faces", None):
        with _statements(center) as lease_sql:
            rework = center.lease("ann1", project)
        assert rework["item"]["id"] in item_ids and "rework_of" in rework, rework
        assert rework["item"]["external_id"] and rework["item"]["payload"]  # the item comes with the lease
        if center.db.dialect == "postgresql":  # one statement leases, none probes for the rework alone
            leasing = [q for q in lease_sql if "assignee_id" in q]
            assert len(leasing) == 1 and leasing[0].startswith("WITH picked"), "\n".join(lease_sql)
        item_ids.remove(rework["item"]["id"])
        assert center.submit("ann1", rework["lease_id"], FIXED_BOX).json()["next_step"] == "review"
    nxt = center.lease("ann1", "acme-faces")  # no rework left: the queue
    assert "rework_of" not in nxt and nxt["item"]["id"] != rework["item"]["id"]
    assert center.count("item_workers", item_id=rework["item"]["id"]) == 2  # ann1 and rev1, once each


def test_own_rework_is_leased_when_every_queue_of_the_worker_is_empty(center: Center) -> None:
    """No queue statement runs when no queue has work: the rework is asked for on its own."""
    first = center.lease("ann1", "acme-faces")
    assert center.submit("ann1", first["lease_id"], FACE_BOX).status_code == 200
    review = center.lease("rev1")
    assert _review(center, "rev1", review["lease_id"], "reject", error_tags=["loose_box"]).status_code == 200
    with center.db.write() as conn:  # every other ready task goes to someone else: ann1's queues are empty
        conn.execute(update(tables.tasks).where(tables.tasks.c.state == "ready", tables.tasks.c.assignee_id.is_(None))
                     .values(assignee_id=center.seed.users["ann2"]))
    rework = center.lease("ann1")
    assert rework["item"]["id"] == first["item"]["id"] and "rework_of" in rework
    nothing = center.post("ann1", "/api/v1/leases")  # the rework was the last thing for ann1
    assert nothing.status_code == 404 and nothing.json()["type"].endswith("/no-work"), nothing.text


def test_lease_statements_do_not_grow_with_the_projects_of_a_worker(center: Center) -> None:
    """ann1 may work on 4 projects, idle on 1: choosing among the queues is not one query per queue."""
    assert center.post("lead", "/api/v1/users/idle/qualifications", json={"project": "acme-mod"}).status_code == 201
    counts = {}
    for user in ("ann1", "idle"):
        center.get(user, "/api/v1/me")
        _lease_and_submit(center, user, None)  # warm
        lease_sql, _, _ = _lease_and_submit(center, user, None)
        counts[user] = lease_sql
    assert len(counts["ann1"]) <= len(counts["idle"]) + 1, "\n".join(counts["ann1"])
