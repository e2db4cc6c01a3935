"""Service ticket: a customer's message with its order; the agent replies and picks a disposition."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from seatflow.i18n.message import Msg

from ._common import Strict, check_unique, fail, not_in
from .base import WorkType, register

REPLY_MAX = 5000
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Disposition(Strict):
    code: str
    title: str


class CannedReply(Strict):
    key: str
    title: str
    text: str  # may hold placeholders such as {customer_name} and {order_id}


class TicketSchema(Strict):
    dispositions: list[Disposition] = Field(min_length=1)
    canned_replies: list[CannedReply] = Field(default_factory=list)
    first_response_minutes: int | None = Field(default=None, gt=0)


class Customer(BaseModel):
    model_config = ConfigDict(extra="allow")  # the client's own fields: phone, vip, city, ...

    name: str = Field(min_length=1)


class Order(BaseModel):
    model_config = ConfigDict(extra="allow")  # status, tracking_no, items, ...

    order_id: str = Field(min_length=1)


class TicketPayload(Strict):
    customer: Customer
    message: str = Field(min_length=1)
    channel: str | None = None  # e.g. "chat", "email", "phone"
    order: Order
    meta: dict[str, Any] = Field(default_factory=dict)


class TicketAnswer(Strict):
    reply: str
    disposition: str


def _as_dict(value: Mapping[str, Any] | BaseModel | None) -> Mapping[str, Any]:
    if value is None:
        return {}
    if isinstance(value, BaseModel):
        return value.model_dump()
    return value


def render_canned(
    template: str, order: Mapping[str, Any] | BaseModel | None, customer: Mapping[str, Any] | BaseModel | None
) -> str:
    """Fill ``{placeholders}`` of a canned reply from the order and the customer.

    ``{order_id}`` or any other order field by its name (also as ``{order_<field>}``), and
    ``{customer_<field>}`` for the customer (``{customer_name}``). A placeholder without a
    value stays as written, so the agent sees what is still to fill in; other braces are left alone.
    """
    order_d, customer_d = _as_dict(order), _as_dict(customer)

    def lookup(name: str) -> Any:
        if name in order_d:
            return order_d[name]
        for prefix, source in (("order_", order_d), ("customer_", customer_d)):
            if name.startswith(prefix) and name[len(prefix):] in source:
                return source[name[len(prefix):]]
        return None

    def fill(match: re.Match[str]) -> str:
        value = lookup(match.group(1))
        if value is None or isinstance(value, Mapping | list | tuple | set) or value == "":
            return match.group(0)
        return str(value)

    return PLACEHOLDER.sub(fill, template)


class ServiceTicket(WorkType):
    name = "service_ticket"
    title = "Service ticket"
    schema_model = TicketSchema
    payload_model = TicketPayload
    answer_model = TicketAnswer

    def check_schema(self, schema: BaseModel) -> None:
        assert isinstance(schema, TicketSchema)
        check_unique([d.code for d in schema.dispositions], "label_schema.dispositions", "disposition code")
        check_unique([c.key for c in schema.canned_replies], "label_schema.canned_replies",
                     "canned reply key")

    def check_payload(self, payload: BaseModel, schema: BaseModel) -> None:
        assert isinstance(payload, TicketPayload)
        if not payload.message.strip():
            fail("payload.message", Msg("the customer's message is blank"))

    def check_answer(self, answer: BaseModel, schema: BaseModel, payload: BaseModel) -> None:
        assert isinstance(answer, TicketAnswer) and isinstance(schema, TicketSchema)
        reply = answer.reply.strip()
        if not reply:
            fail("answer.reply", Msg("the reply is empty; write to the customer before sending"))
        if len(reply) > REPLY_MAX:
            fail("answer.reply", Msg("the reply is {n} characters long; the limit is {limit}", n=len(reply),
                                     limit=REPLY_MAX))
        left = PLACEHOLDER.search(reply)
        if left:
            fail("answer.reply", Msg("the reply still contains the placeholder {placeholder}; "
                                     "replace it with the real value before sending", placeholder=left.group(0)))
        codes = [d.code for d in schema.dispositions]
        if answer.disposition not in codes:
            fail("answer.disposition", not_in(answer.disposition, codes, "disposition"))

    def compare(self, a: BaseModel, b: BaseModel, schema: BaseModel) -> float:
        """Replies are free text; agreement is on the disposition only."""
        assert isinstance(a, TicketAnswer) and isinstance(b, TicketAnswer)
        return 1.0 if a.disposition == b.disposition else 0.0

    def canned(self, key: str, schema: BaseModel, payload: BaseModel) -> str:
        """The canned reply ``key`` filled in for this ticket."""
        assert isinstance(schema, TicketSchema) and isinstance(payload, TicketPayload)
        for canned in schema.canned_replies:
            if canned.key == key:
                return render_canned(canned.text, payload.order, payload.customer)
        fail("canned_reply", not_in(key, [c.key for c in schema.canned_replies], "canned reply"))

    def demo_schema(self) -> dict[str, Any]:
        """After-sales service for a national logistics company."""
        return {
            "dispositions": [
                {"code": "resolved", "title": "Resolved in this reply"},
                {"code": "refund", "title": "Refund or compensation approved"},
                {"code": "follow_up", "title": "Waiting for the depot; follow up"},
                {"code": "escalate", "title": "Escalated to the team lead"},
                {"code": "no_action", "title": "No action needed"},
            ],
            "canned_replies": [
                {"key": "where", "title": "Where is my parcel",
                 "text": "Hello {customer_name}, your order {order_id} is {status}. "
                         "Tracking number: {tracking_no}. We will keep an eye on it for you."},
                {"key": "delay", "title": "Delayed after the festival",
                 "text": "Dear {customer_name}, we are sorry that order {order_id} is late: parcel volumes "
                         "after Double 12 are very high. It is on its way and we have asked the depot "
                         "to prioritise it."},
                {"key": "damaged", "title": "Damaged parcel",
                 "text": "Dear {customer_name}, we are sorry that order {order_id} arrived damaged. "
                         "Please send a photo of the parcel and its contents; we will arrange "
                         "compensation within 24 hours."},
                {"key": "refund", "title": "Refund approved",
                 "text": "Dear {customer_name}, the refund for order {order_id} has been approved and "
                         "will reach your account within 3 working days."},
            ],
            "first_response_minutes": 30,
        }


SERVICE_TICKET = register(ServiceTicket())
