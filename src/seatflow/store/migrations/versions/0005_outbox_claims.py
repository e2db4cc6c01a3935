"""the outbox queue index also serves claims of a deliverer that died (state 'delivering')

A deliverer marks the events it sends 'delivering' with ``next_attempt_at`` = the claim's expiry;
when it dies, the claim statement takes them again once that time has passed. ix_outbox_due now
covers both states, so that one index scan finds due and abandoned events alike.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_DUE = "state IN ('pending', 'delivering')"
_PENDING = "state = 'pending'"


def _due_index(where: str) -> None:
    op.create_index("ix_outbox_due", "outbox", ["next_attempt_at"], postgresql_where=sa.text(where),
                    sqlite_where=sa.text(where))


def upgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox")
    _due_index(_DUE)


def downgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox")
    _due_index(_PENDING)
