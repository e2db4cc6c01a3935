"""The aggregate of an item's answers (class and decision work), stored with the item, and its confidence.

After each accepted answer of an item with overlap (or dynamic overlap), the engine reads the
item's accepted answers, reduces each to a class (:func:`class_of`), and computes the one-coin
posterior over the classes (``seatflow.quality.aggregate.one_coin_posterior``): each worker is
right with their accuracy on the project's gold items, smoothed toward ``PRIOR_ACCURACY`` by
``PRIOR_WEIGHT`` pseudo-answers (a worker without gold answers counts as ``PRIOR_ACCURACY``), and
otherwise picks one of the other classes at random. The class with the highest posterior is the
aggregate; its posterior is the confidence that dynamic overlap compares with its target.

Answers that are not a single class (spans, boxes, several classes) are not aggregated here:
``items.aggregate`` stays empty and dynamic overlap stops at its least overlap.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from seatflow.quality.aggregate import one_coin_posterior
from seatflow.store import quality as repo

PRIOR_ACCURACY = 0.7
PRIOR_WEIGHT = 4.0
MAX_ACCURACY = 0.99


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
    users = sorted({u for u, _ in answers})
    gold = repo.gold_accuracies(conn, project_id=project_id, user_ids=users)
    k = len(classes)
    acc = [worker_accuracy(*gold.get(u, (0, 0)), k) for u, _ in answers]
    index = [classes.index(str(label)) for label in labels]
    post = [float(p) for p in one_coin_posterior(index, acc, k)]
    best = max(range(k), key=lambda c: post[c])
    chosen = next(a for (_, a), i in zip(answers, index, strict=True) if i == best)
    out = {
        "method": "one_coin",
        "label": classes[best],
        "answer": chosen,
        "answers": len(answers),
        "posterior": {c: round(p, 6) for c, p in zip(classes, post, strict=True) if p >= 1e-6},
    }
    return out, post[best]
