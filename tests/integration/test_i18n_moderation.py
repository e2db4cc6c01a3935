"""The moderation gate and the delivery log say their errors in the reader's language: the API by the
request's Accept-Language (problem+json ``detail``), the lead's page by the reader's own language."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update

from seatflow.store import tables

from ._moderation import GATE, gate_center
from .conftest import AppFactory, Center

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
ITEMS = "/api/v1/moderation/items"


@pytest.fixture
def gate(app_factory: AppFactory) -> Center:
    return gate_center(app_factory)


def test_a_bad_push_is_refused_in_chinese_when_asked_and_in_english_otherwise(gate: Center) -> None:
    before = gate.counts()
    body = {"project": GATE, "external_id": "zh-1", "text": "hello", "deadline": "tomorrow"}
    english = gate.problem(gate.post("acme-ops", ITEMS, json=body), 422, field="deadline")
    assert english["detail"] == ("deadline: 'tomorrow' is not an ISO 8601 time such as "
                                 "2026-11-27T10:30:00+08:00")
    headers = {**gate.as_("acme-ops"), **ZH}
    chinese = gate.problem(gate.client.post(ITEMS, json=body, headers=headers), 422, field="deadline")
    assert chinese["detail"] == "deadline：'tomorrow' 不是 ISO 8601 时间（例如 2026-11-27T10:30:00+08:00）"
    assert chinese["title"] == "输入无效"

    # a message built from a part: the field stays as it is, the words around it are translated
    extra = gate.problem(gate.client.post(ITEMS, json={"external_id": "zh-2", "text": "hi", "bogus": 1},
                                          headers=headers), 422, field="bogus")
    assert extra["detail"] == "bogus：未知字段；请删除"

    missing = gate.problem(gate.client.get(f"{ITEMS}/nope", headers=headers), 404, field="external_id")
    assert missing["detail"] == "没有 external_id 为 'nope' 的审核条目"
    assert gate.counts() == before


def test_the_delivery_log_refuses_an_unknown_state_in_chinese(gate: Center) -> None:
    resp = gate.client.get("/api/v1/deliveries", params={"state": "lost"}, headers={**gate.as_("manager"), **ZH})
    body = gate.problem(resp, 422, field="state")
    assert body["detail"] == "未知的状态 'lost'；请使用 pending, delivering, delivered, dead, held 之一"


def test_the_seats_form_says_its_error_in_the_readers_language(gate: Center) -> None:
    with gate.db.write() as conn:
        conn.execute(update(tables.users).where(tables.users.c.username == "lead").values(locale="zh_CN"))
    resp = gate.client.post(f"/moderation/{GATE}/seats", headers=gate.as_("lead"), data={"skill": "annotate"},
                            follow_redirects=False)
    assert resp.status_code == 303
    said = parse_qs(urlsplit(resp.headers["location"]).query)["error"]
    assert said == ["usernames：请至少指定一个要加入项目的人"]
    shown = gate.client.get(resp.headers["location"], headers=gate.as_("lead"))
    assert "usernames：请至少指定一个要加入项目的人" in shown.text
