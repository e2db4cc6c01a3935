"""lease request keys: leases.request_key, unique per worker where given

A worker's client may send a key with ``POST /leases``; a retry with the same key (the answer to the
first request was lost on the way) gets the same lease back instead of a second one, which would
hold its item away from everyone until it expired.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_KEYED = "request_key IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("leases") as batch:
        batch.add_column(sa.Column("request_key", sa.String(128), nullable=True))
    # Partial: leases without a key (most of them) cost this index nothing.
    op.create_index("ix_leases_user_request_key", "leases", ["user_id", "request_key"], unique=True,
                    postgresql_where=sa.text(_KEYED), sqlite_where=sa.text(_KEYED))


def downgrade() -> None:
    op.drop_index("ix_leases_user_request_key", table_name="leases")
    with op.batch_alter_table("leases") as batch:
        batch.drop_column("request_key")
