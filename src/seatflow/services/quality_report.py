"""The quality report of a project, or of one of its batches: the numbers a client is shown.

* **gold**: accuracy on gold items (``gold_results``, qualification tests left out) of the workers
  who answered items in scope (for a whole project: every gold answer), with a 95 % Wilson interval;
* **agreement**: Krippendorff's alpha (nominal) over the items in scope with two or more accepted
  answers, for class and decision work (None otherwise, or when undefined);
* **reviews**: verdicts on answers in scope, the acceptance rate, and the rejections by error tag
  (an answer rejected without a tag counts under ``(none)``); the acceptance inspections' defective
  items by error tag alongside;
* **inspections**: each acceptance inspection (plan, defects, outcome);
* **workers** (the center's staff only, never a client): per worker the accepted answers in scope,
  gold accuracy, review acceptance and agreement with the other workers on the same items.

``as_csv`` flattens the report into rows of (section, name, value, n, low, high). The quality
library (numpy, scipy) is imported on first use, not with the app.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from typing import Any

from sqlalchemy import Connection

from seatflow.domain.actors import Actor, Role
from seatflow.errors import Forbidden, NotFound, ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.store import acceptance as repo

from .acceptance import plan_json
from .aggregation import class_of, classes_of
from .projects import get_project

NO_TAG = "(none)"


def _rate(k: int, n: int) -> dict[str, Any]:
    from seatflow.quality.stats import wilson

    iv = wilson(k, n)
    return {"n": n, "passed": k, "rate": round(k / n, 4) if n else None, "low": round(iv.low, 4),
            "high": round(iv.high, 4)}


def _batch_id(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 19:
        number = int(value.strip())
    else:
        raise ValidationFailed(Msg("batch: must be a batch id (a whole number), got {got!r}", got=value),
                               field="batch")
    if number < 1:
        raise ValidationFailed(Msg("batch: must be a batch id (a whole number), got {got!r}", got=value),
                               field="batch")
    return number


def report(conn: Connection, actor: Actor, project_ref: int | str, batch: Any = None) -> dict[str, Any]:
    """The report (see the module docstring); a client gets it for its own projects, without workers."""
    if actor.role is Role.WORKER:
        raise Forbidden(Msg("the quality report is for the center's staff and the client"))
    if project_ref is None or str(project_ref).strip() == "":
        raise ValidationFailed(Msg("project: name the project (its id or slug)"), field="project")
    project = get_project(conn, actor, project_ref)
    batch_id = _batch_id(batch)
    batch_row = None
    if batch_id is not None:
        batch_row = repo.batch_of(conn, batch_id)
        if batch_row is None or batch_row.project_id != project.id:
            raise NotFound(Msg("batch {batch} not found in project {project}", batch=batch_id, project=project.slug),
                           field="batch")
    answers = repo.accepted_answers(conn, project.id, batch_id)
    workers = sorted({a.user_id for a in answers})
    gold = repo.gold_rows(conn, project.id, workers if batch_id is not None else None)
    reviews = repo.review_rows(conn, project.id, batch_id)
    findings: Counter[str] = Counter()
    for r in reviews:
        if r.verdict == "reject":
            for tag in (r.error_tags or [NO_TAG]):
                findings[str(tag)] += 1
    inspection_findings: Counter[str] = Counter()
    for r in repo.inspection_findings(conn, project.id, batch_id):
        for tag in (r.error_tags or [NO_TAG]):
            inspection_findings[str(tag)] += 1
    agreement, per_worker_agreement = _agreement(project, answers)
    inspections = [{"id": r.id, "batch": {"id": r.batch_id, "name": r.batch_name}, "number": r.number,
                    "state": r.state, "plan": plan_json(r), "defects": r.defects,
                    "started_at": r.started_at.isoformat(),
                    "decided_at": r.decided_at.isoformat() if r.decided_at else None}
                   for r in repo.list_inspections(conn, project_id=project.id, batch_id=batch_id)]
    accepted_reviews = sum(1 for r in reviews if r.verdict == "accept")
    out: dict[str, Any] = {
        "project": {"id": project.id, "slug": project.slug, "name": project.name, "work_type": project.work_type},
        "batch": {"id": batch_row.id, "name": batch_row.name} if batch_row is not None else None,
        "items": {"answered": len({a.item_id for a in answers}), "answers": len(answers)},
        "gold": _rate(sum(1 for g in gold if g.passed), len(gold)),
        "agreement": agreement,
        "reviews": {**_rate(accepted_reviews, len(reviews)), "accepted": accepted_reviews,
                    "rejected": len(reviews) - accepted_reviews},
        "findings": [{"tag": t, "count": c} for t, c in sorted(findings.items(), key=lambda kv: (-kv[1], kv[0]))],
        "inspection_findings": [{"tag": t, "count": c}
                                for t, c in sorted(inspection_findings.items(), key=lambda kv: (-kv[1], kv[0]))],
        "inspections": inspections,
        "acceptance": inspections[-1]["state"] if batch_id is not None and inspections else None,
    }
    if actor.role is not Role.CLIENT:
        out["workers"] = _workers(conn, project.id, answers, gold, reviews, per_worker_agreement)
    return out


def _agreement(project: Any, answers: list[Any]) -> tuple[dict[str, Any] | None, dict[int, tuple[int, int]]]:
    import numpy as np

    from seatflow.quality.agreement import agreement_with_others, krippendorff_alpha

    classes = classes_of(project.work_type, project.label_schema)
    if classes is None:
        return None, {}
    rows = [(a.item_id, a.user_id, class_of(project.work_type, a.answer)) for a in answers]
    rows = [r for r in rows if r[2] in classes]
    per_item = Counter(r[0] for r in rows)
    rows = [r for r in rows if per_item[r[0]] >= 2]
    # one answer per worker and item (a rework keeps the accepted one only; a duplicate would be a bug)
    unique: dict[tuple[int, int], tuple[int, int, Any]] = {}
    for r in rows:
        unique.setdefault((r[0], r[1]), r)
    rows = list(unique.values())
    if not rows:
        return {"alpha": None, "items": 0, "answers": 0}, {}
    item_ids = sorted({r[0] for r in rows})
    user_ids = sorted({r[1] for r in rows})
    item_ix = {v: i for i, v in enumerate(item_ids)}
    user_ix = {v: i for i, v in enumerate(user_ids)}
    it = np.array([item_ix[r[0]] for r in rows])
    wk = np.array([user_ix[r[1]] for r in rows])
    lb = np.array([classes.index(str(r[2])) for r in rows])
    counts = {"n_items": len(item_ids), "n_workers": len(user_ids), "n_classes": len(classes)}
    alpha = krippendorff_alpha((it, wk, lb), **counts)
    with_others = agreement_with_others((it, wk, lb), **counts)
    per_worker = {u: (int(with_others.agreed[i]), int(with_others.pairs[i])) for i, u in enumerate(user_ids)}
    return ({"alpha": None if math.isnan(alpha) else round(alpha, 4), "items": len(item_ids), "answers": len(rows)},
            per_worker)


def _workers(conn: Connection, project_id: int, answers: list[Any], gold: list[Any], reviews: list[Any],
             agreement: dict[int, tuple[int, int]]) -> list[dict[str, Any]]:
    answered = Counter(a.user_id for a in answers)
    gold_n: Counter[int] = Counter()
    gold_k: Counter[int] = Counter()
    for g in gold:
        gold_n[g.user_id] += 1
        gold_k[g.user_id] += int(bool(g.passed))
    rev_n: Counter[int] = Counter()
    rev_k: Counter[int] = Counter()
    for r in reviews:
        rev_n[r.user_id] += 1
        rev_k[r.user_id] += int(r.verdict == "accept")
    ids = sorted(set(answered) | set(gold_n) | set(rev_n))
    names = repo.usernames(conn, ids)
    out = []
    for u in ids:
        agreed, pairs = agreement.get(u, (0, 0))
        out.append({"worker_id": u, "username": names[u].username if u in names else str(u),
                    "answers": answered[u], "gold": _rate(gold_k[u], gold_n[u]),
                    "review": _rate(rev_k[u], rev_n[u]),
                    "agreement": {"pairs": pairs, "agreed": agreed,
                                  "rate": round(agreed / pairs, 4) if pairs else None}})
    return sorted(out, key=lambda w: w["username"])


def as_csv(rep: dict[str, Any]) -> str:
    """The report as CSV rows: section, name, value, n, low, high."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "name", "value", "n", "low", "high"])
    w.writerow(["scope", "project", rep["project"]["slug"], "", "", ""])
    if rep["batch"] is not None:
        w.writerow(["scope", "batch", rep["batch"]["id"], "", "", ""])
    w.writerow(["items", "answered", rep["items"]["answered"], rep["items"]["answers"], "", ""])
    g = rep["gold"]
    w.writerow(["gold", "accuracy", _cell(g["rate"]), g["n"], g["low"], g["high"]])
    a = rep["agreement"]
    if a is not None:
        w.writerow(["agreement", "krippendorff_alpha", _cell(a["alpha"]), a["items"], "", ""])
    r = rep["reviews"]
    w.writerow(["reviews", "acceptance", _cell(r["rate"]), r["n"], r["low"], r["high"]])
    for f in rep["findings"]:
        w.writerow(["review_finding", f["tag"], f["count"], "", "", ""])
    for f in rep["inspection_findings"]:
        w.writerow(["inspection_finding", f["tag"], f["count"], "", "", ""])
    for i in rep["inspections"]:
        p = i["plan"]
        w.writerow(["inspection", f"batch {i['batch']['id']} #{i['number']}", i["state"], p["sample_size"],
                    f"Ac={p['ac']}", f"Re={p['re']}"])
        w.writerow(["inspection_defects", f"batch {i['batch']['id']} #{i['number']}", _cell(i["defects"]),
                    p["lot_size"], f"AQL={p['aql']:g}", f"level={p['level']}"])
    for wk in rep.get("workers", []):
        w.writerow(["worker_gold", wk["username"], _cell(wk["gold"]["rate"]), wk["gold"]["n"], wk["gold"]["low"],
                    wk["gold"]["high"]])
        w.writerow(["worker_review", wk["username"], _cell(wk["review"]["rate"]), wk["review"]["n"],
                    wk["review"]["low"], wk["review"]["high"]])
        w.writerow(["worker_agreement", wk["username"], _cell(wk["agreement"]["rate"]), wk["agreement"]["pairs"],
                    "", ""])
        w.writerow(["worker_answers", wk["username"], wk["answers"], "", "", ""])
    return buf.getvalue()


def _cell(value: Any) -> Any:
    return "" if value is None else value
