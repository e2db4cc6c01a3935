"""The API says its errors in the language the request asks for; machines that ask for nothing get English."""

from __future__ import annotations

from .conftest import Center

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


def test_problems_follow_accept_language_then_the_cookie_else_english(center: Center) -> None:
    c, manager = center.client, center.as_("manager")

    english = center.problem(c.get("/api/v1/no-such-endpoint", headers=manager), 404)
    assert english["detail"] == "no such endpoint: GET /api/v1/no-such-endpoint; see /docs"
    chinese = center.problem(c.get("/api/v1/no-such-endpoint", headers={**manager, **ZH}), 404)
    assert chinese["detail"] == "没有这个接口：GET /api/v1/no-such-endpoint；请查看 /docs"
    assert chinese["title"] == "请求失败"

    # a service's error: its title is translated; the type, status and field stay machine-readable
    body = center.problem(c.get("/api/v1/projects/no-such-project", headers={**manager, **ZH}), 404)
    assert body["title"] == "未找到" and body["type"].endswith("/not-found")

    # the language chosen on the pages (its cookie) wins over the browser's Accept-Language
    c.cookies.set("seatflow_lang", "zh_CN")
    try:
        by_cookie = center.problem(c.get("/api/v1/no-such-endpoint", headers={**manager, "Accept-Language": "en"}),
                                   404)
    finally:
        c.cookies.clear()
    assert by_cookie["detail"] == chinese["detail"]


def test_the_hot_path_says_bad_bodies_in_chinese(center: Center) -> None:
    """POST /leases is answered by the hot path (not FastAPI): its problems are translated the same way."""
    c = center.client
    before = center.counts()
    headers = {**center.as_("ann1"), "Content-Type": "application/json"}
    taken = center.app.state.hot_path_requests
    english = center.problem(c.post("/api/v1/leases", content=b"{nope", headers=headers), 422, field="body")
    assert english["detail"].startswith("body: the request body is not valid JSON (")
    chinese = center.problem(c.post("/api/v1/leases", content=b"{nope", headers={**headers, **ZH}), 422,
                             field="body")
    assert chinese["detail"].startswith("body：请求体不是有效的 JSON（"), chinese
    assert chinese["title"] == "输入无效"
    assert chinese["errors"][0]["message"].startswith("请求体不是有效的 JSON（")
    assert center.app.state.hot_path_requests == taken + 2
    assert center.counts() == before


def test_fastapi_validation_errors_are_translated(center: Center) -> None:
    c = center.client
    resp = c.post("/api/v1/clients", json={"name": "No slug"}, headers={**center.as_("manager"), **ZH})
    body = center.problem(resp, 422, field="slug")
    assert body["detail"] == "slug：此字段为必填项", body


def test_type_errors_of_bodies_and_answers_are_said_in_chinese(center: Center) -> None:
    """pydantic's own wording ("Input should be a valid integer") is said in the catalog's words, in the reader's
    language: a request body checked by FastAPI, one checked by the hot path, and an answer checked by its work type."""
    c = center.client
    before = center.counts()
    manager, ann1 = center.as_("manager"), center.as_("ann1")
    # FastAPI: a list where an object is expected, a number where text is
    body = center.problem(c.post("/api/v1/clients", json={"slug": 5, "name": "x"}, headers={**manager, **ZH}), 422,
                          field="slug")
    assert body["detail"] == "slug：必须是文本（字符串）", body
    english = center.problem(c.post("/api/v1/clients", json={"slug": 5, "name": "x"}, headers=manager), 422,
                             field="slug")
    assert english["detail"] == "slug: must be text (a string)", english
    # the hot path: a project id that is not a whole number
    lease = center.problem(c.post("/api/v1/leases", json={"project_id": "abc"}, headers={**ann1, **ZH}), 422,
                           field="project_id")
    assert lease["detail"] == "project_id：必须是整数", lease
    assert center.counts() == before
    # an answer checked against the project's schema: a box coordinate that is not a number
    held = center.lease("ann1", "acme-faces")
    bad = {"boxes": [{"label": "face", "x": "left", "y": 20, "w": 100, "h": 120}]}
    resp = c.post(f"/api/v1/leases/{held['lease_id']}/submit", json={"answer": bad, "idempotency_key": "zh-type"},
                  headers={**ann1, **ZH})
    answer = center.problem(resp, 422, field="answer.boxes[0].x")
    assert answer["detail"] == "answer.boxes[0].x：必须是数字", answer
    assert center.count("submissions", lease_id=held["lease_id"]) == 0
