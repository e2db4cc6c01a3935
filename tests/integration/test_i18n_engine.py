"""The work engine's refusals reach a Chinese reader in Chinese: a worker's refused answer (the work types'
validation, what the workspace shows), a lease of someone else's, and no work for an unqualified worker.

The Chinese texts are those of /work/notes/i18n/engine.json; these tests fail until the lead merges them into
the zh_CN catalog.
"""

from __future__ import annotations

from .conftest import Center

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


def test_a_refused_answer_is_said_in_the_workers_language(center: Center) -> None:
    c = center.client
    lease = center.lease("ann1", "acme-faces")
    url = f"/api/v1/leases/{lease['lease_id']}/submit"
    bad = {"answer": {"boxes": [{"label": "cat", "x": 10, "y": 20, "w": 100, "h": 120}]}, "idempotency_key": "k1"}
    before = center.counts()

    english = center.problem(c.post(url, json=bad, headers=center.as_("ann1")), 422, field="answer.boxes[0].label")
    assert english["detail"] == "answer.boxes[0].label: 'cat' is not a label of this project; labels are: face, person"

    chinese = center.problem(c.post(url, json=bad, headers={**center.as_("ann1"), **ZH}), 422,
                             field="answer.boxes[0].label")
    assert chinese["detail"] == "answer.boxes[0].label：'cat' 不是本项目的标签；可用的标签有：face, person", chinese
    assert chinese["title"] == "输入无效"

    outside = {"answer": {"boxes": [{"label": "face", "x": 600, "y": 20, "w": 100, "h": 120}]},
               "idempotency_key": "k2"}
    body = center.problem(c.post(url, json=outside, headers={**center.as_("ann1"), **ZH}), 422,
                          field="answer.boxes[0]")
    assert body["detail"] == "answer.boxes[0]：框 (600,20)-(700,140) 超出了 640x480 的图片范围", body
    assert center.counts() == before

    # a lease of someone else's
    theirs = center.problem(c.post(url, json=bad, headers={**center.as_("ann2"), **ZH}), 403, field="lease_id")
    assert theirs["detail"] == f"租约 {lease['lease_id']} 属于另一位作业员", theirs


def test_a_moderation_answer_and_no_work_in_chinese(center: Center) -> None:
    c = center.client
    lease = center.lease("ann1", "acme-mod")
    resp = c.post(f"/api/v1/leases/{lease['lease_id']}/submit", headers={**center.as_("ann1"), **ZH},
                  json={"answer": {"decision": "reject"}, "idempotency_key": "m1"})
    body = center.problem(resp, 422, field="answer.reasons")
    assert body["detail"] == "answer.reasons：拒绝时至少需要选择一个审核规则中的原因代码", body

    # the hot path (POST /leases) says NoWork in Chinese too
    none = center.problem(c.post("/api/v1/leases", headers={**center.as_("idle"), **ZH}), 404)
    assert none["detail"] == "你没有任何进行中项目的资格（已暂停的项目不派发任务）：请联系组长", none
