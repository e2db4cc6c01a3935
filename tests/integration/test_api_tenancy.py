"""Tenancy and roles: a client sees only its own data, a worker only the items leased to them."""

from __future__ import annotations

import pytest

from .conftest import GOOD_ANSWERS, Center


def _done_item(center: Center, project: str) -> int:
    """Run one item of ``project`` (overlap 1, no review) to done; returns its id."""
    lease = center.lease("ann1", project)
    assert center.submit("ann1", lease["lease_id"], GOOD_ANSWERS[project]).status_code == 200
    return int(lease["item"]["id"])


# --- client users ---------------------------------------------------------------------------


def test_client_lists_only_its_own_projects(center: Center) -> None:
    body = center.get("acme-ops", "/api/v1/projects").json()
    assert sorted(p["slug"] for p in body["items"]) == ["acme-faces", "acme-mod", "acme-text"]
    assert body["total"] == 3
    body = center.get("globex-ops", "/api/v1/projects").json()
    assert [p["slug"] for p in body["items"]] == ["globex-tickets"] and body["total"] == 1
    staff = center.get("manager", "/api/v1/projects").json()
    assert staff["total"] == 4


@pytest.mark.parametrize("ref", ["slug", "id"])
def test_client_cannot_read_another_clients_project(center: Center, ref: str) -> None:
    other = "globex-tickets" if ref == "slug" else str(center.seed.projects["globex-tickets"])
    body = center.problem(center.get("acme-ops", f"/api/v1/projects/{other}"), 404)
    assert "globex" not in body["detail"].replace(other, "")  # nothing about the other client leaks
    own = "acme-mod" if ref == "slug" else str(center.seed.projects["acme-mod"])
    assert center.get("acme-ops", f"/api/v1/projects/{own}").json()["slug"] == "acme-mod"


