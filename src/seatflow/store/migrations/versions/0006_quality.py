"""quality control: gold items, gold results, worker standing, lead notices, aggregates

``items.gold`` marks a gold (honeypot) item: its known answer stays in ``payload.gold`` (where the
importers already put it, hidden from workers by services/items.worker_payload); a gold item has no
tasks of its own and never completes. Items imported before this revision with a ``payload.gold``
become gold items, and their tasks still waiting in the queue are cancelled (a leased one runs out
as usual; its answer is then scored, not delivered).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seatflow.store.types import JSONType, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    false = sa.text("false")
    # New columns with a constant default: no rewrite of the items table on either database.
    op.add_column("projects", sa.Column("quality", JSONType, nullable=True))
    op.add_column("items", sa.Column("gold", sa.Boolean(), nullable=False, server_default=false))
    op.add_column("items", sa.Column("aggregate", JSONType, nullable=True))
    op.add_column("items", sa.Column("confidence", sa.Float(), nullable=True))
    op.create_index("ix_items_gold", "items", ["project_id"], postgresql_where=sa.text("gold"),
                    sqlite_where=sa.text("gold"))
    has_gold = ("payload -> 'gold' IS NOT NULL" if op.get_bind().dialect.name == "postgresql"
                else "json_extract(payload, '$.gold') IS NOT NULL")
    op.execute(f"UPDATE items SET gold = true WHERE {has_gold}")
    op.execute("UPDATE tasks SET state = 'cancelled' WHERE state = 'ready' "
               "AND item_id IN (SELECT id FROM items WHERE gold)")
    op.create_table(
        "gold_results",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("client_id", Id, nullable=False),
        sa.Column("project_id", Id, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("item_id", Id, sa.ForeignKey("items.id"), nullable=False),
        sa.Column("user_id", Id, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("submission_id", Id, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("test", sa.Boolean(), nullable=False, server_default=false),
        sa.Column("details", JSONType),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gold_results")),
        sa.UniqueConstraint("user_id", "item_id", name=op.f("uq_gold_results_user_id_item_id")),
    )
    op.create_index("ix_gold_results_worker", "gold_results", ["user_id", "project_id", "id"])
    op.create_table(
        "worker_standing",
        sa.Column("user_id", Id, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("project_id", Id, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("client_id", Id, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", JSONType),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("changed_by", Id, sa.ForeignKey("users.id")),
        sa.PrimaryKeyConstraint("user_id", "project_id", name=op.f("pk_worker_standing")),
    )
    op.create_table(
        "quality_notices",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("team_id", Id, sa.ForeignKey("teams.id")),
        sa.Column("client_id", Id, nullable=False),
        sa.Column("project_id", Id, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("worker_id", Id, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data", JSONType),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime()),
        sa.Column("acknowledged_by", Id, sa.ForeignKey("users.id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_notices")),
    )
    op.create_index("ix_quality_notices_team", "quality_notices", ["team_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_quality_notices_team", table_name="quality_notices")
    op.drop_table("quality_notices")
    op.drop_table("worker_standing")
    op.drop_index("ix_gold_results_worker", table_name="gold_results")
    op.drop_table("gold_results")
    op.drop_index("ix_items_gold", table_name="items")
    for name in ("confidence", "aggregate", "gold"):
        op.drop_column("items", name)
    op.drop_column("projects", "quality")
