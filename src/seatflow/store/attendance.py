"""Attendance and the live floor: who sits where, breaks, the project a lead moved a worker to, and
the statements the floor view polls (migration 0007; services/attendance.py and services/floor.py).

The tables live on the shared ``metadata`` of ``tables.py``; ``seatflow.store`` imports this module
so that the schema (and the migration test) always sees them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Index,
    String,
    Table,
    and_,
    func,
    select,
    text,
)

from .tables import (
    Id,
    leases,
    metadata,
    projects,
    qualifications,
    submissions,
    tasks,
    teams,
    users,
    worker_standing,
)
from .types import UTCDateTime

# One row per check-in: a worker at a seat from checked_in_at until checked_out_at (None: still there).
# A worker has at most one open session, and a seat at most one person (the two partial unique indexes).
attendance_sessions = Table(
    "attendance_sessions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("seat", String(16), nullable=False),
    Column("checked_in_at", UTCDateTime(), nullable=False),
    Column("checked_out_at", UTCDateTime()),
    Index("ix_attendance_sessions_user", "user_id", "checked_in_at"),
    Index("ix_attendance_sessions_open_user", "user_id", unique=True,
          postgresql_where=text("checked_out_at IS NULL"), sqlite_where=text("checked_out_at IS NULL")),
    Index("ix_attendance_sessions_open_seat", "seat", unique=True,
          postgresql_where=text("checked_out_at IS NULL"), sqlite_where=text("checked_out_at IS NULL")),
)

# Breaks inside a session; at most one open break per session.
attendance_breaks = Table(
    "attendance_breaks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("session_id", Id, ForeignKey("attendance_sessions.id"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime()),
    Index("ix_attendance_breaks_session", "session_id"),
    Index("ix_attendance_breaks_open", "session_id", unique=True,
          postgresql_where=text("ended_at IS NULL"), sqlite_where=text("ended_at IS NULL")),
)

# The project a lead or manager moved a worker to (the floor's "move"): the worker's home and /work
# put it first. One row per worker; moving again replaces it.
worker_assignments = Table(
    "worker_assignments",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("project_id", Id, ForeignKey("projects.id"), nullable=False),
    Column("assigned_by", Id, ForeignKey("users.id")),
    Column("assigned_at", UTCDateTime(), nullable=False),
)


# --- attendance ------------------------------------------------------------------------------------


def open_session(conn: Connection, user_id: int) -> Any:
    s = attendance_sessions
    return conn.execute(select(s).where(s.c.user_id == user_id, s.c.checked_out_at.is_(None))).first()


def session_at_seat(conn: Connection, seat: str) -> Any:
    s = attendance_sessions
    return conn.execute(select(s).where(s.c.seat == seat, s.c.checked_out_at.is_(None))).first()


def open_break(conn: Connection, session_id: int) -> Any:
    b = attendance_breaks
    return conn.execute(select(b).where(b.c.session_id == session_id, b.c.ended_at.is_(None))).first()


def insert_session(conn: Connection, user_id: int, seat: str, at: datetime) -> int:
    result = conn.execute(attendance_sessions.insert().values(user_id=user_id, seat=seat, checked_in_at=at))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def close_session(conn: Connection, session_id: int, at: datetime) -> None:
    s = attendance_sessions
    conn.execute(s.update().where(s.c.id == session_id).values(checked_out_at=at))


def insert_break(conn: Connection, session_id: int, user_id: int, at: datetime) -> int:
    result = conn.execute(attendance_breaks.insert().values(session_id=session_id, user_id=user_id, started_at=at))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def end_break(conn: Connection, break_id: int, at: datetime) -> None:
    b = attendance_breaks
    conn.execute(b.update().where(b.c.id == break_id).values(ended_at=at))


def sessions_between(conn: Connection, user_ids: list[int], start: datetime, end: datetime) -> list[Any]:
    """Sessions of these users that overlap [start, end)."""
    if not user_ids:
        return []
    s = attendance_sessions
    return list(conn.execute(select(s).where(
        s.c.user_id.in_(user_ids), s.c.checked_in_at < end,
        (s.c.checked_out_at.is_(None)) | (s.c.checked_out_at > start),
    )))


def breaks_of(conn: Connection, session_ids: list[int]) -> list[Any]:
    if not session_ids:
        return []
    b = attendance_breaks
    return list(conn.execute(select(b).where(b.c.session_id.in_(session_ids))))


def leases_between(conn: Connection, user_ids: list[int], start: datetime, end: datetime) -> list[Any]:
    """(user_id, created_at, ended_at) of the leases of these users that overlap [start, end)."""
    if not user_ids:
        return []
    lz = leases
    return list(conn.execute(select(lz.c.user_id, lz.c.created_at, lz.c.ended_at, lz.c.expires_at).where(
        lz.c.user_id.in_(user_ids), lz.c.created_at < end,
        (lz.c.ended_at.is_(None)) | (lz.c.ended_at > start),
    )))


# --- people ----------------------------------------------------------------------------------------


def floor_people(conn: Connection, team_id: int | None) -> list[Any]:
    """Active workers, of one team (``team_id``) or of every team (None), with their team's name."""
    q = (select(users.c.id, users.c.username, users.c.display_name, users.c.team_id,
                teams.c.name.label("team"))
         .select_from(users.outerjoin(teams, teams.c.id == users.c.team_id))
         .where(users.c.role == "worker", users.c.active.is_(True)))
    if team_id is not None:
        q = q.where(users.c.team_id == team_id)
    return list(conn.execute(q.order_by(users.c.username)))


