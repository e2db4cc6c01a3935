"""Bad input on every write path: a clear 4xx naming the field, one error shape, and nothing written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from seatflow.domain.clock import utcnow
from seatflow.store import tables

from .conftest import GOOD_ANSWERS, Center


def _diff(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Tables whose row count changed, with the change."""
    return {t: after[t] - before[t] for t in before if after[t] != before[t]}


# --- one error shape ------------------------------------------------------------------------


def test_every_4xx_is_one_problem_shape(center: Center) -> None:
    """401, 403, 404, 405, 409, 410, 422 from many endpoints: all application/problem+json."""
    lease = center.lease("ann1", "acme-mod")
    done = center.lease("ann1", "acme-mod")
    assert center.submit("ann1", done["lease_id"], {"decision": "approve"}, key="used").status_code == 200
    c = center.client
    anon: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/api/v1/me", None), ("GET", "/api/v1/projects", None), ("POST", "/api/v1/leases", None),
        ("GET", "/api/v1/items/1", None), ("GET", "/api/v1/status", None),
        ("GET", "/api/v1/projects/acme-mod/export.jsonl", None), ("POST", "/api/v1/projects", {"slug": "x"}),
    ]
    for method, url, body in anon:
        center.problem(c.request(method, url, json=body), 401)

    cases: list[tuple[str, str, str, Any, int, str | None]] = [
        ("ann1", "POST", "/api/v1/projects", {"slug": "x"}, 403, None),
        ("ann1", "GET", "/api/v1/users", None, 403, None),
        ("acme-ops", "POST", "/api/v1/leases", None, 403, None),
        ("ann2", "POST", f"/api/v1/leases/{lease['lease_id']}/submit",
         {"answer": {"decision": "approve"}, "idempotency_key": "k"}, 403, "lease_id"),
        ("acme-ops", "GET", "/api/v1/projects/globex-tickets", None, 404, None),
        ("manager", "GET", "/api/v1/projects/no-such-project", None, 404, None),
        ("manager", "GET", "/api/v1/items/999999", None, 404, None),
        ("manager", "GET", "/api/v1/projects/acme-mod/export.jsonl?batch_id=999999", None, 404, "batch_id"),
        ("manager", "GET", "/api/v1/projects/acme-mod/export?format=csv&batch_id=999999", None, 404, "batch_id"),
        ("manager", "POST", "/api/v1/projects/acme-mod/exports", {"format": "csv", "batch_id": 999999}, 404,
         "batch_id"),
        ("manager", "GET", "/api/v1/no-such-endpoint", None, 404, None),
        ("idle", "POST", "/api/v1/leases", None, 404, None),
        ("manager", "POST", "/api/v1/users/nobody/qualifications", {"project": "acme-mod"}, 404, "username"),
        ("manager", "DELETE", "/api/v1/projects", None, 405, None),
        ("manager", "POST", "/api/v1/clients", {"slug": "acme", "name": "Again"}, 409, "slug"),
        ("ann1", "POST", f"/api/v1/leases/{done['lease_id']}/submit",
         {"answer": {"decision": "approve"}, "idempotency_key": "again"}, 409, "lease_id"),
        ("manager", "GET", "/api/v1/projects?limit=100000", None, 422, "limit"),
        ("manager", "GET", "/api/v1/items/abc", None, 422, "item_id"),
        ("manager", "POST", "/api/v1/users", {"username": "x y", "role": "worker"}, 422, "username"),
        ("manager", "POST", "/api/v1/clients", {"slug": "ftp-co", "name": "F", "webhook_url": "ftp://x/y"}, 422,
         "webhook_url"),
        ("ann1", "POST", f"/api/v1/leases/{lease['lease_id']}/submit",
         {"answer": {"decision": "maybe"}, "idempotency_key": "k"}, 422, "answer.decision"),
        ("ann1", "POST", "/api/v1/leases/heartbeat", {"lease_ids": ["one"]}, 422, "lease_ids[0]"),
    ]
    for user, method, url, body, status, field in cases:
        resp = center.client.request(method, url, json=body, headers=center.as_(user))
        problem = center.problem(resp, status, field=field)
        assert problem.get("instance") == url.split("?")[0], problem

    with center.db.write() as conn:  # the lease runs out: 410
        conn.execute(update(tables.tasks).where(tables.tasks.c.lease_id == lease["lease_id"])
                     .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    center.problem(center.submit("ann1", lease["lease_id"], {"decision": "approve"}), 410, field="lease_id")


def test_a_422_lists_every_invalid_field(center: Center) -> None:
    resp = center.post("manager", "/api/v1/users", json={"password": 1, "locale": [], "role": "worker"})
    body = center.problem(resp, 422)
    fields = {e["field"] for e in body["errors"]}
    assert {"username", "password", "locale"} <= fields
    assert body["field"] == body["errors"][0]["field"]


# --- malformed requests ---------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/projects", "/api/v1/users", "/api/v1/clients",
                                 "/api/v1/projects/acme-mod/items", "/api/v1/leases/1/submit",
                                 "/api/v1/leases/1/review", "/api/v1/leases/heartbeat"])
