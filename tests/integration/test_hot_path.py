"""api/hot_path.py answers the hot work requests of bearer tokens exactly as the framework's routes do.

Each request is sent to two apps on the same database: one with the hot path taken out (FastAPI's
routes answer) and the usual one (the hot path answers: its counter moves). Status, content type
and body must be the same. Requests the hot path must leave to the framework leave its counter alone.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from seatflow.api.hot_path import HotPath
from seatflow.store import tables

from .conftest import GOOD_ANSWERS, PROBLEM, AppFactory, Center


@pytest.fixture
def framework(app_factory: AppFactory) -> Center:
    """The same center with the hot path taken out of the app's middleware."""
    other = app_factory()
    other.app.user_middleware = [m for m in other.app.user_middleware if m.cls is not HotPath]
    other.app.middleware_stack = None  # rebuilt, without it, on the next request
    return other


def _hot(center: Center) -> int:
    return int(center.app.state.hot_path_requests)


def _both(center: Center, framework: Center, user: str, url: str, *, cached: bool = True,
          **kw: Any) -> tuple[Any, Any]:
    """(framework's answer, hot path's answer) to the same request; asserts which way each took."""
    headers = center.as_(user)
    if "content" in kw:  # raw bytes, declared as JSON (as clients do)
        headers["Content-Type"] = "application/json"
    cold = framework.client.post(url, headers=headers, **kw)
    assert _hot(framework) == 0
    if not cached:
        center.app.state.token_cache._data.clear()
    before = _hot(center)
    warm = center.client.post(url, headers=headers, **kw)
    assert _hot(center) == before + 1, "a bearer token's hot request must take the hot path"
    return cold, warm


def _same(cold: Any, warm: Any) -> dict[str, Any]:
    assert (cold.status_code, cold.headers["content-type"]) == (warm.status_code, warm.headers["content-type"]), \
        (cold.text, warm.text)
    assert cold.json() == warm.json()
    assert cold.headers.get("www-authenticate") == warm.headers.get("www-authenticate")
    body: dict[str, Any] = warm.json()
    return body


BAD_BODIES = [
    pytest.param({"content": b"{not json"}, "body", id="not-json"),
    pytest.param({"content": b"\xff\xfe"}, "body", id="not-utf8"),
    pytest.param({"json": [1, 2]}, "body", id="not-an-object"),
    pytest.param({"json": {"answer": {}, "idempotency_key": "k", "colour": "red"}}, "colour", id="unknown-field"),
    pytest.param({"json": {"answer": {}}}, "idempotency_key", id="missing-field"),
    pytest.param({"json": {"answer": {}, "idempotency_key": ""}}, "idempotency_key", id="empty-key"),
    pytest.param({"json": {"answer": {}, "idempotency_key": "k", "duration_ms": -1}}, "duration_ms", id="negative"),
    pytest.param({}, "body", id="no-body"),
]


@pytest.mark.parametrize(("kw", "field"), BAD_BODIES)
def test_a_malformed_submit_gets_the_same_problem_and_writes_nothing(center: Center, framework: Center,
                                                                     kw: dict[str, Any], field: str) -> None:
    lease = center.lease("ann1", "globex-tickets")
    before = center.counts()
    cold, warm = _both(center, framework, "ann1", f"/api/v1/leases/{lease['lease_id']}/submit", **kw)
    body = _same(cold, warm)
    assert warm.status_code == 422 and warm.headers["content-type"].startswith(PROBLEM)
    assert body["field"] == field, body
    assert center.counts() == before


@pytest.mark.parametrize(("kw", "field"), [
    pytest.param({"content": b"[1"}, "body", id="not-json"),
    pytest.param({"json": {"project_id": "seven"}}, "project_id", id="wrong-type"),
    pytest.param({"json": {"project": 1}}, "project", id="unknown-field"),
])
def test_a_malformed_lease_request_gets_the_same_problem_and_leases_nothing(
        center: Center, framework: Center, kw: dict[str, Any], field: str) -> None:
    before = center.counts()
    cold, warm = _both(center, framework, "ann1", "/api/v1/leases", cached=False, **kw)
    assert _same(cold, warm)["field"] == field
    assert center.counts() == before


