"""Worker quality in the engine: qualification test, automatic suspension, reinstatement, read-outs, access."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from seatflow.commands._common import CLI_ACTOR
from seatflow.domain.clock import utcnow
from seatflow.services import dispatch, quality
from seatflow.services._tx import transact
from seatflow.store import tables

from .conftest import Center
from .test_quality_gold import FACE, OTHER, faces_gold, import_gold, set_quality


@pytest.fixture(autouse=True)
def _fresh_quality_cache() -> None:
    quality.project_cache.clear()


def answer_gold(center: Center, worker: str, answer: dict[str, Any], gold_ids: set[int]) -> dict[str, Any]:
    lease = center.lease(worker, "acme-faces")
    assert lease["item"]["id"] in gold_ids, lease
    resp = center.submit(worker, lease["lease_id"], answer)
    assert resp.status_code == 200, resp.text
    return lease


def test_wilson_interval() -> None:
    low, high = quality.wilson(0, 0)
    assert (low, high) == (0.0, 1.0)
    low, high = quality.wilson(8, 10)
    assert round(low, 3) == 0.490 and round(high, 3) == 0.943  # the textbook 95 % interval of 8/10
    low, high = quality.wilson(10, 10)
    assert high == 1.0 and round(low, 3) == 0.722


def test_a_spammer_is_suspended_the_lead_told_and_reinstated(center: Center) -> None:
    ordinary = center.lease("ann1", "acme-faces")  # held while suspended: given back to the queue
    gold = set(import_gold(center, "acme-faces", faces_gold(8)))
    set_quality(center, "acme-faces", gold_rate=1.0, min_gold=3, min_accuracy=0.5, alpha=0.2, beta=0.2)
    for _ in range(3):
        answer_gold(center, "ann1", OTHER, gold)
    standing = center.row("worker_standing", user_id=center.seed.users["ann1"])
    assert standing.state == "suspended"
    assert standing.reason["gold_answers"] == 3 and standing.reason["passed"] == 0
    assert center.row("tasks", id=ordinary["task_id"]).state == "ready"  # the held lease was given back
    refused = center.post("ann1", "/api/v1/leases", json={"project_id": center.seed.projects["acme-faces"]})
    body = center.problem(refused, 403, field="project_id", says="suspended from project acme-faces")
    assert body["type"].endswith("/suspended")
    assert center.count("events", entity="worker", kind="suspend") == 1
    # the lead is told why
    notices = center.get("lead", "/api/v1/quality/notices").json()["notices"]
    assert [(n["kind"], n["worker"], n["project"]) for n in notices] == [("suspended", "ann1", "acme-faces")]
    why = notices[0]["data"]
    assert why["test"] == "sprt" and why["decision"] == "suspend" and why["llr"] >= why["bound"]
    assert (why["gold_answers"], why["passed"], why["threshold"], why["ok_accuracy"]) == (3, 0, 0.5, 0.7)
    # other workers are untouched
    assert center.lease("ann2", "acme-faces")["lease_id"]
    # reinstatement by the lead; the window starts afresh (one more wrong answer does not suspend again)
    resp = center.post("lead", "/api/v1/projects/acme-faces/workers/ann1/reinstate", json={"note": "retrained"})
    assert resp.status_code == 200, resp.text
    assert center.row("worker_standing", user_id=center.seed.users["ann1"]).state == "reinstated"
    answer_gold(center, "ann1", OTHER, gold)
    assert center.row("worker_standing", user_id=center.seed.users["ann1"]).state == "reinstated"
    ack = center.post("lead", f"/api/v1/quality/notices/{notices[0]['id']}/acknowledge")
    assert ack.status_code == 200
    assert center.get("lead", "/api/v1/quality/notices").json()["notices"] == []


def test_a_good_worker_is_not_suspended(center: Center) -> None:
    gold = set(import_gold(center, "acme-faces", faces_gold(6)))
    set_quality(center, "acme-faces", gold_rate=1.0, min_gold=3, alpha=0.2, beta=0.2)
    for _ in range(6):
        answer_gold(center, "ann2", FACE, gold)
    assert center.count("worker_standing") == 0
    me = center.get("ann2", "/api/v1/quality/me").json()
    faces = next(p for p in me["projects"] if p["project"]["slug"] == "acme-faces")
    assert faces["standing"] == "active"
    assert faces["gold"]["n"] == 6 and faces["gold"]["passed"] == 6 and faces["gold"]["rate"] == 1.0
    assert 0.5 < faces["gold"]["low"] < 1.0 and faces["gold"]["high"] == 1.0


def test_qualification_test_pass_and_fail(center: Center) -> None:
    gold = set(import_gold(center, "acme-faces", faces_gold(6)))
    set_quality(center, "acme-faces", gold_rate=0.0, warmup_rate=0.0, qualification_items=2, pass_mark=1.0)
    # ann2 passes: only test items until then, ordinary work after
    answer_gold(center, "ann2", FACE, gold)
    assert center.count("worker_standing") == 0
    answer_gold(center, "ann2", FACE, gold)
    assert center.row("worker_standing", user_id=center.seed.users["ann2"]).state == "qualified"
    assert center.lease("ann2", "acme-faces")["item"]["id"] not in gold
    # ann3 fails: no work in the project, the lead is told
    answer_gold(center, "ann3", FACE, gold)
    answer_gold(center, "ann3", OTHER, gold)
    assert center.row("worker_standing", user_id=center.seed.users["ann3"]).state == "failed"
    refused = center.post("ann3", "/api/v1/leases", json={"project_id": center.seed.projects["acme-faces"]})
    center.problem(refused, 403, field="project_id", says="did not pass the qualification test")
    notices = center.get("manager", "/api/v1/quality/notices").json()["notices"]
    assert [(n["kind"], n["worker"]) for n in notices] == [("qualification_failed", "ann3")]
    results = center.get("manager", "/api/v1/quality/workers/ann3?project=acme-faces").json()["projects"][0]
    assert results["standing"] == "failed"
    assert results["test"] == {"required": 2, "answered": 2, "passed": 1, "pass_mark": 1.0}
    # ann3 still works on the other projects
    assert center.lease("ann3")["project"]["slug"] != "acme-faces"


def test_test_without_items_left_says_so(center: Center) -> None:
    set_quality(center, "acme-faces", qualification_items=2)
    refused = center.post("ann1", "/api/v1/leases", json={"project_id": center.seed.projects["acme-faces"]})
    center.problem(refused, 404, field="project_id", says="qualification test")


def test_review_acceptance_rate(center: Center) -> None:
    lease = center.lease("ann1", "acme-faces")
    assert center.submit("ann1", lease["lease_id"], FACE).status_code == 200
    review = center.lease("rev1", "acme-faces")
    resp = center.post("rev1", f"/api/v1/leases/{review['lease_id']}/review",
                       json={"verdict": "accept", "idempotency_key": "r1"})
    assert resp.status_code == 200, resp.text
    got = center.get("manager", "/api/v1/quality/workers/ann1?project=acme-faces").json()["projects"][0]
    assert got["review"]["n"] == 1 and got["review"]["accepted"] == 1 and got["review"]["rate"] == 1.0


# --- who may see and do what ----------------------------------------------------------------


def test_access_to_quality_read_outs(center: Center) -> None:
    import_gold(center, "acme-faces", faces_gold(1))
    assert center.get("ann1", "/api/v1/quality/workers/ann1").status_code == 200  # oneself
    center.problem(center.get("ann1", "/api/v1/quality/workers/ann2"), 403)
    center.problem(center.get("acme-ops", "/api/v1/quality/workers/ann1"), 403)
    center.problem(center.get("acme-ops", "/api/v1/quality/me"), 403)
    for staff in ("lead", "manager", "admin"):
        assert center.get(staff, "/api/v1/quality/workers/ann2").status_code == 200
        staff_view = center.get(staff, "/api/v1/projects/acme-faces/quality").json()
        assert "workers" in staff_view and "settings" in staff_view
    client_view = center.get("acme-ops", "/api/v1/projects/acme-faces/quality")
    assert client_view.status_code == 200
    assert set(client_view.json()) == {"project", "gold_items", "gold"}  # totals only, never a worker
    center.problem(center.get("globex-ops", "/api/v1/projects/acme-faces/quality"), 404)
    center.problem(center.get("ann1", "/api/v1/projects/acme-faces/quality"), 403)
    center.problem(center.get("ann1", "/api/v1/quality/notices"), 403)
    center.problem(center.get("acme-ops", "/api/v1/quality/notices"), 403)
    center.problem(center.get("manager", "/api/v1/quality/workers/nobody"), 404, field="worker")
    center.problem(center.get("manager", "/api/v1/quality/workers/acme-ops"), 404, field="worker")


def test_only_managers_change_settings_and_only_staff_reinstate(center: Center) -> None:
    before = center.counts()
    for who in ("ann1", "lead", "acme-ops"):
        resp = center.client.put("/api/v1/projects/acme-faces/quality", json={"gold_rate": 0.5},
                                 headers=center.as_(who))
        center.problem(resp, 403)
    for who in ("ann1", "acme-ops"):
        center.problem(center.post(who, "/api/v1/projects/acme-faces/workers/ann2/reinstate"), 403)
    assert center.counts() == before
    resp = center.client.put("/api/v1/projects/acme-faces/quality", json={"gold_rate": 0.5},
                             headers=center.as_("manager"))
    assert resp.status_code == 200 and resp.json()["settings"]["gold_rate"] == 0.5


@pytest.mark.parametrize(("body", "field"), [
    ({"gold_rate": 2}, "quality.gold_rate"),
    ({"gold_rate": "often"}, "quality.gold_rate"),
    ({"gold_rate": True}, "quality.gold_rate"),
    ({"window": 0}, "quality.window"),
    ({"window": 2.5}, "quality.window"),
    ({"qualification_items": -1}, "quality.qualification_items"),
    ({"pass_mark": None}, "quality.pass_mark"),
    ({"alpha": 0.6}, "quality.alpha"),
    ({"beta": 0}, "quality.beta"),
    ({"doubt_rate": 1.5}, "quality.doubt_rate"),
    ({"min_accuracy": 0.8}, "quality.min_accuracy"),  # not below ok_accuracy (0.7)
    ({"ok_accuracy": 0.4}, "quality.ok_accuracy"),  # not above min_accuracy (0.5)
    ({"spam": 1}, "quality.spam"),
    ({"thresholds": [1]}, "quality.thresholds"),
    ({"thresholds": {"iou": 3}}, "quality.thresholds.iou"),
    ({"thresholds": {"nope": 1}}, "quality.thresholds"),
    ([1, 2], "body"),
])
def test_bad_settings_name_the_field_and_write_nothing(center: Center, body: Any, field: str) -> None:
    before = center.counts()
    resp = center.client.put("/api/v1/projects/acme-faces/quality", json=body, headers=center.as_("manager"))
    center.problem(resp, 422, field=field)
    assert center.counts() == before
    assert center.row("projects", slug="acme-faces").quality is None


def test_bad_reinstatements(center: Center) -> None:
    before = center.counts()
    center.problem(center.post("lead", "/api/v1/projects/acme-faces/workers/ann1/reinstate"), 422, field="worker",
                   says="not suspended")
    center.problem(center.post("lead", "/api/v1/projects/nope/workers/ann1/reinstate"), 404, field="project")
    center.problem(center.post("lead", "/api/v1/projects/acme-faces/workers/ghost/reinstate"), 404, field="worker")
    resp = center.post("lead", "/api/v1/projects/acme-faces/workers/ann1/reinstate", json={"note": "x" * 2001})
    center.problem(resp, 422)
    resp = center.post("lead", "/api/v1/projects/acme-faces/workers/ann1/reinstate", json={"nope": 1})
    center.problem(resp, 422)
    center.problem(center.post("lead", "/api/v1/quality/notices/999/acknowledge"), 404)
    center.problem(center.post("lead", "/api/v1/quality/notices/0/acknowledge"), 422)
    assert center.counts() == before


def test_a_lead_reinstates_only_their_team(center: Center) -> None:
    with center.db.write() as conn:
        team = conn.execute(tables.teams.insert().returning(tables.teams.c.id),
                            {"name": "night", "created_at": utcnow()}).scalar_one()
        conn.execute(update(tables.users).where(tables.users.c.username == "ann1").values(team_id=team))
    gold = set(import_gold(center, "acme-faces", faces_gold(3)))
    set_quality(center, "acme-faces", gold_rate=1.0, min_gold=3, alpha=0.2, beta=0.2)
    for _ in range(3):
        answer_gold(center, "ann1", OTHER, gold)
    # the seeded lead has no team: ann1's notice is not theirs, and they may not reinstate ann1
    assert center.get("lead", "/api/v1/quality/notices").json()["notices"] == []
    center.problem(center.post("lead", "/api/v1/projects/acme-faces/workers/ann1/reinstate"), 403)
    assert len(center.get("manager", "/api/v1/quality/notices").json()["notices"]) == 1
    out = transact(center.db, lambda c: quality.reinstate(c, CLI_ACTOR, "acme-faces", "ann1", now=utcnow()))
    assert out["standing"] == "reinstated"


def test_a_suspended_authors_rejected_answer_is_reworked_by_someone_else(center: Center) -> None:
    first = center.lease("ann1", "acme-faces")  # ordinary work, before any gold exists
    assert center.submit("ann1", first["lease_id"], FACE).status_code == 200
    gold = set(import_gold(center, "acme-faces", faces_gold(3)))
    set_quality(center, "acme-faces", gold_rate=1.0, min_gold=3, alpha=0.2, beta=0.2)
    for _ in range(3):
        answer_gold(center, "ann1", OTHER, gold)
    assert center.row("worker_standing", user_id=center.seed.users["ann1"]).state == "suspended"
    review = center.lease("rev1", "acme-faces")
    assert review["item"]["id"] == first["item"]["id"]
    resp = center.post("rev1", f"/api/v1/leases/{review['lease_id']}/review",
                       json={"verdict": "reject", "error_tags": ["wrong box"], "idempotency_key": "rj"})
    assert resp.status_code == 200 and resp.json()["next_step"] == "rework"
    with center.db.read() as conn:
        rework = conn.execute(select(tables.tasks).where(tables.tasks.c.item_id == first["item"]["id"],
                                                         tables.tasks.c.kind == "annotate",
                                                         tables.tasks.c.state == "ready")).one()
    assert rework.assignee_id is None  # not reserved for the suspended author


def test_an_expired_gold_lease_comes_back_to_the_same_worker_once(center: Center) -> None:
    gold = set(import_gold(center, "acme-faces", faces_gold(2)))
    set_quality(center, "acme-faces", gold_rate=1.0)
    first = center.lease("ann1", "acme-faces")
    assert first["item"]["id"] in gold
    transact(center.db, lambda c: dispatch.reap_expired(c, now=utcnow() + timedelta(hours=2)))
    again = center.lease("ann1", "acme-faces")
    assert again["item"]["id"] == first["item"]["id"] and again["task_id"] == first["task_id"]
    assert center.submit("ann1", again["lease_id"], FACE).status_code == 200
    other = center.lease("ann1", "acme-faces")
    assert other["item"]["id"] in gold - {first["item"]["id"]}
    assert center.submit("ann1", other["lease_id"], FACE).status_code == 200
    assert center.count("gold_results", user_id=center.seed.users["ann1"]) == 2
    assert center.lease("ann1", "acme-faces")["item"]["id"] not in gold  # no gold left for ann1


def test_with_the_defaults_a_spammer_is_suspended_within_50_answers_and_an_expert_is_not(center: Center) -> None:
    """The default rule through the real engine: gold at the warm-up rate, scored, suspension on the Wilson bound."""
    import random

    from seatflow.services import imports
    from seatflow.services.imports import Record

    classes = ["positive", "neutral", "negative"]
    gold_rows = [{"external_id": f"g{k}", "payload": {"text": f"gold {k}", "gold": {"classes": [classes[k % 3]]}}}
                 for k in range(60)]
    gold = set(import_gold(center, "acme-text", gold_rows))
    truth = {i: classes[k % 3] for k, i in enumerate(sorted(gold))}
    more = [Record("more", n, {"external_id": f"t{n}", "payload": {"text": f"text {n}"}}) for n in range(120)]
    assert imports.import_records(center.db, None, "acme-text", more, source="more").error is None
    random.seed(5)  # the gold draws; the spammer's own choices come from rng
    rng = random.Random(7)
    suspended_after = None
    for n in range(1, 51):
        lease = center.lease("ann1", "acme-text")
        center.submit("ann1", lease["lease_id"], {"classes": [rng.choice(classes)]})
        if center.count("worker_standing", state="suspended"):
            suspended_after = n
            break
    assert suspended_after is not None and suspended_after <= 50
    print(f"\n[{center.db.dialect}] spammer suspended after {suspended_after} answers")
    body = center.problem(center.post("ann1", "/api/v1/leases",
                                      json={"project_id": center.seed.projects["acme-text"]}), 403)
    assert body["standing"] == "suspended"
    for _ in range(50):  # an expert: right on every gold item
        lease = center.lease("ann2", "acme-text")
        item = lease["item"]["id"]
        center.submit("ann2", lease["lease_id"], {"classes": [truth.get(item, "positive")]})
    assert center.count("worker_standing", user_id=center.seed.users["ann2"]) == 0
    mine = center.get("ann2", "/api/v1/quality/me").json()["projects"]
    text = next(p for p in mine if p["project"]["slug"] == "acme-text")
    assert text["gold"]["n"] >= 10 and text["gold"]["rate"] == 1.0


def test_the_sequential_test_with_the_defaults_and_gold_while_in_doubt(center: Center) -> None:
    """Default test (H0 0.7, H1 0.5, alpha 0.005, beta 0.05): the upper bound log(0.95 / 0.005) = 5.247 takes
    11 wrong answers in a row (each adds log(0.5 / 0.3) = 0.51). One gold answer comes from the warm-up;
    the rest only because the test leans toward suspension (the gold rate itself is 0)."""
    gold = set(import_gold(center, "acme-faces", faces_gold(14)))
    set_quality(center, "acme-faces", gold_rate=0.0, warmup_rate=1.0, warmup_gold=1)
    # a good start: the test does not lean toward suspension, so the next lease is ordinary work
    answer_gold(center, "ann2", FACE, gold)
    assert center.lease("ann2", "acme-faces")["item"]["id"] not in gold
    # a bad start: every lease is gold while the test leans toward suspension
    for _ in range(10):
        answer_gold(center, "ann1", OTHER, gold)
    assert center.count("worker_standing") == 0
    me = center.get("ann1", "/api/v1/quality/me").json()
    faces = next(p for p in me["projects"] if p["project"]["slug"] == "acme-faces")
    assert faces["suspension_test"]["decision"] == "continue" and faces["suspension_test"]["answers"] == 10
    assert faces["suspension_test"]["llr"] < faces["suspension_test"]["suspend_at"] == 5.247
    answer_gold(center, "ann1", OTHER, gold)
    standing = center.row("worker_standing", user_id=center.seed.users["ann1"])
    assert standing.state == "suspended"
    assert (standing.reason["test"], standing.reason["gold_answers"], standing.reason["passed"]) == ("sprt", 11, 0)
    assert standing.reason["alpha"] == 0.005 and standing.reason["beta"] == 0.05


def test_a_retired_setting_is_accepted_and_ignored() -> None:
    cfg = quality.parse_config({"z": 1.28, "min_gold": 5})
    assert cfg.min_gold == 5 and "z" not in cfg.to_json()
    assert quality.parse_config({"min_accuracy": None, "ok_accuracy": 0.3}).sprt() is None
