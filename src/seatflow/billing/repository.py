"""Billing SQL: what a client was delivered in a period, per project and per item.

"Delivered" is one rule, :func:`delivered`, shared by every query here and by the daily report:
an item counts once, in the period its ``done_at`` falls in, when it is done and is not gold. A
reworked item is one item row however many answers it took, so rework never adds units; a gold
(honeypot) item has a known answer and is never billed.

Projects billed by time (``projects.billing_mode = 'hours'``) are billed the handling time of the
answers :func:`billable_answer` picks: submitted in the period, not on a gold item, not a rework.

Prices have a history (``project_prices``, migration 0010): month M is billed at each project's row
with the greatest ``effective_month`` <= M (:func:`terms_for_month`), never at a price set later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Subquery, and_, case, func, select, true

from seatflow.store.tables import items, project_prices, projects, submissions


def is_gold() -> ColumnElement[bool]:
    """The one predicate that says an item is a gold item (quality control, migration 0006)."""
    return items.c.gold == true()


def delivered(start: datetime, end: datetime) -> ColumnElement[bool]:
    """Items delivered in [start, end): done in that period and not gold."""
    return and_(items.c.state == "done", items.c.done_at >= start, items.c.done_at < end, ~is_gold())


def client_projects(conn: Connection, client_id: int) -> list[Any]:
    q = (select(projects.c.id, projects.c.slug, projects.c.name, projects.c.work_type, projects.c.unit_price,
                projects.c.billing_mode, projects.c.hourly_rate)
         .where(projects.c.client_id == client_id).order_by(projects.c.slug))
    return list(conn.execute(q))


def terms_for_month(client_id: int, month: str) -> Subquery:
    """The client's projects' price terms for ``month`` ('YYYY-MM'): per project, its ``project_prices``
    row with the greatest effective_month <= month (project_id, unit_price, billing_mode, hourly_rate)."""
    latest = (select(project_prices.c.project_id, func.max(project_prices.c.effective_month).label("month"))
              .where(project_prices.c.client_id == client_id, project_prices.c.effective_month <= month)
              .group_by(project_prices.c.project_id).subquery("latest"))
    return (select(project_prices.c.project_id, project_prices.c.unit_price, project_prices.c.billing_mode,
                   project_prices.c.hourly_rate)
            .join(latest, and_(latest.c.project_id == project_prices.c.project_id,
                               latest.c.month == project_prices.c.effective_month))
            .subquery("terms"))


def _priced(terms: Subquery) -> list[Any]:
    """unit_price, billing_mode, hourly_rate from ``terms``, or the project's own columns for a project
    with no price row yet (a row written outside the services)."""
    missing = terms.c.project_id.is_(None)
    return [case((missing, projects.c.unit_price), else_=terms.c.unit_price).label("unit_price"),
            case((missing, projects.c.billing_mode), else_=terms.c.billing_mode).label("billing_mode"),
            case((missing, projects.c.hourly_rate), else_=terms.c.hourly_rate).label("hourly_rate")]


def client_projects_priced(conn: Connection, client_id: int, month: str) -> list[Any]:
    """The client's projects with their price terms for ``month`` ('YYYY-MM'), in one query."""
    terms = terms_for_month(client_id, month)
    q = (select(projects.c.id, projects.c.slug, projects.c.name, projects.c.work_type, *_priced(terms))
         .outerjoin(terms, terms.c.project_id == projects.c.id)
         .where(projects.c.client_id == client_id).order_by(projects.c.slug))
    return list(conn.execute(q))


def units_per_project(conn: Connection, client_id: int, start: datetime, end: datetime) -> dict[int, int]:
    """project id -> items delivered in [start, end)."""
    q = (select(items.c.project_id, func.count().label("units"))
         .where(items.c.client_id == client_id, delivered(start, end))
         .group_by(items.c.project_id))
    return {int(r.project_id): int(r.units) for r in conn.execute(q)}


def reworked_per_project(conn: Connection, client_id: int, start: datetime, end: datetime) -> dict[int, int]:
    """project id -> delivered items that had at least one rejected (reworked) answer."""
    rejected = (select(submissions.c.item_id).where(submissions.c.state == "rejected")
                .distinct().subquery())
    q = (select(items.c.project_id, func.count().label("n"))
         .join(rejected, rejected.c.item_id == items.c.id)
         .where(items.c.client_id == client_id, delivered(start, end))
         .group_by(items.c.project_id))
    return {int(r.project_id): int(r.n) for r in conn.execute(q)}


def gold_answers_per_project(conn: Connection, client_id: int, start: datetime, end: datetime) -> dict[int, int]:
    """project id -> answers given on gold items in [start, end) (shown as 'not billed')."""
    q = (select(submissions.c.project_id, func.count().label("n"))
         .join(items, items.c.id == submissions.c.item_id)
         .where(submissions.c.client_id == client_id, is_gold(),
                submissions.c.created_at >= start, submissions.c.created_at < end)
         .group_by(submissions.c.project_id))
    return {int(r.project_id): int(r.n) for r in conn.execute(q)}


def billable_answer(start: datetime, end: datetime) -> ColumnElement[bool]:
    """Answers whose handling time is billed on an hours-billed project (join ``items`` for the gold flag).

    Submitted in [start, end), on a non-gold item, and first-time work: a rework answer (one that
    supersedes a rejected answer, ``supersedes_id`` set) is the center's cost, not the client's. The
    rejected answer itself was first-time work and stays billed. Review time is not billed (reviews
    record no handling time).
    """
    return and_(submissions.c.created_at >= start, submissions.c.created_at < end, ~is_gold(),
                submissions.c.supersedes_id.is_(None))


def handling_ms_per_project(conn: Connection, client_id: int, start: datetime,
                            end: datetime) -> dict[int, tuple[int, int]]:
    """project id -> (billable handling milliseconds, billable answers) in [start, end).

    An answer without a recorded duration (``duration_ms`` null: an API client that sent none)
    counts 0 ms; it is still counted in the answers.
    """
    q = (select(submissions.c.project_id, func.coalesce(func.sum(submissions.c.duration_ms), 0).label("ms"),
                func.count().label("n"))
         .join(items, items.c.id == submissions.c.item_id)
         .where(submissions.c.client_id == client_id, billable_answer(start, end))
         .group_by(submissions.c.project_id))
    return {int(r.project_id): (int(r.ms), int(r.n)) for r in conn.execute(q)}


def delivered_items(conn: Connection, client_id: int, start: datetime, end: datetime, month: str) -> list[Any]:
    """Each delivered item (project, external id, done_at, unit price of ``month``), in project then done
    order."""
    terms = terms_for_month(client_id, month)
    q = (select(items.c.id, projects.c.slug.label("project"), items.c.external_id, items.c.done_at,
                _priced(terms)[0])
         .join(projects, projects.c.id == items.c.project_id)
         .outerjoin(terms, terms.c.project_id == projects.c.id)
         .where(items.c.client_id == client_id, delivered(start, end))
         .order_by(projects.c.slug, items.c.done_at, items.c.id))
    return list(conn.execute(q))
