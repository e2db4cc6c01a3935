"""Flag suspicious answers to route them to review.

* :func:`disagreements` — answers whose label the aggregate finds unlikely: the item's posterior
  probability of the worker's label is below ``threshold`` (while the aggregate itself is
  confident enough, ``min_confidence``, so that a genuinely ambiguous item does not blame anyone).
* :func:`find_label_issues` — confident learning (Northcutt, Jiang & Chuang 2021, the method
  behind cleanlab) against a model's class probabilities, written on numpy:

  1. per-class threshold ``t_j`` = the mean predicted probability of class j over the examples
     labelled j (the model's average self-confidence for that class);
  2. an example is *confidently* of class j when ``p_j >= t_j`` (the most probable such class
     when several pass);
  3. the confident joint ``C[i, j]`` counts examples labelled i that are confidently j; the
     examples off its diagonal are the label issues, ranked by self-confidence (the predicted
     probability of the given label), lowest first.

  cleanlab itself is not a dependency (it pulls in scikit-learn and pandas).
* :func:`model_disagreements` — the same rule applied to every answer of an overlapped item
  (answer r is checked against the model's probabilities for its item).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from seatflow.errors import ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.quality.aggregate import Aggregation, Answers, _as_answers, _index_array


@dataclass(frozen=True)
class Disagreements:
    answers: np.ndarray  # indexes (rows of the input) of the flagged answers, most suspicious first
    probability: np.ndarray  # per flagged answer: the aggregate's probability of the worker's label
    aggregate_label: np.ndarray  # per flagged answer: the item's aggregate label
    label_probability: np.ndarray  # per input answer: the aggregate's probability of its label


def disagreements(
    aggregation: Aggregation, data: Answers | tuple[Any, Any, Any], *, threshold: float = 0.2,
    min_confidence: float = 0.0, **counts: int | None,
) -> Disagreements:
    """Answers whose label has posterior probability below ``threshold`` in the aggregate."""
    for name, value in (("threshold", threshold), ("min_confidence", min_confidence)):
        if not 0.0 <= value <= 1.0:
            raise ValidationFailed(Msg("{name}: must be from 0 to 1, got {got!r}", name=name, got=value), field=name)
    a = _as_answers(data, **counts)
    post = aggregation.posteriors
    if post.shape[0] < a.n_items or post.shape[1] < a.n_classes:
        raise ValidationFailed(Msg("labels: the aggregation covers {items} items and {classes} classes, "
                                   "the answers need {need_items} and {need_classes}", items=post.shape[0],
                                   classes=post.shape[1], need_items=a.n_items, need_classes=a.n_classes),
                               field="labels")
    prob = post[a.items, a.labels]
    flagged = (prob < threshold) & (aggregation.confidence[a.items] >= min_confidence)
    idx = np.flatnonzero(flagged)
    idx = idx[np.argsort(prob[idx], kind="stable")]
    return Disagreements(idx, prob[idx], aggregation.labels[a.items[idx]], prob)


@dataclass(frozen=True)
class LabelIssues:
    issues: np.ndarray  # indexes of the examples whose label looks wrong, lowest self-confidence first
    is_issue: np.ndarray  # (n,) bool
    suggested: np.ndarray  # (n,) the class the model is confident of (-1 where none passes its threshold)
    self_confidence: np.ndarray  # (n,) predicted probability of the given label
    thresholds: np.ndarray  # (k,) per-class thresholds t_j (inf for a class nobody gave)
    confident_joint: np.ndarray  # (k, k) given label x confident class counts


def _pred_probs(pred_probs: Any, n: int) -> np.ndarray:
    p = np.asarray(pred_probs, dtype=float)
    if p.ndim != 2 or p.shape[0] != n:
        raise ValidationFailed(Msg("pred_probs: need a matrix with {n} rows (one per example) and one column per "
                                   "class, got shape {shape}", n=n, shape=p.shape), field="pred_probs")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValidationFailed(Msg("pred_probs: probabilities must be numbers from 0 to 1"), field="pred_probs")
    return p


def find_label_issues(labels: Any, pred_probs: Any) -> LabelIssues:
    """Confident-learning label issues of ``labels`` (n,) given model probabilities (n, k)."""
    y = _index_array(labels, "labels")
    p = _pred_probs(pred_probs, y.size)
    k = p.shape[1]
    if y.size and int(y.max()) >= k:
        raise ValidationFailed(Msg("labels: class {label} has no column in pred_probs ({k} classes)",
                                   label=int(y.max()), k=k),
                               field="labels")
    given = np.bincount(y, minlength=k)
    sums = np.zeros(k)
    for j in range(k):
        sums[j] = p[y == j, j].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        thresholds = np.where(given > 0, sums / np.where(given > 0, given, 1), np.inf)
    above = p >= thresholds[None, :]
    masked = np.where(above, p, -np.inf)
    suggested = np.where(above.any(axis=1), np.argmax(masked, axis=1), -1)
    joint = np.zeros((k, k), dtype=np.int64)
    has = suggested >= 0
    np.add.at(joint, (y[has], suggested[has]), 1)
    self_conf = p[np.arange(y.size), y] if y.size else np.zeros(0)
    is_issue = has & (suggested != y)
    idx = np.flatnonzero(is_issue)
    idx = idx[np.argsort(self_conf[idx], kind="stable")]
    return LabelIssues(idx, is_issue, suggested.astype(np.int64), self_conf, thresholds, joint)


def model_disagreements(
    data: Answers | tuple[Any, Any, Any], item_pred_probs: Any, **counts: int | None
) -> LabelIssues:
    """Confident learning over every answer: answer r against the model's probabilities for its item.

    ``item_pred_probs`` has one row per item (``n_items`` x ``n_classes``)."""
    a = _as_answers(data, **counts)
    p = np.asarray(item_pred_probs, dtype=float)
    if p.ndim != 2 or p.shape[0] < a.n_items:
        raise ValidationFailed(Msg("pred_probs: need one row per item ({n}), got shape {shape}", n=a.n_items,
                                   shape=p.shape),
                               field="pred_probs")
    return find_label_issues(a.labels, p[a.items])