def test_refusals_match_the_framework(center: Center, framework: Center) -> None:
    lease = center.lease("ann1", "globex-tickets")
    url = f"/api/v1/leases/{lease['lease_id']}/submit"
    answer = {"answer": GOOD_ANSWERS["globex-tickets"], "idempotency_key": "x1"}
    before = center.counts()
    center.seed.tokens["nobody"] = "not-a-token-this-center-made"
    # someone else's lease; a lease that does not exist; a client account asking for work; no
    # qualification; a token nobody was given (looked up, not cached: 401 either way)
    for user, target, kw, status in [
        ("ann2", url, {"json": answer}, 403),
        ("ann1", "/api/v1/leases/987654321/submit", {"json": answer}, 404),
        ("globex-ops", "/api/v1/leases", {}, 403),
        ("idle", "/api/v1/leases", {}, 404),
        ("nobody", "/api/v1/leases", {}, 401),
        ("nobody", url, {"json": answer}, 401),
    ]:
        cold, warm = _both(center, framework, user, target, cached=False, **kw)
        assert _same(cold, warm)["status"] == status
    assert center.counts() == before


def test_lease_and_submit_through_the_hot_path(center: Center) -> None:
    before = _hot(center)  # the token is not cached yet: the hot path looks it up
    lease = center.lease("ann1", "globex-tickets")
    assert {"lease_id", "expires_at", "item", "project"} <= set(lease), lease
    resp = center.submit("ann1", lease["lease_id"], GOOD_ANSWERS["globex-tickets"])
    assert resp.status_code == 200, resp.text
    assert resp.json()["next_step"] == "accepted" and resp.json()["replayed"] is False
    again = center.submit("ann1", lease["lease_id"], GOOD_ANSWERS["globex-tickets"])
    assert again.status_code == 200 and again.json()["replayed"] is True  # idempotent, as through the framework
    assert _hot(center) == before + 3
    assert center.count("submissions", lease_id=lease["lease_id"]) == 1


def test_other_requests_are_left_to_the_framework(center: Center) -> None:
    before = _hot(center)
    lease = center.lease("ann1", "globex-tickets")
    assert _hot(center) == before + 1
    before = _hot(center)
    # not a lease id; a body declared as something other than JSON; a malformed Authorization header
    resp = center.post("ann1", "/api/v1/leases/abc/submit", json={"answer": {}, "idempotency_key": "k"})
    center.problem(resp, 422, field="lease_id")
    resp = center.client.post(f"/api/v1/leases/{lease['lease_id']}/submit", content=b"{}",
                              headers={**center.as_("ann1"), "Content-Type": "text/plain"})
    assert resp.status_code == 422
    resp = center.client.post("/api/v1/leases", headers={"Authorization": "Basic abc"})
    center.problem(resp, 401)
    resp = center.post("ann1", "/api/v1/leases/heartbeat", json={"lease_ids": [lease["lease_id"]]})
    assert resp.status_code == 200 and resp.json()["renewed"] == [lease["lease_id"]]
    assert _hot(center) == before


def test_a_revoked_token_is_refused_by_the_hot_path_once_the_cache_lets_go(app_factory: AppFactory) -> None:
    center = app_factory(token_cache_seconds=0)
    center.lease("ann1", "globex-tickets")
    with center.db.write() as conn:
        conn.execute(update(tables.api_tokens).where(tables.api_tokens.c.user_id == center.seed.users["ann1"])
                     .values(revoked=True))
    before = (_hot(center), center.counts())
    resp = center.post("ann1", "/api/v1/leases", json={"project_id": center.seed.projects["globex-tickets"]})
    center.problem(resp, 401, says="revoked")
    assert resp.headers["www-authenticate"] == "Bearer"
    assert (_hot(center), center.counts()) == (before[0] + 1, before[1])  # the hot path refused it; no lease
