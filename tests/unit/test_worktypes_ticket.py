"""The service_ticket work type: schema, payload, reply checks, canned replies, agreement."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatflow.errors import ValidationFailed
from seatflow.worktypes import REGISTRY, get_work_type
from seatflow.worktypes.ticket import render_canned

WT = get_work_type("service_ticket")
SCHEMA = WT.parse_schema(WT.demo_schema())
DISPOSITIONS = [d.code for d in SCHEMA.dispositions]
TICKET = {
    "customer": {"name": "Li Na", "phone": "138****0000", "vip": True},
    "message": "My parcel has not moved for three days since Double 12.",
    "channel": "chat",
    "order": {"order_id": "SF1234567", "status": "in transit", "tracking_no": "JD0001", "items": ["tea"]},
}
PAYLOAD = WT.parse_payload(TICKET, SCHEMA)


def parse(answer: dict[str, Any]) -> Any:
    return WT.parse_answer(answer, SCHEMA, PAYLOAD)


def test_registered_and_demo_schema() -> None:
    assert REGISTRY["service_ticket"] is WT
    assert {"resolved", "refund", "escalate", "follow_up"} <= set(DISPOSITIONS)
    assert SCHEMA.first_response_minutes == 30
    texts = " ".join(c.text for c in SCHEMA.canned_replies)
    assert "{customer_name}" in texts and "{order_id}" in texts
    assert WT.media_of(PAYLOAD) == []


def test_payload_keeps_the_clients_own_fields() -> None:
    assert PAYLOAD.customer.name == "Li Na"
    dumped = PAYLOAD.model_dump(mode="json", exclude_none=True)
    assert dumped["customer"]["vip"] is True and dumped["order"]["tracking_no"] == "JD0001"
    assert WT.parse_payload(dumped, SCHEMA) == PAYLOAD


def test_valid_answer() -> None:
    answer = parse({"reply": "  Hello Li Na, your parcel SF1234567 left Chengdu today. ",
                    "disposition": "resolved"})
    assert answer.disposition == "resolved"
    parse({"reply": "x" * 5000, "disposition": "follow_up"})
    # braces that are not placeholders are fine
    parse({"reply": "Use code {  } or :-{ to reach us", "disposition": "resolved"})


@pytest.mark.parametrize(
    ("answer", "field", "text"),
    [
        ({"reply": "", "disposition": "resolved"}, "answer.reply", "the reply is empty"),
        ({"reply": " \n\t ", "disposition": "resolved"}, "answer.reply", "the reply is empty"),
        ({"reply": "x" * 5001, "disposition": "resolved"}, "answer.reply",
         "the reply is 5001 characters long; the limit is 5000"),
        ({"reply": "Dear Li Na, order {order_id} is late.", "disposition": "resolved"}, "answer.reply",
         "still contains the placeholder {order_id}"),
        ({"reply": "Hello", "disposition": "lost"}, "answer.disposition",
         "'lost' is not a disposition of this project; dispositions are: " + ", ".join(DISPOSITIONS)),
        ({"reply": "Hello"}, "answer.disposition", "required"),
        ({"disposition": "resolved"}, "answer.reply", "required"),
        ({"reply": "Hello", "disposition": "resolved", "priority": 1}, "answer.priority", "unknown field"),
        ({"reply": 42, "disposition": "resolved"}, "answer.reply", "must be text"),
    ],
)
def test_bad_answers(answer: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse(answer)
    assert info.value.field == field
    assert text in info.value.detail
    assert info.value.detail.startswith(field + ":")


def without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        (without(TICKET, "order"), "payload.order", "required"),
        (TICKET | {"order": {"status": "lost"}}, "payload.order.order_id", "required"),
        (TICKET | {"customer": {"phone": "1"}}, "payload.customer.name", "required"),
        (TICKET | {"customer": {"name": ""}}, "payload.customer.name", "at least 1"),
        (TICKET | {"message": "   "}, "payload.message", "blank"),
        (without(TICKET, "message"), "payload.message", "required"),
        (TICKET | {"sla": 5}, "payload.sla", "unknown field"),
    ],
)
def test_bad_payload(data: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        WT.parse_payload(data, SCHEMA)
    assert info.value.field == field
    assert text in info.value.detail


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"dispositions": []}, "label_schema.dispositions", "at least 1"),
        ({"dispositions": [{"code": "a", "title": "A"}, {"code": "a", "title": "B"}]},
         "label_schema.dispositions[1]", "'a' appears twice"),
        ({"canned_replies": [{"key": "k", "title": "t", "text": "x"}] * 2}, "label_schema.canned_replies[1]",
         "canned reply key 'k' appears twice"),
        ({"canned_replies": [{"key": "k", "title": "t"}]}, "label_schema.canned_replies[0].text", "required"),
        ({"first_response_minutes": 0}, "label_schema.first_response_minutes", "must be more than 0"),
    ],
)
def test_bad_schema(change: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        WT.parse_schema({**WT.demo_schema(), **change})
    assert info.value.field == field
    assert text in info.value.detail


def test_render_canned_fills_known_and_keeps_unknown_placeholders() -> None:
    template = ("Hi {customer_name} ({customer_phone}), order {order_id} is {status}; {order_status}. "
                "{eta} {x y}")
    out = render_canned(template, TICKET["order"], TICKET["customer"])
    assert out == "Hi Li Na (138****0000), order SF1234567 is in transit; in transit. {eta} {x y}"
    # list values, missing and empty values stay visible
    order = {"order_id": "1", "items": ["a"], "note": "", "gift": None}
    assert render_canned("{items} {note} {gift}", order, None) == "{items} {note} {gift}"
    assert render_canned("{{order_id}}", {"order_id": "7"}, {}) == "{7}"
    # models work as well as dicts
    assert render_canned("{customer_name}/{order_id}", PAYLOAD.order, PAYLOAD.customer) == "Li Na/SF1234567"


def test_canned_reply_for_a_ticket_then_sent() -> None:
    text = WT.canned("where", SCHEMA, PAYLOAD)
    assert text.startswith("Hello Li Na, your order SF1234567 is in transit.")
    assert "JD0001" in text
    parse({"reply": text, "disposition": "resolved"})
    with pytest.raises(ValidationFailed) as info:
        WT.canned("nope", SCHEMA, PAYLOAD)
    assert info.value.field == "canned_reply"
    assert "'nope' is not a canned reply" in info.value.detail


def test_canned_reply_with_missing_order_field_cannot_be_sent_unedited() -> None:
    payload = WT.parse_payload(TICKET | {"order": {"order_id": "SF9"}}, SCHEMA)
    text = WT.canned("where", SCHEMA, payload)
    assert "{status}" in text and "{tracking_no}" in text
    with pytest.raises(ValidationFailed) as info:
        WT.parse_answer({"reply": text, "disposition": "resolved"}, SCHEMA, payload)
    assert "{status}" in info.value.detail


def test_compare_on_disposition() -> None:
    a = parse({"reply": "Hello", "disposition": "refund"})
    b = parse({"reply": "Completely different words", "disposition": "refund"})
    c = parse({"reply": "Hello", "disposition": "escalate"})
    assert WT.compare(a, b, SCHEMA) == 1.0
    assert WT.compare(a, c, SCHEMA) == 0.0


no_braces = st.text(alphabet=st.characters(blacklist_characters="{}", blacklist_categories=["Cs"]))


@settings(max_examples=80, deadline=None)
@given(no_braces, no_braces.filter(lambda s: s != ""), no_braces)
def test_render_canned_properties(before: str, order_id: str, after: str) -> None:
    order = {"order_id": order_id}
    assert render_canned(before, order, {}) == before
    assert render_canned(before + "{order_id}" + after, order, {}) == before + order_id + after


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=1, max_size=200).filter(lambda s: bool(s.strip()) and "{" not in s),
       st.sampled_from(DISPOSITIONS))
def test_any_plain_reply_is_valid_and_agrees_with_itself(reply: str, disposition: str) -> None:
    answer = parse({"reply": reply, "disposition": disposition})
    assert WT.compare(answer, answer, SCHEMA) == 1.0
