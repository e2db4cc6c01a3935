"""The text_annotation work type: classes, spans, agreement."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatflow.errors import ValidationFailed
from seatflow.worktypes import REGISTRY, get_work_type

WT = get_work_type("text_annotation")
TEXT = "Zhang Wei bought a Huawei Mate 60 in Chengdu and loves it."  # 58 characters
SCHEMA = WT.parse_schema(WT.demo_schema())
MULTI = WT.parse_schema({"classes": ["billing", "delivery", "refund"], "multi_label": True})
PAYLOAD = WT.parse_payload({"text": TEXT, "meta": {"source": "review"}}, SCHEMA)


def parse(answer: dict[str, Any], schema: Any = SCHEMA) -> Any:
    return WT.parse_answer(answer, schema, PAYLOAD)


def fails(answer: dict[str, Any], schema: Any = SCHEMA) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        parse(answer, schema)
    return info.value


def span(start: int, end: int, label: str) -> dict[str, Any]:
    return {"start": start, "end": end, "label": label}


GOOD = {"classes": ["positive"],
        "spans": [span(0, 9, "PER"), span(19, 25, "ORG"), span(19, 33, "PRODUCT"), span(37, 44, "LOC")]}


def test_registered_and_demo_schema() -> None:
    assert REGISTRY["text_annotation"] is WT
    assert SCHEMA.classes == ["positive", "neutral", "negative"]
    assert SCHEMA.span_labels == ["PER", "ORG", "LOC", "PRODUCT"]
    assert SCHEMA.multi_label is False
    assert WT.media_of(PAYLOAD) == []


def test_valid_answers() -> None:
    answer = parse(GOOD)
    assert [TEXT[s.start:s.end] for s in answer.spans] == ["Zhang Wei", "Huawei", "Huawei Mate 60", "Chengdu"]
    assert parse({}).classes == []
    assert parse({"classes": ["billing", "refund"]}, MULTI).classes == ["billing", "refund"]
    # touching spans of the same label do not overlap
    parse({"spans": [span(0, 5, "PER"), span(5, 9, "PER")]})
    # a span may run to the very end of the text
    parse({"spans": [span(50, len(TEXT), "PRODUCT")]})


@pytest.mark.parametrize(
    ("answer", "field", "text"),
    [
        ({"classes": ["joy"]}, "answer.classes[0]",
         "'joy' is not a class of this project; classes are: positive, neutral, negative"),
        ({"classes": ["positive", "negative"]}, "answer.classes",
         "choose one class only; this project is not multi-label (got positive, negative)"),
        ({"classes": ["positive", "positive"]}, "answer.classes[1]", "chosen twice"),
        ({"spans": [span(0, 5, "PERSON")]}, "answer.spans[0].label",
         "'PERSON' is not a span label of this project; span labels are: PER, ORG, LOC, PRODUCT"),
        ({"spans": [span(-1, 5, "PER")]}, "answer.spans[0].start", "0 or more, got -1"),
        ({"spans": [span(5, 5, "PER")]}, "answer.spans[0].end", "end (5) must be greater than start (5)"),
        ({"spans": [span(7, 3, "PER")]}, "answer.spans[0].end", "greater than start"),
        ({"spans": [span(50, 59, "PER")]}, "answer.spans[0].end",
         "end (59) is past the end of the text (58 characters)"),
        ({"spans": [span(0, 9, "PER"), span(19, 25, "ORG"), span(6, 12, "PER")]}, "answer.spans[2]",
         "PER span 6-12 overlaps PER span 0-9 (answer.spans[0])"),
        ({"spans": [span(0, 9, "PER"), span(0, 9, "PER")]}, "answer.spans[1]", "overlaps"),
        ({"spans": [span(0, 9, "PER") | {"text": "Zhang"}]}, "answer.spans[0].text", "unknown field"),
        ({"spans": [{"start": "a", "end": 3, "label": "PER"}]}, "answer.spans[0].start", "must be a whole number"),
        ({"spans": [{"start": 0, "label": "PER"}]}, "answer.spans[0].end", "required"),
        ({"labels": []}, "answer.labels", "unknown field"),
    ],
)
def test_bad_answers(answer: dict[str, Any], field: str, text: str) -> None:
    err = fails(answer)
    assert err.field == field
    assert text in err.detail
    assert err.detail.startswith(field + ":")


def test_project_without_spans_or_classes_rejects_them() -> None:
    only_spans = WT.parse_schema({"span_labels": ["PER"]})
    err = fails({"classes": ["positive"]}, only_spans)
    assert err.field == "answer.classes[0]"
    assert "it defines no classes" in err.detail
    err = fails({"spans": [span(0, 2, "PER")]}, MULTI)
    assert err.field == "answer.spans[0].label"
    assert "it defines no span labels" in err.detail


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        ({}, "label_schema", "nothing to label"),
        ({"classes": [], "span_labels": []}, "label_schema", "nothing to label"),
        ({"classes": ["a", "a"]}, "label_schema.classes[1]", "'a' appears twice"),
        ({"span_labels": ["PER", ""]}, "label_schema.span_labels[1]", "must not be empty"),
        ({"classes": ["a"], "multi_label": "often"}, "label_schema.multi_label", "must be true or false"),
        ({"classes": ["a"], "spans": ["PER"]}, "label_schema.spans", "unknown field"),
    ],
)
def test_bad_schema(data: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        WT.parse_schema(data)
    assert info.value.field == field
    assert text in info.value.detail


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        ({"text": ""}, "payload.text", "at least 1 character"),
        ({"text": "  \n "}, "payload.text", "blank"),
        ({}, "payload.text", "required"),
        ({"text": "hi", "lang": "zh"}, "payload.lang", "unknown field"),
    ],
)
def test_bad_payload(data: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        WT.parse_payload(data, SCHEMA)
    assert info.value.field == field
    assert text in info.value.detail


def cmp(a: dict[str, Any], b: dict[str, Any], schema: Any = SCHEMA) -> float:
    return WT.compare(parse(a, schema), parse(b, schema), schema)


def test_compare() -> None:
    assert cmp(GOOD, GOOD) == 1.0
    assert cmp({}, {}) == 1.0
    assert cmp({"classes": ["positive"]}, {"classes": ["negative"]}) == 0.0
    assert cmp({"classes": ["positive"]}, {}) == 0.0
    # span F1: 2 * 1 / (2 + 1)
    assert cmp({"spans": [span(0, 9, "PER"), span(37, 44, "LOC")]}, {"spans": [span(0, 9, "PER")]}) == \
        pytest.approx(2 / 3)
    # off by one character, or another label, is a miss
    assert cmp({"spans": [span(0, 9, "PER")]}, {"spans": [span(0, 8, "PER")]}) == 0.0
    assert cmp({"spans": [span(0, 9, "PER")]}, {"spans": [span(0, 9, "ORG")]}) == 0.0
    # mean of the class and span components
    a = {"classes": ["positive"], "spans": [span(0, 9, "PER"), span(37, 44, "LOC")]}
    b = {"classes": ["positive"], "spans": [span(0, 9, "PER")]}
    assert cmp(a, b) == pytest.approx((1 + 2 / 3) / 2)


def test_compare_multi_label_is_jaccard() -> None:
    assert cmp({"classes": ["billing", "delivery"]}, {"classes": ["delivery", "refund"]}, MULTI) == \
        pytest.approx(1 / 3)
    assert cmp({"classes": ["refund", "billing"]}, {"classes": ["billing", "refund"]}, MULTI) == 1.0


@st.composite
def answers(draw: st.DrawFn) -> dict[str, Any]:
    spans = []
    for label in SCHEMA.span_labels:
        cuts = sorted(draw(st.sets(st.integers(0, len(TEXT)), max_size=6)))
        # consecutive cut pairs never overlap within one label
        spans += [span(s, e, label) for s, e in zip(cuts[::2], cuts[1::2], strict=False) if s < e]
    classes = draw(st.lists(st.sampled_from(SCHEMA.classes), max_size=1))
    return {"classes": classes, "spans": draw(st.permutations(spans))}


@settings(max_examples=80, deadline=None)
@given(answers(), answers())
def test_random_valid_answers(a: dict[str, Any], b: dict[str, Any]) -> None:
    pa, pb = parse(a), parse(b)
    assert WT.compare(pa, pa, SCHEMA) == 1.0
    score = WT.compare(pa, pb, SCHEMA)
    assert 0.0 <= score <= 1.0
    assert score == pytest.approx(WT.compare(pb, pa, SCHEMA))
