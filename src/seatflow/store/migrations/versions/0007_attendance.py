"""attendance: check-ins at seats, breaks, and the project a lead moved a worker to (the live floor)

``attendance_sessions``: one row per check-in; a worker has at most one open session and a seat at
most one person (partial unique indexes on the open rows). ``attendance_breaks``: breaks inside a
session, at most one open. ``worker_assignments``: the project the floor's "move" put a worker on.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seatflow.store.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OPEN_SESSION = "checked_out_at IS NULL"
_OPEN_BREAK = "ended_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "attendance_sessions",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("user_id", Id, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("seat", sa.String(16), nullable=False),
        sa.Column("checked_in_at", UTCDateTime(), nullable=False),
        sa.Column("checked_out_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_sessions")),
    )
    op.create_index("ix_attendance_sessions_user", "attendance_sessions", ["user_id", "checked_in_at"])
    op.create_index("ix_attendance_sessions_open_user", "attendance_sessions", ["user_id"], unique=True,
                    postgresql_where=sa.text(_OPEN_SESSION), sqlite_where=sa.text(_OPEN_SESSION))
    op.create_index("ix_attendance_sessions_open_seat", "attendance_sessions", ["seat"], unique=True,
                    postgresql_where=sa.text(_OPEN_SESSION), sqlite_where=sa.text(_OPEN_SESSION))
    op.create_table(
        "attendance_breaks",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("session_id", Id, sa.ForeignKey("attendance_sessions.id"), nullable=False),
        sa.Column("user_id", Id, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_breaks")),
    )
    op.create_index("ix_attendance_breaks_session", "attendance_breaks", ["session_id"])
    op.create_index("ix_attendance_breaks_open", "attendance_breaks", ["session_id"], unique=True,
                    postgresql_where=sa.text(_OPEN_BREAK), sqlite_where=sa.text(_OPEN_BREAK))
    op.create_table(
        "worker_assignments",
        sa.Column("user_id", Id, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("project_id", Id, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("assigned_by", Id, sa.ForeignKey("users.id")),
        sa.Column("assigned_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_worker_assignments")),
    )


def downgrade() -> None:
    op.drop_table("worker_assignments")
    op.drop_index("ix_attendance_breaks_open", table_name="attendance_breaks")
    op.drop_index("ix_attendance_breaks_session", table_name="attendance_breaks")
    op.drop_table("attendance_breaks")
    op.drop_index("ix_attendance_sessions_open_seat", table_name="attendance_sessions")
    op.drop_index("ix_attendance_sessions_open_user", table_name="attendance_sessions")
    op.drop_index("ix_attendance_sessions_user", table_name="attendance_sessions")
    op.drop_table("attendance_sessions")
