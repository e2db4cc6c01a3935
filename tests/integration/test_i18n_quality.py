"""Quality and acceptance errors reach a Chinese reader in Chinese through the API (Accept-Language:
zh-CN), values and field names untouched; without the header they stay English."""

from __future__ import annotations

import pytest

from seatflow.services import quality

from .conftest import Center
from .test_acceptance import make_batch
from .test_quality_gold import OTHER, faces_gold, import_gold, set_quality
from .test_quality_workers import answer_gold

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


@pytest.fixture(autouse=True)
def _fresh_quality_cache() -> None:
    quality.project_cache.clear()


def test_an_inspection_of_a_batch_in_work_is_refused_in_chinese(center: Center) -> None:
    batch = make_batch(center, "acme-zh", 4)
    url = f"/api/v1/batches/{batch}/inspections"
    english = center.problem(center.post("acme-ops", url, json={}), 409, field="batch")
    assert english["detail"] == (f"batch {batch} is not delivered: 4 of its 4 items are still in work; "
                                 "inspect it when every item is done")
    resp = center.client.post(url, json={}, headers={**center.as_("acme-ops"), **ZH})
    chinese = center.problem(resp, 409, field="batch")
    assert chinese["detail"] == f"批次 {batch} 尚未交付：4 个条目中还有 4 个在处理中；请在所有条目完成后再抽检"
    resp = center.client.post(url, json={"on_reject": "all"}, headers={**center.as_("acme-ops"), **ZH})
    assert center.problem(resp, 422, field="on_reject")["detail"] == \
        "on_reject：必须是 defective, lot 之一，收到的是 'all'"


def test_a_bad_threshold_in_the_quality_settings_is_said_in_chinese(center: Center) -> None:
    """A message built from another (quality settings wrapping scoring's threshold check) is translated whole."""
    headers = {**center.as_("manager"), **ZH}
    resp = center.client.put("/api/v1/projects/acme-faces/quality", json={"thresholds": {"iou": 3}}, headers=headers)
    body = center.problem(resp, 422, field="quality.thresholds.iou")
    assert body["detail"] == "quality.thresholds.iou：必须是 0 到 1 之间的数字，收到的是 3"
    resp = center.client.put("/api/v1/projects/acme-faces/quality", json={"window": 2.5}, headers=headers)
    assert center.problem(resp, 422, field="quality.window")["detail"] == "quality.window 必须是 1 到 10000 之间的整数"


def test_a_suspended_worker_is_told_in_chinese(center: Center) -> None:
    gold = set(import_gold(center, "acme-faces", faces_gold(8)))
    set_quality(center, "acme-faces", gold_rate=1.0, min_gold=3, min_accuracy=0.5, alpha=0.2, beta=0.2)
    for _ in range(3):
        answer_gold(center, "ann1", OTHER, gold)
    resp = center.client.post("/api/v1/leases", json={"project_id": center.seed.projects["acme-faces"]},
                              headers={**center.as_("ann1"), **ZH})
    body = center.problem(resp, 403, field="project_id")
    assert body["detail"] == ("你已被暂停参与项目 acme-faces：你在检查条目上的准确率低于该项目的门槛；"
                              "已通知你的组长，组长可以恢复你的作业资格")
    assert body["title"] == "已被暂停参与此项目"
