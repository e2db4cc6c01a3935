"""Listeners of the work engine (services/_steps.py): told of every submit and review, in the same transaction."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection

from seatflow.errors import ValidationFailed
from seatflow.services import _steps

from .conftest import GOOD_ANSWERS, Center


@pytest.fixture
def heard(monkeypatch: pytest.MonkeyPatch) -> list[_steps.Step]:
    got: list[_steps.Step] = []
    monkeypatch.setattr(_steps, "_LISTENERS", {"image_annotation": [lambda conn, step: got.append(step)]})
    return got


def test_submit_and_review_are_told_with_what_happened(center: Center, heard: list[_steps.Step]) -> None:
    lease = center.lease("ann1", "acme-faces")
    assert center.submit("ann1", lease["lease_id"], GOOD_ANSWERS["acme-faces"]).status_code == 200
    [sub] = heard
    assert (sub.action, sub.task_kind, sub.next_step, sub.item_done) == ("submit", "annotate", "review", False)
    assert sub.answer is not None and sub.answer["boxes"][0]["label"] == "face"
    assert sub.actor_id == center.seed.users["ann1"] and sub.item_id == lease["item"]["id"]
    review = center.lease("rev1", "acme-faces")
    resp = center.post("rev1", f"/api/v1/leases/{review['lease_id']}/review",
                       json={"verdict": "accept", "idempotency_key": "r1"})
    assert resp.status_code == 200, resp.text
    rev = heard[1]
    assert (rev.action, rev.verdict, rev.item_done, rev.submission_id) == ("review", "accept", True, sub.submission_id)
    assert rev.reviewed_answer == sub.answer
    # a replayed review is not told again
    center.post("rev1", f"/api/v1/leases/{review['lease_id']}/review",
                json={"verdict": "accept", "idempotency_key": "r1"})
    assert len(heard) == 2


def test_a_listener_that_refuses_rolls_the_answer_back(center: Center, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(conn: Connection, step: Any) -> None:
        raise ValidationFailed("answer: refused by the listener", field="answer")

    monkeypatch.setattr(_steps, "_LISTENERS", {"image_annotation": [refuse]})
    lease = center.lease("ann1", "acme-faces")
    before = center.counts()
    center.problem(center.submit("ann1", lease["lease_id"], GOOD_ANSWERS["acme-faces"]), 422, field="answer")
    assert center.counts() == before  # nothing of the submit was kept


def test_other_work_types_are_not_told(center: Center, heard: list[_steps.Step]) -> None:
    lease = center.lease("ann1", "acme-text")
    assert center.submit("ann1", lease["lease_id"], GOOD_ANSWERS["acme-text"]).status_code == 200
    assert heard == []
