"""Acceptance inspections of delivered batches and the statements the quality report reads
(migration 0008; services/acceptance.py and services/quality_report.py).

The tables live on the shared ``metadata`` of ``tables.py``; ``seatflow.store`` imports this module
so that the schema (and the migration test) always sees them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    func,
    select,
    update,
)

from .tables import (
    Id,
    batches,
    gold_results,
    items,
    leases,
    metadata,
    reviews,
    submissions,
    tasks,
    users,
)
from .types import JSONType, UTCDateTime

# One acceptance inspection of a batch: the ISO 2859-1 plan used, the seed of the sample, the outcome.
inspections = Table(
    "inspections",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("client_id", Id, ForeignKey("clients.id"), nullable=False),
    Column("project_id", Id, ForeignKey("projects.id"), nullable=False),
    Column("batch_id", Id, ForeignKey("batches.id"), nullable=False),
    Column("number", Integer(), nullable=False),  # 1, 2, ... per batch
    Column("aql", Float(), nullable=False),
    Column("level", String(4), nullable=False),
    Column("lot_size", Integer(), nullable=False),
    Column("code", String(2), nullable=False),  # the plan's code letter (after Table 2-A's arrows)
    Column("table_code", String(2), nullable=False),  # Table 1's letter for the lot size
    Column("sample_size", Integer(), nullable=False),
    Column("ac", Integer(), nullable=False),
    Column("re", Integer(), nullable=False),
    Column("seed", String(100), nullable=False),
    Column("on_reject", String(16), nullable=False),  # defective (the defective sampled items) or lot
    Column("state", String(16), nullable=False),  # open, accepted, rejected
    Column("defects", Integer()),
    Column("started_by", Id, ForeignKey("users.id"), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("decided_at", UTCDateTime()),
    Column("outbox_id", Id),
    Index("ix_inspections_batch", "batch_id", "number", unique=True),
    Index("ix_inspections_project", "project_id", "id"),
)

# The sampled items of an inspection and the inspector's verdict on each (None until judged).
inspection_items = Table(
    "inspection_items",
    metadata,
    Column("inspection_id", Id, ForeignKey("inspections.id"), primary_key=True),
    Column("item_id", Id, ForeignKey("items.id"), primary_key=True),
    Column("client_id", Id, nullable=False),
    Column("verdict", String(16)),  # ok or defective
    Column("error_tags", JSONType),
    Column("comment", Text()),
    Column("judged_by", Id, ForeignKey("users.id")),
    Column("judged_at", UTCDateTime()),
)


# --- inspections --------------------------------------------------------------------------------


def lot(conn: Connection, batch_id: int) -> tuple[list[int], int]:
    """(ids of the batch's done ordinary items in id order, number of its ordinary items still in work)."""
    rows = conn.execute(
        select(items.c.id, items.c.state).where(items.c.batch_id == batch_id, items.c.gold.is_(False))
        .order_by(items.c.id)
    ).all()
    return [r.id for r in rows if r.state == "done"], sum(1 for r in rows if r.state != "done")


def lock_batch(conn: Connection, batch_id: int) -> Any:
    """The batch row, locked on PostgreSQL so that two inspections of one batch cannot start at once."""
    q = select(batches).where(batches.c.id == batch_id)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    return conn.execute(q).first()


def open_inspection(conn: Connection, batch_id: int) -> Any:
    return conn.execute(
        select(inspections).where(inspections.c.batch_id == batch_id, inspections.c.state == "open")
    ).first()


def next_number(conn: Connection, batch_id: int) -> int:
    n = conn.execute(select(func.max(inspections.c.number)).where(inspections.c.batch_id == batch_id)).scalar()
    return int(n or 0) + 1


def insert_inspection(conn: Connection, row: dict[str, Any], item_ids: list[int]) -> int:
    new_id = int(conn.execute(inspections.insert().returning(inspections.c.id), row).scalar_one())
    if item_ids:
        conn.execute(inspection_items.insert(), [
            {"inspection_id": new_id, "item_id": i, "client_id": row["client_id"]} for i in item_ids])
    return new_id


def get_inspection(conn: Connection, inspection_id: int, *, lock: bool = False) -> Any:
    q = select(inspections).where(inspections.c.id == inspection_id)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    return conn.execute(q).first()


def list_inspections(conn: Connection, *, project_id: int, batch_id: int | None = None) -> list[Any]:
    q = select(inspections, batches.c.name.label("batch_name")).join(
        batches, batches.c.id == inspections.c.batch_id).where(inspections.c.project_id == project_id)
    if batch_id is not None:
        q = q.where(inspections.c.batch_id == batch_id)
    return list(conn.execute(q.order_by(inspections.c.batch_id, inspections.c.number)))


def sample_rows(conn: Connection, inspection_id: int) -> list[Any]:
    """The sampled items with their verdicts, external ids and delivered results, in item order."""
    return list(conn.execute(
        select(inspection_items, items.c.external_id, items.c.result, items.c.state.label("item_state"))
        .join(items, items.c.id == inspection_items.c.item_id)
        .where(inspection_items.c.inspection_id == inspection_id)
        .order_by(inspection_items.c.item_id)
    ))


def sample_row(conn: Connection, inspection_id: int, item_id: int) -> Any:
    return conn.execute(select(inspection_items).where(
        inspection_items.c.inspection_id == inspection_id, inspection_items.c.item_id == item_id)).first()


def judge_item(conn: Connection, *, inspection_id: int, item_id: int, verdict: str, error_tags: list[str] | None,
               comment: str | None, by: int, now: datetime) -> None:
    conn.execute(update(inspection_items).where(
        inspection_items.c.inspection_id == inspection_id, inspection_items.c.item_id == item_id,
    ).values(verdict=verdict, error_tags=error_tags, comment=comment, judged_by=by, judged_at=now))


def unjudged(conn: Connection, inspection_id: int) -> int:
    return int(conn.execute(select(func.count()).select_from(inspection_items).where(
        inspection_items.c.inspection_id == inspection_id, inspection_items.c.verdict.is_(None))).scalar_one())


def decide(conn: Connection, inspection_id: int, *, state: str, defects: int, now: datetime) -> bool:
    n = conn.execute(update(inspections).where(inspections.c.id == inspection_id, inspections.c.state == "open")
                     .values(state=state, defects=defects, decided_at=now)).rowcount
    return n == 1


def set_outbox(conn: Connection, inspection_id: int, outbox_id: int | None) -> None:
    conn.execute(update(inspections).where(inspections.c.id == inspection_id).values(outbox_id=outbox_id))


# --- sending items back --------------------------------------------------------------------------


def accepted_submissions(conn: Connection, item_ids: list[int]) -> list[Any]:
    """The accepted answers of the items (the ones delivered): what goes back to rework, with the language
    of each answer's author (who reads why it came back)."""
    if not item_ids:
        return []
    return list(conn.execute(
        select(submissions.c.id, submissions.c.item_id, submissions.c.slot, submissions.c.user_id,
               submissions.c.client_id, submissions.c.project_id, items.c.priority, items.c.deadline,
               users.c.locale.label("author_locale"))
        .join(items, items.c.id == submissions.c.item_id)
        .join(users, users.c.id == submissions.c.user_id)
        .where(submissions.c.item_id.in_(item_ids), submissions.c.state == "accepted")
        .order_by(submissions.c.item_id, submissions.c.slot)
    ))


def insert_task(conn: Connection, row: dict[str, Any]) -> int:
    return int(conn.execute(tasks.insert().returning(tasks.c.id), row).scalar_one())


def insert_lease(conn: Connection, row: dict[str, Any]) -> int:
    return int(conn.execute(leases.insert().returning(leases.c.id), row).scalar_one())


def insert_review(conn: Connection, row: dict[str, Any]) -> int:
    return int(conn.execute(reviews.insert().returning(reviews.c.id), row).scalar_one())


def reject_submission(conn: Connection, submission_id: int) -> None:
    conn.execute(update(submissions).where(submissions.c.id == submission_id).values(state="rejected"))


def reopen_items(conn: Connection, item_ids: list[int]) -> int:
    """done -> active: the item is in work again and finishes (with its new result) when its slots are accepted."""
    if not item_ids:
        return 0
    return int(conn.execute(update(items).where(items.c.id.in_(item_ids), items.c.state == "done")
                            .values(state="active", done_at=None)).rowcount)


def pending_review(conn: Connection, submission_ids: list[int]) -> set[int]:
    """Of these answers, the ones with a review task still ready or leased."""
    if not submission_ids:
        return set()
    return set(conn.execute(select(tasks.c.target_submission_id).where(
        tasks.c.target_submission_id.in_(submission_ids), tasks.c.kind == "review",
        tasks.c.state.in_(("ready", "leased")))).scalars())


# --- what the quality report reads ------------------------------------------------------------------


def scope_items(conn: Connection, project_id: int, batch_id: int | None) -> Any:
    """A select of the ids of the project's ordinary items (of one batch when given)."""
    q = select(items.c.id).where(items.c.project_id == project_id, items.c.gold.is_(False))
    if batch_id is not None:
        q = q.where(items.c.batch_id == batch_id)
    return q


def accepted_answers(conn: Connection, project_id: int, batch_id: int | None) -> list[Any]:
    """(item_id, user_id, answer with a reviewer's fix) of the accepted answers in scope."""
    fixed = (
        select(reviews.c.fixed_answer)
        .where(reviews.c.submission_id == submissions.c.id, reviews.c.fixed_answer.is_not(None))
        .order_by(reviews.c.id.desc()).limit(1).scalar_subquery()
    )
    return list(conn.execute(
        select(submissions.c.id, submissions.c.item_id, submissions.c.user_id, submissions.c.slot,
               func.coalesce(fixed, submissions.c.answer).label("answer"))
        .where(submissions.c.project_id == project_id, submissions.c.state == "accepted",
               submissions.c.item_id.in_(scope_items(conn, project_id, batch_id)))
        .order_by(submissions.c.item_id, submissions.c.id)
    ))


def item_model_probs(conn: Connection, item_ids: list[int]) -> dict[int, Any]:
    """item id -> payload.meta.model_probs (a model's class probabilities), where the payload has them."""
    if not item_ids:
        return {}
    out: dict[int, Any] = {}
    for row in conn.execute(select(items.c.id, items.c.payload).where(items.c.id.in_(item_ids))):
        meta = row.payload.get("meta") if isinstance(row.payload, dict) else None
        probs = meta.get("model_probs") if isinstance(meta, dict) else None
        if probs is not None:
            out[int(row.id)] = probs
    return out


def item_info(conn: Connection, item_ids: list[int]) -> dict[int, Any]:
    if not item_ids:
        return {}
    return {int(r.id): r for r in conn.execute(
        select(items.c.id, items.c.state, items.c.priority, items.c.deadline, items.c.external_id,
               items.c.client_id, items.c.project_id).where(items.c.id.in_(item_ids)))}


def review_rows(conn: Connection, project_id: int, batch_id: int | None) -> list[Any]:
    """Every verdict on answers in scope: (verdict, error_tags, author)."""
    return list(conn.execute(
        select(reviews.c.verdict, reviews.c.error_tags, submissions.c.user_id)
        .join(submissions, submissions.c.id == reviews.c.submission_id)
        .where(reviews.c.project_id == project_id, reviews.c.item_id.in_(scope_items(conn, project_id, batch_id)))
    ))


def gold_rows(conn: Connection, project_id: int, user_ids: list[int] | None) -> list[Any]:
    """(user_id, passed) of the gold answers in the project (of these workers when given; tests left out)."""
    q = select(gold_results.c.user_id, gold_results.c.passed).where(
        gold_results.c.project_id == project_id, gold_results.c.test.is_(False))
    if user_ids is not None:
        if not user_ids:
            return []
        q = q.where(gold_results.c.user_id.in_(user_ids))
    return list(conn.execute(q))


def usernames(conn: Connection, user_ids: list[int]) -> dict[int, Any]:
    if not user_ids:
        return {}
    return {int(r.id): r for r in conn.execute(
        select(users.c.id, users.c.username, users.c.display_name).where(users.c.id.in_(user_ids)))}


def batch_of(conn: Connection, batch_id: int) -> Any:
    return conn.execute(select(batches).where(batches.c.id == batch_id)).first()


def project_batches(conn: Connection, project_id: int) -> list[Any]:
    return list(conn.execute(select(batches.c.id, batches.c.name).where(batches.c.project_id == project_id)
                             .order_by(batches.c.id)))


def inspection_findings(conn: Connection, project_id: int, batch_id: int | None) -> list[Any]:
    """The defective verdicts of inspections in scope: (error_tags)."""
    q = select(inspection_items.c.error_tags).join(
        inspections, inspections.c.id == inspection_items.c.inspection_id).where(
        and_(inspections.c.project_id == project_id, inspection_items.c.verdict == "defective"))
    if batch_id is not None:
        q = q.where(inspections.c.batch_id == batch_id)
    return list(conn.execute(q))
