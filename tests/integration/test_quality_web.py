"""Quality on the home pages: a worker sees their own numbers, a lead the notices about their team."""

from __future__ import annotations

import pytest

from seatflow.services import quality

from .conftest import Center
from .test_quality_gold import FACE, OTHER, faces_gold, import_gold, set_quality
from .test_quality_workers import answer_gold
from .test_web import login


@pytest.fixture(autouse=True)
def _fresh_quality_cache() -> None:
    quality.project_cache.clear()


def _home(center: Center, username: str) -> str:
    assert login(center, username, lang="en").status_code == 303
    resp = center.client.get("/")
    assert resp.status_code == 200
    return resp.text


def test_worker_home_shows_their_own_quality_and_the_lead_home_the_notice(center: Center) -> None:
    assert 'id="my-quality"' not in _home(center, "ann1")  # nothing measured yet: no table
    gold = set(import_gold(center, "acme-faces", faces_gold(4)))
    set_quality(center, "acme-faces", gold_rate=1.0, min_gold=3, alpha=0.2, beta=0.2)
    answer_gold(center, "ann2", FACE, gold)
    page = _home(center, "ann2")
    assert 'id="my-quality"' in page and 'data-project="acme-faces"' in page
    assert "100%" in page and "1 answers" in page
    assert "acme-text" not in page.split('id="my-quality"')[1].split("</table>")[0]  # only measured projects
    for _ in range(3):
        answer_gold(center, "ann1", OTHER, gold)
    page = _home(center, "ann1")
    assert "Suspended" in page
    lead = _home(center, "lead")
    assert 'id="quality-notices"' in lead and 'data-worker="ann1"' in lead
    assert ("suspended: 0 of 3 check items right, enough evidence that the accuracy is 50% or less "
            "rather than 70% or more") in lead
    assert 'id="quality-notices"' not in _home(center, "acme-ops")  # a client never sees a worker
    assert "ann1" not in _home(center, "acme-ops")
    assert 'id="quality-notices"' not in _home(center, "ann2")
