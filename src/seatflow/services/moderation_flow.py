"""Moderation decisions: how an item enters the queue, and how each decision reaches the client.

Every decision the client is told about is a row of ``moderation_decisions`` (numbered per item)
and an outbox event written in the same transaction (``moderation.decided``, or
``moderation.appeal_decided`` for an appeal's outcome): a decision never commits without its
event, and an event never goes out for a decision that rolled back.

Where decisions come from:

- **moderator**: the item's answer was accepted by the workflow (the engine finished the item);
  with overlap > 1 the strictest answer wins (a reject over an approve, reasons merged);
- **senior**: a senior decided an escalated item. Escalation uses the engine's senior stage
  (``domain.workflow.senior_stage``): a review-kind task after the workflow's stages, taken by
  people with the project's ``review`` skill. The senior accepts with ``fixed_answer`` (approve
  or reject) to decide, or rejects to send the item back to its moderator;
- **machine**: the pre-screen score reached the policy's ``auto_reject_above``. A sample of these
  (``audit_rate``) still gets a human task; that person's decision is then sent as **audit**;
- **appeal**: the client asked for a re-review (``services/moderation.py``); a different moderator
  decided it (see :func:`on_step`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from seatflow.domain import workflow as wf
from seatflow.errors import ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.store import catalog, outbox
from seatflow.store import moderation as repo
from seatflow.store.events import append, event_row
from seatflow.store.tables import tasks
from seatflow.worktypes import get_work_type
from seatflow.worktypes.moderation import Policy

from . import _steps

DECIDED = "moderation.decided"
APPEAL_DECIDED = "moderation.appeal_decided"
MEDIA_ERROR = "moderation.media_error"
FAR_FUTURE_YEAR = 9999


def policy_of(project: Any) -> Policy:
    schema = get_work_type("moderation").parse_schema(project.label_schema)
    assert isinstance(schema, Policy)
    return schema


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None or dt.year >= FAR_FUTURE_YEAR else dt.isoformat()


def reasons_detail(policy: Policy, codes: list[str]) -> list[dict[str, Any]]:
    by_code = {r.code: r for r in policy.reasons}
    return [{"code": c, "title": by_code[c].title if c in by_code else c,
             "severity": by_code[c].severity if c in by_code else None} for c in codes]


def strictest(policy: Policy, answers: list[dict[str, Any]]) -> dict[str, Any]:
    """One decision from the accepted answers of an item: a reject wins, its reasons merged gravest first."""
    rejects = [a for a in answers if a.get("decision") == "reject"]
    if not rejects:
        notes = [a["note"] for a in answers if a.get("note")]
        return {"decision": "approve", "reasons": [], "note": notes[0] if notes else None}
    severity = {r.code: r.severity for r in policy.reasons}
    codes: list[str] = []
    for a in rejects:
        codes += [c for c in a.get("reasons", []) if c not in codes]
    codes.sort(key=lambda c: -severity.get(c, 0))
    notes = [a["note"] for a in rejects if a.get("note")]
    return {"decision": "reject", "reasons": codes, "note": notes[0] if notes else None}


def record_decision(
    conn: Connection, *, item: Any, project: Any, answer: dict[str, Any], source: str, now: datetime,
    decided_by: int | None = None, submission_id: int | None = None, review_id: int | None = None,
    appeal: Any = None, previous: Any = None,
) -> int:
    """Write one decision and its outbox event (same transaction). Returns the decision's id."""
    policy = policy_of(project)
    no = repo.next_decision_no(conn, item.id)
    topic = APPEAL_DECIDED if appeal is not None else DECIDED
    reasons = list(answer.get("reasons") or [])
    body: dict[str, Any] = {
        "event": topic,
        "project": project.slug,
        "item_id": item.id,
        "external_id": item.external_id,
        "decision_no": no,
        "decision": answer["decision"],
        "reasons": reasons_detail(policy, reasons),
        "note": answer.get("note"),
        "source": source,
        "decided_at": now.isoformat(),
        "received_at": item.created_at.isoformat(),
        "deadline": _iso(item.deadline),
        "within_deadline": now <= item.deadline,
        "prescreen_score": item.prescreen_score,
    }
    if appeal is not None and previous is not None:
        body["appeal"] = {
            "id": appeal.id,
            "reason": appeal.reason,
            "previous_decision_no": previous.decision_no,
            "previous_decision": previous.decision,
            "outcome": "upheld" if (previous.decision == answer["decision"]
                                    and sorted(previous.reasons) == sorted(reasons)) else "changed",
        }
    outbox_id = outbox.enqueue(
        conn, client_id=item.client_id, topic=topic, payload=body,
        idempotency_key=f"{topic}:{item.id}:{no}", now=now, project_id=project.id, item_id=item.id,
        target_url=item.callback_url,
    )
    decision_id = repo.insert_decision(conn, {
        "client_id": item.client_id, "project_id": project.id, "item_id": item.id, "decision_no": no,
        "source": source, "decision": answer["decision"], "reasons": reasons, "note": answer.get("note"),
        "decided_by": decided_by, "submission_id": submission_id, "review_id": review_id,
        "appeal_id": appeal.id if appeal is not None else None, "prescreen_score": item.prescreen_score,
        "received_at": item.created_at, "deadline": item.deadline, "decided_at": now, "outbox_id": outbox_id,
    })
    append(conn, [event_row(entity="item", kind="decision", at=now, actor_id=decided_by, client_id=item.client_id,
                            project_id=project.id, item_id=item.id,
                            data={"decision_no": no, "decision": answer["decision"], "source": source})])
    return decision_id


