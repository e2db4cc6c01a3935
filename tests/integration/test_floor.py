"""Attendance and the live floor over the REST API, on both backends (tests/integration/conftest.py).

Teams: ``A`` holds ``lead``, ``ann1``, ``ann2`` and ``rev1``; ``B`` holds ``lead-b`` and ``ann3``; ``idle`` has
no team. ``lead`` sees team A only, ``manager`` everyone, workers and clients nothing of the floor.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from seatflow.domain.clock import utcnow
from seatflow.services import accounts, floor
from seatflow.store import attendance as att_tables
from seatflow.store import tables

from .conftest import GOOD_ANSWERS, PASSWORD, Center


@pytest.fixture
def teams(center: Center) -> Center:
    db = center.db
    with db.write() as conn:
        a = accounts.create_team(conn, None, name="A")
        b = accounts.create_team(conn, None, name="B")
        accounts.create_user(conn, None, username="lead-b", password=PASSWORD, role="lead", locale="en")
        center.seed.tokens["lead-b"] = accounts.create_token(conn, None, username="lead-b", name="tests")
        for name, team in (("lead", a), ("ann1", a), ("ann2", a), ("rev1", a), ("lead-b", b), ("ann3", b)):
            conn.execute(update(tables.users).where(tables.users.c.username == name).values(team_id=team))
    floor.forget_cache()
    return center


def tiles(center: Center, who: str) -> dict[str, dict[str, Any]]:
    floor.forget_cache()
    resp = center.get(who, "/api/v1/floor")
    assert resp.status_code == 200, resp.text
    return {t["username"]: t for t in resp.json()["tiles"]}


def projects_of(center: Center, who: str) -> dict[str, dict[str, Any]]:
    floor.forget_cache()
    resp = center.get(who, "/api/v1/floor")
    assert resp.status_code == 200, resp.text
    return {p["slug"]: p for p in resp.json()["projects"]}


# --- attendance --------------------------------------------------------------------------------------


def test_check_in_break_and_check_out(center: Center) -> None:
    resp = center.post("ann1", "/api/v1/attendance/check-in", json={"seat": " a-12 "})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["checked_in"] and body["seat"] == "A-12" and not body["on_break"]

    on_break = center.post("ann1", "/api/v1/attendance/break/start").json()
    assert on_break["on_break"] and on_break["break_started_at"]
    back = center.post("ann1", "/api/v1/attendance/break/end").json()
    assert back["checked_in"] and not back["on_break"]

    me = center.get("ann1", "/api/v1/attendance/me").json()
    assert me["seat"] == "A-12"
    figures = me["figures"]
    assert figures["shift_hours"] == 8 and figures["utilisation"] is not None
    assert figures["checked_in_seconds"] >= figures["available_seconds"] >= 0

    center.post("ann1", "/api/v1/attendance/break/start")
    out = center.post("ann1", "/api/v1/attendance/check-out")
    assert out.status_code == 200 and not out.json()["checked_in"]
    assert center.count("attendance_breaks", ended_at=None) == 0  # checking out ended the break
    assert center.count("attendance_sessions", checked_out_at=None) == 0
    # the seat is free again, for anyone
    assert center.post("ann2", "/api/v1/attendance/check-in", json={"seat": "A-12"}).status_code == 201


@pytest.mark.parametrize("seat", ["", "   ", "A 12", "座位1", "A-12345678901234567", "-A1", None, True, [1], {"n": 1}])
def test_a_bad_seat_is_refused_naming_the_field(center: Center, seat: Any) -> None:
    resp = center.post("ann1", "/api/v1/attendance/check-in", json={"seat": seat})
    center.problem(resp, 422, field="seat", says="seat")
    assert center.count("attendance_sessions") == 0


def test_check_in_without_a_seat_or_with_extra_fields(center: Center) -> None:
    center.problem(center.post("ann1", "/api/v1/attendance/check-in", json={}), 422, field="seat")
    center.problem(center.post("ann1", "/api/v1/attendance/check-in", json={"seat": "A1", "desk": 2}), 422,
                   field="desk")
    center.problem(center.client.post("/api/v1/attendance/check-in", content=b"{not json",
                                      headers={**center.as_("ann1"), "Content-Type": "application/json"}), 422)
    assert center.count("attendance_sessions") == 0


def test_conflicts_say_what_is_wrong(center: Center) -> None:
    body = center.problem(center.post("ann1", "/api/v1/attendance/break/start"), 409, says="not checked in")
    assert body["reason"] == "not-checked-in"
    center.problem(center.post("ann1", "/api/v1/attendance/break/end"), 409, says="not checked in")
    center.problem(center.post("ann1", "/api/v1/attendance/check-out"), 409, says="not checked in")

    assert center.post("ann1", "/api/v1/attendance/check-in", json={"seat": "7"}).status_code == 201
    body = center.problem(center.post("ann1", "/api/v1/attendance/check-in", json={"seat": "8"}), 409,
                          field="seat", says="already checked in at seat 7")
    assert body["reason"] == "already-checked-in"
    body = center.problem(center.post("ann2", "/api/v1/attendance/check-in", json={"seat": "7"}), 409,
                          field="seat", says="seat 7 is taken")
    assert body["reason"] == "seat-taken"
    center.problem(center.post("ann1", "/api/v1/attendance/break/end"), 409, says="not on a break")
    center.post("ann1", "/api/v1/attendance/break/start")
    center.problem(center.post("ann1", "/api/v1/attendance/break/start"), 409, says="on a break already")
    assert center.count("attendance_sessions") == 1 and center.count("attendance_breaks") == 1


def test_who_may_use_attendance(center: Center) -> None:
    center.problem(center.post("acme-ops", "/api/v1/attendance/check-in", json={"seat": "A1"}), 403)
    center.problem(center.get("acme-ops", "/api/v1/attendance/me"), 403)
    center.problem(center.post("manager", "/api/v1/attendance/check-in", json={"seat": "A1"}), 403)
    center.problem(center.client.post("/api/v1/attendance/check-in", json={"seat": "A1"}), 401)
    center.problem(center.get("ann1", "/api/v1/attendance/team"), 403)
    center.problem(center.get("ann1", "/api/v1/attendance/me?hours=0"), 422, field="hours")
    center.problem(center.get("ann1", "/api/v1/attendance/me?shift_hours=30"), 422, field="shift_hours")
    assert center.count("attendance_sessions") == 0
    assert center.post("lead", "/api/v1/attendance/check-in", json={"seat": "L1"}).status_code == 201


def test_occupancy_and_utilisation(center: Center) -> None:
    """Two hours checked in with a 30-minute break and 45 minutes on items: occupancy 45/90, utilisation 2/8."""
    uid = center.seed.users["ann1"]
    now = utcnow()
    t0 = now - timedelta(hours=2)
    with center.db.write() as conn:
        sid = att_tables.insert_session(conn, uid, "B-1", t0)
        bid = att_tables.insert_break(conn, sid, uid, t0 + timedelta(minutes=60))
        att_tables.end_break(conn, bid, t0 + timedelta(minutes=90))
        task_id = conn.execute(select(tables.tasks.c.id).limit(1)).scalar_one()
        pid = center.seed.projects["acme-text"]
        client_id = center.seed.clients["acme"]
        for start, minutes in ((10, 30), (20, 15), (80, 20), (100, 15)):  # overlapping leases count once
            conn.execute(tables.leases.insert().values(
                client_id=client_id, project_id=pid, task_id=task_id, user_id=uid,
                created_at=t0 + timedelta(minutes=start), expires_at=t0 + timedelta(minutes=start + minutes),
                ended_at=t0 + timedelta(minutes=start + minutes), end_reason="submitted"))
    with center.db.read() as conn:
        from seatflow.services.attendance import figures

        fig = figures(conn, [uid], now=now)[uid]
    # present 120 min, break 30 -> available 90; leases: 10-40 (union of 10-40, 20-35), 80-100 (10 of it
    # in the break 60-90 -> 10), 100-115 -> 30 + 10 + 15 = 55 min working
    assert fig["checked_in_seconds"] == pytest.approx(7200, abs=2)
    assert fig["break_seconds"] == pytest.approx(1800, abs=2)
    assert fig["available_seconds"] == pytest.approx(5400, abs=2)
    assert fig["working_seconds"] == pytest.approx(55 * 60, abs=2)
    assert fig["occupancy"] == pytest.approx(55 / 90, abs=1e-3)
    assert fig["utilisation"] == pytest.approx(2 / 8, abs=1e-3)


# --- the floor ---------------------------------------------------------------------------------------


def test_workers_and_clients_get_403_everywhere_on_the_floor(teams: Center) -> None:
    c = teams
    for who in ("ann1", "acme-ops"):
        c.problem(c.get(who, "/api/v1/floor"), 403)
        c.problem(c.get(who, "/api/v1/floor/stream?events=1"), 403)
        c.problem(c.get(who, "/api/v1/floor/projects"), 403)
        c.problem(c.post(who, "/api/v1/floor/workers/ann2/move", json={"project": "acme-text"}), 403)
        assert c.get(who, "/floor").status_code == 403
    c.problem(c.client.get("/api/v1/floor/stream"), 401)
    assert c.count("worker_assignments") == 0


def test_a_lead_sees_only_their_team(teams: Center) -> None:
    assert set(tiles(teams, "lead")) == {"ann1", "ann2", "rev1"}
    assert set(tiles(teams, "lead-b")) == {"ann3"}
    assert set(tiles(teams, "manager")) == {"ann1", "ann2", "ann3", "rev1", "idle"}
    # the team's projects: where at least one member is qualified (team B: ann3 has every project)
    assert set(projects_of(teams, "lead")) == {"acme-faces", "acme-text", "acme-mod", "globex-tickets"}
    with teams.db.write() as conn:
        conn.execute(update(tables.users).where(tables.users.c.username == "lead").values(team_id=None))
    teams.app.state.token_cache._data.clear()
    assert tiles(teams, "lead") == {}  # a lead without a team sees nobody
    assert projects_of(teams, "lead") == {}


def test_tiles_follow_attendance_and_leases(teams: Center) -> None:
    c = teams
    t = tiles(c, "lead")
    assert t["ann1"]["state"] == "offline" and t["ann1"]["seat"] is None

    c.post("ann1", "/api/v1/attendance/check-in", json={"seat": "A-1"})
    t = tiles(c, "lead")["ann1"]
    assert t["state"] == "idle" and t["seat"] == "A-1" and t["since"]
    assert set(t["idle_backlog"]) == {"acme-faces", "acme-text", "acme-mod", "globex-tickets"}  # work waits

    lease = c.lease("ann1", "acme-text")
    t = tiles(c, "lead")["ann1"]
    assert t["state"] == "working" and t["project"]["slug"] == "acme-text" and t["idle_backlog"] == []
    assert not t["stuck"]  # no handling time known yet: never stuck

    c.submit("ann1", lease["lease_id"], GOOD_ANSWERS["acme-text"])
    c.post("ann1", "/api/v1/attendance/break/start")
    assert tiles(c, "lead")["ann1"]["state"] == "break"
    c.post("ann1", "/api/v1/attendance/check-out")
    assert tiles(c, "lead")["ann1"]["state"] == "offline"


def test_stuck_is_three_times_the_average_handling_time(teams: Center) -> None:
    c = teams
    for _ in range(3):  # three answers, each made to take 60 s: AHT 60 s
        lease = c.lease("ann2", "acme-text")
        with c.db.write() as conn:
            conn.execute(update(att_tables.leases).where(att_tables.leases.c.id == lease["lease_id"])
                         .values(created_at=utcnow() - timedelta(seconds=60)))
        assert c.submit("ann2", lease["lease_id"], GOOD_ANSWERS["acme-text"]).status_code == 200
    lease = c.lease("ann1", "acme-text")
    assert projects_of(c, "lead")["acme-text"]["aht_seconds"] == pytest.approx(60, abs=2)
    t = tiles(c, "lead")["ann1"]
    assert t["state"] == "working" and not t["stuck"] and t["stuck_after"]
    with c.db.write() as conn:  # 170 s on the item: not yet 3 x 60
        conn.execute(update(att_tables.leases).where(att_tables.leases.c.id == lease["lease_id"])
                     .values(created_at=utcnow() - timedelta(seconds=170)))
    assert not tiles(c, "lead")["ann1"]["stuck"]
    with c.db.write() as conn:
        conn.execute(update(att_tables.leases).where(att_tables.leases.c.id == lease["lease_id"])
                     .values(created_at=utcnow() - timedelta(seconds=190)))
    assert tiles(c, "lead")["ann1"]["stuck"]


def test_projects_about_to_breach_their_sla(teams: Center) -> None:
    c = teams
    assert not any(p["at_risk"] for p in projects_of(c, "manager").values())
    with c.db.write() as conn:
        conn.execute(update(tables.tasks).where(tables.tasks.c.project_id == c.seed.projects["acme-mod"])
                     .values(deadline=utcnow() + timedelta(minutes=5)))
    p = projects_of(c, "manager")
    assert p["acme-mod"]["at_risk"] and p["acme-mod"]["risk"] == ["due_soon"] and p["acme-mod"]["due_soon"] == 3
    assert not p["acme-text"]["at_risk"]
    # forecast: 6 tasks x 60 s with no one on it is 6 minutes, more than the 3 minutes left after the last deadline
    for _ in range(3):
        lease = c.lease("ann2", "acme-faces")
        with c.db.write() as conn:
            conn.execute(update(att_tables.leases).where(att_tables.leases.c.id == lease["lease_id"])
                         .values(created_at=utcnow() - timedelta(seconds=60)))
        c.submit("ann2", lease["lease_id"], GOOD_ANSWERS["acme-faces"])
    with c.db.write() as conn:
        conn.execute(update(tables.tasks).where(tables.tasks.c.project_id == c.seed.projects["acme-faces"])
                     .values(deadline=utcnow() + timedelta(minutes=13)))
    faces = projects_of(c, "manager")["acme-faces"]
    assert faces["backlog"] == 3 and faces["due_soon"] == 0  # the three reviews
    assert faces["risk"] == [] and faces["clear_minutes"] == pytest.approx(3, abs=0.1)
    with c.db.write() as conn:
        conn.execute(update(tables.tasks).where(tables.tasks.c.project_id == c.seed.projects["acme-faces"],
                                                tables.tasks.c.state == "ready")
                     .values(deadline=utcnow() + timedelta(seconds=150)))
    faces = projects_of(c, "manager")["acme-faces"]
    assert faces["at_risk"] and "forecast" in faces["risk"]


def test_move_a_worker(teams: Center) -> None:
    c = teams
    resp = c.post("lead", "/api/v1/floor/workers/ann1/move", json={"project": "acme-mod"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["project"]["slug"] == "acme-mod" and resp.json()["granted"] is False
    assert tiles(c, "lead")["ann1"]["assigned_project"]["slug"] == "acme-mod"
    me = c.get("ann1", "/api/v1/attendance/me").json()
    assert me["assigned_project"]["slug"] == "acme-mod"
    # /work opens the assigned project, the home lists it first
    work = c.get("ann1", "/work", follow_redirects=False)
    assert work.headers["location"] == f"/work/{c.seed.projects['acme-mod']}"
    home = c.get("ann1", "/").text
    assert home.index('data-project="acme-mod"') < home.index('data-project="acme-faces"')
    assert 'id="assigned-project"' in home

    # rev1 (team A) is not qualified for acme-text: a 409 asking to confirm, then the grant
    body = c.problem(c.post("lead", "/api/v1/floor/workers/rev1/move", json={"project": "acme-text"}), 409,
                     field="grant", says="not qualified")
    assert body["reason"] == "not-qualified"
    assert c.count("worker_assignments", user_id=c.seed.users["rev1"]) == 0
    resp = c.post("lead", "/api/v1/floor/workers/rev1/move", json={"project": "acme-text", "grant": True})
    assert resp.status_code == 200 and resp.json()["granted"] is True
    assert c.count("qualifications", user_id=c.seed.users["rev1"], project_id=c.seed.projects["acme-text"]) == 1


def test_move_refusals(teams: Center) -> None:
    c = teams
    c.problem(c.post("lead", "/api/v1/floor/workers/ann3/move", json={"project": "acme-text"}), 404,
              field="username")  # another team's worker
    c.problem(c.post("lead", "/api/v1/floor/workers/nobody/move", json={"project": "acme-text"}), 404,
              field="username")
    c.problem(c.post("lead", "/api/v1/floor/workers/acme-ops/move", json={"project": "acme-text"}), 404,
              field="username")
    c.problem(c.post("lead", "/api/v1/floor/workers/ann1/move", json={"project": "nope"}), 404, field="project")
    c.problem(c.post("lead", "/api/v1/floor/workers/ann1/move", json={}), 422, field="project")
    c.problem(c.post("lead", "/api/v1/floor/workers/ann1/move", json={"project": ["acme-text"]}), 422,
              field="project")
    c.problem(c.post("lead", "/api/v1/floor/workers/ann1/move", json={"project": "acme-text", "grant": "maybe"}),
              422, field="grant")
    # team B's projects are the ones its members are qualified for; a project none of them holds is refused
    with c.db.write() as conn:
        conn.execute(tables.qualifications.delete().where(
            tables.qualifications.c.user_id == c.seed.users["ann3"],
            tables.qualifications.c.project_id == c.seed.projects["acme-mod"]))
    c.problem(c.post("lead-b", "/api/v1/floor/workers/ann3/move", json={"project": "acme-mod", "grant": True}),
              404, field="project")
    assert c.count("worker_assignments") == 0


def test_the_stream_sends_snapshots(teams: Center) -> None:
    resp = teams.get("lead", "/api/v1/floor/stream?events=1")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert resp.headers["cache-control"] == "no-cache"
    events = [block for block in resp.text.split("\n\n") if block.startswith("event: snapshot")]
    assert len(events) == 1
    snap = json.loads(events[0].split("data: ", 1)[1])
    assert {t["username"] for t in snap["tiles"]} == {"ann1", "ann2", "rev1"}
    teams.problem(teams.get("lead", "/api/v1/floor/stream?events=0"), 422, field="events")


def test_the_floor_page(teams: Center) -> None:
    page = teams.get("lead", "/floor")
    assert page.status_code == 200 and 'id="floor-tiles"' in page.text and "/static/js/floor.js" in page.text
    assert 'href="/floor"' in teams.get("manager", "/").text
    assert 'href="/floor"' not in teams.get("ann1", "/").text
    assert teams.client.get("/floor", follow_redirects=False).status_code == 303


# --- the stream against a real server: it ends when the client leaves, and holds no connection ---------


def test_the_stream_ends_when_the_client_goes_away(teams: Center) -> None:
    import uvicorn

    app = teams.app
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive()
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        gate = teams.db.gate
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=teams.as_("lead"), timeout=10) as http:
            with http.stream("GET", "/api/v1/floor/stream") as resp:
                assert resp.status_code == 200
                got = []
                lines = resp.iter_lines()  # kept: a dropped line iterator closes the connection
                for line in lines:
                    got.append(line)
                    if line.startswith("data: "):
                        break
                assert any(line == "event: snapshot" for line in got)
                assert app.state.floor_streams.open == 1, got
                samples = []  # between polls the stream holds no database connection
                for _ in range(40):
                    samples.append(gate._free)
                    time.sleep(0.04)
                assert gate.size in samples, f"a connection stayed taken: {samples}"
                assert app.state.floor_streams.open == 1
                del lines
        deadline = time.monotonic() + 5
        while app.state.floor_streams.open:
            assert time.monotonic() < deadline, "the stream went on after the client left"
            time.sleep(0.05)
        assert gate._free == gate.size
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_suspended_worker_is_not_idle_while_work_waits(teams: Center) -> None:
    c = teams
    c.post("ann1", "/api/v1/attendance/check-in", json={"seat": "A-1"})
    with c.db.write() as conn:
        conn.execute(tables.worker_standing.insert().values(
            user_id=c.seed.users["ann1"], project_id=c.seed.projects["acme-faces"], client_id=c.seed.clients["acme"],
            state="suspended", changed_at=utcnow()))
    assert set(tiles(c, "lead")["ann1"]["idle_backlog"]) == {"acme-text", "acme-mod", "globex-tickets"}


def test_the_floor_page_shows_the_teams_attendance(teams: Center) -> None:
    c = teams
    c.post("ann2", "/api/v1/attendance/check-in", json={"seat": "c-3"})
    page = c.get("lead", "/floor").text
    assert 'id="floor-attendance"' in page
    assert '<tr data-user="ann2">' in page and "C-3" in page
    assert '<tr data-user="ann3">' not in page  # team B
    team = c.get("lead", "/api/v1/attendance/team").json()["items"]
    assert {p["user"] for p in team} == {"ann1", "ann2", "rev1"}
    assert next(p for p in team if p["user"] == "ann2")["checked_in"]


def test_a_slow_queue_count_is_read_less_often(teams: Center, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared project figures are refreshed every 5 s, or so that reading them costs at most 5 % of a core."""
    real_backlog = att_tables.backlog

    def slow_backlog(conn: Any, soon: Any) -> Any:
        time.sleep(0.5)
        return real_backlog(conn, soon)

    floor.forget_cache()
    with teams.db.read() as conn:
        floor.snapshot(conn, floor_actor(teams, "manager"))
        fast = next(iter(floor._project_cache.values()))[0] - time.monotonic()
    assert 4 < fast < 7.5  # 5 s, unless this machine is very slow
    monkeypatch.setattr(att_tables, "backlog", slow_backlog)
    floor.forget_cache()
    with teams.db.read() as conn:
        floor.snapshot(conn, floor_actor(teams, "manager"))
        slow = next(iter(floor._project_cache.values()))[0] - time.monotonic()
    assert slow > 9.5  # 0.5 s / 5 %


def floor_actor(center: Center, username: str) -> Any:
    with center.db.read() as conn:
        return accounts.actor_by_id(conn, center.seed.users[username])
