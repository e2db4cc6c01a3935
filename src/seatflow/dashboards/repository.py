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


def backlog_size(conn: Connection, f: Filter) -> tuple[int, datetime | None]:
    """(active items, the oldest one's arrival) of the filter's projects."""
    n, oldest = conn.execute(select(func.count(), func.min(t.items.c.created_at)).where(_backlog_where(f))).one()
    return int(n or 0), oldest


def backlog_arrival_at(conn: Connection, f: Filter, rank: int) -> datetime | None:
    """The arrival time of the backlog item at ``rank`` (0 = oldest) in arrival order."""
    q = (select(t.items.c.created_at).where(_backlog_where(f))
         .order_by(t.items.c.created_at, t.items.c.id).offset(rank).limit(1))
    value: datetime | None = conn.execute(q).scalar()
    return value


def backlog_overdue(conn: Connection, f: Filter, now: datetime) -> int:
    return int(conn.execute(select(func.count()).where(_backlog_where(f), t.items.c.deadline < now)).scalar_one())


def backlog_by_age(conn: Connection, f: Filter, edges: list[datetime]) -> list[int]:
    """Counts of backlog items that arrived in each span between ``edges`` (newest first, descending)."""
    counts = []
    for newer, older in zip(edges, edges[1:], strict=False):
        counts.append(int(conn.execute(select(func.count()).where(
            _backlog_where(f), t.items.c.created_at <= newer, t.items.c.created_at > older)).scalar_one()))
    counts.append(int(conn.execute(select(func.count()).where(
        _backlog_where(f), t.items.c.created_at <= edges[-1])).scalar_one()))
    return counts
