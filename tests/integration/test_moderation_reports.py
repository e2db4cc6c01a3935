"""What the team lead and the client read: SLA figures on a known set, the breach forecast, pulling seats
onto a project (API and page)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from seatflow.domain.clock import utcnow
from seatflow.store import moderation as repo

from ._moderation import GATE, gate_center
from .conftest import AppFactory, Center

ITEMS = "/api/v1/moderation/items"


@pytest.fixture
def gate(app_factory: AppFactory) -> Center:
    return gate_center(app_factory)


def push(center: Center, ext: str, **kw: Any) -> dict[str, Any]:
    resp = center.post("acme-ops", ITEMS, json={"project": GATE, "external_id": ext, "text": "hello", **kw})
    assert resp.status_code == 201, resp.text
    out: dict[str, Any] = resp.json()
    return out


def test_sla_figures_on_a_known_set(gate: Center) -> None:
    hour = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    # 3 h back: the last one is decided over 1 h ago whatever the minute now.
    # (received at minute, seconds to decide, deadline minute after the hour): 4 in one hour, 1 in the next
    known = [(0, 30, 5), (1, 60, 5), (2, 90, 5), (3, 600, 5), (61, 20, 70)]
    with gate.db.write() as conn:
        for n, (minute, took, due) in enumerate(known):
            received = hour + timedelta(minutes=minute)
            item_id = repo.insert_item(conn, {
                "client_id": gate.seed.clients["acme"], "project_id": gate.seed.projects[GATE],
                "external_id": f"k{n}", "payload": {"kind": "text", "text": "x"}, "priority": 0,
                "deadline": hour + timedelta(minutes=due), "state": "done", "created_at": received})
            assert item_id is not None
            repo.insert_decision(conn, {
                "client_id": gate.seed.clients["acme"], "project_id": gate.seed.projects[GATE], "item_id": item_id,
                "decision_no": 1, "source": "moderator", "decision": "approve", "reasons": [],
                "received_at": received, "deadline": hour + timedelta(minutes=due),
                "decided_at": received + timedelta(seconds=took)})
            if n == 0:  # an appeal's decision does not count as a time to decision
                repo.insert_decision(conn, {
                    "client_id": gate.seed.clients["acme"], "project_id": gate.seed.projects[GATE],
                    "item_id": item_id, "decision_no": 2, "source": "appeal", "decision": "reject",
                    "reasons": ["fraud"], "received_at": received, "deadline": hour + timedelta(minutes=due),
                    "decided_at": received + timedelta(hours=1)})
    resp = gate.get("acme-ops", "/api/v1/moderation/sla", params={"project": GATE, "hours": 6})
    assert resp.status_code == 200, resp.text
    [row] = resp.json()["projects"]
    assert (row["project"], row["decided"], row["within_deadline"]) == (GATE, 5, 4)
    assert row["share_within_deadline"] == 0.8
    assert (row["p50_seconds"], row["p95_seconds"]) == (60.0, 600.0)  # sorted: 20 30 60 90 600
    first, second = row["by_hour"]
    assert first["hour"] == hour.isoformat() and second["hour"] == (hour + timedelta(hours=1)).isoformat()
    assert (first["decided"], first["within_deadline"], first["p50_seconds"], first["p95_seconds"]) == (
        4, 3, 60.0, 600.0)
    assert (second["decided"], second["share_within_deadline"], second["p50_seconds"]) == (1, 1.0, 20.0)
    # a window that ends before them sees none; another client sees none of them
    assert gate.get("manager", "/api/v1/moderation/sla", params={"project": GATE, "hours": 1}).json()[
        "projects"][0]["decided"] == 0
    assert all(p["project"] != GATE for p in gate.get("globex-ops", "/api/v1/moderation/sla").json()["projects"])
    gate.problem(gate.get("globex-ops", "/api/v1/moderation/sla", params={"project": GATE}), 404)
    gate.problem(gate.get("ann1", "/api/v1/moderation/sla"), 403)
    gate.problem(gate.get("manager", "/api/v1/moderation/sla", params={"hours": 0}), 422, field="hours")


def test_a_decision_made_through_the_api_counts_in_the_sla(gate: Center) -> None:
    push(gate, "s-1")
    lease = gate.lease("ann1", GATE)
    gate.submit("ann1", lease["lease_id"], {"decision": "approve"})
    [row] = gate.get("lead", "/api/v1/moderation/sla", params={"project": GATE}).json()["projects"]
    assert row["decided"] == 1 and row["within_deadline"] == 1 and row["p50_seconds"] < 60


def test_the_forecast_names_the_items_that_will_breach_and_the_seats_needed(gate: Center) -> None:
    soon = (utcnow() + timedelta(minutes=3)).isoformat()
    for n in range(4):
        push(gate, f"f-{n}", deadline=soon)
    push(gate, "f-later", deadline=(utcnow() + timedelta(hours=3)).isoformat())
    body = gate.get("lead", f"/api/v1/moderation/projects/{GATE}/forecast").json()
    moderators = next(q for q in body["queues"] if q["kind"] == "annotate")
    assert (moderators["backlog"], moderators["seats"], moderators["aht_source"]) == (5, 0, "assumed")
    assert moderators["breaching"] == 5  # nobody works the queue: every item with a deadline will be late
    assert [i["external_id"] for i in moderators["breaching_items"]] == ["f-0", "f-1", "f-2", "f-3", "f-later"]
    assert moderators["breaching_items"][0]["expected_start"] is None
    assert moderators["seats_needed"] == 2  # 60 s per item assumed: 2 seats decide 4 items within 2 minutes
    # a moderator at work: one seat, its handling time measured
    lease = gate.lease("ann1", GATE)
    gate.submit("ann1", lease["lease_id"], {"decision": "approve"})
    moderators = next(q for q in gate.get("manager", f"/api/v1/moderation/projects/{GATE}/forecast").json()[
        "queues"] if q["kind"] == "annotate")
    assert (moderators["seats"], moderators["aht_source"], moderators["backlog"]) == (1, "measured", 4)
    assert moderators["breaching"] == 0  # a fast seat decides the rest in time
    gate.problem(gate.get("acme-ops", f"/api/v1/moderation/projects/{GATE}/forecast"), 403)
    gate.problem(gate.get("lead", "/api/v1/moderation/projects/acme-faces/forecast"), 404, field="project")


def test_pulling_seats_onto_the_project(gate: Center) -> None:
    push(gate, "seat-1")
    gate.problem(gate.post("idle", "/api/v1/leases", json={"project_id": gate.seed.projects[GATE]}), 404)
    resp = gate.post("lead", f"/api/v1/moderation/projects/{GATE}/seats",
                     json={"usernames": ["idle", "ann1"], "skill": "annotate"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["granted"] == [{"username": "idle", "granted": True}, {"username": "ann1", "granted": False}]
    assert gate.lease("idle", GATE)["item"]["external_id"] == "seat-1"
    before = gate.counts()
    gate.problem(gate.post("lead", f"/api/v1/moderation/projects/{GATE}/seats",
                           json={"usernames": ["nobody"], "skill": "annotate"}), 404, field="username")
    gate.problem(gate.post("lead", f"/api/v1/moderation/projects/{GATE}/seats",
                           json={"usernames": ["idle"], "skill": "boss"}), 422, field="skill")
    gate.problem(gate.post("ann1", f"/api/v1/moderation/projects/{GATE}/seats",
                           json={"usernames": ["idle"], "skill": "review"}), 403)
    assert gate.counts() == before


def test_the_lead_page_shows_the_forecast_and_pulls_seats(gate: Center) -> None:
    push(gate, "page-1", deadline=(utcnow() + timedelta(minutes=2)).isoformat())
    page = gate.get("lead", "/moderation")
    assert page.status_code == 200 and 'id="project-acme-gate"' in page.text
    assert 'data-item="page-1"' in page.text  # it will breach: nobody works the queue
    resp = gate.client.post("/moderation/acme-gate/seats", headers=gate.as_("lead"),
                            data={"usernames": ["idle"], "skill": "annotate"}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].endswith("granted=1")
    assert gate.count("qualifications", user_id=gate.seed.users["idle"], skill="annotate") == 1
    shown = gate.client.get(resp.headers["location"], headers=gate.as_("lead"))
    assert 'id="seats-granted"' in shown.text
    bad = gate.client.post("/moderation/acme-gate/seats", headers=gate.as_("lead"), data={"skill": "annotate"},
                           follow_redirects=False)
    assert bad.status_code == 303 and "error=" in bad.headers["location"]
    assert gate.get("ann1", "/moderation").status_code == 403
    assert gate.get("lead", "/moderation", params={"project": "nope"}).status_code == 404
    assert gate.client.get("/moderation", follow_redirects=False).status_code == 303  # not logged in
