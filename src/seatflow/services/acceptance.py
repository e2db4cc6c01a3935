"""Acceptance inspection of a delivered batch (ISO 2859-1 single sampling, normal inspection), and
suspicious answers routed to review.

**Inspection.** A client user (its own batches) or a manager starts one for a batch whose ordinary
items are all done (a *delivered* batch): the lot is those items (gold items are not part of it);
``quality.sampling.plan`` gives the plan for the lot size, the AQL (default 1.0) and the general
inspection level (default II); ``quality.sampling.draw_sample`` draws the sample, reproducibly
from the inspection's seed (``batch:<id>:inspection:<number>`` unless one is given). The inspector
(the client, the center's staff, or a worker with the project's review skill) marks each sampled
item ``ok`` or ``defective`` (with error tags and/or a comment). When the last one is judged:

* at most Ac defective: the batch is **accepted** (outbox event ``batch.accepted``);
* Re or more: the batch is **rejected** (``batch.rejected``, with the findings). What goes back to
  rework is the inspection's ``on_reject`` policy: ``defective`` (the default) sends back the
  defective sampled items; ``lot`` sends back every item of the lot (ISO 2859-1 leaves the
  disposal of a rejected lot to the parties; ``lot`` is the 100 % re-check). Each accepted answer
  of such an item is rejected with the finding as a review (the inspector's error tags and
  comment, in the senior review stage, so the author sees them with the rework), the item becomes
  active again and a rework task goes to the answer's author (or to anyone when the workflow says
  ``rework_to: any`` or the author is suspended from the project). A reworked answer is accepted
  without another review (the next inspection checks it); when all its slots are accepted the item
  is done again with its new result. The
  item's own ``item.accepted`` event is sent once only (its idempotency key); the new results go
  out with the export and the next inspection.

Once every item is done again a new inspection (a fresh sample of the whole lot) can start.

**Suspicious answers** (:func:`flag_suspicious`): for class and decision work, the accepted answers
of items with several answers are aggregated (majority vote or Dawid-Skene) and an answer whose
label the aggregate gives a probability below ``threshold`` is flagged
(``quality.suspicious.disagreements``); where items carry a model's class probabilities
(``payload.meta.model_probs``: ``{class: probability}``), every answer is also checked against them by
confident learning (``quality.suspicious.model_disagreements``). A flagged answer without a pending
review gets a review task (the workflow's first review stage, or the senior stage when it has none);
its item is active again until the review (and any rework) is through.

numpy and the quality library's aggregators are imported on first use, not with the app.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from seatflow.domain import workflow as wf
from seatflow.domain.actors import Actor, Role
from seatflow.domain.clock import utcnow
from seatflow.errors import Conflict, Forbidden, NotFound, ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.quality import sampling
from seatflow.store import acceptance as repo
from seatflow.store import catalog
from seatflow.store import outbox as outbox_repo
from seatflow.store import quality as quality_repo
from seatflow.store.events import append, event_row

from .aggregation import class_of, classes_of
from .projects import get_project

BATCH_ACCEPTED = "batch.accepted"
BATCH_REJECTED = "batch.rejected"
VERDICTS = ("ok", "defective")
ON_REJECT = ("defective", "lot")
MAX_TAGS = 20
TAG_MAX = 64
COMMENT_MAX = 5000
SEED_MAX = 100
STARTERS = (Role.ADMIN, Role.MANAGER, Role.CLIENT)
CENTER = (Role.ADMIN, Role.MANAGER, Role.LEAD)


# --- who may do what -----------------------------------------------------------------------------


def _batch(conn: Connection, actor: Actor, batch_id: Any) -> Any:
    if isinstance(batch_id, bool) or not isinstance(batch_id, int) or not 1 <= batch_id <= 2**62:
        raise ValidationFailed(Msg("batch: must be a batch id (a whole number of 1 or more), got {got!r}",
                                   got=batch_id),
                               field="batch")
    row = repo.batch_of(conn, batch_id)
    if row is None or not actor.can_see_client(row.client_id):
        raise NotFound(Msg("batch {batch} not found", batch=batch_id), field="batch")
    return row


def _may_inspect(conn: Connection, actor: Actor, project_id: int) -> None:
    """The client, the center's staff, or a worker with the project's review skill."""
    if actor.role is Role.WORKER:
        if not any(s.project_id == project_id and s.skill == "review" for s in catalog.skills_of(conn, actor.id)):
            raise Forbidden(Msg("inspecting a batch needs the project's review skill (or a client or staff account)"))


def _inspection(conn: Connection, actor: Actor, inspection_id: int, *, lock: bool = False) -> Any:
    if actor.role is Role.WORKER and not any(s.skill == "review" for s in catalog.skills_of(conn, actor.id)):
        raise Forbidden(Msg("inspections are for the client, the center's staff and reviewers"))
    row = repo.get_inspection(conn, inspection_id, lock=lock)
    if row is None or not actor.can_see_client(row.client_id):
        raise NotFound(Msg("inspection {inspection} not found", inspection=inspection_id), field="inspection")
    _may_inspect(conn, actor, row.project_id)
    return row


# --- reading -------------------------------------------------------------------------------------


def plan_json(row: Any) -> dict[str, Any]:
    return {"aql": row.aql, "level": row.level, "lot_size": row.lot_size, "code": row.code,
            "table_code": row.table_code, "sample_size": row.sample_size, "ac": row.ac, "re": row.re,
            "full_inspection": row.sample_size >= row.lot_size}


def inspection_json(conn: Connection, row: Any, *, with_sample: bool = True) -> dict[str, Any]:
    project = catalog.project_by_id(conn, row.project_id)
    batch = repo.batch_of(conn, row.batch_id)
    out: dict[str, Any] = {
        "id": row.id, "number": row.number, "state": row.state,
        "project": project.slug if project is not None else None,
        "batch": {"id": row.batch_id, "name": batch.name if batch is not None else None},
        "plan": plan_json(row), "seed": row.seed, "on_reject": row.on_reject, "defects": row.defects,
        "started_at": row.started_at.isoformat(),
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
    }
    if with_sample:
        sample = repo.sample_rows(conn, row.id)
        out["judged"] = sum(1 for s in sample if s.verdict is not None)
        out["sample"] = [{
            "item_id": s.item_id, "external_id": s.external_id, "verdict": s.verdict,
            "error_tags": s.error_tags or [], "comment": s.comment,
            "judged_at": s.judged_at.isoformat() if s.judged_at else None,
            # the delivered answers, without the workers who gave them
            "answers": [{"slot": a.get("slot"), "answer": a.get("answer")} for a in (s.result or [])
                        if isinstance(a, dict)],
        } for s in sample]
    return out


def get(conn: Connection, actor: Actor, inspection_id: int) -> dict[str, Any]:
    return inspection_json(conn, _inspection(conn, actor, inspection_id))


def list_for_batch(conn: Connection, actor: Actor, batch_id: int) -> list[dict[str, Any]]:
    if actor.role is Role.WORKER and not any(s.skill == "review" for s in catalog.skills_of(conn, actor.id)):
        raise Forbidden(Msg("inspections are for the client, the center's staff and reviewers"))
    batch = _batch(conn, actor, batch_id)
    _may_inspect(conn, actor, batch.project_id)
    return [inspection_json(conn, r, with_sample=False)
            for r in repo.list_inspections(conn, project_id=batch.project_id, batch_id=batch.id)]


# --- starting -------------------------------------------------------------------------------------


def _aql(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            value = float(str(value).strip())
        except ValueError:
            raise ValidationFailed(Msg("aql: must be a number such as 1.0, got {got!r}", got=value),
                                   field="aql") from None
    sampling.plan(1, float(value))  # raises naming the field when the AQL is not one of the standard's
    return float(value)


def start(conn: Connection, actor: Actor, batch_id: int, *, aql: Any = 1.0, level: Any = "II",
          seed: str | None = None, on_reject: str = "defective", now: datetime | None = None) -> dict[str, Any]:
    """Start the acceptance inspection of a delivered batch: the plan, and the sample drawn."""
    now = now or utcnow()
    if actor.role not in STARTERS:
        raise Forbidden(Msg("an acceptance inspection is started by the client or a manager"))
    aql_value = _aql(aql)
    level_text = str(level).strip().upper()
    if level_text not in ("I", "II", "III"):
        raise ValidationFailed(Msg("level: must be I, II or III (general inspection levels), got {got!r}", got=level),
                               field="level")
    if on_reject not in ON_REJECT:
        raise ValidationFailed(Msg("on_reject: must be one of {choices}, got {got!r}", choices=", ".join(ON_REJECT),
                                   got=on_reject),
                               field="on_reject")
    if seed is not None and not 0 < len(seed) <= SEED_MAX:
        raise ValidationFailed(Msg("seed: must be 1 to {max} characters", max=SEED_MAX), field="seed")
    batch = _batch(conn, actor, batch_id)
    repo.lock_batch(conn, batch.id)
    lot, in_work = repo.lot(conn, batch.id)
    if not in_work and not lot:  # an import that found every item there already makes an empty batch
        raise Conflict(Msg("batch {batch} holds no items (its import brought none: they were there already, "
                           "or its first record was refused); nothing to inspect", batch=batch.id), field="batch")
    if in_work:
        raise Conflict(Msg("batch {batch} is not delivered: {in_work} of its {total} items are still in work; "
                           "inspect it when every item is done", batch=batch.id, in_work=in_work,
                           total=len(lot) + in_work), field="batch")
    if repo.open_inspection(conn, batch.id) is not None:
        raise Conflict(Msg("batch {batch} already has an open inspection; judge its sample first", batch=batch.id),
                       field="batch")
    number = repo.next_number(conn, batch.id)
    seed = seed or f"batch:{batch.id}:inspection:{number}"
    p = sampling.plan(len(lot), aql_value, level_text)
    sample = sampling.draw_sample(lot, p.n, seed)
    row = {
        "client_id": batch.client_id, "project_id": batch.project_id, "batch_id": batch.id, "number": number,
        "aql": p.aql, "level": p.level, "lot_size": p.lot_size, "code": p.code, "table_code": p.table_code,
        "sample_size": p.n, "ac": p.ac, "re": p.re, "seed": seed, "on_reject": on_reject, "state": "open",
        "started_by": actor.id, "started_at": now,
    }
    inspection_id = repo.insert_inspection(conn, row, sample)
    append(conn, [event_row(entity="inspection", kind="start", at=now, actor_id=actor.id, client_id=batch.client_id,
                            project_id=batch.project_id, to_state="open",
                            data={"inspection_id": inspection_id, "batch_id": batch.id, "aql": p.aql,
                                  "level": p.level, "lot_size": p.lot_size, "n": p.n, "ac": p.ac, "re": p.re})])
    insp = repo.get_inspection(conn, inspection_id)
    return inspection_json(conn, insp)


# --- judging ------------------------------------------------------------------------------------


def _tags(error_tags: Any) -> list[str]:
    if error_tags is None:
        return []
    if not isinstance(error_tags, list | tuple) or len(error_tags) > MAX_TAGS:
        raise ValidationFailed(Msg("error_tags: must be a list of at most {max} tags", max=MAX_TAGS),
                               field="error_tags")
    out = []
    for tag in error_tags:
        if not isinstance(tag, str) or not 0 < len(tag.strip()) <= TAG_MAX:
            raise ValidationFailed(Msg("error_tags: each tag is a text of 1 to {max} characters, got {got!r}",
                                       max=TAG_MAX, got=tag),
                                   field="error_tags")
        if tag.strip() not in out:
            out.append(tag.strip())
    return out


def judge(conn: Connection, actor: Actor, inspection_id: int, item_id: int, *, verdict: str,
          error_tags: Any = None, comment: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Record the verdict on one sampled item; the last verdict decides the batch."""
    now = now or utcnow()
    if verdict not in VERDICTS:
        raise ValidationFailed(Msg("verdict: must be 'ok' or 'defective', got {got!r}", got=verdict), field="verdict")
    tags = _tags(error_tags)
    text = (comment or "").strip() or None
    if text is not None and len(text) > COMMENT_MAX:
        raise ValidationFailed(Msg("comment: at most {max} characters", max=COMMENT_MAX), field="comment")
    if verdict == "defective" and not tags and text is None:
        raise ValidationFailed(Msg("a defective item needs at least one error tag or a comment"), field="error_tags")
    if verdict == "ok" and tags:
        raise ValidationFailed(Msg("error_tags go with the verdict 'defective'"), field="error_tags")
    insp = _inspection(conn, actor, inspection_id, lock=True)
    if insp.state != "open":
        raise Conflict(Msg("inspection {inspection} is {state}; start a new one to inspect again",
                           inspection=inspection_id, state=insp.state),
                       field="inspection")
    if repo.sample_row(conn, insp.id, item_id) is None:
        raise ValidationFailed(Msg("item_id: item {item} is not in the sample of inspection {inspection}",
                                   item=item_id, inspection=inspection_id),
                               field="item_id")
    repo.judge_item(conn, inspection_id=insp.id, item_id=item_id, verdict=verdict, error_tags=tags or None,
                    comment=text, by=actor.id, now=now)
    if repo.unjudged(conn, insp.id) == 0:
        _decide(conn, actor, insp, now)
    return inspection_json(conn, repo.get_inspection(conn, insp.id))


