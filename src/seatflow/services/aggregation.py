"""The aggregate of an item's answers (class and decision work), stored with the item, and its confidence.

After each accepted answer of an item with overlap (or dynamic overlap), the engine reads the
item's accepted answers, reduces each to a class (:func:`class_of`), and computes the one-coin
posterior over the classes (``seatflow.quality.aggregate.one_coin_posterior``): each worker is
right with their accuracy on the project's gold items, smoothed toward ``PRIOR_ACCURACY`` by
``PRIOR_WEIGHT`` pseudo-answers (a worker without gold answers counts as ``PRIOR_ACCURACY``), and
otherwise picks one of the other classes at random. The prior over the classes is how common each
class is among the project's latest aggregates, each counted by its posterior (:func:`class_prior`,
smoothed so that a new project starts uniform): one answer of a common class from a good worker is
then enough, while an answer of a rare class asks for a second opinion. The class with the highest
posterior is the aggregate; its posterior is the confidence that dynamic overlap compares with its
target.

The quality library (numpy, scipy) is imported on first use, not with the app (seconds at every
server's start).

Answers that are not a single class (spans, boxes, several classes) are not aggregated here:
``items.aggregate`` stays empty and dynamic overlap stops at its least overlap.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import Connection

from seatflow.domain.actors import Actor, Role
from seatflow.errors import ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.store import quality as repo
from seatflow.store.engine import engine_key

from .projects import get_project

PRIOR_ACCURACY = 0.7
PRIOR_WEIGHT = 4.0
MAX_ACCURACY = 0.99
PRIOR_SAMPLE = 2000  # the latest aggregates the class prior is counted from
PRIOR_SECONDS = 30.0  # how long a project's counts are reused before they are read again ...
PRIOR_SECONDS_YOUNG = 1.0  # ... or, while it has fewer than PRIOR_SAMPLE aggregates, so a new project learns fast
_priors: dict[tuple[int, int], tuple[float, dict[str, float]]] = {}
_priors_lock = threading.Lock()


def clear_priors() -> None:
    """Forget the cached class counts (tests, and after a project's aggregates were rewritten)."""
    with _priors_lock:
        _priors.clear()


def class_prior(conn: Connection, project_id: int, classes: list[str]) -> list[float]:
    """P(class) for the one-coin posterior: the expected share of each class among the project's latest
    ``PRIOR_SAMPLE`` aggregates (each item counted by its posterior), add-one smoothed (a project
    without aggregates gets a uniform prior)."""
    key = (engine_key(conn), project_id)
    hit = _priors.get(key)
    if hit is not None and hit[0] > time.monotonic():
        counts = hit[1]
    else:
        counts, n = repo.recent_aggregate_labels(conn, project_id, limit=PRIOR_SAMPLE)
        ttl = PRIOR_SECONDS if n >= PRIOR_SAMPLE else PRIOR_SECONDS_YOUNG
        with _priors_lock:
            if len(_priors) > 10_000:
                _priors.clear()
            _priors[key] = (time.monotonic() + ttl, counts)
    total = sum(counts.get(c, 0) for c in classes) + len(classes)
    return [(counts.get(c, 0) + 1) / total for c in classes]


def classes_of(work_type: str, schema: Any) -> list[str] | None:
    """The classes an answer of this project reduces to; None when its answers are not single classes."""
    schema = schema or {}
    if work_type == "moderation":
        return ["approve", "reject"]
    if work_type in ("text_annotation", "image_annotation"):
        classes = schema.get("classes") or []
        if len(classes) >= 2 and not schema.get("multi_label"):
            return list(classes)
    return None


def class_of(work_type: str, answer: Any) -> str | None:
    """The single class an answer gives, or None (no class, several, or shapes besides it)."""
    if not isinstance(answer, dict):
        return None
    if work_type == "moderation":
        decision = answer.get("decision")
        return decision if decision in ("approve", "reject") else None
    if work_type == "text_annotation":
        classes = answer.get("classes") or []
        return classes[0] if len(classes) == 1 and not answer.get("spans") else None
    if work_type == "image_annotation":
        if answer.get("boxes") or answer.get("keypoints") or answer.get("polygons"):
            return None
        value = answer.get("class")
        return value if isinstance(value, str) else None
    return None


def worker_accuracy(answered: int, passed: int, n_classes: int) -> float:
    """A worker's accuracy for the one-coin model: gold accuracy smoothed toward the prior."""
    acc = (passed + PRIOR_ACCURACY * PRIOR_WEIGHT) / (answered + PRIOR_WEIGHT)
    return min(MAX_ACCURACY, max(1.0 / n_classes + 0.01, acc))


def aggregate(conn: Connection, *, project_id: int, work_type: str, label_schema: Any,
              answers: list[tuple[int, Any]]) -> tuple[dict[str, Any] | None, float | None]:
    """(the aggregate, its confidence) of ``answers`` — (worker id, answer) pairs — or (None, None)."""
    classes = classes_of(work_type, label_schema)
    if classes is None or not answers:
        return None, None
    labels = [class_of(work_type, a) for _, a in answers]
    if any(label is None or label not in classes for label in labels):
        return None, None
    from seatflow.quality.aggregate import one_coin_posterior

    users = sorted({u for u, _ in answers})
    gold = repo.gold_accuracies(conn, project_id=project_id, user_ids=users)
    k = len(classes)
    acc = [worker_accuracy(*gold.get(u, (0, 0)), k) for u, _ in answers]
    index = [classes.index(str(label)) for label in labels]
    prior = class_prior(conn, project_id, classes)
    post = [float(p) for p in one_coin_posterior(index, acc, k, prior=prior)]
    best = max(range(k), key=lambda c: post[c])
    # The prior may favour a class no answer gave yet (one rare-class answer so far): no answer stands for it.
    chosen = next((a for (_, a), i in zip(answers, index, strict=True) if i == best), None)
    out = {
        "method": "one_coin",
        "label": classes[best],
        "answer": chosen,
        "answers": len(answers),
        "posterior": {c: round(p, 6) for c, p in zip(classes, post, strict=True) if p >= 1e-6},
    }
    return out, post[best]


METHODS = ("majority", "one_coin", "dawid_skene", "glad")


def aggregate_project(conn: Connection, actor: Actor, project_ref: int | str, method: str) -> dict[str, Any]:
    """Aggregate every item of a project again, all answers at once, and store the result with each item.

    ``majority``: vote shares; ``one_coin``: the posterior with worker accuracies from gold (as after
    each answer); ``dawid_skene`` and ``glad``: worker skills (and item difficulty) estimated from the
    answers themselves, which needs many answers per worker. Managers only; gold items are left out.
    """
    import numpy as np

    from seatflow.quality.aggregate import dawid_skene, glad, majority_vote, one_coin_posteriors

    actor.require(Role.ADMIN, Role.MANAGER)
    if method not in METHODS:
        raise ValidationFailed(Msg("method must be one of {methods}, not {got!r}", methods=", ".join(METHODS),
                                   got=method), field="method")
    project = get_project(conn, actor, project_ref)
    classes = classes_of(project.work_type, project.label_schema)
    if classes is None:
        raise ValidationFailed(Msg("project {project}: its answers are not single classes or decisions; there "
                                   "is nothing to aggregate by class", project=project.slug), field="project")
    rows = [(r.item_id, r.user_id, class_of(project.work_type, r.answer), r.answer)
            for r in repo.project_accepted_answers(conn, project.id)]
    rows = [r for r in rows if r[2] in classes]
    item_ids = sorted({r[0] for r in rows})
    user_ids = sorted({r[1] for r in rows})
    if not rows:
        return {"project": project.slug, "method": method, "items": 0, "answers": 0}
    item_ix = {v: i for i, v in enumerate(item_ids)}
    user_ix = {v: i for i, v in enumerate(user_ids)}
    it = np.array([item_ix[r[0]] for r in rows])
    wk = np.array([user_ix[r[1]] for r in rows])
    lb = np.array([classes.index(str(r[2])) for r in rows])
    counts = {"n_items": len(item_ids), "n_workers": len(user_ids), "n_classes": len(classes)}
    if method == "one_coin":
        gold = repo.gold_accuracies(conn, project_id=project.id, user_ids=user_ids)
        acc = np.array([worker_accuracy(*gold.get(user_ids[w], (0, 0)), len(classes)) for w in wk])
        post = one_coin_posteriors(it, lb, acc, n_items=len(item_ids), n_classes=len(classes))
    else:
        fn = {"majority": majority_vote, "dawid_skene": dawid_skene, "glad": glad}[method]
        post = fn((it, wk, lb), **counts).posteriors  # type: ignore[operator]
    first: dict[tuple[int, int], Any] = {}
    for r, i, c in zip(rows, it, lb, strict=True):
        first.setdefault((int(i), int(c)), r[3])
    answered = np.bincount(it, minlength=len(item_ids))
    updates = []
    for i, item_id in enumerate(item_ids):
        best = int(np.argmax(post[i]))
        agg = {"method": method, "label": classes[best], "answer": first.get((i, best)),
               "answers": int(answered[i]),
               "posterior": {c: round(float(p), 6) for c, p in zip(classes, post[i], strict=True) if p >= 1e-6}}
        updates.append({"b_id": item_id, "b_aggregate": agg, "b_confidence": float(post[i][best])})
    repo.set_aggregates(conn, updates)
    return {"project": project.slug, "method": method, "items": len(item_ids), "answers": len(rows)}