def media_error(conn: Connection, *, item: Any, project: Any, reason: str, now: datetime) -> None:
    """The item's media cannot be used: it leaves the pipeline (no task) and the client is told."""
    repo.update_item(conn, item.id, state="rejected_media", media_status="failed", media_error=reason,
                     done_at=now)
    outbox.enqueue(
        conn, client_id=item.client_id, topic=MEDIA_ERROR,
        payload={"event": MEDIA_ERROR, "project": project.slug, "item_id": item.id,
                 "external_id": item.external_id, "error": reason, "at": now.isoformat()},
        idempotency_key=f"{MEDIA_ERROR}:{item.id}", now=now, project_id=project.id, item_id=item.id,
        target_url=item.callback_url,
    )
    append(conn, [event_row(entity="item", kind="media_error", at=now, client_id=item.client_id,
                            project_id=project.id, item_id=item.id, from_state="active", to_state="rejected_media",
                            data={"error": reason})])


def open_item(conn: Connection, *, item: Any, project: Any, score: float | None, labels: list[str],
              now: datetime) -> str:
    """Put a ready item to work, applying the pre-screen rules. Returns what happened:
    ``queued``, ``boosted`` (queued with raised priority), ``auto_rejected`` or ``auto_rejected_audit``."""
    policy = policy_of(project)
    rules = policy.prescreen
    if score is not None and rules.auto_reject_above is not None and score >= rules.auto_reject_above:
        codes = [c for c in labels if c in {r.code for r in policy.reasons}] or list(rules.auto_reject_reasons)
        answer = {"decision": "reject", "reasons": codes, "note": f"machine pre-screen score {score:.2f}"}
        record_decision(conn, item=item, project=project, answer=answer, source="machine", now=now)
        if wf.sample_draw(item.id, "audit") < rules.audit_rate:
            _create_tasks(conn, item=item, project=project, priority=item.priority, now=now)
            return "auto_rejected_audit"
        repo.update_item(conn, item.id, state="done", done_at=now, result=[{"machine": True, "answer": answer}])
        append(conn, [event_row(entity="item", kind="done", at=now, client_id=item.client_id, project_id=project.id,
                                item_id=item.id, from_state="active", to_state="done", data={"source": "machine"})])
        return "auto_rejected"
    priority = item.priority
    if score is not None and rules.boost_above is not None and score >= rules.boost_above and rules.boost:
        priority = min(1000, priority + rules.boost)
        repo.update_item(conn, item.id, priority=priority)
    _create_tasks(conn, item=item, project=project, priority=priority, now=now)
    return "boosted" if priority != item.priority else "queued"


def _create_tasks(conn: Connection, *, item: Any, project: Any, priority: int, now: datetime) -> None:
    flow = wf.parse_workflow(project.workflow)
    rows = [{"client_id": item.client_id, "project_id": project.id, "item_id": item.id, "stage": t.stage,
             "kind": t.kind.value, "slot": t.slot, "state": wf.TaskState.READY.value, "priority": priority,
             "deadline": item.deadline, "created_at": now} for t in wf.initial_tasks(flow)]
    conn.execute(tasks.insert(), rows)