def test_other_clients_project_looks_exactly_like_a_missing_one(center: Center) -> None:
    hidden = center.get("acme-ops", f"/api/v1/projects/{center.seed.projects['globex-tickets']}")
    missing = center.get("acme-ops", "/api/v1/projects/999999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["type"] == missing.json()["type"]
    assert hidden.json()["title"] == missing.json()["title"]


def test_client_cannot_list_another_clients_items(center: Center) -> None:
    center.problem(center.get("acme-ops", "/api/v1/projects/globex-tickets/items"), 404)
    own = center.get("globex-ops", "/api/v1/projects/globex-tickets/items").json()
    assert [i["external_id"] for i in own["items"]] == ["ticket-1", "ticket-2"]


def test_client_cannot_read_another_clients_item_by_id(center: Center) -> None:
    for item_id in center.seed.items["globex-tickets"]:
        center.problem(center.get("acme-ops", f"/api/v1/items/{item_id}"), 404)
    for item_id in center.seed.items["acme-mod"]:
        assert center.get("acme-ops", f"/api/v1/items/{item_id}").status_code == 200
        center.problem(center.get("globex-ops", f"/api/v1/items/{item_id}"), 404)


def test_client_cannot_export_another_clients_project(center: Center) -> None:
    done = _done_item(center, "globex-tickets")
    center.problem(center.get("acme-ops", "/api/v1/projects/globex-tickets/export.jsonl"), 404)
    own = center.get("globex-ops", "/api/v1/projects/globex-tickets/export.jsonl")
    assert own.status_code == 200
    lines = own.text.splitlines()
    assert len(lines) == 1 and f'"item_id":{done}' in lines[0]
    assert "worker_id" not in lines[0]  # a client never sees who did the work


def test_client_status_rows_are_its_own(center: Center) -> None:
    rows = center.get("acme-ops", "/api/v1/status").json()["projects"]
    assert sorted(r["slug"] for r in rows) == ["acme-faces", "acme-mod", "acme-text"]
    assert {r["client"] for r in rows} == {"acme"}
    rows = center.get("globex-ops", "/api/v1/status").json()["projects"]
    assert [(r["slug"], r["items"]) for r in rows] == [("globex-tickets", 2)]


def test_client_sees_only_itself_in_clients(center: Center) -> None:
    body = center.get("acme-ops", "/api/v1/clients").json()
    assert [c["slug"] for c in body["items"]] == ["acme"] and body["total"] == 1


def test_client_cannot_import_into_another_clients_project(center: Center) -> None:
    before = center.counts()
    resp = center.post("acme-ops", "/api/v1/projects/globex-tickets/items",
                       json={"items": [{"external_id": "x", "payload": {"customer": {"name": "a"}, "message": "m",
                                                                          "order": {"order_id": "1"}}}]})
    center.problem(resp, 404)
    assert center.counts() == before


def test_client_pushes_work_into_its_own_projects(center: Center) -> None:
    """A client's system pushes items by API or upload (docs/api.md: clients import into their own projects)."""
    project_id = center.seed.projects["globex-tickets"]
    ticket = {"customer": {"name": "Wang"}, "message": "Late parcel", "order": {"order_id": "SO-77"}}
    resp = center.post("globex-ops", "/api/v1/projects/globex-tickets/items",
                       json={"items": [{"external_id": "t-77", "payload": ticket}]})
    assert resp.status_code == 201, resp.text
    assert resp.json()["imported"] == 1
    lines = '{"external_id": "t-78", "customer": {"name": "Zhao"}, "message": "Hi", "order": {"order_id": "SO-78"}}\n'
    resp = center.post("globex-ops", "/api/v1/projects/globex-tickets/imports",
                       files={"file": ("tickets.jsonl", lines.encode(), "application/x-ndjson")})
    assert resp.status_code == 201, resp.text
    assert center.count("items", project_id=project_id) == 4
    before = center.counts()
    center.problem(center.post("lead", "/api/v1/projects/globex-tickets/items",
                               json={"items": [{"external_id": "t-79", "payload": ticket}]}), 403)
    assert center.counts() == before


def test_client_cannot_take_leases(center: Center) -> None:
    before = center.counts()
    center.problem(center.post("acme-ops", "/api/v1/leases"), 403, says="client")
    center.problem(center.post("acme-ops", "/api/v1/leases",
                               json={"project_id": center.seed.projects["acme-mod"]}), 403)
    assert center.counts() == before


def test_client_cannot_manage_the_center(center: Center) -> None:
    before = center.counts()
    center.problem(center.post("acme-ops", "/api/v1/projects",
                               json={"slug": "acme-new", "name": "n", "client": "acme", "work_type": "moderation"}),
                   403)
    center.problem(center.post("acme-ops", "/api/v1/users", json={"username": "sneaky", "role": "admin",
                                                                 "password": "long-enough-1"}), 403)
    center.problem(center.post("acme-ops", "/api/v1/clients", json={"slug": "x", "name": "X"}), 403)
    center.problem(center.get("acme-ops", "/api/v1/users"), 403)
    center.problem(center.post("acme-ops", "/api/v1/users/ann1/qualifications", json={"project": "acme-mod"}), 403)
    assert center.counts() == before


# --- workers --------------------------------------------------------------------------------


def test_worker_sees_an_item_only_while_it_is_leased_to_them(center: Center) -> None:
    lease = center.lease("ann1", "acme-mod")
    item_id = lease["item"]["id"]
    resp = center.get("ann1", f"/api/v1/items/{item_id}")
    assert resp.status_code == 200 and resp.json()["payload"] == lease["item"]["payload"]
    assert "result" not in resp.json()
    center.problem(center.get("ann2", f"/api/v1/items/{item_id}"), 404)  # not leased to ann2

    assert center.submit("ann1", lease["lease_id"], {"decision": "approve"}).status_code == 200
    center.problem(center.get("ann1", f"/api/v1/items/{item_id}"), 404)  # the lease is over


def test_worker_cannot_guess_item_ids(center: Center) -> None:
    center.lease("ann1", "acme-mod")
    all_items = [i for ids in center.seed.items.values() for i in ids]
    leased = {int(center.row("tasks", leased_by=center.seed.users["ann1"], state="leased").item_id)}
    for item_id in [*all_items, max(all_items) + 1, 0]:
        resp = center.get("ann1", f"/api/v1/items/{item_id}")
        if item_id in leased:
            assert resp.status_code == 200
        else:
            body = center.problem(resp, 404)
            assert body["detail"] == f"item {item_id} not found"  # same answer as a missing item


def test_worker_cannot_list_items_or_export(center: Center) -> None:
    center.problem(center.get("ann1", "/api/v1/projects/acme-mod/items"), 403, says="leases")
    _done_item(center, "acme-mod")
    center.problem(center.get("ann1", "/api/v1/projects/acme-mod/export.jsonl"), 403, says="leases")


def test_worker_sees_only_projects_they_are_qualified_for(center: Center) -> None:
    body = center.get("rev1", "/api/v1/projects").json()
    assert [p["slug"] for p in body["items"]] == ["acme-faces"] and body["total"] == 1
    center.problem(center.get("rev1", "/api/v1/projects/acme-mod"), 404)
    assert center.get("idle", "/api/v1/projects").json() == {
        "items": [], "total": 0, "offset": 0, "limit": 50, "next": None}


def test_worker_cannot_create_projects_users_clients_or_grants(center: Center) -> None:
    before = center.counts()
    center.problem(center.post("ann1", "/api/v1/projects",
                               json={"slug": "mine", "name": "n", "client": "acme", "work_type": "moderation"}), 403)
    center.problem(center.post("ann1", "/api/v1/users",
                               json={"username": "friend", "role": "worker", "password": "long-enough-1"}), 403)
    center.problem(center.post("ann1", "/api/v1/clients", json={"slug": "x", "name": "X"}), 403)
    center.problem(center.post("ann1", "/api/v1/users/ann1/qualifications", json={"project": "acme-faces",
                                                                                 "skill": "review"}), 403)
    center.problem(center.post("ann1", "/api/v1/projects/acme-mod/items",
                               json={"items": [{"external_id": "x", "payload": {"kind": "text", "text": "t"}}]}), 403)
    center.problem(center.get("ann1", "/api/v1/users"), 403)
    center.problem(center.get("ann1", "/api/v1/clients"), 403)
    center.problem(center.get("ann1", "/api/v1/status"), 403)
    assert center.counts() == before


def test_lead_may_grant_but_not_create_projects_or_users(center: Center) -> None:
    resp = center.post("lead", "/api/v1/users/idle/qualifications", json={"project": "acme-mod"})
    assert resp.status_code == 201 and resp.json()["created"] is True
    before = center.counts()
    center.problem(center.post("lead", "/api/v1/projects",
                               json={"slug": "p", "name": "n", "client": "acme", "work_type": "moderation"}), 403)
    center.problem(center.post("lead", "/api/v1/users", json={"username": "someone", "role": "worker"}), 403)
    assert center.counts() == before
