"""acceptance inspections of delivered batches: the ISO 2859-1 plan, the sample and its verdicts

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seatflow.store.types import JSONType, UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inspections",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("client_id", Id, sa.ForeignKey("clients.id"), nullable=False),
        sa.Column("project_id", Id, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("batch_id", Id, sa.ForeignKey("batches.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("aql", sa.Float(), nullable=False),
        sa.Column("level", sa.String(4), nullable=False),
        sa.Column("lot_size", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(2), nullable=False),
        sa.Column("table_code", sa.String(2), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("ac", sa.Integer(), nullable=False),
        sa.Column("re", sa.Integer(), nullable=False),
        sa.Column("seed", sa.String(100), nullable=False),
        sa.Column("on_reject", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("defects", sa.Integer()),
        sa.Column("started_by", Id, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime()),
        sa.Column("outbox_id", Id),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspections")),
    )
    op.create_index("ix_inspections_batch", "inspections", ["batch_id", "number"], unique=True)
    op.create_index("ix_inspections_project", "inspections", ["project_id", "id"])
    op.create_table(
        "inspection_items",
        sa.Column("inspection_id", Id, sa.ForeignKey("inspections.id"), nullable=False),
        sa.Column("item_id", Id, sa.ForeignKey("items.id"), nullable=False),
        sa.Column("client_id", Id, nullable=False),
        sa.Column("verdict", sa.String(16)),
        sa.Column("error_tags", JSONType),
        sa.Column("comment", sa.Text()),
        sa.Column("judged_by", Id, sa.ForeignKey("users.id")),
        sa.Column("judged_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("inspection_id", "item_id", name=op.f("pk_inspection_items")),
    )


def downgrade() -> None:
    op.drop_table("inspection_items")
    op.drop_index("ix_inspections_project", table_name="inspections")
    op.drop_index("ix_inspections_batch", table_name="inspections")
    op.drop_table("inspections")
