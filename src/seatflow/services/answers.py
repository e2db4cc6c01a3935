"""Submit an answer and review one: validate, record, and advance the item through its workflow.

Both are idempotent under the caller's key: a retried call returns the first outcome and never
writes a second answer.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from seatflow.domain import workflow as wf
from seatflow.domain.actors import Actor
from seatflow.domain.clock import utcnow
from seatflow.errors import Conflict, Forbidden, LeaseExpired, NotFound, ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.store import answers as repo
from seatflow.store import quality as quality_repo
from seatflow.store.events import append, event_row
from seatflow.worktypes import get_work_type

from . import aggregation, deliveries, quality
from ._steps import Step, notify


@dataclass(frozen=True)
class Outcome:
    """What a submit or review produced."""

    id: int  # submission id (submit) or review id (review)
    item_id: int
    item_done: bool
    next_step: str  # "review", "accepted", "rework"
    replayed: bool = False
    events: list[str] = field(default_factory=list)


def _replayed_submission(conn: Connection, actor: Actor, key: str, lease_id: int) -> Outcome | None:
    prior = repo.find_submission_by_key(conn, actor.id, key)
    if prior is None:
        return None
    if prior.lease_id != lease_id:
        raise Conflict(Msg("idempotency_key {key!r} was already used for another lease", key=key),
                       field="idempotency_key")
    return Outcome(id=prior.id, item_id=prior.item_id, item_done=False, next_step="replayed", replayed=True)


def _answered(ctx: Any, lease_id: int) -> bool:
    """Was this lease already answered? Read from the task as well as the lease row.

    On PostgreSQL a call that waited in lease_context for a concurrent answer on the same lease
    (a client retrying before the first try returned) sees the task row as the first call left
    it, but the lease row as it was before (only the task row is locked, so only it is re-read):
    the task says done under this lease while the lease still looks open. Without this check the
    retry was told its lease had expired, though its answer was safely recorded.
    """
    return bool(ctx.end_reason == "submitted" or (ctx.task_state == "done" and ctx.task_lease_id == lease_id))


def _held_lease(conn: Connection, actor: Actor, lease_id: int, kind: str, now: datetime, ctx: Any = None) -> Any:
    if ctx is None:
        ctx = repo.lease_context(conn, lease_id)
    if ctx is None:
        raise NotFound(Msg("lease {lease_id} does not exist", lease_id=lease_id), field="lease_id")
    if ctx.user_id != actor.id:
        raise Forbidden(Msg("lease {lease_id} belongs to another worker", lease_id=lease_id), field="lease_id")
    if _answered(ctx, lease_id):
        raise Conflict(Msg("lease {lease_id} was already answered; ask for the next task", lease_id=lease_id),
                       field="lease_id")
    if ctx.ended_at is not None or ctx.task_lease_id != lease_id or ctx.lease_expires_at is None \
            or ctx.lease_expires_at <= now:
        raise LeaseExpired(
            Msg("lease {lease_id} expired before the answer arrived; the task went back to the queue",
                lease_id=lease_id),
            field="lease_id",
        )
    if ctx.kind != kind:
        if kind == "review":
            raise Conflict(Msg("lease {lease_id} is for an annotation task, not a review verdict", lease_id=lease_id),
                           field="lease_id")
        raise Conflict(Msg("lease {lease_id} is for a review task, not an annotation answer", lease_id=lease_id),
                       field="lease_id")
    return ctx


def _check_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > 128:
        raise ValidationFailed(Msg("idempotency_key must be 1 to 128 characters"), field="idempotency_key")
    return key


def _apply(
    conn: Connection, decision: wf.Decision, *, ctx: Any, submission_id: int, actor: Actor, now: datetime,
    evs: list[dict[str, Any]], already_accepted: bool = False, item_locked: bool = False,
) -> tuple[str, bool]:
    """Carry out a workflow decision for ``submission_id``; returns (next_step, item_done).

    ``already_accepted``: the answer was inserted in state accepted (saves one statement).
    ``item_locked``: the caller already holds the item's row lock (see ``store.answers.lock_item``).
    """
    base = {"client_id": ctx.client_id, "project_id": ctx.project_id, "item_id": ctx.item_id, "at": now}
    if isinstance(decision, wf.NewTask):
        task_id = repo.insert_task(
            conn,
            {
                "client_id": ctx.client_id,
                "project_id": ctx.project_id,
                "item_id": ctx.item_id,
                "stage": decision.stage,
                "kind": decision.kind.value,
                "slot": decision.slot,
                "target_submission_id": decision.target_submission_id,
                "assignee_id": decision.assignee_id,
                "state": wf.TaskState.READY.value,
                "priority": ctx.priority,
                "deadline": ctx.item_deadline,
                "created_at": now,
            },
        )
        evs.append(event_row(entity="task", kind="create", task_id=task_id, actor_id=actor.id, to_state="ready",
                             data={"kind": decision.kind.value, "stage": decision.stage}, **base))
        if decision.kind is wf.StageKind.REVIEW:
            return "review", False
        return "rework", False
    if not item_locked:
        repo.lock_item(conn, ctx.item_id)  # before reading the other slots: see lock_item
    if not already_accepted:
        repo.set_submission_state(conn, submission_id, wf.SubmissionState.ACCEPTED.value)
    evs.append(event_row(entity="submission", kind="accept", actor_id=actor.id, from_state="pending",
                         to_state="accepted", data={"submission_id": submission_id}, **base))
    workflow = wf.parse_workflow(ctx.workflow)
    accepted = repo.accepted_answers(conn, ctx.item_id)
    confidence = None
    if workflow.overlap > 1:  # several answers: aggregate them (class/decision work), store it with the item
        agg, confidence = aggregation.aggregate(
            conn, project_id=ctx.project_id, work_type=ctx.work_type, label_schema=ctx.label_schema,
            answers=[(a.user_id, a.fixed_answer if a.fixed_answer is not None else a.answer) for a in accepted])
        if agg is not None:
            quality_repo.set_aggregate(conn, ctx.item_id, agg, confidence)
    step = wf.overlap_next(workflow, accepted=len(accepted), open_tasks=accepted[0].open_tasks,
                           confidence=confidence)
    if step == "more":  # dynamic overlap: not sure enough yet, ask one more worker
        task_id = repo.insert_task(conn, {
            "client_id": ctx.client_id, "project_id": ctx.project_id, "item_id": ctx.item_id, "stage": 0,
            "kind": wf.StageKind.ANNOTATE.value, "slot": quality_repo.max_slot(conn, ctx.item_id) + 1,
            "state": wf.TaskState.READY.value, "priority": ctx.priority, "deadline": ctx.item_deadline,
            "created_at": now,
        })
        evs.append(event_row(entity="task", kind="create", task_id=task_id, actor_id=actor.id, to_state="ready",
                             data={"kind": "annotate", "stage": 0, "confidence": confidence}, **base))
    if step == "done":
        result = [
            {"submission_id": a.id, "slot": a.slot, "worker_id": a.user_id,
             "answer": a.fixed_answer if a.fixed_answer is not None else a.answer}
            for a in accepted
        ]
        done_event = event_row(entity="item", kind="done", actor_id=actor.id, from_state="active",
                               to_state="done", **base)
        finished = repo.finish_item(conn, item_id=ctx.item_id, result=result, now=now, pending=evs,
                                    done_event=done_event)
        evs.clear()  # written with the item (and its done event, when this answer finished it)
        if finished:
            deliveries.item_done(conn, ctx=ctx, result=result, now=now)  # outbox, same transaction
            return "accepted", True
    return "accepted", False


def submit(
    conn: Connection, actor: Actor, *, lease_id: int, answer: Any, idempotency_key: str,
    duration_ms: int | None = None, now: datetime | None = None,
) -> Outcome:
    """Record an annotation answer on a held lease and move the item on."""
    key = _check_key(idempotency_key)
    now = now or utcnow()
    ctx = repo.lease_context(conn, lease_id)
    if ctx is not None and ctx.user_id == actor.id and _answered(ctx, lease_id):
        replay = _replayed_submission(conn, actor, key, lease_id)
        if replay is not None:
            return replay
    ctx = _held_lease(conn, actor, lease_id, "annotate", now, ctx=ctx)
    work_type = get_work_type(ctx.work_type)
    schema = work_type.parse_schema(ctx.label_schema)
    payload = work_type.parse_payload(ctx.payload, schema)
    parsed = work_type.parse_answer(answer, schema, payload)
    if duration_ms is not None and not 0 <= duration_ms <= 86_400_000:
        raise ValidationFailed(Msg("duration_ms must be between 0 and 86400000"), field="duration_ms")
    answer_json = parsed.model_dump(mode="json")
    decision: wf.Decision | None = None
    if not ctx.item_gold:
        workflow = wf.parse_workflow(ctx.workflow)
        escalate = work_type.escalates(parsed)  # handed up: the senior queue, whatever the sampling says
        if ctx.target_submission_id is not None:  # a rework returns to the stage that rejected it
            stage, reviewer = repo.rejection_of(conn, ctx.target_submission_id)
            decision = wf.after_answer(workflow, item_id=ctx.item_id, slot=ctx.slot, submission_id=0,
                                       from_stage=stage, forced=True, reviewer_id=reviewer, escalate=escalate)
        else:
            decision = wf.after_answer(workflow, item_id=ctx.item_id, slot=ctx.slot, submission_id=0,
                                       draw_id=ctx.task_id, escalate=escalate)
    # Gold is recorded as accepted at once: never reviewed, aggregated, completed or delivered.
    accepted_now = decision is None or isinstance(decision, wf.Accept)
    closed, submission_id = repo.record_answer(conn, lock_item=isinstance(decision, wf.Accept), row={
        "client_id": ctx.client_id,
        "project_id": ctx.project_id,
        "item_id": ctx.item_id,
        "task_id": ctx.task_id,
        "lease_id": lease_id,
        "user_id": actor.id,
        "slot": ctx.slot,
        "answer": answer_json,
        "state": (wf.SubmissionState.ACCEPTED if accepted_now else wf.SubmissionState.PENDING).value,
        "supersedes_id": None if decision is None else ctx.target_submission_id,
        "idempotency_key": key,
        "duration_ms": duration_ms,
        "created_at": now,
    })
    if not closed:
        raise LeaseExpired(Msg("lease {lease_id} expired before the answer arrived", lease_id=lease_id),
                           field="lease_id")
    if submission_id is None:  # this key was used before, on another lease
        raise Conflict(Msg("idempotency_key {key!r} was already used for another lease", key=key),
                       field="idempotency_key")
    if decision is None:
        return _submit_gold(conn, actor, ctx=ctx, lease_id=lease_id, answer=answer_json,
                            submission_id=submission_id, now=now)
    if isinstance(decision, wf.NewTask):
        decision = dataclasses.replace(decision, target_submission_id=submission_id)
    base = {"client_id": ctx.client_id, "project_id": ctx.project_id, "item_id": ctx.item_id, "at": now}
    evs = [
        event_row(entity="task", kind="submit", task_id=ctx.task_id, actor_id=actor.id, from_state="leased",
                  to_state="done", data={"lease_id": lease_id, "submission_id": submission_id}, **base),
    ]
    step, done = _apply(conn, decision, ctx=ctx, submission_id=submission_id, actor=actor, now=now, evs=evs,
                        already_accepted=accepted_now, item_locked=True)
    append(conn, evs)
    notify(conn, _step(ctx, "submit", actor, now, submission_id=submission_id, next_step=step, item_done=done,
                       answer=answer_json))
    return Outcome(id=submission_id, item_id=ctx.item_id, item_done=done, next_step=step)


def _submit_gold(conn: Connection, actor: Actor, *, ctx: Any, lease_id: int, answer: dict[str, Any],
                 submission_id: int, now: datetime) -> Outcome:
    """A gold item's answer (recorded as accepted): scored, never reviewed, aggregated, completed or delivered.

    The worker is told what an ordinary answer would have been told (the same sampling draw), so
    the outcome does not give a gold item away.
    """
    append(conn, [event_row(entity="task", kind="submit", task_id=ctx.task_id, actor_id=actor.id,
                            from_state="leased", to_state="done", client_id=ctx.client_id,
                            project_id=ctx.project_id, item_id=ctx.item_id, at=now,
                            data={"lease_id": lease_id, "submission_id": submission_id})])
    quality.record_gold(conn, ctx, actor, answer, submission_id=submission_id, now=now)
    shown = wf.after_answer(wf.parse_workflow(ctx.workflow), item_id=ctx.item_id, slot=ctx.slot, submission_id=0,
                            draw_id=ctx.task_id)
    return Outcome(id=submission_id, item_id=ctx.item_id, item_done=False,
                   next_step="review" if isinstance(shown, wf.NewTask) else "accepted")


def review(
    conn: Connection, actor: Actor, *, lease_id: int, verdict: str, idempotency_key: str,
    error_tags: list[str] | None = None, comment: str | None = None, fixed_answer: Any = None,
    now: datetime | None = None,
) -> Outcome:
    """Accept (optionally with a fix) or reject the answer under review; a reject sends it to rework."""
    key = _check_key(idempotency_key)
    now = now or utcnow()
    try:
        v = wf.Verdict(verdict)
    except ValueError:
        raise ValidationFailed(Msg("verdict must be 'accept' or 'reject'"), field="verdict") from None
    prior = repo.find_review_by_key(conn, actor.id, key)
    ctx = None
    if prior is None:
        ctx = repo.lease_context(conn, lease_id)
        if ctx is not None and ctx.user_id == actor.id and _answered(ctx, lease_id):
            prior = repo.find_review_by_key(conn, actor.id, key)  # a concurrent try committed meanwhile
    if prior is not None:
        if prior.lease_id != lease_id:
            raise Conflict(Msg("idempotency_key {key!r} was already used for another lease", key=key),
                           field="idempotency_key")
        return Outcome(id=prior.id, item_id=prior.item_id, item_done=False, next_step="replayed", replayed=True)
    ctx = _held_lease(conn, actor, lease_id, "review", now, ctx=ctx)
    tags = [str(t) for t in (error_tags or [])]
    if v is wf.Verdict.REJECT and not tags and not (comment or "").strip():
        raise ValidationFailed(Msg("a rejection needs at least one error tag or a comment"), field="error_tags")
    if comment is not None and len(comment) > 5000:
        raise ValidationFailed(Msg("comment is longer than 5000 characters"), field="comment")
    fixed = None
    if fixed_answer is not None:
        if v is not wf.Verdict.ACCEPT:
            raise ValidationFailed(Msg("fixed_answer goes with verdict 'accept'"), field="fixed_answer")
        work_type = get_work_type(ctx.work_type)
        schema = work_type.parse_schema(ctx.label_schema)
        payload = work_type.parse_payload(ctx.payload, schema)
        fixed = work_type.parse_answer(fixed_answer, schema, payload).model_dump(mode="json")
    target = repo.get_submission(conn, ctx.target_submission_id)
    if target is None:  # pragma: no cover - guarded by the foreign key
        raise NotFound(Msg("the answer under review no longer exists"))
    if not repo.close_task(conn, task_id=ctx.task_id, lease_id=lease_id, now=now):
        raise LeaseExpired(Msg("lease {lease_id} expired before the verdict arrived", lease_id=lease_id),
                           field="lease_id")
    repo.mark_touched_done(conn, item_id=ctx.item_id, user_id=actor.id)
    review_id = repo.insert_review(
        conn,
        {
            "client_id": ctx.client_id,
            "project_id": ctx.project_id,
            "item_id": ctx.item_id,
            "task_id": ctx.task_id,
            "lease_id": lease_id,
            "submission_id": target.id,
            "reviewer_id": actor.id,
            "verdict": v.value,
            "error_tags": tags or None,
            "comment": comment,
            "fixed_answer": fixed,
            "idempotency_key": key,
            "created_at": now,
        },
    )
    if review_id is None:  # this key was used before, on another lease
        raise Conflict(Msg("idempotency_key {key!r} was already used for another lease", key=key),
                       field="idempotency_key")
    base = {"client_id": ctx.client_id, "project_id": ctx.project_id, "item_id": ctx.item_id, "at": now}
    evs = [
        event_row(entity="task", kind="submit", task_id=ctx.task_id, actor_id=actor.id, from_state="leased",
                  to_state="done", data={"lease_id": lease_id, "review_id": review_id, "verdict": v.value}, **base)
    ]
    if v is wf.Verdict.REJECT:
        repo.set_submission_state(conn, target.id, wf.SubmissionState.REJECTED.value)
        evs.append(event_row(entity="submission", kind="reject", actor_id=actor.id, from_state="pending",
                             to_state="rejected", data={"submission_id": target.id}, **base))
    decision = wf.after_review(
        wf.parse_workflow(ctx.workflow), verdict=v, item_id=ctx.item_id, slot=ctx.slot, review_stage=ctx.stage,
        submission_id=target.id, author_id=target.user_id,
    )
    if isinstance(decision, wf.NewTask) and decision.assignee_id is not None and decision.kind is \
            wf.StageKind.ANNOTATE and quality_repo.is_blocked(conn, decision.assignee_id, ctx.project_id):
        decision = dataclasses.replace(decision, assignee_id=None)  # the author was suspended: anyone reworks it
    step, done = _apply(conn, decision, ctx=ctx, submission_id=target.id, actor=actor, now=now, evs=evs)
    append(conn, evs)
    notify(conn, _step(ctx, "review", actor, now, submission_id=target.id, next_step=step, item_done=done,
                       review_id=review_id, verdict=v.value, fixed_answer=fixed, reviewed_answer=target.answer))
    return Outcome(id=review_id, item_id=ctx.item_id, item_done=done, next_step=step)


def _step(ctx: Any, action: str, actor: Actor, now: datetime, **fields: Any) -> Step:
    """What listeners (``services/_steps.py``) are told about a recorded submit or review."""
    return Step(action=action, work_type=ctx.work_type, client_id=ctx.client_id, project_id=ctx.project_id,
                item_id=ctx.item_id, task_id=ctx.task_id, task_kind=ctx.kind, stage=ctx.stage, slot=ctx.slot,
                actor_id=actor.id, at=now, label_schema=ctx.label_schema, workflow=ctx.workflow, **fields)
