"""Inter-annotator agreement for categorical answers.

Input, as for :mod:`seatflow.quality.aggregate`: arrays ``items``, ``workers``, ``labels`` (one
row per answer; at most one answer per worker and item).

* :func:`krippendorff_alpha` — Krippendorff's alpha, nominal level, by the ``krippendorff``
  package: ``alpha = 1 - D_o / D_e`` (observed over expected disagreement among pairable values;
  items with fewer than two answers do not count). 1 is perfect agreement, 0 what chance gives,
  below 0 systematic disagreement. NaN when undefined (no item with two answers, or a single
  value used throughout).
* :func:`pairwise_agreement` — for every pair of workers, the items both answered and the share
  on which they agree (sparse matrix products, so thousands of workers are fine).
* :func:`agreement_with_others` — per worker, the share of (their answer, another worker's answer
  on the same item) pairs that agree.
* :func:`cohens_kappa` — Cohen's kappa of two workers on the items both answered:
  ``(p_o - p_e) / (1 - p_e)`` with ``p_e`` from the two workers' own label frequencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import krippendorff
import numpy as np
from scipy import sparse

from seatflow.errors import ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.quality.aggregate import Answers, _as_answers


def _unique_pairs(a: Answers) -> None:
    if a.size == 0:
        return
    keys = a.items * max(a.n_workers, 1) + a.workers
    uniq, counts = np.unique(keys, return_counts=True)
    if np.any(counts > 1):
        dup = int(uniq[counts > 1][0])
        item, worker = divmod(dup, max(a.n_workers, 1))
        raise ValidationFailed(Msg("labels: worker {worker} answered item {item} more than once; agreement needs "
                                   "one answer per worker and item", worker=worker, item=item), field="labels")


def reliability_matrix(data: Answers | tuple[Any, Any, Any], **counts: int | None) -> np.ndarray:
    """Workers x items matrix of labels (float, NaN where a worker did not answer)."""
    a = _as_answers(data, **counts)
    _unique_pairs(a)
    m = np.full((a.n_workers, a.n_items), np.nan)
    m[a.workers, a.items] = a.labels
    return m


def krippendorff_alpha(data: Answers | tuple[Any, Any, Any], **counts: int | None) -> float:
    """Nominal Krippendorff's alpha of the answers (NaN when undefined)."""
    a = _as_answers(data, **counts)
    _unique_pairs(a)
    per_item = np.bincount(a.items, minlength=a.n_items)
    pairable = per_item[a.items] >= 2
    if not np.any(pairable):
        return float("nan")
    used = np.unique(a.labels[pairable])
    if used.size < 2:
        return float("nan")  # one value throughout: no expected disagreement to compare with
    # value counts per item (items x classes) is the compact input; only items with 2+ answers
    k = a.n_classes
    counts_matrix = np.bincount(a.items[pairable] * k + a.labels[pairable], minlength=a.n_items * k)
    value_counts = counts_matrix.reshape(a.n_items, k)[per_item >= 2]
    return float(krippendorff.alpha(value_counts=value_counts, level_of_measurement="nominal"))


@dataclass(frozen=True)
class PairwiseAgreement:
    common: np.ndarray  # (n_workers, n_workers): items both answered (diagonal: items the worker answered)
    agreed: np.ndarray  # (n_workers, n_workers): of those, items with the same label

    @property
    def rate(self) -> np.ndarray:
        """Share agreed; NaN where two workers share no item."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.common > 0, self.agreed / np.where(self.common > 0, self.common, 1), np.nan)


def pairwise_agreement(data: Answers | tuple[Any, Any, Any], **counts: int | None) -> PairwiseAgreement:
    a = _as_answers(data, **counts)
    _unique_pairs(a)
    k = max(a.n_classes, 1)
    ones = np.ones(a.size)
    answered = sparse.csr_matrix((ones, (a.workers, a.items)), shape=(a.n_workers, a.n_items))
    labelled = sparse.csr_matrix((ones, (a.workers, a.items * k + a.labels)), shape=(a.n_workers, a.n_items * k))
    common = (answered @ answered.T).toarray().astype(np.int64)
    agreed = (labelled @ labelled.T).toarray().astype(np.int64)
    return PairwiseAgreement(common, agreed)


@dataclass(frozen=True)
class WorkerAgreement:
    pairs: np.ndarray  # per worker: (their answer, another's answer on the same item) pairs
    agreed: np.ndarray  # of those, pairs with the same label

    @property
    def rate(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.pairs > 0, self.agreed / np.where(self.pairs > 0, self.pairs, 1), np.nan)


def agreement_with_others(data: Answers | tuple[Any, Any, Any], **counts: int | None) -> WorkerAgreement:
    a = _as_answers(data, **counts)
    _unique_pairs(a)
    k = max(a.n_classes, 1)
    per_item = np.bincount(a.items, minlength=a.n_items)
    per_item_label = np.bincount(a.items * k + a.labels, minlength=a.n_items * k)
    others = per_item[a.items] - 1  # answers by others on the same item
    same = per_item_label[a.items * k + a.labels] - 1  # of those, with the same label
    pairs = np.bincount(a.workers, weights=others, minlength=a.n_workers).astype(np.int64)
    agreed = np.bincount(a.workers, weights=same, minlength=a.n_workers).astype(np.int64)
    return WorkerAgreement(pairs, agreed)


def cohens_kappa(data: Answers | tuple[Any, Any, Any], worker_a: int, worker_b: int, **counts: int | None) -> float:
    """Cohen's kappa of two workers over the items both answered (NaN with no common item or when
    chance agreement is already 1, i.e. both always gave the same single label)."""
    a = _as_answers(data, **counts)
    _unique_pairs(a)
    for name, w in (("worker_a", worker_a), ("worker_b", worker_b)):
        if not 0 <= w < a.n_workers:
            raise ValidationFailed(Msg("{name}: no worker {worker} (there are {n})", name=name, worker=w,
                                       n=a.n_workers),
                                   field=name)
    la = np.full(a.n_items, -1)
    lb = np.full(a.n_items, -1)
    ma, mb = a.workers == worker_a, a.workers == worker_b
    la[a.items[ma]] = a.labels[ma]
    lb[a.items[mb]] = a.labels[mb]
    both = (la >= 0) & (lb >= 0)
    n = int(both.sum())
    if n == 0:
        return float("nan")
    x, y = la[both], lb[both]
    k = max(a.n_classes, 1)
    p_o = float(np.mean(x == y))
    p_e = float(np.dot(np.bincount(x, minlength=k) / n, np.bincount(y, minlength=k) / n))
    if np.isclose(p_e, 1.0):
        return float("nan")
    return (p_o - p_e) / (1.0 - p_e)
