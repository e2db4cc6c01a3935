"""the moderation gate: items pushed by clients (callback, media job, pre-screen), decisions, appeals

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from seatflow.store.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

_ITEM_COLUMNS = (
    ("callback_url", sa.String(length=2000)),
    ("request_hash", sa.String(length=64)),
    ("media_status", sa.String(length=16)),
    ("media_error", sa.Text()),
    ("media_claimed_at", UTCDateTime()),
    ("prescreen_score", sa.Float()),
)
_MEDIA_WAITING = "media_status IN ('pending', 'processing')"


def upgrade() -> None:
    # Nullable columns without a default: no rewrite of the items table on either database.
    for name, type_ in _ITEM_COLUMNS:
        op.add_column("items", sa.Column(name, type_, nullable=True))
    op.create_index(
        "ix_items_media_queue",
        "items",
        ["id"],
        postgresql_where=sa.text(_MEDIA_WAITING),
        sqlite_where=sa.text(_MEDIA_WAITING),
    )
    op.create_table(
        "moderation_decisions",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("client_id", Id, nullable=False),
        sa.Column("project_id", Id, nullable=False),
        sa.Column("item_id", Id, nullable=False),
        sa.Column("decision_no", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reasons", JSONType, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("decided_by", Id, nullable=True),
        sa.Column("submission_id", Id, nullable=True),
        sa.Column("review_id", Id, nullable=True),
        sa.Column("appeal_id", Id, nullable=True),
        sa.Column("prescreen_score", sa.Float(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("deadline", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
        sa.Column("outbox_id", Id, nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_moderation_decisions_client_id_clients")),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"],
                                name=op.f("fk_moderation_decisions_project_id_projects")),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_moderation_decisions_item_id_items")),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_moderation_decisions_decided_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_decisions")),
        sa.UniqueConstraint("item_id", "decision_no", name=op.f("uq_moderation_decisions_item_id_decision_no")),
    )
    op.create_index("ix_moderation_decisions_project_decided", "moderation_decisions", ["project_id", "decided_at"])
    op.create_table(
        "appeals",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("client_id", Id, nullable=False),
        sa.Column("project_id", Id, nullable=False),
        sa.Column("item_id", Id, nullable=False),
        sa.Column("decision_id", Id, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("task_id", Id, nullable=True),
        sa.Column("outcome_decision_id", Id, nullable=True),
        sa.Column("created_by", Id, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_appeals_client_id_clients")),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_appeals_project_id_projects")),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_appeals_item_id_items")),
        sa.ForeignKeyConstraint(["decision_id"], ["moderation_decisions.id"],
                                name=op.f("fk_appeals_decision_id_moderation_decisions")),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_appeals_task_id_tasks")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_appeals_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
        sa.UniqueConstraint("decision_id", name=op.f("uq_appeals_decision_id")),
    )
    op.create_index(op.f("ix_appeals_item_id"), "appeals", ["item_id"])
    op.create_index("ix_appeals_task", "appeals", ["task_id"])


def downgrade() -> None:
    op.drop_index("ix_appeals_task", table_name="appeals")
    op.drop_index(op.f("ix_appeals_item_id"), table_name="appeals")
    op.drop_table("appeals")
    op.drop_index("ix_moderation_decisions_project_decided", table_name="moderation_decisions")
    op.drop_table("moderation_decisions")
    op.drop_index("ix_items_media_queue", table_name="items")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch copy of items would trip the
    # foreign keys of the tables that reference it.
    for name, _type in reversed(_ITEM_COLUMNS):
        op.drop_column("items", name)