def test_malformed_json_is_422_naming_the_body(center: Center, url: str) -> None:
    before = center.counts()
    headers = {**center.as_("manager"), "Content-Type": "application/json"}
    resp = center.client.post(url, content=b'{"slug": "x",', headers=headers)
    body = center.problem(resp, 422, field="body", says="not valid JSON")
    assert "character" in body["detail"]
    resp = center.client.post(url, content=b"[1, 2]", headers=headers)
    center.problem(resp, 422, field="body", says="JSON object")
    assert center.counts() == before


def test_a_missing_body_is_422_naming_the_body(center: Center) -> None:
    resp = center.post("ann1", "/api/v1/leases/1/submit")
    center.problem(resp, 422, field="body", says="missing")


@pytest.mark.parametrize(("url", "body", "field"), [
    ("/api/v1/leases", {"project": 1}, "project"),
    ("/api/v1/leases/heartbeat", {"lease_ids": [], "all": True}, "all"),
    ("/api/v1/leases/release", {"ids": [1]}, "ids"),
    ("/api/v1/clients", {"slug": "c", "name": "C", "secret": "s"}, "secret"),
    ("/api/v1/users", {"username": "abc", "role": "worker", "admin": True}, "admin"),
    ("/api/v1/tokens", {"name": "n", "scopes": ["all"]}, "scopes"),
    ("/api/v1/projects", {"slug": "p", "name": "P", "client": "acme", "work_type": "moderation", "colour": "red"},
     "colour"),
    ("/api/v1/projects/acme-mod/items", {"items": [], "batch": "b"}, "batch"),
])
def test_unknown_fields_are_refused(center: Center, url: str, body: dict[str, Any], field: str) -> None:
    before = center.counts()
    resp = center.post("manager", url, json=body)
    problem = center.problem(resp, 422, field=field)
    assert "unknown field" in problem["detail"]
    assert center.counts() == before


# --- answers --------------------------------------------------------------------------------

BAD_ANSWERS: list[tuple[str, str, Any, str, str]] = [
    ("unknown field", "acme-mod", {"decision": "approve", "confidence": 0.9}, "answer.confidence", "unknown field"),
    ("unknown label", "acme-faces", {"boxes": [{"label": "cat", "x": 1, "y": 1, "w": 5, "h": 5}]},
     "answer.boxes[0].label", "cat"),
    ("box outside the image", "acme-faces", {"boxes": [{"label": "face", "x": 600, "y": 10, "w": 100, "h": 50}]},
     "answer.boxes[0]", "outside the 640x480 image"),
    ("keypoint count", "acme-faces", {"keypoints": [{"label": "face", "points": [[1, 1, 2], [2, 2, 2]]}]},
     "answer.keypoints[0].points", "expected 5 points"),
    ("reject without reason", "acme-mod", {"decision": "reject"}, "answer.reasons", "reason"),
    ("unknown reason", "acme-mod", {"decision": "reject", "reasons": ["rude"]}, "answer.reasons[0]", "rude"),
    ("unknown disposition", "globex-tickets", {"reply": "Done.", "disposition": "shrug"}, "answer.disposition",
     "shrug"),
    ("placeholder left in reply", "globex-tickets", {"reply": "Hello {customer_name}", "disposition": "resolved"},
     "answer.reply", "{customer_name}"),
    ("unknown span label", "acme-text", {"spans": [{"start": 0, "end": 3, "label": "DATE"}]},
     "answer.spans[0].label", "DATE"),
    ("span past the text", "acme-text", {"spans": [{"start": 0, "end": 999, "label": "PER"}]},
     "answer.spans[0].end", "past the end"),
    ("answer of the wrong shape", "acme-mod", ["approve"], "answer", ""),
]


@pytest.mark.parametrize(("project", "answer", "field", "says"), [c[1:] for c in BAD_ANSWERS],
                         ids=[c[0] for c in BAD_ANSWERS])
