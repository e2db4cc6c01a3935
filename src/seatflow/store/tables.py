"""The schema, as SQLAlchemy Core tables. Alembic migrations build it; a test checks they agree.

Hot tables carry ``client_id`` so that sharding by client stays possible. Indexes that a hot
statement relies on are named here next to the statement that uses them (see ``dispatch_sql``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from .types import JSONType, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

# Integer primary keys: BIGINT on PostgreSQL, INTEGER (rowid alias) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


def _pk() -> Column:
    return Column("id", Id, primary_key=True, autoincrement=True)


clients = Table(
    "clients",
    metadata,
    _pk(),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("webhook_url", String(2000)),
    Column("webhook_secret", String(128)),
    Column("created_at", UTCDateTime(), nullable=False),
)

teams = Table(
    "teams",
    metadata,
    _pk(),
    Column("name", String(100), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

users = Table(
    "users",
    metadata,
    _pk(),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(200)),
    Column("role", String(16), nullable=False),
    Column("client_id", Id, ForeignKey("clients.id")),
    Column("team_id", Id, ForeignKey("teams.id")),
    Column("locale", String(16), nullable=False, server_default="zh_CN"),
    Column("active", Boolean(), nullable=False, server_default=text("true")),
    Column("session_version", Integer(), nullable=False, server_default=text("1")),
    Column("created_at", UTCDateTime(), nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    _pk(),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_used_at", UTCDateTime()),
    Column("revoked", Boolean(), nullable=False, server_default=text("false")),
)

projects = Table(
    "projects",
    metadata,
    _pk(),
    Column("client_id", Id, ForeignKey("clients.id"), nullable=False, index=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("work_type", String(40), nullable=False),
    Column("label_schema", JSONType, nullable=False),
    Column("instructions", Text(), nullable=False, server_default=""),
    Column("workflow", JSONType, nullable=False),
    Column("sla_minutes", Integer()),
    Column("unit_price", Numeric(12, 4), nullable=False, server_default="0"),
    Column("lease_seconds", Integer()),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("created_at", UTCDateTime(), nullable=False),
    # Quality control settings (migration 0006): gold rate, qualification test, suspension threshold;
    # None = the defaults of services/quality.py.
    Column("quality", JSONType),
    # Billing (migration 0009): 'unit' (delivered units x unit_price) or 'hours' (handling hours x
    # hourly_rate, which is then required); see docs/billing.md.
    Column("billing_mode", String(8), nullable=False, server_default="unit"),
    Column("hourly_rate", Numeric(12, 4)),
)

# A project's price terms per billing month (migration 0010): the row with the greatest
# effective_month ('YYYY-MM', a month of the center's time zone) <= M prices month M, so a price change
# never rewrites an earlier month's statement. Creation writes '2000-01'; a change writes (or, within
# the month, replaces) the row of the current month. projects' own columns hold the current terms.
project_prices = Table(
    "project_prices",
    metadata,
    _pk(),
    Column("client_id", Id, ForeignKey("clients.id"), nullable=False),
    Column("project_id", Id, ForeignKey("projects.id"), nullable=False),
    Column("effective_month", String(7), nullable=False),
    Column("unit_price", Numeric(12, 4), nullable=False),
    Column("billing_mode", String(8), nullable=False),
    Column("hourly_rate", Numeric(12, 4)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", Id, ForeignKey("users.id")),
    UniqueConstraint("project_id", "effective_month"),
    Index("ix_project_prices_client", "client_id", "effective_month"),
)

qualifications = Table(
    "qualifications",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("project_id", Id, ForeignKey("projects.id"), primary_key=True),
    Column("skill", String(16), primary_key=True),
    Column("client_id", Id, ForeignKey("clients.id"), nullable=False),
    Column("granted_at", UTCDateTime(), nullable=False),
)

batches = Table(
    "batches",
    metadata,
    _pk(),
    Column("client_id", Id, ForeignKey("clients.id"), nullable=False),
    Column("project_id", Id, ForeignKey("projects.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("source", String(400)),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("item_count", Integer(), nullable=False, server_default="0"),
    Column("created_at", UTCDateTime(), nullable=False),
)

items = Table(
    "items",
    metadata,
    _pk(),
    Column("client_id", Id, ForeignKey("clients.id"), nullable=False),
    Column("project_id", Id, ForeignKey("projects.id"), nullable=False),
    Column("batch_id", Id, ForeignKey("batches.id")),
    Column("external_id", String(400), nullable=False),
    Column("payload", JSONType, nullable=False),
    Column("media", JSONType),
    Column("priority", Integer(), nullable=False, server_default="0"),
    Column("deadline", UTCDateTime(), nullable=False),
    Column("state", String(16), nullable=False, server_default="active"),
    Column("result", JSONType),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("done_at", UTCDateTime()),
    # Items pushed by a client through the moderation API (migration 0004): where decisions go, the
    # fingerprint of the request (a retry must match it), the media job's state, the machine score.
    Column("callback_url", String(2000)),
    Column("request_hash", String(64)),
    Column("media_status", String(16)),  # None (nothing to process), pending, processing, ready, failed
    Column("media_error", Text()),
    Column("media_claimed_at", UTCDateTime()),
    Column("prescreen_score", Float()),
    # Quality control (migration 0006): a gold (honeypot) item has a known answer in payload.gold, no
    # tasks of its own (dispatch mixes it into workers' streams) and never completes; the aggregate of
    # an item's answers (class/decision work) and its posterior confidence.
    Column("gold", Boolean(), nullable=False, server_default=text("false")),
    Column("aggregate", JSONType),
    Column("confidence", Float()),
    UniqueConstraint("project_id", "external_id"),
    Index("ix_items_project_state", "project_id", "state"),
    Index("ix_items_batch", "batch_id"),
    Index("ix_items_gold", "project_id", postgresql_where=text("gold"), sqlite_where=text("gold")),
    # The media job's queue: items whose media still waits for processing, oldest first.
    Index(
        "ix_items_media_queue",
        "id",
        postgresql_where=text("media_status IN ('pending', 'processing')"),
        sqlite_where=text("media_status IN ('pending', 'processing')"),
    ),
)

tasks = Table(
    "tasks",
    metadata,
    _pk(),
    Column("client_id", Id, ForeignKey("clients.id"), nullable=False),
    Column("project_id", Id, ForeignKey("projects.id"), nullable=False),
    Column("item_id", Id, ForeignKey("items.id"), nullable=False),
    Column("stage", Integer(), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("slot", Integer(), nullable=False, server_default="0"),
    Column("target_submission_id", Id),
    Column("assignee_id", Id, ForeignKey("users.id")),
    Column("state", String(16), nullable=False),
    Column("priority", Integer(), nullable=False),
    Column("deadline", UTCDateTime(), nullable=False),
    Column("lease_id", Id),
    Column("leased_by", Id, ForeignKey("users.id")),
    Column("lease_expires_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("done_at", UTCDateTime()),
    # The dispatch queue: serves ORDER BY priority DESC, deadline, id for one (project, kind).
    Index(
        "ix_tasks_queue",
        "project_id",
        "kind",
        text("priority DESC"),
        "deadline",
        "id",
        postgresql_where=text("state = 'ready' AND assignee_id IS NULL"),
        sqlite_where=text("state = 'ready' AND assignee_id IS NULL"),
    ),
    # Tasks reserved for one worker (rework goes back to its author).
    Index(
        "ix_tasks_assigned",
        "assignee_id",
        "priority",
        postgresql_where=text("state = 'ready' AND assignee_id IS NOT NULL"),
        sqlite_where=text("state = 'ready' AND assignee_id IS NOT NULL"),
    ),
    # The reaper: finds expired leases without scanning the backlog.
    Index(
        "ix_tasks_lease_expiry",
        "lease_expires_at",
        postgresql_where=text("state = 'leased'"),
        sqlite_where=text("state = 'leased'"),
    ),
    Index("ix_tasks_item", "item_id"),
    Index("ix_tasks_project_state", "project_id", "state"),
)

leases = Table(
    "leases",
    metadata,
    _pk(),
    Column("client_id", Id, nullable=False),
    Column("project_id", Id, nullable=False),
    Column("task_id", Id, ForeignKey("tasks.id"), nullable=False, index=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime()),
    Column("end_reason", String(16)),
    # The client's key of the request that made the lease (migration 0011): a retry with the same key
    # gets this lease back instead of a second one (services/dispatch.py, next_task).
    Column("request_key", String(128)),
    Index("ix_leases_user_request_key", "user_id", "request_key", unique=True,
          postgresql_where=text("request_key IS NOT NULL"), sqlite_where=text("request_key IS NOT NULL")),
)

# Who has touched an item: dispatch never gives a worker an item they annotated or reviewed.
item_workers = Table(
    "item_workers",
    metadata,
    Column("item_id", Id, ForeignKey("items.id"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("client_id", Id, nullable=False),
    Column("done", Boolean(), nullable=False, server_default=text("false")),
)

submissions = Table(
    "submissions",
    metadata,
    _pk(),
    Column("client_id", Id, nullable=False),
    Column("project_id", Id, nullable=False),
    Column("item_id", Id, ForeignKey("items.id"), nullable=False, index=True),
    Column("task_id", Id, ForeignKey("tasks.id"), nullable=False),
    Column("lease_id", Id, nullable=False),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("slot", Integer(), nullable=False),
    Column("answer", JSONType, nullable=False),
    Column("state", String(16), nullable=False),
    Column("supersedes_id", Id),
    Column("idempotency_key", String(128), nullable=False),
    Column("duration_ms", Integer()),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("user_id", "idempotency_key"),
    Index("ix_submissions_project_state", "project_id", "state"),
)

reviews = Table(
    "reviews",
    metadata,
    _pk(),
    Column("client_id", Id, nullable=False),
    Column("project_id", Id, nullable=False),
    Column("item_id", Id, ForeignKey("items.id"), nullable=False, index=True),
    Column("task_id", Id, ForeignKey("tasks.id"), nullable=False),
    Column("lease_id", Id, nullable=False),
    Column("submission_id", Id, ForeignKey("submissions.id"), nullable=False, index=True),
    Column("reviewer_id", Id, ForeignKey("users.id"), nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("error_tags", JSONType),
    Column("comment", Text()),
    Column("fixed_answer", JSONType),
    Column("idempotency_key", String(128), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("reviewer_id", "idempotency_key"),
)

# Append-only log of every state change: who, when, from, to.
events = Table(
    "events",
    metadata,
    _pk(),
    Column("client_id", Id),
    Column("project_id", Id),
    Column("item_id", Id),
    Column("task_id", Id),
    Column("actor_id", Id),
    Column("entity", String(16), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("from_state", String(16)),
    Column("to_state", String(16)),
    Column("at", UTCDateTime(), nullable=False),
    Column("data", JSONType),
    Index("ix_events_item", "item_id"),
    Index("ix_events_project_at", "project_id", "at"),
)

# The transactional outbox: every event a client must receive is written here in the same
# transaction as the state change it reports, then delivered (webhooks) by a job, at least once.
outbox = Table(
    "outbox",
    metadata,
    _pk(),
    Column("client_id", Id, ForeignKey("clients.id"), nullable=False),
    Column("project_id", Id),
    Column("item_id", Id),
    Column("topic", String(64), nullable=False),
    Column("payload", JSONType, nullable=False),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("target_url", String(2000)),
    Column("state", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer(), nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("last_error", Text()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("delivered_at", UTCDateTime()),
    # The delivery job's queue, oldest first: pending events, and the claims of deliverers that
    # died ('delivering' with next_attempt_at = the claim's expiry). See store.outbox.claim_due.
    Index(
        "ix_outbox_due",
        "next_attempt_at",
        postgresql_where=text("state IN ('pending', 'delivering')"),
        sqlite_where=text("state IN ('pending', 'delivering')"),
    ),
    Index("ix_outbox_client_created", "client_id", "created_at"),
)

# One row per delivery attempt: the delivery log shown to the center and the client.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    _pk(),
    Column("outbox_id", Id, ForeignKey("outbox.id"), nullable=False, index=True),
    Column("client_id", Id, nullable=False),
    Column("url", String(2000), nullable=False),
    Column("attempted_at", UTCDateTime(), nullable=False),
    Column("status_code", Integer()),
    Column("error", Text()),
    Column("duration_ms", Integer()),
)

# Moderation decisions as the client sees them: one row per decision sent (first decision, the
# audit of a machine decision, an appeal's outcome), numbered per item. Kept apart from
# submissions because a machine decision has no worker, lease or task, and because the SLA
# report reads only these rows (ix_moderation_decisions_project_decided).
moderation_decisions = Table(
    "moderation_decisions",
    metadata,
    _pk(),
    Column("client_id", Id, ForeignKey("clients.id"), nullable=False),
    Column("project_id", Id, ForeignKey("projects.id"), nullable=False),
    Column("item_id", Id, ForeignKey("items.id"), nullable=False),
    Column("decision_no", Integer(), nullable=False),
    Column("source", String(16), nullable=False),  # moderator, senior, machine, audit, appeal
    Column("decision", String(16), nullable=False),  # approve or reject
    Column("reasons", JSONType, nullable=False),
    Column("note", Text()),
    Column("decided_by", Id, ForeignKey("users.id")),
    Column("submission_id", Id),
    Column("review_id", Id),
    Column("appeal_id", Id),
    Column("prescreen_score", Float()),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("deadline", UTCDateTime(), nullable=False),
    Column("decided_at", UTCDateTime(), nullable=False),
    Column("outbox_id", Id),
    UniqueConstraint("item_id", "decision_no"),
    Index("ix_moderation_decisions_project_decided", "project_id", "decided_at"),
)

# A client's request to decide an item again: a different moderator decides (see services/moderation_flow.py).
appeals = Table(
    "appeals",
    metadata,
    _pk(),
    Column("client_id", Id, ForeignKey("clients.id"), nullable=False),
    Column("project_id", Id, ForeignKey("projects.id"), nullable=False),
    Column("item_id", Id, ForeignKey("items.id"), nullable=False, index=True),
    Column("decision_id", Id, ForeignKey("moderation_decisions.id"), nullable=False, unique=True),
    Column("reason", Text(), nullable=False),
    Column("state", String(16), nullable=False),  # open, decided
    Column("task_id", Id, ForeignKey("tasks.id")),
    Column("outcome_decision_id", Id),
    Column("created_by", Id, ForeignKey("users.id")),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("decided_at", UTCDateTime()),
    Index("ix_appeals_task", "task_id"),
)


# --- quality control (migration 0006; services/quality.py) ----------------------------------------

# One scored answer of a worker on a gold item: each worker answers a gold item at most once.
gold_results = Table(
    "gold_results",
    metadata,
    _pk(),
    Column("client_id", Id, nullable=False),
    Column("project_id", Id, ForeignKey("projects.id"), nullable=False),
    Column("item_id", Id, ForeignKey("items.id"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("submission_id", Id, ForeignKey("submissions.id"), nullable=False),
    Column("score", Float(), nullable=False),
    Column("passed", Boolean(), nullable=False),
    Column("test", Boolean(), nullable=False, server_default=text("false")),  # a qualification test answer
    Column("details", JSONType),
    Column("at", UTCDateTime(), nullable=False),
    UniqueConstraint("user_id", "item_id"),
    Index("ix_gold_results_worker", "user_id", "project_id", "id"),
)

# A worker's standing in a project when it is not the default: qualified (passed the test), failed
# (the test), suspended (gold accuracy below the threshold), reinstated (by a lead or manager).
worker_standing = Table(
    "worker_standing",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("project_id", Id, ForeignKey("projects.id"), primary_key=True),
    Column("client_id", Id, nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", JSONType),
    Column("changed_at", UTCDateTime(), nullable=False),
    Column("changed_by", Id, ForeignKey("users.id")),
)

# What a team's lead is told: a worker suspended, a qualification failed or passed, a reinstatement.
quality_notices = Table(
    "quality_notices",
    metadata,
    _pk(),
    Column("team_id", Id, ForeignKey("teams.id")),
    Column("client_id", Id, nullable=False),
    Column("project_id", Id, ForeignKey("projects.id"), nullable=False),
    Column("worker_id", Id, ForeignKey("users.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("data", JSONType),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("acknowledged_at", UTCDateTime()),
    Column("acknowledged_by", Id, ForeignKey("users.id")),
    Index("ix_quality_notices_team", "team_id", "id"),
)
