"""API tokens: listing (never a hash) and revoking (at once in this process, and an event).

`GET /api/v1/tokens`, `DELETE /api/v1/tokens/{id}`, `seatflow token list|revoke`; the seeded center
of conftest.py gives every user one token named "tests".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from seatflow.api.deps import TokenCache
from seatflow.cli import app
from seatflow.domain.actors import Actor, Role
from seatflow.store import tables

from .conftest import AppFactory, Center, Seed

TOKEN_KEYS = {"id", "user_id", "name", "created_at", "last_used_at", "revoked"}


def token_id(center: Center, username: str) -> int:
    return int(center.row("api_tokens", user_id=center.seed.users[username]).id)


def token_events(center: Center) -> list[Any]:
    with center.db.read() as conn:
        q = select(tables.events).where(tables.events.c.entity == "token").order_by(tables.events.c.id)
        return list(conn.execute(q))


def hashes(center: Center) -> list[str]:
    with center.db.read() as conn:
        return list(conn.execute(select(tables.api_tokens.c.token_hash)).scalars())


def delete(center: Center, username: str, url: str) -> Any:
    return center.client.delete(url, headers=center.as_(username))


# -- listing -------------------------------------------------------------------------------------
def test_you_list_your_own_tokens_without_any_hash(center: Center) -> None:
    assert center.post("ann1", "/api/v1/tokens", json={"name": "laptop"}).status_code == 201
    resp = center.get("ann1", "/api/v1/tokens")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["total"], body["offset"], body["next"]) == (2, 0, None)
    assert [t["name"] for t in body["items"]] == ["tests", "laptop"]
    for t in body["items"]:
        assert set(t) == TOKEN_KEYS
        assert t["user_id"] == center.seed.users["ann1"] and t["revoked"] is False
    for h in hashes(center):
        assert h not in resp.text
    assert center.seed.tokens["ann1"] not in resp.text


def test_last_used_at_is_when_a_server_last_looked_the_token_up(center: Center) -> None:
    """Written on a lookup (a cache miss), at most once a minute: never a write per request."""
    from datetime import timedelta

    from sqlalchemy import update

    from seatflow.domain.clock import utcnow

    assert center.post("ann1", "/api/v1/tokens", json={"name": "unused"}).status_code == 201
    items = {t["name"]: t for t in center.get("ann1", "/api/v1/tokens").json()["items"]}
    assert items["tests"]["last_used_at"] is not None  # the token these requests came with
    assert items["unused"]["last_used_at"] is None
    tid = items["tests"]["id"]
    long_ago = utcnow() - timedelta(hours=3)
    with center.db.write() as conn:
        conn.execute(update(tables.api_tokens).where(tables.api_tokens.c.id == tid).values(last_used_at=long_ago))
    center.client.app.state.token_cache._data.clear()  # type: ignore[attr-defined]  # as after its ttl
    assert center.get("ann1", "/api/v1/projects").status_code == 200
    fresh = center.row("api_tokens", id=tid).last_used_at
    assert fresh > long_ago + timedelta(hours=2)
    center.client.app.state.token_cache._data.clear()  # type: ignore[attr-defined]
    assert center.get("ann1", "/api/v1/projects").status_code == 200
    assert center.row("api_tokens", id=tid).last_used_at == fresh  # within the minute: not written again


def test_the_list_is_paged_like_every_list(center: Center) -> None:
    for n in range(3):
        center.post("ann1", "/api/v1/tokens", json={"name": f"seat-{n}"})
    first = center.get("ann1", "/api/v1/tokens?limit=2").json()
    assert (len(first["items"]), first["total"]) == (2, 4)
    second = center.client.get(first["next"], headers=center.as_("ann1")).json()
    assert [t["name"] for t in second["items"]] == ["seat-1", "seat-2"] and second["next"] is None
    center.problem(center.get("ann1", "/api/v1/tokens?limit=0"), 422, field="limit")
    center.problem(center.get("ann1", "/api/v1/tokens?offset=-1"), 422, field="offset")


def test_managers_list_anyones_tokens(center: Center) -> None:
    for actor in ("manager", "admin"):
        body = center.get(actor, "/api/v1/tokens?username=ann2").json()
        assert [(t["name"], t["user_id"]) for t in body["items"]] == [("tests", center.seed.users["ann2"])]
    body = center.get("manager", "/api/v1/tokens?username=admin").json()
    assert body["total"] == 1  # no rule keeps managers from an admin's tokens (create_token has none either)


@pytest.mark.parametrize("actor", ["ann1", "lead", "acme-ops"])
def test_others_tokens_are_not_found_like_nobodys(center: Center, actor: str) -> None:
    other = center.problem(center.get(actor, "/api/v1/tokens?username=ann2"), 404, field="username")
    nobody = center.problem(center.get(actor, "/api/v1/tokens?username=nobody"), 404, field="username")
    assert other["detail"] == nobody["detail"].replace("nobody", "ann2")  # the same answer: nothing leaks


def test_an_unknown_username_is_404(center: Center) -> None:
    center.problem(center.get("manager", "/api/v1/tokens?username=nobody"), 404, field="username",
                   says="does not exist")


# -- revoking ------------------------------------------------------------------------------------
def test_a_revoked_token_is_refused_on_the_next_request(center: Center) -> None:
    assert center.get("ann1", "/api/v1/me").status_code == 200  # now in the token cache (30 s)
    tid = token_id(center, "ann1")
    resp = delete(center, "ann1", f"/api/v1/tokens/{tid}")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == TOKEN_KEYS and (body["id"], body["name"], body["revoked"]) == (tid, "tests", True)
    assert center.row("api_tokens", id=tid).token_hash not in resp.text
    center.problem(center.get("ann1", "/api/v1/me"), 401, says="revoked")
    assert center.get("ann2", "/api/v1/me").status_code == 200  # other tokens still work


def test_the_hot_path_refuses_a_revoked_token_at_once(center: Center) -> None:
    project = center.seed.projects["globex-tickets"]
    center.lease("ann1", "globex-tickets")  # the hot path has cached ann1's token
    assert delete(center, "manager", f"/api/v1/tokens/{token_id(center, 'ann1')}").status_code == 200
    before = (center.app.state.hot_path_requests, center.count("leases"))
    resp = center.post("ann1", "/api/v1/leases", json={"project_id": project})
    center.problem(resp, 401, says="revoked")
    assert resp.headers["www-authenticate"] == "Bearer"
    assert (center.app.state.hot_path_requests, center.count("leases")) == (before[0] + 1, before[1])


def test_other_processes_let_go_of_it_within_their_cache_window(app_factory: AppFactory) -> None:
    here, there, uncached = app_factory(), app_factory(), app_factory(token_cache_seconds=0)
    for center in (there, uncached):
        assert center.get("ann1", "/api/v1/me").status_code == 200
    assert delete(here, "ann1", f"/api/v1/tokens/{token_id(here, 'ann1')}").status_code == 200
    here.problem(here.get("ann1", "/api/v1/me"), 401)
    uncached.problem(uncached.get("ann1", "/api/v1/me"), 401)
    # another process still holds its cached lookup, for at most SEATFLOW_TOKEN_CACHE_SECONDS (docs/api.md)
    assert there.get("ann1", "/api/v1/me").status_code == 200


def test_revoking_is_idempotent_and_writes_one_event(center: Center) -> None:
    tid = token_id(center, "ann2")
    for _ in range(2):
        resp = delete(center, "manager", f"/api/v1/tokens/{tid}")
        assert resp.status_code == 200 and resp.json()["revoked"] is True
    [event] = token_events(center)
    assert (event.entity, event.kind, event.actor_id, event.from_state, event.to_state) == (
        "token", "revoke", center.seed.users["manager"], "active", "revoked")
    assert event.data == {"token_id": tid, "user_id": center.seed.users["ann2"], "username": "ann2",
                          "name": "tests"}
    assert event.client_id is None and event.at is not None
    listed = center.get("manager", "/api/v1/tokens?username=ann2").json()["items"]
    assert [(t["id"], t["revoked"]) for t in listed] == [(tid, True)]


def test_a_client_revoke_is_logged_under_its_client(center: Center) -> None:
    assert delete(center, "acme-ops", f"/api/v1/tokens/{token_id(center, 'acme-ops')}").status_code == 200
    [event] = token_events(center)
    assert (event.actor_id, event.client_id) == (center.seed.users["acme-ops"], center.seed.clients["acme"])


@pytest.mark.parametrize("actor", ["ann1", "lead", "globex-ops"])
def test_nobody_else_revokes_your_token(center: Center, actor: str) -> None:
    tid = token_id(center, "ann2")
    other = center.problem(delete(center, actor, f"/api/v1/tokens/{tid}"), 404, field="token_id")
    unknown = center.problem(delete(center, actor, "/api/v1/tokens/999999"), 404, field="token_id")
    assert other["detail"] == unknown["detail"].replace("999999", str(tid))
    assert center.row("api_tokens", id=tid).revoked is False and token_events(center) == []
    assert center.get("ann2", "/api/v1/me").status_code == 200


def test_a_manager_revokes_anyones_token(center: Center) -> None:
    for victim in ("ann2", "acme-ops", "admin"):
        assert delete(center, "manager", f"/api/v1/tokens/{token_id(center, victim)}").status_code == 200
        center.problem(center.get(victim, "/api/v1/me"), 401)
    assert center.get("manager", "/api/v1/me").status_code == 200


@pytest.mark.parametrize("ref", ["abc", "1.5", "0", "-3", str(2**63)])
def test_a_malformed_token_id_is_422(center: Center, ref: str) -> None:
    before = center.counts()
    center.problem(delete(center, "manager", f"/api/v1/tokens/{ref}"), 422, field="token_id")
    assert center.counts() == before


def test_an_unknown_token_id_is_404(center: Center) -> None:
    center.problem(delete(center, "manager", "/api/v1/tokens/999999"), 404, field="token_id", says="does not exist")


def test_listing_and_revoking_need_a_caller(center: Center) -> None:
    center.problem(center.client.get("/api/v1/tokens"), 401)
    center.problem(center.client.delete(f"/api/v1/tokens/{token_id(center, 'ann1')}"), 401)
    assert center.row("api_tokens", id=token_id(center, "ann1")).revoked is False


def test_the_cache_never_takes_back_a_dropped_token() -> None:
    """A request that looked the token up before the revoke committed must not cache it afterwards."""
    cache = TokenCache(30)
    actor = Actor(id=1, username="ann1", role=Role.WORKER)
    cache.put("h", actor)
    cache.drop("h")
    assert cache.get("h") is None
    cache.put("h", actor)
    assert cache.get("h") is None
    cache.drop("unknown")  # dropping what is not cached is fine


# -- the command line ----------------------------------------------------------------------------
runner = CliRunner()


@pytest.fixture
def cli(seed: Seed, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`seatflow ...` in-process on the seeded database; checks the exit code (see test_cli.py)."""
    monkeypatch.setenv("SEATFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("SEATFLOW_LANG", "en")
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str, code: int = 0) -> Result:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, f"exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr
        return result

    return run