def test_a_bad_answer_is_422_and_the_lease_stays(center: Center, project: str, answer: Any, field: str,
                                                 says: str) -> None:
    lease = center.lease("ann1", project)
    before = center.counts()
    center.problem(center.submit("ann1", lease["lease_id"], answer), 422, field=field, says=says)
    assert center.counts() == before
    assert center.row("tasks", id=lease["task_id"]).state == "leased"
    # the worker fixes the answer and sends it on the same lease, with the same key
    assert center.submit("ann1", lease["lease_id"], GOOD_ANSWERS[project]).status_code == 200
    assert _diff(before, center.counts()).get("submissions") == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"answer": {"decision": "approve"}}, "idempotency_key"),
    ({"answer": {"decision": "approve"}, "idempotency_key": ""}, "idempotency_key"),
    ({"answer": {"decision": "approve"}, "idempotency_key": "k" * 129}, "idempotency_key"),
    ({"answer": {"decision": "approve"}, "idempotency_key": "k", "duration_ms": -5}, "duration_ms"),
    ({"idempotency_key": "k"}, "answer"),
])
def test_a_bad_submit_body_is_422(center: Center, body: dict[str, Any], field: str) -> None:
    lease = center.lease("ann1", "acme-mod")
    before = center.counts()
    center.problem(center.post("ann1", f"/api/v1/leases/{lease['lease_id']}/submit", json=body), 422, field=field)
    assert center.counts() == before


@pytest.mark.parametrize(("body", "field", "says"), [
    ({"verdict": "maybe"}, "verdict", "accept"),
    ({"verdict": "reject"}, "error_tags", "error tag or a comment"),
    ({"verdict": "reject", "comment": "   "}, "error_tags", "error tag or a comment"),
    ({"verdict": "accept", "fixed_answer": {"boxes": [{"label": "dog", "x": 1, "y": 1, "w": 2, "h": 2}]}},
     "answer.boxes[0].label", "dog"),
    ({"verdict": "reject", "comment": "no", "fixed_answer": {"boxes": []}}, "fixed_answer", "accept"),
])
def test_a_bad_review_is_422_and_writes_nothing(center: Center, body: dict[str, Any], field: str,
                                                says: str) -> None:
    lease = center.lease("ann1", "acme-faces")
    assert center.submit("ann1", lease["lease_id"], GOOD_ANSWERS["acme-faces"]).status_code == 200
    review = center.lease("rev1")
    before = center.counts()
    resp = center.post("rev1", f"/api/v1/leases/{review['lease_id']}/review", json={"idempotency_key": "r", **body})
    center.problem(resp, 422, field=field, says=says)
    assert center.counts() == before
    assert center.row("tasks", id=review["task_id"]).state == "leased"


# --- imports --------------------------------------------------------------------------------


def _mod(ext: str, **extra: Any) -> dict[str, Any]:
    return {"external_id": ext, "payload": {"kind": "text", "text": f"post {ext}"}, **extra}


@pytest.mark.parametrize(("bad", "field"), [
    ({"external_id": "n3", "payload": {"kind": "audio", "text": "x"}}, "payload.kind"),
    ({"external_id": "n3", "payload": {"kind": "image"}}, "payload.media"),
    ({"payload": {"kind": "text", "text": "x"}}, "external_id"),
    (_mod("n1"), "external_id"),  # the same external id twice in one import
    (_mod("n3", priority="high"), "priority"),
    (_mod("n3", deadline="tomorrow"), "deadline"),
    (_mod("n3", deadline="2030-01-01T10:00:00"), "deadline"),  # no time zone
])
def test_import_stops_at_the_bad_item_and_keeps_the_ones_before(center: Center, bad: dict[str, Any],
                                                                 field: str) -> None:
    project_id = center.seed.projects["acme-mod"]
    before = center.counts()
    items = [_mod("n1"), _mod("n2"), bad, _mod("n4"), _mod("n5")]
    resp = center.post("manager", "/api/v1/projects/acme-mod/items", json={"items": items})
    problem = center.problem(resp, 422, field=field)
    assert problem["line"] == 3 and "request:3" in problem["detail"]
    assert "2 item(s) before it were imported" in problem["detail"]
    report = problem["report"]
    assert (report["read"], report["imported"], report["error_line"]) == (3, 2, 3)
    changed = _diff(before, center.counts())
    assert changed == {"items": 2, "tasks": 2, "batches": 1}, changed
    assert center.count("items", project_id=project_id) == 5  # 3 seeded + exactly 2
    assert center.row("batches", id=report["batch_id"]).status == "failed"

    # sending the whole file again after fixing it imports the rest, skipping what is there
    items[2] = _mod("n3")
    resp = center.post("manager", "/api/v1/projects/acme-mod/items", json={"items": items})
    assert resp.status_code == 201, resp.text
    assert (resp.json()["imported"], resp.json()["skipped"]) == (3, 2)