def appeal_task(conn: Connection, *, item: Any, project: Any, deadline: datetime, now: datetime) -> int:
    """The task that decides an appeal: a senior-stage review of the accepted answer, or, when a machine
    decided alone (no answer to review), a fresh annotate task. Dispatch never gives it to anyone who
    already touched the item (item_workers), so a different moderator decides."""
    flow = wf.parse_workflow(project.workflow)
    target = repo.accepted_submission(conn, item.id)
    row = {"client_id": item.client_id, "project_id": project.id, "item_id": item.id, "slot": 0,
           "state": wf.TaskState.READY.value, "priority": item.priority, "deadline": deadline, "created_at": now}
    if target is not None:
        row.update(stage=wf.senior_stage(flow), kind=wf.StageKind.REVIEW.value, target_submission_id=target.id)
    else:
        row.update(stage=0, kind=wf.StageKind.ANNOTATE.value)
    return int(conn.execute(tasks.insert().returning(tasks.c.id), row).scalar_one())


# --- the engine's listener ------------------------------------------------------------------------


def _final_answer(step: _steps.Step) -> dict[str, Any] | None:
    if step.action == "submit":
        return step.answer
    if step.verdict != "accept":
        return None
    return step.fixed_answer if step.fixed_answer is not None else step.reviewed_answer


def on_step(conn: Connection, step: _steps.Step) -> None:
    """Told of every submit and review on a moderation project (same transaction as the answer)."""
    final = _final_answer(step)
    appeal = repo.appeal_by_task(conn, step.task_id)
    if appeal is not None:
        _decide_appeal(conn, step, appeal, final)
        return
    if step.action == "review" and final is not None and final.get("decision") == "escalate":
        raise ValidationFailed(Msg(
            "fixed_answer: accepting an escalated answer decides nothing; accept with fixed_answer "
            "{approve} or {reject}, or reject it to send it back to its moderator",
            approve='{"decision": "approve"}', reject='{"decision": "reject", "reasons": [...]}'), field="fixed_answer")
    if not step.item_done:
        return
    item = repo.item_by_id(conn, step.item_id)
    project = _project(conn, step.project_id)
    answers = [r["answer"] for r in (item.result or [])
               if isinstance(r, dict) and "answer" in r and "appeal_id" not in r]
    decision = strictest(policy_of(project), answers)
    prior = repo.decisions_of(conn, item.id)
    if prior:
        source = "audit"
    elif step.action == "review" and step.stage >= wf.senior_stage(wf.parse_workflow(step.workflow)):
        source = "senior"
    else:
        source = "moderator"
    record_decision(conn, item=item, project=project, answer=decision, source=source, now=step.at,
                    decided_by=step.actor_id, submission_id=step.submission_id, review_id=step.review_id)


def _decide_appeal(conn: Connection, step: _steps.Step, appeal: Any, final: dict[str, Any] | None) -> None:
    if step.action == "review" and step.verdict != "accept":
        raise ValidationFailed(Msg(
            "verdict: an appeal is decided by accepting — as it is to uphold the decision, or with fixed_answer "
            "to change it; 'reject' is not an appeal outcome"), field="verdict")
    if final is None or final.get("decision") not in ("approve", "reject"):
        field = "answer" if step.action == "submit" else "fixed_answer"
        raise ValidationFailed(Msg("{field}: an appeal needs a decision, approve or reject; it cannot be escalated",
                                   field=field), field=field)
    item = repo.item_by_id(conn, step.item_id)
    project = _project(conn, step.project_id)
    previous = next(d for d in repo.decisions_of(conn, item.id) if d.id == appeal.decision_id)
    decision_id = record_decision(
        conn, item=item, project=project, answer=final, source="appeal", now=step.at, decided_by=step.actor_id,
        submission_id=step.submission_id, review_id=step.review_id, appeal=appeal, previous=previous)
    repo.set_appeal(conn, appeal.id, state="decided", outcome_decision_id=decision_id, decided_at=step.at)
    # The item's result (what exports and the item API show) ends with the decision in force; the
    # moderators' earlier answers stay before it, so the history reads in order.
    result = [*(item.result or []), {"appeal_id": appeal.id, "worker_id": step.actor_id, "answer": final,
                                      "previous_decision_no": previous.decision_no}]
    repo.update_item(conn, item.id, result=result)
    append(conn, [event_row(entity="appeal", kind="decide", at=step.at, actor_id=step.actor_id,
                            client_id=item.client_id, project_id=project.id, item_id=item.id, from_state="open",
                            to_state="decided", data={"appeal_id": appeal.id, "decision_id": decision_id})])


def _project(conn: Connection, project_id: int) -> Any:
    return catalog.project_by_id(conn, project_id)


def sla_deadline(project: Any, now: datetime) -> datetime | None:
    return now + timedelta(minutes=project.sla_minutes) if project.sla_minutes else None


_steps.listen("moderation", on_step)