def _decide(conn: Connection, actor: Actor, insp: Any, now: datetime) -> None:
    sample = repo.sample_rows(conn, insp.id)
    defective = [s for s in sample if s.verdict == "defective"]
    plan = sampling.Plan(code=insp.code, n=insp.sample_size, ac=insp.ac, re=insp.re, lot_size=insp.lot_size,
                         aql=insp.aql, level=insp.level, table_code=insp.table_code)
    outcome = sampling.judge(plan, len(defective))
    state = "accepted" if outcome == "accept" else "rejected"
    if not repo.decide(conn, insp.id, state=state, defects=len(defective), now=now):
        return  # decided by a concurrent last verdict
    project = catalog.project_by_id(conn, insp.project_id)
    batch = repo.batch_of(conn, insp.batch_id)
    findings = [{"item": {"id": s.item_id, "external_id": s.external_id}, "error_tags": s.error_tags or [],
                 "comment": s.comment} for s in defective]
    sent_back = 0
    if state == "rejected":
        if insp.on_reject == "lot":
            back, _ = repo.lot(conn, insp.batch_id)
        else:
            back = [s.item_id for s in defective]
        by_item = {s.item_id: s for s in defective}
        sent_back = _send_back(conn, actor, insp, project, back, by_item, now)
    payload: dict[str, Any] = {
        "project": project.slug, "batch": {"id": insp.batch_id, "name": batch.name},
        "inspection": {"id": insp.id, "number": insp.number, **plan_json(insp), "defects": len(defective)},
        "decided_at": now.isoformat(),
    }
    topic = BATCH_ACCEPTED if state == "accepted" else BATCH_REJECTED
    if state == "rejected":
        payload.update(findings=findings, on_reject=insp.on_reject, items_sent_back=sent_back)
    outbox_id = outbox_repo.enqueue(conn, client_id=insp.client_id, topic=topic, payload=payload,
                                    idempotency_key=f"{topic}:{insp.id}", now=now, project_id=insp.project_id)
    repo.set_outbox(conn, insp.id, outbox_id)
    append(conn, [event_row(entity="inspection", kind=state, at=now, actor_id=actor.id, client_id=insp.client_id,
                            project_id=insp.project_id, from_state="open", to_state=state,
                            data={"inspection_id": insp.id, "batch_id": insp.batch_id, "defects": len(defective),
                                  "items_sent_back": sent_back})])