def open_sessions_of(conn: Connection, user_ids: list[int]) -> list[Any]:
    if not user_ids:
        return []
    s, b = attendance_sessions, attendance_breaks
    q = (select(s.c.id, s.c.user_id, s.c.seat, s.c.checked_in_at, b.c.started_at.label("break_started_at"))
         .select_from(s.outerjoin(b, and_(b.c.session_id == s.c.id, b.c.ended_at.is_(None))))
         .where(s.c.user_id.in_(user_ids), s.c.checked_out_at.is_(None)))
    return list(conn.execute(q))


def open_leases(conn: Connection, now: datetime) -> list[Any]:
    """Every lease being worked on: (user_id, project_id, leased_at), through the reaper's partial index."""
    q = (select(tasks.c.leased_by.label("user_id"), tasks.c.project_id, leases.c.created_at.label("leased_at"))
         .select_from(tasks.join(leases, leases.c.id == tasks.c.lease_id))
         .where(tasks.c.state == "leased", tasks.c.lease_expires_at > now))
    return list(conn.execute(q))


def skills_of_people(conn: Connection, user_ids: list[int]) -> list[Any]:
    if not user_ids:
        return []
    q = qualifications
    return list(conn.execute(select(q.c.user_id, q.c.project_id, q.c.skill).where(q.c.user_id.in_(user_ids))))


def blocked_of(conn: Connection, user_ids: list[int], states: tuple[str, ...]) -> set[tuple[int, int]]:
    """(user, project) pairs where quality control keeps the worker out (suspended, failed the test)."""
    if not user_ids:
        return set()
    w = worker_standing
    rows = conn.execute(select(w.c.user_id, w.c.project_id).where(w.c.user_id.in_(user_ids), w.c.state.in_(states)))
    return {(r.user_id, r.project_id) for r in rows}


def assignments_of(conn: Connection, user_ids: list[int]) -> list[Any]:
    if not user_ids:
        return []
    a = worker_assignments
    return list(conn.execute(select(a).where(a.c.user_id.in_(user_ids))))


def assignment_of(conn: Connection, user_id: int) -> Any:
    a = worker_assignments
    return conn.execute(select(a).where(a.c.user_id == user_id)).first()


def set_assignment(conn: Connection, user_id: int, project_id: int, by: int | None, at: datetime) -> None:
    a = worker_assignments
    if conn.execute(a.update().where(a.c.user_id == user_id)
                    .values(project_id=project_id, assigned_by=by, assigned_at=at)).rowcount == 0:
        conn.execute(a.insert().values(user_id=user_id, project_id=project_id, assigned_by=by, assigned_at=at))


def team_project_ids(conn: Connection, team_id: int) -> set[int]:
    """Projects a team may work on: those where at least one of its members holds a qualification."""
    q = (select(qualifications.c.project_id).distinct()
         .select_from(qualifications.join(users, users.c.id == qualifications.c.user_id))
         .where(users.c.team_id == team_id))
    return set(conn.execute(q).scalars())


# --- projects --------------------------------------------------------------------------------------


def active_projects(conn: Connection) -> list[Any]:
    p = projects
    return list(conn.execute(select(p.c.id, p.c.slug, p.c.name, p.c.client_id, p.c.sla_minutes)
                             .where(p.c.status == "active").order_by(p.c.id)))


def backlog(conn: Connection, soon: datetime) -> list[Any]:
    """Per (project, kind): tasks waiting in the shared queue, the earliest and latest deadline, and
    how many are due before ``soon`` (overdue ones included)."""
    t = tasks
    q = (select(t.c.project_id, t.c.kind, func.count().label("waiting"),
                func.min(t.c.deadline).label("first_deadline"), func.max(t.c.deadline).label("last_deadline"),
                func.count().filter(t.c.deadline < soon).label("due_soon"))
         .where(t.c.state == "ready", t.c.assignee_id.is_(None))
         .group_by(t.c.project_id, t.c.kind))
    return list(conn.execute(q))


def recent_handling(conn: Connection, project_id: int, limit: int) -> list[Any]:
    """(leased_at, submitted_at) of the project's latest ``limit`` submissions."""
    s = submissions
    q = (select(leases.c.created_at.label("leased_at"), s.c.created_at.label("submitted_at"))
         .select_from(s.join(leases, leases.c.id == s.c.lease_id))
         .where(s.c.project_id == project_id).order_by(s.c.id.desc()).limit(limit))
    return list(conn.execute(q))