def test_import_into_an_unknown_project_is_404_and_writes_nothing(center: Center) -> None:
    before = center.counts()
    center.problem(center.post("manager", "/api/v1/projects/nope/items", json={"items": [_mod("a")]}), 404)
    assert center.counts() == before


def test_csv_upload_with_a_bad_row(center: Center) -> None:
    before = center.counts()
    csv = "external_id,kind,text\nc1,text,first\nc2,text,second\nc3,hologram,third\nc4,text,fourth\n"
    resp = center.post("manager", "/api/v1/projects/acme-mod/imports",
                       files={"file": ("posts.csv", csv.encode(), "text/csv")})
    problem = center.problem(resp, 422, field="payload.kind")
    assert "posts.csv:4" in problem["detail"] and problem["line"] == 4
    assert problem["report"]["imported"] == 2
    assert _diff(before, center.counts()) == {"items": 2, "tasks": 2, "batches": 1}


def test_csv_upload_with_a_short_row(center: Center) -> None:
    before = center.counts()
    csv = "external_id,kind,text\nc1,text,first\nc2,text\n"
    resp = center.post("manager", "/api/v1/projects/acme-mod/imports",
                       files={"file": ("posts.csv", csv.encode(), "text/csv")})
    problem = center.problem(resp, 422, field="text")
    assert "posts.csv:3" in problem["detail"]
    assert _diff(before, center.counts()) == {"items": 1, "tasks": 1, "batches": 1}


def test_jsonl_upload_with_a_malformed_line(center: Center) -> None:
    before = center.counts()
    lines = '{"external_id": "j1", "kind": "text", "text": "a"}\n{"external_id": "j2", "kind": "text", "text": }\n'
    resp = center.post("manager", "/api/v1/projects/acme-mod/imports",
                       files={"file": ("posts.jsonl", lines.encode(), "application/x-ndjson")})
    problem = center.problem(resp, 422, says="posts.jsonl:2")
    assert "not valid JSON" in problem["detail"] and problem["line"] == 2
    assert _diff(before, center.counts()) == {"items": 1, "tasks": 1, "batches": 1}


def test_good_uploads_are_imported(center: Center) -> None:
    csv = "external_id,kind,text,priority\nc1,text,first,3\nc2,text,second,0\n"
    resp = center.post("manager", "/api/v1/projects/acme-mod/imports",
                       files={"file": ("posts.csv", csv.encode(), "text/csv")})
    assert resp.status_code == 201, resp.text
    assert resp.json()["imported"] == 2 and resp.json()["batch_id"] is not None
    # the same upload again: nothing new, so no (empty) batch is made
    before = center.counts()
    again = center.post("manager", "/api/v1/projects/acme-mod/imports",
                        files={"file": ("posts.csv", csv.encode(), "text/csv")})
    assert again.status_code == 201, again.text
    assert (again.json()["imported"], again.json()["skipped"], again.json()["batch_id"]) == (0, 2, None)
    assert center.counts() == before


@pytest.mark.parametrize("name", ["posts.txt", "posts.json", "posts", "../../etc/passwd"])
def test_upload_of_another_file_type_is_422_and_writes_nothing(center: Center, name: str) -> None:
    before = center.counts()
    resp = center.post("manager", "/api/v1/projects/acme-mod/imports",
                       files={"file": (name, b"external_id\nx\n", "text/plain")})
    center.problem(resp, 422, field="file", says=".jsonl or .csv")
    assert center.counts() == before


def test_upload_without_a_file_is_422(center: Center) -> None:
    resp = center.post("manager", "/api/v1/projects/acme-mod/imports", data={"other": "x"})
    center.problem(resp, 422, field="file")


# --- catalog writes -------------------------------------------------------------------------

PROJECT = {"slug": "acme-new", "name": "New", "client": "acme", "work_type": "moderation"}


