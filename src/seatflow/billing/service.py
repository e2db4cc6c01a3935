"""Monthly statements: delivered units x unit price per project, for one client and one month.

Months are calendar months in UTC: an item delivered at 2026-11-30T23:59:59Z is billed in
November, one at 2026-12-01T00:00:00Z in December. Line amounts are rounded half-up to cents;
the total is the sum of the rounded lines, so the printed lines always add up to the total.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection

from seatflow.domain.actors import Actor, Role
from seatflow.errors import NotFound, ValidationFailed
from seatflow.store import catalog

from . import repository as repo

CENT = Decimal("0.01")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.next().start

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)


def parse_month(text: str | None, *, field_name: str = "month") -> Month:
    """'2026-11' -> Month; anything else is a ValidationFailed naming the field."""
    m = _MONTH_RE.match((text or "").strip())
    if not m:
        raise ValidationFailed(f"{field_name} must be a month written YYYY-MM, e.g. 2026-11; got {text!r}",
                               field=field_name)
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12 or year < 2000:
        raise ValidationFailed(f"{field_name} {text!r} is not a month (months are 01..12, years from 2000)",
                               field=field_name)
    return Month(year, month)


@dataclass(frozen=True)
class StatementLine:
    project: str
    name: str
    work_type: str
    units: int
    unit_price: Decimal
    amount: Decimal
    reworked: int  # delivered items that needed rework (each counted once in ``units``)
    gold_answers: int  # answers on gold items in the month: never billed

    def as_dict(self) -> dict[str, Any]:
        return {"project": self.project, "name": self.name, "work_type": self.work_type, "units": self.units,
                "unit_price": str(self.unit_price), "amount": str(self.amount), "reworked": self.reworked,
                "gold_answers": self.gold_answers}


@dataclass(frozen=True)
class Statement:
    client: str
    client_name: str
    month: Month
    currency: str
    lines: list[StatementLine] = field(default_factory=list)

    @property
    def total_units(self) -> int:
        return sum(line.units for line in self.lines)

    @property
    def total_amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    def as_dict(self) -> dict[str, Any]:
        return {"client": self.client, "client_name": self.client_name, "month": self.month.label,
                "period_start": self.month.start.isoformat(), "period_end": self.month.end.isoformat(),
                "currency": self.currency, "lines": [line.as_dict() for line in self.lines],
                "total_units": self.total_units, "total_amount": str(self.total_amount)}


def resolve_client(conn: Connection, actor: Actor | None, slug: str | None) -> Any:
    """The client row named ``slug`` if ``actor`` may see its bills: managers any, a client user its own.

    A client user who names no client gets its own; another client's slug is 'not found' (nothing leaks).
    """
    if actor is not None:
        actor.require(Role.ADMIN, Role.MANAGER, Role.CLIENT)
    if not slug:
        if actor is not None and actor.role is Role.CLIENT and actor.client_id is not None:
            return catalog.client_by_id(conn, actor.client_id)
        raise ValidationFailed("client is required: give the client's slug", field="client")
    row = catalog.client_by_slug(conn, slug.strip())
    if row is None or (actor is not None and not actor.can_see_client(row.id)):
        raise NotFound(f"client {slug!r} not found", field="client")
    return row


def statement(conn: Connection, actor: Actor | None, client_slug: str | None, month: str | Month, *,
              currency: str = "CNY") -> Statement:
    """The client's statement for ``month`` (text 'YYYY-MM' or a Month)."""
    period = month if isinstance(month, Month) else parse_month(month)
    client = resolve_client(conn, actor, client_slug)
    start, end = period.start, period.end
    units = repo.units_per_project(conn, client.id, start, end)
    reworked = repo.reworked_per_project(conn, client.id, start, end)
    gold = repo.gold_answers_per_project(conn, client.id, start, end)
    lines = []
    for p in repo.client_projects(conn, client.id):
        price = Decimal(str(p.unit_price or 0))
        n = units.get(p.id, 0)
        lines.append(StatementLine(project=p.slug, name=p.name, work_type=p.work_type, units=n, unit_price=price,
                                   amount=(price * n).quantize(CENT, rounding=ROUND_HALF_UP),
                                   reworked=reworked.get(p.id, 0), gold_answers=gold.get(p.id, 0)))
    return Statement(client=client.slug, client_name=client.name, month=period, currency=currency, lines=lines)


def delivered_items(conn: Connection, actor: Actor | None, client_slug: str | None,
                    month: str | Month) -> list[dict[str, Any]]:
    """The items behind a statement, one per delivered item (the reconciliation detail)."""
    period = month if isinstance(month, Month) else parse_month(month)
    client = resolve_client(conn, actor, client_slug)
    return [{"project": r.project, "external_id": r.external_id, "done_at": r.done_at.isoformat(),
             "unit_price": str(Decimal(str(r.unit_price or 0)))}
            for r in repo.delivered_items(conn, client.id, period.start, period.end)]


CSV_HEADER = ("client", "month", "project", "project_name", "work_type", "units", "unit_price", "amount",
              "currency", "reworked_items", "gold_answers_not_billed")


def statement_csv(st: Statement) -> str:
    """One row per project and a final TOTAL row; plain numbers (no thousands separators)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER)
    for line in st.lines:
        w.writerow((st.client, st.month.label, line.project, line.name, line.work_type, line.units,
                    line.unit_price, line.amount, st.currency, line.reworked, line.gold_answers))
    w.writerow((st.client, st.month.label, "TOTAL", "", "", st.total_units, "", st.total_amount, st.currency,
                sum(x.reworked for x in st.lines), sum(x.gold_answers for x in st.lines)))
    return buf.getvalue()
