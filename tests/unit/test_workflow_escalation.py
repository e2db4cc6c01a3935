"""Escalation in the workflow domain: an escalated answer goes to the senior queue, after the stages."""

from __future__ import annotations

import pytest

from seatflow.domain.workflow import (
    Accept,
    NewTask,
    StageKind,
    Verdict,
    after_answer,
    after_review,
    parse_workflow,
    senior_stage,
)
from seatflow.worktypes import get_work_type


@pytest.mark.parametrize("text", ["annotate", "annotate -> review(sample_rate=0)", "annotate -> review -> review"])
def test_the_senior_stage_comes_after_the_workflow_stages(text: str) -> None:
    w = parse_workflow(text)
    assert senior_stage(w) == len(w.stages)


@pytest.mark.parametrize("text", ["annotate", "annotate -> review(sample_rate=0)", "annotate -> review(sample_rate=1)"])
def test_an_escalated_answer_goes_to_the_senior_queue_whatever_the_sampling(text: str) -> None:
    w = parse_workflow(text)
    got = after_answer(w, item_id=3, slot=0, submission_id=11, escalate=True)
    assert got == NewTask(stage=senior_stage(w), kind=StageKind.REVIEW, slot=0, target_submission_id=11)
    # without escalation the same answer follows the workflow
    assert after_answer(w, item_id=3, slot=0, submission_id=11) != got


def test_an_escalated_rework_goes_up_too_and_anyone_senior_may_take_it() -> None:
    w = parse_workflow("annotate -> review(sample_rate=1)")
    got = after_answer(w, item_id=3, slot=1, submission_id=12, from_stage=1, forced=True, reviewer_id=7,
                       escalate=True)
    assert got == NewTask(stage=2, kind=StageKind.REVIEW, slot=1, target_submission_id=12, assignee_id=None)


def test_an_answer_accepted_at_the_senior_stage_is_final() -> None:
    w = parse_workflow("annotate -> review(sample_rate=1)")
    got = after_review(w, verdict=Verdict.ACCEPT, item_id=3, slot=0, review_stage=senior_stage(w),
                       submission_id=12, author_id=5)
    assert got == Accept()


def test_a_rework_sent_back_by_a_senior_is_accepted_unless_it_escalates_again() -> None:
    w = parse_workflow("annotate")
    back = after_review(w, verdict=Verdict.REJECT, item_id=3, slot=0, review_stage=senior_stage(w),
                        submission_id=12, author_id=5)
    assert back == NewTask(stage=0, kind=StageKind.ANNOTATE, slot=0, target_submission_id=12, assignee_id=5)
    assert after_answer(w, item_id=3, slot=0, submission_id=13, from_stage=senior_stage(w), forced=True,
                        reviewer_id=9) == Accept()


def test_only_the_moderation_escalate_decision_escalates() -> None:
    mod = get_work_type("moderation")
    schema = mod.parse_schema(mod.demo_schema())
    payload = mod.parse_payload({"kind": "text", "text": "hi"}, schema)
    assert mod.escalates(mod.parse_answer({"decision": "escalate"}, schema, payload))
    assert not mod.escalates(mod.parse_answer({"decision": "approve"}, schema, payload))
    text = get_work_type("text_annotation")
    tschema = text.parse_schema(text.demo_schema())
    tpayload = text.parse_payload({"text": "Alice"}, tschema)
    assert not text.escalates(text.parse_answer({"classes": ["positive"]}, tschema, tpayload))