def _send_back(conn: Connection, actor: Actor, insp: Any, project: Any, item_ids: Sequence[int],
               findings: dict[int, Any], now: datetime) -> int:
    """Reject the accepted answers of ``item_ids`` with the findings and give them back to their authors."""
    workflow = wf.parse_workflow(project.workflow)
    stage = wf.senior_stage(workflow)
    # stored with the review, so said in the language of the author who will read it in the workspace
    default_comment = Msg("The batch failed acceptance inspection {number}; check this answer again.",
                          number=insp.number)
    evs: list[dict[str, Any]] = []
    subs = repo.accepted_submissions(conn, list(item_ids))
    for sub in subs:
        finding = findings.get(sub.item_id)
        tags = (finding.error_tags if finding is not None else None) or None
        comment = (finding.comment if finding is not None else None) or (
            None if tags else default_comment.in_locale(sub.author_locale))
        base = {"client_id": sub.client_id, "project_id": sub.project_id, "item_id": sub.item_id}
        review_task = repo.insert_task(conn, {
            **base, "stage": stage, "kind": wf.StageKind.REVIEW.value, "slot": sub.slot,
            "target_submission_id": sub.id, "assignee_id": actor.id, "state": wf.TaskState.DONE.value,
            "priority": sub.priority, "deadline": sub.deadline, "created_at": now, "done_at": now,
        })
        lease_id = repo.insert_lease(conn, {
            "client_id": sub.client_id, "project_id": sub.project_id, "task_id": review_task, "user_id": actor.id,
            "created_at": now, "expires_at": now, "ended_at": now, "end_reason": "inspection",
        })
        repo.insert_review(conn, {
            **base, "task_id": review_task, "lease_id": lease_id, "submission_id": sub.id, "reviewer_id": actor.id,
            "verdict": wf.Verdict.REJECT.value, "error_tags": tags, "comment": comment,
            "idempotency_key": f"inspection:{insp.id}:{sub.id}", "created_at": now,
        })
        repo.reject_submission(conn, sub.id)
        rework = repo.insert_task(conn, {
            **base, "stage": 0, "kind": wf.StageKind.ANNOTATE.value, "slot": sub.slot, "target_submission_id": sub.id,
            # to its author; to anyone when the workflow says so or the author is suspended from the project
            "assignee_id": sub.user_id if workflow.rework_to == "same"
            and not quality_repo.is_blocked(conn, sub.user_id, sub.project_id) else None,
            "state": wf.TaskState.READY.value, "priority": sub.priority, "deadline": sub.deadline,
            "created_at": now,
        })
        evs.append(event_row(entity="submission", kind="reject", at=now, actor_id=actor.id, from_state="accepted",
                             to_state="rejected", data={"submission_id": sub.id, "inspection_id": insp.id}, **base))
        evs.append(event_row(entity="task", kind="create", at=now, actor_id=actor.id, task_id=rework,
                             to_state="ready", data={"kind": "annotate", "stage": 0, "inspection_id": insp.id},
                             **base))
    reopened = repo.reopen_items(conn, sorted({s.item_id for s in subs}))
    append(conn, evs)
    return reopened


