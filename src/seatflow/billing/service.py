"""Monthly statements: delivered units x unit price per project (or, for a project billed by time,
handling hours x hourly rate), for one client and one month.

Months are calendar months in the center's time zone (``SEATFLOW_TIMEZONE``, default UTC): in UTC
an item delivered at 2026-11-30T23:59:59Z is billed in November, one at 2026-12-01T00:00:00Z in
December; in Asia/Shanghai one delivered at 2026-11-30T17:30Z (01:30 on December 1 there) is billed in
December. Each project is priced with its terms for the month (``project_prices``: the row with the
greatest effective_month <= the month), so a later price change leaves the month as it was billed.
Line amounts are rounded half-up to cents;
the total is the sum of the rounded lines, so the printed lines always add up to the total.
Hours are the billable handling time (see ``repository.billable_answer``) rounded half-up to 2
decimals, and an hours line's amount is those printed hours x the hourly rate, rounded the same way,
so a reader can redo every line from what is printed.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection

from seatflow.domain.actors import Actor, Role
from seatflow.domain.clock import local_today, month_bounds, zone_name
from seatflow.errors import NotFound, ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.store import catalog

from . import repository as repo

CENT = Decimal("0.01")
MS_PER_HOUR = Decimal(3_600_000)
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Month:
    """A calendar month in a time zone (the center's; UTC by default). The zone is not part of equality."""

    year: int
    month: int
    tz: tzinfo = field(default=UTC, compare=False)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> datetime:
        """The UTC instant the month begins: its first day's local midnight."""
        return month_bounds(self.year, self.month, self.tz)[0]

    @property
    def end(self) -> datetime:
        """The UTC instant the next month begins (excluded)."""
        return month_bounds(self.year, self.month, self.tz)[1]

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end_day(self) -> date:
        """The first day of the next month (excluded), as a local date."""
        return self.next().first_day

    @property
    def zone(self) -> str:
        return zone_name(self.tz)

    def next(self) -> Month:
        if self.month == 12:
            return Month(self.year + 1, 1, self.tz)
        return Month(self.year, self.month + 1, self.tz)

    def previous(self) -> Month:
        if self.month == 1:
            return Month(self.year - 1, 12, self.tz)
        return Month(self.year, self.month - 1, self.tz)

    def in_zone(self, tz: tzinfo) -> Month:
        return Month(self.year, self.month, tz)

    @classmethod
    def of(cls, day: date, tz: tzinfo = UTC) -> Month:
        return cls(day.year, day.month, tz)

    @classmethod
    def current(cls, tz: tzinfo = UTC, now: datetime | None = None) -> Month:
        """The month that is running now in ``tz``."""
        return cls.of(local_today(now, tz), tz)


def parse_month(text: str | None, *, field_name: str = "month", tz: tzinfo = UTC) -> Month:
    """'2026-11' -> Month; anything else is a ValidationFailed naming the field."""
    m = _MONTH_RE.match((text or "").strip())
    if not m:
        raise ValidationFailed(Msg("{field} must be a month written YYYY-MM, e.g. 2026-11; got {got!r}",
                                   field=field_name, got=text), field=field_name)
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12 or year < 2000:
        raise ValidationFailed(Msg("{field} {got!r} is not a month (months are 01..12, years from 2000)",
                                   field=field_name, got=text), field=field_name)
    return Month(year, month, tz)


def _period(month: str | Month, tz: tzinfo | None) -> Month:
    """``month`` as a Month in ``tz``; without ``tz`` a Month keeps its own zone and text is UTC."""
    if isinstance(month, Month):
        return month if tz is None else month.in_zone(tz)
    return parse_month(month, tz=tz or UTC)


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
    billing_mode: str = "unit"  # 'unit': units x unit_price; 'hours': hours x hourly_rate
    hours: Decimal | None = None  # hours lines: billable handling hours, 2 decimals
    hourly_rate: Decimal | None = None
    billed_answers: int | None = None  # hours lines: the answers whose time is billed

    @property
    def by_hours(self) -> bool:
        return self.billing_mode == "hours"

    def as_dict(self) -> dict[str, Any]:
        return {"project": self.project, "name": self.name, "work_type": self.work_type, "units": self.units,
                "unit_price": str(self.unit_price), "amount": str(self.amount), "reworked": self.reworked,
                "gold_answers": self.gold_answers, "billing_mode": self.billing_mode,
                "hours": None if self.hours is None else str(self.hours),
                "hourly_rate": None if self.hourly_rate is None else str(self.hourly_rate),
                "billed_answers": self.billed_answers}


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

    @property
    def total_hours(self) -> Decimal:
        """The billed hours of the hours lines (0.00 when every project is billed per unit)."""
        return sum((line.hours for line in self.lines if line.hours is not None), Decimal("0.00"))

    @property
    def has_hours(self) -> bool:
        return any(line.by_hours for line in self.lines)

    def as_dict(self) -> dict[str, Any]:
        return {"client": self.client, "client_name": self.client_name, "month": self.month.label,
                "period_start": self.month.start.isoformat(), "period_end": self.month.end.isoformat(),
                "timezone": self.month.zone,
                "currency": self.currency, "lines": [line.as_dict() for line in self.lines],
                "total_units": self.total_units, "total_amount": str(self.total_amount),
                "total_hours": str(self.total_hours)}


def resolve_client(conn: Connection, actor: Actor | None, slug: str | None) -> Any:
    """The client row named ``slug`` if ``actor`` may see its bills: managers any, a client user its own.

    A client user who names no client gets its own; another client's slug is 'not found' (nothing leaks).
    """
    if actor is not None:
        actor.require(Role.ADMIN, Role.MANAGER, Role.CLIENT)
    if not slug:
        if actor is not None and actor.role is Role.CLIENT and actor.client_id is not None:
            return catalog.client_by_id(conn, actor.client_id)
        raise ValidationFailed(Msg("client is required: give the client's slug"), field="client")
    row = catalog.client_by_slug(conn, slug.strip())
    if row is None or (actor is not None and not actor.can_see_client(row.id)):
        raise NotFound(Msg("client {key!r} not found", key=slug), field="client")
    return row


def statement(conn: Connection, actor: Actor | None, client_slug: str | None, month: str | Month, *,
              currency: str = "CNY", tz: tzinfo | None = None) -> Statement:
    """The client's statement for ``month`` (text 'YYYY-MM' or a Month), a calendar month in ``tz``
    (the center's zone; None: a Month's own zone, UTC for text)."""
    period = _period(month, tz)
    client = resolve_client(conn, actor, client_slug)
    start, end = period.start, period.end
    units = repo.units_per_project(conn, client.id, start, end)
    reworked = repo.reworked_per_project(conn, client.id, start, end)
    gold = repo.gold_answers_per_project(conn, client.id, start, end)
    projects = repo.client_projects_priced(conn, client.id, period.label)  # the terms of this month
    handled = (repo.handling_ms_per_project(conn, client.id, start, end)
               if any(p.billing_mode == "hours" for p in projects) else {})
    lines = []
    for p in projects:
        price = Decimal(str(p.unit_price or 0))
        n = units.get(p.id, 0)
        common = {"project": p.slug, "name": p.name, "work_type": p.work_type, "units": n, "unit_price": price,
                  "reworked": reworked.get(p.id, 0), "gold_answers": gold.get(p.id, 0)}
        if p.billing_mode == "hours":
            ms, answers = handled.get(p.id, (0, 0))
            rate = Decimal(str(p.hourly_rate or 0))
            hours = hours_of(ms)
            lines.append(StatementLine(**common, amount=(hours * rate).quantize(CENT, rounding=ROUND_HALF_UP),
                                       billing_mode="hours", hours=hours, hourly_rate=rate, billed_answers=answers))
        else:
            lines.append(StatementLine(**common, amount=(price * n).quantize(CENT, rounding=ROUND_HALF_UP)))
    return Statement(client=client.slug, client_name=client.name, month=period, currency=currency, lines=lines)


def hours_of(ms: int) -> Decimal:
    """Milliseconds as hours, rounded half-up to 2 decimals (what the statement prints and bills)."""
    return (Decimal(ms) / MS_PER_HOUR).quantize(CENT, rounding=ROUND_HALF_UP)


def delivered_items(conn: Connection, actor: Actor | None, client_slug: str | None,
                    month: str | Month, *, tz: tzinfo | None = None) -> list[dict[str, Any]]:
    """The items behind a statement, one per delivered item (the reconciliation detail)."""
    period = _period(month, tz)
    client = resolve_client(conn, actor, client_slug)
    return [{"project": r.project, "external_id": r.external_id, "done_at": r.done_at.isoformat(),
             "unit_price": str(Decimal(str(r.unit_price or 0)))}
            for r in repo.delivered_items(conn, client.id, period.start, period.end, period.label)]


CSV_HEADER = ("client", "month", "project", "project_name", "work_type", "units", "unit_price", "amount",
              "currency", "reworked_items", "gold_answers_not_billed", "billing_mode", "hours", "hourly_rate")


def statement_csv(st: Statement) -> str:
    """One row per project and a final TOTAL row; plain numbers (no thousands separators).

    The billing columns come last (``billing_mode``, ``hours``, ``hourly_rate``; hours and rate empty on
    unit lines) so the earlier columns keep their places for readers written before billing by time.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER)
    for line in st.lines:
        w.writerow((st.client, st.month.label, line.project, line.name, line.work_type, line.units,
                    line.unit_price, line.amount, st.currency, line.reworked, line.gold_answers, line.billing_mode,
                    "" if line.hours is None else line.hours, "" if line.hourly_rate is None else line.hourly_rate))
    w.writerow((st.client, st.month.label, "TOTAL", "", "", st.total_units, "", st.total_amount, st.currency,
                sum(x.reworked for x in st.lines), sum(x.gold_answers for x in st.lines), "",
                st.total_hours if st.has_hours else "", ""))
    return buf.getvalue()
