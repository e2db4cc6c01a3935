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