# --- suspicious answers ----------------------------------------------------------------------------

METHODS = ("majority", "dawid_skene")


def _probs_row(probs: Any, classes: list[str]) -> list[float] | None:
    if isinstance(probs, dict):
        row = [probs.get(c, 0.0) for c in classes]
    elif isinstance(probs, list) and len(probs) == len(classes):
        row = list(probs)
    else:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1 for v in row):
        return None
    return [float(v) for v in row]


def flag_suspicious(conn: Connection, actor: Actor, project_ref: int | str, *, batch_id: int | None = None,
                    threshold: float = 0.2, min_confidence: float = 0.5, method: str = "majority",
                    route: bool = True, now: datetime | None = None) -> dict[str, Any]:
    """Flag answers the aggregate (or a model) finds unlikely and send them to review (the center's staff)."""
    import numpy as np

    from seatflow.quality.aggregate import dawid_skene, majority_vote
    from seatflow.quality.suspicious import disagreements, model_disagreements

    now = now or utcnow()
    if actor.role not in CENTER:
        raise Forbidden(Msg("flagging suspicious answers needs the role admin, manager or lead"))
    for name, value in (("threshold", threshold), ("min_confidence", min_confidence)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
            raise ValidationFailed(Msg("{name}: must be a number from 0 to 1, got {got!r}", name=name, got=value),
                                   field=name)
    if method not in METHODS:
        raise ValidationFailed(Msg("method: must be one of {methods}, got {got!r}", methods=", ".join(METHODS),
                                   got=method), field="method")
    project = get_project(conn, actor, project_ref)
    if batch_id is not None:
        batch = _batch(conn, actor, batch_id)
        if batch.project_id != project.id:
            raise NotFound(Msg("batch {batch} is not a batch of project {project}", batch=batch_id,
                               project=project.slug),
                           field="batch")
    classes = classes_of(project.work_type, project.label_schema)
    if classes is None:
        raise ValidationFailed(Msg("project: {project}'s answers are not single classes or decisions, so there "
                                   "is no aggregate to disagree with", project=project.slug), field="project")
    rows = [(r, class_of(project.work_type, r.answer)) for r in repo.accepted_answers(conn, project.id, batch_id)]
    rows = [(r, c) for r, c in rows if c in classes]
    flagged: dict[int, dict[str, Any]] = {}
    if rows:
        item_ids = sorted({r.item_id for r, _ in rows})
        user_ids = sorted({r.user_id for r, _ in rows})
        item_ix = {v: i for i, v in enumerate(item_ids)}
        user_ix = {v: i for i, v in enumerate(user_ids)}
        it = np.array([item_ix[r.item_id] for r, _ in rows])
        wk = np.array([user_ix[r.user_id] for r, _ in rows])
        lb = np.array([classes.index(str(c)) for _, c in rows])
        counts = {"n_items": len(item_ids), "n_workers": len(user_ids), "n_classes": len(classes)}
        per_item = np.bincount(it, minlength=len(item_ids))
        overlapped = per_item[it] >= 2
        if overlapped.any():
            fn = dawid_skene if method == "dawid_skene" else majority_vote
            agg = fn((it, wk, lb), **counts)
            found = disagreements(agg, (it, wk, lb), threshold=threshold, min_confidence=min_confidence, **counts)
            for idx, prob, label in zip(found.answers, found.probability, found.aggregate_label, strict=True):
                if overlapped[idx]:
                    r, c = rows[int(idx)]
                    flagged[r.id] = {"reason": "aggregate", "label": c, "expected": classes[int(label)],
                                     "probability": round(float(prob), 4)}
        model = repo.item_model_probs(conn, item_ids)
        with_model = [(i, _probs_row(model.get(r.item_id), classes)) for i, (r, _) in enumerate(rows)]
        with_model = [(i, p) for i, p in with_model if p is not None]
        if with_model:
            idx = np.array([i for i, _ in with_model])
            issues = model_disagreements((np.arange(idx.size), wk[idx], lb[idx]), np.array([p for _, p in with_model]),
                                         n_items=idx.size, n_workers=len(user_ids), n_classes=len(classes))
            for j in issues.issues:
                r, c = rows[int(idx[int(j)])]
                flagged.setdefault(r.id, {"reason": "model", "label": c,
                                          "expected": classes[int(issues.suggested[int(j)])],
                                          "probability": round(float(issues.self_confidence[int(j)]), 4)})
    by_sub = {r.id: r for r, _ in rows}
    pending = repo.pending_review(conn, list(flagged))
    routed: list[int] = []
    if route:
        routed = _route(conn, actor, project, [by_sub[s] for s in flagged if s not in pending], now)
    names = repo.usernames(conn, sorted({by_sub[s].user_id for s in flagged}))
    info = repo.item_info(conn, sorted({by_sub[s].item_id for s in flagged}))
    out = [{
        "submission_id": s, "item_id": by_sub[s].item_id, "external_id": info[by_sub[s].item_id].external_id,
        "worker": names[by_sub[s].user_id].username, **f,
        "review": "routed" if s in routed else ("pending" if s in pending else "not routed"),
    } for s, f in sorted(flagged.items(), key=lambda kv: (kv[1]["probability"], kv[0]))]
    return {"project": project.slug, "batch": batch_id, "method": method, "threshold": threshold,
            "answers": len(rows), "flagged": out, "routed": len(routed), "already_in_review": len(pending)}


def _route(conn: Connection, actor: Actor, project: Any, subs: list[Any], now: datetime) -> list[int]:
    """A review task for each answer; its item is active until the review (and any rework) is through."""
    if not subs:
        return []
    workflow = wf.parse_workflow(project.workflow)
    stage = 1 if len(workflow.stages) > 1 else wf.senior_stage(workflow)
    info = repo.item_info(conn, sorted({s.item_id for s in subs}))
    evs = []
    for sub in subs:
        item = info[sub.item_id]
        base = {"client_id": item.client_id, "project_id": item.project_id, "item_id": sub.item_id}
        task_id = repo.insert_task(conn, {
            **base, "stage": stage, "kind": wf.StageKind.REVIEW.value, "slot": sub.slot,
            "target_submission_id": sub.id, "state": wf.TaskState.READY.value, "priority": item.priority,
            "deadline": item.deadline, "created_at": now,
        })
        evs.append(event_row(entity="task", kind="create", at=now, actor_id=actor.id, task_id=task_id,
                             to_state="ready", data={"kind": "review", "stage": stage, "suspicious": sub.id}, **base))
    repo.reopen_items(conn, sorted(info))
    append(conn, evs)
    return [s.id for s in subs]

