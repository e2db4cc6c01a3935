"""The moderation work type: policy, payload, decisions, agreement."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatflow.errors import ValidationFailed
from seatflow.worktypes import REGISTRY, get_work_type

WT = get_work_type("moderation")
POLICY = WT.parse_schema(WT.demo_schema())
CODES = ["minors", "violence", "sexual", "fraud", "copyright"]
NO_ESCALATION = WT.parse_schema({**WT.demo_schema(), "escalation": False})
VIDEO = WT.parse_payload({"kind": "video", "media": "clips/a1.mp4", "prescreen_score": 0.82}, POLICY)


def parse(answer: dict[str, Any], policy: Any = POLICY) -> Any:
    return WT.parse_answer(answer, policy, VIDEO)


def test_registered_and_demo_policy() -> None:
    assert REGISTRY["moderation"] is WT
    assert sorted(r.code for r in POLICY.reasons) == sorted(CODES)
    assert all(1 <= r.severity <= 5 for r in POLICY.reasons)
    assert POLICY.escalation is True
    assert WT.parse_schema({"reasons": [{"code": "x", "title": "X", "severity": 1}]}).escalation is True


def test_valid_decisions() -> None:
    assert parse({"decision": "approve"}).reasons == []
    rejected = parse({"decision": "reject", "reasons": ["violence", "minors"], "note": "at 0:12"})
    assert rejected.note == "at 0:12"
    assert parse({"decision": "escalate"}).decision == "escalate"
    assert parse({"decision": "escalate", "reasons": ["fraud"]}).reasons == ["fraud"]


@pytest.mark.parametrize(
    ("answer", "policy", "field", "text"),
    [
        ({"decision": "reject"}, POLICY, "answer.reasons", "a rejection needs at least one reason code"),
        ({"decision": "reject", "reasons": []}, POLICY, "answer.reasons", "at least one reason"),
        ({"decision": "reject", "reasons": ["violence", "spam"]}, POLICY, "answer.reasons[1]",
         "'spam' is not a reason code of this project; reason codes are: " + ", ".join(CODES)),
        ({"decision": "reject", "reasons": ["fraud", "fraud"]}, POLICY, "answer.reasons[1]", "given twice"),
        ({"decision": "approve", "reasons": ["fraud"]}, POLICY, "answer.reasons",
         "an approved item has no reasons; remove fraud"),
        ({"decision": "escalate"}, NO_ESCALATION, "answer.decision", "does not allow escalation"),
        ({"decision": "maybe"}, POLICY, "answer.decision", "'approve', 'reject', 'escalate'"),
        ({}, POLICY, "answer.decision", "required"),
        ({"decision": "approve", "note": "x" * 2001}, POLICY, "answer.note", "at most 2000"),
        ({"decision": "approve", "score": 1}, POLICY, "answer.score", "unknown field"),
        ({"decision": "reject", "reasons": "fraud"}, POLICY, "answer.reasons", "must be a list"),
    ],
)
def test_bad_answers(answer: dict[str, Any], policy: Any, field: str, text: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse(answer, policy)
    assert info.value.field == field
    assert text in info.value.detail
    assert info.value.detail.startswith(field + ":")


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        ({"kind": "image"}, "payload.media", "an image item needs media"),
        ({"kind": "video", "media": "  "}, "payload.media", "a video item needs media"),
        ({"kind": "text"}, "payload.text", "needs the text"),
        ({"kind": "text", "text": ""}, "payload.text", "needs the text"),
        ({"kind": "audio", "media": "a.mp3"}, "payload.kind", "'image', 'video', 'text'"),
        ({"kind": "image", "media": "a.jpg", "prescreen_score": 1.5}, "payload.prescreen_score",
         "must be at most 1"),
        ({"kind": "image", "media": "a.jpg", "prescreen_score": -0.1}, "payload.prescreen_score",
         "must be at least 0"),
        ({"kind": "image", "media": "a.jpg", "url": "x"}, "payload.url", "unknown field"),
    ],
)
def test_bad_payload(data: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        WT.parse_payload(data, POLICY)
    assert info.value.field == field
    assert text in info.value.detail


def test_payloads_and_media() -> None:
    assert WT.media_of(VIDEO) == ["clips/a1.mp4"]
    text = WT.parse_payload({"kind": "text", "text": "buy cheap followers", "meta": {"user": 7}}, POLICY)
    assert WT.media_of(text) == []
    image = WT.parse_payload({"kind": "image", "media": "https://cdn.example/p.jpg"}, POLICY)
    assert WT.media_of(image) == ["https://cdn.example/p.jpg"]


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        ({"reasons": []}, "label_schema.reasons", "at least 1"),
        ({"reasons": [{"code": "x", "title": "X", "severity": 6}]}, "label_schema.reasons[0].severity",
         "must be at most 5"),
        ({"reasons": [{"code": "x", "title": "X", "severity": 0}]}, "label_schema.reasons[0].severity",
         "must be at least 1"),
        ({"reasons": [{"code": "x", "title": "X", "severity": 1},
                      {"code": "x", "title": "Y", "severity": 2}]},
         "label_schema.reasons[1]", "'x' appears twice"),
        ({"reasons": [{"code": "x", "severity": 1}]}, "label_schema.reasons[0].title", "required"),
    ],
)
def test_bad_policy(data: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        WT.parse_schema(data)
    assert info.value.field == field
    assert text in info.value.detail


@pytest.mark.parametrize(
    ("a", "b", "score"),
    [
        ({"decision": "approve"}, {"decision": "approve"}, 1.0),
        ({"decision": "escalate"}, {"decision": "escalate", "reasons": ["fraud"]}, 1.0),
        ({"decision": "reject", "reasons": ["fraud", "sexual"]},
         {"decision": "reject", "reasons": ["sexual", "fraud"]}, 1.0),
        ({"decision": "reject", "reasons": ["fraud"]},
         {"decision": "reject", "reasons": ["fraud", "sexual"]}, 0.5),
        ({"decision": "reject", "reasons": ["fraud"]}, {"decision": "approve"}, 0.0),
        ({"decision": "reject", "reasons": ["fraud"]}, {"decision": "escalate"}, 0.0),
        ({"decision": "approve"}, {"decision": "escalate"}, 0.0),
    ],
)
def test_compare(a: dict[str, Any], b: dict[str, Any], score: float) -> None:
    assert WT.compare(parse(a), parse(b), POLICY) == score
    assert WT.compare(parse(b), parse(a), POLICY) == score


def test_severity_is_the_gravest_reason() -> None:
    moderation = REGISTRY["moderation"]
    assert moderation.severity(parse({"decision": "reject", "reasons": ["copyright", "minors"]}), POLICY) == 5
    assert moderation.severity(parse({"decision": "approve"}), POLICY) == 0


codes = st.lists(st.sampled_from(CODES), unique=True)
decisions = st.one_of(
    st.just({"decision": "approve"}),
    st.builds(lambda r: {"decision": "reject", "reasons": r}, codes.filter(bool)),
    st.builds(lambda r: {"decision": "escalate", "reasons": r}, codes),
)


@settings(max_examples=80, deadline=None)
@given(decisions, decisions)
def test_compare_properties(a: dict[str, Any], b: dict[str, Any]) -> None:
    pa, pb = parse(a), parse(b)
    assert WT.compare(pa, pa, POLICY) == 1.0
    assert WT.compare(pa, pb, POLICY) == WT.compare(pb, pa, POLICY)
    assert WT.compare(pa, pb, POLICY) in (0.0, 0.5, 1.0)
