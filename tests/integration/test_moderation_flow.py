"""Decisions of the moderation gate: each one a decision row and exactly one outbox event in the same
transaction; escalation to seniors; machine decisions with a sampled audit; appeals decided by another person."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from seatflow.services import accounts, moderation_flow, projects
from seatflow.store import tables

from ._moderation import GATE, POLICY, gate_center
from .conftest import AppFactory, Center

ITEMS = "/api/v1/moderation/items"
HOOK = "http://127.0.0.1:9/hook"


@pytest.fixture
def gate(app_factory: AppFactory) -> Center:
    return gate_center(app_factory)


def push(center: Center, ext: str, text: str = "a cat on a sofa", project: str = GATE, **kw: Any) -> dict[str, Any]:
    resp = center.post("acme-ops", ITEMS, json={"project": project, "external_id": ext, "text": text,
                                                "callback_url": HOOK, **kw})
    assert resp.status_code == 201, resp.text
    out: dict[str, Any] = resp.json()
    return out


def item(center: Center, ext: str) -> dict[str, Any]:
    resp = center.get("acme-ops", f"{ITEMS}/{ext}")
    assert resp.status_code == 200, resp.text
    out: dict[str, Any] = resp.json()
    return out


def review(center: Center, user: str, lease_id: int, verdict: str, key: str, **kw: Any) -> Any:
    return center.post(user, f"/api/v1/leases/{lease_id}/review",
                       json={"verdict": verdict, "idempotency_key": key, **kw})


def events(center: Center, item_id: int) -> list[Any]:
    with center.db.read() as conn:
        return list(conn.execute(select(tables.outbox).where(tables.outbox.c.item_id == item_id)
                                 .order_by(tables.outbox.c.id)))


def test_a_moderator_decision_is_one_decision_row_and_one_outbox_event(gate: Center) -> None:
    pushed = push(gate, "p-1")
    lease = gate.lease("ann1", GATE)
    assert lease["item"]["external_id"] == "p-1"
    answer = {"decision": "reject", "reasons": ["fraud", "violence"], "note": "scam link"}
    assert gate.submit("ann1", lease["lease_id"], answer, key="k1").status_code == 200
    assert gate.submit("ann1", lease["lease_id"], answer, key="k1").json()["replayed"] is True
    got = item(gate, "p-1")
    assert got["state"] == "decided"
    d = got["decision"]
    assert (d["decision_no"], d["decision"], d["source"], d["within_deadline"]) == (1, "reject", "moderator", True)
    assert [r["code"] for r in d["reasons"]] == ["violence", "fraud"]  # gravest first
    assert d["reasons"][0] == {"code": "violence", "title": "Graphic violence or gore", "severity": 4}
    [event] = events(gate, pushed["id"])
    assert event.topic == "moderation.decided" and event.state == "pending"
    assert event.idempotency_key == f"moderation.decided:{pushed['id']}:1" and event.target_url == HOOK
    body = event.payload
    assert body["external_id"] == "p-1" and body["decision"] == "reject" and body["decision_no"] == 1
    assert body["source"] == "moderator" and body["note"] == "scam link" and body["within_deadline"] is True
    decision = gate.row("moderation_decisions", item_id=pushed["id"])
    assert decision.outbox_id == event.id and decision.decided_by == gate.seed.users["ann1"]


def test_a_decision_that_fails_leaves_neither_its_rows_nor_its_event(gate: Center,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    pushed = push(gate, "p-2")
    lease = gate.lease("ann1", GATE)
    real = moderation_flow.repo.insert_decision

    def broken(conn: Any, row: dict[str, Any]) -> int:
        real(conn, row)
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(moderation_flow.repo, "insert_decision", broken)
    before = gate.counts()
    with pytest.raises(RuntimeError, match="disk is full"):
        gate.submit("ann1", lease["lease_id"], {"decision": "approve"}, key="k2")
    assert gate.counts() == before  # no submission, no decision, no outbox event: one transaction
    assert events(gate, pushed["id"]) == []
    monkeypatch.setattr(moderation_flow.repo, "insert_decision", real)
    assert gate.submit("ann1", lease["lease_id"], {"decision": "approve"}, key="k2").status_code == 200
    assert [e.topic for e in events(gate, pushed["id"])] == ["moderation.decided"]


def test_an_escalated_item_goes_to_a_senior_who_must_decide_it(gate: Center) -> None:
    pushed = push(gate, "p-3")
    lease = gate.lease("ann1", GATE)
    resp = gate.submit("ann1", lease["lease_id"], {"decision": "escalate", "note": "not sure"}, key="e1")
    assert resp.json()["next_step"] == "review"
    assert item(gate, "p-3")["state"] == "escalated" and events(gate, pushed["id"]) == []
    gate.problem(gate.post("ann2", "/api/v1/leases", json={"project_id": gate.seed.projects[GATE]}), 404)
    senior = gate.lease("rev1", GATE)
    assert senior["kind"] == "review" and senior["review_of"]["answer"]["decision"] == "escalate"
    before = gate.counts()
    gate.problem(review(gate, "rev1", senior["lease_id"], "accept", "s1"), 422, field="fixed_answer",
                 says="decides nothing")
    assert gate.counts() == before
    resp = review(gate, "rev1", senior["lease_id"], "accept", "s1",
                  fixed_answer={"decision": "reject", "reasons": ["minors"]})
    assert resp.status_code == 200, resp.text
    d = item(gate, "p-3")["decision"]
    assert (d["decision"], d["source"], [r["code"] for r in d["reasons"]]) == ("reject", "senior", ["minors"])
    assert gate.row("moderation_decisions", item_id=pushed["id"]).decided_by == gate.seed.users["rev1"]
    assert len(events(gate, pushed["id"])) == 1


def test_a_senior_may_send_an_escalation_back_to_its_moderator(gate: Center) -> None:
    push(gate, "p-4")
    lease = gate.lease("ann1", GATE)
    gate.submit("ann1", lease["lease_id"], {"decision": "escalate"}, key="e2")
    senior = gate.lease("rev1", GATE)
    assert review(gate, "rev1", senior["lease_id"], "reject", "s2", comment="clear case, decide it").json()[
        "next_step"] == "rework"
    back = gate.lease("ann1", GATE)
    assert back["rework_of"]["reviews"][0]["comment"] == "clear case, decide it"
    assert gate.submit("ann1", back["lease_id"], {"decision": "approve"}, key="e3").json()["next_step"] == "accepted"
    assert item(gate, "p-4")["decision"]["source"] == "moderator"


def test_an_appeal_is_decided_by_a_different_moderator_and_both_decisions_are_kept(gate: Center) -> None:
    with gate.db.write() as conn:  # ann1 could take senior tasks too: dispatch must still not give it to them
        accounts.grant(conn, None, username="ann1", project_slug=GATE, skill="review")
    pushed = push(gate, "p-5")
    gate.problem(gate.post("acme-ops", f"{ITEMS}/p-5/appeal", json={"reason": "too early"}), 409,
                 says="no decision yet")
    lease = gate.lease("ann1", GATE)
    gate.submit("ann1", lease["lease_id"], {"decision": "reject", "reasons": ["fraud"]}, key="a1")
    resp = gate.post("acme-ops", f"{ITEMS}/p-5/appeal", json={"reason": "it is a real shop"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["state"] == "appealed" and resp.json()["appeals"][0]["decision_no"] == 1
    again = gate.post("acme-ops", f"{ITEMS}/p-5/appeal", json={"reason": "it is a real shop"})
    assert again.status_code == 200 and len(again.json()["appeals"]) == 1
    gate.problem(gate.post("acme-ops", f"{ITEMS}/p-5/appeal", json={"reason": "other"}), 409, field="external_id")
    gate.problem(gate.post("ann1", "/api/v1/leases", json={"project_id": gate.seed.projects[GATE]}), 404)
    senior = gate.lease("rev1", GATE)
    assert senior["review_of"]["answer"] == {"decision": "reject", "reasons": ["fraud"], "note": None}
    gate.problem(review(gate, "rev1", senior["lease_id"], "reject", "ap1", comment="no"), 422, field="verdict")
    resp = review(gate, "rev1", senior["lease_id"], "accept", "ap1", fixed_answer={"decision": "approve"})
    assert resp.status_code == 200, resp.text
    got = item(gate, "p-5")
    assert got["state"] == "decided" and got["appeals"][0]["state"] == "decided"
    assert [(d["decision_no"], d["decision"], d["source"]) for d in got["decisions"]] == [
        (1, "reject", "moderator"), (2, "approve", "appeal")]
    first, second = events(gate, pushed["id"])
    assert first.topic == "moderation.decided" and second.topic == "moderation.appeal_decided"
    assert second.idempotency_key == f"moderation.appeal_decided:{pushed['id']}:2"
    assert second.payload["appeal"] == {"id": got["appeals"][0]["id"], "reason": "it is a real shop",
                                        "previous_decision_no": 1, "previous_decision": "reject",
                                        "outcome": "changed"}
    assert gate.row("moderation_decisions", item_id=pushed["id"], decision_no=2).decided_by == gate.seed.users["rev1"]
    # the item's result (what exports carry) ends with the decision in force, after the first answer
    result = gate.row("items", id=pushed["id"]).result
    assert [r["answer"]["decision"] for r in result] == ["reject", "approve"]
    assert result[-1]["appeal_id"] == got["appeals"][0]["id"] and result[-1]["previous_decision_no"] == 1
    assert result[-1]["worker_id"] == gate.seed.users["rev1"]
    export = gate.get("acme-ops", f"/api/v1/projects/{GATE}/export?format=jsonl")
    assert export.status_code == 200, export.text
    [line] = [json.loads(x) for x in export.text.splitlines() if json.loads(x)["external_id"] == "p-5"]
    assert line["answer"]["decision"] == "approve" and len(line["answers"]) == 2


def test_an_upheld_appeal_says_so(gate: Center) -> None:
    push(gate, "p-6")
    lease = gate.lease("ann1", GATE)
    gate.submit("ann1", lease["lease_id"], {"decision": "approve"}, key="u1")
    gate.post("acme-ops", f"{ITEMS}/p-6/appeal", json={"reason": "check again"})
    senior = gate.lease("rev1", GATE)
    assert review(gate, "rev1", senior["lease_id"], "accept", "u2").status_code == 200
    got = item(gate, "p-6")
    assert got["decision"]["source"] == "appeal" and got["decision"]["decision"] == "approve"
    assert gate.row("outbox", topic="moderation.appeal_decided").payload["appeal"]["outcome"] == "upheld"


def _auto_project(center: Center, slug: str, audit_rate: float) -> None:
    policy = {**POLICY, "prescreen": {"auto_reject_above": 0.5, "audit_rate": audit_rate}}
    with center.db.write() as conn:
        pid = projects.create_project(conn, None, {"slug": slug, "name": slug, "client": "acme",
                                                   "work_type": "moderation", "label_schema": policy,
                                                   "sla_minutes": 5})
        for user in ("ann1", "ann2"):
            accounts.grant(conn, None, username=user, project_slug=slug, skill="annotate")
        accounts.grant(conn, None, username="rev1", project_slug=slug, skill="review")
    center.seed.projects[slug] = pid


def test_a_machine_rejection_without_audit_is_final_and_sent(gate: Center) -> None:
    _auto_project(gate, "auto-none", audit_rate=0.0)
    pushed = push(gate, "m-1", text="free money for you", project="auto-none")
    assert pushed["state"] == "decided"
    d = pushed["decision"]
    assert (d["decision"], d["source"], [r["code"] for r in d["reasons"]]) == ("reject", "machine", ["fraud"])
    assert gate.count("tasks", item_id=pushed["id"]) == 0
    [event] = events(gate, pushed["id"])
    assert event.payload["source"] == "machine" and event.payload["prescreen_score"] == 0.6
    assert gate.row("items", id=pushed["id"]).state == "done"
    # its appeal goes to a person (a fresh decision: there is no answer to review)
    gate.post("acme-ops", f"{ITEMS}/m-1/appeal", json={"reason": "a joke between friends", "project": "auto-none"})
    lease = gate.lease("ann2", "auto-none")
    assert lease["kind"] == "annotate"
    assert gate.submit("ann2", lease["lease_id"], {"decision": "approve"}, key="m1").status_code == 200
    got = gate.get("acme-ops", f"{ITEMS}/m-1", params={"project": "auto-none"}).json()
    assert [(d["decision"], d["source"]) for d in got["decisions"]] == [("reject", "machine"), ("approve", "appeal")]


def test_a_sampled_machine_rejection_is_audited_by_a_person(gate: Center) -> None:
    _auto_project(gate, "auto-all", audit_rate=1.0)
    pushed = push(gate, "m-2", text="free money for you", project="auto-all")
    assert pushed["decision"]["source"] == "machine"
    gate.problem(gate.post("acme-ops", f"{ITEMS}/m-2/appeal", json={"reason": "x", "project": "auto-all"}), 409,
                 says="audit")
    lease = gate.lease("ann1", "auto-all")
    assert lease["item"]["payload"]["prescreen_score"] == 0.6  # the moderator sees the score
    gate.submit("ann1", lease["lease_id"], {"decision": "approve"}, key="m2")
    got = gate.get("acme-ops", f"{ITEMS}/m-2", params={"project": "auto-all"}).json()
    assert [(d["decision_no"], d["decision"], d["source"]) for d in got["decisions"]] == [
        (1, "reject", "machine"), (2, "approve", "audit")]
    assert [e.idempotency_key for e in events(gate, pushed["id"])] == [
        f"moderation.decided:{pushed['id']}:1", f"moderation.decided:{pushed['id']}:2"]


def test_high_scores_are_routed_first_then_earliest_deadline(gate: Center) -> None:
    push(gate, "late", deadline="2099-01-01T12:00:00Z")
    push(gate, "soon", deadline="2099-01-01T10:00:00Z")
    push(gate, "risky", text="kill them", deadline="2099-01-01T13:00:00Z")  # violence keyword: score 0.8
    order = []
    for user in ("ann1", "ann2", "ann3"):
        order.append(gate.lease(user, GATE)["item"]["external_id"])
    assert order == ["risky", "soon", "late"]
