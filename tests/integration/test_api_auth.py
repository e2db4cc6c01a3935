"""Authentication: tokens for machines, sessions for people, and the 401s in between."""

from __future__ import annotations

from sqlalchemy import update

from seatflow.store import tables

from .conftest import PASSWORD, AppFactory, Center


def test_no_credentials_is_401_with_what_to_do(center: Center) -> None:
    resp = center.client.get("/api/v1/me")
    body = center.problem(resp, 401)
    assert "Bearer" in body["detail"] and "/login" in body["detail"]
    assert resp.headers["www-authenticate"] == "Bearer"


def test_a_token_authenticates(center: Center) -> None:
    resp = center.get("ann1", "/api/v1/me")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"id": center.seed.users["ann1"], "username": "ann1", "role": "worker",
                           "client_id": None, "locale": "en"}
    me = center.get("acme-ops", "/api/v1/me").json()
    assert (me["role"], me["client_id"]) == ("client", center.seed.clients["acme"])


def test_wrong_scheme_is_401_naming_the_expected_header(center: Center) -> None:
    token = center.seed.tokens["ann1"]
    for header in (f"Token {token}", f"Basic {token}", "Bearer", "Bearer    ", token):
        resp = center.client.get("/api/v1/me", headers={"Authorization": header})
        center.problem(resp, 401, says="Bearer <token>")


def test_unknown_token_is_401(center: Center) -> None:
    resp = center.client.get("/api/v1/me", headers={"Authorization": "Bearer sf_not-a-real-token"})
    center.problem(resp, 401, says="unknown or revoked")


def test_revoked_token_is_401(center: Center) -> None:
    with center.db.write() as conn:
        conn.execute(update(tables.api_tokens).where(tables.api_tokens.c.user_id == center.seed.users["ann2"])
                     .values(revoked=True))
    center.problem(center.get("ann2", "/api/v1/me"), 401, says="revoked")
    assert center.get("ann1", "/api/v1/me").status_code == 200  # other tokens still work


def test_revoking_a_used_token_takes_effect_after_the_cache(app_factory: AppFactory) -> None:
    center = app_factory(token_cache_seconds=0)
    assert center.get("ann1", "/api/v1/me").status_code == 200
    with center.db.write() as conn:
        conn.execute(update(tables.api_tokens).where(tables.api_tokens.c.user_id == center.seed.users["ann1"])
                     .values(revoked=True))
    center.problem(center.get("ann1", "/api/v1/me"), 401)


def test_deactivated_user_token_is_401(center: Center) -> None:
    with center.db.write() as conn:
        conn.execute(update(tables.users).where(tables.users.c.username == "ann3").values(active=False))
    center.problem(center.get("ann3", "/api/v1/me"), 401)


def test_session_login_then_cookie_access_then_logout(center: Center) -> None:
    client = center.client
    resp = client.post("/api/v1/auth/login", json={"username": "manager", "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"id": center.seed.users["manager"], "username": "manager", "role": "manager"}
    assert "seatflow_session" in client.cookies

    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["username"] == "manager"
    assert client.get("/api/v1/users").status_code == 200  # the session carries the role

    assert client.post("/api/v1/auth/logout").json() == {"ok": True}
    center.problem(client.get("/api/v1/me"), 401)


def test_a_token_wins_over_a_session(center: Center) -> None:
    center.client.post("/api/v1/auth/login", json={"username": "manager", "password": PASSWORD})
    assert center.get("ann1", "/api/v1/me").json()["username"] == "ann1"


def test_login_with_a_wrong_password_is_401_and_starts_no_session(center: Center) -> None:
    resp = center.client.post("/api/v1/auth/login", json={"username": "manager", "password": "nope-nope"})
    center.problem(resp, 401, says="wrong username or password")
    resp = center.client.post("/api/v1/auth/login", json={"username": "nobody", "password": PASSWORD})
    center.problem(resp, 401, says="wrong username or password")
    center.problem(center.client.get("/api/v1/me"), 401)


def test_login_body_is_validated(center: Center) -> None:
    resp = center.client.post("/api/v1/auth/login", json={"username": "manager"})
    center.problem(resp, 422, field="password")
    resp = center.client.post("/api/v1/auth/login",
                              json={"username": "manager", "password": PASSWORD, "remember": True})
    center.problem(resp, 422, field="remember")


def test_a_session_ends_when_the_user_is_deactivated(center: Center) -> None:
    client = center.client
    assert client.post("/api/v1/auth/login", json={"username": "lead", "password": PASSWORD}).status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    with center.db.write() as conn:
        conn.execute(update(tables.users).where(tables.users.c.username == "lead").values(active=False))
    center.problem(client.get("/api/v1/me"), 401)


def test_a_session_ends_when_its_version_is_bumped(center: Center) -> None:
    """Bumping users.session_version (e.g. on a password change) logs every session of the user out."""
    client = center.client
    assert client.post("/api/v1/auth/login", json={"username": "lead", "password": PASSWORD}).status_code == 200
    with center.db.write() as conn:
        conn.execute(update(tables.users).where(tables.users.c.username == "lead")
                     .values(session_version=tables.users.c.session_version + 1))
    center.problem(client.get("/api/v1/me"), 401)


def test_a_token_is_issued_once_and_works(center: Center) -> None:
    resp = center.post("ann1", "/api/v1/tokens", json={"name": "laptop"})
    assert resp.status_code == 201, resp.text
    token = resp.json()["token"]
    assert token.startswith("sf_")
    assert center.count("api_tokens", user_id=center.seed.users["ann1"]) == 2
    row = center.row("api_tokens", name="laptop")
    assert token not in (row.token_hash,)  # only the hash is kept
    me = center.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "ann1"


def test_only_managers_issue_tokens_for_others(center: Center) -> None:
    before = center.count("api_tokens")
    center.problem(center.post("ann1", "/api/v1/tokens", json={"username": "ann2"}), 403)
    center.problem(center.post("lead", "/api/v1/tokens", json={"username": "ann2"}), 403)
    assert center.count("api_tokens") == before
    resp = center.post("manager", "/api/v1/tokens", json={"username": "ann2", "name": "seat-12"})
    assert resp.status_code == 201