def test_cli_lists_and_revokes_a_token(cli: Any, center: Center) -> None:
    tid = token_id(center, "ann1")
    listed = cli("token", "list", "ann1").stdout
    assert "API tokens of ann1" in listed and "tests" in listed and "active" in listed and str(tid) in listed
    for h in hashes(center):
        assert h not in listed

    done = cli("token", "revoke", str(tid)).stdout
    assert f"revoked token {tid} (tests) of ann1" in done and "SEATFLOW_TOKEN_CACHE_SECONDS" in done
    assert "revoked already" in cli("token", "revoke", str(tid)).stdout
    assert "revoked" in cli("token", "list", "ann1").stdout
    center.problem(center.get("ann1", "/api/v1/me"), 401)
    [event] = token_events(center)
    assert (event.kind, event.actor_id, event.to_state) == ("revoke", None, "revoked")  # the CLI is trusted


def test_cli_token_errors_are_one_line(cli: Any, center: Center) -> None:
    for args in (("token", "revoke", "999999"), ("token", "list", "nobody"), ("token", "revoke", "0")):
        result = cli(*args, code=1)
        assert "does not exist" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert cli("token", "revoke", "abc", code=2).stderr
    assert token_events(center) == []


def test_cli_says_when_a_user_has_no_tokens(cli: Any, center: Center) -> None:
    delete_all = tables.api_tokens.delete().where(tables.api_tokens.c.user_id == center.seed.users["idle"])
    with center.db.write() as conn:
        conn.execute(delete_all)
    assert "seatflow token create idle" in cli("token", "list", "idle").stdout


def test_cli_speaks_chinese(cli: Any, center: Center, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEATFLOW_LANG", "zh_CN")
    assert "ann1 的 API 令牌" in cli("token", "list", "ann1").stdout
    assert "已吊销" in cli("token", "revoke", str(token_id(center, "ann1"))).stdout
