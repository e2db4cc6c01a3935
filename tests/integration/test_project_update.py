"""Changing a project after it was created: PATCH /api/v1/projects/{project}, `seatflow project update`.

What may change (name, instructions, SLA, price, billing, lease length, status), what may not (slug,
client, work type, label schema, workflow), who may change it, the one event a change writes, and
what pausing does to dispatch: no new leases at once in this process, reworks included, while
leases already held may still be renewed and submitted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from httpx import Response
from sqlalchemy import select, update
from typer.testing import CliRunner

from seatflow.cli import app
from seatflow.domain.clock import utcnow
from seatflow.services import quality
from seatflow.store import tables

from .conftest import GOOD_ANSWERS, Center


def patch(center: Center, username: str, project: str | int, body: Any) -> Response:
    return center.client.patch(f"/api/v1/projects/{project}", headers=center.as_(username), json=body)


def changed(center: Center, username: str, project: str | int, body: Any) -> dict[str, Any]:
    resp = patch(center, username, project, body)
    assert resp.status_code == 200, resp.text
    out: dict[str, Any] = resp.json()
    return out


def project_events(center: Center) -> list[Any]:
    with center.db.read() as conn:
        q = select(tables.events).where(tables.events.c.entity == "project").order_by(tables.events.c.id)
        return list(conn.execute(q))


def try_lease(center: Center, username: str, project: str | None = None) -> Response:
    body = {"project_id": center.seed.projects[project]} if project else None
    return center.post(username, "/api/v1/leases", json=body)


def _expires_in(lease: dict[str, Any]) -> float:
    return (datetime.fromisoformat(lease["expires_at"]) - utcnow()).total_seconds()


# --- each field -------------------------------------------------------------------------------------


def test_each_changeable_field_changes_and_get_shows_it(center: Center) -> None:
    out = changed(center, "manager", "acme-text", {
        "name": "Reviews, second round", "instructions": "Mark people and the overall tone.",
        "sla_minutes": 60, "unit_price": "0.90", "lease_seconds": 120,
    })
    assert out["slug"] == "acme-text" and out["name"] == "Reviews, second round"
    assert out["instructions"] == "Mark people and the overall tone."
    assert (out["sla_minutes"], Decimal(out["unit_price"]), out["lease_seconds"]) == (60, Decimal("0.9"), 120)
    assert center.get("manager", "/api/v1/projects/acme-text").json() == out

    # null: no SLA, the server's lease length, no instructions; a number for the price works too
    out = changed(center, "admin", center.seed.projects["acme-text"],  # by id, as an admin
                  {"sla_minutes": None, "lease_seconds": None, "instructions": None, "unit_price": 2})
    assert (out["sla_minutes"], out["lease_seconds"], out["instructions"]) == (None, None, "")
    assert Decimal(out["unit_price"]) == 2

    # billing: hours needs a rate; a rate alone keeps the mode; back to unit drops the rate
    out = changed(center, "manager", "acme-text", {"billing_mode": "hours", "hourly_rate": "45.5"})
    assert (out["billing_mode"], Decimal(out["hourly_rate"])) == ("hours", Decimal("45.5"))
    out = changed(center, "manager", "acme-text", {"hourly_rate": 50})
    assert (out["billing_mode"], Decimal(out["hourly_rate"])) == ("hours", Decimal(50))
    out = changed(center, "manager", "acme-text", {"billing_mode": "unit"})
    assert (out["billing_mode"], out["hourly_rate"]) == ("unit", None)

    out = changed(center, "manager", "acme-text", {"status": "paused"})
    assert out["status"] == "paused"
    out = changed(center, "manager", "acme-text", {"status": "active"})
    assert out["status"] == "active"
    # nothing else moved
    assert (out["work_type"], out["workflow"], out["client_id"]) == (
        "text_annotation", center.get("manager", "/api/v1/projects/acme-text").json()["workflow"],
        center.seed.clients["acme"])


def test_a_new_lease_length_applies_to_the_next_lease_at_once(center: Center) -> None:
    first = center.lease("ann1", "acme-mod")  # fills this process's cache of ann1's queues
    assert _expires_in(first) > 500  # the server's default, 600 s
    changed(center, "manager", "acme-mod", {"lease_seconds": 120})
    second = center.lease("ann1", "acme-mod")
    assert 100 < _expires_in(second) <= 120


def test_a_new_sla_reaches_the_quality_settings_cache_at_once(center: Center) -> None:
    pid = center.seed.projects["acme-mod"]
    with center.db.read() as conn:
        assert quality.project_cache.get(conn, pid).sla_minutes is None
    changed(center, "manager", "acme-mod", {"sla_minutes": 15})
    with center.db.read() as conn:
        assert quality.project_cache.get(conn, pid).sla_minutes == 15


# --- pausing ----------------------------------------------------------------------------------------


def test_pausing_stops_new_leases_at_once_and_resuming_restarts_them(center: Center) -> None:
    held = center.lease("ann1", "acme-mod")  # also caches ann1's queues in this process
    changed(center, "manager", "acme-mod", {"status": "paused"})

    # asked for by name: no-work that says it is paused (the workspace keeps asking)
    body = center.problem(try_lease(center, "ann1", "acme-mod"), 404, field="project_id", says="paused")
    assert body["type"].endswith("/no-work")
    # someone not qualified for it learns nothing about it
    body = center.problem(try_lease(center, "idle", "acme-mod"), 404, field="project_id")
    assert "paused" not in body["detail"] and body["type"].endswith("/not-found")

    # any project: everything else, never the paused one
    slugs = []
    while (resp := try_lease(center, "ann2")).status_code == 201:
        slugs.append(resp.json()["project"]["slug"])
    center.problem(resp, 404)
    assert slugs and "acme-mod" not in slugs

    # the lease held when it was paused is renewed and submitted as usual
    resp = center.post("ann1", "/api/v1/leases/heartbeat", json={"lease_ids": [held["lease_id"]]})
    assert resp.status_code == 200 and resp.json()["renewed"] == [held["lease_id"]], resp.text
    resp = center.submit("ann1", held["lease_id"], GOOD_ANSWERS["acme-mod"])
    assert resp.status_code == 200, resp.text
    assert center.row("items", id=held["item"]["id"]).state == "done"

    changed(center, "manager", "acme-mod", {"status": "active"})
    again = center.lease("ann2", "acme-mod")
    assert again["project"]["slug"] == "acme-mod"
    assert center.lease("ann3")["project"]["slug"] in {"acme-mod", "acme-faces", "acme-text", "globex-tickets"}


def test_a_paused_project_hands_out_no_rework_either(center: Center) -> None:
    first = center.lease("ann1", "acme-faces")
    assert center.submit("ann1", first["lease_id"], GOOD_ANSWERS["acme-faces"]).status_code == 200
    review = center.lease("rev1")
    resp = center.post("rev1", f"/api/v1/leases/{review['lease_id']}/review",
                       json={"verdict": "reject", "error_tags": ["loose_box"], "idempotency_key": "rev-1"})
    assert resp.status_code == 200 and resp.json()["next_step"] == "rework", resp.text

    changed(center, "manager", "acme-faces", {"status": "paused"})
    other = center.lease("ann1")
    assert other["project"]["slug"] != "acme-faces" and "rework_of" not in other
    center.problem(try_lease(center, "ann1", "acme-faces"), 404, field="project_id", says="paused")

    changed(center, "manager", "acme-faces", {"status": "active"})
    rework = center.lease("ann1")
    assert rework["item"]["id"] == first["item"]["id"] and "rework_of" in rework


# --- refused ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("field_name, value", [
    ("slug", "acme-new"), ("client", "globex"), ("client_id", 2), ("work_type", "moderation"),
    ("label_schema", {"labels": ["x"]}), ("workflow", "annotate(overlap=2)"),
])
def test_fields_fixed_at_creation_are_refused_by_name(center: Center, field_name: str, value: Any) -> None:
    before = center.counts()
    body = center.problem(patch(center, "manager", "acme-faces", {field_name: value, "name": "renamed"}), 422,
                          field=field_name, says="cannot be changed")
    assert "new project" in body["detail"]
    assert center.counts() == before and center.row("projects", slug="acme-faces").name == "acme-faces"


@pytest.mark.parametrize("body, field_name", [
    ({"colour": "red"}, "colour"),
    ({"id": 7}, "id"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": 5}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"instructions": ["a"]}, "instructions"),
    ({"sla_minutes": 0}, "sla_minutes"),
    ({"sla_minutes": -5}, "sla_minutes"),
    ({"sla_minutes": "60"}, "sla_minutes"),
    ({"sla_minutes": True}, "sla_minutes"),
    ({"sla_minutes": 1.5}, "sla_minutes"),
    ({"unit_price": -1}, "unit_price"),
    ({"unit_price": "abc"}, "unit_price"),
    ({"unit_price": "NaN"}, "unit_price"),
    ({"unit_price": True}, "unit_price"),
    ({"unit_price": None}, "unit_price"),
    ({"unit_price": "1.23456"}, "unit_price"),
    ({"unit_price": "123456789"}, "unit_price"),
    ({"lease_seconds": 9}, "lease_seconds"),
    ({"lease_seconds": 86401}, "lease_seconds"),
    ({"lease_seconds": "60"}, "lease_seconds"),
    ({"status": "closed"}, "status"),
    ({"status": None}, "status"),
    ({"billing_mode": "monthly"}, "billing_mode"),
    ({"billing_mode": "hours"}, "hourly_rate"),
    ({"billing_mode": "hours", "hourly_rate": 0}, "hourly_rate"),
    ({"hourly_rate": "45"}, "hourly_rate"),  # the project bills units
    ({"name": "fine", "sla_minutes": 30, "lease_seconds": 5}, "lease_seconds"),  # all or nothing
])
def test_bad_values_are_422_naming_the_field_and_nothing_is_written(
        center: Center, body: dict[str, Any], field_name: str) -> None:
    before, row = center.counts(), center.row("projects", slug="acme-text")
    center.problem(patch(center, "manager", "acme-text", body), 422, field=field_name)
    assert center.counts() == before and center.row("projects", slug="acme-text") == row


def test_a_body_that_is_not_an_object_is_422(center: Center) -> None:
    before = center.counts()
    center.problem(patch(center, "manager", "acme-text", ["status", "paused"]), 422)
    center.problem(center.client.patch("/api/v1/projects/acme-text", headers=center.as_("manager"),
                                       content=b"paused"), 422)
    assert center.counts() == before


# --- who may --------------------------------------------------------------------------------------


@pytest.mark.parametrize("username, project, status", [
    ("ann1", "acme-mod", 403),         # a worker qualified for it
    ("idle", "acme-mod", 404),         # a worker who may not see it
    ("lead", "acme-mod", 403),
    ("acme-ops", "acme-mod", 403),     # its own client
    ("acme-ops", "globex-tickets", 404),  # another client's project
    ("globex-ops", "acme-mod", 404),
    ("manager", "no-such-project", 404),
])
def test_only_admins_and_managers_change_projects(center: Center, username: str, project: str,
                                                  status: int) -> None:
    before = center.counts()
    body = center.problem(patch(center, username, project, {"status": "paused"}), status)
    assert ("not found" if status == 404 else "manager") in body["detail"]
    assert center.counts() == before
    assert {r.status for r in _all_projects(center)} == {"active"}


def _all_projects(center: Center) -> list[Any]:
    with center.db.read() as conn:
        return list(conn.execute(select(tables.projects)))


def test_unauthenticated_is_401(center: Center) -> None:
    center.problem(center.client.patch("/api/v1/projects/acme-mod", json={"status": "paused"}), 401)


# --- the event log --------------------------------------------------------------------------------


def test_one_event_per_change_with_old_and_new_values_and_none_without_a_change(center: Center) -> None:
    changed(center, "manager", "acme-mod", {"status": "paused", "sla_minutes": 30, "name": "acme-mod",
                                            "unit_price": "0.12"})
    [event] = project_events(center)
    assert (event.entity, event.kind, event.actor_id) == ("project", "update", center.seed.users["manager"])
    assert (event.project_id, event.client_id) == (center.seed.projects["acme-mod"], center.seed.clients["acme"])
    assert (event.from_state, event.to_state) == ("active", "paused")
    assert event.data == {"slug": "acme-mod", "changes": {
        "sla_minutes": {"old": None, "new": 30},
        "unit_price": {"old": "0.0000", "new": "0.1200"},
        "status": {"old": "active", "new": "paused"},
    }}  # the name was the same: not a change

    # the same again, and an empty body: no change, no event, the project as it is
    assert changed(center, "manager", "acme-mod", {"status": "paused", "sla_minutes": 30})["status"] == "paused"
    assert changed(center, "manager", "acme-mod", {})["sla_minutes"] == 30
    assert len(project_events(center)) == 1

    changed(center, "manager", "acme-mod", {"instructions": "Be kind."})
    event = project_events(center)[-1]
    assert (event.from_state, event.to_state) == (None, None)
    assert event.data["changes"] == {"instructions": {"old": "", "new": "Be kind."}}


# --- the command line -----------------------------------------------------------------------------


def test_cli_project_update(center: Center, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEATFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("SEATFLOW_LANG", "en")
    runner = CliRunner()

    def cli(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["project", "update", *args])
        assert result.exit_code == code, f"{result.stdout}\n{result.stderr}"
        if code:
            assert "Traceback" not in result.stderr and result.stderr.startswith("error: ")
            return result.stderr
        return result.stdout

    notes = tmp_path / "notes.txt"
    notes.write_text("Approve harmless posts.\n", encoding="utf-8")
    held = center.lease("ann1", "acme-mod")
    out = cli("acme-mod", "--pause", "--name", "Moderation", "--sla-minutes", "20", "--unit-price", "0.5",
              "--lease-seconds", "300", "--instructions-file", str(notes))
    assert "project acme-mod changed:" in out
    for line in ("name: acme-mod -> Moderation", "sla_minutes: - -> 20", "unit_price: 0.0000 -> 0.5000",
                 "lease_seconds: - -> 300", "status: active -> paused", 'instructions: "" -> Approve harmless posts.'):
        assert line in out, out
    row = center.row("projects", slug="acme-mod")
    assert (row.status, row.name, row.sla_minutes, row.lease_seconds) == ("paused", "Moderation", 20, 300)
    assert row.instructions == "Approve harmless posts.\n"
    center.problem(try_lease(center, "ann1", "acme-mod"), 404, says="paused")
    assert center.submit("ann1", held["lease_id"], GOOD_ANSWERS["acme-mod"]).status_code == 200
    [event] = project_events(center)
    assert event.actor_id is None and event.to_state == "paused"

    assert "nothing changed" in cli("acme-mod", "--pause")
    out = cli("acme-mod", "--resume", "--no-sla", "--billing-mode", "hours", "--hourly-rate", "40")
    assert "status: paused -> active" in out and "sla_minutes: 20 -> -" in out
    assert "billing_mode: unit -> hours" in out and "hourly_rate: - -> 40.0000" in out
    assert center.lease("ann2", "acme-mod")["project"]["slug"] == "acme-mod"

    before = center.counts()
    assert "not both" in cli("acme-mod", "--pause", "--resume", code=1)
    assert "not both" in cli("acme-mod", "--sla-minutes", "5", "--no-sla", code=1)
    assert "nothing to change" in cli("acme-mod", code=1)
    err = cli("acme-mod", "--lease-seconds", "5", "--name", "never", code=1)
    assert "project acme-mod: lease_seconds must be a whole number from 10 to 86400" in err
    assert "project acme-mod: billing_mode must be one of unit, hours" in cli("acme-mod", "--billing-mode", "monthly",
                                                                                code=1)
    assert "not found" in cli("nope", "--pause", code=1)
    assert center.counts() == before and center.row("projects", slug="acme-mod").name == "Moderation"


def test_cli_project_update_in_chinese(center: Center, db_url: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEATFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("SEATFLOW_LANG", "zh_CN")
    result = CliRunner().invoke(app, ["project", "update", "acme-mod", "--pause"])
    assert result.exit_code == 0, result.stderr
    assert "项目 acme-mod 已修改" in result.stdout and "由 active 改为 paused" in result.stdout


def test_held_lease_expires_back_to_the_paused_queue(center: Center) -> None:
    """A lease on a paused project that runs out returns its task to the queue; nobody gets it until resumed."""
    held = center.lease("ann1", "acme-mod")
    changed(center, "manager", "acme-mod", {"status": "paused"})
    past = utcnow() - timedelta(seconds=1)
    with center.db.write() as conn:
        conn.execute(update(tables.tasks).where(tables.tasks.c.lease_id == held["lease_id"])
                     .values(lease_expires_at=past))
        conn.execute(update(tables.leases).where(tables.leases.c.id == held["lease_id"]).values(expires_at=past))
    center.problem(try_lease(center, "ann2", "acme-mod"), 404, says="paused")
    changed(center, "manager", "acme-mod", {"status": "active"})
    assert center.lease("ann2", "acme-mod")["project"]["slug"] == "acme-mod"
