"""billing by time: projects.billing_mode ('unit' | 'hours') and projects.hourly_rate

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every existing project keeps being billed per unit.
    op.add_column("projects", sa.Column("billing_mode", sa.String(8), nullable=False, server_default="unit"))
    op.add_column("projects", sa.Column("hourly_rate", sa.Numeric(12, 4), nullable=True))


def downgrade() -> None:
    op.drop_column("projects", "hourly_rate")
    op.drop_column("projects", "billing_mode")