@pytest.mark.parametrize(("change", "status", "field", "says"), [
    ({"work_type": "juggling"}, 422, "work_type", "juggling"),
    ({"workflow": "annotate(overlap=2) -> judge()"}, 422, "workflow.stages[1]", "judge"),
    ({"workflow": "review(sample_rate=1)"}, 422, "workflow.stages[0].kind", "first stage"),
    ({"workflow": "annotate(overlap=0)"}, 422, "workflow.stages[0].overlap", "between 1 and 20"),
    ({"workflow": "annotate -> review(sample_rate=2)"}, 422, "workflow.stages[1].sample_rate", "between 0 and 1"),
    ({"workflow": 5}, 422, "workflow", "text"),
    ({"client": "initech"}, 404, "client", "initech"),
    ({"slug": "acme-faces"}, 409, "slug", "exists already"),
    ({"slug": "Bad Slug"}, 422, "slug", "lowercase"),
    ({"name": ""}, 422, "name", "required"),
    ({"label_schema": {"reasons": []}}, 422, "label_schema.reasons", ""),
    ({"sla_minutes": -5}, 422, "sla_minutes", "positive"),
    ({"unit_price": "cheap"}, 422, "unit_price", "number"),
    ({"unit_price": "1e20"}, 422, "unit_price", "at most 99999999.9999"),  # was a database error on PostgreSQL
    ({"unit_price": "0.123456"}, 422, "unit_price", "at most 4 decimals"),
    ({"unit_price": True}, 422, "unit_price", "number"),
    ({"sla_minutes": 10**15}, 422, "sla_minutes", "positive whole number"),
    ({"sla_minutes": True}, 422, "sla_minutes", "positive whole number"),
    ({"lease_seconds": 1}, 422, "lease_seconds", "10 to 86400"),
    ({"deadline": "soon"}, 422, "deadline", "unknown field"),
])
def test_project_create_refuses_bad_specs(center: Center, change: dict[str, Any], status: int, field: str,
                                          says: str) -> None:
    before = center.counts()
    resp = center.post("manager", "/api/v1/projects", json={**PROJECT, **change})
    center.problem(resp, status, field=field, says=says)
    assert center.counts() == before


def test_project_create_works_with_a_good_spec(center: Center) -> None:
    resp = center.post("manager", "/api/v1/projects", json={**PROJECT, "workflow": "annotate(overlap=3)",
                                                            "unit_price": "0.35", "sla_minutes": 30})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert (body["slug"], body["work_type"], body["unit_price"], body["sla_minutes"]) == (
        "acme-new", "moderation", "0.3500", 30)
    assert body["workflow"]["stages"][0]["overlap"] == 3


@pytest.mark.parametrize(("body", "status", "field", "says"), [
    ({"username": "newbie", "role": "wizard", "password": "long-enough-1"}, 422, "role", "wizard"),
    ({"username": "newbie", "role": "worker", "password": "short"}, 422, "password", "8 characters"),
    ({"username": "n", "role": "worker"}, 422, "username", "2-64"),
    ({"username": "ann1", "role": "worker"}, 409, "username", "exists already"),
    ({"username": "newbie", "role": "client"}, 422, "client", "client"),
    ({"username": "newbie", "role": "client", "client": "initech"}, 404, "client", "initech"),
    ({"username": "newbie", "role": "worker", "client": "acme"}, 422, "client", "only client users"),
    ({"username": "newbie", "role": "worker", "team": "night-shift"}, 404, "team", "night-shift"),
    ({"username": "newbie", "role": "worker", "locale": "fr"}, 422, "locale", "zh_CN"),
])
def test_user_create_refuses_bad_input(center: Center, body: dict[str, Any], status: int, field: str,
                                       says: str) -> None:
    before = center.counts()
    center.problem(center.post("manager", "/api/v1/users", json=body), status, field=field, says=says)
    assert center.counts() == before


@pytest.mark.parametrize(("username", "body", "status", "field"), [
    ("ann1", {"project": "no-such-project"}, 404, "project"),
    ("nobody", {"project": "acme-mod"}, 404, "username"),
    ("ann1", {"project": "acme-mod", "skill": "juggle"}, 422, "skill"),
    ("acme-ops", {"project": "acme-mod"}, 422, "username"),
])
def test_grant_refuses_bad_input(center: Center, username: str, body: dict[str, Any], status: int,
                                 field: str) -> None:
    before = center.counts()
    resp = center.post("lead", f"/api/v1/users/{username}/qualifications", json=body)
    center.problem(resp, status, field=field)
    assert center.counts() == before


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"slug": "acme", "name": "Again"}, 409, "slug"),
    ({"slug": "Not A Slug", "name": "X"}, 422, "slug"),
    ({"slug": "ok", "name": "  "}, 422, "name"),
])
def test_client_create_refuses_bad_input(center: Center, body: dict[str, Any], status: int, field: str) -> None:
    before = center.counts()
    center.problem(center.post("manager", "/api/v1/clients", json=body), status, field=field)
    assert center.counts() == before


def test_token_for_an_unknown_user_is_404(center: Center) -> None:
    before = center.counts()
    center.problem(center.post("manager", "/api/v1/tokens", json={"username": "ghost"}), 404, field="username")
    assert center.counts() == before
