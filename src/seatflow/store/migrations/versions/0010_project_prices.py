"""price history: project_prices, a project's price terms per billing month

One row per project and month from which its terms (unit_price, billing_mode, hourly_rate) apply;
a statement for month M uses the row with the greatest effective_month <= M, so changing a price
never rewrites an earlier month's statement. Every existing project gets one row from '2000-01'
(before any billable month) with its current terms.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seatflow.store.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "project_prices",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("client_id", Id, sa.ForeignKey("clients.id"), nullable=False),
        sa.Column("project_id", Id, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("effective_month", sa.String(7), nullable=False),
        sa.Column("unit_price", sa.Numeric(12, 4), nullable=False),
        sa.Column("billing_mode", sa.String(8), nullable=False),
        sa.Column("hourly_rate", sa.Numeric(12, 4)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", Id, sa.ForeignKey("users.id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_prices")),
        sa.UniqueConstraint("project_id", "effective_month",
                            name=op.f("uq_project_prices_project_id_effective_month")),
    )
    op.create_index("ix_project_prices_client", "project_prices", ["client_id", "effective_month"])
    # Every existing project: its current terms from before any billable month.
    op.execute(
        "INSERT INTO project_prices (client_id, project_id, effective_month, unit_price, billing_mode, hourly_rate,"
        " created_at, created_by)"
        " SELECT client_id, id, '2000-01', unit_price, billing_mode, hourly_rate, created_at, NULL FROM projects"
    )


def downgrade() -> None:
    op.drop_index("ix_project_prices_client", table_name="project_prices")
    op.drop_table("project_prices")
