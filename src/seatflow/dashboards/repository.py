"""Dashboard SQL. Every query takes a :class:`Filter` (which projects, which workers) and a window.

Rows inside the window are read as timestamps and bucketed in Python (hour or day), so one code
path serves SQLite and PostgreSQL; the window bounds what is read (``ix_events_project_at`` is not
needed: submissions, items and reviews are filtered by project and time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, false, func, select, true

from seatflow.billing.repository import is_gold
from seatflow.store import tables as t


@dataclass(frozen=True)
class Filter:
    """``project_ids`` None = every project; ``user_ids`` None = every worker."""

    project_ids: frozenset[int] | None = None
    user_ids: frozenset[int] | None = None


def _in(column: Any, ids: frozenset[int] | None) -> ColumnElement[bool]:
    return true() if ids is None else column.in_(sorted(ids))


def team_members(conn: Connection, team_id: int) -> frozenset[int]:
    return frozenset(int(x) for x in conn.execute(select(t.users.c.id).where(t.users.c.team_id == team_id)).scalars())


def team_projects(conn: Connection, team_id: int) -> frozenset[int]:
    """Projects a team works on: any member holds a skill there or has answered there."""
    members = select(t.users.c.id).where(t.users.c.team_id == team_id)
    quals = select(t.qualifications.c.project_id).where(t.qualifications.c.user_id.in_(members))
    answered = select(t.submissions.c.project_id).where(t.submissions.c.user_id.in_(members)).distinct()
    return frozenset(int(x) for x in conn.execute(quals.union(answered)).scalars())


def client_project_ids(conn: Connection, client_id: int) -> frozenset[int]:
    return frozenset(int(x) for x in conn.execute(
        select(t.projects.c.id).where(t.projects.c.client_id == client_id)).scalars())


def answers(conn: Connection, f: Filter, start: datetime, end: datetime) -> list[Any]:
    """Answers in the window: submitted at, leased at (handling time = the difference)."""
    q = (select(t.submissions.c.created_at, t.leases.c.created_at.label("leased_at"), t.submissions.c.item_id)
         .join(t.leases, t.leases.c.id == t.submissions.c.lease_id, isouter=True)
         .where(t.submissions.c.created_at >= start, t.submissions.c.created_at < end,
                _in(t.submissions.c.project_id, f.project_ids), _in(t.submissions.c.user_id, f.user_ids)))
    return list(conn.execute(q))


def delivered(conn: Connection, f: Filter, start: datetime, end: datetime) -> list[Any]:
    """Items delivered in the window (done, not gold): done at and deadline."""
    q = (select(t.items.c.done_at, t.items.c.deadline)
         .where(t.items.c.state == "done", t.items.c.done_at >= start, t.items.c.done_at < end, ~is_gold(),
                _in(t.items.c.project_id, f.project_ids)))
    if f.user_ids is not None:  # a worker's or team's share: items they answered
        mine = select(t.submissions.c.item_id).where(t.submissions.c.user_id.in_(sorted(f.user_ids)))
        q = q.where(t.items.c.id.in_(mine))
    return list(conn.execute(q))


def reviews(conn: Connection, f: Filter, start: datetime, end: datetime) -> tuple[int, int]:
    """(accepted, all) reviews given in the window on answers of the filter's workers and projects."""
    q = (select(func.count(), func.sum(case((t.reviews.c.verdict == "accept", 1), else_=0)))
         .select_from(t.reviews)
         .join(t.submissions, t.submissions.c.id == t.reviews.c.submission_id)
         .where(t.reviews.c.created_at >= start, t.reviews.c.created_at < end,
                _in(t.reviews.c.project_id, f.project_ids), _in(t.submissions.c.user_id, f.user_ids)))
    n, accepted = conn.execute(q).one()
    return int(accepted or 0), int(n or 0)


def gold(conn: Connection, f: Filter, start: datetime, end: datetime) -> tuple[int, int]:
    """(passed, all) gold answers in the window (qualification test answers left out)."""
    table = t.gold_results
    q = (select(func.count(), func.sum(case((table.c.passed == true(), 1), else_=0)))
         .where(table.c.at >= start, table.c.at < end, _in(table.c.project_id, f.project_ids),
                _in(table.c.user_id, f.user_ids), table.c.test == false()))
    n, passed = conn.execute(q).one()
    return int(passed or 0), int(n or 0)


def _backlog_where(f: Filter) -> ColumnElement[bool]:
    return and_(t.items.c.state == "active", ~is_gold(), _in(t.items.c.project_id, f.project_ids))


@dataclass(frozen=True)
class Backlog:
    """What waits in the filter's projects: active ordinary items."""

    size: int
    oldest: datetime | None  # the oldest item's arrival
    overdue: int  # past their deadline at ``now``
    bands: list[int]  # arrivals between consecutive ``edges`` (newest first), then before the last edge
    p50_at: datetime | None  # arrival of the item at rank size // 2 from the oldest
    p90_at: datetime | None  # arrival of the item at rank size - 1 - (9 * size) // 10 from the oldest


def backlog(conn: Connection, f: Filter, now: datetime, edges: list[datetime]) -> Backlog:
    """The backlog's size, age, overdue count and age bands in one pass over its items, and its
    arrival percentiles in one more (PostgreSQL: one sort for both; SQLite: a probe at each rank).

    One statement per figure read the backlog seven or more times: 3.3 s for the dashboard of a
    1,000,000-item backlog on PostgreSQL (bench/RESULTS.md, pages at scale).
    """
    where = _backlog_where(f)
    created = t.items.c.created_at

    def counted(cond: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    spans = [and_(created <= newer, created > older) for newer, older in zip(edges, edges[1:], strict=False)]
    cols = [func.count(), func.min(created), counted(t.items.c.deadline < now),
            *(counted(c) for c in spans), counted(created <= edges[-1])]
    row = conn.execute(select(*cols).where(where)).one()
    size, oldest, overdue, bands = int(row[0] or 0), row[1], int(row[2]), [int(n) for n in row[3:]]
    if not size:
        return Backlog(0, None, overdue, bands, None, None)
    ranks = (size // 2, size - 1 - (size * 9) // 10)
    if conn.dialect.name == "postgresql":
        # percentile_disc(q) is the value at 0-based rank ceil(q * n) - 1: (rank + 0.5) / n lands on rank
        at = conn.execute(select(*(func.percentile_disc((r + 0.5) / size).within_group(created) for r in ranks))
                          .where(where)).one()
        return Backlog(size, oldest, overdue, bands, at[0], at[1])
    p50, p90 = (conn.execute(select(created).where(where).order_by(created, t.items.c.id).offset(r).limit(1))
                .scalar() for r in ranks)
    return Backlog(size, oldest, overdue, bands, p50, p90)
